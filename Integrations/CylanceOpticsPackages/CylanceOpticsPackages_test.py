"""Unit tests of Cylance Optics - Packages, in the order of the code: shared helpers, plumbing, client, then one
block per command, then main().

Where the other tests of a command are: end to end on the emulator in tests/e2e/test_cylance_e2e.py (tests named
after the command, `pytest -k cylance_optics_run_package`), under every API fault in tests/e2e/test_fault_matrix.py
and against fuzzed replies in tests/fuzz (ids carry the command name, `pytest -k cylance-optics-run-package`), and
against a hostile server in tests/hostile; the shared layer's own tests are beside its source in ApiModules/."""
import email.utils
import hashlib
import io
import json
import logging
import os
import re
import time
import uuid
import zipfile

import jwt
import pytest
import requests

import CommonServerPython
import demistomock as demisto
from CommonServerPython import CommandResults, DemistoException, EntryType
import CylanceOpticsPackages as cyl
from tests.fakes import FakeTime, run_entry_point

BASE = 'https://protectapi.cylance.com'
APP_ID = 'b1e2c3d4-5f60-4718-9a2b-3c4d5e6f7081'
SECRET = 'unit-test-application-secret-0123456789abcdef'
TENANT = '6d3a1c0e-2b7f-4e59-9a84-3c2d1e0f5a6b'
PACKAGE_ID = 'e378dacb-9324-453a-b8c6-5a8406952195'
NEW_PACKAGE_ID = '7c9e6679-7425-40de-944b-e07fc1f90ae7'
EXECUTION_ID = 'abebf88c-f283-4edc-834b-aa8ad3bc682c'
DEVICE = 'E378DACB9324453AB8C65A8406952195'
FAILING_DEVICE = 'DEADBEEF9324453AB8C65A8406952196'
GET_URL = BASE + '/packages/v2/' + PACKAGE_ID
LIST_URL = BASE + '/packages/v2'
TOKEN_URL = BASE + '/auth/v2/token'
EXECUTIONS_URL = BASE + '/packages/v2/executions'
EXECUTION_URL = EXECUTIONS_URL + '/' + EXECUTION_ID
SERVER_KEY = 'server-side-signing-key-0123456789abcdef'
HERE = os.path.dirname(os.path.abspath(__file__))
PARAMS = {'url': BASE, 'credentials': {'identifier': APP_ID, 'password': SECRET}, 'tenant_id': TENANT,
          'insecure': False, 'proxy': False}


def load(name):
    with open(os.path.join(HERE, 'test_data', name)) as f:
        return json.load(f)


def access_token(scope, life=1800):
    token = jwt.encode({'scp': [scope], 'exp': int(time.time()) + life, 'jti': str(uuid.uuid4())}, SERVER_KEY,
                       algorithm='HS256')
    return token.decode() if isinstance(token, bytes) else token


def replace_contents(target, new):
    target.clear()
    target.update(new)


def forget_server_version(monkeypatch):
    """The real CommonServerPython caches demistoVersion() on first use; each test sets its own."""
    cache = getattr(CommonServerPython, 'get_demisto_version', None)
    if hasattr(cache, '_version'):
        monkeypatch.setattr(cache, '_version', None)


@pytest.fixture(autouse=True)
def runtime(tmp_path, monkeypatch):
    """A versioned integration context (as on XSOAR 6+) and the war-room folder as cwd."""
    store: dict = {}
    forget_server_version(monkeypatch)
    monkeypatch.setattr(demisto, 'demistoVersion', lambda: {'version': '8.9.0', 'buildNumber': '1'})
    monkeypatch.setattr(demisto, 'getIntegrationContextVersioned', lambda *a, **k: {'context': dict(store),
                                                                                    'version': 1})
    monkeypatch.setattr(demisto, 'setIntegrationContextVersioned',
                        lambda ctx, *a, **k: replace_contents(store, ctx))
    monkeypatch.chdir(tmp_path)
    return store


def make_client(waits=None, **params):
    fake = FakeTime(waits)
    return cyl.Client(cyl.InstanceParams(dict(PARAMS, **params)), sleep=fake.sleep, clock=fake.clock)


@pytest.fixture
def client():
    return make_client()


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


def context_of(result, prefix):
    """The context a CommandResults writes under prefix (whatever its key selector)."""
    context = result.to_context()['EntryContext']
    return next(value for key, value in context.items() if key.split('(')[0] == prefix)


def schedule_of(result):
    """(command, args, next run) a polling reply asks the server for, or None."""
    if not isinstance(result, CommandResults) or result.scheduled_command is None:
        return None
    entry = result.to_context()
    return entry['PollingCommand'], entry['PollingArgs'], int(entry['NextRun'])


# ---------------------------------------------------------------- shared helpers

def test_parse_retry_after():
    """Given Retry-After values in both documented forms and odd ones
    When they are parsed
    Then seconds are returned for numbers and dates, None for the unreadable, never a negative wait."""
    assert cyl.parse_retry_after('7') == 7.0
    assert cyl.parse_retry_after('-3') == 0.0
    assert cyl.parse_retry_after(None) is None and cyl.parse_retry_after('soon') is None
    assert cyl.parse_retry_after('Wed, 21 Oct 2015 07:28:00 GMT', now=1445412470.0) == 10.0
    assert cyl.parse_retry_after('Wed, 21 Oct 2015 07:28:00 GMT') == 0.0  # in the past


def test_retry_gate_bounds_the_waiting():
    """Given a gate with the default budget
    When backoffs are asked for
    Then Retry-After or 1, 2, 4 s are slept until the budget would be exceeded, then RateLimited says when to
    try again."""
    waits: list[float] = []
    gate = cyl.RetryGate('Cylance', sleep=waits.append, clock=lambda: 0.0)
    gate.backoff(0, 5.0)
    gate.backoff(1, None)
    assert waits == [5.0, 2.0]
    with pytest.raises(cyl.RateLimited, match='Cylance is rate limiting or temporarily unavailable; try again in 60 s'):
        gate.backoff(2, 60.0)


@pytest.mark.parametrize('args, expected', [({'a': ' x '}, 'x'), ({'a': ['x']}, 'x'), ({'a': 5}, '5'), ({}, ''),
                                            ({'a': [None, ' ']}, ''), ({'a': None}, '')])
def test_single_arg(args, expected):
    """Given a text argument as a playbook may pass it (text, number, one-item list, nothing)
    When it is read
    Then one stripped text value is returned."""
    assert cyl.single_arg(args, 'a') == expected


def test_single_arg_refuses_several_values():
    """Given a two-item list or an object for a one-value argument
    When it is read
    Then the error names the argument."""
    with pytest.raises(DemistoException, match='a takes one value, got 2'):
        cyl.single_arg({'a': ['x', 'y']}, 'a')
    with pytest.raises(DemistoException, match='a takes one value, got an object'):
        cyl.single_arg({'a': {'b': 1}}, 'a')


@pytest.mark.parametrize('name, expected', [('../../etc/evil.zip', 'evil.zip'), ('C:\\x\\p?.zip', 'p_.zip'),
                                            (None, 'file'), (['a.py'], 'a.py'), (['a', 'b'], 'file'), (5, '5'),
                                            (' .. ', 'file')])
def test_safe_file_name(name, expected):
    """Given file names with folders, odd characters, lists or numbers
    When they are made safe
    Then only a plain file name (or the default) remains."""
    assert cyl.safe_file_name(name) == expected


def test_war_room_file_helpers(tmp_path):
    """Given a new war-room file path
    When content is written there and removed again
    Then the entry points at it and remove_quietly tolerates a missing file."""
    file_id, path = cyl.new_war_room_file_path()
    assert path == '{}_{}'.format(demisto.investigation()['id'], file_id)
    with open(path, 'wb') as f:
        f.write(b'x')
    assert cyl.file_entry('a.zip', file_id) == {'Contents': '', 'ContentsFormat': 'text', 'Type': 3, 'File': 'a.zip',
                                                'FileID': file_id}
    cyl.remove_quietly(path)
    cyl.remove_quietly(path)
    cyl.remove_quietly(None)
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------- plumbing: arguments, messages, redaction, params

@pytest.mark.parametrize('value, expected', [('3', 3), (3, 3), (['3'], 3), ('3.0', 3), (None, 7)])
def test_number_arg(value, expected):
    """Given a number as text, number, one-item list or nothing
    When it is read with default 7
    Then the whole number is returned."""
    assert cyl.number_arg({'n': value}, 'n', 7) == expected


@pytest.mark.parametrize('value, problem', [('x', 'whole number'), ('2.5', 'whole number'),
                                            ('0', 'n must be between 1 and 10'),
                                            ('11', 'between 1 and 10')])
def test_number_arg_errors(value, problem):
    """Given a value that is not a whole number in range
    When it is read
    Then the error names the argument and the rule."""
    with pytest.raises(DemistoException, match=problem):
        cyl.number_arg({'n': value}, 'n', 1, maximum=10)


def test_bool_and_list_args():
    """Given booleans and lists in the forms playbooks pass
    When they are read
    Then they are normalised, de-duplicated, and a bad boolean is a clear error."""
    assert cyl.bool_arg({'b': ['yes']}, 'b', False) is True and cyl.bool_arg({}, 'b', True) is True
    with pytest.raises(DemistoException, match='b must be true or false'):
        cyl.bool_arg({'b': 'maybe'}, 'b', False)
    assert cyl.list_arg({'l': 'a, b,a,,'}, 'l') == ['a', 'b']
    assert cyl.list_arg({'l': 12}, 'l') == ['12'] and cyl.list_arg({'l': ['x', 3]}, 'l') == ['x', '3']
    assert cyl.list_arg({'l': '["-a 1,2", "-b"]'}, 'l') == ['-a 1,2', '-b']


