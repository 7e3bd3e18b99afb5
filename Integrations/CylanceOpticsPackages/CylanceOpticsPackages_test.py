import email.utils
import hashlib
import io
import json
import logging
import os
import time
import uuid

import jwt
import pytest
import requests

import CommonServerPython
import demistomock as demisto
from CommonServerPython import CommandResults, DemistoException
import CylanceOpticsPackages as cyl

BASE = 'https://protectapi.cylance.com'
APP_ID = 'b1e2c3d4-5f60-4718-9a2b-3c4d5e6f7081'
SECRET = 'unit-test-application-secret-0123456789abcdef'
TENANT = '6d3a1c0e-2b7f-4e59-9a84-3c2d1e0f5a6b'
PACKAGE_ID = 'e378dacb-9324-453a-b8c6-5a8406952195'
GET_URL = BASE + '/packages/v2/' + PACKAGE_ID
LIST_URL = BASE + '/packages/v2'
TOKEN_URL = BASE + '/auth/v2/token'
SERVER_KEY = 'server-side-signing-key-0123456789abcdef'
HERE = os.path.dirname(os.path.abspath(__file__))


def load(name):
    with open(os.path.join(HERE, 'test_data', name)) as f:
        return json.load(f)


def access_token(scope, life=1800):
    token = jwt.encode({'scp': [scope], 'exp': int(time.time()) + life, 'jti': str(uuid.uuid4())}, SERVER_KEY,
                       algorithm='HS256')
    return token.decode() if isinstance(token, bytes) else token


def forget_server_version(monkeypatch):
    """The real CommonServerPython caches demistoVersion() on first use; each test sets its own."""
    cache = getattr(CommonServerPython, 'get_demisto_version', None)
    if hasattr(cache, '_version'):
        monkeypatch.setattr(cache, '_version', None)


@pytest.fixture(autouse=True)
def runtime(tmp_path, monkeypatch):
    """A versioned integration context (as on XSOAR 6+) and the war-room folder as cwd."""
    store = {}
    forget_server_version(monkeypatch)
    monkeypatch.setattr(demisto, 'demistoVersion', lambda: {'version': '8.9.0', 'buildNumber': '1'})
    monkeypatch.setattr(demisto, 'getIntegrationContextVersioned', lambda *a, **k: {'context': dict(store),
                                                                                    'version': 1})
    monkeypatch.setattr(demisto, 'setIntegrationContextVersioned',
                        lambda ctx, *a, **k: (store.clear(), store.update(ctx)))
    monkeypatch.chdir(tmp_path)
    return store


@pytest.fixture
def client():
    return cyl.Client(BASE, APP_ID, SECRET, TENANT, sleep=lambda s: None)


def token_endpoint(requests_mock, scopes_seen=None, issued=None):
    """The token exchange: checks the JWT with the secret and answers a token carrying the requested scope."""
    def reply(request, context):
        claims = jwt.decode(request.json()['auth_token'], SECRET, algorithms=['HS256'])
        if scopes_seen is not None:
            scopes_seen.append(claims['scp'])
        token = access_token(claims['scp'])
        if issued is not None:
            issued.append(token)
        return {'access_token': token}
    return requests_mock.post(TOKEN_URL, json=reply)


def api_calls(requests_mock, fragment='/packages/'):
    return [r for r in requests_mock.request_history if fragment in r.url]


def war_room_file(entry):
    with open('{}_{}'.format(demisto.investigation()['id'], entry['FileID']), 'rb') as f:
        return f.read()


# ---------------------------------------------------------------- auth: JWT, token cache, refresh

def test_jwt_claims(client):
    token = client.make_auth_jwt(cyl.SCOPE_READ)
    assert jwt.get_unverified_header(token)['alg'] == 'HS256'
    claims = jwt.decode(token, SECRET, algorithms=['HS256'])
    assert claims['iss'] == 'http://cylance.com'
    assert claims['sub'] == APP_ID and claims['tid'] == TENANT
    assert str(uuid.UUID(claims['jti'])) == claims['jti'] and uuid.UUID(claims['jti']).version == 4
    assert claims['scp'] == 'opticspkgconfig:read'
    assert 0 < claims['exp'] - claims['iat'] <= 1800
    assert abs(claims['iat'] - time.time()) < 5
    assert jwt.decode(client.make_auth_jwt(cyl.SCOPE_READ), SECRET, algorithms=['HS256'])['jti'] != claims['jti']
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, 'another-secret-0123456789abcdef-xyz', algorithms=['HS256'])


def test_token_request_body(client, requests_mock):
    token_endpoint(requests_mock)
    requests_mock.get(LIST_URL, json=load('list_packages_page3.json'))
    cyl.list_packages_command(client, {})
    token_request = api_calls(requests_mock, '/auth/v2/token')[0]
    assert token_request.method == 'POST' and list(token_request.json()) == ['auth_token']
    assert 'Authorization' not in token_request.headers
    claims = jwt.decode(token_request.json()['auth_token'], SECRET, algorithms=['HS256'])
    assert claims['scp'] == 'opticspkgconfig:list'


