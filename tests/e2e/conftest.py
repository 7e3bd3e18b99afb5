"""End-to-end fixtures: the pack's integrations run by the offline runner against the emulator over real HTTP."""
import json
import re
import subprocess
import sys
import time

import pytest
import requests

from devtools import instances
from devtools.emulator import Emulator, credentials
from devtools.paths import ROOT
from devtools.runner import Session


@pytest.fixture(scope='session')
def emulator():
    emu = Emulator(action_steps=2, distribution_steps=2).start()
    yield emu
    emu.stop()


@pytest.fixture
def make_session(emulator, tmp_path):
    emulator.reset()

    def make(auth='standard', only=None):
        params = instances.emulator_params(emulator, auth)
        if only:
            params = {name: params[name] for name in only}
        return Session(instances=params, workdir=str(tmp_path / f'run-{time.monotonic_ns()}'))
    return make


def all_secrets(emulator=None):
    values = [credentials.XDR_STANDARD['key'], credentials.XDR_ADVANCED['key'], credentials.CYLANCE_APP['app_secret']]
    return [v for v in values if v]


def assert_no_secrets(session, caplog, extra=()):
    """No API key, app secret, computed Authorization or bearer token in entries, context or logs."""
    blob = json.dumps([session.entries, session.context], default=str) + caplog.text
    for secret in list(all_secrets()) + [e for e in extra if e]:
        assert secret not in blob
    # bearer tokens and advanced-key hashes are long hex/base64 strings sent in Authorization headers
    assert 'Bearer ' not in blob


class SubprocessEmulator:
    """The emulator in its own process, so tests may patch time.sleep in this one."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, '-m', 'devtools.emulator', 'serve', '--port', '0',
                                      '--action-steps', '1'], cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout and self.proc.stderr  # both are pipes
        line = self.proc.stdout.readline()
        match = re.search(r'EMULATOR_URL=(\S+)', line)
        if not match:
            self.proc.kill()
            raise RuntimeError(f'emulator did not start: {line} {self.proc.stderr.read()}')
        self.url = match.group(1)

    def add_fault(self, path, kind, count=None, **params):
        rule = dict(params, path=path, kind=kind)
        if count is not None:
            rule['count'] = count
        requests.post(self.url + '/_emulator/faults', json=rule, timeout=10).raise_for_status()

    def clear_faults(self):
        requests.delete(self.url + '/_emulator/faults', timeout=10).raise_for_status()

    def reset(self):
        requests.post(self.url + '/_emulator/reset', timeout=10).raise_for_status()

    def request_log(self):
        return requests.get(self.url + '/_emulator/log', timeout=10).json()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