@pytest.mark.parametrize('bad', ['', None, 'abc', '1234', 'e378dacb-9324-453a-b8c6', PACKAGE_ID + 'x',
                                 '../' + PACKAGE_ID, [PACKAGE_ID, PACKAGE_ID]])
def test_package_id_validation(bad):
    """Given values that are not one package UUID
    When they are validated
    Then the error says what a package id looks like."""
    with pytest.raises(DemistoException, match='package_id'):
        cyl.validate_package_id(bad)


def test_package_id_forms():
    """Given a package id upper case, padded, in a one-item list
    When it is validated
    Then the canonical form is returned."""
    assert cyl.validate_package_id([' ' + PACKAGE_ID.upper() + ' ']) == PACKAGE_ID
    assert cyl.validate_execution_id(EXECUTION_ID.replace('-', '')) == EXECUTION_ID


@pytest.mark.parametrize('error, words', [
    (KeyError('packageId'), 'an unexpected internal error occurred while processing the reply'),
    (TypeError('unsupported operand type(s) for +: NoneType and int'), 'while processing the reply'),
    (OSError(28, 'No space left on device'), 'a file could not be written or read'),
    (RuntimeError('x'), 'an unexpected internal error occurred.'),
    (requests.exceptions.ChunkedEncodingError('x'), 'the connection to the server failed'),
])
def test_describe_failure(error, words):
    """Given failures we did not raise ourselves
    When they are described for a user
    Then the words say what kind of failure it was, without a Python type name."""
    text = cyl.describe_failure(error)
    assert words in text
    assert type(error).__name__ not in text and 'NoneType' not in text


def test_redact():
    """Given text with a secret, a bearer token and a JWT
    When it is redacted
    Then none of them remains."""
    token = access_token('x')
    text = f'x Bearer abc.def-ghi-jkl y secret1 {token} z'
    redacted = cyl.redact(text, ['secret1', '', 'abc'])
    assert redacted == 'x Bearer <redacted> y <redacted> <redacted> z'


def test_token_expiry():
    """Given a JWT access token and an opaque one
    When their expiry is read
    Then the exp claim is used, else the documented 30 minutes."""
    exp = int(time.time()) + 600
    token = jwt.encode({'exp': exp}, 'k' * 32, algorithm='HS256')
    assert cyl.token_expiry(token.decode() if isinstance(token, bytes) else token) == exp
    assert abs(cyl.token_expiry('opaque-token') - (time.time() + 1800)) < 5


@pytest.mark.parametrize('params, problem', [
    ({'url': BASE, 'credentials': {'identifier': APP_ID}, 'tenant_id': TENANT}, 'are all required'),
    ({'url': BASE, 'credentials': {'identifier': APP_ID, 'password': SECRET}}, 'are all required'),
    ({'url': 'protectapi.cylance.com', 'credentials': {'identifier': APP_ID, 'password': SECRET},
      'tenant_id': TENANT}, 'must start with https://'),
    (dict(PARAMS, timeout='soon'), 'timeout must be a whole number'),
])
def test_bad_params(params, problem):
    """Given incomplete or malformed instance parameters
    When they are parsed
    Then the error says what is wrong."""
    with pytest.raises(DemistoException, match=problem):
        cyl.InstanceParams(params)


def test_params_defaults_and_forms():
    """Given parameters without URL, with the tenant as an encrypted field and booleans as text
    When they are parsed
    Then the default URL, the tenant and the flags are read."""
    params = cyl.InstanceParams({'credentials': {'identifier': APP_ID, 'password': SECRET},
                                 'tenant_id': {'password': TENANT}, 'insecure': 'true', 'timeout': '30'})
    assert (params.url, params.tenant_id, params.verify, params.proxy, params.timeout) == (
        cyl.DEFAULT_URL, TENANT, False, False, 30)
    assert params.secrets() == [SECRET, TENANT]


# ---------------------------------------------------------------- client: auth, token cache, refresh

def test_jwt_claims(client):
    """Given the client
    When it signs an auth JWT for a scope
    Then the claims are the documented ones, signed HS256 with the secret, with a fresh jti."""
    token = client.make_auth_jwt(cyl.SCOPE_PACKAGE_READ)
    assert jwt.get_unverified_header(token)['alg'] == 'HS256'
    claims = jwt.decode(token, SECRET, algorithms=['HS256'])
    assert claims['iss'] == 'http://cylance.com'
    assert claims['sub'] == APP_ID and claims['tid'] == TENANT
    assert uuid.UUID(claims['jti']).version == 4
    assert claims['scp'] == 'opticspkgconfig:read'
    assert 0 < claims['exp'] - claims['iat'] <= 1800
    assert abs(claims['iat'] - time.time()) < 5
    assert jwt.decode(client.make_auth_jwt(cyl.SCOPE_PACKAGE_READ), SECRET, algorithms=['HS256'])['jti'] != \
        claims['jti']


def test_token_request_body(client, requests_mock):
    """Given a command that lists packages
    When the token is requested
    Then the request is a POST with only auth_token, no Authorization, and the JWT asks for the list scope."""
    token_endpoint(requests_mock)
    requests_mock.get(LIST_URL, json=load('list_packages_page3.json'))
    cyl.list_packages_command(client, {})
    token_request = api_calls(requests_mock, '/auth/v2/token')[0]
    assert token_request.method == 'POST' and list(token_request.json()) == ['auth_token']
    assert 'Authorization' not in token_request.headers
    assert jwt.decode(token_request.json()['auth_token'], SECRET, algorithms=['HS256'])['scp'] == \
        'opticspkgconfig:list'


def cached_tokens_of(runtime, client=None):
    """The token cache of the credentials the client uses (the cache is keyed by their fingerprint)."""
    return runtime['tokens'][(client or make_client())._params.credentials_key()]


def seed_tokens(runtime, tokens, client=None):
    runtime['tokens'] = {(client or make_client())._params.credentials_key(): tokens}


def test_tokens_are_cached_per_scope(client, requests_mock, runtime):
    """Given commands with two scopes run in turn, then by a new client
    When tokens are needed
    Then one token per scope is requested and reused from the integration context."""
    scopes: list[str] = []
    issued: list[str] = []
    token_endpoint(requests_mock, scopes, issued)
    requests_mock.get(GET_URL, json=load('get_package.json'))
    requests_mock.get(LIST_URL, json=load('list_packages_page3.json'))
    cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    assert scopes == ['opticspkgconfig:read']
    cyl.list_packages_command(client, {})
    assert scopes == ['opticspkgconfig:read', 'opticspkgconfig:list']
    sent = [r.headers['Authorization'] for r in api_calls(requests_mock)]
    assert sent == ['Bearer ' + issued[0]] * 2 + ['Bearer ' + issued[1]]
    assert set(cached_tokens_of(runtime)) == {cyl.SCOPE_PACKAGE_READ, cyl.SCOPE_PACKAGE_LIST}
    cyl.get_package_command(make_client(), {'package_id': PACKAGE_ID})
    assert len(scopes) == 2 and requests_mock.last_request.headers['Authorization'] == 'Bearer ' + issued[0]


def test_cached_token_expiry_follows_the_token(client, requests_mock, runtime):
    """Given a token that is a JWT
    When it is cached
    Then its expiry is its exp claim."""
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=load('get_package.json'))
    cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    cached = cached_tokens_of(runtime)[cyl.SCOPE_PACKAGE_READ]
    assert cached['expires'] == jwt.decode(cached['token'], options={'verify_signature': False})['exp']


def test_expired_cached_token_is_renewed(client, requests_mock, runtime):
    """Given a cached token inside the refresh margin
    When a command runs
    Then a new token is requested first and used."""
    seed_tokens(runtime, {cyl.SCOPE_PACKAGE_READ: {'token': 'old', 'expires': time.time() + 30}})
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=load('get_package.json'))
    cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    assert requests_mock.request_history[0].url == TOKEN_URL
    assert requests_mock.last_request.headers['Authorization'] != 'Bearer old'


@pytest.mark.parametrize('cached', [{'token': 'x'}, {'expires': time.time() + 999}, 'junk', {'token': 5,
                                                                                           'expires': 'soon'}])
def test_odd_cache_entries_are_replaced(client, requests_mock, runtime, cached):
    """Given a malformed token cache entry
    When a command runs
    Then a new token is requested instead of failing."""
    seed_tokens(runtime, {cyl.SCOPE_PACKAGE_READ: cached})
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=load('get_package.json'))
    cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    assert len(api_calls(requests_mock, '/auth/')) == 1


def test_context_without_versioning(client, requests_mock, monkeypatch):
    """Given server 5.5 (the real demistomock's default), which has only the plain integration context
    When two commands run
    Then the token is cached there and requested once."""
    plain: dict = {}
    forget_server_version(monkeypatch)
    monkeypatch.setattr(demisto, 'demistoVersion', lambda: {'version': '5.5.0', 'buildNumber': '12345'})
    monkeypatch.setattr(demisto, 'getIntegrationContext', lambda: dict(plain))
    monkeypatch.setattr(demisto, 'setIntegrationContext', lambda ctx: replace_contents(plain, ctx))

    def versioned(*a, **k):
        raise AssertionError('versioned context used on server 5.5')
    monkeypatch.setattr(demisto, 'getIntegrationContextVersioned', versioned)
    monkeypatch.setattr(demisto, 'setIntegrationContextVersioned', versioned)
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=load('get_package.json'))
    cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    assert list(plain['tokens'][client._params.credentials_key()]) == [cyl.SCOPE_PACKAGE_READ]
    assert len(api_calls(requests_mock, '/auth/')) == 1


