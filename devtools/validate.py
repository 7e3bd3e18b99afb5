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
import sys

from devtools.content_checks import check_pack
from devtools.paths import ROOT
from devtools.sdk import git, run_sdk, scaffold

CONFIG = os.path.join(ROOT, 'devtools', 'sdk_config', 'validation_config.toml')
ANSI = re.compile(r'\x1b\[[0-9;]*m')


def run_sdk_validate(root: str = ROOT, keep: bool = False) -> tuple[bool, str]:
    """(ok, output) of demisto-sdk validate on a scaffold of the pack at root."""
    with scaffold(root, keep=keep) as repo:
        # rules that compare with the previous version look for origin/master: point it at the scaffold itself
        git(repo, 'remote', 'add', 'origin', repo)
        git(repo, 'fetch', '-q', 'origin')
        proc = run_sdk(['validate', '-a', '--config-path', CONFIG], cwd=repo, timeout=900)
    output = ANSI.sub('', proc.stdout + proc.stderr)
    crashed = 'Traceback (most recent call last)' in output
    return proc.returncode == 0 and not crashed, output


def main(argv=None):
    parser = argparse.ArgumentParser(prog='bash devtools/dev.sh validate')
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
