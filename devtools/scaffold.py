"""A throwaway content-repo shape holding the pack, for demisto-sdk (validate, zip-packs, generate-docs).

demisto-sdk expects `Packs/<Pack>/` inside a git repository with a `Config/` folder. The pack's content is
copied in without tests, test data, caches or tooling.
"""
import os
import shutil
import subprocess

from devtools.paths import ROOT

PACK_FOLDER = 'EndpointResponse'
CONFIG_DIR = os.path.join(ROOT, 'devtools', 'sdk_config', 'Config')
PACK_ITEMS = ('pack_metadata.json', 'README.md', '.pack-ignore', '.secrets-ignore', 'Author_image.png', 'doc_files',
              'Integrations', 'Scripts', 'Playbooks', 'TestPlaybooks', 'ReleaseNotes')
EXCLUDED = shutil.ignore_patterns('*_test.py', 'test_data', '__pycache__', '*.pyc', 'conftest.py', '.pytest_cache',
                                  '.hypothesis', '.mypy_cache')


def copy_pack(dest_pack: str, root: str = ROOT) -> None:
    os.makedirs(dest_pack, exist_ok=True)
    for item in PACK_ITEMS:
        source = os.path.join(root, item)
        if os.path.isdir(source):
            shutil.copytree(source, os.path.join(dest_pack, item), ignore=EXCLUDED)
        elif os.path.isfile(source):
            shutil.copyfile(source, os.path.join(dest_pack, item))


def git(repo: str, *args: str) -> None:
    subprocess.run(['git', '-c', 'user.email=scaffold@localhost', '-c', 'user.name=scaffold',
                    '-c', 'commit.gpgsign=false'] + list(args), cwd=repo, check=True, capture_output=True)


def build_scaffold(dest_dir: str, root: str = ROOT) -> str:
    """Create the scaffold repository at dest_dir (must not exist) and return its path."""
    os.makedirs(dest_dir)
    copy_pack(os.path.join(dest_dir, 'Packs', PACK_FOLDER), root)
    shutil.copytree(CONFIG_DIR, os.path.join(dest_dir, 'Config'))
    git(dest_dir, 'init', '-q', '-b', 'master')
    git(dest_dir, 'add', '-A')
    git(dest_dir, 'commit', '-qm', 'scaffold')
    return dest_dir


def sdk_env() -> dict:
    env = dict(os.environ, DEMISTO_SDK_IGNORE_CONTENT_WARNING='1', DEMISTO_SDK_SKIP_VERSION_CHECK='1',
               DEMISTO_SDK_NO_UPDATE_CHECK='1', SKIP_DEMISTO_SDK_VERSION_CHECK='1')
    env.pop('DEMISTO_SDK_OFFLINE_ENV', None)  # `format` refuses to run with it set
    return env