def test_401_refreshes_once_then_succeeds(client, requests_mock, runtime):
    """Given a cached token the API has revoked
    When a command runs
    Then one new token is requested and the call succeeds with it."""
    seed_tokens(runtime, {cyl.SCOPE_PACKAGE_READ: {'token': 'revoked', 'expires': time.time() + 1000}})
    issued: list[str] = []
    token_endpoint(requests_mock, issued=issued)
    requests_mock.get(GET_URL, [{'status_code': 401, 'json': {'message': 'expired'}},
                                {'json': load('get_package.json')}])
    result = cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    assert result.outputs['packageId'] == PACKAGE_ID
    assert [r.headers['Authorization'] for r in api_calls(requests_mock)] == ['Bearer revoked', 'Bearer ' + issued[0]]
    assert cached_tokens_of(runtime)[cyl.SCOPE_PACKAGE_READ]['token'] == issued[0]


def test_401_after_refresh_is_a_clear_error(client, requests_mock):
    """Given an API that refuses every token
    When a command runs
    Then exactly one refresh happens and the error explains the 401."""
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, status_code=401, json={'message': 'Invalid token'})
    with pytest.raises(cyl.HTTPStatusError, match='status 401. Unauthorized - the access token was rejected') as info:
        cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    assert info.value.status == 401 and 'Server message: Invalid token' in info.value.message
    assert len(api_calls(requests_mock, '/auth/')) == 2 and len(api_calls(requests_mock)) == 2


def test_token_401_bad_credentials(client, requests_mock):
    """Given a token endpoint refusing the JWT
    When a command runs
    Then the error blames the credentials, with no refresh loop."""
    requests_mock.post(TOKEN_URL, status_code=401, json={'message': 'Invalid signature'})
    with pytest.raises(cyl.HTTPStatusError, match='rejected the application credentials'):
        cyl.list_packages_command(client, {})
    assert requests_mock.call_count == 1


def test_token_400_exp_window(client, requests_mock):
    """Given a token endpoint answering 400
    When a command runs
    Then the error explains the exp/iat window and quotes the server."""
    requests_mock.post(TOKEN_URL, status_code=400, json={'message': 'exp must be within 30 minutes'})
    with pytest.raises(cyl.HTTPStatusError, match='exp/iat window') as info:
        cyl.list_packages_command(client, {})
    assert 'auth/v2/token failed with status 400' in info.value.message
    assert 'Server message: exp must be within 30 minutes' in info.value.message


@pytest.mark.parametrize('reply', [{'json': {'token': 'x'}}, {'text': '<html/>'}, {'json': ['x']},
                                   {'json': {'access_token': 12}}, {'json': {'access_token': ''}}])
def test_token_reply_without_access_token(client, requests_mock, reply):
    """Given token replies without a usable access_token
    When a command runs
    Then the error says so."""
    requests_mock.post(TOKEN_URL, **reply)
    with pytest.raises(DemistoException, match='auth/v2/token returned no access_token'):
        cyl.list_packages_command(client, {})


# ---------------------------------------------------------------- client: statuses, retries, network

@pytest.mark.parametrize('command, args, method, url, scope', [
    (cyl.list_packages_command, {}, 'GET', LIST_URL, 'opticspkgconfig:list'),
    (cyl.get_package_command, {'package_id': PACKAGE_ID}, 'GET', GET_URL, 'opticspkgconfig:read'),
    (cyl.get_execution_command, {'execution_id': EXECUTION_ID}, 'GET', EXECUTION_URL, 'opticspkgdeploy:read'),
    (cyl.list_executions_command, {}, 'GET', EXECUTIONS_URL, 'opticspkgdeploy:list'),
    (cyl.delete_execution_command, {'execution_id': EXECUTION_ID}, 'DELETE', EXECUTION_URL, 'opticspkgdeploy:delete'),
])
def test_403_names_the_scope(client, requests_mock, command, args, method, url, scope):
    """Given an application without the scope a command needs
    When the command runs
    Then the token was asked for exactly that scope and the error names it, without retry or refresh."""
    scopes: list[str] = []
    token_endpoint(requests_mock, scopes)
    requests_mock.register_uri(method, url, status_code=403, json={'message': 'Forbidden'})
    with pytest.raises(DemistoException, match=f'The application lacks the {scope} scope'):
        command(client, args)
    assert scopes == [scope] and len(api_calls(requests_mock)) == 1


def test_400_on_an_api_call(client, requests_mock):
    """Given an API call answering 400
    When the command runs
    Then the error names the endpoint and quotes the server."""
    token_endpoint(requests_mock)
    requests_mock.get(LIST_URL, status_code=400, json={'message': 'page_size must be <= 200'})
    with pytest.raises(DemistoException, match='packages/v2 failed with status 400. Bad request.*page_size'):
        cyl.list_packages_command(client, {})


@pytest.mark.parametrize('status', [429, 502, 503, 504])
def test_retries_bounded_with_retry_after(requests_mock, status):
    """Given an API answering a retryable status
    When a command runs
    Then Retry-After or backoff is honoured and the command gives up after 4 attempts."""
    waits: list[float] = []
    client = make_client(waits)
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, [{'status_code': status, 'headers': {'Retry-After': '4'}, 'json': {}},
                                {'status_code': status, 'text': ''}, {'json': load('get_package.json')}])
    cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    assert waits == [4.0, 2.0]
    waits.clear()
    requests_mock.get(GET_URL, status_code=status, json={})
    with pytest.raises(DemistoException, match=f'status {status}.*Gave up after 4 attempts'):
        cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    assert waits == [1.0, 2.0, 4.0] and len(api_calls(requests_mock)) == 3 + 4


def test_server_error_is_not_retried(client, requests_mock):
    """Given an API answering 500
    When a command runs
    Then it fails at once with the status."""
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, status_code=500, json={'message': 'boom'})
    with pytest.raises(DemistoException, match='status 500. Cylance server error. Server message: boom'):
        cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    assert len(api_calls(requests_mock)) == 1


def test_long_retry_after_is_not_slept_and_dates_are_read(requests_mock):
    """Given Retry-After as an HTTP date 10 s ahead, then one of an hour
    When the calls are retried
    Then the date is honoured, and the hour is not waited: the error says when to try again."""
    waits: list[float] = []
    client = make_client(waits)
    token_endpoint(requests_mock)
    in_10s = email.utils.formatdate(time.time() + 10, usegmt=True)
    requests_mock.get(LIST_URL, [{'status_code': 503, 'headers': {'Retry-After': in_10s}},
                                 {'status_code': 429, 'headers': {'Retry-After': '3600'}}])
    with pytest.raises(cyl.RateLimited, match='try again in 3600 s'):
        cyl.list_packages_command(client, {})
    assert len(waits) == 1 and 5 <= waits[0] <= 10


def test_token_endpoint_is_retried_too(requests_mock):
    """Given a busy token endpoint
    When a command runs
    Then the token request is retried after Retry-After."""
    waits: list[float] = []
    client = make_client(waits)
    requests_mock.post(TOKEN_URL, [{'status_code': 503, 'headers': {'Retry-After': '2'}},
                                   {'json': {'access_token': access_token('x')}}])
    requests_mock.get(LIST_URL, json=load('list_packages_page3.json'))
    cyl.list_packages_command(client, {})
    assert waits == [2.0]


@pytest.mark.parametrize('exc, problem', [
    (requests.exceptions.ReadTimeout, 'no reply in time'),
    (requests.exceptions.ConnectTimeout, 'no connection in time'),
    (requests.exceptions.ConnectionError, 'could not be reached'),
    (requests.exceptions.SSLError, 'Trust any certificate'),
])
def test_network_failures_are_clear(client, requests_mock, exc, problem):
    """Given a request that gets no HTTP answer
    When the command runs
    Then the error says why in words, naming the endpoint and no exception type."""
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, exc=exc)
    with pytest.raises(DemistoException, match=problem) as info:
        cyl.get_package_command(client, {'package_id': PACKAGE_ID})
    assert 'Cylance API call packages/v2/{id} failed' in info.value.message
    assert exc.__name__ not in info.value.message and 'requests.' not in info.value.message


def test_token_endpoint_unreachable(client, requests_mock):
    """Given an unreachable token endpoint
    When a command runs
    Then the error names the token call and the reason in words."""
    requests_mock.post(TOKEN_URL, exc=requests.exceptions.ConnectionError)
    with pytest.raises(DemistoException, match='auth/v2/token failed: connection problem: the host could not be reached'):
        cyl.list_packages_command(client, {})


# ---------------------------------------------------------------- test-module

def test_test_module(client, requests_mock):
    """Given working credentials
    When test-module runs
    Then it lists one package with the list scope and answers ok."""
    scopes: list[str] = []
    token_endpoint(requests_mock, scopes)
    requests_mock.get(LIST_URL, json=load('list_packages_page3.json'))
    assert cyl.test_module_command(client, {}) == 'ok'
    assert requests_mock.last_request.qs == {'page': ['1'], 'page_size': ['1']} and scopes == ['opticspkgconfig:list']


def test_test_module_odd_reply(client, requests_mock):
    """Given a list reply without page_items
    When test-module runs
    Then it fails saying so."""
    token_endpoint(requests_mock)
    requests_mock.get(LIST_URL, json={'unexpected': True})
    with pytest.raises(DemistoException, match='no page_items list'):
        cyl.test_module_command(client, {})


# ---------------------------------------------------------------- cylance-optics-get-package

def test_get_package(client, requests_mock):
    """Given a package
    When it is read
    Then the context has every documented field and the tables what an analyst decides on, without URLs."""
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=load('get_package.json'))
    result = cyl.get_package_command(client, {'package_id': PACKAGE_ID.upper()})
    assert requests_mock.last_request.url == GET_URL
    assert requests_mock.last_request.headers['Accept'] == 'application/json'
    assert context_of(result, 'CylanceOptics.Package') == load('get_package.json')
    readable = result.readable_output
    for text in ('Collect-Autoruns', '1.2.0', 'success', '2048', 'ir.lead@example.com', '2026-03-14T09:15:00Z',
                 'main.py', 'python', 'Playbook Count', 'collect-autoruns-1.2.0.zip', '### Examples',
                 'Collect-Autoruns --all', 'Write results to a share'):
        assert text in readable
    assert 'https://' not in readable and 'X-Amz-Signature' not in readable


