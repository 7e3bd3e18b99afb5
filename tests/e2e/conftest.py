"""End-to-end fixtures: the pack's integrations run by the offline runner against the emulator over real HTTP."""
import json
import logging
import time

import pytest

from devtools import instances
from devtools.emulator import Emulator, credentials
from devtools.runner import Session


@pytest.fixture(autouse=True)
def debug_logs(caplog):
    """Every log line is captured, so assert_no_secrets sees what a debug-level integration log would hold."""
    caplog.set_level(logging.DEBUG)


def as_list(value):
    return value if isinstance(value, list) else ([] if value is None else [value])


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


SECRETS = (credentials.XDR_STANDARD['key'], credentials.XDR_ADVANCED['key'], credentials.CYLANCE_APP['app_secret'])


def assert_no_secrets(session, caplog, extra=()):
    """No API key, app secret, computed Authorization or bearer token in entries, context or logs."""
    blob = json.dumps([session.entries, session.context], default=str) + caplog.text
    for secret in [*SECRETS, *(e for e in extra if e)]:
        assert secret not in blob
    # bearer tokens and advanced-key hashes are long hex/base64 strings sent in Authorization headers
    assert 'Bearer ' not in blob
