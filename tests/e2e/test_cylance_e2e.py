"""Cylance Optics - Packages end to end over real HTTP against the emulator (real JWT exchange and scopes)."""
import hashlib
import io
import time
import uuid
import zipfile

import jwt
import requests

from devtools.emulator import content, credentials
from devtools.runner import errors_of, get_context_path
from tests.e2e.conftest import as_list, assert_no_secrets

BRAND = 'Cylance Optics - Packages'
OK_DEVICE = 'A1B2C3D4E5F60718293A4B5C6D7E8F90'
FAILING_DEVICE = 'DEAD0000111122223333444455556666'
READY_PACKAGE = content.package_id(0)  # status success in the emulator
SCRIPT = b'import sys\nprint("autoruns", sys.argv[1:])\n'


def add_war_room_file(session, tmp_path, name, data, entry_id='900@1'):
    path = tmp_path / name
    path.write_bytes(data)
    session.files[entry_id] = {'name': name, 'path': str(path)}
    return entry_id


def python_zip():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w') as archive:
        archive.writestr('main.py', SCRIPT)
        archive.writestr('lib/helpers.py', b'VALUE = 1\n')
    return buffer.getvalue()


def readable_texts(entries):
    return [str(e.get('HumanReadable') or e.get('Contents')) for e in entries]


# ---------------------------------------------------------------- packages: read

def test_test_module(make_session, caplog):
    """Given the emulator and the test application
    When test-module runs
    Then it answers ok and nothing secret is in entries, context or logs."""
    session = make_session(only=['CylanceOpticsPackages'])
    assert [e['Contents'] for e in session.execute('test-module', using='CylanceOpticsPackages')] == ['ok']
    assert_no_secrets(session, caplog)


def test_cylance_optics_list_get_and_download_package(make_session, emulator, caplog):
    """Given 25 packages on the emulator
    When they are listed 10 a page, one is read and downloaded
    Then 3 list calls are made, the file is the real zip served, storage gets no token, one token per scope."""
    session = make_session(only=['CylanceOpticsPackages'])
    assert not errors_of(session.execute('cylance-optics-list-packages', {'page_size': '10', 'limit': '25'}))
    packages = as_list(get_context_path(session.context, 'CylanceOptics.Package'))
    assert len(packages) == 25 and len({p['packageId'] for p in packages}) == 25
    assert len([r for r in emulator.request_log() if r['path'] == '/packages/v2']) == 3  # 10 + 10 + 5

    package_id = packages[4]['packageId']
    entries = session.execute('cylance-optics-get-package', {'package_id': package_id})
    assert not errors_of(entries)
    assert 'Entry Point' in entries[0]['HumanReadable'] and '### Examples' in entries[0]['HumanReadable']

    entries = session.execute('cylance-optics-download-package', {'package_id': package_id})
    assert not errors_of(entries)
    files = [e for e in entries if e['Type'] == 3]
    with open(session.file_path(files[0]['ID']), 'rb') as f:
        data = f.read()
    assert data == content.package_file_bytes(package_id) and zipfile.is_zipfile(io.BytesIO(data))
    storage = [r for r in emulator.request_log() if r['path'].startswith('/_storage/packages/')]
    assert storage and not any(r['had_authorization'] for r in storage)
    assert len([r for r in emulator.request_log() if r['path'] == '/auth/v2/token']) == 2  # one per scope
    assert_no_secrets(session, caplog)


def test_missing_scope_is_named(make_session, caplog):
    """Given an application granted only opticspkgconfig:read
    When it lists packages, then runs a package
    Then the errors name opticspkgconfig:list and opticspkgdeploy:create."""
    session = make_session(only=['CylanceOpticsPackages'])
    app = credentials.CYLANCE_READ_ONLY_APP
    session.instances[BRAND] = dict(session.instances[BRAND], tenant_id=app['tenant_id'],
                                    credentials={'identifier': app['app_id'], 'password': app['app_secret']})
    errors = errors_of(session.execute('cylance-optics-list-packages'))
    assert 'opticspkgconfig:list' in errors[0] and 'status 403' in errors[0]
    errors = errors_of(session.execute('cylance-optics-run-package', {'package': READY_PACKAGE,
                                                                      'device_ids': OK_DEVICE}))
    assert 'lacks the opticspkgdeploy:create scope' in errors[0]
    assert app['app_secret'] not in caplog.text