def test_get_package_keeps_only_documented_fields(client, requests_mock):
    """Given a package with an undocumented field
    When it is read
    Then the field stays out of the context."""
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=dict(load('get_package.json'), internalField='x'))
    assert 'internalField' not in cyl.get_package_command(client, {'package_id': PACKAGE_ID}).outputs


def test_get_package_without_examples(client, requests_mock):
    """Given a package without examples
    When it is read
    Then the examples table says there are none."""
    token_endpoint(requests_mock)
    body = load('get_package.json')
    body['packageDescriptor']['examples'] = None
    requests_mock.get(GET_URL, json=body)
    assert '**No entries.**' in cyl.get_package_command(client, {'package_id': PACKAGE_ID}).readable_output


def test_package_id_checked_before_any_request(client, requests_mock):
    """Given a malformed package id
    When get-package or download-package runs
    Then nothing is sent."""
    for command in (cyl.get_package_command, cyl.download_package_command):
        with pytest.raises(DemistoException, match='package_id must be a package UUID'):
            command(client, {'package_id': 'abc'})
    assert requests_mock.call_count == 0


def assert_not_found(client, requests_mock, url, command, args, message):
    token_endpoint(requests_mock)
    requests_mock.get(url, status_code=404, json={'message': 'not found'})
    with pytest.raises(DemistoException, match=message):
        command(client, args)


def test_404_says_not_found(client, requests_mock):
    """Given an unknown package
    When it is read
    Then the error says it was not found."""
    assert_not_found(client, requests_mock, GET_URL, cyl.get_package_command, {'package_id': PACKAGE_ID},
                     f'^Package {PACKAGE_ID} was not found')


@pytest.mark.parametrize('kwargs, problem', [
    ({'text': 'not json'}, 'packages/v2/{id} returned a reply that is not JSON'),
    ({'json': {'oops': 1}}, 'packages/v2/{id} returned an unexpected reply: no package with a packageId'),
    ({'json': ['x']}, 'no package with a packageId'),
    ({'text': 'null'}, 'no package with a packageId'),
])
def test_odd_package_bodies(client, requests_mock, kwargs, problem):
    """Given replies that are not a package
    When get-package runs
    Then the error names the endpoint and the problem."""
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, **kwargs)
    with pytest.raises(DemistoException, match=problem.replace('{', r'\{').replace('}', r'\}')):
        cyl.get_package_command(client, {'package_id': PACKAGE_ID})


def started_package(uploaded_on=None):
    body = load('get_package.json')
    body['status'], body['uploadedOn'] = 'started', uploaded_on
    return body


def test_get_package_polls_until_processed(client, requests_mock):
    """Given a package whose upload is still being processed
    When get-package runs with polling
    Then a progress entry schedules the command again with the package id; once success, the package is returned."""
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=started_package())
    result = cyl.get_package_command(client, {'package_id': PACKAGE_ID, 'polling': 'true', 'interval_in_seconds': '15'})
    command, args, next_run = schedule_of(result)
    assert command == 'cylance-optics-get-package' and next_run == 15
    assert args['package_id'] == PACKAGE_ID and CommonServerPython.argToBoolean(args['polling'])
    assert 'upload status started' in result.readable_output
    requests_mock.get(GET_URL, json=load('get_package.json'))
    final = cyl.get_package_command(client, args)
    assert schedule_of(final) is None and final.outputs['status'] == 'success'


@pytest.mark.parametrize('status', ['failed', 'timeout'])
def test_get_package_polling_reports_a_failed_upload(client, requests_mock, status):
    """Given a package whose upload failed
    When get-package polls
    Then the error says the package was not accepted and why that usually happens."""
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=dict(load('get_package.json'), status=status))
    with pytest.raises(DemistoException, match=f'its upload status is {status}.*checksum'):
        cyl.get_package_command(client, {'package_id': PACKAGE_ID, 'polling': 'true'})


def test_get_package_polling_stops_at_the_timeout(client, requests_mock):
    """Given a package Cylance keeps in started past the polling timeout
    When get-package polls with a 60 s timeout
    Then polling ends with an error saying the package is not ready after that time, naming it."""
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=started_package('2020-01-01T00:00:00Z'))
    with pytest.raises(DemistoException, match=f'Package {PACKAGE_ID} is not ready after [0-9]+ s.*started'):
        cyl.get_package_command(client, {'package_id': PACKAGE_ID, 'polling': 'true', 'timeout_in_seconds': '60'})


def test_create_package_polling_ends_at_its_timeout(client, requests_mock):
    """Given a new package whose upload Cylance never finishes processing
    When the polling round after timeout_in_seconds runs (polling started 120 s ago)
    Then it ends with "not ready after 120 s" and the package id."""
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=started_package(None))
    args = {'package_id': PACKAGE_ID, 'polling': 'true', 'timeout_in_seconds': '60',
            'polling_started': str(int(time.time()) - 120)}
    with pytest.raises(DemistoException, match=f'Package {PACKAGE_ID} is not ready after 12[0-9] s'):
        cyl.get_package_command(client, args)


@pytest.mark.parametrize('args, problem', [({'interval_in_seconds': '0'}, 'between 1 and 86400'),
                                           ({'interval_in_seconds': '60', 'timeout_in_seconds': '30'},
                                            'timeout_in_seconds must be between 60'),
                                           ({'polling': 'maybe'}, 'polling must be true or false')])
def test_polling_arguments_checked(client, requests_mock, args, problem):
    """Given polling arguments below the server's 10 s minimum, a timeout shorter than the interval or a bad flag
    When a polling command runs
    Then nothing is sent and the error states the rule."""
    with pytest.raises(DemistoException, match=problem):
        cyl.get_package_command(client, dict(args, package_id=PACKAGE_ID))
    assert requests_mock.call_count == 0


# ---------------------------------------------------------------- cylance-optics-list-packages

def test_list_one_page_with_query(client, requests_mock):
    """Given paging, sort and category arguments
    When packages are listed
    Then they are sent as documented and the table counts the items."""
    token_endpoint(requests_mock)
    requests_mock.get(LIST_URL, json=load('list_packages_page1.json'))
    result = cyl.list_packages_command(client, {'page': '1', 'page_size': 2, 'sort': ['-uploadedOn'],
                                                'category': 'Custom'})
    assert requests_mock.last_request.qs == {'page': ['1'], 'page_size': ['2'], 'sort': ['-uploadedon'],
                                             'category': ['custom']}
    assert len(result.outputs) == 2 and '(2 of 5)' in result.readable_output
    assert result.outputs[0] == load('list_packages_page1.json')['page_items'][0]
    assert 'Download URL' not in result.readable_output and 'https://' not in result.readable_output


def test_list_defaults(client, requests_mock):
    """Given no arguments
    When packages are listed
    Then one page of 20 is asked for."""
    token_endpoint(requests_mock)
    requests_mock.get(LIST_URL, json=load('list_packages_page1.json'))
    cyl.list_packages_command(client, {})
    assert requests_mock.last_request.qs == {'page': ['1'], 'page_size': ['20']}
    assert len(api_calls(requests_mock)) == 1


def test_list_limit_pages_through(client, requests_mock):
    """Given a limit larger than a page
    When packages are listed
    Then pages are read until the limit or the last page."""
    token_endpoint(requests_mock)
    pages = [{'json': load(f'list_packages_page{i}.json')} for i in (1, 2, 3)]
    requests_mock.get(LIST_URL, pages)
    result = cyl.list_packages_command(client, {'page_size': '2', 'limit': '3'})
    assert [p['packageDescriptor']['name'] for p in result.outputs] == ['Collect-Autoruns', 'Dump-Prefetch',
                                                                        'Scan-Yara']
    assert [r.qs['page'] for r in api_calls(requests_mock)] == [['1'], ['2']]
    requests_mock.get(LIST_URL, pages)
    result = cyl.list_packages_command(client, {'page_size': '2', 'limit': '50'})
    assert len(result.outputs) == 5 and '(5 of 5)' in result.readable_output
    assert [r.qs['page'] for r in api_calls(requests_mock)][2:] == [['1'], ['2'], ['3']]


def test_list_paging_is_bounded(client, requests_mock, monkeypatch):
    """Given a server that never says which page is the last
    When packages are listed with a large limit
    Then at most MAX_PAGES pages are read and the reply says where to go on."""
    monkeypatch.setattr(cyl, 'MAX_PAGES', 3)
    token_endpoint(requests_mock)
    endless = load('list_packages_page1.json')
    del endless['total_pages']
    requests_mock.get(LIST_URL, json=endless)
    result = cyl.list_packages_command(client, {'page_size': '2', 'limit': '1000'})
    assert len(api_calls(requests_mock)) == 3 and len(result.outputs) == 6
    assert 'Stopped after 3 pages; run again with page=4' in result.readable_output


def test_list_stops_on_an_empty_page(client, requests_mock):
    """Given a second page that is empty
    When packages are listed with a limit
    Then listing stops there."""
    token_endpoint(requests_mock)
    requests_mock.get(LIST_URL, [{'json': dict(load('list_packages_page1.json'), total_pages=None)},
                                 {'json': {'page_number': 2, 'page_size': 2, 'page_items': []}}])
    result = cyl.list_packages_command(client, {'page_size': '2', 'limit': '10'})
    assert len(result.outputs) == 2 and len(api_calls(requests_mock)) == 2


def test_list_empty_and_without_total(client, requests_mock):
    """Given an empty list, then a page without a total
    When packages are listed
    Then the table says no entries, then counts what it shows."""
    token_endpoint(requests_mock)
    requests_mock.get(LIST_URL, json={'page_number': 1, 'page_size': 20, 'total_pages': 0,
                                      'total_number_of_items': 0, 'page_items': []})
    result = cyl.list_packages_command(client, {'category': 'cylance'})
    assert result.outputs == [] and '**No entries.**' in result.readable_output
    body = load('list_packages_page3.json')
    del body['total_number_of_items']
    requests_mock.get(LIST_URL, json=body)
    assert 'Cylance Optics packages (1)' in cyl.list_packages_command(client, {}).readable_output


