import json
import logging
import os
import time
import uuid

import jwt
import pytest
import requests

import demistomock as demisto
from CommonServerPython import CommandResults, DemistoException
import CylanceOpticsPackages as cyl

BASE = 'https://protectapi.cylance.com'
APP_ID = 'b1e2c3d4-5f60-4718-9a2b-3c4d5e6f7081'
SECRET = 'unit-test-application-secret-0123456789abcdef'
TENANT = '6d3a1c0e-2b7f-4e59-9a84-3c2d1e0f5a6b'
PACKAGE_ID = 'e378dacb-9324-453a-b8c6-5a8406952195'
HERE = os.path.dirname(os.path.abspath(__file__))


def load(name):
    with open(os.path.join(HERE, 'test_data', name)) as f:
        return json.load(f)


def access_token(scope, life=1800):
    return jwt.encode({'scp': [scope], 'exp': int(time.time()) + life}, 'server-side-signing-key-0123456789abcdef',
                      algorithm='HS256')


@pytest.fixture(autouse=True)
def runtime(tmp_path, monkeypatch):
    """A versioned integration context (as on XSOAR 6+) and the war-room folder as cwd."""
    store = {}
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


def token_endpoint(requests_mock, scopes_seen=None):
    def reply(request, context):
        claims = jwt.decode(request.json()['auth_token'], SECRET, algorithms=['HS256'])
        if scopes_seen is not None:
            scopes_seen.append(claims['scp'])
        return {'access_token': access_token(claims['scp'])}
    return requests_mock.post(BASE + '/auth/v2/token', json=reply)


# ---------------------------------------------------------------- auth

def test_jwt_claims(client):
    claims = jwt.decode(client.make_auth_jwt(cyl.SCOPE_READ), SECRET, algorithms=['HS256'])
    assert claims['iss'] == 'http://cylance.com'
    assert claims['sub'] == APP_ID and claims['tid'] == TENANT
    assert str(uuid.UUID(claims['jti'])) == claims['jti']
    assert claims['scp'] == 'opticspkgconfig:read'
    assert 0 < claims['exp'] - claims['iat'] <= 1800
    assert abs(claims['iat'] - time.time()) < 5


def test_tokens_are_cached_per_scope(client, requests_mock):
    scopes = []
    token_endpoint(requests_mock, scopes)
    requests_mock.get(BASE + '/packages/v2/' + PACKAGE_ID, json=load('get_package.json'))
    requests_mock.get(BASE + '/packages/v2', json=load('list_packages_page3.json'))
    cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    cyl.list_packages_command(client, {})
    assert scopes == ['opticspkgconfig:read', 'opticspkgconfig:list']
    auth = [r.headers['Authorization'] for r in requests_mock.request_history if '/packages/' in r.url]
    assert all(a.startswith('Bearer ') for a in auth)


def test_expired_cached_token_is_renewed(client, requests_mock, runtime):
    runtime['tokens'] = {cyl.SCOPE_READ: {'token': 'old', 'expires': time.time() + 30}}  # inside the margin
    token_endpoint(requests_mock)
    requests_mock.get(BASE + '/packages/v2/' + PACKAGE_ID, json=load('get_package.json'))
    cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    assert requests_mock.request_history[0].url.endswith('/auth/v2/token')
    assert requests_mock.last_request.headers['Authorization'] != 'Bearer old'


def test_401_refreshes_once_then_succeeds(client, requests_mock, runtime):
    runtime['tokens'] = {cyl.SCOPE_READ: {'token': 'revoked', 'expires': time.time() + 1000}}
    token_endpoint(requests_mock)
    requests_mock.get(BASE + '/packages/v2/' + PACKAGE_ID, [{'status_code': 401, 'json': {'message': 'expired'}},
                                                           {'json': load('get_package.json')}])
    result = cyl.get_package_command(client, {'package_id': PACKAGE_ID})[0]
    assert result.outputs['packageId'] == PACKAGE_ID
    assert [r.headers.get('Authorization') for r in requests_mock.request_history if '/packages/' in r.url][0] == \
        'Bearer revoked'


