"""Build the uploadable pack zip offline: `python -m devtools.build [--out build]`.

Copies the pack's content into a throwaway content-repo scaffold (tests, test data and tooling left out)
and runs `demisto-sdk zip-packs`, which unifies each integration and script (code, image and description
embedded in one YAML). The zip lands in `<out>/EndpointResponse.zip`.

demisto-sdk 1.39's zip-packs writes serverMinVersion "0.0.0" into metadata.json (it never reads one); the build
sets it the way the SDK's content graph does: the lowest fromversion of the pack's content items (test playbooks
not counted), so the Marketplace does not offer the pack to servers its items do not support.

The zip's README.md is the Marketplace page: it is README.md without the sections only a developer needs
(DEVELOPER_SECTIONS), so the repository keeps one source for both.
"""
import argparse
import json
import os
import re
import shutil
import sys
import zipfile

import yaml

from devtools.paths import ROOT
from devtools.sdk import PACK_FOLDER, run_sdk, scaffold
from devtools.sync import as_content_repo

ZIP_NAME = 'EndpointResponse.zip'
DEVELOPER_SECTIONS = ('Install from source', 'Performance', 'Develop')


def marketplace_readme(text: str) -> str:
    """README.md without its developer sections (each `## <title>` up to the next `## ` heading)."""
    parts = re.split(r'(?m)^(?=## )', text)
    kept = [part for part in parts if not any(part.startswith('## ' + title + '\n') for title in DEVELOPER_SECTIONS)]
    return ''.join(kept).rstrip('\n') + '\n'


MARKETPLACE_MIN_VERSION = '6.0.0'  # demisto-sdk's default when no content item names a fromversion
DEFAULT_FROM_VERSION = '0.0.0'  # an item without fromversion, not counted (as in the SDK)


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r'\d+', version)[:3])


def server_min_version(archive: zipfile.ZipFile) -> str:
    """The lowest fromversion of the zip's content items (YAML outside TestPlaybooks/)."""
    versions = []
    for name in archive.namelist():
        if name.endswith('.yml') and not name.startswith('TestPlaybooks/'):
            data = yaml.safe_load(archive.read(name)) or {}
            version = str(data.get('fromversion') or DEFAULT_FROM_VERSION)
            if version != DEFAULT_FROM_VERSION:
                versions.append(version)
    return min(versions, key=version_key, default=MARKETPLACE_MIN_VERSION)


def set_server_min_version(path: str) -> str:
    """Rewrite the zip at path with metadata.json's serverMinVersion computed from its items; that version."""
    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
        version = server_min_version(archive)
    rewritten = path + '.part'
    with zipfile.ZipFile(rewritten, 'w') as archive:
        for info, data in members:
            if info.filename == 'metadata.json':
                metadata = dict(json.loads(data), serverMinVersion=version)
                archive.writestr(info, json.dumps(metadata, indent=4).encode('utf-8'))
            else:
                archive.writestr(info, data)
    os.replace(rewritten, path)
    return version


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
        as_content_repo(os.path.join(repo, 'Packs', PACK_FOLDER), repo)  # the unifier inlines the ApiModules again
        sdk_out = os.path.join(os.path.dirname(repo), 'zips')  # beside the scaffold, removed with it
        proc = run_sdk(['zip-packs', '-i', os.path.join('Packs', PACK_FOLDER), '-o', sdk_out], cwd=repo, timeout=600)
        built = os.path.join(sdk_out, 'uploadable_packs', PACK_FOLDER + '.zip')
        if proc.returncode != 0 or not os.path.exists(built):
            raise RuntimeError(f'demisto-sdk zip-packs failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}')
        target = os.path.join(out_dir, ZIP_NAME)
        shutil.copyfile(built, target)
        set_server_min_version(target)
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
