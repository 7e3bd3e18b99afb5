"""Fault matrix: every command of both integrations x every emulator fault, over real HTTP.

Each cell asserts: the outcome is a clear error entry (or a 'not ok' test-module message) that names the
problem, with no traceback; no file entry is reported for a failed download and no partial file is left
in the working directory; retries are bounded in count and in the time they would wait; no secret (API
key, computed Authorization value, Cylance secret or token) appears in entries, context or logs.
The emulator runs in its own process so that time.sleep can be recorded here instead of waited.
The whole matrix (integration, command, fault, outcome) is written to build/fault-matrix.md; the test log
keeps one summary line.
"""
import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest

from devtools import instances
from devtools.paths import ROOT
from devtools.runner import Session, errors_of
from devtools.emulator.process import EmulatorProcess
from tests.e2e.conftest import assert_no_secrets

XDR = 'CortexXDRResponse'
CYLANCE = 'CylanceOpticsPackages'
MAX_ATTEMPTS = 4  # one call plus three retries
MAX_RETRY_WAIT_SECONDS = 3 * 60
MAX_CELL_SECONDS = 60
MATRIX_FILE = os.path.join(ROOT, 'build', 'fault-matrix.md')
MATRIX: list[tuple[str, str, str, str]] = []  # (integration, command, fault, outcome), written at the end of the run

ZIP_FAULTS = ('truncated_zip', 'zip_slip', 'zip_bomb', 'many_entries')
FAULTS: list[tuple[str, dict[str, Any], str | None]] = [
    ('400', {'kind': 'status', 'status': 400}, 'status 400'),
    ('401', {'kind': 'status', 'status': 401}, 'status 401'),
    ('402', {'kind': 'status', 'status': 402}, 'status 402'),
    ('403', {'kind': 'status', 'status': 403}, 'status 403'),
    ('404', {'kind': 'status', 'status': 404}, 'status 404'),
    ('500', {'kind': 'status', 'status': 500}, 'status 500'),
    ('429+Retry-After', {'kind': 'status', 'status': 429, 'retry_after': 3}, 'Gave up after 4 attempts'),
    ('429', {'kind': 'status', 'status': 429}, 'Gave up after 4 attempts'),
    ('502', {'kind': 'status', 'status': 502}, 'Gave up after 4 attempts'),
    ('503', {'kind': 'status', 'status': 503}, 'Gave up after 4 attempts'),
    ('504', {'kind': 'status', 'status': 504}, 'Gave up after 4 attempts'),
    ('timeout', {'kind': 'latency', 'seconds': 4}, 'no reply in time'),
    ('reset', {'kind': 'reset'}, None),
    ('non_json', {'kind': 'non_json'}, 'not JSON'),
    ('missing_keys', {'kind': 'missing_keys'}, None),
    ('truncated_zip', {'kind': 'truncated_zip'}, 'nothing was extracted'),
    ('zip_slip', {'kind': 'zip_slip'}, 'outside the extraction folder'),
    ('zip_bomb', {'kind': 'zip_bomb', 'uncompressed_mb': 20}, 'max_compression_ratio; a zip bomb'),
    ('many_entries', {'kind': 'many_entries', 'entries': 2000}, 'max_entries'),
]

# Commands that start something: an unclear answer is never sent again, and the analyst reads what may have happened.
ACTION_CELLS = {('xdr-response-create-distribution', 'distributions/create'),
                ('xdr-response-file-retrieve', 'endpoints/file_retrieval')}
UNCLEAR_FAULTS = ('502', '503', '504', 'timeout', 'reset')

OK_ENDPOINT = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'
WIN_PATH = 'C:\\Users\\analyst\\evil.exe'


def xdr_setup_distribution(session):
    session.execute('xdr-response-create-distribution', {'name': 'm', 'platform': 'linux', 'package_type': 'standalone',
                                                'agent_version': '8.4.0.1'})
    distribution_id = session.context['PaloAltoNetworksXDR']['Distribution']['id']
    session.execute('xdr-response-get-create-distribution-status', {'distribution_ids': distribution_id, 'polling': 'true'})
    return {'distribution_id': distribution_id, 'distribution_ids': distribution_id}