def test_401_after_refresh_is_a_clear_error(client, requests_mock):
    token_endpoint(requests_mock)
    requests_mock.get(BASE + '/packages/v2/' + PACKAGE_ID, status_code=401, json={'message': 'Invalid token'})
    with pytest.raises(DemistoException, match='status 401. Unauthorized - check the application ID'):
        cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    assert len([r for r in requests_mock.request_history if '/auth/' in r.url]) == 2


def test_token_400_exp_window(client, requests_mock):
    requests_mock.post(BASE + '/auth/v2/token', status_code=400, json={'message': 'exp must be within 30 minutes'})
    with pytest.raises(DemistoException, match='JWT exp/iat window'):
        cyl.list_packages_command(client, {})


@pytest.mark.parametrize('reply', [{'json': {'token': 'x'}}, {'text': '<html/>'}])
def test_token_reply_without_access_token(client, requests_mock, reply):
    requests_mock.post(BASE + '/auth/v2/token', **reply)
    with pytest.raises(DemistoException, match='no access_token'):
        cyl.list_packages_command(client, {})


# ---------------------------------------------------------------- get package

def test_get_package(client, requests_mock):
    token_endpoint(requests_mock)
    requests_mock.get(BASE + '/packages/v2/' + PACKAGE_ID, json=load('get_package.json'))
    result = cyl.get_package_command(client, {'package_id': PACKAGE_ID.upper()})[0]
    context = result.to_context()['EntryContext']['CylanceOptics.Package(val.packageId && val.packageId == '
                                                  'obj.packageId)']
    assert context == load('get_package.json')
    readable = result.readable_output
    for text in ('Collect-Autoruns', '1.2.0', 'success', '2048', 'ir.lead@example.com', '2026-03-14T09:15:00Z',
                 'main.py', 'python', 'Collect-Autoruns --all', '### Examples'):
        assert text in readable


@pytest.mark.parametrize('bad', ['', 'abc', '1234', 'e378dacb-9324-453a-b8c6'])
def test_package_id_validated_before_any_request(client, requests_mock, bad):
    with pytest.raises(DemistoException, match='package_id must be a package UUID'):
        cyl.get_package_command(client, {'package_id': bad})
    assert requests_mock.call_count == 0


def test_404_says_not_found(client, requests_mock):
    token_endpoint(requests_mock)
    requests_mock.get(BASE + '/packages/v2/' + PACKAGE_ID, status_code=404, json={'message': 'Package not found'})
    with pytest.raises(DemistoException, match='Package {} was not found'.format(PACKAGE_ID)):
        cyl.get_package_command(client, {'package_id': PACKAGE_ID})


def test_403_names_the_scope(client, requests_mock):
    token_endpoint(requests_mock)
    requests_mock.get(BASE + '/packages/v2', status_code=403, json={'message': 'Forbidden'})
    with pytest.raises(DemistoException, match='lacks the opticspkgconfig:list scope'):
        cyl.list_packages_command(client, {})


@pytest.mark.parametrize('status', [429, 500, 502, 503, 504])
def test_retries_bounded_with_retry_after(requests_mock, status):
    waits = []
    client = cyl.Client(BASE, APP_ID, SECRET, TENANT, sleep=waits.append)
    token_endpoint(requests_mock)
    requests_mock.get(BASE + '/packages/v2/' + PACKAGE_ID, [
        {'status_code': status, 'headers': {'Retry-After': '4'}, 'json': {}}, {'status_code': status, 'text': ''},
        {'json': load('get_package.json')}])
    cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    assert waits == [4.0, 2]
    requests_mock.get(BASE + '/packages/v2/' + PACKAGE_ID, status_code=status, json={})
    with pytest.raises(DemistoException, match='Gave up after 4 attempts'):
        cyl.get_package_command(client, {'package_id': PACKAGE_ID})


