"""Offline validation: `python -m devtools.validate [--keep]`.

1. `demisto-sdk validate -a` on a throwaway content-repo scaffold holding the pack, with
   devtools/sdk_config/validation_config.toml: the SDK's full rule set minus only the rules that need the
   network (see the comment at the top of that file).
2. Our own content checks for what offline validate misses (devtools/content_checks.py).
Exit 0 only when both are clean.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

from devtools.content_checks import check_pack
from devtools.paths import ROOT
from devtools.scaffold import build_scaffold, git, sdk_env

CONFIG = os.path.join(ROOT, 'devtools', 'sdk_config', 'validation_config.toml')
ANSI = re.compile(r'\x1b\[[0-9;]*m')


def sdk_executable():
    candidate = os.path.join(os.path.dirname(sys.executable), 'demisto-sdk')
    return candidate if os.path.exists(candidate) else 'demisto-sdk'


def run_sdk_validate(root=ROOT, keep=False):
    """(ok, output) of demisto-sdk validate on a scaffold of the pack at root."""
    work = tempfile.mkdtemp(prefix='pack-validate-')
    try:
        repo = build_scaffold(os.path.join(work, 'repo'), root)
        # rules that compare with the previous version look for origin/master: point it at the scaffold itself
        git(repo, 'remote', 'add', 'origin', repo)
        git(repo, 'fetch', '-q', 'origin')
        proc = subprocess.run([sdk_executable(), 'validate', '-a', '--config-path', CONFIG], cwd=repo,
                              env=sdk_env(), capture_output=True, text=True, timeout=900, check=False)
        output = ANSI.sub('', proc.stdout + proc.stderr)
        crashed = 'Traceback (most recent call last)' in output
        ok = proc.returncode == 0 and not crashed
        return ok, output
    finally:
        if keep:
            print(f'scaffold kept at {work}')
        else:
            shutil.rmtree(work, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m devtools.validate')
    parser.add_argument('--keep', action='store_true', help='keep the scaffold for inspection')
    options = parser.parse_args(argv)
    ok, output = run_sdk_validate(keep=options.keep)
    print(output)
    problems = check_pack(ROOT)
    for problem in problems:
        print('content check: ' + problem)
    print('demisto-sdk validate: {}; content checks: {} problem(s)'.format('passed' if ok else 'FAILED',
                                                                           len(problems)))
    return 0 if ok and not problems else 1


if __name__ == '__main__':
    sys.exit(main())
