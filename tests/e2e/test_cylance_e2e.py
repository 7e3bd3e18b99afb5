"""Cylance Optics - Packages end to end over real HTTP against the emulator (real JWT exchange and scopes)."""

from devtools.emulator import content, credentials
from devtools.runner import errors_of, get_context_path
from tests.e2e.conftest import as_list, assert_no_secrets

BRAND = 'Cylance Optics - Packages'


def test_test_module(make_session, caplog):
    session = make_session(only=['CylanceOpticsPackages'])
    assert [e['Contents'] for e in session.execute('test-module', using='CylanceOpticsPackages')] == ['ok']
    assert_no_secrets(session, caplog)


def test_list_get_download(make_session, emulator, caplog):
    session = make_session(only=['CylanceOpticsPackages'])
    assert not errors_of(session.execute('cylance-optics-list-packages', {'page_size': '10', 'limit': '25'}))
    packages = as_list(get_context_path(session.context, 'CylanceOptics.Package'))
    assert len(packages) == 25 and len({p['packageId'] for p in packages}) == 25
    list_calls = [r for r in emulator.request_log() if r['path'] == '/packages/v2']
    assert len(list_calls) == 3  # 10 + 10 + 5

    package_id = packages[4]['packageId']
    entries = session.execute('cylance-optics-get-package', {'package_id': package_id})
    assert not errors_of(entries)
    assert 'Entry Point' in entries[0]['HumanReadable'] and '### Examples' in entries[0]['HumanReadable']

    entries = session.execute('cylance-optics-download-package', {'package_id': package_id})
    assert not errors_of(entries)
    files = [e for e in entries if e['Type'] == 3]
    with open(session.file_path(files[0]['ID']), 'rb') as f:
        assert f.read() == content.package_file_bytes(package_id)
    storage = [r for r in emulator.request_log() if r['path'].startswith('/_storage/packages/')]
    assert storage and not any(r['had_authorization'] for r in storage)
    # one token per scope, reused across commands
    assert len([r for r in emulator.request_log() if r['path'] == '/auth/v2/token']) == 2
    assert_no_secrets(session, caplog)


def test_missing_scope_is_named(make_session, caplog):
    session = make_session(only=['CylanceOpticsPackages'])
    app = credentials.CYLANCE_READ_ONLY_APP
    session.instances[BRAND] = dict(session.instances[BRAND], tenant_id=app['tenant_id'],
                                    credentials={'identifier': app['app_id'], 'password': app['app_secret']})
    errors = errors_of(session.execute('cylance-optics-list-packages'))
    assert 'opticspkgconfig:list' in errors[0] and 'status 403' in errors[0]
    assert app['app_secret'] not in caplog.text


def test_wrong_secret_and_unknown_package(make_session):
    session = make_session(only=['CylanceOpticsPackages'])
    errors = errors_of(session.execute('cylance-optics-get-package', {
        'package_id': '00000000-0000-4000-8000-000000000000'}))
    assert 'was not found' in errors[0]
    session.instances[BRAND] = dict(session.instances[BRAND], credentials={
        'identifier': credentials.CYLANCE_APP['app_id'], 'password': 'not-the-secret-but-long-enough-0123456789'})
    session.integration_contexts.clear()
    entries = session.execute('test-module', using='CylanceOpticsPackages')
    assert 'status 401' in entries[0]['Contents']
