"""Cortex XDR - Response Actions end to end: every command over real HTTP against the emulator, both key types."""
import hashlib

import pytest

from devtools.emulator import content, credentials
from devtools.runner import errors_of, get_context_path
from tests.e2e.conftest import as_list, assert_no_secrets

AUTH_MODES = ['standard', 'advanced']
OK_ENDPOINT = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'
FAILING_ENDPOINT = 'fail0000111122223333444455556666'
WIN_PATH = 'C:\\Users\\analyst\\Downloads\\invoice.exe'
LINUX_PATH = '/tmp/dropper.sh'


@pytest.mark.parametrize('auth', AUTH_MODES)
def test_test_module(make_session, caplog, auth):
    session = make_session(auth)
    entries = session.execute('test-module', using='CortexXDRResponse')
    assert [e['Contents'] for e in entries] == ['ok']
    assert_no_secrets(session, caplog)


@pytest.mark.parametrize('auth', AUTH_MODES)
def test_xdr_response_create_distribution_wait_url_and_download(make_session, caplog, auth):
    session = make_session(auth)
    versions = session.execute('xdr-response-get-distribution-versions')
    assert not errors_of(versions)
    windows_version = as_list(get_context_path(session.context, 'PaloAltoNetworksXDR.DistributionVersions.windows'))[0]

    created = session.execute('xdr-response-create-distribution', {'name': 'IR Windows', 'platform': 'windows',
                                                          'package_type': 'standalone',
                                                          'agent_version': windows_version})
    assert not errors_of(created)
    distribution_id = get_context_path(session.context, 'PaloAltoNetworksXDR.Distribution.id')

    status = session.execute('xdr-response-get-create-distribution-status', {'distribution_ids': distribution_id,
                                                                    'polling': 'true', 'interval_in_seconds': '10'})
    assert not errors_of(status)
    assert len([e for e in status if e.get('PollingCommand')]) >= 1  # it really waited
    assert get_context_path(session.context, 'PaloAltoNetworksXDR.Distribution.status') == 'Completed'

    url = session.execute('xdr-response-get-distribution-url', {'distribution_id': distribution_id, 'package_type': 'x64',
                                                       'download': 'true'})
    assert not errors_of(url)
    files = [e for e in url if e['Type'] == 3]
    assert len(files) == 1 and files[0]['File'].endswith('.msi')
    with open(session.file_path(files[0]['ID']), 'rb') as f:
        assert f.read() == content.distribution_file_bytes(distribution_id, 'x64')
    assert_no_secrets(session, caplog)


def test_xdr_response_get_distribution_url_download_sends_no_credentials_to_storage_host(make_session, emulator):
    session = make_session()
    session.execute('xdr-response-create-distribution', {'name': 'L', 'platform': 'linux', 'package_type': 'standalone',
                                                'agent_version': '8.4.0.1'})
    distribution_id = get_context_path(session.context, 'PaloAltoNetworksXDR.Distribution.id')
    session.execute('xdr-response-get-create-distribution-status', {'distribution_ids': distribution_id, 'polling': 'true'})
    assert not errors_of(session.execute('xdr-response-get-distribution-url', {
        'distribution_id': distribution_id, 'package_type': 'deb', 'download': 'true'}))
    storage = [r for r in emulator.request_log() if r['path'].startswith('/_storage/')]
    assert storage and not any(r['had_authorization'] for r in storage)


def test_xdr_response_create_distribution_validation_errors_reach_the_war_room(make_session):
    session = make_session()
    entries = session.execute('xdr-response-create-distribution', {'name': 'x', 'package_type': 'upgrade'})
    assert 'upgrade package needs agent_version' in errors_of(entries)[0]