def test_tokens_are_cached_per_scope(client, requests_mock, runtime):
    scopes, issued = [], []
    token_endpoint(requests_mock, scopes, issued)
    requests_mock.get(GET_URL, json=load('get_package.json'))
    requests_mock.get(LIST_URL, json=load('list_packages_page3.json'))
    cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    cyl.get_package_command(client, {'package_id': PACKAGE_ID})  # same scope: no new token
    assert scopes == ['opticspkgconfig:read']
    cyl.list_packages_command(client, {})  # another scope: a new token
    assert scopes == ['opticspkgconfig:read', 'opticspkgconfig:list']
    sent = [r.headers['Authorization'] for r in api_calls(requests_mock)]
    assert sent == ['Bearer ' + issued[0]] * 2 + ['Bearer ' + issued[1]]
    assert set(runtime['tokens']) == {cyl.SCOPE_READ, cyl.SCOPE_LIST}
    # the next command run (a new client) reuses the cached token
    cyl.get_package_command(cyl.Client(BASE, APP_ID, SECRET, TENANT), {'package_id': PACKAGE_ID})
    assert len(scopes) == 2 and requests_mock.last_request.headers['Authorization'] == 'Bearer ' + issued[0]


def test_cached_token_expiry_follows_the_token(client, requests_mock, runtime):
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=load('get_package.json'))
    cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    cached = runtime['tokens'][cyl.SCOPE_READ]
    exp = jwt.decode(cached['token'], options={'verify_signature': False})['exp']
    assert cached['expires'] == exp


def test_expired_cached_token_is_renewed(client, requests_mock, runtime):
    runtime['tokens'] = {cyl.SCOPE_READ: {'token': 'old', 'expires': time.time() + 30}}  # inside the margin
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=load('get_package.json'))
    cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    assert requests_mock.request_history[0].url == TOKEN_URL
    assert requests_mock.last_request.headers['Authorization'] != 'Bearer old'
    assert runtime['tokens'][cyl.SCOPE_READ]['token'] != 'old'


@pytest.mark.parametrize('cached', [{'token': 'x'}, {'expires': time.time() + 999}, 'junk', {'token': 5,
                                                                                           'expires': 'soon'}])
def test_odd_cache_entries_are_replaced(client, requests_mock, runtime, cached):
    runtime['tokens'] = {cyl.SCOPE_READ: cached}
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=load('get_package.json'))
    cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    assert len(api_calls(requests_mock, '/auth/')) == 1


def test_token_expiry():
    exp = int(time.time()) + 600
    token = jwt.encode({'exp': exp}, 'k' * 32, algorithm='HS256')
    assert cyl.token_expiry(token.decode() if isinstance(token, bytes) else token) == exp
    assert abs(cyl.token_expiry('opaque-token') - (time.time() + 1800)) < 5


def test_context_without_versioning(client, requests_mock, monkeypatch):
    """Server 5.5 (the real demistomock's default): the plain getIntegrationContext/setIntegrationContext."""
    plain = {}
    forget_server_version(monkeypatch)
    monkeypatch.setattr(demisto, 'demistoVersion', lambda: {'version': '5.5.0', 'buildNumber': '12345'})
    monkeypatch.setattr(demisto, 'getIntegrationContext', lambda: dict(plain))
    monkeypatch.setattr(demisto, 'setIntegrationContext', lambda ctx: (plain.clear(), plain.update(ctx)))

    def versioned(*a, **k):
        raise AssertionError('versioned context used on server 5.5')
    monkeypatch.setattr(demisto, 'getIntegrationContextVersioned', versioned)
    monkeypatch.setattr(demisto, 'setIntegrationContextVersioned', versioned)
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=load('get_package.json'))
    cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    assert list(plain['tokens']) == [cyl.SCOPE_READ]
    assert len(api_calls(requests_mock, '/auth/')) == 1


def test_401_refreshes_once_then_succeeds(client, requests_mock, runtime):
    runtime['tokens'] = {cyl.SCOPE_READ: {'token': 'revoked', 'expires': time.time() + 1000}}
    issued = []
    token_endpoint(requests_mock, issued=issued)
    requests_mock.get(GET_URL, [{'status_code': 401, 'json': {'message': 'expired'}},
                                {'json': load('get_package.json')}])
    result = cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    assert result.outputs['packageId'] == PACKAGE_ID
    assert [r.headers['Authorization'] for r in api_calls(requests_mock)] == ['Bearer revoked', 'Bearer ' + issued[0]]
    assert runtime['tokens'][cyl.SCOPE_READ]['token'] == issued[0]