def xdr_setup_action(session):
    session.execute('xdr-response-file-retrieve', {'endpoint_ids': OK_ENDPOINT, 'windows_file_paths': WIN_PATH,
                                          'polling': 'false'})
    rows = session.context['PaloAltoNetworksXDR']['RetrievedFiles']
    action_id = (rows if isinstance(rows, list) else [rows])[0]['action_id']
    for _ in range(3):
        session.execute('xdr-response-action-status-get', {'action_id': str(action_id)})
    return {'action_id': str(action_id)}


# command, fault path for API faults, fault path for download faults, args, setup
CommandRow = tuple[str, str, str | None, dict[str, str], Callable[[Session], dict[str, str]] | None]
XDR_CELLS: list[CommandRow] = [
    ('test-module', 'distributions/get_versions', None, {}, None),
    ('xdr-response-get-distribution-versions', 'distributions/get_versions', None, {}, None),
    ('xdr-response-create-distribution', 'distributions/create', None,
     {'name': 'p', 'platform': 'windows', 'package_type': 'standalone', 'agent_version': '8.4.0.1'}, None),
    ('xdr-response-get-create-distribution-status', 'distributions/get_status', None, {}, xdr_setup_distribution),
    ('xdr-response-get-distribution-url', 'distributions/get_dist_url', '/_storage/',
     {'package_type': 'deb', 'download': 'true'}, xdr_setup_distribution),
    ('xdr-response-file-retrieve', 'endpoints/file_retrieval', '/download/',
     {'endpoint_ids': OK_ENDPOINT, 'windows_file_paths': WIN_PATH, 'polling': 'true', 'interval_in_seconds': '10'},
     None),
    ('xdr-response-action-status-get', 'actions/get_action_status', None, {}, xdr_setup_action),
    ('xdr-response-retrieve-file-details', 'actions/file_retrieval_details', '/download/', {}, xdr_setup_action),
    ('xdr-response-get-quarantine-status', 'quarantine/status', None,
     {'endpoint_id': OK_ENDPOINT, 'file_path': WIN_PATH, 'file_hash': 'ab' * 32}, None),
]

def cylance_setup(session):
    session.execute('cylance-optics-list-packages', {'page_size': '5'})
    packages = session.context['CylanceOptics']['Package']
    package = (packages if isinstance(packages, list) else [packages])[0]
    return {'package_id': package['packageId']}


CYLANCE_CELLS: list[CommandRow] = [
    ('test-module', 'packages/v2', None, {}, None),
    ('cylance-optics-list-packages', 'packages/v2', None, {}, None),
    ('cylance-optics-get-package', 'packages/v2/', None, {}, cylance_setup),
    ('cylance-optics-download-package', 'packages/v2/', '/_storage/', {}, cylance_setup),
]


class Cell(NamedTuple):
    """One command of one integration under one fault."""
    integration: str
    command: str
    api_path: str
    download_path: str | None
    args: dict[str, str]
    setup: Callable[[Session], dict[str, str]] | None
    name: str
    fault: dict[str, Any]
    expected: str | None


def cells():
    have_cylance = os.path.isdir(os.path.join(ROOT, 'Integrations', CYLANCE))
    table = [(XDR, cell) for cell in XDR_CELLS] + ([(CYLANCE, cell) for cell in CYLANCE_CELLS] if have_cylance else [])
    for integration, (command, api_path, download_path, args, setup) in table:
        for name, fault, expected in FAULTS:
            if name in ZIP_FAULTS and download_path != '/download/':
                continue  # zip faults only exist where a zip is downloaded
            yield pytest.param(Cell(integration, command, api_path, download_path, args, setup, name, fault, expected),
                               id=f'{integration}-{command}-{name}')
        if download_path:
            for name in ('reset', 'status'):
                fault = {'kind': 'reset'} if name == 'reset' else {'kind': 'status', 'status': 500}
                yield pytest.param(Cell(integration, command, download_path, download_path, args, setup,
                                        'download-' + name, fault, None),
                                   id=f'{integration}-{command}-download-{name}')