@pytest.mark.parametrize('args, problem', [({'page_size': '500'}, 'page_size must be between'),
                                           ({'page_size': '0'}, 'page_size must be between'),
                                           ({'page': '0'}, 'page must be'), ({'limit': '0'}, 'limit'),
                                           ({'category': 'other'}, 'custom or cylance'), ({'page': 'x'}, 'page'),
                                           ({'category': ['custom', 'cylance']}, 'category takes one value')])
def test_list_bad_arguments(client, requests_mock, args, problem):
    """Given bad paging or category arguments
    When packages are listed
    Then nothing is sent and the error names the argument."""
    with pytest.raises(DemistoException, match=problem):
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
    """Given list replies of the wrong shape
    When packages are listed
    Then the error names the endpoint and the problem."""
    token_endpoint(requests_mock)
    requests_mock.get(LIST_URL, json=body)
    with pytest.raises(DemistoException, match=problem):
        cyl.list_packages_command(client, {})


# ---------------------------------------------------------------- cylance-optics-download-package

STORAGE_URL = load('get_package.json')['downloadUrl']


def package_with(url, size, file_name='collect-autoruns-1.2.0.zip'):
    package = load('get_package.json')
    package['downloadUrl'], package['size'] = url, size
    package['packageDescriptor']['packageInfo']['fileName'] = file_name
    return package


def test_download_streams_file_without_token_to_storage_host(client, requests_mock, tmp_path):
    """Given a package on a pre-signed storage URL, larger than one chunk
    When it is downloaded
    Then the War Room file holds the bytes, storage got no token, and the context has size and SHA256."""
    token_endpoint(requests_mock)
    payload = os.urandom(3 * 1024 * 1024 + 17)
    requests_mock.get(GET_URL, json=package_with(STORAGE_URL, len(payload)))
    requests_mock.get(STORAGE_URL, content=payload)
    summary, entry = cyl.download_package_command(client, {'package_id': PACKAGE_ID})
    assert entry['Type'] == 3 and entry['File'] == 'collect-autoruns-1.2.0.zip' and entry['Contents'] == ''
    assert war_room_file(entry) == payload
    assert os.listdir(tmp_path) == ['{}_{}'.format(demisto.investigation()['id'], entry['FileID'])]
    assert requests_mock.last_request.url == STORAGE_URL and 'Authorization' not in requests_mock.last_request.headers
    assert requests_mock.request_history[-2].headers['Authorization'].startswith('Bearer ')
    sha256 = hashlib.sha256(payload).hexdigest()
    assert summary.outputs == {'packageId': PACKAGE_ID, 'downloadedFileName': 'collect-autoruns-1.2.0.zip',
                               'downloadedSize': len(payload), 'downloadedSHA256': sha256}
    assert sha256 in summary.readable_output and 'X-Amz-Signature' not in summary.readable_output


def test_download_from_the_api_host_may_carry_the_token(client, requests_mock, runtime):
    """Given a download URL on the API host itself, first answering 401
    When it is downloaded
    Then the token is sent there, refreshed once."""
    token_endpoint(requests_mock)
    url = GET_URL + '/file'
    requests_mock.get(GET_URL, json=package_with(url, 3))
    requests_mock.get(url, [{'status_code': 401}, {'content': b'abc'}])
    _, entry = cyl.download_package_command(client, {'package_id': PACKAGE_ID})
    assert war_room_file(entry) == b'abc' and len(api_calls(requests_mock, '/auth/')) == 2
    assert requests_mock.last_request.headers['Authorization'].startswith('Bearer ')


@pytest.mark.parametrize('url', ['http://protectapi.cylance.com/f.zip', 'https://protectapi.cylance.com:8443/f.zip',
                                 'https://protectapi.cylance.com.evil.example/f.zip',
                                 'https://evil.example/protectapi.cylance.com/f.zip'])
def test_download_token_never_leaves_the_api_server(client, requests_mock, url):
    """Given download URLs that only look like the API host
    When they are downloaded
    Then no Authorization goes with them."""
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=package_with(url, 3))
    requests_mock.get(url, content=b'abc')
    cyl.download_package_command(client, {'package_id': PACKAGE_ID})
    assert 'Authorization' not in requests_mock.last_request.headers


def test_download_of_an_empty_file_is_an_error(client, requests_mock, tmp_path):
    """Given a package without a declared size whose download is empty
    When it is downloaded
    Then the command fails and no file is left."""
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=package_with(STORAGE_URL, None))
    requests_mock.get(STORAGE_URL, content=b'')
    with pytest.raises(DemistoException, match='answered with an empty file'):
        cyl.download_package_command(client, {'package_id': PACKAGE_ID})
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('body, size', [(b'short', 2048), (b'x' * 5000, 2048), (b'abc', '4')])
def test_download_size_mismatch_is_error_and_file_removed(client, requests_mock, tmp_path, body, size):
    """Given a download whose length differs from the declared size (a number or digit text)
    When it is downloaded
    Then the command fails naming the size and no file is left."""
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=package_with(STORAGE_URL, size))
    requests_mock.get(STORAGE_URL, content=body)
    with pytest.raises(DemistoException, match=f'Package {PACKAGE_ID} could not be downloaded: .*package size is {size} bytes'
                                               ):
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
    """Given a download that breaks off
    When it is downloaded
    Then the error says after how many bytes, with no file left."""
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=package_with(STORAGE_URL, 2048))
    requests_mock.get(STORAGE_URL, body=BrokenBody(b'x' * 1000))
    with pytest.raises(DemistoException, match='broke off after'):
        cyl.download_package_command(client, {'package_id': PACKAGE_ID})
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('status, problem', [(403, 'refused the pre-signed URL'),
                                             (404, 'not on the storage host'), (410, 'unexpected HTTP status')])
def test_download_storage_errors(client, requests_mock, tmp_path, status, problem):
    """Given a storage host refusing the download
    When it is downloaded
    Then the error names the host and status (no scope, no signature) and no file is left."""
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=package_with(STORAGE_URL, 3))
    requests_mock.get(STORAGE_URL, status_code=status, text='<Error>AccessDenied</Error>')
    with pytest.raises(DemistoException, match=problem) as info:
        cyl.download_package_command(client, {'package_id': PACKAGE_ID})
    message = info.value.message
    assert f'status {status}' in message and 'cylance-optics-packages.s3.amazonaws.com' in message
    assert 'scope' not in message and 'X-Amz-Signature' not in message
    assert os.listdir(tmp_path) == [] and len(api_calls(requests_mock, 's3.amazonaws.com')) == 1


def test_download_storage_busy_is_retried(requests_mock):
    """Given a busy storage host
    When the package is downloaded
    Then it is retried after Retry-After, still without a token."""
    waits: list[float] = []
    client = make_client(waits)
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=package_with(STORAGE_URL, 3))
    requests_mock.get(STORAGE_URL, [{'status_code': 503, 'headers': {'Retry-After': '5'}}, {'content': b'abc'}])
    _, entry = cyl.download_package_command(client, {'package_id': PACKAGE_ID})
    assert war_room_file(entry) == b'abc' and waits == [5.0]
    assert not any('Authorization' in r.headers for r in api_calls(requests_mock, 's3.amazonaws.com'))


def test_download_network_failure(client, requests_mock, tmp_path):
    """Given a storage host that does not answer
    When the package is downloaded
    Then the error says so in words and no file is left."""
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=package_with(STORAGE_URL, 3))
    requests_mock.get(STORAGE_URL, exc=requests.exceptions.ReadTimeout)
    with pytest.raises(DemistoException, match='package download failed: no reply in time'):
        cyl.download_package_command(client, {'package_id': PACKAGE_ID})
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('file_name, expected', [('../../etc/evil.zip', 'evil.zip'), ('C:\\x\\p?.zip', 'p_.zip'),
                                                 (None, PACKAGE_ID + '.zip')])
def test_download_file_name_is_safe(client, requests_mock, file_name, expected):
    """Given package file names with folders, odd characters or none
    When the package is downloaded
    Then the War Room file name is plain."""
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=package_with(STORAGE_URL, 3, file_name))
    requests_mock.get(STORAGE_URL, content=b'abc')
    assert cyl.download_package_command(client, {'package_id': PACKAGE_ID})[1]['File'] == expected


@pytest.mark.parametrize('url, problem', [
    pytest.param(None, 'has no download URL', id='none'),
    pytest.param('', 'has no download URL', id='empty'),
    pytest.param('ftp://host/file', 'refused: only https', id='ftp'),
    pytest.param(5, 'refused: only https', id='number'),
    pytest.param('javascript:alert(1)', 'refused: only https', id='javascript'),
    pytest.param('https://protectapi.cylance.com@evil.example/f.zip', 'refused: it holds a user name', id='userinfo'),
    pytest.param('https://evil.example\\@protectapi.cylance.com/f.zip', 'refused: it holds a backslash',
                 id='backslash'),
])
def test_download_without_url(client, requests_mock, tmp_path, url, problem):
    """Given a package without a usable download URL (absent, another scheme, or one that parsers read as two
    different hosts)
    When it is downloaded
    Then the error says so, nothing is fetched from it and nothing is written."""
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=package_with(url, 3))
    with pytest.raises(DemistoException, match=problem):
        cyl.download_package_command(client, {'package_id': PACKAGE_ID})
    assert os.listdir(tmp_path) == []
    assert [r.url for r in requests_mock.request_history if 'evil' in r.url] == []


# ---------------------------------------------------------------- cylance-optics-create-package

UPLOAD_URL = load('create_package.json')['uploadTo']
SCRIPT = b'import sys\nprint("collecting browser history", sys.argv[1:])\n'


