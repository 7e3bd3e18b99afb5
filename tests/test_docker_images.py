"""Each integration and script names a pinned demisto/... image that carries what its code imports.

The packages each image family provides beyond the standard library are listed here explicitly (from the
public demisto docker image definitions); code importing anything else would fail on the XSOAR engine.
"""
import ast
import os
import re
import sys

import pytest
import yaml

from devtools.paths import ROOT

PLATFORM_MODULES = {'demistomock', 'CommonServerPython', 'CommonServerUserPython'}
IMAGE_PACKAGES = {
    'demisto/python3': {'requests', 'urllib3', 'dateparser', 'pytz', 'yaml', 'certifi', 'idna'},
    'demisto/pyjwt3': {'requests', 'urllib3', 'dateparser', 'pytz', 'jwt', 'certifi', 'idna', 'cryptography'},
}
PINNED = re.compile(r'^(demisto/[a-z0-9_\-]+):(\d+(\.\d+)+)$')


def content_items():
    for kind in ('Integrations', 'Scripts'):
        base = os.path.join(ROOT, kind)
        for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
            yml = os.path.join(base, name, name + '.yml')
            if os.path.isfile(yml):
                yield pytest.param(os.path.join(base, name), name, id='{}/{}'.format(kind, name))


def imported_top_modules(path):
    with open(path) as f:
        tree = ast.parse(f.read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split('.')[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split('.')[0])
    return found


@pytest.mark.parametrize('folder, name', list(content_items()))
def test_image_is_pinned_and_provides_imports(folder, name):
    with open(os.path.join(folder, name + '.yml')) as f:
        data = yaml.safe_load(f)
    image = (data.get('script') or {}).get('dockerimage') if isinstance(data.get('script'), dict) \
        else data.get('dockerimage')
    match = PINNED.match(image or '')
    assert match, '{} must name a pinned demisto/<image>:<version> image, not {!r}'.format(name, image)
    family = match.group(1)
    assert family in IMAGE_PACKAGES, 'unknown image family {} (add it to IMAGE_PACKAGES with its packages)'.format(
        family)
    imports = imported_top_modules(os.path.join(folder, name + '.py'))
    stdlib = set(sys.stdlib_module_names)
    missing = sorted(m for m in imports if m not in stdlib and m not in PLATFORM_MODULES
                     and m not in IMAGE_PACKAGES[family])
    assert not missing, '{} imports {} which {} does not provide'.format(name, missing, image)


def test_checker_catches_a_missing_package(tmp_path):
    code = tmp_path / 'X.py'
    code.write_text('import demistomock as demisto\nimport jwt\nfrom CommonServerPython import *\n')
    imports = imported_top_modules(str(code))
    assert 'jwt' in imports and 'jwt' not in IMAGE_PACKAGES['demisto/python3']