def test_wrong_secret_and_unknown_package(make_session):
    """Given an unknown package id, then a wrong application secret
    When the package is read, then test-module runs
    Then the first says not found, the second is an error entry with status 401."""
    session = make_session(only=['CylanceOpticsPackages'])
    errors = errors_of(session.execute('cylance-optics-get-package', {
        'package_id': '00000000-0000-4000-8000-000000000000'}))
    assert 'was not found' in errors[0]
    session.instances[BRAND] = dict(session.instances[BRAND], credentials={
        'identifier': credentials.CYLANCE_APP['app_id'], 'password': 'not-the-secret-but-long-enough-0123456789'})
    session.integration_contexts.clear()
    entries = session.execute('test-module', using='CylanceOpticsPackages')
    assert entries[0]['Type'] == 4 and 'status 401' in entries[0]['Contents']


# ---------------------------------------------------------------- packages: create

def test_cylance_optics_create_package_uploads_and_polls_until_success(make_session, emulator, tmp_path, caplog):
    """Given a zip of Python files in the War Room
    When create-package runs with polling
    Then the file is PUT without a token to the upload link, the package ends success with the right checksum,
    and downloading it gives the same bytes."""
    session = make_session(only=['CylanceOpticsPackages'])
    data = python_zip()
    entry_id = add_war_room_file(session, tmp_path, 'autoruns.zip', data)
    entries = session.execute('cylance-optics-create-package', {
        'entry_id': entry_id, 'name': 'Autoruns-XSOAR', 'version': '3', 'entry_point': 'main.py',
        'examples': '[{"description": "All", "invocationString": "--all"}]', 'interval_in_seconds': '10'})
    assert not errors_of(entries)
    package = as_list(get_context_path(session.context, 'CylanceOptics.Package'))[-1]
    assert package['status'] == 'success' and package['size'] == len(data)
    assert package['checksum'] == hashlib.sha256(data).hexdigest()
    uploads = [r for r in emulator.request_log() if r['path'].startswith('/_uploads/optics/')]
    assert len(uploads) == 1 and uploads[0]['method'] == 'PUT' and not uploads[0]['had_authorization']
    # the uploaded package is the one the API now serves
    entries = session.execute('cylance-optics-download-package', {'package_id': package['packageId']})
    with open(session.file_path([e for e in entries if e['Type'] == 3][0]['ID']), 'rb') as f:
        assert f.read() == data
    assert_no_secrets(session, caplog)


def test_cylance_optics_create_package_checksum_mismatch_fails_the_package(make_session, emulator):
    """Given a package created with one checksum and uploaded with other bytes
    When get-package polls it
    Then the error says its upload status is failed."""
    session = make_session(only=['CylanceOpticsPackages'])
    token = requests.post(emulator.url + '/auth/v2/token', json={'auth_token': session_jwt('opticspkgconfig:create')},
                          timeout=10).json()['access_token']
    created = requests.post(emulator.url + '/packages/v2', headers={'Authorization': 'Bearer ' + token}, json={
        'checksum': hashlib.sha256(b'what was promised').hexdigest(),
        'packageDescriptor': {'name': 'Tampered', 'description': '', 'examples': [], 'version': 1,
                              'packageInfo': {'fileType': 'python', 'fileName': 'x.py', 'entryPoint': ''}}},
                            timeout=10).json()
    assert requests.put(created['uploadTo'], data=b'something else', timeout=10).status_code == 200
    errors = errors_of(session.execute('cylance-optics-get-package', {'package_id': created['packageId'],
                                                                      'polling': 'true', 'interval_in_seconds': '10'}))
    assert 'its upload status is failed' in errors[0]


def session_jwt(scope):
    app = credentials.CYLANCE_APP
    now = int(time.time())
    token = jwt.encode({'iss': 'http://cylance.com', 'sub': app['app_id'], 'tid': app['tenant_id'], 'iat': now,
                        'exp': now + 600, 'jti': str(uuid.uuid4()), 'scp': scope}, app['app_secret'], algorithm='HS256')
    return token.decode() if isinstance(token, bytes) else token


# ---------------------------------------------------------------- executions

