"""Redirects: nothing credential-like ever reaches another origin; API calls never follow a redirect.

Downloads may follow a redirect by hand, as a GET without body and without any credential, never from https to
http and for a few hops only.
"""
from typing import Any, NamedTuple

import pytest

from devtools.emulator import content
from tests.hostile.conftest import (CYLANCE, OK_DEVICE, OK_ENDPOINT, WIN_PATH, XDR, assert_plain_error,
                                    credential_leaks, file_entries, leftovers, xdr_completed_action)

CODES = (301, 302, 303, 307, 308)
TARGETS = ('other-host', 'same-ip')
MAX_HOPS = 5  # "a few": the request itself and at most this many redirects followed
READY_PACKAGE = content.package_id(0)


class Call(NamedTuple):
    """A command and the request of it that the emulator redirects."""
    command: str
    args: dict[str, Any]
    path: str
    method: str


XDR_API_CALLS = [
    Call('xdr-response-get-distribution-versions', {}, '/public_api/v1/distributions/get_versions', 'POST'),
    Call('xdr-response-file-retrieve', {'endpoint_ids': OK_ENDPOINT, 'windows_file_paths': WIN_PATH,
                                        'polling': 'false'}, '/public_api/v1/endpoints/file_retrieval', 'POST'),
]
CYLANCE_API_CALLS = [
    Call('cylance-optics-list-packages', {'page_size': '5'}, '/auth/v2/token', 'POST'),
    Call('cylance-optics-list-packages', {'page_size': '5'}, '/packages/v2', 'GET'),
    Call('cylance-optics-run-package', {'package': READY_PACKAGE, 'device_ids': OK_DEVICE, 'polling': 'false'},
         '/packages/v2/executions', 'POST'),
]


def redirect_cases(calls: list[Call], auths: tuple[str, ...]):
    for call in calls:
        for auth in auths:
            for target in TARGETS:
                for code in CODES:
                    yield pytest.param(call, auth, target, code,
                                       id=f'{call.method}-{call.path.rsplit("/", 2)[-2]}/{call.path.rsplit("/", 1)[-1]}'
                                          f'-{auth}-{target}-{code}')


def assert_not_followed(hostile, origin, entries):
    leaks = credential_leaks(origin.requests())
    assert not leaks, f'credentials reached the other origin: {leaks}'
    followed = [(r.method, r.path) for r in origin.requests()]
    assert followed == [], f'the API call followed the redirect to {origin.url}: {followed}'
    text = assert_plain_error(entries)
    assert 'redirect' in text.lower(), f'the error does not say the API answered with a redirect: {text[:500]}'


@pytest.mark.parametrize('call, auth, target, code', list(redirect_cases(XDR_API_CALLS, ('standard', 'advanced'))))
def test_xdr_api_call_is_not_redirected(hostile, call, auth, target, code):
    """Given the XDR API answering a call with a redirect (and a cookie) to another origin
    When the command runs with a Standard or an Advanced key
    Then no key header, nonce, timestamp, cookie or body reaches the other origin, the redirect is not followed,
    and the error says the API redirected."""
    origin = hostile.origin(target)
    hostile.emulator.add_fault(call.path, 'redirect', method=call.method, exact=True, status=code,
                               location=origin.url + '{path}', cookie=True)
    session = hostile.session(XDR, auth)
    entries = session.execute(call.command, call.args, using=XDR)
    assert_not_followed(hostile, origin, entries)


@pytest.mark.parametrize('call, auth, target, code', list(redirect_cases(CYLANCE_API_CALLS, ('standard',))))
def test_cylance_api_call_is_not_redirected(hostile, call, auth, target, code):
    """Given the Cylance API answering the token call or an API call with a redirect (and a cookie) to another origin
    When the command runs
    Then no bearer token, cookie, signed JWT or other body reaches the other origin, the redirect is not followed,
    and the error says the API redirected."""
    origin = hostile.origin(target)
    hostile.emulator.add_fault(call.path, 'redirect', method=call.method, exact=True, status=code,
                               location=origin.url + '{path}', cookie=True)
    session = hostile.session(CYLANCE)
    entries = session.execute(call.command, call.args, using=CYLANCE)
    assert_not_followed(hostile, origin, entries)