def test_401_after_refresh_is_a_clear_error(client, requests_mock):
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, status_code=401, json={'message': 'Invalid token'})
    with pytest.raises(cyl.CylanceError, match='status 401. Unauthorized - the access token was rejected') as info:
        cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    assert info.value.status == 401 and 'Server message: Invalid token' in info.value.message
    assert len(api_calls(requests_mock, '/auth/')) == 2  # the first token and exactly one refresh
    assert len(api_calls(requests_mock)) == 2


def test_token_401_bad_credentials(client, requests_mock):
    requests_mock.post(TOKEN_URL, status_code=401, json={'message': 'Invalid signature'})
    with pytest.raises(cyl.CylanceError, match='rejected the application credentials'):
        cyl.list_packages_command(client, {})
    assert requests_mock.call_count == 1  # no refresh loop on the token endpoint itself


def test_token_400_exp_window(client, requests_mock):
    requests_mock.post(TOKEN_URL, status_code=400, json={'message': 'exp must be within 30 minutes'})
    with pytest.raises(cyl.CylanceError, match='exp/iat window') as info:
        cyl.list_packages_command(client, {})
    assert 'auth/v2/token failed with status 400' in info.value.message
    assert 'Server message: exp must be within 30 minutes' in info.value.message


@pytest.mark.parametrize('reply', [{'json': {'token': 'x'}}, {'text': '<html/>'}, {'json': ['x']},
                                   {'json': {'access_token': 12}}, {'json': {'access_token': ''}}])
def test_token_reply_without_access_token(client, requests_mock, reply):
    requests_mock.post(TOKEN_URL, **reply)
    with pytest.raises(DemistoException, match='auth/v2/token returned no access_token'):
        cyl.list_packages_command(client, {})


# ---------------------------------------------------------------- get package

def test_get_package(client, requests_mock):
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=load('get_package.json'))
    result = cyl.get_package_command(client, {'package_id': PACKAGE_ID.upper()})
    assert requests_mock.last_request.url == GET_URL
    assert requests_mock.last_request.headers['Accept'] == 'application/json'
    context = result.to_context()['EntryContext']['CylanceOptics.Package(val.packageId && val.packageId == '
                                                  'obj.packageId)']
    assert context == load('get_package.json')  # every seed field, nested ones included
    readable = result.readable_output
    for text in ('Collect-Autoruns', '1.2.0', 'success', '2048', 'ir.lead@example.com', '2026-03-14T09:15:00Z',
                 'main.py', 'python', 'Playbook Count', 'Download URL', 'collect-autoruns-1.2.0.zip',
                 '### Examples', 'Collect-Autoruns --all', 'Write results to a share'):
        assert text in readable


def test_get_package_keeps_only_seed_fields(client, requests_mock):
    token_endpoint(requests_mock)
    body = dict(load('get_package.json'), internalField='x')
    requests_mock.get(GET_URL, json=body)
    assert 'internalField' not in cyl.get_package_command(client, {'package_id': PACKAGE_ID}).outputs


def test_get_package_without_examples(client, requests_mock):
    token_endpoint(requests_mock)
    body = load('get_package.json')
    body['packageDescriptor']['examples'] = None
    requests_mock.get(GET_URL, json=body)
    assert '**No entries.**' in cyl.get_package_command(client, {'package_id': PACKAGE_ID}).readable_output


@pytest.mark.parametrize('bad', ['', None, 'abc', '1234', 'e378dacb-9324-453a-b8c6', PACKAGE_ID + 'x',
                                 '../' + PACKAGE_ID, [PACKAGE_ID, PACKAGE_ID]])
def test_package_id_validated_before_any_request(client, requests_mock, bad):
    for command in (cyl.get_package_command, cyl.download_package_command):
        with pytest.raises(DemistoException, match='package_id must be a package UUID'):
            command(client, {'package_id': bad})
    assert requests_mock.call_count == 0


def test_package_id_forms():
    assert cyl.validate_package_id([' ' + PACKAGE_ID.upper() + ' ']) == PACKAGE_ID


def test_404_says_not_found(client, requests_mock):
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, status_code=404, json={'message': 'Package not found'})
    with pytest.raises(DemistoException, match='^Package {} was not found'.format(PACKAGE_ID)):
        cyl.get_package_command(client, {'package_id': PACKAGE_ID})


@pytest.mark.parametrize('command, args, url, scope', [
    (cyl.list_packages_command, {}, LIST_URL, 'opticspkgconfig:list'),
    (cyl.get_package_command, {'package_id': PACKAGE_ID}, GET_URL, 'opticspkgconfig:read'),
])
def test_403_names_the_scope(client, requests_mock, command, args, url, scope):
    token_endpoint(requests_mock)
    requests_mock.get(url, status_code=403, json={'message': 'Forbidden'})
    with pytest.raises(DemistoException, match='The application lacks the {} scope'.format(scope)):
        command(client, args)
    assert len(api_calls(requests_mock)) == 1  # no retry, no refresh


