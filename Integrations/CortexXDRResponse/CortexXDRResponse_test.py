"""Unit tests of Cortex XDR - Response Actions, in the order of the integration's regions.

Where the other tests of a command are: end to end on the emulator in tests/e2e/test_xdr_e2e.py (tests named after
the command, `pytest -k xdr_response_file_retrieve`), under every API fault in tests/e2e/test_fault_matrix.py and
against fuzzed replies in tests/fuzz (ids carry the command name, `pytest -k xdr-response-file-retrieve`), and
against a hostile server in tests/hostile; the shared layer's own tests are beside its source in ApiModules/."""
import gzip
import hashlib
import io
import json
import logging
import os
import sys
import zipfile

import pytest
import requests

import demistomock as demisto
from CommonServerPython import CommandResults, DemistoException, EntryType, ScheduledCommand
import CortexXDRResponse as xdr
from devtools.emulator.zips import make_zip as build_zip
from tests.fakes import FakeTime, run_entry_point

BASE = 'https://api-tenant.xdr.us.paloaltonetworks.com'
API = BASE + '/public_api/v1/'
KEY_ID = '17'
API_KEY = 'Zq8vY2fK0pLr4sT6uWx9zA1bC3dE5gH7jK9mN0pQ2rS4tU6vW8xY0zA2bC4dE6fG'
HERE = os.path.dirname(os.path.abspath(__file__))
SEED_ERRORS = (400, 401, 402, 403, 500)
EP_OK = 'aaf1e2b3c4d5e6f7a8b9c0d1e2f3a4b5'
EP_FAIL = 'fail0a1b2c3d4e5f6a7b8c9d0e1f2a3b4'
EP_TWO = 'bbb1e2b3c4d5e6f7a8b9c0d1e2f3a4b5'
RETRIEVED_KEY = ('PaloAltoNetworksXDR.RetrievedFiles(val.action_id && val.action_id == obj.action_id && '
                 'val.endpoint_id && val.endpoint_id == obj.endpoint_id)')
PYTHON_TYPE_NAMES = ('Traceback', 'TypeError', 'KeyError', 'NoneType', 'AttributeError', 'ValueError', 'zlib.error',
                     'Exception', 'requests.exceptions')


def load(name):
    with open(os.path.join(HERE, 'test_data', name)) as f:
        return json.load(f)


def make_params(**changes):
    params = {'url': BASE, 'credentials': {'identifier': KEY_ID, 'password': API_KEY}, 'auth_type': 'Standard'}
    params.update(changes)
    return params


def make_client(clock=None, **changes):
    clock = clock or FakeTime()
    return xdr.Client(xdr.InstanceParams(make_params(**changes)), sleep=clock.sleep, clock=clock.monotonic)


@pytest.fixture
def client():
    return make_client()


@pytest.fixture
def advanced_client():
    return make_client(auth_type='Advanced')


