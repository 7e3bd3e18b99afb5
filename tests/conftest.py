"""Fixtures shared by the offline playbook tests: one emulator per module, a fresh session (and emulator state) per test."""
import pytest

from devtools import instances
from devtools.emulator import Emulator
from devtools.runner import Session


@pytest.fixture(scope='module')
def emulator():
    with Emulator() as emu:
        yield emu


@pytest.fixture
def session(emulator, tmp_path):
    emulator.reset()
    return Session(instances=instances.emulator_params(emulator), workdir=str(tmp_path / 'work'))