@pytest.fixture
def war_room(monkeypatch, tmp_path):
    """War-room files by entry id, as demisto.getFilePath serves them."""
    files = {}

    def add(entry_id, name, data):
        path = tmp_path / 'entries' / entry_id
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        files[entry_id] = {'id': entry_id, 'path': str(path), 'name': name}

    def get_file_path(entry_id):
        if entry_id not in files:
            raise ValueError('no such entry')
        return files[entry_id]
    monkeypatch.setattr(demisto, 'getFilePath', get_file_path)
    return add


def zip_with(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w') as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def creation_endpoints(requests_mock, scopes=None, uploaded=None):
    token_endpoint(requests_mock, scopes)
    requests_mock.post(LIST_URL, json=load('create_package.json'))

    def upload(request, context):
        if uploaded is not None:
            uploaded.append(request.body.read())  # the streamed file, read while the request is made
        return ''
    return requests_mock.put(UPLOAD_URL, text=upload)


def test_create_package_from_a_python_file(client, requests_mock, war_room):
    """Given a Python file in the War Room and descriptor arguments (version as a number, examples as JSON)
    When create-package runs without polling
    Then the create call carries the file's SHA256 and the descriptor, the file is PUT to uploadTo without any
    Cylance token, and the context holds the package id, checksum and size (never the upload URL)."""
    scopes: list[str] = []
    uploaded: list[bytes] = []
    upload = creation_endpoints(requests_mock, scopes, uploaded)
    war_room('12@1', 'browser_history.py', SCRIPT)
    result = cyl.create_package_command(client, {
        'entry_id': '12@1', 'name': 'Browser-History', 'description': 'Collects browser history', 'version': 2,
        'examples': '[{"description": "All browsers", "invocationString": "-browser ALL"}]', 'polling': 'false'})
    create = api_calls(requests_mock, '/packages/v2')[0]
    assert create.method == 'POST' and create.json() == {
        'checksum': hashlib.sha256(SCRIPT).hexdigest(),
        'packageDescriptor': {'name': 'Browser-History', 'description': 'Collects browser history',
                              'examples': [{'description': 'All browsers', 'invocationString': '-browser ALL'}],
                              'packageInfo': {'fileType': 'python', 'fileName': 'browser_history.py',
                                              'entryPoint': ''},
                              'version': 2}}
    assert scopes == ['opticspkgconfig:create']
    assert uploaded == [SCRIPT]
    assert 'Authorization' not in upload.last_request.headers
    assert upload.last_request.headers['Content-Length'] == str(len(SCRIPT))
    assert result.outputs['packageId'] == NEW_PACKAGE_ID and result.outputs['checksum'] == \
        hashlib.sha256(SCRIPT).hexdigest() and result.outputs['size'] == len(SCRIPT)
    assert UPLOAD_URL not in json.dumps(result.to_context()) and schedule_of(result) is None


def test_create_package_polls_the_package_status(client, requests_mock, war_room):
    """Given a zip package with its entry point
    When create-package runs with polling (the default)
    Then after the upload it hands over to get-package with polling for the new package."""
    creation_endpoints(requests_mock)
    war_room('13@1', 'hunt.zip', zip_with({'main.py': SCRIPT, 'lib/util.py': b'x = 1\n'}))
    result = cyl.create_package_command(client, {'entry_id': '13@1', 'name': 'Hunt', 'entry_point': 'main.py',
                                                 'interval_in_seconds': '10'})
    command, args, next_run = schedule_of(result)
    assert command == 'cylance-optics-get-package' and args['package_id'] == NEW_PACKAGE_ID and next_run == 10
    assert 'Waiting for Cylance to process the upload' in result.readable_output


@pytest.mark.parametrize('name, data, extra, problem', [
    ('tool.exe', b'MZ', {}, 'Only Python packages are supported'),
    ('hunt.zip', zip_with({'main.py': SCRIPT}), {}, 'needs entry_point'),
    ('hunt.zip', zip_with({'main.py': SCRIPT}), {'entry_point': 'run.py'}, 'The entry point run.py is not in hunt.zip'),
    ('hunt.zip', b'not a zip', {'entry_point': 'main.py'}, 'not a readable zip file'),
    ('a.py', SCRIPT, {'examples': '{oops'}, 'examples must be a JSON list'),
    ('a.py', SCRIPT, {'examples': '[{"cmd": "x"}]'}, 'objects with description and invocationString'),
    ('a.py', SCRIPT, {'version': '0'}, 'version must be 1 or more'),
])
def test_create_package_checks_before_any_request(client, requests_mock, war_room, name, data, extra, problem):
    """Given files that are not Python packages, or bad descriptor arguments
    When create-package runs
    Then nothing is sent and the error explains."""
    war_room('14@1', name, data)
    with pytest.raises(DemistoException, match=problem):
        cyl.create_package_command(client, dict({'entry_id': '14@1', 'name': 'X'}, **extra))
    assert requests_mock.call_count == 0


def test_create_package_unknown_entry(client, requests_mock, war_room):
    """Given an entry id that is not a War Room file
    When create-package runs
    Then the error says so."""
    with pytest.raises(DemistoException, match='Entry 99@1 is not a file in this War Room'):
        cyl.create_package_command(client, {'entry_id': ['99@1'], 'name': 'X'})


@pytest.mark.parametrize('reply', [{'json': {'packageId': NEW_PACKAGE_ID}},
                                   {'json': {'packageId': NEW_PACKAGE_ID, 'uploadTo': 'ftp://x/y'}}, {'json': []}])
def test_create_package_odd_reply(client, requests_mock, war_room, reply):
    """Given a create reply without an upload URL
    When create-package runs
    Then nothing is uploaded and the error says so."""
    token_endpoint(requests_mock)
    requests_mock.post(LIST_URL, **reply)
    war_room('15@1', 'a.py', SCRIPT)
    with pytest.raises(DemistoException, match='no packageId and uploadTo URL'):
        cyl.create_package_command(client, {'entry_id': '15@1', 'name': 'X'})


def test_create_package_upload_refused(client, requests_mock, war_room):
    """Given an upload location that refuses the file (expired pre-signed URL)
    When create-package runs
    Then the error names the upload host and status, without the signature."""
    token_endpoint(requests_mock)
    requests_mock.post(LIST_URL, json=load('create_package.json'))
    requests_mock.put(UPLOAD_URL, status_code=403, text='<Error>Request has expired</Error>')
    war_room('16@1', 'a.py', SCRIPT)
    with pytest.raises(DemistoException, match='upload to cylance-optics-uploads.s3.amazonaws.com failed with status '
                                               '403: the storage host refused') as info:
        cyl.create_package_command(client, {'entry_id': '16@1', 'name': 'X'})
    assert 'X-Amz-Signature' not in info.value.message


def test_create_package_upload_retried_with_the_whole_file(requests_mock, war_room):
    """Given a busy upload location (503 with Retry-After: it certainly did not take the file)
    When create-package runs
    Then the upload is retried with the whole file again."""
    client = make_client()
    token_endpoint(requests_mock)
    requests_mock.post(LIST_URL, json=load('create_package.json'))
    bodies = []

    def upload(request, context):
        bodies.append(request.body.read())
        context.status_code = 503 if len(bodies) == 1 else 200
        if len(bodies) == 1:
            context.headers['Retry-After'] = '0'  # the storage host says it did not take the file
        return ''
    requests_mock.put(UPLOAD_URL, text=upload)
    war_room('17@1', 'a.py', SCRIPT)
    cyl.create_package_command(client, {'entry_id': '17@1', 'name': 'X', 'polling': False})
    assert bodies == [SCRIPT, SCRIPT]


# ---------------------------------------------------------------- cylance-optics-run-package

def execution_reply(request, context):
    """The create-execution reply: the documented execution resource for the request's target."""
    body = load('execution_running.json')
    execution = request.json()['execution']
    body.update(id=str(uuid.uuid4()), name=execution['name'], target=execution['target'],
                deviceCount=len(execution['target'].get('devices') or []) or 12,
                deviceStatuses={'acked': 0, 'failed': 0, 'succeeded': 0})
    return body


def run_endpoints(requests_mock, scopes=None):
    token_endpoint(requests_mock, scopes)
    requests_mock.get(GET_URL, json=load('get_package.json'))
    return requests_mock.post(EXECUTIONS_URL, json=execution_reply)


def test_run_package_on_devices(client, requests_mock):
    """Given a package id and device ids with dashes and lower case, and arguments as a JSON list
    When run-package runs without polling
    Then the package is checked, one execution is requested as documented (package as its id) with the
    create scope, and the execution is in the context."""
    scopes: list[str] = []
    create = run_endpoints(requests_mock, scopes)
    result = cyl.run_package_command(client, {
        'package': PACKAGE_ID, 'device_ids': 'e378dacb-9324-453a-b8c6-5a8406952195, ' + FAILING_DEVICE,
        'arguments': '["-browser ALL", "-out C:\\\\x,y"]', 'polling': 'false'})
    assert create.last_request.json() == {'execution': {
        'name': 'XSOAR - Collect-Autoruns', 'target': {'devices': [DEVICE, FAILING_DEVICE]}, 'destination': '',
        'keepResultsLocally': True,
        'packageExecutions': [{'arguments': ['-browser ALL', '-out C:\\x,y'], 'package': PACKAGE_ID}]}}
    assert scopes == ['opticspkgconfig:read', 'opticspkgdeploy:create']
    executions = context_of(result, 'CylanceOptics.Execution')
    assert len(executions) == 1 and executions[0]['target'] == {'devices': [DEVICE, FAILING_DEVICE]}
    assert schedule_of(result) is None and 'Started package Collect-Autoruns' in result.readable_output


def test_run_package_one_execution_per_device_then_polls(client, requests_mock):
    """Given two devices and execution_per_device
    When run-package runs with polling (the default)
    Then one execution per device is created and get-execution is scheduled for both."""
    create = run_endpoints(requests_mock)
    result = cyl.run_package_command(client, {'package': PACKAGE_ID, 'device_ids': [DEVICE, FAILING_DEVICE],
                                              'execution_per_device': 'true', 'interval_in_seconds': 20,
                                              'timeout_in_seconds': 300})
    assert [r.json()['execution']['target'] for r in create.request_history] == [{'devices': [DEVICE]},
                                                                                 {'devices': [FAILING_DEVICE]}]
    command, args, next_run = schedule_of(result)
    ids = [e['id'] for e in context_of(result, 'CylanceOptics.Execution')]
    assert command == 'cylance-optics-get-execution' and next_run == 20
    assert args['execution_id'] == ','.join(ids) and args['timeout_in_seconds'] == '300'
    assert CommonServerPython.argToBoolean(args['polling'])


def test_run_package_on_zones_with_destination(client, requests_mock):
    """Given zone ids and a destination share
    When run-package runs
    Then the target holds zones only and results are not kept locally unless asked."""
    create = run_endpoints(requests_mock)
    cyl.run_package_command(client, {'package': PACKAGE_ID, 'zone_ids': '0f8e7d6c-5b4a-4938-2716-a5b4c3d2e1f0',
                                     'destination': 'sftp://ir.example.com/results', 'polling': 'false'})
    execution = create.last_request.json()['execution']
    assert execution['target'] == {'zones': ['0F8E7D6C5B4A49382716A5B4C3D2E1F0']}
    assert execution['destination'] == 'sftp://ir.example.com/results' and execution['keepResultsLocally'] is False


def test_run_package_by_exact_name_and_version(client, requests_mock):
    """Given a package name shared by several versions
    When run-package runs with the name alone, then with name and version
    Then the first is refused listing the candidates, the second runs the matching package."""
    token_endpoint(requests_mock)
    pages = [{'json': load(f'list_packages_page{i}.json')} for i in (1, 2, 3)]
    page1 = load('list_packages_page1.json')
    twin = json.loads(json.dumps(page1['page_items'][0]))
    twin['packageId'] = NEW_PACKAGE_ID
    twin['packageDescriptor']['version'] = '9.9.9'
    pages[0] = {'json': dict(page1, page_items=page1['page_items'] + [twin])}
    requests_mock.get(LIST_URL, pages)
    create = requests_mock.post(EXECUTIONS_URL, json=execution_reply)
    name = page1['page_items'][0]['packageDescriptor']['name']
    with pytest.raises(DemistoException, match=f'2 packages are named "{name}"; give package_version'):
        cyl.run_package_command(client, {'package': name, 'device_ids': DEVICE})
    requests_mock.get(LIST_URL, pages)
    cyl.run_package_command(client, {'package': name, 'package_version': '9.9.9', 'device_ids': DEVICE,
                                     'polling': 'false'})
    assert create.last_request.json()['execution']['packageExecutions'][0]['package'] == NEW_PACKAGE_ID


def test_run_package_unknown_name_or_unready_package(client, requests_mock):
    """Given a name no package has, then a package whose upload has not succeeded
    When run-package runs
    Then nothing is executed and the errors say why."""
    token_endpoint(requests_mock)
    requests_mock.get(LIST_URL, json=load('list_packages_page3.json'))
    create = requests_mock.post(EXECUTIONS_URL, json=execution_reply)
    with pytest.raises(DemistoException, match='No package is named "Nope"'):
        cyl.run_package_command(client, {'package': 'Nope', 'device_ids': DEVICE})
    requests_mock.get(GET_URL, json=started_package())
    with pytest.raises(DemistoException, match='cannot run: its upload status is started'):
        cyl.run_package_command(client, {'package': PACKAGE_ID, 'device_ids': DEVICE})
    assert create.call_count == 0


@pytest.mark.parametrize('args, problem', [
    ({'device_ids': DEVICE, 'zone_ids': DEVICE}, 'one of them, not both'),
    ({}, 'one of them, not both'),
    ({'device_ids': 'E378DACB'}, '32 hexadecimal digits'),
    ({'device_ids': 'host-01.example.com'}, '32 hexadecimal digits'),
    ({'zone_ids': DEVICE, 'execution_per_device': 'true'}, 'applies to device_ids only'),
    ({'device_ids': DEVICE, 'polling': 'sometimes'}, 'polling must be true or false'),
    ({'device_ids': DEVICE, 'package': ''}, 'package is required'),
])
def test_run_package_checks_before_any_request(client, requests_mock, args, problem):
    """Given devices and zones together, neither, malformed ids or bad flags
    When run-package runs
    Then nothing is sent and the error explains."""
    with pytest.raises(DemistoException, match=problem):
        cyl.run_package_command(client, dict({'package': PACKAGE_ID}, **args))
    assert requests_mock.call_count == 0


def test_run_package_names_the_missing_deploy_permission(client, requests_mock):
    """Given an application that may read packages but not deploy them
    When run-package runs
    Then the error names opticspkgdeploy:create."""
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=load('get_package.json'))
    requests_mock.post(EXECUTIONS_URL, status_code=403, json={'message': 'Forbidden'})
    with pytest.raises(DemistoException, match='lacks the opticspkgdeploy:create scope'):
        cyl.run_package_command(client, {'package': PACKAGE_ID, 'device_ids': DEVICE})


