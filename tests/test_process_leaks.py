"""The suite's leak check: a process a test leaves running fails the run and is ended."""
import os
import subprocess
import sys
import textwrap

from devtools.paths import ROOT
from tests import process_leaks


def test_a_background_process_a_test_leaves_running_fails_the_suite_and_is_ended(tmp_path):
    """Given a test that starts a process in a session of its own (as `emulator start` does) and never stops it,
    When its suite ends, Then the run fails naming that process, and the process is gone."""
    pid_file = tmp_path / 'pid'
    (tmp_path / 'test_leaky.py').write_text(textwrap.dedent(f'''
        import subprocess, sys
        def test_leaks():
            proc = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], start_new_session=True)
            open({str(pid_file)!r}, 'w').write(str(proc.pid))
    '''))
    (tmp_path / 'pytest.ini').write_text('[pytest]\n')
    env = dict(os.environ, PYTHONPATH=ROOT, TEST_LEAK_GRACE_SECONDS='1')
    proc = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', '-p', 'tests.process_leaks',
                           str(tmp_path / 'test_leaky.py')], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    pid = int(pid_file.read_text())
    assert proc.returncode != 0, proc.stdout
    assert 'still running at its end' in proc.stdout and f'pid {pid}:' in proc.stdout
    assert not os.path.exists(f'/proc/{pid}') or open(f'/proc/{pid}/stat').read().split()[2] == 'Z'


def test_the_check_finds_only_this_runs_processes(tmp_path):
    mark = os.environ[process_leaks.MARK]
    child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])
    other = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'],
                             env=dict(os.environ, **{process_leaks.MARK: 'another-run'}))
    try:
        found = process_leaks.marked_processes(mark)
        assert child.pid in found and other.pid not in found
    finally:
        for proc in (child, other):
            proc.kill()
            proc.wait()
    assert child.pid not in process_leaks.marked_processes(mark)
