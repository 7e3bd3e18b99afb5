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
from devtools.runner import Session, errors_of, get_context_path

OK_ENDPOINT = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'
OFFLINE_ENDPOINT = 'fail0000111122223333444455556666'
SUSPICIOUS = 'C:\\Users\\jdoe\\AppData\\Local\\Temp\\invoice_2026.exe'
RETRIEVE_PLAYBOOK = 'Cortex XDR - Retrieve Files'


class DemoFailed(Exception):
    pass


def as_list(value):
    return value if isinstance(value, list) else ([] if value is None else [value])


def step(title):
    print('\n== {}'.format(title), flush=True)


def run(session, command, args=None, expect_errors=False):
    entries = session.execute(command, args or {})
    errors = errors_of(entries)
    if errors and not expect_errors:
        raise DemoFailed('{} failed: {}'.format(command, errors[0]))
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
    package = [e for e in entries if e.get('Type') == 3][0]
    print('  package {} (agent {}) is {}'.format(distribution_id, version, get_context_path(
        session.context, 'PaloAltoNetworksXDR.Distribution.status')))
    print('  URL: {}'.format(get_context_path(session.context, 'PaloAltoNetworksXDR.Distribution.url')))
    print('  downloaded {} ({} bytes)'.format(package['File'], package['FileContext']['Size']))


def retrieve_files(session):
    step('Retrieve {} from two endpoints (one is offline)'.format(SUSPICIOUS))
    inputs = {'endpoint_ids': '{},{}'.format(OK_ENDPOINT, OFFLINE_ENDPOINT), 'windows_file_paths': SUSPICIOUS,
              'linux_file_paths': '/tmp/.x/miner.sh'}
    try:
        from devtools.playbooks import run_playbook
        playbook_run = run_playbook(session, RETRIEVE_PLAYBOOK, inputs)
        print('  playbook "{}" task path: {}'.format(RETRIEVE_PLAYBOOK, ' -> '.join(playbook_run.task_path)))
    except ImportError:
        run(session, 'xdr-response-file-retrieve', dict(inputs, polling='true'), expect_errors=True)
    rows = as_list(get_context_path(session.context, 'PaloAltoNetworksXDR.RetrievedFiles'))
    by_endpoint = {row['endpoint_id']: row for row in rows if isinstance(row, dict)}
    if OK_ENDPOINT not in by_endpoint or not by_endpoint[OK_ENDPOINT].get('files'):
        raise DemoFailed('no files were retrieved from {}'.format(OK_ENDPOINT))
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


def quarantine(session):
    step('Check the quarantine status of 150 files from the outbreak list')
    hashes = [hashlib.sha256('outbreak-sample-{}'.format(i).encode()).hexdigest() for i in range(150)]
    run(session, 'xdr-response-get-quarantine-status', {'endpoint_id': OK_ENDPOINT, 'file_path': SUSPICIOUS,
                                               'file_hash': ','.join(hashes)})
    rows = as_list(get_context_path(session.context, 'PaloAltoNetworksXDR.quarantineFiles.status'))
    quarantined = sum(1 for row in rows if row.get('status') is True)
    print('  {} of {} files quarantined on {} (2 batched API calls)'.format(quarantined, len(rows), OK_ENDPOINT))


CYLANCE_OK_DEVICE = 'A1B2C3D4E5F60718293A4B5C6D7E8F90'
CYLANCE_FAILING_DEVICE = 'DEAD0000111122223333444455556666'  # the emulator fails devices whose id starts with DEAD


def cylance(session):
    step('Cylance Optics: download a package, upload it as a new one, run it on two devices (one fails)')
    started = time.time()
    run(session, 'cylance-optics-list-packages', {'limit': '30', 'page_size': '10'})
    packages = as_list(get_context_path(session.context, 'CylanceOptics.Package'))
    print('  {} packages listed'.format(len(packages)))
    chosen = next(p for p in packages if p.get('status') == 'success')
    entries, _ = run(session, 'cylance-optics-download-package', {'package_id': chosen['packageId']})
    downloaded = [e for e in entries if e.get('Type') == 3][0]
    with open(session.file_path(downloaded['ID']), 'rb') as handle:
        members = zipfile.ZipFile(handle).namelist()
    print('  downloaded {} ({} bytes, a zip of {})'.format(downloaded['File'], downloaded['FileContext']['Size'],
                                                           ', '.join(members)))

    entries, _ = run(session, 'cylance-optics-create-package', {
        'entry_id': downloaded['ID'], 'name': 'IR-Autoruns', 'version': '2', 'entry_point': 'main.py',
        'description': 'Uploaded by the Endpoint Response demo', 'interval_in_seconds': '10'})
    created = as_list(get_context_path(session.context, 'CylanceOptics.Package'))[-1]
    print('  created package {} from it: {} bytes, SHA256 {}, status {} after {} status check(s)'.format(
        created['packageId'], created['size'], created['checksum'], created['status'],
        sum(1 for e in entries if 'upload status' in str(e.get('HumanReadable'))) + 1))

    entries, _ = run(session, 'cylance-optics-run-package', {
        'package': created['packageId'], 'device_ids': '{},{}'.format(CYLANCE_OK_DEVICE, CYLANCE_FAILING_DEVICE),
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
        print('  {} on {}: succeeded {}, failed {} of {} device(s){}'.format(
            execution['id'], ', '.join(execution['target'].get('devices') or []), progress['succeeded'],
            progress['failed'], progress['deviceCount'],
            ' - did not succeed: ' + ', '.join(progress['notSucceededDevices'])
            if progress.get('notSucceededDevices') else ''))
    failed = sorted(d for e in executions for d in e['progress'].get('notSucceededDevices') or [])
    if failed != [CYLANCE_FAILING_DEVICE]:
        raise DemoFailed('expected only {} to fail, got {}'.format(CYLANCE_FAILING_DEVICE, failed))
    print('  Cylance part done in {:.1f} s'.format(time.time() - started))


def main(out_dir='demo-output'):
    from devtools.emulator import Emulator
    out_dir = os.path.abspath(out_dir)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    started = time.time()
    emulator = Emulator().start()
    print('Endpoint Response demo - embedded emulator at {}'.format(emulator.url))
    try:
        params = instances.emulator_params(emulator, 'advanced')
        have_cylance = instances.CYLANCE in params
        session = Session(instances=params, workdir=os.path.join(out_dir, 'work'),
                          on_event=lambda m: print('  . ' + m) if m.startswith('wait') else None)
        distribution(session)
        retrieve_files(session)
        quarantine(session)
        if have_cylance:
            cylance(session)
        files_dir = os.path.join(out_dir, 'files')
        os.makedirs(files_dir, exist_ok=True)
        for entry_id, info in session.files.items():
            shutil.copyfile(info['path'], os.path.join(files_dir, '{}_{}'.format(entry_id.split('@')[0],
                                                                                 os.path.basename(info['name']))))
        step('Summary')
        print('  {} war-room entries, {} files saved in {}'.format(len(session.entries), len(session.files),
                                                                  files_dir))
        print('  done in {:.1f} s'.format(time.time() - started))
        return 0
    except DemoFailed as error:
        print('\nDEMO FAILED: {}'.format(error), file=sys.stderr)
        return 1
    finally:
        emulator.stop()