def assert_download_redirect_safe(origin, entries, session):
    """A download may follow the redirect: then as a GET, without body and credentials, a few hops at most."""
    received = origin.requests()
    leaks = credential_leaks(received)
    assert not leaks, f'credentials reached the other origin: {leaks}'
    assert all(r.method == 'GET' for r in received), [(r.method, r.path) for r in received]
    assert len(received) <= MAX_HOPS
    errors = [e for e in entries if e.get('Type') == 4]
    if errors:
        assert_plain_error(entries)
        assert not file_entries(entries), 'a file entry beside the error of a failed download'
    assert not leftovers(session)


@pytest.mark.parametrize('auth, target, code', [pytest.param(a, t, c, id=f'{a}-{t}-{c}')
                                                for a in ('standard', 'advanced') for t in TARGETS for c in CODES])
def test_xdr_download_link_redirect_carries_no_credentials(hostile, auth, target, code):
    """Given a completed Retrieve File whose download link answers with a redirect (and a cookie) to another origin
    When xdr-response-retrieve-file-details downloads it
    Then the other origin gets at most a plain GET without body, key headers or cookie."""
    origin = hostile.origin(target)
    session = hostile.session(XDR, auth)
    action_id = xdr_completed_action(session)
    hostile.emulator.add_fault('/public_api/v1/download/', 'redirect', status=code, location=origin.url + '{path}',
                               cookie=True)
    entries = session.execute('xdr-response-retrieve-file-details', {'action_id': action_id}, using=XDR)
    assert_download_redirect_safe(origin, entries, session)


@pytest.mark.parametrize('target, code', [pytest.param(t, c, id=f'{t}-{c}') for t in TARGETS for c in CODES])
def test_xdr_distribution_download_redirect_carries_no_credentials(hostile, target, code):
    """Given a distribution URL on the storage host that redirects to another origin
    When xdr-response-get-distribution-url downloads the package
    Then the other origin gets at most a plain GET without body or credentials; a file, if any, is what it served."""
    origin = hostile.origin(target)
    origin.answer(200, b'installer-bytes')
    storage_url = hostile.emulator.alt_url + '/_storage/distributions/d1/x64?sig=abc'
    hostile.emulator.add_fault('distributions/get_dist_url', 'reply', body={'reply': {'distribution_url': storage_url}})
    hostile.emulator.add_fault('/_storage/distributions/', 'redirect', status=code, location=origin.url + '/pkg.msi')
    session = hostile.session(XDR, 'advanced')
    entries = session.execute('xdr-response-get-distribution-url', {'distribution_id': 'd1', 'package_type': 'x64',
                                                                    'download': 'true'}, using=XDR)
    assert_download_redirect_safe(origin, entries, session)
    for entry in file_entries(entries):
        with open(session.file_path(entry['ID']), 'rb') as f:
            assert f.read() == b'installer-bytes'


@pytest.mark.parametrize('where', ['storage-host', 'api-host'])
@pytest.mark.parametrize('target, code', [pytest.param(t, c, id=f'{t}-{c}') for t in TARGETS for c in CODES])
def test_cylance_download_redirect_carries_no_credentials(hostile, where, target, code):
    """Given a package downloadUrl (on the storage host, or on the API host where the token is sent) that redirects
    to another origin
    When cylance-optics-download-package runs
    Then the other origin gets at most a plain GET without body, bearer token or cookie."""
    origin = hostile.origin(target)
    base = hostile.emulator.alt_url if where == 'storage-host' else hostile.emulator.url
    url = f'{base}/_storage/packages/{READY_PACKAGE}/p.zip?sig=abc'
    hostile.emulator.add_fault(f'/packages/v2/{READY_PACKAGE}', 'package', exact=True, fields={'downloadUrl': url})
    hostile.emulator.add_fault('/_storage/packages/', 'redirect', status=code, location=origin.url + '/p.zip',
                               cookie=True)
    session = hostile.session(CYLANCE)
    entries = session.execute('cylance-optics-download-package', {'package_id': READY_PACKAGE}, using=CYLANCE)
    assert_download_redirect_safe(origin, entries, session)


LOOPS = [pytest.param('emulator', id='loop-on-the-storage-host'), pytest.param('other', id='loop-on-the-other-origin')]


