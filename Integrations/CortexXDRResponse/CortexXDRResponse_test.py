import hashlib
import io
import json
import logging
import os
import zipfile

import pytest
import requests_mock as requests_mock_module

import demistomock as demisto
from CommonServerPython import CommandResults, DemistoException, EntryType, ScheduledCommand
import CortexXDRResponse as xdr

BASE = 'https://api-tenant.xdr.us.paloaltonetworks.com'
API = BASE + '/public_api/v1/'
KEY_ID = '17'
API_KEY = 'Zq8vY2fK0pLr4sT6uWx9zA1bC3dE5gH7jK9mN0pQ2rS4tU6vW8xY0zA2bC4dE6fG'
HERE = os.path.dirname(os.path.abspath(__file__))
SEED_ERRORS = (400, 401, 402, 403, 500)


def load(name):
    with open(os.path.join(HERE, 'test_data', name)) as f:
        return json.load(f)


@pytest.fixture
def client():
    return xdr.Client(BASE, KEY_ID, API_KEY, auth_type=xdr.AUTH_STANDARD, sleep=lambda s: None)


@pytest.fixture
def advanced_client():
    return xdr.Client(BASE, KEY_ID, API_KEY, auth_type=xdr.AUTH_ADVANCED, sleep=lambda s: None)


