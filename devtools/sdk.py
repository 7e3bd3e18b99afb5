"""demisto-sdk offline: its executable and environment, the content-repo scaffold it needs, and git.

demisto-sdk expects `Packs/<Pack>/` inside a git repository with a `Config/` folder and runs from that root with
DEMISTO_SDK_IGNORE_CONTENT_WARNING set (and DEMISTO_SDK_OFFLINE_ENV unset: `format` refuses to run with it). The
scaffold holds a copy of the pack without tests, test data, caches or tooling.

Nothing is left outside the checkout: each SDK run gets a temporary folder of its own under build/tmp (TMPDIR; the
unifier leaves files there), removed when it ends, and writes its log under build/demisto-sdk-logs
(DEMISTO_SDK_LOG_FILE_PATH) instead of ~/.demisto-sdk/logs.
"""
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from devtools.paths import ROOT

PACK_FOLDER = 'EndpointResponse'
CONFIG_DIR = os.path.join(ROOT, 'devtools', 'sdk_config', 'Config')
PACK_ITEMS = ('pack_metadata.json', 'README.md', '.pack-ignore', '.secrets-ignore', 'Author_image.png', 'doc_files',
              'Integrations', 'Scripts', 'Playbooks', 'TestPlaybooks', 'ReleaseNotes')
EXCLUDED = shutil.ignore_patterns('*_test.py', 'test_data', '__pycache__', '*.pyc', 'conftest.py', '.pytest_cache',
                                  '.hypothesis', '.mypy_cache')
SDK_TMP = os.path.join(ROOT, 'build', 'tmp')
SDK_LOGS = os.path.join(ROOT, 'build', 'demisto-sdk-logs')
GIT_IDENTITY = ('-c', 'user.email=scaffold@localhost', '-c', 'user.name=scaffold', '-c', 'commit.gpgsign=false')


def git(repo: str, *args: str) -> str:
    """Run git in repo (with a local identity, so commits work on any machine); its stdout. Fails loudly."""
    return subprocess.run(['git', *GIT_IDENTITY, *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def sdk_executable() -> str:
    """The demisto-sdk of this interpreter's environment (works without an activated venv), else the one on PATH."""
    candidate = os.path.join(os.path.dirname(sys.executable), 'demisto-sdk')
    return candidate if os.path.exists(candidate) else 'demisto-sdk'


def sdk_env() -> dict[str, str]:
    env = dict(os.environ, DEMISTO_SDK_IGNORE_CONTENT_WARNING='1', DEMISTO_SDK_SKIP_VERSION_CHECK='1',
               DEMISTO_SDK_NO_UPDATE_CHECK='1', SKIP_DEMISTO_SDK_VERSION_CHECK='1')
    env.pop('DEMISTO_SDK_OFFLINE_ENV', None)
    return env


def run_sdk(args: list[str], cwd: str, timeout: int) -> subprocess.CompletedProcess:
    """`demisto-sdk <args>` in cwd; the caller reads returncode, stdout and stderr. Its temporary files go to a
    folder of its own under build/tmp, removed afterwards; its log to build/demisto-sdk-logs."""
    os.makedirs(SDK_TMP, exist_ok=True)
    temp = tempfile.mkdtemp(prefix='demisto-sdk-', dir=SDK_TMP)
    env = dict(sdk_env(), TMPDIR=temp, TEMP=temp, TMP=temp)
    env.setdefault('DEMISTO_SDK_LOG_FILE_PATH', SDK_LOGS)
    try:
        return subprocess.run([sdk_executable(), *args], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
        try:
            os.rmdir(SDK_TMP)  # only when no other SDK run is using it
        except OSError:
            pass


def copy_pack(dest_pack: str, root: str = ROOT, ignore=EXCLUDED) -> str:
    """Copy the pack's content items from root into dest_pack (tests and caches left out unless ignore says else)."""
    os.makedirs(dest_pack, exist_ok=True)
    for item in PACK_ITEMS:
        source = os.path.join(root, item)
        if os.path.isdir(source):
            shutil.copytree(source, os.path.join(dest_pack, item), ignore=ignore)
        elif os.path.isfile(source):
            shutil.copyfile(source, os.path.join(dest_pack, item))
    return dest_pack


def build_scaffold(dest_dir: str, root: str = ROOT, pack_as_change: bool = False) -> str:
    """Create the scaffold repository at dest_dir (must not exist) and return its path.

    By default everything is committed on master. With pack_as_change only Config/ is committed and the pack is
    added to the index on top of it, so every pack file is a new, uncommitted file: what `demisto-sdk secrets`
    scans (the changes against HEAD, as in a content repository's pre-commit run).
    """
    os.makedirs(dest_dir)
    shutil.copytree(CONFIG_DIR, os.path.join(dest_dir, 'Config'))
    git(dest_dir, 'init', '-q', '-b', 'master')
    if pack_as_change:
        git(dest_dir, 'add', '-A')
        git(dest_dir, 'commit', '-qm', 'content repository without the pack')
    copy_pack(os.path.join(dest_dir, 'Packs', PACK_FOLDER), root)
    git(dest_dir, 'add', '-A')
    if not pack_as_change:
        git(dest_dir, 'commit', '-qm', 'scaffold')
    return dest_dir


@contextmanager
def scaffold(root: str = ROOT, keep: bool = False, pack_as_change: bool = False) -> Iterator[str]:
    """A scaffold of the pack at root in a temporary folder, removed afterwards unless keep."""
    work = tempfile.mkdtemp(prefix='pack-scaffold-')
    try:
        yield build_scaffold(os.path.join(work, 'repo'), root, pack_as_change)
    finally:
        if keep:
            print(f'scaffold kept at {work}', file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
