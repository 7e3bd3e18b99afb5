"""No process started by the test suite may outlive it (a pytest plugin; the root conftest.py loads it).

At the start the suite's process puts a mark of its own into its environment; every process it starts, directly or
through `dev.sh` (a background emulator in a session of its own included), inherits it. At the end, every process
still carrying the mark, other than pytest itself, is a leak: the suite reports it with its command line, ends it
(SIGKILL, by pid) and fails. Linux (/proc) only; elsewhere the check is skipped.
"""
import os
import signal
import time
import uuid

import pytest

MARK = 'ENDPOINT_RESPONSE_TEST_RUN'
# a stop in progress (SIGTERM sent, process shutting down) gets this long to finish
GRACE_SECONDS = float(os.environ.get('TEST_LEAK_GRACE_SECONDS') or 10)


def pytest_configure(config):
    os.environ[MARK] = f'{os.getpid()}-{uuid.uuid4().hex}'


def marked_processes(mark: str) -> dict[int, str]:
    """pid -> command line of every live process whose environment carries MARK=mark (this process excluded)."""
    wanted = f'{MARK}={mark}'.encode()
    found: dict[int, str] = {}
    for name in os.listdir('/proc') if os.path.isdir('/proc') else []:
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f'/proc/{name}/environ', 'rb') as f:
                if wanted not in f.read().split(b'\0'):
                    continue
            with open(f'/proc/{name}/cmdline', 'rb') as f:
                found[int(name)] = f.read().replace(b'\0', b' ').decode(errors='replace').strip()
        except OSError:  # ended meanwhile, or another user's process
            continue
    return found


def still_running(mark: str, grace: float = GRACE_SECONDS) -> dict[int, str]:
    deadline = time.monotonic() + grace
    left = marked_processes(mark)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = marked_processes(mark)
    return left


@pytest.fixture(scope='session', autouse=True)
def no_process_left_behind():
    yield
    if not os.path.isdir('/proc'):
        return
    left = still_running(os.environ[MARK])
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    if left:
        pytest.fail('processes started by the test suite were still running at its end (now killed):\n' + '\n'.join(
            f'  pid {pid}: {cmdline}' for pid, cmdline in sorted(left.items())), pytrace=False)
