"""Token ownership (Cylance): a cached access token belongs to the credentials and the server that issued it.

Changing the application secret, the application ID, the tenant ID or the server URL makes the next command ask
for a new token (signed with the new credentials) and never send the old one; test-module always asks for a fresh
token; the cached integration context never holds the secret.
"""
import json
from typing import Any

import jwt
import pytest

from devtools.emulator import content, credentials
from devtools.runner import errors_of
from tests.hostile.conftest import CYLANCE

BRAND = 'Cylance Optics - Packages'
READY_PACKAGE = content.package_id(0)
APP = credentials.CYLANCE_APP
ROTATED_SECRET = credentials.CYLANCE_ROTATED_SECRETS[APP['app_id']][0]
OTHER_TENANT = '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0'


def with_credentials(params: dict[str, Any], app_id: str | None = None, secret: str | None = None) -> dict[str, Any]:
    return dict(params, credentials={'identifier': app_id or params['credentials']['identifier'],
                                     'password': secret or params['credentials']['password']})


CHANGES = {
    'secret': lambda h, p: with_credentials(p, secret=ROTATED_SECRET),
    'app-id': lambda h, p: dict(with_credentials(p, credentials.CYLANCE_READ_ONLY_APP['app_id'],
                                                 credentials.CYLANCE_READ_ONLY_APP['app_secret']),
                                tenant_id=credentials.CYLANCE_READ_ONLY_APP['tenant_id']),
    'tenant-id': lambda h, p: dict(p, tenant_id=OTHER_TENANT),
    'url': lambda h, p: dict(p, url=h.emulator.alt_url),
}


def new_token_request_matches(change: str, request: dict[str, Any], hostile) -> bool:
    if change == 'secret':
        try:
            jwt.decode(request['auth_token'], ROTATED_SECRET, algorithms=['HS256'], options={'verify_exp': False})
            return True
        except jwt.PyJWTError:
            return False
    if change == 'app-id':
        return request.get('app_id') == credentials.CYLANCE_READ_ONLY_APP['app_id']
    if change == 'tenant-id':
        return request.get('tenant_id') == OTHER_TENANT
    return request.get('host') == hostile.emulator.alt_url.split('://', 1)[1]


@pytest.mark.parametrize('change', list(CHANGES))
def test_changed_instance_settings_get_a_new_token(hostile, change):
    """Given a command ran with credentials A and its token is cached
    When the application secret (or app ID, tenant ID, server URL) changes and a command runs again
    Then a new token is requested with the new settings and the old token is never sent."""
    session = hostile.session(CYLANCE)
    assert not errors_of(session.execute('cylance-optics-get-package', {'package_id': READY_PACKAGE}, using=CYLANCE))
    api = hostile.cylance()
    old_jtis = {r['jti'] for r in api.token_requests if r.get('jti')}
    tokens_before, calls_before = len(api.token_requests), len(api.bearer_calls)
    session.instances[BRAND] = CHANGES[change](hostile, session.instances[BRAND])
    session.execute('cylance-optics-get-package', {'package_id': READY_PACKAGE}, using=CYLANCE)
    new_requests = api.token_requests[tokens_before:]
    assert any(new_token_request_matches(change, r, hostile) for r in new_requests), \
        f'no new token request with the changed {change} (token requests after the change: {len(new_requests)})'
    reused = [c['path'] for c in api.bearer_calls[calls_before:] if c['jti'] in old_jtis]
    assert not reused, f'the token issued for the old settings was sent again: {reused}'


def test_test_module_always_asks_for_a_fresh_token(hostile):
    """Given a valid token cached by an earlier command
    When test-module runs
    Then the emulator sees a token request and test-module answers ok."""
    session = hostile.session(CYLANCE)
    assert not errors_of(session.execute('cylance-optics-list-packages', {'page_size': '1'}, using=CYLANCE))
    before = len(hostile.cylance().token_requests)
    entries = session.execute('test-module', using=CYLANCE)
    assert len(hostile.cylance().token_requests) > before, 'test-module used the cached token'
    assert [e['Contents'] for e in entries] == ['ok']


def test_test_module_with_a_wrong_secret_is_not_ok_despite_a_cached_token(hostile):
    """Given a valid token cached by an earlier command
    When the secret is changed to a wrong one and test-module runs
    Then it asks for a token, is refused, and does not answer ok."""
    session = hostile.session(CYLANCE)
    assert not errors_of(session.execute('cylance-optics-list-packages', {'page_size': '1'}, using=CYLANCE))
    before = len(hostile.cylance().token_requests)
    session.instances[BRAND] = with_credentials(session.instances[BRAND],
                                                secret='wrong-secret-but-long-enough-0123456789')
    entries = session.execute('test-module', using=CYLANCE)
    assert len(hostile.cylance().token_requests) > before, 'test-module used the cached token'
    assert [e.get('Contents') for e in entries] != ['ok'], 'test-module answered ok with a wrong secret'


def test_cached_context_holds_no_secret(hostile):
    """Given commands run with the secret and then the rotated secret
    When the integration context is read
    Then neither secret is in it."""
    session = hostile.session(CYLANCE)
    session.execute('cylance-optics-get-package', {'package_id': READY_PACKAGE}, using=CYLANCE)
    session.instances[BRAND] = with_credentials(session.instances[BRAND], secret=ROTATED_SECRET)
    session.execute('cylance-optics-get-package', {'package_id': READY_PACKAGE}, using=CYLANCE)
    stored = json.dumps(session.integration_contexts)
    assert APP['app_secret'] not in stored and ROTATED_SECRET not in stored
