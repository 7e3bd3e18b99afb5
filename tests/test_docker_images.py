"""Each integration and script names a pinned docker image whose libraries are pinned in ci/image-*.txt.

The pin files (one per image tag, libraries at the versions published for that tag in demisto/dockerfiles-info)
are what ``.ci/run`` installs to run the code on the image's interpreter. Here we check that the tag named in
each pin file is the tag the YAML names, that every image the pack uses has a pin file, that the pins are exact,
and that the code imports nothing its image lacks.
"""
import ast
import glob
import os
import re
import sys

import pytest
import yaml

from devtools.paths import ROOT

PLATFORM_MODULES = {'demistomock', 'CommonServerPython', 'CommonServerUserPython'}
PINNED_IMAGE = re.compile(r'^(demisto/[a-z0-9_\-]+):(\d+(\.\d+)+)$')
PIN_LINE = re.compile(r'^([A-Za-z0-9_.\-]+)==([0-9][0-9A-Za-z.+\-]*)$')
# distribution name -> the top-level module it provides (when they differ)
IMPORT_NAMES = {'pyjwt': 'jwt', 'pyyaml': 'yaml', 'python-dateutil': 'dateutil', 'charset-normalizer':
                'charset_normalizer', 'pysocks': 'socks', 'requests-file': 'requests_file'}
TOOLING_MARKER = '# test tooling'


def content_items():
    for kind in ('Integrations', 'Scripts'):
        base = os.path.join(ROOT, kind)
        for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
            yml = os.path.join(base, name, name + '.yml')
            if os.path.isfile(yml):
                yield os.path.join(base, name), name, f'{kind}/{name}'


def docker_image(folder, name):
    with open(os.path.join(folder, name + '.yml')) as f:
        data = yaml.safe_load(f)
    return (data.get('script') or {}).get('dockerimage') if isinstance(data.get('script'), dict) \
        else data.get('dockerimage')


def read_pin_file(path):
    """{'image': tag, 'python': version, 'image_pins': {dist: version}, 'tooling_pins': {...}, 'bad': [lines]}."""
    found = {'path': path, 'image': None, 'python': None, 'image_pins': {}, 'tooling_pins': {}, 'bad': []}
    section = 'image_pins'
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if line.startswith(TOOLING_MARKER):
                section = 'tooling_pins'
            elif line.startswith('# image:'):
                found['image'] = line.split(':', 1)[1].strip()
            elif line.startswith('# python:'):
                found['python'] = line.split(':', 1)[1].strip()
            elif line and not line.startswith('#'):
                match = PIN_LINE.match(line)
                if not match or match.group(1).lower() in {k.lower() for k in found[section]}:
                    found['bad'].append(line)
                else:
                    found[section][match.group(1)] = match.group(2)
    return found


def pin_files():
    return {pins['image']: pins for pins in map(read_pin_file, sorted(glob.glob(os.path.join(ROOT, 'ci',
                                                                                              'image-*.txt'))))}


def image_modules(pins):
    return {IMPORT_NAMES.get(dist.lower(), dist.lower().replace('-', '_')) for dist in pins['image_pins']}


def imported_top_modules(path):
    with open(path) as f:
        tree = ast.parse(f.read())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split('.')[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split('.')[0])
    return found


@pytest.mark.parametrize('folder, name', [pytest.param(f, n, id=i) for f, n, i in content_items()])
def test_image_is_pinned_and_provides_imports(folder, name):
    """Given a content item, Then its YAML names a pinned image with a pin file, and the image has its imports."""
    image = docker_image(folder, name)
    assert PINNED_IMAGE.match(image or ''), f'{name} must name a pinned demisto/<image>:<version>, not {image!r}'
    pins = pin_files()
    assert image in pins, f'{name} names {image}, but no ci/image-*.txt names that tag (have: {sorted(pins)})'
    imports = imported_top_modules(os.path.join(folder, name + '.py'))
    missing = sorted(m for m in imports if m not in sys.stdlib_module_names and m not in PLATFORM_MODULES
                     and m not in image_modules(pins[image]))
    assert not missing, f'{name} imports {missing} which {image} does not provide'


def test_every_pin_file_is_for_an_image_in_use():
    """Given the pin files, Then each names a tag some YAML uses (no stale pins after a tag change)."""
    used = {docker_image(folder, name) for folder, name, _ in content_items()}
    stale = sorted(image for image in pin_files() if image not in used)
    assert not stale, f'pin files for images no YAML names: {stale}'


@pytest.mark.parametrize('path', sorted(glob.glob(os.path.join(ROOT, 'ci', 'image-*.txt'))),
                         ids=os.path.basename)
def test_pin_file_is_exact(path):
    """Given a pin file, Then it names its tag and Python, pins every line exactly, and has the libraries CI needs."""
    pins = read_pin_file(path)
    assert PINNED_IMAGE.match(pins['image'] or ''), 'no "# image: demisto/<name>:<tag>" line in ' + path
    assert re.match(r'^3\.\d+\.\d+$', pins['python'] or ''), 'no "# python: 3.x.y" line in ' + path
    assert not pins['bad'], 'lines that are not single exact pins: {}'.format(pins['bad'])
    names = {n.lower() for n in pins['image_pins']}
    assert {'requests', 'urllib3', 'setuptools', 'certifi', 'idna'} <= names, names
    assert {'pytest', 'requests-mock'} <= {n.lower() for n in pins['tooling_pins']}
    if 'auth-utils' in pins['image']:
        assert {'pyjwt', 'cryptography'} <= names, 'the Cylance image provides PyJWT with its crypto extra'


def test_ci_runs_each_image_on_its_interpreter():
    """Given .ci/run, Then it starts with the README test command and runs every pin file on a pyenv Python."""
    with open(os.path.join(ROOT, '.ci', 'run')) as f:
        script = f.read()
    commands = [line.strip() for line in script.splitlines() if line.strip() and not line.strip().startswith('#')
                and not line.strip().startswith(('set ', 'cd ', 'ROOT=', 'start='))]
    assert commands[0] == 'bash devtools/dev.sh test', 'the README test command must come first'
    for path in glob.glob(os.path.join(ROOT, 'ci', 'image-*.txt')):
        assert 'ci/' + os.path.basename(path) in script, '.ci/run does not run ' + os.path.basename(path)


def test_checker_catches_a_missing_package(tmp_path):
    """Given code importing jwt, Then the python3 image's modules do not provide it (the check can fail)."""
    code = tmp_path / 'X.py'
    code.write_text('import demistomock as demisto\nimport jwt\nfrom CommonServerPython import *\n')
    python3 = next(p for image, p in pin_files().items() if image.startswith('demisto/python3:'))
    assert 'jwt' in imported_top_modules(str(code)) and 'jwt' not in image_modules(python3)
    assert 'jwt' in image_modules(next(p for image, p in pin_files().items() if 'auth-utils' in image))