@pytest.fixture(autouse=True)
def war_room_dir(tmp_path, monkeypatch):
    """War-room files are written to the working directory, as in XSOAR."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def make_zip(files, method=zipfile.ZIP_DEFLATED):
    return build_zip(files, compression=method)


def war_room_file(entry):
    with open('{}_{}'.format(demisto.investigation()['id'], entry['FileID']), 'rb') as f:
        return f.read()


def to_entries(results):
    """Entries as the server would see them (CommandResults -> dict)."""
    if not isinstance(results, list):
        results = [results]
    return [r.to_context() if isinstance(r, CommandResults) else r for r in results]


def context_of(result):
    return result.to_context()['EntryContext']


def file_entries(entries):
    return [e for e in entries if e.get('Type') == 3]


def error_entries(entries):
    return [e for e in entries if e.get('Type') == EntryType.ERROR]


def retrieved_rows(entries):
    rows = [row for e in entries for row in (e.get('EntryContext') or {}).get(RETRIEVED_KEY, [])]
    return {row['endpoint_id']: row for row in rows}


def retrieval_mocks(requests_mock, status_reply, zip_bytes, details='file_retrieval_details.json'):
    requests_mock.post(API + 'endpoints/file_retrieval', json=load('file_retrieval.json'))
    requests_mock.post(API + 'actions/get_action_status', json=status_reply)
    requests_mock.post(API + 'actions/file_retrieval_details', json=load(details))
    requests_mock.post(API + 'download/AAAAAbCdEf0123456789', content=zip_bytes,
                       headers={'Content-Type': 'application/zip'})


# ---------------------------------------------------------------- plumbing: params, auth, errors, client

@pytest.mark.parametrize('changes, problem', [
    ({'url': 'api-tenant'}, 'must start with https://'),
    ({'credentials': {'identifier': '', 'password': ''}}, 'API key ID and API key are required'),
    ({'auth_type': 'Basic'}, 'Standard or Advanced'),
    ({'max_concurrency': '11'}, 'between 1 and 10'),
    ({'max_concurrency': 'many'}, 'whole number'),
    ({'timeout': '-5'}, 'whole number'),
])
def test_instance_params_are_checked_once(changes, problem):
    """
    Given instance settings with one wrong value
    When they are read
    Then a clear message names the setting
    """
    with pytest.raises(DemistoException, match=problem):
        xdr.InstanceParams(make_params(**changes))


def test_instance_params_defaults():
    """
    Given the minimal settings
    When read
    Then the documented defaults apply
    """
    params = xdr.InstanceParams(make_params())
    assert (params.max_concurrency, params.timeout, params.verify, params.proxy) == (4, 120, True, False)


def test_standard_auth_headers(client, requests_mock):
    """
    Given a Standard key
    When a call is made
    Then the key ID and key go in the documented headers with no nonce
    """
    requests_mock.post(API + 'distributions/get_versions', json=load('get_versions.json'))
    client.get_distribution_versions()
    headers = requests_mock.last_request.headers
    assert headers['x-xdr-auth-id'] == KEY_ID
    assert headers['Authorization'] == API_KEY
    assert 'x-xdr-nonce' not in headers
    assert requests_mock.last_request.json() == {'request_data': {}}


def test_advanced_auth_fresh_nonce_and_timestamp_per_request(advanced_client, requests_mock):
    """
    Given an Advanced key
    When two calls are made
    Then each carries its own nonce and timestamp, the digest matches, and every digest is kept for redaction
    """
    requests_mock.post(API + 'distributions/get_versions', json=load('get_versions.json'))
    advanced_client.get_distribution_versions()
    advanced_client.get_distribution_versions()
    first, second = [r.headers for r in requests_mock.request_history]
    for headers in (first, second):
        nonce, timestamp = headers['x-xdr-nonce'], headers['x-xdr-timestamp']
        assert len(nonce) == 64 and nonce.isalnum()
        assert timestamp.isdigit() and len(timestamp) == 13  # milliseconds
        assert headers['Authorization'] == hashlib.sha256((API_KEY + nonce + timestamp).encode()).hexdigest()
        assert API_KEY not in headers.values()
    assert first['x-xdr-nonce'] != second['x-xdr-nonce']
    assert advanced_client.issued_secrets == [first['Authorization'], second['Authorization']]


def test_make_advanced_auth_known_vector():
    """
    Given a fixed key, nonce and timestamp
    When the Advanced digest is computed
    Then it is sha256(key + nonce + timestamp) in hex
    """
    nonce, timestamp, auth = xdr.make_advanced_auth('key', nonce='n' * 64, timestamp_ms=1700000000000)
    assert auth == hashlib.sha256(('key' + 'n' * 64 + '1700000000000').encode()).hexdigest()
    assert (nonce, timestamp) == ('n' * 64, '1700000000000')


def test_json_err_msg_is_parsed(client, requests_mock):
    """
    Given a 400 whose err_msg is itself JSON with a location
    When the call fails
    Then the message carries the server's words and the location
    """
    requests_mock.post(API + 'distributions/get_versions', status_code=400, json=load('error_400.json'))
    with pytest.raises(DemistoException) as info:
        xdr.get_distribution_versions_command(client, {})
    assert "no viable alternative at input '|alter2' (line 1, column 19)" in str(info.value)
    assert 'request_data.files must be a list' in str(info.value)


def test_error_inside_reply_wrapper_is_parsed(client, requests_mock):
    """
    Given an error body wrapped in "reply"
    When the call fails
    Then the server message is still found
    """
    requests_mock.post(API + 'distributions/get_versions', status_code=500,
                       json={'reply': {'err_code': 500, 'err_msg': 'boom', 'err_extra': None}})
    with pytest.raises(DemistoException, match='Server message: boom'):
        xdr.get_distribution_versions_command(client, {})


def test_retry_after_is_honoured_then_success(requests_mock):
    """
    Given a 429 with Retry-After 7 then a 503
    When the call is made
    Then it waits 7 s, then 2 s, then succeeds
    """
    clock = FakeTime()
    waits = clock.sleeps
    client = make_client(clock)
    requests_mock.post(API + 'distributions/get_versions', [
        {'status_code': 429, 'headers': {'Retry-After': '7'}, 'json': {'err_code': 429, 'err_msg': 'slow down'}},
        {'status_code': 503, 'text': 'unavailable'},
        {'json': load('get_versions.json')}])
    xdr.get_distribution_versions_command(client, {})
    assert waits == [7.0, 2.0]
    assert requests_mock.call_count == 3


def test_retries_are_bounded(requests_mock):
    """
    Given a server that keeps answering 502
    When the call is made
    Then it gives up after 4 attempts with backoff 1, 2, 4
    """
    clock = FakeTime()
    waits = clock.sleeps
    client = make_client(clock)
    requests_mock.post(API + 'distributions/get_versions', status_code=502, text='<html>bad gateway</html>')
    with pytest.raises(DemistoException, match='Gave up after 4 attempts'):
        xdr.get_distribution_versions_command(client, {})
    assert requests_mock.call_count == 4
    assert waits == [1.0, 2.0, 4.0]


def test_long_retry_after_fails_fast_for_a_plain_command(requests_mock):
    """
    Given a 429 with Retry-After 60 (more than a command may wait)
    When a non-polling command runs
    Then it does not sleep and says when to try again
    """
    clock = FakeTime()
    waits = clock.sleeps
    client = make_client(clock)
    requests_mock.post(API + 'distributions/get_versions', status_code=429, headers={'Retry-After': '60'}, json={})
    with pytest.raises(DemistoException, match='rate limiting.*try again in 60 s'):
        xdr.get_distribution_versions_command(client, {})
    assert waits == []
    assert requests_mock.call_count == 1


@pytest.mark.parametrize('kwargs, problem', [
    ({'text': '<html>login</html>'}, 'not JSON'),
    ({'json': {'unexpected': 1}}, 'without a "reply" field'),
    ({'json': {'reply': {}}}, 'without distribution_id'),
    ({'json': {'reply': ['x']}}, 'expected an object with the result, got a list'),
    ({'json': {'reply': None}}, 'got nothing'),
])
def test_odd_replies_are_clear_errors(client, requests_mock, kwargs, problem):
    """
    Given a 200 reply of the wrong shape
    When a command reads it
    Then the error says what was wrong, in words
    """
    requests_mock.post(API + 'distributions/create', **kwargs)
    with pytest.raises(DemistoException, match=problem) as info:
        xdr.create_distribution_command(client, {'name': 'p', 'package_type': 'standalone', 'platform': 'android'})
    assert 'NoneType' not in str(info.value)


@pytest.mark.parametrize('exc, words', [
    (requests.exceptions.ReadTimeout, 'no reply in time'),
    (requests.exceptions.ConnectTimeout, 'no reply in time'),
    (requests.exceptions.SSLError, 'TLS certificate'),
    (requests.exceptions.ProxyError, 'proxy'),
    (requests.exceptions.ConnectionError, 'connection problem'),
    (requests.exceptions.ChunkedEncodingError, 'broke off'),
])
def test_transport_failures_are_plain(client, requests_mock, exc, words):
    """
    Given a transport failure of each kind
    When a call is made
    Then the message names the endpoint and the cause in words, without exception type names
    """
    requests_mock.post(API + 'distributions/get_versions', exc=exc)
    with pytest.raises(DemistoException) as info:
        xdr.get_distribution_versions_command(client, {})
    assert words in str(info.value)
    assert 'distributions/get_versions' in str(info.value)
    assert 'Error' not in str(info.value).replace('Error in', '')


# ---------------------------------------------------------------- xdr-response-create-distribution

@pytest.mark.parametrize('args, fix', [
    ({'name': '', 'package_type': 'standalone', 'platform': 'windows', 'agent_version': '8.4'}, 'name is required'),
    ({'name': 'p', 'package_type': 'other', 'platform': 'windows'}, 'package_type must be'),
    ({'name': 'p', 'package_type': 'standalone'}, 'standalone package needs platform'),
    ({'name': 'p', 'package_type': 'standalone', 'platform': 'solaris', 'agent_version': '1'}, 'platform must be'),
    ({'name': 'p', 'package_type': 'standalone', 'platform': 'windows'}, 'needs agent_version'),
    ({'name': 'p', 'package_type': 'upgrade', 'platform': 'windows'}, 'upgrade package needs agent_version'),
    ({'name': 'p', 'package_type': 'standalone', 'platform': 'android', 'agent_version': '8.4'},
     'Android packages take no agent_version'),
    ({'name': 'p', 'package_type': 'upgrade', 'platform': 'android', 'agent_version': '8.4'}, 'not android'),
    ({'name': 'p', 'package_type': 'upgrade', 'agent_version': ['1', '2']}, 'agent_version takes one value, got 2'),
    ({'name': {'a': 1}, 'package_type': 'upgrade'}, 'name takes one value'),
])
def test_create_distribution_rules_checked_before_any_request(client, requests_mock, args, fix):
    """
    Given arguments that break an API rule
    When the command runs
    Then it fails with the fix and sends nothing
    """
    with pytest.raises(DemistoException, match=fix):
        xdr.create_distribution_command(client, args)
    assert requests_mock.call_count == 0


@pytest.mark.parametrize('args, body', [
    ({'name': 'win', 'package_type': 'standalone', 'platform': 'windows', 'agent_version': '8.4.0.12345',
      'description': 'for IR'},
     {'name': 'win', 'package_type': 'standalone', 'platform': 'windows', 'agent_version': '8.4.0.12345',
      'description': 'for IR'}),
    ({'name': ['droid'], 'package_type': 'standalone', 'platform': ['android']},
     {'name': 'droid', 'package_type': 'standalone', 'platform': 'android'}),
    ({'name': 'up', 'package_type': 'upgrade', 'platform': 'linux', 'agent_version': '8.4.0.12344'},
     {'name': 'up', 'package_type': 'upgrade', 'platform': 'linux', 'agent_version': '8.4.0.12344',
      'linux_version': '8.4.0.12344'}),
])
def test_create_distribution_sends_documented_body(client, requests_mock, args, body):
    """
    Given valid arguments (one-item lists included)
    When the command runs
    Then the documented body is sent and the distribution lands in context with a readable next step
    """
    requests_mock.post(API + 'distributions/create', json=load('create_distribution.json'))
    result = xdr.create_distribution_command(client, args)
    assert requests_mock.last_request.json() == {'request_data': body}
    context = context_of(result)['PaloAltoNetworksXDR.Distribution(val.id && val.id == obj.id)']
    assert context['id'] == '2c74c11b63074653aa01d575a82bf52a'
    assert context['name'] == body['name']
    assert 'xdr-response-get-create-distribution-status distribution_ids=' in result.readable_output


# ---------------------------------------------------------------- xdr-response-get-create-distribution-status

def test_distribution_status_many_ids(client, requests_mock):
    """
    Given two package ids, one ready and one in progress
    When the status is asked without polling
    Then both rows come back in input order and nothing is scheduled
    """
    def reply(request, context):
        done = request.json()['request_data']['distribution_id'] == 'a1'
        return load('get_distribution_status_{}.json'.format('completed' if done else 'in_progress'))
    requests_mock.post(API + 'distributions/get_status', json=reply)
    result = xdr.get_distribution_status_command(client, {'distribution_ids': 'a1,b2'})
    assert sorted(r.json()['request_data']['distribution_id'] for r in requests_mock.request_history) == ['a1', 'b2']
    assert result.outputs == [{'id': 'a1', 'status': 'Completed'}, {'id': 'b2', 'status': 'In Progress'}]
    assert result.scheduled_command is None


def test_distribution_status_polling_continues_until_every_id_finished(client, requests_mock):
    """
    Given one package still being built
    When polled with polling=true
    Then a round is scheduled with the asked interval and a progress line, and the last round ends polling
    """
    def reply(request, context):
        done = request.json()['request_data']['distribution_id'] == 'a1'
        return load('get_distribution_status_{}.json'.format('completed' if done else 'in_progress'))
    requests_mock.post(API + 'distributions/get_status', json=reply)
    result = xdr.get_distribution_status_command(client, {'distribution_ids': 'a1,b2', 'polling': 'true',
                                                          'interval_in_seconds': '15', 'timeout_in_seconds': '300'})
    assert isinstance(result.scheduled_command, ScheduledCommand)
    polling = result.to_context()
    assert polling['PollingCommand'] == 'xdr-response-get-create-distribution-status'
    assert polling['NextRun'] == '15'
    assert polling['Timeout'] == '330'  # the timeout plus two intervals of grace, so our own timeout message wins
    assert polling['PollingArgs']['distribution_ids'] == 'a1,b2'
    assert polling['PollingArgs']['hide_polling_output'] is True
    assert 'Installation packages: 1 of 2 package(s) done, 1 pending' in polling['HumanReadable']
    assert 'Still being built: b2' in polling['HumanReadable']

    requests_mock.post(API + 'distributions/get_status', json=load('get_distribution_status_completed.json'))
    done = xdr.get_distribution_status_command(client, polling['PollingArgs'])
    assert done.scheduled_command is None
    assert {row['status'] for row in done.outputs} == {'Completed'}


def test_distribution_status_interval_below_the_server_minimum_is_raised_to_it(client, requests_mock):
    """
    Given interval_in_seconds=3 (the server never schedules sooner than 10 s)
    When polling is scheduled
    Then the next round is asked for in 10 s
    """
    requests_mock.post(API + 'distributions/get_status', json=load('get_distribution_status_in_progress.json'))
    result = xdr.get_distribution_status_command(client, {'distribution_ids': 'a1', 'polling': 'true',
                                                          'interval_in_seconds': '3'})
    assert result.to_context()['NextRun'] == '10'


def test_distribution_status_polling_times_out_with_message(client, requests_mock):
    """
    Given a package still in progress after timeout_in_seconds
    When the round runs
    Then polling ends with an error naming the package
    """
    requests_mock.post(API + 'distributions/get_status', json=load('get_distribution_status_in_progress.json'))
    with pytest.raises(DemistoException, match='Timed out after .* waiting for installation package'):
        xdr.get_distribution_status_command(client, {'distribution_ids': 'a1', 'polling': 'true',
                                                     'timeout_in_seconds': '60', 'polling_started': '1000'})


def test_distribution_status_rate_limit_schedules_the_next_round_after_retry_after(requests_mock):
    """
    Given a 429 with Retry-After 120 during a polling round
    When the round runs
    Then nothing sleeps and the next round is scheduled 120 s later with the same request
    """
    clock = FakeTime()
    waits = clock.sleeps
    client = make_client(clock)
    requests_mock.post(API + 'distributions/get_status', status_code=429, headers={'Retry-After': '120'}, json={})
    result = xdr.get_distribution_status_command(client, {'distribution_ids': 'a1', 'polling': 'true',
                                                          'interval_in_seconds': '30'})
    polling = result.to_context()
    assert waits == []
    assert polling['NextRun'] == '120'
    assert polling['PollingArgs']['distribution_ids'] == 'a1'
    assert 'retry_after' not in polling['PollingArgs']
    assert 'try again in 120 s' in polling['HumanReadable']


# ---------------------------------------------------------------- xdr-response-get-distribution-url

def test_distribution_url(client, requests_mock):
    """
    Given a ready package
    When its URL is asked
    Then the context holds it and the reply says which package and type it is
    """
    requests_mock.post(API + 'distributions/get_dist_url', json=load('get_dist_url.json'))
    results = xdr.get_distribution_url_command(client, {'distribution_id': 'd1', 'package_type': 'x64'})
    assert requests_mock.last_request.json() == {'request_data': {'distribution_id': 'd1', 'package_type': 'x64'}}
    assert len(results) == 1
    output = context_of(results[0])['PaloAltoNetworksXDR.Distribution(val.id && val.id == obj.id)']
    assert output['url'].startswith('https://storage.example-cdn.com/')
    assert 'Installation package d1: x64 package (windows)' in results[0].readable_output


def test_distribution_url_rejects_unknown_package_type(client, requests_mock):
    """
    Given an unknown package type
    When the command runs
    Then it fails before any request
    """
    with pytest.raises(DemistoException, match='package_type must be one of'):
        xdr.get_distribution_url_command(client, {'distribution_id': 'd1', 'package_type': 'exe'})
    assert requests_mock.call_count == 0


@pytest.mark.parametrize('flag', ['download', 'download_package'])
@pytest.mark.parametrize('package_type, extension', [('x64', 'msi'), ('sh', 'sh'), ('deb', 'deb'), ('pkg', 'pkg')])
def test_distribution_download_streams_file_without_credentials(client, requests_mock, package_type, extension,
                                                                flag):
    """
    Given download=true (or the official alias download_package=true)
    When the command runs
    Then the file is streamed from the storage URL without XDR credentials and named by its type
    """
    reply = load('get_dist_url.json')
    url = reply['reply']['distribution_url']
    requests_mock.post(API + 'distributions/get_dist_url', json=reply)
    payload = b'MZ' + os.urandom(4096)
    requests_mock.get(url, content=payload, headers={'Content-Length': str(len(payload))})
    results = xdr.get_distribution_url_command(client, {'distribution_id': 'd1', 'package_type': package_type,
                                                        flag: 'true'})
    entry = results[1]
    assert entry['Type'] == 3
    assert entry['File'] == f'd1_{package_type}.{extension}'
    assert war_room_file(entry) == payload
    storage_request = requests_mock.request_history[-1]
    assert 'Authorization' not in storage_request.headers
    assert 'x-xdr-auth-id' not in storage_request.headers


@pytest.mark.parametrize('content, headers, problem', [
    (b'abc', {'Content-Length': '10'}, 'closed after 3 of 10 bytes'),
    (b'', {}, 'empty file'),
])
def test_distribution_download_short_or_empty_body_is_error_and_removed(client, requests_mock, war_room_dir,
                                                                         content, headers, problem):
    """
    Given a storage reply that is short or empty
    When the package is downloaded
    Then the command fails and no file is left
    """
    reply = load('get_dist_url.json')
    requests_mock.post(API + 'distributions/get_dist_url', json=reply)
    requests_mock.get(reply['reply']['distribution_url'], content=content, headers=headers)
    with pytest.raises(DemistoException, match=problem):
        xdr.get_distribution_url_command(client, {'distribution_id': 'd1', 'package_type': 'x64',
                                                  'download': 'true'})
    assert os.listdir(war_room_dir) == []


def test_distribution_download_gzip_content_encoding_is_accepted(client, requests_mock):
    """
    Given a storage reply sent with Content-Encoding gzip (Content-Length counts the compressed bytes)
    When the package is downloaded
    Then the decoded file is saved, not rejected as short
    """
    reply = load('get_dist_url.json')
    payload = b'#!/bin/sh\n' + b'echo install\n' * 5000
    compressed = gzip.compress(payload)
    requests_mock.post(API + 'distributions/get_dist_url', json=reply)
    requests_mock.get(reply['reply']['distribution_url'], content=compressed,
                      headers={'Content-Encoding': 'gzip', 'Content-Length': str(len(compressed))})
    results = xdr.get_distribution_url_command(client, {'distribution_id': 'd1', 'package_type': 'sh',
                                                        'download': '1'})
    assert war_room_file(results[1]) == payload


@pytest.mark.parametrize('file_name, expected', [(['agent'], 'agent_x64.msi'), (7, '7_x64.msi'), ('', 'd1_x64.msi')])
def test_distribution_download_file_name_any_type(client, requests_mock, file_name, expected):
    """
    Given file_name as a one-item list, a number or empty
    When the package is downloaded
    Then the file gets a sensible name
    """
    reply = load('get_dist_url.json')
    requests_mock.post(API + 'distributions/get_dist_url', json=reply)
    requests_mock.get(reply['reply']['distribution_url'], content=b'MZ' * 10)
    results = xdr.get_distribution_url_command(client, {'distribution_id': 'd1', 'package_type': 'x64',
                                                        'download': 'true', 'file_name': file_name})
    assert results[1]['File'] == expected


# ---------------------------------------------------------------- xdr-response-get-distribution-versions

def test_distribution_versions(client, requests_mock):
    """
    Given the versions reply
    When the command runs
    Then the versions per platform are in context and in the table
    """
    requests_mock.post(API + 'distributions/get_versions', json=load('get_versions.json'))
    result = xdr.get_distribution_versions_command(client, {})
    assert result.outputs['windows'] == ['8.4.0.12345', '8.3.1.11200']
    assert '8.4.0.12344' in result.readable_output


# ---------------------------------------------------------------- xdr-response-action-status-get

def test_action_status_many_with_error_reasons(client, requests_mock):
    """
    Given two actions with a failed endpoint each
    When their status is asked
    Then one call per action is made and failed rows carry ErrorReasons (as returned) and error_description
    """
    requests_mock.post(API + 'actions/get_action_status', json=load('get_action_status_done.json'))
    result = xdr.action_status_command(client, {'action_id': '1773,1774'})
    assert sorted(r.json()['request_data']['group_action_id'] for r in requests_mock.request_history) == [1773, 1774]
    assert [row['action_id'] for row in result.outputs] == [1773, 1773, 1774, 1774]
    failed = [r for r in result.outputs if r['status'] == 'FAILED']
    assert len(failed) == 2
    assert failed[0]['error_description'] == 'The endpoint is disconnected and the action expired'
    assert failed[0]['ErrorReasons'] == load('get_action_status_done.json')['reply']['errorReasons'][EP_FAIL]
    assert 'PaloAltoNetworksXDR.GetActionStatus(val.action_id && val.action_id == obj.action_id && ' \
           'val.endpoint_id && val.endpoint_id == obj.endpoint_id)' in context_of(result)


def test_action_status_without_data_is_clear(client, requests_mock):
    """
    Given a status reply without data
    When read
    Then the error says so
    """
    requests_mock.post(API + 'actions/get_action_status', json={'reply': {'status': 'x'}})
    with pytest.raises(DemistoException, match='returned no "data"'):
        xdr.action_status_command(client, {'action_id': '5'})


@pytest.mark.parametrize('reason, expected', [
    ({'errorDescription': {'code': 7}, 'missing_files': ['C:\\a.txt']}, '{"code": 7} Missing files: C:\\a.txt'),
    ({'errorDescription': None, 'missing_files': 'C:\\b.txt'}, 'Missing files: C:\\b.txt'),
    ('plain reason', 'plain reason'),
    (42, '42'),
])
def test_describe_error_reason_any_shape(reason, expected):
    """
    Given an errorReasons entry of any shape
    When described
    Then a sentence comes back, never an exception
    """
    assert xdr.describe_error_reason(reason) == expected


# ---------------------------------------------------------------- zip extraction

# ---------------------------------------------------------------- xdr-response-retrieve-file-details

def details(client, requests_mock, zip_bytes, **args):
    retrieval_mocks(requests_mock, load('get_action_status_done.json'), zip_bytes)
    return to_entries(xdr.retrieve_file_details_command(client, dict({'action_id': '1773'}, **args)))


def test_details_extracts_every_file_with_hashes(client, requests_mock, war_room_dir):
    """
    Given an endpoint's zip with two files and another endpoint that failed
    When the details are fetched
    Then each file is a war-room entry with its hashes, the zip is removed, and the failure is one error entry
    """
    files = {'C/Users/bob/evil.exe': b'A' * 5000, 'tmp/run.sh': b'#!/bin/sh\necho hi\n'}
    entries = details(client, requests_mock, make_zip(files))
    rows = retrieved_rows(entries)
    row = rows[EP_OK]
    assert {f['archive_path']: f['sha256'] for f in row['files']} == {
        name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    assert row['file_link'].endswith('/download/AAAAAbCdEf0123456789')
    assert sorted(e['File'] for e in file_entries(entries)) == ['evil.exe', 'run.sh']
    assert len(os.listdir(war_room_dir)) == 2  # only the extracted files stay on disk
    assert 'evil.exe' in entries[0]['HumanReadable']
    assert rows[EP_FAIL]['ErrorReasons']['errorDescription'] == 'The endpoint is disconnected and the action expired'
    assert rows[EP_FAIL]['error_description'] == rows[EP_FAIL]['error']
    # partial failure: the failed endpoint is named in the readable output and the context, no error entry
    assert error_entries(entries) == [] and EP_FAIL in entries[0]['HumanReadable']


def test_details_can_return_the_zip_itself(client, requests_mock):
    """
    Given return_zip=true
    When the details are fetched
    Then the zip itself is also a war-room file
    """
    archive = make_zip({'a.txt': b'x'})
    entries = details(client, requests_mock, archive, return_zip='true')
    zips = [e for e in file_entries(entries) if e['File'].endswith('.zip')]
    assert len(zips) == 1 and war_room_file(zips[0]) == archive


@pytest.mark.parametrize('status', [403, 404, 500])
def test_details_still_download_when_the_status_call_fails(client, requests_mock, status):
    """
    Given the optional action-status call answering 403, 404 or 500
    When the details are fetched
    Then the files are still downloaded and the row says the status is unknown and why
    """
    retrieval_mocks(requests_mock, {}, make_zip({'a.txt': b'hello'}))
    requests_mock.post(API + 'actions/get_action_status', status_code=status, json=load('error_403.json'))
    entries = to_entries(xdr.retrieve_file_details_command(client, {'action_id': '1773'}))
    row = retrieved_rows(entries)[EP_OK]
    assert row['file_names'] == ['a.txt']
    assert row['status'] == 'UNKNOWN'
    assert f'status {status}' in row['status_error']
    assert error_entries(entries) == []
    assert 'The action status is unknown' in entries[0]['HumanReadable']


@pytest.mark.parametrize('auth_type', ['Standard', 'Advanced'])
def test_details_status_error_that_echoes_the_key_is_redacted_in_the_row(requests_mock, auth_type):
    """
    Given a status call refused with a body that quotes the key and the Authorization value sent
    When the details are fetched (the files still download)
    Then the row's status_error keeps the meaning but neither secret
    """
    client = make_client(auth_type=auth_type)
    retrieval_mocks(requests_mock, {}, make_zip({'a.txt': b'x'}))

    def echo(request, context):
        context.status_code = 400
        return {'err_code': 400, 'err_msg': 'bad request from key ' + API_KEY,
                'err_extra': 'Authorization: ' + request.headers['Authorization']}
    requests_mock.post(API + 'actions/get_action_status', json=echo)
    entries = to_entries(xdr.retrieve_file_details_command(client, {'action_id': '1773'}))
    text = json.dumps(entries)
    sent = [r.headers['Authorization'] for r in requests_mock.request_history if 'get_action_status' in r.url]
    assert 'status 400' in retrieved_rows(entries)[EP_OK]['status_error']
    assert API_KEY not in text and all(value not in text for value in sent)


def test_details_pending_endpoint_reads_as_pending_not_failure(client, requests_mock):
    """
    Given one endpoint done and one still IN_PROGRESS
    When the details are fetched
    Then the pending one is a row saying to run the command later, and there is no error entry
    """
    retrieval_mocks(requests_mock, load('get_action_status_one_done.json'), make_zip({'a.txt': b'x'}))
    entries = to_entries(xdr.retrieve_file_details_command(client, {'action_id': '1773'}))
    pending = retrieved_rows(entries)[EP_FAIL]
    assert pending['status'] == 'IN_PROGRESS'
    assert 'error' not in pending
    assert '!xdr-response-retrieve-file-details action_id=1773 later' in pending['note']
    assert error_entries(entries) == []


def test_details_download_link_on_another_host_goes_to_instance_host(client, requests_mock):
    """
    Given a download link on another host
    When the details are fetched
    Then the file is asked from the instance's own host only
    """
    retrieval_mocks(requests_mock, load('get_action_status_done.json'), make_zip({'a.txt': b'x'}))
    requests_mock.post(API + 'actions/file_retrieval_details', json={'reply': {'data': {
        EP_OK: 'https://evil.example.com/public_api/v1/download/AAAAAbCdEf0123456789'}}})
    xdr.retrieve_file_details_command(client, {'action_id': '1773'})
    assert requests_mock.request_history[-1].url == API + 'download/AAAAAbCdEf0123456789'
    assert all('evil.example.com' not in r.url for r in requests_mock.request_history)


def test_details_refuses_links_that_are_not_download_links(client, requests_mock):
    """
    Given a link that is not a /public_api/v1/download/ link
    When the details are fetched
    Then it is not followed and that endpoint fails with the reason
    """
    retrieval_mocks(requests_mock, load('get_action_status_done.json'), b'')
    requests_mock.post(API + 'actions/file_retrieval_details', json={'reply': {'data': {
        EP_OK: 'https://evil.example.com/steal'}}})
    entries = to_entries(xdr.retrieve_file_details_command(client, {'action_id': '1773'}))
    assert 'not followed' in retrieved_rows(entries)[EP_OK]['error']
    assert all('/download/' not in r.url for r in requests_mock.request_history)


def corrupt_deflate_zip():
    data = make_zip({'a.bin': os.urandom(1000) + b'A' * 50000})
    start = data.index(b'a.bin') + len('a.bin') + 40
    return data[:start] + bytes(b ^ 0xFF for b in data[start:start + 200]) + data[start + 200:]


@pytest.mark.parametrize('archive, args, problem', [
    (make_zip({'../../etc/cron.d/evil': b'x', 'ok.txt': b'y'}), {}, 'points outside the extraction folder'),
    (make_zip({'/etc/passwd': b'x'}), {}, 'has an absolute path'),
    (make_zip({'C:/Windows/evil.dll': b'x'}), {}, 'has an absolute path'),
    (make_zip({'bomb.bin': b'\0' * (8 * 1024 * 1024)}), {}, 'expands over 100 times (max_compression_ratio'),
    (make_zip({f'f{i}.txt': b'x' for i in range(30)}), {'max_entries': '20'}, 'more than 20 entries'),
    (make_zip({'big.bin': os.urandom(2 * 1024 * 1024)}), {'max_total_size_mb': '1'}, 'more than 1048576 bytes'),
    (make_zip({'a.bin': os.urandom(5000)})[:2500], {}, 'ends too early'),
    (b'this is not a zip at all', {}, 'not a zip archive'),
    (make_zip({'ok.txt': b'fine', 'z.bin': b'z'}), {}, None),
    (corrupt_deflate_zip(), {}, 'is corrupt'),
    (make_zip({'a.txt': b'x', 'b.txt': b'y'}) + b'trailing junk', {}, 'unexpected data after its end record'),
])
def test_details_zip_safety(client, requests_mock, war_room_dir, archive, args, problem):
    """
    Given a hostile or broken archive
    When the details are fetched
    Then that endpoint fails with the reason, no file entry is made and nothing is left on disk
    """
    entries = details(client, requests_mock, archive, **args)
    row = retrieved_rows(entries)[EP_OK]
    if problem is None:  # the control case: a good archive passes
        assert row['file_names'] == ['ok.txt', 'z.bin']
        return
    assert problem in row['error'] and 'nothing was extracted' in row['error']
    assert 'files' not in row
    assert file_entries(entries) == []
    assert os.listdir(war_room_dir) == []
    assert error_entries(entries)
    assert not any(name in json.dumps(entries) for name in PYTHON_TYPE_NAMES)


def stored_with_descriptors(files):
    """A stored zip written to an unseekable stream: the sizes are only in the data descriptors."""
    return build_zip(files, compression=zipfile.ZIP_STORED, seekable=False)


@pytest.mark.parametrize('return_zip', ['false', 'true'])
def test_details_fall_back_to_two_passes_for_stored_entries_sized_only_in_descriptors(client, requests_mock,
                                                                                     war_room_dir, return_zip):
    """
    Given a zip whose stored entries carry their sizes only in data descriptors (unreadable front to back)
    When the details are fetched
    Then the two-pass path extracts the files correctly, the zip is kept only if asked, and nothing else stays
    """
    files = {'notes.txt': b'stored text ' * 100, 'tool.exe': os.urandom(3000)}
    archive = stored_with_descriptors(files)
    assert zipfile.ZipFile(io.BytesIO(archive)).infolist()[0].flag_bits & 0x08
    entries = details(client, requests_mock, archive, return_zip=return_zip)
    row = retrieved_rows(entries)[EP_OK]
    assert {f['archive_path']: f['sha256'] for f in row['files']} == {
        name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    kept = [e for e in file_entries(entries) if e['File'].endswith('.zip')]
    assert [war_room_file(e) for e in kept] == ([archive] if return_zip == 'true' else [])
    assert len(os.listdir(war_room_dir)) == 2 + len(kept)


@pytest.mark.parametrize('return_zip', ['false', 'true'])
def test_details_body_shorter_than_content_length_fails_the_endpoint(client, requests_mock, war_room_dir, return_zip):
    """
    Given a download whose body is shorter than the Content-Length it announced
    When the details are fetched
    Then the endpoint fails, no file entry is made and nothing stays on disk
    """
    archive = make_zip({'report.txt': b'quarterly numbers'})
    retrieval_mocks(requests_mock, load('get_action_status_done.json'), archive)
    requests_mock.post(API + 'download/AAAAAbCdEf0123456789', content=archive,
                       headers={'Content-Length': str(len(archive) + 100)})
    entries = to_entries(xdr.retrieve_file_details_command(client, {'action_id': '1773', 'return_zip': return_zip}))
    assert 'connection closed after' in retrieved_rows(entries)[EP_OK]['error']
    assert file_entries(entries) == [] and os.listdir(war_room_dir) == []


def test_details_stream_keeps_the_zip_only_when_asked(client, requests_mock, war_room_dir):
    """
    Given a normal deflated zip and return_zip=true
    When the details are fetched in one pass
    Then the zip entry is byte-identical to the download and the files are extracted once
    """
    archive = make_zip({'a.txt': b'a' * 10000, 'b/c.txt': b'c'})
    entries = details(client, requests_mock, archive, return_zip='true')
    assert [e['File'] for e in file_entries(entries)] == ['a.txt', 'c.txt', f'xdr_action_1773_{EP_OK}.zip']
    assert war_room_file(file_entries(entries)[2]) == archive
    assert len(os.listdir(war_room_dir)) == 3


def test_details_encrypted_entry_is_refused_after_the_fallback(client, requests_mock, war_room_dir):
    """
    Given a zip whose entry is marked encrypted
    When the details are fetched
    Then the fallback refuses it plainly and leaves nothing behind
    """
    archive = bytearray(make_zip({'secret.txt': b'x' * 100}, zipfile.ZIP_STORED))
    for offset in (6, archive.index(b'PK\x01\x02') + 8):  # general-purpose flags: local header, central entry
        archive[offset] |= 0x01
    entries = details(client, requests_mock, bytes(archive))
    assert 'is encrypted' in retrieved_rows(entries)[EP_OK]['error']
    assert file_entries(entries) == [] and os.listdir(war_room_dir) == []


def test_download_reset_mid_body_leaves_no_file(client, requests_mock, war_room_dir):
    """
    Given a download that breaks off
    When the details are fetched
    Then the endpoint fails in words and no file stays behind
    """
    retrieval_mocks(requests_mock, load('get_action_status_done.json'), b'')
    requests_mock.post(API + 'download/AAAAAbCdEf0123456789', exc=requests.exceptions.ChunkedEncodingError)
    entries = to_entries(xdr.retrieve_file_details_command(client, {'action_id': '1773'}))
    error = retrieved_rows(entries)[EP_OK]['error']
    assert 'broke off' in error and 'ChunkedEncodingError' not in error
    assert os.listdir(war_room_dir) == []


def test_details_downloads_endpoints_concurrently_in_order(requests_mock):
    """
    Given an action with two endpoints and max_concurrency 2
    When the details are fetched
    Then both zips are downloaded once and the rows keep the API's order
    """
    client = make_client(max_concurrency='2')
    retrieval_mocks(requests_mock, {'reply': {'data': {EP_OK: 'COMPLETED_SUCCESSFULLY',
                                                       EP_TWO: 'COMPLETED_SUCCESSFULLY'}}},
                    make_zip({'a.txt': b'a'}), details='file_retrieval_details_two.json')
    requests_mock.post(API + 'download/BBBBBbCdEf0123456789', content=make_zip({'b.txt': b'b'}))
    entries = to_entries(xdr.retrieve_file_details_command(client, {'action_id': '1773'}))
    assert list(retrieved_rows(entries)) == [EP_OK, EP_TWO]
    assert [e['File'] for e in file_entries(entries)] == ['a.txt', 'b.txt']
    assert sum(1 for r in requests_mock.request_history if '/download/' in r.url) == 2


# ---------------------------------------------------------------- xdr-response-file-retrieve

def test_generic_paths_are_sorted_by_os():
    """
    Given generic paths of both kinds
    When sorted
    Then Windows paths go to windows and Unix paths to linux and macos
    """
    files = xdr.build_retrieval_files({'generic_file_path': 'C:\\Temp\\a.exe,/tmp/b.sh',
                                       'windows_file_paths': 'C:\\x.txt'})
    assert files == {'windows': ['C:\\x.txt', 'C:\\Temp\\a.exe'], 'linux': ['/tmp/b.sh'], 'macos': ['/tmp/b.sh']}


@pytest.mark.parametrize('args, problem', [
    ({'endpoint_ids': 'e1'}, 'at least one file path'),
    ({'endpoint_ids': 'e1', 'generic_file_path': 'relative.txt'}, 'neither a Windows path'),
    ({'windows_file_paths': 'C:\\a'}, 'endpoint_ids is required'),
    ({'endpoint_ids': 'e1', 'windows_file_paths': 'C:\\a', 'incident_id': 'abc'}, 'incident_id'),
    ({'endpoint_ids': 'e1', 'windows_file_paths': 'C:\\a', 'max_entries': '0'}, 'max_entries must be 1 or more'),
    ({'endpoint_ids': 'e1', 'windows_file_paths': 'C:\\a', 'polling': 'maybe'}, 'polling must be true or false'),
    ({'endpoint_ids': [{'id': 1}], 'windows_file_paths': 'C:\\a'}, 'nested object'),
])
def test_file_retrieve_bad_input(client, requests_mock, args, problem):
    """
    Given bad arguments
    When the command runs
    Then it fails clearly before any request
    """
    with pytest.raises(DemistoException, match=problem):
        xdr.file_retrieve_command(client, args)
    assert requests_mock.call_count == 0


def test_file_retrieve_request_body(client, requests_mock):
    """
    Given two endpoints, per-OS paths and an incident id
    When started without polling
    Then the documented body is sent and one PENDING row per endpoint is returned
    """
    requests_mock.post(API + 'endpoints/file_retrieval', json=load('file_retrieval.json'))
    result = xdr.file_retrieve_command(client, {'endpoint_ids': 'e1,e2', 'windows_file_paths': 'C:\\a.txt',
                                                'linux_file_paths': '/etc/passwd', 'incident_id': 42,
                                                'polling': 'false'})
    assert requests_mock.last_request.json() == {'request_data': {
        'filters': [{'field': 'endpoint_id_list', 'operator': 'in', 'value': ['e1', 'e2']}],
        'files': {'windows': ['C:\\a.txt'], 'linux': ['/etc/passwd']}, 'incident_id': 42}}
    assert result.outputs == [{'action_id': 1773, 'endpoint_id': 'e1', 'status': 'PENDING'},
                              {'action_id': 1773, 'endpoint_id': 'e2', 'status': 'PENDING'}]
    assert result.scheduled_command is None


def test_file_retrieve_splits_to_api_limits(client, requests_mock):
    """
    Given 12 endpoints and 25 files
    When started
    Then 4 calls stay within 10 endpoints and 20 files each and cover every pair once
    """
    counter = iter(range(1, 100))
    requests_mock.post(API + 'endpoints/file_retrieval',
                       json=lambda request, context: {'reply': {'action_id': next(counter), 'endpoints_count': 1}})
    endpoints = ','.join(f'e{i}' for i in range(12))
    paths = ','.join(f'C:\\f{i}.txt' for i in range(25))
    result = xdr.file_retrieve_command(client, {'endpoint_ids': endpoints, 'windows_file_paths': paths,
                                                'polling': 'false'})
    bodies = [r.json()['request_data'] for r in requests_mock.request_history]
    assert len(bodies) == 4
    for body in bodies:
        assert len(body['filters'][0]['value']) <= 10
        assert sum(len(v) for v in body['files'].values()) <= 20
    pairs = {(e, p) for b in bodies for e in b['filters'][0]['value'] for p in b['files']['windows']}
    assert len(pairs) == 12 * 25  # every endpoint x file asked exactly once
    assert {row['action_id'] for row in result.outputs} == {1, 2, 3, 4}


def round_state(context):
    return json.loads(context['PollingArgs']['retrieval_state'])


def test_file_retrieve_polling_downloads_each_endpoint_in_the_round_it_finishes(client, requests_mock):
    """
    Given two endpoints: the first finishes in round 2, the second fails in round 3
    When polling runs round by round
    Then round 2 already puts the first endpoint's files in the war room (as that round's output, before its
    polling entry), round 3 downloads nothing again, names the failure without an error entry (the other
    endpoint succeeded) and ends polling with the whole action's summary
    """
    payload = b'evil payload' * 100
    retrieval_mocks(requests_mock, load('get_action_status_pending.json'), make_zip({'C/Users/bob/evil.exe': payload}))
    args = {'endpoint_ids': EP_OK + ',' + EP_FAIL, 'windows_file_paths': 'C:\\Users\\bob\\evil.exe',
            'interval_in_seconds': '10'}
    first = xdr.file_retrieve_command(client, args).to_context()
    assert first['PollingCommand'] == 'xdr-response-file-retrieve'
    assert round_state(first)['action_ids'] == ['1773']
    assert 'windows_file_paths' not in first['PollingArgs']

    requests_mock.post(API + 'actions/get_action_status', json=load('get_action_status_one_done.json'))
    second_output = to_entries(xdr.file_retrieve_command(client, first['PollingArgs']))
    second = second_output[-1]
    assert second['PollingCommand'] == 'xdr-response-file-retrieve'
    assert 'Retrieve File: 1 of 2 endpoint(s) done, 1 pending, 0 failed (elapsed' in second['HumanReadable']
    assert round_state(second)['handled'] == {'1773:' + EP_OK: 'downloaded'}
    early_files = file_entries(second_output)
    assert [e['File'] for e in early_files] == ['evil.exe'] and war_room_file(early_files[0]) == payload

    requests_mock.post(API + 'actions/get_action_status', json=load('get_action_status_done.json'))
    entries = to_entries(xdr.file_retrieve_command(client, second['PollingArgs']))
    assert sum(1 for r in requests_mock.request_history if '/download/' in r.url) == 1
    assert file_entries(entries) == []
    rows = retrieved_rows(entries)
    assert list(rows) == [EP_FAIL]
    assert rows[EP_FAIL]['error'] == 'The endpoint is disconnected and the action expired'
    assert error_entries(entries) == []
    assert 'Retrieve File: 1 of 2 endpoint(s) done, 0 pending, 1 failed' in entries[-1]['HumanReadable']
    assert 'files downloaded' in entries[-1]['HumanReadable'] and 'failed' in entries[-1]['HumanReadable']


def test_file_retrieve_downloads_only_after_the_status_is_final(client, requests_mock):
    """
    Given details that already list a link for an endpoint whose status is still pending
    When two polling rounds run (pending, then done)
    Then the zip is downloaded once, in the round whose status call reported the endpoint final
    """
    retrieval_mocks(requests_mock, load('get_action_status_pending.json'), make_zip({'a.txt': b'x' * 100}))
    state = {'retrieval_state': json.dumps({'action_ids': ['1773'], 'handled': {}, 'limits': {}, 'return_zip': False,
                                            'round_budget': 180}), 'polling': 'true'}
    first = to_entries(xdr.file_retrieve_command(client, state))
    assert file_entries(first) == []
    assert not any('/download/' in r.url for r in requests_mock.request_history)
    requests_mock.post(API + 'actions/get_action_status', json=load('get_action_status_one_done.json'))
    second = to_entries(xdr.file_retrieve_command(client, first[-1]['PollingArgs']))
    assert [e['File'] for e in file_entries(second)] == ['a.txt']
    assert sum(1 for r in requests_mock.request_history if '/download/' in r.url) == 1


def test_file_retrieve_polling_timeout_names_pending_endpoints(client, requests_mock):
    """
    Given endpoints still pending after timeout_in_seconds
    When the round runs
    Then polling ends with an error entry (every endpoint failed) naming them and the command to run later
    """
    requests_mock.post(API + 'actions/get_action_status', json=load('get_action_status_pending.json'))
    state = json.dumps({'action_ids': ['1773'], 'handled': {}, 'limits': {}, 'return_zip': False, 'round_budget': 180})
    entries = to_entries(xdr.file_retrieve_command(client, {'retrieval_state': state, 'polling': 'true',
                                                            'timeout_in_seconds': '60', 'polling_started': '1000'}))
    assert entries[-1]['Type'] == EntryType.ERROR
    texts = ' '.join(e['HumanReadable'] for e in entries)
    assert f'waiting for Retrieve File on endpoint(s) {EP_OK}, {EP_FAIL}' in texts
    assert '!xdr-response-retrieve-file-details action_id=1773' in texts


def test_file_retrieve_rate_limited_round_is_rescheduled_not_slept(requests_mock):
    """
    Given a 429 with Retry-After 90 while polling
    When the round runs
    Then nothing sleeps and the next round runs after 90 s with the same state
    """
    clock = FakeTime()
    waits = clock.sleeps
    client = make_client(clock)
    requests_mock.post(API + 'actions/get_action_status', status_code=429, headers={'Retry-After': '90'}, json={})
    state = json.dumps({'action_ids': ['1773'], 'handled': {'1773:x': 'downloaded'}, 'limits': {},
                        'return_zip': False, 'round_budget': 180})
    polling = xdr.file_retrieve_command(client, {'retrieval_state': state, 'polling': 'true'}).to_context()
    assert waits == []
    assert polling['NextRun'] == '90'
    assert round_state(polling)['handled'] == {'1773:x': 'downloaded'}


# ---------------------------------------------------------------- xdr-response-get-quarantine-status

SHA_A = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'
SHA_B = '60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752'


def test_quarantine_parallel_lists(client, requests_mock):
    """
    Given one endpoint for two paths and hashes
    When checked
    Then the query pairs them, statuses map back and the context uses the official camelCase keys
    """
    requests_mock.post(API + 'quarantine/status', json=load('quarantine_status.json'))
    result = xdr.quarantine_status_command(client, {
        'endpoint_id': EP_OK,
        'file_path': 'C:\\Users\\bob\\Downloads\\test_x64.msi,C:\\Windows\\Temp\\dropper.exe',
        'file_hash': f'{SHA_A},{SHA_B.upper()}'})
    sent = requests_mock.last_request.json()['request_data']['files']
    # the hash keeps the case given (as the official command's rows do, so they merge); matching ignores case
    assert sent[1] == {'endpoint_id': EP_OK, 'file_path': 'C:\\Windows\\Temp\\dropper.exe', 'file_hash': SHA_B.upper()}
    assert [row['status'] for row in result.outputs] == [True, False]
    assert '|Quarantined|' in result.readable_output
    assert 'Not quarantined' in result.readable_output
    assert '1 of 2 file(s) quarantined' in result.readable_output
    key = 'PaloAltoNetworksXDR.quarantineFiles.status(val.fileHash && val.fileHash == obj.fileHash && ' \
          'val.endpointId && val.endpointId == obj.endpointId && val.filePath && val.filePath == obj.filePath)'
    assert context_of(result)[key][1] == {'endpointId': EP_OK, 'filePath': 'C:\\Windows\\Temp\\dropper.exe',
                                          'fileHash': SHA_B.upper(), 'status': False}


def test_quarantine_json_files_argument(client, requests_mock):
    """
    Given the files argument as JSON
    When checked
    Then its rows are used
    """
    requests_mock.post(API + 'quarantine/status', json=load('quarantine_status.json'))
    files = [{'endpoint_id': EP_OK, 'file_path': 'C:\\Users\\bob\\Downloads\\test_x64.msi', 'file_hash': SHA_A}]
    result = xdr.quarantine_status_command(client, {'files': json.dumps(files)})
    assert result.outputs[0]['status'] is True


def test_quarantine_batches_requests_concurrently_in_order(client, requests_mock):
    """
    Given 250 files
    When checked
    Then 3 calls of at most 100 files are made and the rows keep the input order
    """
    def reply(request, context):
        files = request.json()['request_data']['files']
        return {'reply': [dict(f, status=int(f['file_hash'][:2], 16) % 2 == 0) for f in reversed(files)]}
    requests_mock.post(API + 'quarantine/status', json=reply)
    hashes = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(250)]
    result = xdr.quarantine_status_command(client, {'endpoint_id': 'e1', 'file_path': '/tmp/x',
                                                    'file_hash': ','.join(hashes)})
    assert sorted(len(r.json()['request_data']['files']) for r in requests_mock.request_history) == [50, 100, 100]
    assert [row['fileHash'] for row in result.outputs] == hashes
    assert [row['status'] for row in result.outputs] == [int(h[:2], 16) % 2 == 0 for h in hashes]


QUERY_A = {'endpoint_id': 'e1', 'file_path': '/a', 'file_hash': SHA_A}
QUERY_B = {'endpoint_id': 'e1', 'file_path': '/b', 'file_hash': SHA_B}


@pytest.mark.parametrize('reply, statuses', [
    ([dict(QUERY_A, status=True), dict(QUERY_B, status=False)], [True, False]),
    ([dict(QUERY_B, file_hash=SHA_B.upper(), status=False), dict(QUERY_A, status=True)], [True, False]),
    ([{'endpoint_id': 'E1', 'file_path': 'A', 'status': True}, {'status': False}], [True, False]),
    ([dict(QUERY_B, status=False)], [None, False]),
    ([dict(QUERY_A, status='yes'), 'not an object'], [None, None]),
])
def test_quarantine_reply_matching(reply, statuses):
    """
    Given replies in query order, in another order with an upper-case hash, in order with differently written
    fields, with a file left out, and with values of the wrong type
    When matched to the queried files
    Then each file gets its own status, and Unknown (None) when the reply has none for it
    """
    rows = xdr.match_quarantine_reply([QUERY_A, QUERY_B], reply)
    assert [row['status'] for row in rows] == statuses
    assert [row['filePath'] for row in rows] == ['/a', '/b']


@pytest.mark.parametrize('args, problem', [
    ({'endpoint_id': 'e1', 'file_path': '/a', 'file_hash': 'abc'}, 'is not a SHA256'),
    ({'endpoint_id': 'e1', 'file_path': '/a', 'file_hash': 'g' * 64}, 'is not a SHA256'),
    ({'endpoint_id': 'e1,e2,e3', 'file_path': '/a,/b', 'file_hash': SHA_A}, 'same number of values'),
    ({'files': '[{"endpoint_id": "e1", "file_path": "/a"}]'}, 'missing file_hash'),
    ({'files': 'not json'}, 'JSON list'),
    ({'files': '[1, 2]'}, 'JSON list'),
    ({}, 'Give the files to check'),
    ({'endpoint_id': 5, 'file_path': '/a', 'file_hash': 7}, 'is not a SHA256'),
    ({'file_path': '/a', 'file_hash': SHA_A}, '^endpoint_id is required: give one value for all files or one per file'),
])
def test_quarantine_bad_input_no_request(client, requests_mock, args, problem):
    """
    Given bad or missing files
    When checked
    Then it fails clearly before any request
    """
    with pytest.raises(DemistoException, match=problem):
        xdr.quarantine_status_command(client, args)
    assert requests_mock.call_count == 0


def test_quarantine_non_list_reply(client, requests_mock):
    """
    Given a reply that is not a list
    When read
    Then the error says a list was expected
    """
    requests_mock.post(API + 'quarantine/status', json={'reply': {'oops': 1}})
    with pytest.raises(DemistoException, match='expected a list'):
        xdr.quarantine_status_command(client, {'endpoint_id': 'e1', 'file_path': '/a', 'file_hash': SHA_A})


# ---------------------------------------------------------------- test-module and main

def test_test_module_ok(client, requests_mock):
    """
    Given a working key
    When test-module runs
    Then it answers ok
    """
    requests_mock.post(API + 'distributions/get_versions', json=load('get_versions.json'))
    assert xdr.test_module(client) == 'ok'


def run_main(monkeypatch, command, args=None, params=None):
    exc_seen = []
    real_return_error = xdr.return_error

    def spy_return_error(message, *rest, **kwargs):
        exc_seen.append(sys.exc_info()[0])
        return real_return_error(message, *rest, **kwargs)

    monkeypatch.setattr(xdr, 'return_error', spy_return_error)
    entries = run_entry_point(monkeypatch, xdr.main, command, args, params or make_params(auth_type='Advanced'))
    return entries, exc_seen


@pytest.mark.parametrize('status', SEED_ERRORS)
def test_main_errors_are_entries_without_secrets_or_traceback(monkeypatch, requests_mock, caplog, status):
    """
    Given each documented API error with an Advanced key
    When a command fails
    Then one error entry with the meaning, reported outside the except block, without the key or any digest
    """
    caplog.set_level(logging.DEBUG)
    requests_mock.post(API + 'quarantine/status', status_code=status, json=load(f'error_{status}.json'))
    entries, exc_seen = run_main(monkeypatch, 'xdr-response-get-quarantine-status',
                                 {'endpoint_id': 'e1', 'file_path': '/a', 'file_hash': SHA_A})
    assert len(entries) == 1 and entries[0]['Type'] == 4
    assert exc_seen == [None]  # no active exception: the real return_error logs no traceback
    text = json.dumps(entries)
    assert 'Traceback' not in text
    assert f'status {status}' in text
    for secret in (API_KEY, requests_mock.last_request.headers['Authorization']):
        assert secret not in text
        assert secret not in caplog.text


@pytest.mark.parametrize('auth_type', ['Standard', 'Advanced'])
def test_test_module_redacts_a_reply_that_echoes_the_key(monkeypatch, requests_mock, auth_type):
    """
    Given a 401 whose body quotes the request's Authorization value
    When test-module runs
    Then its message names the problem but neither the key nor the digest that was sent
    """
    def echo(request, context):
        context.status_code = 401
        return {'err_code': 401, 'err_msg': 'unauthorized', 'err_extra': 'Authorization=' +
                request.headers['Authorization'] + ' key=' + API_KEY}
    requests_mock.post(API + 'distributions/get_versions', json=echo)
    entries, _ = run_main(monkeypatch, 'test-module', params=make_params(auth_type=auth_type))
    text = json.dumps(entries)
    assert 'authentication failed' in text
    assert API_KEY not in text
    assert requests_mock.last_request.headers['Authorization'] not in text


def test_main_success_and_unknown_command(monkeypatch, requests_mock):
    """
    Given a working key
    When test-module and an unknown command run
    Then ok, and a plain error for the unknown command
    """
    requests_mock.post(API + 'distributions/get_versions', json=load('get_versions.json'))
    assert run_main(monkeypatch, 'test-module')[0] == ['ok']
    entries, _ = run_main(monkeypatch, 'xdr-no-such-command')
    assert entries[0]['Type'] == 4 and 'not implemented' in entries[0]['Contents']


@pytest.mark.parametrize('args', [
    {'action_id': None}, {'action_id': 12}, {'action_id': [1773, '1774']}, {'action_id': {'x': 1}},
    {'action_id': '1773', 'max_entries': 3.5}, {'action_id': '1773', 'return_zip': ['true', 'false']},
])
def test_main_any_argument_shape_gives_a_result_or_a_plain_error(monkeypatch, requests_mock, args):
    """
    Given arguments of unexpected types (a playbook can pass any)
    When the details command runs
    Then the user sees a result or a plain error, never a Python type name
    """
    retrieval_mocks(requests_mock, load('get_action_status_done.json'), make_zip({'a.txt': b'x'}))
    entries, _ = run_main(monkeypatch, 'xdr-response-retrieve-file-details', args)
    assert entries
    assert not any(name in json.dumps(entries) for name in PYTHON_TYPE_NAMES)