def add_loop(hostile, storage_path, loop):
    if loop == 'emulator':
        hostile.emulator.add_fault(storage_path, 'redirect', status=302, location='{self}{path}')
        return
    hostile.other_host.answer_redirect('{self}/loop')
    hostile.emulator.add_fault(storage_path, 'redirect', status=302, location=hostile.other_host.url + '/start')


def assert_loop_ended(hostile, storage_path, entries, session):
    hops = len(hostile.requests_to(storage_path)) + len(hostile.other_host.requests())
    assert hops <= MAX_HOPS + 1, f'{hops} requests followed the redirect loop'
    text = assert_plain_error(entries)
    assert 'redirect' in text.lower(), f'the error does not name the redirects: {text[:500]}'
    assert not file_entries(entries) and not leftovers(session)


@pytest.mark.parametrize('loop', LOOPS)
def test_xdr_distribution_redirect_loop_ends(hostile, loop):
    """Given a distribution URL that redirects in a loop
    When the package is downloaded
    Then a few hops at most are made and the error mentions the redirects."""
    storage_url = hostile.emulator.alt_url + '/_storage/distributions/d1/deb?sig=abc'
    hostile.emulator.add_fault('distributions/get_dist_url', 'reply', body={'reply': {'distribution_url': storage_url}})
    add_loop(hostile, '/_storage/distributions/', loop)
    session = hostile.session(XDR)
    entries = session.execute('xdr-response-get-distribution-url', {'distribution_id': 'd1', 'package_type': 'deb',
                                                                    'download': 'true'}, using=XDR)
    assert_loop_ended(hostile, '/_storage/distributions/', entries, session)


@pytest.mark.parametrize('loop', LOOPS)
def test_cylance_download_redirect_loop_ends(hostile, loop):
    """Given a package downloadUrl that redirects in a loop
    When the package is downloaded
    Then a few hops at most are made and the error mentions the redirects."""
    add_loop(hostile, '/_storage/packages/', loop)
    session = hostile.session(CYLANCE)
    entries = session.execute('cylance-optics-download-package', {'package_id': READY_PACKAGE}, using=CYLANCE)
    assert_loop_ended(hostile, '/_storage/packages/', entries, session)


@pytest.fixture
def tls_hostile(hostile, tls_emulator):
    tls_emulator.reset()
    yield hostile
    tls_emulator.clear_faults()


def test_cylance_download_redirect_from_https_to_http_is_refused(tls_hostile, tls_emulator):
    """Given an https API whose package storage URL redirects to an http origin
    When the package is downloaded
    Then nothing is sent over http, no file is kept and the error says why."""
    tls_emulator.add_fault('/_storage/packages/', 'redirect', status=302,
                           location=tls_hostile.same_ip.url + '/p.zip')
    session = tls_hostile.session(CYLANCE, emulator=tls_emulator, insecure=True)
    entries = session.execute('cylance-optics-download-package', {'package_id': READY_PACKAGE}, using=CYLANCE)
    assert tls_hostile.same_ip.requests() == [], 'the download followed a redirect from https to http'
    assert_plain_error(entries)
    assert not file_entries(entries) and not leftovers(session)


def test_xdr_distribution_redirect_from_https_to_http_is_refused(tls_hostile, tls_emulator):
    """Given an https distribution URL that redirects to an http origin
    When the package is downloaded
    Then nothing is sent over http, no file is kept and the error says why."""
    storage_url = tls_emulator.alt_url + '/_storage/distributions/d1/deb?sig=abc'
    tls_emulator.add_fault('distributions/get_dist_url', 'reply', body={'reply': {'distribution_url': storage_url}})
    tls_emulator.add_fault('/_storage/distributions/', 'redirect', status=302,
                           location=tls_hostile.same_ip.url + '/p.deb')
    session = tls_hostile.session(XDR, emulator=tls_emulator, insecure=True)
    entries = session.execute('xdr-response-get-distribution-url', {'distribution_id': 'd1', 'package_type': 'deb',
                                                                    'download': 'true'}, using=XDR)
    assert tls_hostile.same_ip.requests() == [], 'the download followed a redirect from https to http'
    assert_plain_error(entries)
    assert not file_entries(entries) and not leftovers(session)
