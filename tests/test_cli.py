"""The developer CLI as a newcomer runs it: `bash devtools/dev.sh ...` from the repository root, no venv activated.

Each test keeps its background-emulator state (DEVTOOLS_STATE_DIR) and its temporary folder (TMPDIR) apart, so a
developer's own background emulator is never touched and leftovers are visible.
"""
import json
import os
import re
import signal
import subprocess
import time
import zipfile

import pytest

from devtools.paths import ROOT

DEV_SH = os.path.join(ROOT, 'devtools', 'dev.sh')
ENDPOINT = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'
WIN_PATH = 'C:\\Users\\analyst\\evil.exe'


@pytest.fixture
def env(tmp_path):
    temp = tmp_path / 'tmp'
    temp.mkdir()
    values = {name: value for name, value in os.environ.items() if not name.startswith(('XDR_', 'CYLANCE_'))}
    return dict(values, DEVTOOLS_STATE_DIR=str(tmp_path / 'state'), TMPDIR=str(temp))


def dev(env, *args, check=True):
    proc = subprocess.run(['bash', DEV_SH, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
                          check=False)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'Traceback' not in proc.stderr
    return proc


def end_process(pid, timeout=10.0):
    """SIGTERM, then SIGKILL after timeout, for a process this test started (by its pid)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)


@pytest.fixture
def start_background(env):
    """`emulator start [options]` for the test; after it `emulator stop`, and should that not end the process (on a
    loaded machine its liveness probe can time out and `stop` then finds nothing running), the pid `start` printed
    is ended directly."""
    pids = []

    def start(*options):
        started = dev(env, 'emulator', 'start', *options)
        match = re.search(r'started in the background \(pid (\d+)', started.stdout)
        assert match, started.stdout
        pids.append(int(match.group(1)))
        return started

    yield start
    if pids:
        dev(env, 'emulator', 'stop', check=False)
    for pid in pids:
        end_process(pid)


@pytest.fixture
def background(start_background):
    """`emulator start` for the test, stopped after it (also when the test fails)."""
    return start_background()


def context_of(stdout):
    return json.loads(stdout.split('--- context\n', 1)[1])


def test_emulator_start_two_runs_sharing_an_id_stop(env, background):
    """Given a background emulator, When one run creates a distribution and the next asks its status by the
    returned id, Then the second run knows it (same server, state kept), and stop ends the emulator."""
    match = re.search(r'Emulator URL: (\S+)', background.stdout)
    assert match, background.stdout
    url = match.group(1)
    assert 'API Key ID' in background.stdout and 'Application Secret' in background.stdout

    created = dev(env, 'run', 'CortexXDRResponse', 'xdr-response-create-distribution', 'name=kit', 'platform=linux',
                  'package_type=standalone', 'agent_version=8.4.0.1')
    assert f'calling the background emulator at {url}' in created.stderr
    distribution_id = context_of(created.stdout)['PaloAltoNetworksXDR']['Distribution']['id']

    status = dev(env, 'run', 'CortexXDRResponse', 'xdr-response-get-create-distribution-status',
                 f'distribution_ids={distribution_id}')
    assert f'calling the background emulator at {url}' in status.stderr
    assert context_of(status.stdout)['PaloAltoNetworksXDR']['Distribution']['id'] == distribution_id

    assert 'stopped' in dev(env, 'emulator', 'stop').stdout
    assert dev(env, 'emulator', 'status', check=False).returncode == 1


def test_without_a_background_emulator_the_run_says_it_embeds_one(env):
    proc = dev(env, 'run', 'CortexXDRResponse', 'xdr-response-get-distribution-versions')
    assert 'calling an emulator embedded in this run' in proc.stderr
    assert 'windows' in context_of(proc.stdout)['PaloAltoNetworksXDR']['DistributionVersions']


@pytest.mark.parametrize('args, listed', [
    (['run', 'CortexXDR', 'test-module'], 'the pack has: CortexXDRResponse, CylanceOpticsPackages'),
    (['run', 'CortexXDRResponse', 'xdr-get-everything'], 'its commands: test-module, xdr-response-'),
    (['playbook', 'No Such Playbook'], 'No playbook named "No Such Playbook"'),
])
def test_unknown_names_list_the_valid_ones(env, args, listed):
    proc = dev(env, *args, check=False)
    assert proc.returncode == 2
    assert listed in proc.stderr
    assert 'KeyError' not in proc.stderr


def test_files_are_saved_once_into_the_output_folder_and_no_temp_folder_is_left(env, tmp_path):
    """Given a retrieval that returns files, When it runs, Then each file is in --out exactly once and the
    temporary folder is empty afterwards (no second copy of a possibly malicious file anywhere)."""
    out = tmp_path / 'out'
    proc = dev(env, 'run', 'CortexXDRResponse', 'xdr-response-file-retrieve', f'endpoint_ids={ENDPOINT}',
               f'windows_file_paths={WIN_PATH}', 'polling=true', '--out', str(out))
    saved = re.findall(r'# saved (.+)', proc.stderr)
    assert len(saved) == 1 and saved[0].endswith('evil.exe')
    assert sorted(os.listdir(out)) == [os.path.basename(saved[0])]
    assert os.listdir(env['TMPDIR']) == []


def test_a_failing_test_module_exits_non_zero(env, start_background):
    """Given an emulator that refuses every key, When test-module runs, Then the command exits 1."""
    start_background('--fault', json.dumps({'path': '/public_api/', 'kind': 'status', 'status': 401}))
    proc = dev(env, 'run', 'CortexXDRResponse', 'test-module', check=False)
    assert proc.returncode == 1
    assert 'authentication failed' in proc.stdout


# ---------------------------------------------------------------- what a newcomer types without reading the source

VALID_INTEGRATIONS = 'CortexXDRResponse, CylanceOpticsPackages'
SUBCOMMANDS = ('setup', 'test', 'lint', 'demo', 'emulator', 'run', 'playbook', 'validate', 'build', 'docs', 'images',
               'release', 'bench')


def one_clean_line(proc):
    """The refusal is a single line on stderr (no traceback, no argparse dump)."""
    lines = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith('== setting up')]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_a_params_file_naming_an_unknown_integration_is_refused_not_sent_to_the_emulator(env, tmp_path):
    params = tmp_path / 'params.json'
    params.write_text(json.dumps({'CortexXDR': {'url': 'https://api-tenant.xdr.us.paloaltonetworks.com'}}))
    proc = dev(env, 'run', '--params', str(params), 'CortexXDRResponse', 'test-module', check=False)
    assert proc.returncode == 2
    line = one_clean_line(proc)
    assert '"CortexXDR"' in line and VALID_INTEGRATIONS in line
    assert 'emulator' not in proc.stderr


@pytest.mark.parametrize('content', [None, '{"CortexXDRResponse": ', '["not", "an", "object"]', '{"CortexXDRResponse": 1}'])
def test_a_missing_or_malformed_params_file_is_one_line_and_exit_2(env, tmp_path, content):
    params = tmp_path / 'params.json'
    if content is not None:
        params.write_text(content)
    proc = dev(env, 'run', '--params', str(params), 'CortexXDRResponse', 'test-module', check=False)
    assert proc.returncode == 2
    assert str(params) in one_clean_line(proc)
    assert proc.stdout == ''


def test_run_refuses_an_argument_the_command_does_not_declare(env):
    proc = dev(env, 'run', 'CortexXDRResponse', 'xdr-response-action-status-get', 'action_id=1', 'actionid=2',
               check=False)
    assert proc.returncode == 2
    line = one_clean_line(proc)
    assert '"actionid"' in line and 'its arguments: action_id (required)' in line


def test_run_accepts_the_hidden_polling_arguments_the_integration_declares(env):
    proc = dev(env, 'run', 'CortexXDRResponse', 'xdr-response-get-create-distribution-status', 'distribution_ids=d1',
               'polling=false', 'polling_started=true', 'hide_polling_output=true', check=False)
    assert 'has no argument' not in proc.stderr
    assert proc.returncode != 2


def test_docs_help_and_an_unknown_integration(env):
    helped = dev(env, 'docs', '--help')
    assert helped.stdout.startswith('usage: bash devtools/dev.sh docs')
    proc = dev(env, 'docs', 'NoSuch', check=False)
    assert proc.returncode == 2
    line = one_clean_line(proc)
    assert '"NoSuch"' in line and VALID_INTEGRATIONS in line


@pytest.mark.parametrize('args, required', [(['run'], 'integration, command'), (['playbook'], 'playbook')])
def test_usage_does_not_call_optional_arguments_required(env, args, required):
    proc = dev(env, *args, check=False)
    assert proc.returncode == 2
    assert proc.stderr.rstrip().endswith(f'the following arguments are required: {required}')


def test_an_unknown_command_is_named_with_the_usage(env):
    proc = dev(env, 'foo', check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith('unknown command: foo\nusage: bash devtools/dev.sh <command>')
    for name in SUBCOMMANDS:
        assert f'\n  {name}' in proc.stderr


@pytest.mark.parametrize('name', SUBCOMMANDS)
def test_every_subcommand_has_help(env, name):
    proc = dev(env, name, '--help')
    assert re.match(rf'usage: bash devtools/dev.sh {name}\b', proc.stdout), proc.stdout


def test_a_local_file_attached_with_file_can_be_used_by_entry_id(env, tmp_path):
    """Given a package zip on disk, When run --file attaches it, Then its entry id is printed and the command
    reads the file by that id (here: a Cylance Optics package created from it), with no copy left behind."""
    package = tmp_path / 'collect.zip'
    with zipfile.ZipFile(package, 'w') as archive:
        archive.writestr('main.py', 'print("collect")\n')
    out = tmp_path / 'out'
    proc = dev(env, 'run', '--file', str(package), '--out', str(out), 'CylanceOpticsPackages',
               'cylance-optics-create-package', 'entry_id=1@1', 'name=collect', 'entry_point=main.py')
    assert f'# attached {package} to the War Room as entry 1@1 (entry_id=1@1)' in proc.stderr
    context = context_of(proc.stdout)
    assert context['File']['EntryID'] == '1@1' and context['File']['Name'] == 'collect.zip'
    assert context['CylanceOptics']['Package']['packageDescriptor']['name'] == 'collect'
    assert '# saved' not in proc.stderr  # the attached file is the user's, not a returned one
    assert os.listdir(env['TMPDIR']) == []


def test_a_missing_file_to_attach_is_refused(env, tmp_path):
    proc = dev(env, 'run', '--file', str(tmp_path / 'nope.zip'), 'CylanceOpticsPackages',
               'cylance-optics-create-package', 'entry_id=1@1', 'name=x', check=False)
    assert proc.returncode == 2
    assert 'nope.zip' in one_clean_line(proc)