@pytest.fixture(autouse=True)
def war_room_dir(tmp_path, monkeypatch):
    """War-room files are written to the working directory, as in XSOAR."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def make_zip(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def war_room_file(entry):
    path = '{}_{}'.format(demisto.investigation()['id'], entry['FileID'])
    with open(path, 'rb') as f:
        return f.read()


def to_entries(results):
    """Entries as the server would see them (CommandResults -> dict)."""
    if not isinstance(results, list):
        results = [results]
    return [r.to_context() if isinstance(r, CommandResults) else r for r in results]


def context_of(result):
    return result.to_context()['EntryContext']


# ---------------------------------------------------------------- auth

def test_standard_auth_headers(client, requests_mock):
    requests_mock.post(API + 'distributions/get_versions', json=load('get_versions.json'))
    client.get_distribution_versions()
    headers = requests_mock.last_request.headers
    assert headers['x-xdr-auth-id'] == KEY_ID
    assert headers['Authorization'] == API_KEY
    assert 'x-xdr-nonce' not in headers
    assert requests_mock.last_request.json() == {'request_data': {}}


def test_advanced_auth_fresh_nonce_and_timestamp_per_request(advanced_client, requests_mock):
    requests_mock.post(API + 'distributions/get_versions', json=load('get_versions.json'))
    advanced_client.get_distribution_versions()
    advanced_client.get_distribution_versions()
    first, second = [r.headers for r in requests_mock.request_history]
    for headers in (first, second):
        nonce, timestamp = headers['x-xdr-nonce'], headers['x-xdr-timestamp']
        assert len(nonce) == 64 and nonce.isalnum()
        assert timestamp.isdigit() and len(timestamp) == 13  # milliseconds
        expected = hashlib.sha256((API_KEY + nonce + timestamp).encode()).hexdigest()
        assert headers['Authorization'] == expected
        assert API_KEY not in headers.values()
    assert first['x-xdr-nonce'] != second['x-xdr-nonce']


def test_make_advanced_auth_known_vector():
    nonce, timestamp, auth = xdr.make_advanced_auth('key', nonce='n' * 64, timestamp_ms=1700000000000)
    assert auth == hashlib.sha256(('key' + 'n' * 64 + '1700000000000').encode()).hexdigest()
    assert timestamp == '1700000000000'


# ---------------------------------------------------------------- create distribution

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
])
def test_create_distribution_rules_checked_before_any_request(client, requests_mock, args, fix):
    with pytest.raises(DemistoException, match=fix):
        xdr.create_distribution_command(client, args)
    assert requests_mock.call_count == 0


@pytest.mark.parametrize('args, body', [
    ({'name': 'win', 'package_type': 'standalone', 'platform': 'windows', 'agent_version': '8.4.0.12345',
      'description': 'for IR'},
     {'name': 'win', 'package_type': 'standalone', 'platform': 'windows', 'agent_version': '8.4.0.12345',
      'description': 'for IR'}),
    ({'name': 'droid', 'package_type': 'standalone', 'platform': 'android'},
     {'name': 'droid', 'package_type': 'standalone', 'platform': 'android'}),
    ({'name': 'up', 'package_type': 'upgrade', 'platform': 'linux', 'agent_version': '8.4.0.12344'},
     {'name': 'up', 'package_type': 'upgrade', 'platform': 'linux', 'agent_version': '8.4.0.12344',
      'linux_version': '8.4.0.12344'}),
])
def test_create_distribution_sends_documented_body(client, requests_mock, args, body):
    requests_mock.post(API + 'distributions/create', json=load('create_distribution.json'))
    result = xdr.create_distribution_command(client, args)
    assert requests_mock.last_request.json() == {'request_data': body}
    context = context_of(result)['PaloAltoNetworksXDR.Distribution(val.id && val.id == obj.id)']
    assert context['id'] == '2c74c11b63074653aa01d575a82bf52a'
    assert context['name'] == body['name']


# ---------------------------------------------------------------- distribution status / url / versions

def test_distribution_status_many_ids(client, requests_mock):
    requests_mock.post(API + 'distributions/get_status', [{'json': load('get_distribution_status_completed.json')},
                                                           {'json': load('get_distribution_status_in_progress.json')}])
    result = xdr.get_distribution_status_command(client, {'distribution_ids': 'a1,b2'})
    assert [r.json()['request_data'] for r in requests_mock.request_history] == [
        {'distribution_id': 'a1'}, {'distribution_id': 'b2'}]
    assert result.outputs == [{'id': 'a1', 'status': 'Completed'}, {'id': 'b2', 'status': 'In Progress'}]
    assert result.scheduled_command is None  # no polling asked


def test_distribution_status_polling_continues_until_every_id_finished(client, requests_mock):
    requests_mock.post(API + 'distributions/get_status', [{'json': load('get_distribution_status_completed.json')},
                                                           {'json': load('get_distribution_status_in_progress.json')}])
    result = xdr.get_distribution_status_command(client, {'distribution_ids': 'a1,b2', 'polling': 'true',
                                                          'interval_in_seconds': '15', 'timeout_in_seconds': '300'})
    assert isinstance(result.scheduled_command, ScheduledCommand)
    polling = result.to_context()
    assert polling['PollingCommand'] == 'xdr-response-get-create-distribution-status'
    assert polling['NextRun'] == '15'
    assert polling['Timeout'] == '300'
    assert polling['PollingArgs']['distribution_ids'] == 'a1,b2'
    assert 'b2' in polling['HumanReadable']

    requests_mock.post(API + 'distributions/get_status', json=load('get_distribution_status_completed.json'))
    done = xdr.get_distribution_status_command(client, polling['PollingArgs'])
    assert done.scheduled_command is None
    assert {row['status'] for row in done.outputs} == {'Completed'}


def test_distribution_status_polling_times_out_with_message(client, requests_mock):
    requests_mock.post(API + 'distributions/get_status', json=load('get_distribution_status_in_progress.json'))
    with pytest.raises(DemistoException, match='Timed out waiting for installation package'):
        xdr.get_distribution_status_command(client, {'distribution_ids': 'a1', 'polling': 'true',
                                                     'timeout_in_seconds': '60', 'polling_started': '1000'})


def test_distribution_url(client, requests_mock):
    requests_mock.post(API + 'distributions/get_dist_url', json=load('get_dist_url.json'))
    results = xdr.get_distribution_url_command(client, {'distribution_id': 'd1', 'package_type': 'x64'})
    assert requests_mock.last_request.json() == {'request_data': {'distribution_id': 'd1', 'package_type': 'x64'}}
    assert len(results) == 1
    output = context_of(results[0])['PaloAltoNetworksXDR.Distribution(val.id && val.id == obj.id)']
    assert output['url'].startswith('https://storage.example-cdn.com/')


def test_distribution_url_rejects_unknown_package_type(client, requests_mock):
    with pytest.raises(DemistoException, match='package_type must be one of'):
        xdr.get_distribution_url_command(client, {'distribution_id': 'd1', 'package_type': 'exe'})
    assert requests_mock.call_count == 0


@pytest.mark.parametrize('package_type, extension', [('x64', 'msi'), ('sh', 'sh'), ('deb', 'deb'), ('pkg', 'pkg')])
def test_distribution_download_streams_file_without_credentials(client, requests_mock, package_type, extension):
    reply = load('get_dist_url.json')
    url = reply['reply']['distribution_url']
    requests_mock.post(API + 'distributions/get_dist_url', json=reply)
    payload = b'MZ' + os.urandom(4096)
    requests_mock.get(url, content=payload, headers={'Content-Length': str(len(payload))})
    results = xdr.get_distribution_url_command(client, {'distribution_id': 'd1', 'package_type': package_type,
                                                        'download': 'true'})
    entry = results[1]
    assert entry['Type'] == 3
    assert entry['File'] == 'd1_{}.{}'.format(package_type, extension)
    assert war_room_file(entry) == payload
    storage_request = requests_mock.request_history[-1]
    assert 'Authorization' not in storage_request.headers
    assert 'x-xdr-auth-id' not in storage_request.headers


def test_distribution_download_short_body_is_error_and_removed(client, requests_mock, war_room_dir):
    reply = load('get_dist_url.json')
    requests_mock.post(API + 'distributions/get_dist_url', json=reply)
    requests_mock.get(reply['reply']['distribution_url'], content=b'abc', headers={'Content-Length': '10'})
    with pytest.raises(DemistoException, match='closed after 3 of 10 bytes'):
        xdr.get_distribution_url_command(client, {'distribution_id': 'd1', 'package_type': 'x64',
                                                  'download': 'true'})
    assert os.listdir(war_room_dir) == []


def test_distribution_versions(client, requests_mock):
    requests_mock.post(API + 'distributions/get_versions', json=load('get_versions.json'))
    result = xdr.get_distribution_versions_command(client, {})
    assert result.outputs['windows'] == ['8.4.0.12345', '8.3.1.11200']
    assert '8.4.0.12344' in result.readable_output


# ---------------------------------------------------------------- errors

COMMAND_CALLS = [
    ('distributions/create', xdr.create_distribution_command,
     {'name': 'p', 'package_type': 'standalone', 'platform': 'linux', 'agent_version': '8.4'}),
    ('distributions/get_status', xdr.get_distribution_status_command, {'distribution_ids': 'd1'}),
    ('distributions/get_dist_url', xdr.get_distribution_url_command, {'distribution_id': 'd1', 'package_type': 'sh'}),
    ('distributions/get_versions', xdr.get_distribution_versions_command, {}),
    ('endpoints/file_retrieval', xdr.file_retrieve_command, {'endpoint_ids': 'e1', 'generic_file_path': 'C:\\a.txt'}),
    ('actions/get_action_status', xdr.action_status_command, {'action_id': '1'}),
    ('actions/get_action_status', xdr.retrieve_file_details_command, {'action_id': '1'}),
    ('quarantine/status', xdr.quarantine_status_command,
     {'endpoint_id': 'e1', 'file_path': 'C:\\a.exe', 'file_hash': 'a' * 64}),
]
MEANINGS = {400: 'invalid JSON or invalid parameters', 401: 'authentication failed', 402: 'License required',
            403: 'RBAC permissions', 500: 'Internal server error'}


@pytest.mark.parametrize('status', SEED_ERRORS)
@pytest.mark.parametrize('endpoint, command, args', COMMAND_CALLS)
def test_every_seed_error_is_a_clear_message(client, requests_mock, endpoint, command, args, status):
    requests_mock.post(API + endpoint, status_code=status, json=load('error_{}.json'.format(status)))
    with pytest.raises(DemistoException) as info:
        command(client, args)
    message = str(info.value)
    assert MEANINGS[status] in message
    assert endpoint in message
    assert 'status {}'.format(status) in message
    assert API_KEY not in message


def test_json_err_msg_is_parsed(client, requests_mock):
    requests_mock.post(API + 'distributions/get_versions', status_code=400, json=load('error_400.json'))
    with pytest.raises(DemistoException) as info:
        xdr.get_distribution_versions_command(client, {})
    assert "no viable alternative at input '|alter2' (line 1, column 19)" in str(info.value)
    assert 'request_data.files must be a list' in str(info.value)


def test_error_inside_reply_wrapper_is_parsed(client, requests_mock):
    requests_mock.post(API + 'distributions/get_versions', status_code=500,
                       json={'reply': {'err_code': 500, 'err_msg': 'boom', 'err_extra': None}})
    with pytest.raises(DemistoException, match='Server message: boom'):
        xdr.get_distribution_versions_command(client, {})


def test_retry_after_is_honoured_then_success(requests_mock):
    waits = []
    client = xdr.Client(BASE, KEY_ID, API_KEY, sleep=waits.append)
    requests_mock.post(API + 'distributions/get_versions', [
        {'status_code': 429, 'headers': {'Retry-After': '7'}, 'json': {'err_code': 429, 'err_msg': 'slow down'}},
        {'status_code': 503, 'text': 'unavailable'},
        {'json': load('get_versions.json')}])
    xdr.get_distribution_versions_command(client, {})
    assert waits == [7.0, 2]
    assert requests_mock.call_count == 3


def test_retries_are_bounded(requests_mock):
    waits = []
    client = xdr.Client(BASE, KEY_ID, API_KEY, sleep=waits.append, max_retries=3)
    requests_mock.post(API + 'distributions/get_versions', status_code=502, text='<html>bad gateway</html>')
    with pytest.raises(DemistoException, match='Gave up after 4 attempts'):
        xdr.get_distribution_versions_command(client, {})
    assert requests_mock.call_count == 4
    assert waits == [1, 2, 4]


def test_retry_after_is_capped(requests_mock):
    waits = []
    client = xdr.Client(BASE, KEY_ID, API_KEY, sleep=waits.append, max_retries=1)
    requests_mock.post(API + 'distributions/get_versions', [
        {'status_code': 429, 'headers': {'Retry-After': '99999'}, 'text': ''}, {'json': load('get_versions.json')}])
    xdr.get_distribution_versions_command(client, {})
    assert waits == [xdr.MAX_RETRY_WAIT_SECONDS]


@pytest.mark.parametrize('kwargs, problem', [
    ({'text': '<html>login</html>'}, 'not JSON'),
    ({'json': {'unexpected': 1}}, 'without a "reply" field'),
    ({'json': {'reply': {}}}, 'without distribution_id'),
    ({'json': {'reply': ['x']}}, 'expected an object'),
])
def test_odd_replies_are_clear_errors(client, requests_mock, kwargs, problem):
    requests_mock.post(API + 'distributions/create', **kwargs)
    with pytest.raises(DemistoException, match=problem):
        xdr.create_distribution_command(client, {'name': 'p', 'package_type': 'standalone', 'platform': 'android'})


def test_action_status_without_data_is_clear(client, requests_mock):
    requests_mock.post(API + 'actions/get_action_status', json={'reply': {'status': 'x'}})
    with pytest.raises(DemistoException, match='returned no "data"'):
        xdr.action_status_command(client, {'action_id': '5'})


def test_timeout_is_clear(client, requests_mock):
    import requests
    requests_mock.post(API + 'distributions/get_versions', exc=requests.exceptions.ReadTimeout)
    with pytest.raises(DemistoException, match='no reply in time'):
        xdr.get_distribution_versions_command(client, {})


# ---------------------------------------------------------------- action status

def test_action_status_many_with_error_reasons(client, requests_mock):
    requests_mock.post(API + 'actions/get_action_status', json=load('get_action_status_done.json'))
    result = xdr.action_status_command(client, {'action_id': '1773,1774'})
    assert [r.json()['request_data'] for r in requests_mock.request_history] == [
        {'group_action_id': 1773}, {'group_action_id': 1774}]
    failed = [r for r in result.outputs if r['status'] == 'FAILED']
    assert len(failed) == 2
    assert failed[0]['error_description'] == 'The endpoint is disconnected and the action expired'
    assert 'PaloAltoNetworksXDR.GetActionStatus(val.action_id && val.action_id == obj.action_id && ' \
           'val.endpoint_id && val.endpoint_id == obj.endpoint_id)' in context_of(result)


# ---------------------------------------------------------------- file retrieve

def test_generic_paths_are_sorted_by_os():
    files = xdr.build_retrieval_files({'generic_file_path': 'C:\\Temp\\a.exe,/tmp/b.sh',
                                       'windows_file_paths': 'C:\\x.txt'})
    assert files == {'windows': ['C:\\x.txt', 'C:\\Temp\\a.exe'], 'linux': ['/tmp/b.sh'], 'macos': ['/tmp/b.sh']}


@pytest.mark.parametrize('args, problem', [
    ({'endpoint_ids': 'e1'}, 'at least one file path'),
    ({'endpoint_ids': 'e1', 'generic_file_path': 'relative.txt'}, 'neither a Windows path'),
    ({'windows_file_paths': 'C:\\a'}, 'endpoint_ids is required'),
    ({'endpoint_ids': 'e1', 'windows_file_paths': 'C:\\a', 'incident_id': 'abc'}, 'incident_id'),
    ({'endpoint_ids': 'e1', 'windows_file_paths': 'C:\\a', 'max_entries': '0'}, 'positive'),
])
def test_file_retrieve_bad_input(client, requests_mock, args, problem):
    with pytest.raises((DemistoException, ValueError), match=problem):
        xdr.file_retrieve_command(client, args)
    assert requests_mock.call_count == 0


def test_file_retrieve_request_body(client, requests_mock):
    requests_mock.post(API + 'endpoints/file_retrieval', json=load('file_retrieval.json'))
    result = xdr.file_retrieve_command(client, {'endpoint_ids': 'e1,e2', 'windows_file_paths': 'C:\\a.txt',
                                                'linux_file_paths': '/etc/passwd', 'incident_id': '42'})
    assert requests_mock.last_request.json() == {'request_data': {
        'filters': [{'field': 'endpoint_id_list', 'operator': 'in', 'value': ['e1', 'e2']}],
        'files': {'windows': ['C:\\a.txt'], 'linux': ['/etc/passwd']}, 'incident_id': 42}}
    assert result.outputs == [{'action_id': 1773, 'endpoint_id': 'e1', 'status': 'PENDING'},
                              {'action_id': 1773, 'endpoint_id': 'e2', 'status': 'PENDING'}]
    assert result.scheduled_command is None


def test_file_retrieve_splits_to_api_limits(client, requests_mock):
    requests_mock.post(API + 'endpoints/file_retrieval', [{'json': {'reply': {'action_id': n, 'endpoints_count': 1}}}
                                                          for n in range(1, 10)])
    endpoints = ','.join('e{}'.format(i) for i in range(12))
    paths = ','.join('C:\\f{}.txt'.format(i) for i in range(25))
    result = xdr.file_retrieve_command(client, {'endpoint_ids': endpoints, 'windows_file_paths': paths})
    bodies = [r.json()['request_data'] for r in requests_mock.request_history]
    assert len(bodies) == 4
    for body in bodies:
        assert len(body['filters'][0]['value']) <= 10
        assert sum(len(v) for v in body['files'].values()) <= 20
    pairs = {(e, p) for b in bodies for e in b['filters'][0]['value'] for p in b['files']['windows']}
    assert len(pairs) == 12 * 25  # every endpoint x file asked exactly once
    assert {row['action_id'] for row in result.outputs} == {1, 2, 3, 4}


def retrieval_mocks(requests_mock, status_reply, zip_bytes):
    requests_mock.post(API + 'endpoints/file_retrieval', json=load('file_retrieval.json'))
    requests_mock.post(API + 'actions/get_action_status', json=status_reply)
    requests_mock.post(API + 'actions/file_retrieval_details', json=load('file_retrieval_details.json'))
    requests_mock.post(API + 'download/AAAAAbCdEf0123456789', content=zip_bytes,
                       headers={'Content-Type': 'application/zip'})


def test_file_retrieve_polling_waits_for_every_endpoint_then_downloads_once(client, requests_mock):
    payload = b'evil payload' * 100
    retrieval_mocks(requests_mock, load('get_action_status_pending.json'),
                    make_zip({'C/Users/bob/evil.exe': payload}))
    args = {'endpoint_ids': 'aaf1e2b3c4d5e6f7a8b9c0d1e2f3a4b5,fail0a1b2c3d4e5f6a7b8c9d0e1f2a3b4',
            'windows_file_paths': 'C:\\Users\\bob\\evil.exe', 'polling': 'true', 'interval_in_seconds': '10'}
    first = xdr.file_retrieve_command(client, args).to_context()
    assert first['PollingCommand'] == 'xdr-response-file-retrieve'
    next_args = first['PollingArgs']
    assert next_args['action_ids'] == '1773'

    # One endpoint done, the other still pending: keep polling (the official integration stops here).
    requests_mock.post(API + 'actions/get_action_status', json={'reply': {'data': {
        'aaf1e2b3c4d5e6f7a8b9c0d1e2f3a4b5': 'COMPLETED_SUCCESSFULLY',
        'fail0a1b2c3d4e5f6a7b8c9d0e1f2a3b4': 'PENDING'}}})
    second = xdr.file_retrieve_command(client, next_args).to_context()
    assert second['PollingCommand'] == 'xdr-response-file-retrieve'
    assert 'Waiting for 1 of 2' in second['HumanReadable']
    assert requests_mock.request_history[-1].url.endswith('get_action_status')

    requests_mock.post(API + 'actions/get_action_status', json=load('get_action_status_done.json'))
    entries = to_entries(xdr.file_retrieve_command(client, second['PollingArgs']))
    downloads = [r for r in requests_mock.request_history if '/download/' in r.url]
    assert len(downloads) == 1
    assert downloads[0].url == API + 'download/AAAAAbCdEf0123456789'
    context = entries[0]['EntryContext']['PaloAltoNetworksXDR.RetrievedFiles(val.action_id && val.action_id == '
                                         'obj.action_id && val.endpoint_id && val.endpoint_id == obj.endpoint_id)']
    ok = [row for row in context if row['status'] == 'COMPLETED_SUCCESSFULLY'][0]
    assert ok['files'][0]['sha256'] == hashlib.sha256(payload).hexdigest()
    assert ok['file_names'] == ['evil.exe']
    failed = [row for row in context if row['status'] == 'FAILED'][0]
    assert failed['error'] == 'The endpoint is disconnected and the action expired'
    files = [e for e in entries if e.get('Type') == 3]
    assert [f['File'] for f in files] == ['evil.exe']
    assert war_room_file(files[0]) == payload
    errors = [e for e in entries if e.get('Type') == EntryType.ERROR]
    assert len(errors) == 1
    assert 'fail0a1b2c3d4e5f6a7b8c9d0e1f2a3b4' in errors[0]['HumanReadable']
    assert 'disconnected' in errors[0]['HumanReadable']


def test_file_retrieve_polling_timeout_names_pending_endpoints(client, requests_mock):
    requests_mock.post(API + 'actions/get_action_status', json=load('get_action_status_pending.json'))
    with pytest.raises(DemistoException, match='Timed out waiting for Retrieve File on endpoint'):
        xdr.file_retrieve_command(client, {'action_ids': '1773', 'polling': 'true', 'timeout_in_seconds': '60',
                                           'polling_started': '1000'})


# ---------------------------------------------------------------- retrieve file details / zip safety

def details(client, requests_mock, zip_bytes, **args):
    retrieval_mocks(requests_mock, load('get_action_status_done.json'), zip_bytes)
    return to_entries(xdr.retrieve_file_details_command(client, dict({'action_id': '1773'}, **args)))


def retrieved_rows(entries):
    key = [k for k in entries[0]['EntryContext'] if k.startswith('PaloAltoNetworksXDR.RetrievedFiles')][0]
    return {row['endpoint_id']: row for row in entries[0]['EntryContext'][key]}


def test_details_extracts_every_file_with_hashes(client, requests_mock, war_room_dir):
    files = {'C/Users/bob/evil.exe': b'A' * 5000, 'tmp/run.sh': b'#!/bin/sh\necho hi\n'}
    entries = details(client, requests_mock, make_zip(files))
    row = retrieved_rows(entries)['aaf1e2b3c4d5e6f7a8b9c0d1e2f3a4b5']
    assert {f['archive_path']: f['sha256'] for f in row['files']} == {
        name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    assert row['file_link'].endswith('/download/AAAAAbCdEf0123456789')
    file_entries = [e for e in entries if e.get('Type') == 3]
    assert sorted(e['File'] for e in file_entries) == ['evil.exe', 'run.sh']
    # only the extracted files stay on disk: the downloaded zip is removed
    assert len(os.listdir(war_room_dir)) == 2
    assert 'evil.exe' in entries[0]['HumanReadable']


def test_details_can_return_the_zip_itself(client, requests_mock):
    archive = make_zip({'a.txt': b'x'})
    entries = details(client, requests_mock, archive, return_zip='true')
    zips = [e for e in entries if e.get('Type') == 3 and e['File'].endswith('.zip')]
    assert len(zips) == 1 and war_room_file(zips[0]) == archive


def test_details_download_link_on_another_host_goes_to_instance_host(client, requests_mock):
    retrieval_mocks(requests_mock, load('get_action_status_done.json'), make_zip({'a.txt': b'x'}))
    requests_mock.post(API + 'actions/file_retrieval_details', json={'reply': {'data': {
        'aaf1e2b3c4d5e6f7a8b9c0d1e2f3a4b5': 'https://evil.example.com/public_api/v1/download/AAAAAbCdEf0123456789'}}})
    xdr.retrieve_file_details_command(client, {'action_id': '1773'})
    download = requests_mock.request_history[-1]
    assert download.url == API + 'download/AAAAAbCdEf0123456789'
    assert all('evil.example.com' not in r.url for r in requests_mock.request_history)


def test_details_refuses_links_that_are_not_download_links(client, requests_mock):
    retrieval_mocks(requests_mock, load('get_action_status_done.json'), b'')
    requests_mock.post(API + 'actions/file_retrieval_details', json={'reply': {'data': {
        'aaf1e2b3c4d5e6f7a8b9c0d1e2f3a4b5': 'https://evil.example.com/steal'}}})
    entries = to_entries(xdr.retrieve_file_details_command(client, {'action_id': '1773'}))
    assert 'not followed' in retrieved_rows(entries)['aaf1e2b3c4d5e6f7a8b9c0d1e2f3a4b5']['error']
    assert all('/download/' not in r.url for r in requests_mock.request_history)


@pytest.mark.parametrize('archive, args, problem', [
    (make_zip({'../../etc/cron.d/evil': b'x', 'ok.txt': b'y'}), {}, 'unsafe entry: parent-directory'),
    (make_zip({'/etc/passwd': b'x'}), {}, 'unsafe entry: absolute path'),
    (make_zip({'C:/Windows/evil.dll': b'x'}), {}, 'unsafe entry: absolute path'),
    (make_zip({'bomb.bin': b'\0' * (8 * 1024 * 1024)}), {}, 'compression ratio above'),
    (make_zip({'f{}.txt'.format(i): b'x' for i in range(30)}), {'max_entries': '20'}, 'more than max_entries=20'),
    (make_zip({'big.bin': os.urandom(2 * 1024 * 1024)}), {'max_total_size_mb': '1'}, 'larger than the 1 MB'),
    (make_zip({'a.bin': os.urandom(5000)})[:2500], {}, 'not a valid zip'),
    (b'this is not a zip at all', {}, 'not a valid zip'),
])
def test_details_zip_safety(client, requests_mock, war_room_dir, archive, args, problem):
    entries = details(client, requests_mock, archive, **args)
    row = retrieved_rows(entries)['aaf1e2b3c4d5e6f7a8b9c0d1e2f3a4b5']
    assert problem in row['error']
    assert 'files' not in row
    assert not [e for e in entries if e.get('Type') == 3]
    assert os.listdir(war_room_dir) == []  # nothing partial left behind
    assert [e for e in entries if e.get('Type') == EntryType.ERROR]


def test_zip_total_cap_counts_declared_sizes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_STORED) as archive:
        archive.writestr('a', b'x' * 700000)
        archive.writestr('b', b'x' * 700000)
    with zipfile.ZipFile(buffer) as archive:
        with pytest.raises(DemistoException, match='expands to more than'):
            xdr.inspect_zip(archive, xdr.ZipLimits(1024 * 1024, 100, 10))


def test_download_reset_mid_body_leaves_no_file(client, requests_mock, war_room_dir):
    import requests
    retrieval_mocks(requests_mock, load('get_action_status_done.json'), b'')
    requests_mock.post(API + 'download/AAAAAbCdEf0123456789', exc=requests.exceptions.ChunkedEncodingError)
    entries = to_entries(xdr.retrieve_file_details_command(client, {'action_id': '1773'}))
    assert 'ChunkedEncodingError' in retrieved_rows(entries)['aaf1e2b3c4d5e6f7a8b9c0d1e2f3a4b5']['error']
    assert os.listdir(war_room_dir) == []


def test_check_entry_name():
    assert xdr.check_entry_name('C/Users/a.txt') is None
    assert xdr.check_entry_name('a/../../b')
    assert xdr.check_entry_name('\\\\server\\share')
    assert xdr.check_entry_name('..\\x')


# ---------------------------------------------------------------- quarantine

SHA_A = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'
SHA_B = '60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752'


def test_quarantine_parallel_lists(client, requests_mock):
    requests_mock.post(API + 'quarantine/status', json=load('quarantine_status.json'))
    result = xdr.quarantine_status_command(client, {
        'endpoint_id': 'aaf1e2b3c4d5e6f7a8b9c0d1e2f3a4b5',
        'file_path': 'C:\\Users\\bob\\Downloads\\test_x64.msi,C:\\Windows\\Temp\\dropper.exe',
        'file_hash': '{},{}'.format(SHA_A, SHA_B.upper())})
    sent = requests_mock.last_request.json()['request_data']['files']
    assert sent[1] == {'endpoint_id': 'aaf1e2b3c4d5e6f7a8b9c0d1e2f3a4b5',
                       'file_path': 'C:\\Windows\\Temp\\dropper.exe', 'file_hash': SHA_B}
    assert [row['status'] for row in result.outputs] == [True, False]
    assert '| Quarantined |' in result.readable_output
    assert 'Not quarantined' in result.readable_output
    assert '1 of 2 file(s) quarantined' in result.readable_output
    # the official integration's context shape, so existing playbooks keep working
    key = 'PaloAltoNetworksXDR.quarantineFiles.status(val.fileHash && val.fileHash == obj.fileHash && ' \
          'val.endpointId && val.endpointId == obj.endpointId && val.filePath && val.filePath == obj.filePath)'
    assert context_of(result)[key][1] == {'endpointId': 'aaf1e2b3c4d5e6f7a8b9c0d1e2f3a4b5',
                                          'filePath': 'C:\\Windows\\Temp\\dropper.exe', 'fileHash': SHA_B,
                                          'status': False}


def test_quarantine_json_files_argument(client, requests_mock):
    requests_mock.post(API + 'quarantine/status', json=load('quarantine_status.json'))
    files = [{'endpoint_id': 'aaf1e2b3c4d5e6f7a8b9c0d1e2f3a4b5', 'file_path': 'C:\\Users\\bob\\Downloads\\test_x64.msi',
              'file_hash': SHA_A}]
    result = xdr.quarantine_status_command(client, {'files': json.dumps(files)})
    assert result.outputs[0]['status'] is True


def test_quarantine_batches_requests(client, requests_mock):
    def reply(request, context):
        return {'reply': [dict(f, status=False) for f in request.json()['request_data']['files']]}
    requests_mock.post(API + 'quarantine/status', json=reply)
    hashes = ','.join(hashlib.sha256(str(i).encode()).hexdigest() for i in range(250))
    result = xdr.quarantine_status_command(client, {'endpoint_id': 'e1', 'file_path': '/tmp/x', 'file_hash': hashes})
    assert [len(r.json()['request_data']['files']) for r in requests_mock.request_history] == [100, 100, 50]
    assert len(result.outputs) == 250


@pytest.mark.parametrize('args, problem', [
    ({'endpoint_id': 'e1', 'file_path': '/a', 'file_hash': 'abc'}, 'is not a SHA256'),
    ({'endpoint_id': 'e1', 'file_path': '/a', 'file_hash': 'g' * 64}, 'is not a SHA256'),
    ({'endpoint_id': 'e1,e2,e3', 'file_path': '/a,/b', 'file_hash': SHA_A}, 'same number of values'),
    ({'files': '[{"endpoint_id": "e1", "file_path": "/a"}]'}, 'missing file_hash'),
    ({'files': 'not json'}, 'JSON list'),
    ({}, 'Give the files to check'),
])
def test_quarantine_bad_input_no_request(client, requests_mock, args, problem):
    with pytest.raises(DemistoException, match=problem):
        xdr.quarantine_status_command(client, args)
    assert requests_mock.call_count == 0


def test_quarantine_non_list_reply(client, requests_mock):
    requests_mock.post(API + 'quarantine/status', json={'reply': {'oops': 1}})
    with pytest.raises(DemistoException, match='expected a list'):
        xdr.quarantine_status_command(client, {'endpoint_id': 'e1', 'file_path': '/a', 'file_hash': SHA_A})


# ---------------------------------------------------------------- test-module, main, secrets

def test_test_module_ok(client, requests_mock):
    requests_mock.post(API + 'distributions/get_versions', json=load('get_versions.json'))
    assert xdr.test_module(client) == 'ok'


def test_test_module_bad_key(client, requests_mock):
    requests_mock.post(API + 'distributions/get_versions', status_code=401, json=load('error_401.json'))
    message = xdr.test_module(client)
    assert 'authentication failed' in message and API_KEY not in message


def run_main(monkeypatch, command, args=None, params=None):
    entries = []
    params = params or {'url': BASE, 'credentials': {'identifier': KEY_ID, 'password': API_KEY},
                        'auth_type': 'Advanced'}
    monkeypatch.setattr(demisto, 'params', lambda: params)
    monkeypatch.setattr(demisto, 'args', lambda: args or {})
    monkeypatch.setattr(demisto, 'command', lambda: command)
    monkeypatch.setattr(demisto, 'results', lambda r: entries.extend(r if isinstance(r, list) else [r]))
    try:
        xdr.main()
    except SystemExit:
        pass
    return entries


@pytest.mark.parametrize('status', SEED_ERRORS)
def test_main_errors_are_entries_without_secrets_or_traceback(monkeypatch, requests_mock, caplog, status):
    caplog.set_level(logging.DEBUG)
    requests_mock.post(API + 'quarantine/status', status_code=status, json=load('error_{}.json'.format(status)))
    entries = run_main(monkeypatch, 'xdr-response-get-quarantine-status',
                       {'endpoint_id': 'e1', 'file_path': '/a', 'file_hash': SHA_A})
    assert len(entries) == 1 and entries[0]['Type'] == 4
    text = json.dumps(entries)
    assert 'Traceback' not in text
    assert MEANINGS[status] in text
    sent = requests_mock.last_request.headers['Authorization']
    for secret in (API_KEY, sent):
        assert secret not in text
        assert secret not in caplog.text


def test_main_success_and_unknown_command(monkeypatch, requests_mock):
    requests_mock.post(API + 'distributions/get_versions', json=load('get_versions.json'))
    assert run_main(monkeypatch, 'test-module') == ['ok']
    entries = run_main(monkeypatch, 'xdr-no-such-command')
    assert entries[0]['Type'] == 4 and 'not implemented' in entries[0]['Contents']


@pytest.mark.parametrize('params, problem', [
    ({'url': 'api-tenant', 'credentials': {'identifier': '1', 'password': 'k'}}, 'must start with https://'),
    ({'url': BASE, 'credentials': {'identifier': '', 'password': ''}}, 'API key ID and API key are required'),
    ({'url': BASE, 'credentials': {'identifier': '1', 'password': 'k'}, 'auth_type': 'Basic'}, 'Standard or Advanced'),
])
def test_main_bad_params(monkeypatch, requests_mock, params, problem):
    entries = run_main(monkeypatch, 'test-module', params=params)
    assert entries[0]['Type'] == 4 and problem in entries[0]['Contents']
    assert requests_mock.call_count == 0


def test_redact():
    assert xdr.redact('key=abcdefgh!', ['abcdefgh']) == 'key=<redacted>!'


def test_requests_mock_plugin_available():
    assert requests_mock_module.Mocker


def test_single_value_arguments_accept_one_item_lists(client, requests_mock):
    requests_mock.post(API + 'distributions/create', json=load('create_distribution.json'))
    xdr.create_distribution_command(client, {'name': ['p'], 'package_type': 'standalone', 'platform': ['android']})
    assert requests_mock.last_request.json()['request_data']['platform'] == 'android'
    with pytest.raises(DemistoException, match='agent_version takes one value, got 2'):
        xdr.create_distribution_command(client, {'name': 'p', 'package_type': 'upgrade', 'agent_version': ['1', '2']})