# ---------------------------------------------------------------- cylance-optics-get-execution

def execution_at(statuses, created_ago=40, **changes):
    body = load('execution_running.json')
    body['deviceStatuses'] = statuses
    body['createdAt'] = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() - created_ago))
    body.update(changes)
    return body


def test_get_execution(client, requests_mock):
    """Given a finished execution on two devices, one failed
    When it is read
    Then the context has the documented fields and the derived progress, and the table the counts."""
    scopes: list[str] = []
    token_endpoint(requests_mock, scopes)
    requests_mock.get(EXECUTION_URL, json=load('execution_done.json'))
    result = cyl.get_execution_command(client, {'execution_id': EXECUTION_ID})
    execution = context_of(result, 'CylanceOptics.Execution')[0]
    assert {k: v for k, v in execution.items() if k != 'progress'} == load('execution_done.json')
    assert execution['progress']['finished'] is True and execution['progress']['notSucceeded'] == 1
    assert 'notSucceededDevices' not in execution['progress']  # counts only: which one failed is unknown
    assert scopes == ['opticspkgdeploy:read']
    assert '1 device(s) did not succeed (the API reports counts only' in result.readable_output
    assert PACKAGE_ID in result.readable_output  # the package URL read as its id


def test_get_execution_polls_with_progress_entries(client, requests_mock):
    """Given an execution whose devices report over time
    When get-execution polls
    Then each round is a progress entry "acked N / succeeded N / failed N of M devices, elapsed Xs" scheduling
    the next round, and the last round ends polling with the outcome."""
    token_endpoint(requests_mock)
    args = {'execution_id': EXECUTION_ID, 'polling': 'true', 'interval_in_seconds': '10'}
    requests_mock.get(EXECUTION_URL, json=execution_at({'acked': 1, 'failed': 0, 'succeeded': 0}))
    first = cyl.get_execution_command(client, args)
    command, next_args, _ = schedule_of(first)
    assert command == 'cylance-optics-get-execution' and next_args['execution_id'] == EXECUTION_ID
    assert 'acked 1 / succeeded 0 / failed 0 of 2 devices, elapsed 4' in first.readable_output
    requests_mock.get(EXECUTION_URL, json=execution_at({'acked': 2, 'failed': 1, 'succeeded': 1}, 50))
    last = cyl.get_execution_command(client, next_args)
    assert schedule_of(last) is None
    assert context_of(last, 'CylanceOptics.Execution')[0]['progress']['finished'] is True


def test_get_execution_names_the_device_when_counts_tell(client, requests_mock):
    """Given a one-device execution that failed
    When it is read
    Then the outcome names that device."""
    token_endpoint(requests_mock)
    requests_mock.get(EXECUTION_URL, json=execution_at({'acked': 1, 'failed': 1, 'succeeded': 0}, deviceCount=1,
                                                       target={'devices': [FAILING_DEVICE]}))
    result, error = cyl.get_execution_command(client, {'execution_id': EXECUTION_ID})
    progress = context_of(result, 'CylanceOptics.Execution')[0]['progress']
    assert progress['notSucceededDevices'] == [FAILING_DEVICE]
    assert progress['failures'] == [{'device': FAILING_DEVICE, 'reason': 'did not succeed (failed or offline)'}]
    assert f'1 device(s) did not succeed: {FAILING_DEVICE}' in result.readable_output
    assert FAILING_DEVICE in result.readable_output.split('|Target|')[1]  # the table names the device
    assert error.entry_type == EntryType.ERROR  # its only device failed: every target failed


def test_get_execution_timeout_reports_what_is_pending(client, requests_mock):
    """Given an execution still running past the timeout
    When get-execution polls
    Then polling ends with timedOut and the pending devices counted as not succeeded."""
    token_endpoint(requests_mock)
    requests_mock.get(EXECUTION_URL, json=execution_at({'acked': 1, 'failed': 0, 'succeeded': 1}, 700))
    result = cyl.get_execution_command(client, {'execution_id': EXECUTION_ID, 'polling': 'true',
                                                'timeout_in_seconds': '600'})
    progress = context_of(result, 'CylanceOptics.Execution')[0]['progress']
    assert schedule_of(result) is None and progress['timedOut'] is True and progress['notSucceeded'] == 1
    assert 'timed out after 70' in result.readable_output