@pytest.mark.parametrize('auth', AUTH_MODES)
def test_xdr_response_file_retrieve_two_endpoints_one_fails(make_session, caplog, emulator, auth):
    session = make_session(auth)
    entries = session.execute('xdr-response-file-retrieve', {
        'endpoint_ids': f'{OK_ENDPOINT},{FAILING_ENDPOINT}',
        'windows_file_paths': WIN_PATH, 'linux_file_paths': LINUX_PATH,
        'polling': 'true', 'interval_in_seconds': '10'})
    # partial failure: no error entry; the failed endpoint is named in the War Room and in the context
    assert errors_of(entries) == []
    assert any(FAILING_ENDPOINT in str(e.get('HumanReadable') or '') and 'could not be retrieved' in
               str(e.get('HumanReadable') or '') for e in entries)
    rows = {row['endpoint_id']: row for row in as_list(
        get_context_path(session.context, 'PaloAltoNetworksXDR.RetrievedFiles'))}
    assert rows[FAILING_ENDPOINT]['status'] == 'FAILED' and rows[FAILING_ENDPOINT]['error']
    ok = rows[OK_ENDPOINT]
    expected = {content.zip_entry_name(p): content.retrieved_file_sha256(OK_ENDPOINT, p) for p in (WIN_PATH, LINUX_PATH)}
    assert {f['archive_path']: f['sha256'] for f in ok['files']} == expected
    context_files = as_list(get_context_path(session.context, 'File'))
    assert sorted(f['SHA256'] for f in context_files) == sorted(expected.values())
    for f in context_files:
        with open(session.file_path(f['EntryID']), 'rb') as handle:
            assert hashlib.sha256(handle.read()).hexdigest() == f['SHA256']
    downloads = [r for r in emulator.request_log() if '/download/' in r['path']]
    assert len(downloads) == 1  # once, only for the endpoint that succeeded
    assert_no_secrets(session, caplog)


@pytest.mark.parametrize('auth', AUTH_MODES)
def test_xdr_response_action_status_get_and_retrieve_file_details_without_polling(make_session, caplog, auth):
    session = make_session(auth)
    started = session.execute('xdr-response-file-retrieve', {'endpoint_ids': OK_ENDPOINT, 'generic_file_path': WIN_PATH,
                                                    'polling': 'false'})
    assert not errors_of(started)
    action_id = as_list(get_context_path(session.context, 'PaloAltoNetworksXDR.RetrievedFiles.action_id'))[0]
    for _ in range(5):
        session.execute('xdr-response-action-status-get', {'action_id': str(action_id)})
    assert as_list(get_context_path(session.context, 'PaloAltoNetworksXDR.GetActionStatus.status'))[-1] == \
        'COMPLETED_SUCCESSFULLY'
    details = session.execute('xdr-response-retrieve-file-details', {'action_id': str(action_id), 'return_zip': 'true'})
    assert not errors_of(details)
    names = sorted(e['File'] for e in details if e['Type'] == 3)
    assert len(names) == 2 and names[1].endswith('.zip')
    assert get_context_path(session.context, 'File.SHA256') is not None
    assert_no_secrets(session, caplog)


@pytest.mark.parametrize('auth', AUTH_MODES)
def test_xdr_response_get_quarantine_status_batch(make_session, caplog, emulator, auth):
    session = make_session(auth)
    hashes = [hashlib.sha256(f'file-{i}'.encode()).hexdigest() for i in range(250)]
    entries = session.execute('xdr-response-get-quarantine-status', {'endpoint_id': OK_ENDPOINT, 'file_path': 'C:\\x.exe',
                                                            'file_hash': ','.join(hashes)})
    assert not errors_of(entries)
    rows = as_list(get_context_path(session.context, 'PaloAltoNetworksXDR.quarantineFiles.status'))
    assert len(rows) == 250
    assert [row['status'] for row in rows] == [content.is_quarantined(h) for h in hashes]
    calls = [r for r in emulator.request_log() if r['path'].endswith('quarantine/status')]
    assert len(calls) == 3  # batched by 100
    assert_no_secrets(session, caplog)


@pytest.mark.parametrize('key_name, status, meaning', [
    ('XDR_NO_LICENSE', 402, 'License required'),
    ('XDR_NO_ROLE', 403, 'RBAC permissions'),
])
def test_license_and_role_errors(make_session, caplog, key_name, status, meaning):
    key = getattr(credentials, key_name)
    session = make_session()
    session.instances['Cortex XDR - Response Actions'] = dict(
        session.instances['Cortex XDR - Response Actions'],
        credentials={'identifier': key['key_id'], 'password': key['key']})
    errors = errors_of(session.execute('xdr-response-get-distribution-versions'))
    assert meaning in errors[0] and f'status {status}' in errors[0]
    assert key['key'] not in caplog.text + errors[0]


def test_wrong_key_type_is_an_auth_error(make_session):
    session = make_session('advanced')
    params = session.instances['Cortex XDR - Response Actions']
    session.instances['Cortex XDR - Response Actions'] = dict(params, auth_type='Standard')
    entries = session.execute('test-module', using='CortexXDRResponse')
    assert 'authentication failed' in entries[0]['Contents']
