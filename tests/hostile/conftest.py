"""Fixtures of the hostile tests: the emulator in this process, two other origins, sessions, a byte meter.

time.sleep is recorded instead of slept (retry back-off stays instant); the emulator's hostile replies wait with
an Event, so stalls and trickles still take real time.
"""
import json
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from devtools import instances
from devtools.emulator import Emulator, OtherOrigin
from devtools.emulator.cylance import CylanceApi
from devtools.emulator.hostile import Received
from devtools.emulator.xdr import XdrApi
from devtools.runner import ERROR_ENTRY, FILE_ENTRY_TYPES, Session, errors_of

XDR = 'CortexXDRResponse'
CYLANCE = 'CylanceOpticsPackages'
HTTP_TIMEOUT_SECONDS = 2  # the instance `timeout` of every hostile session
OK_ENDPOINT = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'
OK_DEVICE = 'A1B2C3D4E5F60718293A4B5C6D7E8F90'
WIN_PATH = 'C:\\Users\\analyst\\evil.exe'
CREDENTIAL_HEADERS = ('authorization', 'proxy-authorization', 'x-xdr-auth-id', 'x-xdr-nonce', 'x-xdr-timestamp',
                      'cookie')
TYPE_NAME = re.compile(r'Traceback|\b[A-Z][A-Za-z]+(Error|Exception)\b')
MIB = 1024 * 1024


@pytest.fixture(scope='module')
def emulator() -> Iterator[Emulator]:
    emu = Emulator(action_steps=1, distribution_steps=1).start()
    yield emu
    emu.stop()


@pytest.fixture(scope='module')
def other_host() -> Iterator[OtherOrigin]:
    """Another host name (localhost) on another port."""
    with OtherOrigin('localhost') as origin:
        yield origin


@pytest.fixture(scope='module')
def same_ip() -> Iterator[OtherOrigin]:
    """The emulator's own IP (127.0.0.1) on another port: another origin all the same."""
    with OtherOrigin('127.0.0.1') as origin:
        yield origin


@pytest.fixture(scope='module')
def tls_emulator(tmp_path_factory) -> Iterator[Emulator]:
    folder = tmp_path_factory.mktemp('tls')
    cert, key = str(folder / 'cert.pem'), str(folder / 'key.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
                    '-days', '1', '-subj', '/CN=127.0.0.1'], check=True, capture_output=True)
    emu = Emulator(tls_cert=cert, tls_key=key, action_steps=1, distribution_steps=1).start()
    yield emu
    emu.stop()


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """Every time.sleep the integrations ask for, recorded and not slept."""
    recorded: list[float] = []
    monkeypatch.setattr(time, 'sleep', recorded.append)
    return recorded


@dataclass
class Hostile:
    """One test's handles: the emulator, the other origins, sessions against the emulator."""
    emulator: Emulator
    other_host: OtherOrigin
    same_ip: OtherOrigin
    tmp_path: Any
    sessions: list[Session] = field(default_factory=list)

    def origin(self, name: str) -> OtherOrigin:
        return self.same_ip if name == 'same-ip' else self.other_host

    def session(self, integration: str, auth: str = 'standard', emulator: Emulator | None = None,
                **settings: Any) -> Session:
        """A session with one instance against the emulator, timeout HTTP_TIMEOUT_SECONDS, settings on top."""
        params = instances.emulator_params(emulator or self.emulator, auth)[integration]
        params = dict(params, timeout=str(HTTP_TIMEOUT_SECONDS), **settings)
        session = Session(instances={integration: params},
                          workdir=str(self.tmp_path / f'run-{len(self.sessions)}-{time.monotonic_ns()}'))
        self.sessions.append(session)
        return session

    def xdr(self) -> XdrApi:
        return self.emulator.vendor(XdrApi)

    def cylance(self) -> CylanceApi:
        return self.emulator.vendor(CylanceApi)

    def requests_to(self, path: str, method: str | None = None, exact: bool = False) -> list[dict[str, Any]]:
        """The emulator's log entries for a path (substring, or exact) and method."""
        return [r for r in self.emulator.request_log()
                if (r['path'] == path if exact else path in r['path']) and (method is None or r['method'] == method)]