def test_execution_progress_offline_devices():
    """Given an execution on three devices of which one was online and succeeded
    When its progress is derived
    Then the two offline devices count as not succeeded."""
    progress = cyl.execution_progress(execution_at({'acked': 1, 'failed': 0, 'succeeded': 1}, deviceCount=1,
                                                   target={'devices': ['A' * 32, 'B' * 32, 'C' * 32]}))
    assert progress['finished'] is True and progress['notSucceeded'] == 2
    everyone = cyl.execution_progress(execution_at({'acked': 2, 'failed': 0, 'succeeded': 2}))
    assert everyone['notSucceeded'] == 0 and everyone['notSucceededDevices'] == [] and everyone['allSucceeded'] is True
    assert progress['allSucceeded'] is False
    assert cyl.execution_progress(execution_at({'acked': 1, 'failed': 0, 'succeeded': 0}))['allSucceeded'] is None


@pytest.mark.parametrize('args, problem', [({}, 'execution_id is required'),
                                           ({'execution_id': 'x'}, 'execution_id must be an execution UUID')])
def test_get_execution_checks_ids(client, requests_mock, args, problem):
    """Given no or a malformed execution id
    When get-execution runs
    Then nothing is sent."""
    with pytest.raises(DemistoException, match=problem):
        cyl.get_execution_command(client, args)
    assert requests_mock.call_count == 0


@pytest.mark.parametrize('body, problem', [({'name': 'x'}, 'no execution with an id'), (['x'], 'no execution'),
                                           ('null', 'no execution')])
def test_get_execution_odd_bodies(client, requests_mock, body, problem):
    """Given replies that are not an execution
    When get-execution runs
    Then the error names the endpoint."""
    token_endpoint(requests_mock)
    requests_mock.get(EXECUTION_URL, text=body if isinstance(body, str) else json.dumps(body))
    with pytest.raises(DemistoException, match='packages/v2/executions/{id} returned an unexpected reply: ' + problem):
        cyl.get_execution_command(client, {'execution_id': EXECUTION_ID})


def test_get_execution_not_found(client, requests_mock):
    """Given an unknown execution
    When it is read
    Then the error says it was not found."""
    assert_not_found(client, requests_mock, EXECUTION_URL, cyl.get_execution_command,
                     {'execution_id': EXECUTION_ID}, f'Execution {EXECUTION_ID} was not found')


# ---------------------------------------------------------------- cylance-optics-list-executions

def test_list_executions(client, requests_mock):
    """Given two executions on one page
    When they are listed with paging arguments
    Then the query is as for packages and both are in the context and table."""
    scopes: list[str] = []
    token_endpoint(requests_mock, scopes)
    requests_mock.get(EXECUTIONS_URL, json=load('list_executions_page1.json'))
    result = cyl.list_executions_command(client, {'page_size': '2', 'sort': '-createdAt'})
    assert requests_mock.last_request.qs == {'page': ['1'], 'page_size': ['2'], 'sort': ['-createdat']}
    assert [e['id'] for e in result.outputs] == [EXECUTION_ID, '5d41402a-bc4b-4a76-b971-9d911017c592']
    assert '(2 of 2)' in result.readable_output and '1 zone(s)' in result.readable_output
    assert scopes == ['opticspkgdeploy:list']


def test_list_executions_bad_reply(client, requests_mock):
    """Given a list reply of the wrong shape
    When executions are listed
    Then the error names the endpoint."""
    token_endpoint(requests_mock)
    requests_mock.get(EXECUTIONS_URL, json={'page_items': [{'name': 'no id'}]})
    with pytest.raises(DemistoException, match='packages/v2/executions returned an unexpected reply'):
        cyl.list_executions_command(client, {})


# ---------------------------------------------------------------- cylance-optics-delete-execution

@pytest.mark.parametrize('reply', [{'json': load('delete_execution.json')}, {'status_code': 204, 'text': ''}])
def test_delete_execution(client, requests_mock, reply):
    """Given an execution the API deletes (answering the resource, or nothing)
    When delete-execution runs
    Then the context marks it deleted, with the delete scope."""
    scopes: list[str] = []
    token_endpoint(requests_mock, scopes)
    requests_mock.delete(EXECUTION_URL, **reply)
    result = cyl.delete_execution_command(client, {'execution_id': [EXECUTION_ID]})
    assert result.outputs['id'] == EXECUTION_ID and result.outputs['deleted'] is True
    assert f'Deleted Cylance Optics package execution {EXECUTION_ID}' in result.readable_output
    assert scopes == ['opticspkgdeploy:delete']


# ---------------------------------------------------------------- main

def run_main(monkeypatch, command, args=None, params=None):
    return run_entry_point(monkeypatch, cyl.main, command, args, params or PARAMS)


def test_main_runs_commands(monkeypatch, requests_mock):
    """Given commands run through main()
    When they succeed
    Then their entries are sent (a table, a file)."""
    token_endpoint(requests_mock)
    requests_mock.get(GET_URL, json=load('get_package.json'))
    entries = run_main(monkeypatch, 'cylance-optics-get-package', {'package_id': PACKAGE_ID})
    assert entries[0]['Type'] == 1 and 'Collect-Autoruns' in entries[0]['HumanReadable']
    requests_mock.get(STORAGE_URL, content=b'x' * 2048)
    entries = run_main(monkeypatch, 'cylance-optics-download-package', {'package_id': PACKAGE_ID})
    assert [e['Type'] for e in entries] == [1, 3]
    requests_mock.get(LIST_URL, json=load('list_packages_page3.json'))
    assert run_main(monkeypatch, 'test-module') == ['ok']


@pytest.mark.parametrize('token_status, list_status, problem', [
    (401, None, 'rejected the application credentials'),
    (400, None, 'exp/iat window'),
    (200, 403, 'lacks the opticspkgconfig:list scope'),
    (200, 404, 'API host of your region'),
])
def test_test_module_explains_auth_problems(monkeypatch, requests_mock, token_status, list_status, problem):
    """Given credentials, scope or URL problems
    When test-module runs through main()
    Then one error entry explains the problem."""
    if token_status == 200:
        token_endpoint(requests_mock)
    else:
        requests_mock.post(TOKEN_URL, status_code=token_status, json={'message': 'no'})
    requests_mock.get(LIST_URL, status_code=list_status or 200, json={'message': 'no'})
    entries = run_main(monkeypatch, 'test-module')
    assert len(entries) == 1 and entries[0]['Type'] == 4 and problem in entries[0]['Contents']


def echoing_endpoints(requests_mock, where, status, issued, auth_tokens):
    """A server that quotes the secret, the signed auth_token and the access token back in its error bodies."""
    def token_reply(request, context):
        auth_tokens.append(request.json()['auth_token'])
        if where == 'token':
            context.status_code = status
            return {'message': f'bad auth_token {auth_tokens[-1]} signed with {SECRET}'}
        token = access_token('opticspkgconfig:read')
        issued.append(token)
        return {'access_token': token}

    def api_reply(request, context):
        context.status_code = status
        return {'message': f'token {issued[-1]} (Bearer {issued[-1]}) of {TENANT} rejected'}
    requests_mock.post(TOKEN_URL, json=token_reply)
    requests_mock.get(GET_URL, json=api_reply)
    requests_mock.get(LIST_URL, json=api_reply)


@pytest.mark.parametrize('command', ['cylance-optics-get-package', 'test-module'])
@pytest.mark.parametrize('where, status', [('token', 400), ('token', 401), ('api', 400), ('api', 401),
                                           ('api', 403), ('api', 404), ('api', 500), ('api', 429)])
def test_errors_have_no_secret_token_or_traceback(monkeypatch, requests_mock, caplog, command, where, status):
    """Given a server whose 4xx/5xx bodies echo the secret, the signed JWT and the bearer token
    When a command or test-module fails through main()
    Then one error entry explains the status and no secret, token or traceback is in entries or logs."""
    caplog.set_level(logging.DEBUG)
    fake = FakeTime()
    monkeypatch.setattr(cyl.Client.__init__, '__defaults__', (fake.sleep, fake.clock))
    issued: list[str] = []
    auth_tokens: list[str] = []
    echoing_endpoints(requests_mock, where, status, issued, auth_tokens)
    entries = run_main(monkeypatch, command, {'package_id': PACKAGE_ID})
    text = json.dumps(entries)
    assert len(entries) == 1 and entries[0]['Type'] == 4
    assert f'status {status}' in entries[0]['Contents'] or 'was not found' in entries[0]['Contents']
    assert 'Traceback' not in text and 'Traceback' not in caplog.text
    assert not re.search(r'Bearer (?!<redacted>)', text)
    for secret in [SECRET, TENANT] + issued + auth_tokens:
        assert secret not in text and secret not in caplog.text


def test_unexpected_failures_are_said_in_words(monkeypatch, requests_mock):
    """Given a command failing with an error we did not raise
    When main() reports it
    Then the entry says what kind of failure it was, without a type name or traceback."""
    def broken(client, args):
        raise KeyError('packageId')
    monkeypatch.setitem(cyl.COMMANDS, 'cylance-optics-get-package', broken)
    entries = run_main(monkeypatch, 'cylance-optics-get-package')
    assert entries[0]['Type'] == 4
    assert 'an unexpected internal error occurred while processing the reply' in entries[0]['Contents']
    assert 'KeyError' not in entries[0]['Contents'] and 'Traceback' not in entries[0]['Contents']


def test_bad_params_through_main(monkeypatch, requests_mock):
    """Given parameters without a tenant
    When main() runs
    Then the error entry says so, without the secret, and nothing is sent."""
    entries = run_main(monkeypatch, 'test-module', params={'credentials': {'identifier': APP_ID, 'password': SECRET}})
    assert entries[0]['Type'] == 4 and 'are all required' in entries[0]['Contents']
    assert SECRET not in entries[0]['Contents'] and requests_mock.call_count == 0


def test_unknown_command(monkeypatch, requests_mock):
    """Given a command the integration does not have
    When main() runs it
    Then the error says it is not implemented."""
    entries = run_main(monkeypatch, 'cylance-optics-no-such-command')
    assert entries[0]['Type'] == 4 and 'not implemented' in entries[0]['Contents']