def test_cylance_optics_run_package_on_two_devices_one_fails(make_session, emulator, caplog):
    """Given a package by name and version, a working device and a failing one (lower case)
    When run-package runs one execution per device with polling
    Then the progress entries count 1 device each, both executions finish and only the failing device is named."""
    session = make_session(only=['CylanceOpticsPackages'])
    entries = session.execute('cylance-optics-run-package', {
        'package': 'Collect-Autoruns', 'package_version': '1.0.0', 'device_ids': [OK_DEVICE, FAILING_DEVICE.lower()],
        'arguments': '-browser ALL', 'execution_per_device': 'true', 'interval_in_seconds': '10'})
    assert not errors_of(entries)
    progress = [t for t in readable_texts(entries) if 'acked' in t]
    assert progress and all('of 1 devices, elapsed' in line for t in progress for line in t.split('\n'))
    executions = as_list(get_context_path(session.context, 'CylanceOptics.Execution'))
    assert len(executions) == 2 and all(e['progress']['finished'] for e in executions)
    failed = [e for e in executions if e['progress']['notSucceeded']]
    assert [e['target']['devices'] for e in failed] == [[FAILING_DEVICE]]
    assert failed[0]['progress']['notSucceededDevices'] == [FAILING_DEVICE]
    assert f'did not succeed: {FAILING_DEVICE}' in readable_texts(entries)[-1]
    created = [r for r in emulator.request_log() if r['path'] == '/packages/v2/executions' and r['method'] == 'POST']
    assert len(created) == 2
    assert_no_secrets(session, caplog)


def test_cylance_optics_run_package_on_a_zone_reports_counts(make_session):
    """Given a zone (with dashes) holding one failing device
    When run-package runs on it with polling
    Then the target is the normalised zone id, the counts are 3 acked / 2 succeeded / 1 failed, and the outcome
    says the API reports counts only."""
    session = make_session(only=['CylanceOpticsPackages'])
    entries = session.execute('cylance-optics-run-package', {'package': READY_PACKAGE,
                                                            'zone_ids': 'dead0000-1111-2222-3333-444455556666',
                                                            'interval_in_seconds': '10'})
    assert not errors_of(entries)
    execution = as_list(get_context_path(session.context, 'CylanceOptics.Execution'))[0]
    assert execution['target'] == {'zones': ['DEAD0000111122223333444455556666']}
    assert execution['deviceStatuses'] == {'acked': 3, 'failed': 1, 'succeeded': 2}
    assert 'the API reports counts only' in readable_texts(entries)[-1]


def test_cylance_optics_list_get_and_delete_execution(make_session):
    """Given an execution started without polling
    When executions are listed, the execution is deleted, then read
    Then it is listed, marked deleted, then not found."""
    session = make_session(only=['CylanceOpticsPackages'])
    session.execute('cylance-optics-run-package', {'package': READY_PACKAGE, 'device_ids': OK_DEVICE,
                                                   'polling': 'false'})
    execution_id = get_context_path(session.context, 'CylanceOptics.Execution.id')
    listed = session.execute('cylance-optics-list-executions', {'page_size': '5'})
    assert not errors_of(listed) and execution_id in listed[0]['HumanReadable']
    assert not errors_of(session.execute('cylance-optics-delete-execution', {'execution_id': execution_id}))
    assert get_context_path(session.context, 'CylanceOptics.Execution.deleted') is True
    errors = errors_of(session.execute('cylance-optics-get-execution', {'execution_id': execution_id}))
    assert 'was not found' in errors[0]


def test_cylance_optics_run_package_ids_checked_before_any_request(make_session, emulator):
    """Given devices and zones given together
    When run-package runs
    Then the error says not both and the emulator saw no request."""
    session = make_session(only=['CylanceOpticsPackages'])
    errors = errors_of(session.execute('cylance-optics-run-package', {'package': READY_PACKAGE,
                                                                      'device_ids': OK_DEVICE, 'zone_ids': OK_DEVICE}))
    assert 'not both' in errors[0] and emulator.request_log() == []


def test_busy_execution_endpoint_is_retried(make_session, emulator):
    """Given an execution endpoint answering 503 once
    When run-package runs
    Then the create call is retried once and succeeds."""
    session = make_session(only=['CylanceOpticsPackages'])
    emulator.add_fault('/packages/v2/executions', 'status', count=1, status=503, retry_after=0)
    entries = session.execute('cylance-optics-run-package', {'package': READY_PACKAGE, 'device_ids': OK_DEVICE,
                                                            'polling': 'false'})
    assert not errors_of(entries)
    posts = [r for r in emulator.request_log() if r['path'] == '/packages/v2/executions']
    assert len(posts) == 2
