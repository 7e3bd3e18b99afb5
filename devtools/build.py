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
import sys

from devtools.paths import ROOT
from devtools.sdk import PACK_FOLDER, run_sdk, scaffold

ZIP_NAME = 'EndpointResponse.zip'
DEVELOPER_SECTIONS = ('Install from source', 'Performance', 'Develop')


def marketplace_readme(text: str) -> str:
    """README.md without its developer sections (each `## <title>` up to the next `## ` heading)."""
    parts = re.split(r'(?m)^(?=## )', text)
    kept = [part for part in parts if not any(part.startswith('## ' + title + '\n') for title in DEVELOPER_SECTIONS)]
    return ''.join(kept).rstrip('\n') + '\n'


def build_zip(out_dir: str) -> str:
    """Path of the built zip in out_dir; raises RuntimeError with the SDK output on failure."""
    out_dir = os.path.abspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    with scaffold() as repo:
        readme = os.path.join(repo, 'Packs', PACK_FOLDER, 'README.md')
        with open(os.path.join(ROOT, 'README.md')) as f:
            text = f.read()
        with open(readme, 'w') as f:
            f.write(marketplace_readme(text))
        sdk_out = os.path.join(os.path.dirname(repo), 'zips')  # beside the scaffold, removed with it
        proc = run_sdk(['zip-packs', '-i', os.path.join('Packs', PACK_FOLDER), '-o', sdk_out], cwd=repo, timeout=600)
        built = os.path.join(sdk_out, 'uploadable_packs', PACK_FOLDER + '.zip')
        if proc.returncode != 0 or not os.path.exists(built):
            raise RuntimeError(f'demisto-sdk zip-packs failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}')
        target = os.path.join(out_dir, ZIP_NAME)
        shutil.copyfile(built, target)
        return target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog='bash devtools/dev.sh build')
    parser.add_argument('--out', default=os.path.join(ROOT, 'build'), help='output folder (default build/)')
    options = parser.parse_args(argv)
    try:
        path = build_zip(options.out)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    print(f'Built {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
