"""The emulator in a process of its own, driven through its control API.

``EmulatorProcess.start(...)`` runs ``python -m devtools.emulator serve`` as a child (tests that patch time.sleep,
benchmarks that measure the client alone); ``start_background(...)`` leaves one running after this process exits
and records it in a state file, so that later commands (``dev.sh run``, ``dev.sh playbook``) use the same emulator
and its state (distributions, actions) across calls; ``running()`` finds it again.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
from typing import Any

import requests

from devtools.paths import ROOT

# build/ is ignored by git; DEVTOOLS_STATE_DIR lets tests keep their own background emulator apart
STATE_DIR = os.environ.get('DEVTOOLS_STATE_DIR') or os.path.join(ROOT, 'build', 'emulator')
STATE_FILE = os.path.join(STATE_DIR, 'state.json')
LOG_FILE = os.path.join(STATE_DIR, 'emulator.log')
URL_LINE = re.compile(r'EMULATOR_URL=(\S+)')
START_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 10
CONTROL_TIMEOUT_SECONDS = 10


class EmulatorProcess:
    """A running emulator process: its URL, pid, and the control API (faults, log, reset)."""

    def __init__(self, url: str, pid: int, proc: subprocess.Popen | None = None):
        self.url, self.pid, self.proc = url, pid, proc

    @property
    def alt_url(self) -> str:
        """The same server under another host name (the emulator's storage links use it)."""
        return self.url.replace('://127.0.0.1:', '://localhost:')

    # ------------------------------------------------------------ starting and stopping

    @classmethod
    def start(cls, *serve_args: str) -> 'EmulatorProcess':
        """A child emulator with the given `serve` options; stop() ends it."""
        proc = subprocess.Popen(serve_command(serve_args), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        assert proc.stdout and proc.stderr  # both are pipes
        line = proc.stdout.readline()
        match = URL_LINE.search(line)
        if not match:
            proc.kill()
            raise RuntimeError(f'the emulator did not start: {line} {proc.stderr.read()}')
        return cls(match.group(1), proc.pid, proc)

    @classmethod
    def start_background(cls, *serve_args: str) -> 'EmulatorProcess':
        """An emulator that outlives this process (its own session), recorded in STATE_FILE; output in LOG_FILE."""
        os.makedirs(STATE_DIR, exist_ok=True)
        with open(LOG_FILE, 'w') as log:
            proc = subprocess.Popen(serve_command(serve_args), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            with open(LOG_FILE) as f:
                match = URL_LINE.search(f.read())
            if match:
                emulator = cls(match.group(1), proc.pid)
                with open(STATE_FILE, 'w') as f:
                    json.dump({'url': emulator.url, 'pid': emulator.pid, 'args': list(serve_args)}, f)
                return emulator
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        proc.kill()
        with open(LOG_FILE) as f:
            raise RuntimeError('the emulator did not start:\n' + f.read()[-2000:])

    @classmethod
    def running(cls) -> 'EmulatorProcess | None':
        """The background emulator if one is recorded and answers; a stale state file is removed."""
        try:
            with open(STATE_FILE) as f:
                state = json.load(f)
            emulator = cls(str(state['url']), int(state['pid']))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if emulator.alive():
            return emulator
        os.remove(STATE_FILE)
        return None

    def alive(self) -> bool:
        try:
            requests.get(self.url + '/_emulator/status', timeout=2).raise_for_status()
        except requests.RequestException:
            return False
        return True

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while time.monotonic() < deadline and self.alive():
            time.sleep(0.05)
        if os.path.exists(STATE_FILE):
            os.remove(STATE_FILE)

    # ------------------------------------------------------------ control API

    def add_fault(self, path: str, kind: str, count: int | None = None, **params: Any) -> None:
        rule = dict(params, path=path, kind=kind)
        if count is not None:
            rule['count'] = count
        requests.post(self.url + '/_emulator/faults', json=rule, timeout=CONTROL_TIMEOUT_SECONDS).raise_for_status()

    def clear_faults(self) -> None:
        requests.delete(self.url + '/_emulator/faults', timeout=CONTROL_TIMEOUT_SECONDS).raise_for_status()

    def reset(self) -> None:
        requests.post(self.url + '/_emulator/reset', timeout=CONTROL_TIMEOUT_SECONDS).raise_for_status()

    def request_log(self) -> list[dict[str, Any]]:
        reply = requests.get(self.url + '/_emulator/log', timeout=CONTROL_TIMEOUT_SECONDS)
        reply.raise_for_status()
        return reply.json()


def serve_command(serve_args: tuple[str, ...]) -> list[str]:
    return [sys.executable, '-m', 'devtools.emulator', 'serve', '--port', '0', *serve_args]