@pytest.mark.parametrize('kwargs, problem', [
    ({'text': 'not json'}, 'not JSON'),
    ({'json': {'oops': 1}}, 'no package with a packageId'),
    ({'json': ['x']}, 'no package with a packageId'),
])
def test_odd_package_bodies(client, requests_mock, kwargs, problem):
    token_endpoint(requests_mock)
    requests_mock.get(BASE + '/packages/v2/' + PACKAGE_ID, **kwargs)
    with pytest.raises(DemistoException, match=problem):
        cyl.get_package_command(client, {'package_id': PACKAGE_ID})


def test_timeout_is_clear(client, requests_mock):
    token_endpoint(requests_mock)
    requests_mock.get(BASE + '/packages/v2/' + PACKAGE_ID, exc=requests.exceptions.ReadTimeout)
    with pytest.raises(DemistoException, match='no reply in time'):
        cyl.get_package_command(client, {'package_id': PACKAGE_ID})


# ---------------------------------------------------------------- list

def test_list_one_page_with_query(client, requests_mock):
    token_endpoint(requests_mock)
    requests_mock.get(BASE + '/packages/v2', json=load('list_packages_page1.json'))
    result = cyl.list_packages_command(client, {'page': '1', 'page_size': '2', 'sort': '-uploadedOn',
                                                'category': 'custom'})
    assert requests_mock.last_request.qs == {'page': ['1'], 'page_size': ['2'], 'sort': ['-uploadedon'],
                                             'category': ['custom']}
    assert len(result.outputs) == 2 and '(2 of 5)' in result.readable_output


def test_list_limit_pages_through(client, requests_mock):
    token_endpoint(requests_mock)
    requests_mock.get(BASE + '/packages/v2', [{'json': load('list_packages_page{}.json'.format(i))} for i in (1, 2, 3)])
    result = cyl.list_packages_command(client, {'page_size': '2', 'limit': '4'})
    assert [p['packageDescriptor']['name'] for p in result.outputs] == ['Pkg-1', 'Pkg-2', 'Pkg-3', 'Pkg-4']
    assert len([r for r in requests_mock.request_history if '/packages/' in r.url]) == 2
    result = cyl.list_packages_command(client, {'page_size': '2', 'limit': '50'})  # stops at the last page


@pytest.mark.parametrize('args, problem', [({'page_size': '500'}, 'page_size between'), ({'limit': '0'}, 'limit'),
                                           ({'category': 'other'}, 'custom or cylance'), ({'page': 'x'}, 'page')])
def test_list_bad_arguments(client, requests_mock, args, problem):
    with pytest.raises((DemistoException, ValueError), match=problem):
        cyl.list_packages_command(client, args)
    assert requests_mock.call_count == 0


def test_list_without_page_items(client, requests_mock):
    token_endpoint(requests_mock)
    requests_mock.get(BASE + '/packages/v2', json={'items': []})
    with pytest.raises(DemistoException, match='no page_items'):
        cyl.list_packages_command(client, {})


# ---------------------------------------------------------------- download

def package_with(url, size):
    package = load('get_package.json')
    package['downloadUrl'], package['size'] = url, size
    return package


def test_download_streams_file_without_token_to_storage_host(client, requests_mock, tmp_path):
    token_endpoint(requests_mock)
    payload = os.urandom(2048)
    url = load('get_package.json')['downloadUrl']
    requests_mock.get(BASE + '/packages/v2/' + PACKAGE_ID, json=package_with(url, len(payload)))
    requests_mock.get(url, content=payload)
    results = cyl.download_package_command(client, {'package_id': PACKAGE_ID})
    entry = results[1]
    assert entry['Type'] == 3 and entry['File'] == 'collect-autoruns-1.2.0.zip'
    with open('1_' + entry['FileID'], 'rb') as f:
        assert f.read() == payload
    assert 'Authorization' not in requests_mock.last_request.headers
    assert results[0].outputs['downloadedSize'] == 2048


