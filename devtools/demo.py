"""The demo: the pack's main job end to end on the embedded emulator (no tenant needed).

    bash devtools/dev.sh demo            (python -m devtools demo --out demo-output)

An analyst's day: build a Windows installation package and wait for it; pull a suspicious file off two
endpoints (one is offline, so it fails with a reason) through the "Cortex XDR - Retrieve Files" playbook,
unzip and hash what came back; check the quarantine status of a batch of files; download a Cylance Optics package,
upload it again as a new package and run it on two devices (one fails). Files are left in the output folder;
exit 0 on success.
"""
import hashlib
import os
import shutil
import sys
import time
import zipfile

from devtools import instances
from devtools.emulator import Emulator
from devtools.playbooks import run_playbook
from devtools.runner import FILE_ENTRY, Session, errors_of, get_context_path

OK_ENDPOINT = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'
OFFLINE_ENDPOINT = 'fail0000111122223333444455556666'
SUSPICIOUS = 'C:\\Users\\jdoe\\AppData\\Local\\Temp\\invoice_2026.exe'
RETRIEVE_PLAYBOOK = 'Cortex XDR - Retrieve Files'
QUARANTINE_SAMPLE = 150


class DemoFailed(Exception):
    pass


def as_list(value):
    return value if isinstance(value, list) else ([] if value is None else [value])


def api_calls(emulator, path_part):
    """How many requests the emulator has served on paths containing path_part (measured, not assumed)."""
    return sum(1 for request in emulator.request_log() if path_part in request['path'])


def step(title):
    print(f'\n== {title}', flush=True)


def run(session, command, args=None, expect_errors=False):
    entries = session.execute(command, args or {})
    errors = errors_of(entries)
    if errors and not expect_errors:
        raise DemoFailed(f'{command} failed: {errors[0]}')
    return entries, errors


def distribution(session):
    step('Create a Windows installation package and wait until it is ready')
    run(session, 'xdr-response-get-distribution-versions')
    version = as_list(get_context_path(session.context, 'PaloAltoNetworksXDR.DistributionVersions.windows'))[0]
    run(session, 'xdr-response-create-distribution', {'name': 'IR jump kit', 'platform': 'windows',
                                             'package_type': 'standalone', 'agent_version': version,
                                             'description': 'Created by the Endpoint Response demo'})
    distribution_id = get_context_path(session.context, 'PaloAltoNetworksXDR.Distribution.id')
    run(session, 'xdr-response-get-create-distribution-status', {'distribution_ids': distribution_id, 'polling': 'true',
                                                        'interval_in_seconds': '30'})
    entries, _ = run(session, 'xdr-response-get-distribution-url', {'distribution_id': distribution_id, 'package_type': 'x64',
                                                           'download': 'true'})
    package = [e for e in entries if e.get('Type') == FILE_ENTRY][0]
    print('  package {} (agent {}) is {}'.format(distribution_id, version, get_context_path(
        session.context, 'PaloAltoNetworksXDR.Distribution.status')))
    print('  URL: {}'.format(get_context_path(session.context, 'PaloAltoNetworksXDR.Distribution.url')))
    print('  downloaded {} ({} bytes)'.format(package['File'], package['FileContext']['Size']))


def retrieve_files(session):
    step(f'Retrieve {SUSPICIOUS} from two endpoints (one is offline)')
    inputs = {'endpoint_ids': f'{OK_ENDPOINT},{OFFLINE_ENDPOINT}', 'windows_file_paths': SUSPICIOUS,
              'linux_file_paths': '/tmp/.x/miner.sh'}
    playbook_run = run_playbook(session, RETRIEVE_PLAYBOOK, inputs)
    print('  playbook "{}" task path: {}'.format(RETRIEVE_PLAYBOOK, ' -> '.join(playbook_run.task_path)))
    rows = as_list(get_context_path(session.context, 'PaloAltoNetworksXDR.RetrievedFiles'))
    by_endpoint = {row['endpoint_id']: row for row in rows if isinstance(row, dict)}
    if OK_ENDPOINT not in by_endpoint or not by_endpoint[OK_ENDPOINT].get('files'):
        raise DemoFailed(f'no files were retrieved from {OK_ENDPOINT}')
    for endpoint_id, row in sorted(by_endpoint.items()):
        if row.get('files'):
            for f in row['files']:
                print('  {}  {}  {:>8} bytes  SHA256 {}'.format(endpoint_id, f['name'], f['size'], f['sha256']))
        else:
            print('  {}  {}: {}'.format(endpoint_id, row.get('status'), row.get('error')))
    for f in as_list(get_context_path(session.context, 'File')):
        with open(session.file_path(f['EntryID']), 'rb') as handle:
            if hashlib.sha256(handle.read()).hexdigest() != f['SHA256']:
                raise DemoFailed('{} on disk does not match its SHA256'.format(f['Name']))