@pytest.fixture(scope='module')
def emulator():
    emu = EmulatorProcess.start('--action-steps', '1')
    yield emu
    emu.stop()


@pytest.fixture
def sleeps(monkeypatch):
    recorded: list[float] = []
    monkeypatch.setattr(time, 'sleep', recorded.append)
    return recorded


@pytest.mark.parametrize('cell', list(cells()))
def test_fault_cell(emulator, tmp_path, caplog, sleeps, cell):
    integration, command, api_path, download_path, args, setup, name, fault, expected = cell
    caplog.set_level(logging.DEBUG)
    emulator.reset()
    params = instances.emulator_params(emulator, 'advanced' if integration == XDR else 'standard')
    if integration == XDR:
        params[XDR]['timeout'] = '2'
    else:
        params[CYLANCE]['timeout'] = '2'
    session = Session(instances={integration: params[integration]}, workdir=str(tmp_path / 'work'))
    call_args = dict(args, **(setup(session) if setup else {}))
    files_before = set(session.files)
    fault_path = download_path if name in ZIP_FAULTS else api_path
    log_start = len(emulator.request_log())
    emulator.add_fault(fault_path, **fault)
    started = time.monotonic()
    entries = session.execute(command, call_args, using=integration)
    elapsed = time.monotonic() - started
    emulator.clear_faults()

    errors = errors_of(entries)
    text = json.dumps(entries, default=str)
    outcome_message = errors[0] if errors else (entries[0].get('Contents') if command == 'test-module' else '')
    assert errors or (command == 'test-module' and outcome_message != 'ok'), \
        f'{command} under {name} did not fail: {text[:500]}'
    assert 'Traceback' not in text and 'KeyError' not in text and 'AttributeError' not in text
    action_unclear = (command, fault_path) in ACTION_CELLS and name in UNCLEAR_FAULTS
    if action_unclear and name != 'timeout':
        expected = 'may have'
    if expected:
        assert expected in text, f'{command} under {name}: {text[:800]}'
    # no partial or corrupt file reported as success, no temp file left behind
    new_files = set(session.files) - files_before
    if name in ZIP_FAULTS or name.startswith('download-') or name in ('reset', 'timeout'):
        assert not new_files, 'a file was reported for a failed download'
    leftovers = [f for f in os.listdir(session.workdir) if f != 'files']
    assert not leftovers, leftovers
    # bounded retries: attempts on the faulted path and the waits they asked for
    attempts = [r for r in emulator.request_log()[log_start:] if fault_path in r['path']]
    assert len(attempts) <= (1 if action_unclear else MAX_ATTEMPTS + 1)
    assert sum(sleeps) <= MAX_RETRY_WAIT_SECONDS
    assert elapsed < MAX_CELL_SECONDS
    assert_no_secrets(session, caplog)
    MATRIX.append((integration, command, name, (outcome_message or '').split('\n')[0][:90]))


def matrix_markdown(rows: list[tuple[str, str, str, str]]) -> str:
    lines = ['# Fault matrix', '', 'Every command of both integrations under every emulator fault '
             '(tests/e2e/test_fault_matrix.py).', '', '| integration | command | fault | outcome |', '|---|---|---|---|']
    lines += ['| {} | {} | {} | {} |'.format(*(str(part).replace('|', '\\|') for part in row)) for row in rows]
    return '\n'.join(lines) + '\n'


def test_write_matrix(capsys):
    """Writes the matrix to build/fault-matrix.md and one summary line to the log (runs last in this module)."""
    if not MATRIX:
        pytest.skip('matrix cells were not run in this session')
    os.makedirs(os.path.dirname(MATRIX_FILE), exist_ok=True)
    with open(MATRIX_FILE, 'w') as f:
        f.write(matrix_markdown(MATRIX))
    commands = {(integration, command) for integration, command, _, _ in MATRIX}
    with capsys.disabled():
        print(f'\nfault matrix: {len(MATRIX)} cells, {len(commands)} commands, every cell failed cleanly; '
              f'table in {os.path.relpath(MATRIX_FILE, ROOT)}')
    assert len(MATRIX) >= len(XDR_CELLS) * 10