def test_400_on_an_api_call(client, requests_mock):
    token_endpoint(requests_mock)
    requests_mock.get(LIST_URL, status_code=400, json={'message': 'page_size must be <= 200'})
    with pytest.raises(DemistoException, match='packages/v2 failed with status 400. Bad request.*page_size'):
        cyl.list_packages_command(client, {})


@pytest.mark.parametrize('status', [429, 500, 502, 503, 504])
def test_retries_bounded_with_retry_after(requests_mock, status):
    waits = []
    client = cyl.Client(BASE, APP_ID, SECRET, TENANT, sleep=waits.append)
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, [{'status_code': status, 'headers': {'Retry-After': '4'}, 'json': {}},
                                {'status_code': status, 'text': ''}, {'json': load('get_package.json')}])
    cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    assert waits == [4.0, 2]  # Retry-After honoured, else exponential backoff
    waits.clear()
    requests_mock.get(GET_URL, status_code=status, json={})
    with pytest.raises(DemistoException, match='status {}.*Gave up after 4 attempts'.format(status)):
        cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    assert waits == [1, 2, 4]
    assert len(api_calls(requests_mock)) == 3 + 4


def test_retry_after_is_capped_and_accepts_dates(requests_mock):
    waits = []
    client = cyl.Client(BASE, APP_ID, SECRET, TENANT, sleep=waits.append)
    token_endpoint(requests_mock)
    in_30s = email.utils.formatdate(time.time() + 30, usegmt=True)
    requests_mock.get(LIST_URL, [{'status_code': 429, 'headers': {'Retry-After': '3600'}},
                                 {'status_code': 503, 'headers': {'Retry-After': in_30s}},
                                 {'status_code': 503, 'headers': {'Retry-After': 'soon'}},
                                 {'json': load('list_packages_page3.json')}])
    cyl.list_packages_command(client, {})
    assert waits[0] == cyl.MAX_RETRY_WAIT_SECONDS
    assert 25 <= waits[1] <= 30
    assert waits[2] == 4  # unreadable header: backoff


def test_token_endpoint_is_retried_too(requests_mock):
    waits = []
    client = cyl.Client(BASE, APP_ID, SECRET, TENANT, sleep=waits.append)
    requests_mock.post(TOKEN_URL, [{'status_code': 503, 'headers': {'Retry-After': '2'}},
                                   {'json': {'access_token': access_token('x')}}])
    requests_mock.get(LIST_URL, json=load('list_packages_page3.json'))
    cyl.list_packages_command(client, {})
    assert waits == [2.0]


@pytest.mark.parametrize('kwargs, problem', [
    ({'text': 'not json'}, 'packages/v2/{id} returned a reply that is not JSON'),
    ({'json': {'oops': 1}}, 'packages/v2/{id} returned an unexpected reply: no package with a packageId'),
    ({'json': ['x']}, 'no package with a packageId'),
    ({'text': 'null'}, 'no package with a packageId'),
])
def test_odd_package_bodies(client, requests_mock, kwargs, problem):
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, **kwargs)
    with pytest.raises(DemistoException, match=problem.replace('{', r'\{').replace('}', r'\}')):
        cyl.get_package_command(client, {'package_id': PACKAGE_ID})


@pytest.mark.parametrize('exc, problem', [
    (requests.exceptions.ReadTimeout, 'no reply in time'),
    (requests.exceptions.ConnectTimeout, 'no connection in time'),
    (requests.exceptions.ConnectionError, 'could not be reached'),
    (requests.exceptions.SSLError, 'Trust any certificate'),
])
def test_network_failures_are_clear(client, requests_mock, exc, problem):
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, exc=exc)
    with pytest.raises(DemistoException, match=problem) as info:
        cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    assert 'Cylance API call packages/v2/{id} failed' in info.value.message


def test_token_endpoint_unreachable(client, requests_mock):
    requests_mock.post(TOKEN_URL, exc=requests.exceptions.ConnectionError)
    with pytest.raises(DemistoException, match='Cylance API call auth/v2/token failed: ConnectionError'):
        cyl.list_packages_command(client, {})


# ---------------------------------------------------------------- list

def test_list_one_page_with_query(client, requests_mock):
    token_endpoint(requests_mock)
    requests_mock.get(LIST_URL, json=load('list_packages_page1.json'))
    result = cyl.list_packages_command(client, {'page': '1', 'page_size': '2', 'sort': '-uploadedOn',
                                                'category': 'Custom'})
    request = requests_mock.last_request
    assert 'sort=-uploadedOn' in request.url and 'category=custom' in request.url
    assert request.qs == {'page': ['1'], 'page_size': ['2'], 'sort': ['-uploadedon'], 'category': ['custom']}
    assert len(result.outputs) == 2 and '(2 of 5)' in result.readable_output
    assert list(result.to_context()['EntryContext']) == [
        'CylanceOptics.Package(val.packageId && val.packageId == obj.packageId)']
    assert result.outputs[0] == load('list_packages_page1.json')['page_items'][0]