def test_download_from_the_api_host_may_carry_the_token(client, requests_mock):
    token_endpoint(requests_mock)
    url = BASE + '/packages/v2/' + PACKAGE_ID + '/file'
    requests_mock.get(BASE + '/packages/v2/' + PACKAGE_ID, json=package_with(url, 3))
    requests_mock.get(url, content=b'abc')
    cyl.download_package_command(client, {'package_id': PACKAGE_ID})
    assert requests_mock.last_request.headers['Authorization'].startswith('Bearer ')


@pytest.mark.parametrize('body', [b'short', b'x' * 5000])
def test_download_size_mismatch_is_error_and_file_removed(client, requests_mock, tmp_path, body):
    token_endpoint(requests_mock)
    url = load('get_package.json')['downloadUrl']
    requests_mock.get(BASE + '/packages/v2/' + PACKAGE_ID, json=package_with(url, 2048))
    requests_mock.get(url, content=body)
    with pytest.raises(DemistoException, match='size'):
        cyl.download_package_command(client, {'package_id': PACKAGE_ID})
    assert os.listdir(tmp_path) == []


def test_download_without_url(client, requests_mock):
    token_endpoint(requests_mock)
    package = load('get_package.json')
    package['downloadUrl'] = None
    requests_mock.get(BASE + '/packages/v2/' + PACKAGE_ID, json=package)
    with pytest.raises(DemistoException, match='has no download URL'):
        cyl.download_package_command(client, {'package_id': PACKAGE_ID})


# ---------------------------------------------------------------- test-module, main, secrets

def run_main(monkeypatch, command, args=None, params=None):
    entries = []
    params = params or {'url': BASE, 'credentials': {'identifier': APP_ID, 'password': SECRET}, 'tenant_id': TENANT}
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
    token_endpoint(requests_mock)
    requests_mock.get(BASE + '/packages/v2', json=load('list_packages_page3.json'))
    assert run_main(monkeypatch, 'test-module') == ['ok']
    assert requests_mock.last_request.qs == {'page': ['1'], 'page_size': ['1']}


@pytest.mark.parametrize('status', [400, 401, 403, 404, 500])
def test_errors_have_no_secret_token_or_traceback(monkeypatch, requests_mock, caplog, status):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(time, 'sleep', lambda seconds: None)
    tokens = []

    def reply(request, context):
        token = access_token('opticspkgconfig:read')
        tokens.append(token)
        return {'access_token': token}
    requests_mock.post(BASE + '/auth/v2/token', json=reply)
    requests_mock.get(BASE + '/packages/v2/' + PACKAGE_ID, status_code=status,
                      json={'message': 'failed with Bearer {}'.format('leaky')})
    entries = run_main(monkeypatch, 'cylance-optics-get-package', {'package_id': PACKAGE_ID})
    text = json.dumps(entries)
    assert entries[-1]['Type'] == 4
    assert 'Traceback' not in text
    for secret in [SECRET] + tokens:
        assert secret not in text and secret not in caplog.text


def test_bad_params(monkeypatch, requests_mock):
    entries = run_main(monkeypatch, 'test-module', params={'url': BASE, 'credentials': {'identifier': APP_ID}})
    assert 'are all required' in entries[0]['Contents']
    assert requests_mock.call_count == 0


def test_redact():
    assert cyl.redact('x Bearer abc.def-ghi y secret1', ['secret1']) == 'x Bearer <redacted> y <redacted>'


def test_results_are_command_results(client, requests_mock):
    token_endpoint(requests_mock)
    requests_mock.get(BASE + '/packages/v2/' + PACKAGE_ID, json=load('get_package.json'))
    assert isinstance(cyl.get_package_command(client, {'package_id': PACKAGE_ID})[0], CommandResults)