@pytest.fixture
def hostile(emulator, other_host, same_ip, tmp_path, sleeps) -> Iterator[Hostile]:
    emulator.reset()
    other_host.reset()
    same_ip.reset()
    handle = Hostile(emulator, other_host, same_ip, tmp_path)
    yield handle
    emulator.clear_faults()


class ByteMeter:
    """Bytes this process reads from sockets connected to one port (what the client really received)."""

    def __init__(self) -> None:
        self.by_port: dict[int, int] = {}

    def received_from(self, port: int) -> int:
        return self.by_port.get(port, 0)


@pytest.fixture
def byte_meter(monkeypatch) -> ByteMeter:
    meter = ByteMeter()
    recv_into, recv = socket.socket.recv_into, socket.socket.recv

    def count(sock: socket.socket, amount: int) -> None:
        try:
            port = sock.getpeername()[1]
        except (OSError, IndexError, TypeError):
            return
        meter.by_port[port] = meter.by_port.get(port, 0) + amount

    def metered_recv_into(self, buffer, *args, **kwargs):
        amount = recv_into(self, buffer, *args, **kwargs)
        count(self, amount)
        return amount

    def metered_recv(self, *args, **kwargs):
        data = recv(self, *args, **kwargs)
        count(self, len(data))
        return data

    monkeypatch.setattr(socket.socket, 'recv_into', metered_recv_into)
    monkeypatch.setattr(socket.socket, 'recv', metered_recv)
    return meter


# ---------------------------------------------------------------- what the tests assert


def credential_leaks(received: list[Received]) -> list[str]:
    """Everything credential-like that reached another origin: credential headers and request bodies."""
    leaks = []
    for request in received:
        for name in request.headers:
            if name.lower() in CREDENTIAL_HEADERS:
                leaks.append(f'{request.method} {request.path}: header {name}')
        if request.body_length:
            leaks.append(f'{request.method} {request.path}: a {request.body_length}-byte body '
                         f'({request.body_sample[:60]!r})')
    return leaks


def error_text(entries: list[dict[str, Any]]) -> str:
    """The text of the error entries (and of a test-module answer that is not ok)."""
    texts = errors_of(entries)
    texts += [str(e.get('Contents')) for e in entries if e.get('Type') != ERROR_ENTRY and
              isinstance(e.get('Contents'), str) and e.get('Contents') not in ('', 'ok') and
              e.get('Contents', '').lower().startswith(('fail', 'error', 'test failed'))]
    return '\n'.join(texts)


def readable_text(entries: list[dict[str, Any]]) -> str:
    return '\n'.join(str(e.get('HumanReadable') or e.get('Contents') or '') for e in entries)


def assert_plain_error(entries: list[dict[str, Any]]) -> str:
    """There is an error entry and it names no Python type and holds no traceback; its text is returned."""
    text = error_text(entries)
    shown = json.dumps(entries, default=str)[:600]
    assert text, f'no error entry: {shown}'
    assert not TYPE_NAME.search(text), f'the analyst reads a Python type name or traceback: {text[:600]}'
    return text


def file_entries(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in entries if e.get('Type') in FILE_ENTRY_TYPES]


def leftovers(session: Session) -> list[str]:
    """Files the integration left in its working directory (war-room files are moved to files/)."""
    return [name for name in os.listdir(session.workdir) if name != 'files']


def xdr_completed_action(session: Session) -> str:
    """A Retrieve File action on one endpoint that has completed (the emulator finishes after one status call)."""
    session.execute('xdr-response-file-retrieve', {'endpoint_ids': OK_ENDPOINT, 'windows_file_paths': WIN_PATH,
                                                   'polling': 'false'}, using=XDR)
    rows = session.context['PaloAltoNetworksXDR']['RetrievedFiles']
    action_id = str((rows if isinstance(rows, list) else [rows])[0]['action_id'])
    session.execute('xdr-response-action-status-get', {'action_id': action_id}, using=XDR)
    return action_id