def test_list_defaults(client, requests_mock):
    token_endpoint(requests_mock)
    requests_mock.get(LIST_URL, json=load('list_packages_page1.json'))
    cyl.list_packages_command(client, {})
    assert requests_mock.last_request.qs == {'page': ['1'], 'page_size': ['20']}
    assert len(api_calls(requests_mock)) == 1  # without limit: one page only


def test_list_limit_pages_through(client, requests_mock):
    token_endpoint(requests_mock)
    pages = [{'json': load('list_packages_page{}.json'.format(i))} for i in (1, 2, 3)]
    requests_mock.get(LIST_URL, pages)
    result = cyl.list_packages_command(client, {'page_size': '2', 'limit': '3'})
    assert [p['packageDescriptor']['name'] for p in result.outputs] == ['Collect-Autoruns', 'Dump-Prefetch',
                                                                        'Scan-Yara']
    assert [r.qs['page'] for r in api_calls(requests_mock)] == [['1'], ['2']]
    requests_mock.get(LIST_URL, pages)
    result = cyl.list_packages_command(client, {'page_size': '2', 'limit': '50'})  # stops at the last page
    assert len(result.outputs) == 5 and '(5 of 5)' in result.readable_output
    assert len({p['packageId'] for p in result.outputs}) == 5
    assert [r.qs['page'] for r in api_calls(requests_mock)][2:] == [['1'], ['2'], ['3']]


def test_list_paging_is_bounded(client, requests_mock, monkeypatch):
    monkeypatch.setattr(cyl, 'MAX_PAGES', 3)
    token_endpoint(requests_mock)
    endless = load('list_packages_page1.json')
    del endless['total_pages']
    requests_mock.get(LIST_URL, json=endless)
    result = cyl.list_packages_command(client, {'page_size': '2', 'limit': '1000'})
    assert len(api_calls(requests_mock)) == 3 and len(result.outputs) == 6
    assert 'Stopped after 3 pages; run again with page=4' in result.readable_output


def test_list_stops_on_an_empty_page(client, requests_mock):
    token_endpoint(requests_mock)
    empty = {'page_number': 2, 'page_size': 2, 'page_items': []}
    requests_mock.get(LIST_URL, [{'json': dict(load('list_packages_page1.json'), total_pages=None)},
                                 {'json': empty}])
    result = cyl.list_packages_command(client, {'page_size': '2', 'limit': '10'})
    assert len(result.outputs) == 2 and len(api_calls(requests_mock)) == 2


def test_list_empty(client, requests_mock):
    token_endpoint(requests_mock)
    requests_mock.get(LIST_URL, json={'page_number': 1, 'page_size': 20, 'total_pages': 0,
                                      'total_number_of_items': 0, 'page_items': []})
    result = cyl.list_packages_command(client, {'category': 'cylance'})
    assert result.outputs == [] and '**No entries.**' in result.readable_output


@pytest.mark.parametrize('args, problem', [({'page_size': '500'}, 'page_size between'), ({'page_size': '0'},
                                                                                          'page_size between'),
                                           ({'page': '0'}, 'page must be'), ({'limit': '0'}, 'limit'),
                                           ({'category': 'other'}, 'custom or cylance'), ({'page': 'x'}, 'page')])
def test_list_bad_arguments(client, requests_mock, args, problem):
    with pytest.raises((DemistoException, ValueError), match=problem):
        cyl.list_packages_command(client, args)
    assert requests_mock.call_count == 0


@pytest.mark.parametrize('body, problem', [
    ({'items': []}, 'packages/v2 returned an unexpected reply: no page_items list'),
    ({'page_items': None}, 'no page_items list'),
    (['x'], 'no page_items list'),
    ({'page_items': [{'name': 'no id'}]}, 'packages/v2 returned an unexpected reply: no package with a packageId'),
    ({'page_items': ['x']}, 'no package with a packageId'),
])
def test_list_odd_bodies(client, requests_mock, body, problem):
    token_endpoint(requests_mock)
    requests_mock.get(LIST_URL, json=body)
    with pytest.raises(DemistoException, match=problem):
        cyl.list_packages_command(client, {})


def test_list_without_total(client, requests_mock):
    token_endpoint(requests_mock)
    body = load('list_packages_page3.json')
    del body['total_number_of_items']
    requests_mock.get(LIST_URL, json=body)
    assert 'Cylance Optics packages (1)' in cyl.list_packages_command(client, {}).readable_output


# ---------------------------------------------------------------- download

STORAGE_URL = load('get_package.json')['downloadUrl']


def package_with(url, size, file_name='collect-autoruns-1.2.0.zip'):
    package = load('get_package.json')
    package['downloadUrl'], package['size'] = url, size
    package['packageDescriptor']['packageInfo']['fileName'] = file_name
    return package


