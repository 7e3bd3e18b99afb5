"""Build the uploadable pack zip offline: `python -m devtools.build [--out build]`.

Copies the pack's content into a throwaway content-repo scaffold (tests, test data and tooling left out)
and runs `demisto-sdk zip-packs`, which unifies each integration and script (code, image and description
embedded in one YAML). The zip lands in `<out>/EndpointResponse.zip`.

The zip's README.md is the Marketplace page: it is README.md without the sections only a developer needs
(DEVELOPER_SECTIONS), so the repository keeps one source for both.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

from devtools.paths import ROOT
from devtools.scaffold import PACK_FOLDER, build_scaffold

ZIP_NAME = 'EndpointResponse.zip'
DEVELOPER_SECTIONS = ('Install from source', 'Performance', 'Develop')


def marketplace_readme(text: str) -> str:
    """README.md without its developer sections (each `## <title>` up to the next `## ` heading)."""
    parts = re.split(r'(?m)^(?=## )', text)
    kept = [part for part in parts if not any(part.startswith('## ' + title + '\n') for title in DEVELOPER_SECTIONS)]
    return ''.join(kept).rstrip('\n') + '\n'


def sdk_executable() -> str:
    candidate = os.path.join(os.path.dirname(sys.executable), 'demisto-sdk')
    return candidate if os.path.exists(candidate) else 'demisto-sdk'


def build_zip(out_dir: str) -> str:
    """Path of the built zip in out_dir; raises RuntimeError with the SDK output on failure."""
    out_dir = os.path.abspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix='pack-build-')
    try:
        repo = build_scaffold(os.path.join(work, 'repo'))
        readme = os.path.join(repo, 'Packs', PACK_FOLDER, 'README.md')
        with open(os.path.join(ROOT, 'README.md')) as f:
            text = f.read()
        with open(readme, 'w') as f:
            f.write(marketplace_readme(text))
        sdk_out = os.path.join(work, 'zips')
        env = dict(os.environ, DEMISTO_SDK_IGNORE_CONTENT_WARNING='1', DEMISTO_SDK_SKIP_VERSION_CHECK='1')
        env.pop('DEMISTO_SDK_OFFLINE_ENV', None)
        proc = subprocess.run([sdk_executable(), 'zip-packs', '-i', os.path.join('Packs', PACK_FOLDER), '-o', sdk_out],
                              cwd=repo, env=env, capture_output=True, text=True, timeout=600)
        built = os.path.join(sdk_out, 'uploadable_packs', PACK_FOLDER + '.zip')
        if proc.returncode != 0 or not os.path.exists(built):
            raise RuntimeError('demisto-sdk zip-packs failed ({}):\n{}\n{}'.format(proc.returncode, proc.stdout,
                                                                                  proc.stderr))
        target = os.path.join(out_dir, ZIP_NAME)
        shutil.copyfile(built, target)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog='python -m devtools.build')
    parser.add_argument('--out', default=os.path.join(ROOT, 'build'), help='output folder (default build/)')
    options = parser.parse_args(argv)
    try:
        path = build_zip(options.out)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    print('Built {}'.format(path))
    return 0


if __name__ == '__main__':
    sys.exit(main())
