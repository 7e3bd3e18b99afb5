"""The emulator's hostile fault kinds and the recording other origin, over real HTTP."""
import socket
import time

import jwt
import pytest
import requests

from devtools.emulator import Emulator, OtherOrigin, content, credentials
from devtools.emulator.cylance import CylanceApi
from devtools.emulator.xdr import XdrApi

STD = credentials.XDR_STANDARD
HEADERS = {'x-xdr-auth-id': STD['key_id'], 'Authorization': STD['key']}
VERSIONS = '/public_api/v1/distributions/get_versions'
RETRIEVE = '/public_api/v1/endpoints/file_retrieval'
RETRIEVE_DATA = {'request_data': {'filters': [{'field': 'endpoint_id_list', 'operator': 'in', 'value': ['e1']}],
                                  'files': {'windows': ['C:\\a.exe']}}}
PACKAGE = content.package_id(0)


@pytest.fixture(scope='module')
def emu():
    with Emulator() as emulator:
        yield emulator


@pytest.fixture(scope='module')
def other():
    with OtherOrigin('127.0.0.1') as origin:
        yield origin


@pytest.fixture(autouse=True)
def clean(emu, other):
    emu.reset()
    other.reset()


def test_redirect_with_cookie_and_the_other_origin_records_it(emu, other):
    emu.add_fault(VERSIONS, 'redirect', method='POST', exact=True, status=307, location=other.url + '{path}',
                  cookie=True)
    res = requests.post(emu.url + VERSIONS, json={'request_data': {}}, headers=HEADERS, allow_redirects=False)
    assert res.status_code == 307 and res.headers['Location'] == other.url + VERSIONS
    assert res.headers['Set-Cookie'].startswith('emu_lb=')
    requests.post(res.headers['Location'], data=b'abc', headers={'X-Test': '1'})
    [seen] = other.requests()
    assert (seen.method, seen.path, seen.body_length, seen.header('x-test')) == ('POST', VERSIONS, 3, '1')


def test_other_origin_redirect_loop(other):
    other.answer_redirect()
    with pytest.raises(requests.TooManyRedirects):
        requests.get(other.url + '/start')


def test_method_and_exact_matching(emu):
    emu.add_fault('/packages/v2', 'status', method='POST', exact=True, status=418)
    assert requests.get(emu.url + '/packages/v2').status_code == 401  # GET: not this rule (no token)
    assert requests.post(emu.url + '/packages/v2/executions').status_code == 401  # not the exact path
    assert requests.post(emu.url + '/packages/v2').status_code == 418


@pytest.mark.parametrize('then, expected', [('status', 504), ('reset', None), ('stall', None)])
def test_after_commit_carries_out_then_answers_ambiguously(emu, then, expected):
    emu.add_fault(RETRIEVE, 'after_commit', count=1, then=then, seconds=1.5)
    try:
        status = requests.post(emu.url + RETRIEVE, json=RETRIEVE_DATA, headers=HEADERS, timeout=1).status_code
    except requests.RequestException:
        status = None
    assert status == expected
    assert len(emu.vendor(XdrApi).actions) == 1
    assert emu.request_log()[0]['path'] == RETRIEVE


def test_trickle_sends_a_byte_at_a_time(emu):
    emu.add_fault(VERSIONS, 'trickle', interval=0.05, max_seconds=30)
    started = time.monotonic()
    res = requests.post(emu.url + VERSIONS, json={'request_data': {}}, headers=HEADERS, timeout=1)
    assert res.json()['reply']['windows'] and time.monotonic() - started > 0.05 * len(res.content) * 0.8


@pytest.mark.parametrize('announce', ['more', 'fewer', 'none'])
def test_length_lies(emu, announce):
    emu.add_fault('/_storage/', 'length', announce=announce)
    url = f'{emu.alt_url}/_storage/packages/{PACKAGE}/p.zip'
    raw = requests.get(url, stream=True)
    real = len(content.package_file_bytes(PACKAGE))
    assert raw.headers.get('Content-Length') == {'more': str(real + 1000), 'fewer': str(real // 2), 'none': None}[
        announce]
    raw.close()


def test_huge_body_is_streamed(emu):
    emu.add_fault('/_storage/', 'huge', mb=3, announce='chunked')
    res = requests.get(f'{emu.alt_url}/_storage/packages/x/y')
    assert len(res.content) == 3 * 1024 * 1024
    assert emu.request_log()[-1]['bytes_sent'] == 3 * 1024 * 1024


def test_package_fields_and_token_records(emu):
    emu.add_fault(f'/packages/v2/{PACKAGE}', 'package', fields={'size': 'x'}, remove=['downloadUrl'])
    app, now = credentials.CYLANCE_APP, int(time.time())
    claims = {'iss': 'http://cylance.com', 'sub': app['app_id'], 'tid': app['tenant_id'], 'iat': now,
              'exp': now + 600, 'jti': 'j', 'scp': 'opticspkgconfig:read'}
    auth = jwt.encode(claims, credentials.CYLANCE_ROTATED_SECRETS[app['app_id']][0], algorithm='HS256')
    token = requests.post(emu.url + '/auth/v2/token', json={'auth_token': auth}).json()['access_token']
    package = requests.get(f'{emu.url}/packages/v2/{PACKAGE}', headers={'Authorization': 'Bearer ' + token}).json()
    assert package['size'] == 'x' and 'downloadUrl' not in package
    api = emu.vendor(CylanceApi)
    assert api.token_requests[0]['accepted'] and api.bearer_calls[0]['jti'] == api.token_requests[0]['jti']


def test_other_origin_stops(other):
    port = other.port
    with socket.create_connection(('127.0.0.1', port), timeout=2):
        pass