def test_download_streams_file_without_token_to_storage_host(client, requests_mock, tmp_path):
    token_endpoint(requests_mock)
    payload = os.urandom(3 * 1024 * 1024 + 17)  # more than one chunk
    requests_mock.get(GET_URL, json=package_with(STORAGE_URL, len(payload)))
    requests_mock.get(STORAGE_URL, content=payload)
    results = cyl.download_package_command(client, {'package_id': PACKAGE_ID})
    summary, entry = results
    assert entry['Type'] == 3 and entry['File'] == 'collect-autoruns-1.2.0.zip' and entry['Contents'] == ''
    assert war_room_file(entry) == payload
    assert os.listdir(tmp_path) == ['{}_{}'.format(demisto.investigation()['id'], entry['FileID'])]
    storage = requests_mock.last_request
    assert storage.url == STORAGE_URL and 'Authorization' not in storage.headers
    assert requests_mock.request_history[-2].headers['Authorization'].startswith('Bearer ')  # the API call had it
    assert summary.outputs == {'packageId': PACKAGE_ID, 'downloadedFileName': 'collect-autoruns-1.2.0.zip',
                               'downloadedSize': len(payload),
                               'downloadedSHA256': hashlib.sha256(payload).hexdigest()}
    assert list(summary.to_context()['EntryContext']) == [
        'CylanceOptics.Package(val.packageId && val.packageId == obj.packageId)']
    assert '/' not in json.dumps(summary.outputs)  # no local path in the context


def test_download_from_the_api_host_may_carry_the_token(client, requests_mock):
    token_endpoint(requests_mock)
    url = GET_URL + '/file'
    requests_mock.get(GET_URL, json=package_with(url, 3))
    requests_mock.get(url, content=b'abc')
    cyl.download_package_command(client, {'package_id': PACKAGE_ID})
    assert requests_mock.last_request.headers['Authorization'].startswith('Bearer ')


@pytest.mark.parametrize('url', ['http://protectapi.cylance.com/f.zip', 'https://protectapi.cylance.com:8443/f.zip',
                                 'https://protectapi.cylance.com.evil.example/f.zip',
                                 'https://evil.example/protectapi.cylance.com/f.zip',
                                 'https://protectapi.cylance.com@evil.example/f.zip'])
def test_download_token_never_leaves_the_api_server(client, requests_mock, url):
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=package_with(url, 3))
    requests_mock.get(url, content=b'abc')
    cyl.download_package_command(client, {'package_id': PACKAGE_ID})
    assert 'Authorization' not in requests_mock.last_request.headers


def test_download_on_api_host_refreshes_once_on_401(client, requests_mock, runtime):
    token_endpoint(requests_mock)
    url = GET_URL + '/file'
    requests_mock.get(GET_URL, json=package_with(url, 3))
    requests_mock.get(url, [{'status_code': 401}, {'content': b'abc'}])
    _, entry = cyl.download_package_command(client, {'package_id': PACKAGE_ID})
    assert war_room_file(entry) == b'abc' and len(api_calls(requests_mock, '/auth/')) == 2


@pytest.mark.parametrize('body', [b'short', b'x' * 5000, b''])
def test_download_size_mismatch_is_error_and_file_removed(client, requests_mock, tmp_path, body):
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=package_with(STORAGE_URL, 2048))
    requests_mock.get(STORAGE_URL, content=body)
    with pytest.raises(DemistoException, match='Package {} could not be downloaded: .*package size is 2048 bytes'
                                               .format(PACKAGE_ID)):
        cyl.download_package_command(client, {'package_id': PACKAGE_ID})
    assert os.listdir(tmp_path) == []


def test_download_size_as_text_is_checked(client, requests_mock, tmp_path):
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=package_with(STORAGE_URL, '4'))
    requests_mock.get(STORAGE_URL, content=b'abc')
    with pytest.raises(DemistoException, match='package size is 4 bytes'):
        cyl.download_package_command(client, {'package_id': PACKAGE_ID})
    assert os.listdir(tmp_path) == []


class BrokenBody(io.RawIOBase):
    """A body that breaks off after some bytes, as a reset connection does."""

    def __init__(self, good):
        self.good = good

    def readable(self):
        return True

    def readinto(self, buffer):
        if self.good:
            n = min(len(buffer), len(self.good))
            buffer[:n], self.good = self.good[:n], self.good[n:]
            return n
        raise ConnectionResetError('connection reset by peer')


def test_download_broken_off_leaves_no_file(client, requests_mock, tmp_path):
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=package_with(STORAGE_URL, 2048))
    requests_mock.get(STORAGE_URL, body=BrokenBody(b'x' * 1000))
    with pytest.raises(DemistoException, match='broke off after'):
        cyl.download_package_command(client, {'package_id': PACKAGE_ID})
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('status, problem', [(403, 'refused the pre-signed download URL'),
                                             (404, 'not on the storage host'), (410, 'unexpected HTTP status')])
