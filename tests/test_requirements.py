"""The two pinned environments: requirements-run.txt (demo, run, playbook, emulator) inside requirements-dev.txt.

The first `dev.sh demo` installs only requirements-run.txt, so what those commands import must come from it (or the
standard library, or this repository); `test`, `validate`, `build`, ... install requirements-dev.txt on top.
"""
import json
import os
import re
import subprocess
import sys

from devtools.paths import ROOT

DEV_SH = os.path.join(ROOT, 'devtools', 'dev.sh')
PIN = re.compile(r'^([A-Za-z0-9_.\-]+)==(\S+)$')


def pins(name):
    with open(os.path.join(ROOT, name)) as f:
        return {m.group(1).lower().replace('_', '-'): m.group(2) for m in (PIN.match(line.strip()) for line in f) if m}


def test_the_run_requirements_are_pinned_as_in_the_full_freeze():
    run, full = pins('requirements-run.txt'), pins('requirements-dev.txt')
    assert run and 'demisto-sdk' not in run and len(run) < 15
    assert {name: full.get(name) for name in run} == run


# Runs the three commands in a fresh interpreter where every installed distribution outside requirements-run.txt
# cannot be imported (as in the small .venv); optional imports (requests' chardet, PyJWT's cryptography) then fall
# back the way they do there.
IMPORT_PROBE = r'''
import importlib.abc, json, sys
from importlib.metadata import packages_distributions
ALLOWED, OUT = json.loads(sys.argv[1]), sys.argv[2]
owners = packages_distributions()
blocked = set()

class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.split('.')[0]
        found = {d.lower().replace('_', '-') for d in owners.get(top, [])}
        if found and not found & set(ALLOWED) and top not in sys.stdlib_module_names:
            blocked.add(top)
            raise ModuleNotFoundError(f'No module named {name!r} (not in requirements-run.txt)', name=name)
        return None

sys.meta_path.insert(0, Blocker())
from devtools import __main__ as cli
status = [cli.main(['demo', '--out', OUT + '/demo'])]
status.append(cli.main(['run', 'CortexXDRResponse', 'xdr-response-get-distribution-versions', '--out', OUT + '/run']))
status.append(cli.main(['run', 'CylanceOpticsPackages', 'cylance-optics-list-packages', '--out', OUT + '/run']))
status.append(cli.main(['playbook', 'Cortex XDR - Retrieve Files', 'endpoint_ids=a1b2c3d4e5f60718293a4b5c6d7e8f90',
                        'file_paths=C:\\x.exe', '--out', OUT + '/playbook']))
print('PROBE ' + json.dumps({'status': status, 'blocked': sorted(blocked)}))
'''


def test_demo_run_and_playbook_work_with_only_what_requirements_run_installs(tmp_path):
    """Given an interpreter that can import only the standard library, this repository and the distributions
    requirements-run.txt pins, When the demo, two runs and a playbook run, Then each succeeds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(('XDR_', 'CYLANCE_'))}
    env['DEVTOOLS_STATE_DIR'] = str(tmp_path / 'state')  # no developer's background emulator
    allowed = sorted(name.lower().replace('_', '-') for name in pins('requirements-run.txt'))
    proc = subprocess.run([sys.executable, '-c', IMPORT_PROBE, json.dumps(allowed), str(tmp_path / 'out')], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    line = next((line for line in proc.stdout.splitlines() if line.startswith('PROBE ')), None)
    assert line, proc.stdout[-2000:] + proc.stderr[-3000:]
    probe = json.loads(line[len('PROBE '):])
    assert probe['status'] == [0, 0, 0, 0], proc.stdout[-2000:] + proc.stderr[-3000:]


def fake_venv(tmp_path, stamps):
    """A VENV whose python is this interpreter, with the given requirement stamps written as current."""
    venv = tmp_path / 'venv'
    (venv / 'bin').mkdir(parents=True)
    python = venv / 'bin' / 'python'
    python.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    python.chmod(0o755)
    for stamp, requirements in stamps.items():
        digest = subprocess.run(['sha256sum', os.path.join(ROOT, requirements)], capture_output=True, text=True,
                                check=True).stdout.split()[0]
        (venv / stamp).write_text(digest + '\n')
    return venv


def test_demo_run_playbook_emulator_and_tool_help_need_only_the_small_environment(tmp_path):
    """Given a .venv holding only requirements-run.txt, When the light commands run, Then dev.sh installs nothing
    (no full toolset for them); a command that needs demisto-sdk would set the full one up first."""
    venv = fake_venv(tmp_path, {'.requirements-run.sha256': 'requirements-run.txt'})
    env = dict(os.environ, VENV=str(venv), DEVTOOLS_STATE_DIR=str(tmp_path / 'state'))
    for args in (['demo', '--help'], ['run', '--help'], ['playbook', '--help'], ['emulator', 'status'],
                 ['validate', '--help'], ['build', '--help'], ['docs', '--help'], ['release', '--help'],
                 ['run', 'CortexXDRResponse', 'xdr-response-get-distribution-versions', '--out',
                  str(tmp_path / 'out')]):
        proc = subprocess.run(['bash', DEV_SH, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=120, check=False)
        assert '== setting up' not in proc.stdout + proc.stderr, (args, proc.stderr)
        assert proc.returncode in (0, 1), (args, proc.stderr)  # emulator status: 1 = not running


def test_a_full_environment_counts_for_the_small_one_only_with_its_own_stamp(tmp_path):
    """Given a .venv with the full stamp but not the run stamp (made before the split), When demo --help runs,
    Then dev.sh refreshes the small set (it cannot know the full one matches requirements-run.txt)."""
    venv = fake_venv(tmp_path, {'.requirements.sha256': 'requirements-dev.txt'})
    env = dict(os.environ, VENV=str(venv), PIP_NO_INDEX='1', PIP_FIND_LINKS='')
    proc = subprocess.run(['bash', DEV_SH, 'demo', '--help'], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert '== setting up' in proc.stderr and 'requirements-run.txt' in proc.stderr