def quarantine(session, emulator):
    step(f'Check the quarantine status of {QUARANTINE_SAMPLE} files from the outbreak list')
    hashes = [hashlib.sha256(f'outbreak-sample-{i}'.encode()).hexdigest() for i in range(QUARANTINE_SAMPLE)]
    calls_before = api_calls(emulator, 'quarantine/status')
    run(session, 'xdr-response-get-quarantine-status', {'endpoint_id': OK_ENDPOINT, 'file_path': SUSPICIOUS,
                                                        'file_hash': ','.join(hashes)})
    calls = api_calls(emulator, 'quarantine/status') - calls_before
    rows = as_list(get_context_path(session.context, 'PaloAltoNetworksXDR.quarantineFiles.status'))
    quarantined = sum(1 for row in rows if row.get('status') is True)
    print(f'  {quarantined} of {len(rows)} files quarantined on {OK_ENDPOINT} ({calls} batched API calls)')


CYLANCE_OK_DEVICE = 'A1B2C3D4E5F60718293A4B5C6D7E8F90'
CYLANCE_FAILING_DEVICE = 'DEAD0000111122223333444455556666'  # the emulator fails devices whose id starts with DEAD


def cylance(session):
    step('Cylance Optics: download a package, upload it as a new one, run it on two devices (one fails)')
    started = time.time()
    run(session, 'cylance-optics-list-packages', {'limit': '30', 'page_size': '10'})
    packages = as_list(get_context_path(session.context, 'CylanceOptics.Package'))
    print(f'  {len(packages)} packages listed')
    chosen = next(p for p in packages if p.get('status') == 'success')
    entries, _ = run(session, 'cylance-optics-download-package', {'package_id': chosen['packageId']})
    downloaded = [e for e in entries if e.get('Type') == FILE_ENTRY][0]
    with open(session.file_path(downloaded['ID']), 'rb') as handle:
        members = zipfile.ZipFile(handle).namelist()
    print(f"  downloaded {downloaded['File']} ({downloaded['FileContext']['Size']} bytes, a zip of "
          f"{', '.join(members)})")

    entries, _ = run(session, 'cylance-optics-create-package', {
        'entry_id': downloaded['ID'], 'name': 'IR-Autoruns', 'version': '2', 'entry_point': 'main.py',
        'description': 'Uploaded by the Endpoint Response demo', 'interval_in_seconds': '10'})
    created = as_list(get_context_path(session.context, 'CylanceOptics.Package'))[-1]
    checks = sum(1 for e in entries if 'upload status' in str(e.get('HumanReadable'))) + 1
    print(f"  created package {created['packageId']} from it: {created['size']} bytes, SHA256 {created['checksum']}, "
          f"status {created['status']} after {checks} status check(s)")

    entries, _ = run(session, 'cylance-optics-run-package', {
        'package': created['packageId'], 'device_ids': f'{CYLANCE_OK_DEVICE},{CYLANCE_FAILING_DEVICE}',
        'arguments': '-all', 'execution_per_device': 'true', 'interval_in_seconds': '10'})
    print('  progress entries, as printed:')
    for entry in entries:
        text = str(entry.get('HumanReadable') or '')
        for line in text.split('\n'):
            if ': acked ' in line:
                print('    ' + line)
    executions = [e for e in as_list(get_context_path(session.context, 'CylanceOptics.Execution'))
                  if e.get('progress')]
    for execution in executions:
        progress = execution['progress']
        devices = ', '.join(execution['target'].get('devices') or [])
        named = ', '.join(progress.get('notSucceededDevices') or [])
        print(f"  {execution['id']} on {devices}: succeeded {progress['succeeded']}, failed {progress['failed']} of "
              f"{progress['deviceCount']} device(s)" + (f' - did not succeed: {named}' if named else ''))
    failed = sorted(d for e in executions for d in e['progress'].get('notSucceededDevices') or [])
    if failed != [CYLANCE_FAILING_DEVICE]:
        raise DemoFailed(f'expected only {CYLANCE_FAILING_DEVICE} to fail, got {failed}')
    print(f'  Cylance part done in {time.time() - started:.1f} s')


def main(out_dir='demo-output'):
    out_dir = os.path.abspath(out_dir)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    started = time.time()
    emulator = Emulator().start()
    print(f'Endpoint Response demo - embedded emulator at {emulator.url}')
    params = instances.emulator_params(emulator, 'advanced')
    have_cylance = instances.CYLANCE in params
    files_dir = os.path.join(out_dir, 'files')
    session = Session(instances=params, files_dir=files_dir,
                      on_event=lambda m: print('  . ' + m) if m.startswith('wait') else None)
    try:
        distribution(session)
        retrieve_files(session)
        quarantine(session, emulator)
        if have_cylance:
            cylance(session)
        step('Summary')
        print(f'  {len(session.entries)} war-room entries, {len(session.files)} files saved in {files_dir}')
        print(f'  done in {time.time() - started:.1f} s')
        return 0
    except DemoFailed as error:
        print(f'\nDEMO FAILED: {error}', file=sys.stderr)
        return 1
    finally:
        session.close()
        emulator.stop()