def test_download_storage_errors(client, requests_mock, tmp_path, status, problem):
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=package_with(STORAGE_URL, 3))
    requests_mock.get(STORAGE_URL, status_code=status, text='<Error>AccessDenied</Error>')
    with pytest.raises(DemistoException, match=problem) as info:
        cyl.download_package_command(client, {'package_id': PACKAGE_ID})
    message = info.value.message
    assert 'status {}'.format(status) in message and 'cylance-optics-packages.s3.amazonaws.com' in message
    assert 'scope' not in message and 'X-Amz-Signature' not in message
    assert os.listdir(tmp_path) == []
    assert len(api_calls(requests_mock, 's3.amazonaws.com')) == 1


def test_download_storage_busy_is_retried(requests_mock):
    waits = []
    client = cyl.Client(BASE, APP_ID, SECRET, TENANT, sleep=waits.append)
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=package_with(STORAGE_URL, 3))
    requests_mock.get(STORAGE_URL, [{'status_code': 503, 'headers': {'Retry-After': '5'}}, {'content': b'abc'}])
    _, entry = cyl.download_package_command(client, {'package_id': PACKAGE_ID})
    assert war_room_file(entry) == b'abc' and waits == [5.0]
    assert not any('Authorization' in r.headers for r in api_calls(requests_mock, 's3.amazonaws.com'))


def test_download_network_failure(client, requests_mock, tmp_path):
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=package_with(STORAGE_URL, 3))
    requests_mock.get(STORAGE_URL, exc=requests.exceptions.ReadTimeout)
    with pytest.raises(DemistoException, match='package download failed: ReadTimeout'):
        cyl.download_package_command(client, {'package_id': PACKAGE_ID})
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('file_name, expected', [('../../etc/evil.zip', 'evil.zip'), ('C:\\x\\p?.zip', 'p_.zip'),
                                                 (None, PACKAGE_ID + '.zip')])
def test_download_file_name_is_safe(client, requests_mock, file_name, expected):
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=package_with(STORAGE_URL, 3, file_name))
    requests_mock.get(STORAGE_URL, content=b'abc')
    assert cyl.download_package_command(client, {'package_id': PACKAGE_ID})[1]['File'] == expected


@pytest.mark.parametrize('url', [None, '', 'ftp://host/file', 5])
def test_download_without_url(client, requests_mock, tmp_path, url):
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=package_with(url, 3))
    with pytest.raises(DemistoException, match='has no download URL'):
        cyl.download_package_command(client, {'package_id': PACKAGE_ID})
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------- test-module, main, secrets

PARAMS = {'url': BASE, 'credentials': {'identifier': APP_ID, 'password': SECRET}, 'tenant_id': TENANT,
          'insecure': False, 'proxy': False}


def run_main(monkeypatch, command, args=None, params=None):
    entries = []
    params = params or PARAMS
    monkeypatch.setattr(demisto, 'params', lambda: params)
    monkeypatch.setattr(demisto, 'args', lambda: args or {})
    monkeypatch.setattr(demisto, 'command', lambda: command)
    monkeypatch.setattr(demisto, 'results', lambda r: entries.extend(r if isinstance(r, list) else [r]))
    try:
        cyl.main()
    except SystemExit:
        pass
    return entries


def test_test_module(monkeypatch, requests_mock):
    scopes = []
    token_endpoint(requests_mock, scopes)
    requests_mock.get(LIST_URL, json=load('list_packages_page3.json'))
    assert run_main(monkeypatch, 'test-module') == ['ok']
    assert requests_mock.last_request.qs == {'page': ['1'], 'page_size': ['1']}
    assert scopes == ['opticspkgconfig:list']


@pytest.mark.parametrize('token_status, list_status, problem', [
    (401, None, 'rejected the application credentials'),
    (400, None, 'exp/iat window'),
    (200, 403, 'lacks the opticspkgconfig:list scope'),
    (200, 404, 'API host of your region'),
])
def test_test_module_explains_auth_problems(monkeypatch, requests_mock, token_status, list_status, problem):
    if token_status == 200:
        token_endpoint(requests_mock)
    else:
        requests_mock.post(TOKEN_URL, status_code=token_status, json={'message': 'no'})
    requests_mock.get(LIST_URL, status_code=list_status or 200, json={'message': 'no'})
    entries = run_main(monkeypatch, 'test-module')
    assert len(entries) == 1 and entries[0] != 'ok' and problem in entries[0]


def test_test_module_odd_reply(monkeypatch, requests_mock):
    token_endpoint(requests_mock)
    requests_mock.get(LIST_URL, json={'unexpected': True})
    entries = run_main(monkeypatch, 'test-module')
    assert entries[0]['Type'] == 4 and 'no page_items list' in entries[0]['Contents']


def test_main_runs_commands(monkeypatch, requests_mock):
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=load('get_package.json'))
    entries = run_main(monkeypatch, 'cylance-optics-get-package', {'package_id': PACKAGE_ID})
    assert entries[0]['Type'] == 1 and 'Collect-Autoruns' in entries[0]['HumanReadable']
    requests_mock.get(STORAGE_URL, content=b'x' * 2048)
    entries = run_main(monkeypatch, 'cylance-optics-download-package', {'package_id': PACKAGE_ID})
    assert [e['Type'] for e in entries] == [1, 3]


@pytest.mark.parametrize('where, status', [('token', 400), ('token', 401), ('api', 400), ('api', 401),
                                           ('api', 403), ('api', 404), ('api', 500), ('api', 429)])
def test_errors_have_no_secret_token_or_traceback(monkeypatch, requests_mock, caplog, where, status):
    """The server echoes the secret, the signed auth_token and the access token; none of them may get out."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(time, 'sleep', lambda seconds: None)
    issued, auth_tokens = [], []

    def token_reply(request, context):
        auth_tokens.append(request.json()['auth_token'])
        if where == 'token':
            context.status_code = status
            return {'message': 'bad auth_token {} signed with {}'.format(auth_tokens[-1], SECRET)}
        token = access_token('opticspkgconfig:read')
        issued.append(token)
        return {'access_token': token}

    def api_reply(request, context):
        context.status_code = status
        return {'message': 'token {} (Bearer {}) of {} rejected'.format(issued[-1], issued[-1], TENANT)}
    requests_mock.post(TOKEN_URL, json=token_reply)
    requests_mock.get(GET_URL, json=api_reply)
    entries = run_main(monkeypatch, 'cylance-optics-get-package', {'package_id': PACKAGE_ID})
    text = json.dumps(entries)
    assert len(entries) == 1 and entries[0]['Type'] == 4
    assert 'status {}'.format(status) in entries[0]['Contents'] or 'was not found' in entries[0]['Contents']
    assert 'Traceback' not in text and 'Traceback' not in caplog.text
    assert 'Bearer ' not in text
    for secret in [SECRET, TENANT] + issued + auth_tokens:
        assert secret not in text and secret not in caplog.text


def test_unexpected_failures_name_their_kind(monkeypatch, requests_mock):
    def broken(client, args):
        raise KeyError('boom')
    monkeypatch.setitem(cyl.COMMANDS, 'cylance-optics-get-package', broken)
    entries = run_main(monkeypatch, 'cylance-optics-get-package')
    assert entries[0]['Type'] == 4 and 'KeyError' in entries[0]['Contents']
    assert 'Traceback' not in entries[0]['Contents']


@pytest.mark.parametrize('params, problem', [
    ({'url': BASE, 'credentials': {'identifier': APP_ID}, 'tenant_id': TENANT}, 'are all required'),
    ({'url': BASE, 'credentials': {'identifier': APP_ID, 'password': SECRET}}, 'are all required'),
    ({'url': 'protectapi.cylance.com', 'credentials': {'identifier': APP_ID, 'password': SECRET},
      'tenant_id': TENANT}, 'must start with https://'),
])
def test_bad_params(monkeypatch, requests_mock, params, problem):
    entries = run_main(monkeypatch, 'test-module', params=params)
    assert entries[0]['Type'] == 4 and problem in entries[0]['Contents'] and SECRET not in entries[0]['Contents']
    assert requests_mock.call_count == 0


def test_default_url_and_tenant_as_encrypted_param(monkeypatch, requests_mock):
    token_endpoint(requests_mock)
    requests_mock.get(LIST_URL, json=load('list_packages_page3.json'))
    params = {'credentials': {'identifier': APP_ID, 'password': SECRET}, 'tenant_id': {'password': TENANT}}
    assert run_main(monkeypatch, 'test-module', params=params) == ['ok']
    assert requests_mock.request_history[0].url == TOKEN_URL


def test_unknown_command(monkeypatch, requests_mock):
    entries = run_main(monkeypatch, 'cylance-optics-no-such-command')
    assert entries[0]['Type'] == 4 and 'not implemented' in entries[0]['Contents']


def test_redact():
    token = access_token('x')
    text = 'x Bearer abc.def-ghi y secret1 {} z'.format(token)
    assert cyl.redact(text, ['secret1', None, '']) == 'x <redacted token> y <redacted> <redacted token> z'


def test_parse_retry_after():
    assert cyl.parse_retry_after('7') == 7.0
    assert cyl.parse_retry_after('-3') == 0.0
    assert cyl.parse_retry_after(None) is None and cyl.parse_retry_after('nan') is None
    assert cyl.parse_retry_after('Wed, 21 Oct 2015 07:28:00 GMT', now=1445412470.0) == 10.0
    assert cyl.parse_retry_after('Wed, 21 Oct 2015 07:28:00 GMT') == 0.0  # in the past


def test_results_are_command_results(client, requests_mock):
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=load('get_package.json'))
    assert isinstance(cyl.get_package_command(client, {'package_id': PACKAGE_ID}), CommandResults)
