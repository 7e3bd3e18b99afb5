"""The built pack zip itself: complete, free of development files, and working as built.

Builds the zip once (devtools/build.py, offline demisto-sdk zip-packs), then checks its content and runs
the code extracted from each unified integration YAML on our runtime against the emulator.
"""
import fnmatch
import json
import os
import re
import zipfile

import pytest
import yaml

import CommonServerPython
from devtools import instances
from devtools.build import DEVELOPER_SECTIONS, build_zip, marketplace_readme
from devtools.emulator import Emulator, credentials
from devtools.paths import ROOT
from devtools.runner import PackIndex, Session, errors_of

FORBIDDEN = ('*_test.py', '*test_data*', '*__pycache__*', '*.pyc', '*demistomock*', '*CommonServerPython.py',
             '*devtools*', '*benchmarks*', '*conftest*', '*.hypothesis*', '*.env', '*credentials*', '*emulator*')


def source_items(kind):
    base = os.path.join(ROOT, kind)
    return {name: yaml.safe_load(open(os.path.join(base, name, name + '.yml')))
            for name in (sorted(os.listdir(base)) if os.path.isdir(base) else [])
            if os.path.isfile(os.path.join(base, name, name + '.yml'))}


@pytest.fixture(scope='module')
def build_places(tmp_path_factory):
    """The system temp folder and the home folder the build sees: empty ones, to find what it leaves there."""
    return {'TMPDIR': tmp_path_factory.mktemp('system-tmp'), 'HOME': tmp_path_factory.mktemp('home')}


@pytest.fixture(scope='module')
def artifact(tmp_path_factory, build_places):
    with pytest.MonkeyPatch.context() as patch:
        for name, path in build_places.items():
            patch.setenv(name, str(path))
        patch.delenv('DEMISTO_SDK_LOG_FILE_PATH', raising=False)
        path = build_zip(str(tmp_path_factory.mktemp('build')))
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist() if not name.endswith('/')}


def test_the_build_leaves_nothing_in_the_temp_or_home_folder(artifact, build_places):
    """demisto-sdk's unifier leaves temporary files and its log goes to ~/.demisto-sdk/logs unless told otherwise:
    the build gives it a temp folder under build/tmp (removed) and a log folder under build/."""
    for name, path in build_places.items():
        assert sorted(p.name for p in path.rglob('*')) == [], f'left in {name}'
    assert not os.path.exists(os.path.join(ROOT, 'build', 'tmp')) or os.listdir(os.path.join(ROOT, 'build', 'tmp')) \
        == []


def test_metadata_server_min_version_is_the_lowest_fromversion_of_the_items(artifact):
    """zip-packs writes serverMinVersion 0.0.0; the pack's items need fromversion: the Marketplace must say so."""
    metadata = json.loads(artifact['metadata.json'])
    versions = {str(item.get('fromversion')) for kind in ('Integrations', 'Scripts')
                for item in source_items(kind).values()}
    for name in os.listdir(os.path.join(ROOT, 'Playbooks')):
        if name.endswith('.yml'):
            with open(os.path.join(ROOT, 'Playbooks', name)) as f:
                versions.add(str(yaml.safe_load(f).get('fromversion')))
    lowest = min(versions, key=lambda v: tuple(int(part) for part in v.split('.')))
    assert lowest != '0.0.0'
    assert metadata['serverMinVersion'] == lowest
    assert metadata['currentVersion'] == json.loads(artifact['pack_metadata.json'])['currentVersion']


def unified(artifact, kind, name):
    prefix = {'Integrations': 'integration-', 'Scripts': 'script-'}[kind]
    return yaml.safe_load(artifact[f'{kind}/{prefix}{name}.yml'])


def test_artifact_holds_every_content_item(artifact):
    names = set(artifact)
    assert {'pack_metadata.json', 'README.md', 'metadata.json'} <= names
    for name in source_items('Integrations'):
        assert f'Integrations/integration-{name}.yml' in names
    for name in source_items('Scripts'):
        assert f'Scripts/script-{name}.yml' in names
    for playbook in os.listdir(os.path.join(ROOT, 'Playbooks')):
        if playbook.endswith('.yml'):
            assert any(n.startswith('Playbooks/') and n.endswith(playbook) for n in names), playbook
    for test_playbook in os.listdir(os.path.join(ROOT, 'TestPlaybooks')):
        assert 'TestPlaybooks/' + test_playbook in names, test_playbook
    for notes in os.listdir(os.path.join(ROOT, 'ReleaseNotes')):
        assert 'ReleaseNotes/' + notes in names
    metadata = json.loads(artifact['pack_metadata.json'])
    with open(os.path.join(ROOT, 'pack_metadata.json')) as f:
        assert metadata['currentVersion'] == json.load(f)['currentVersion']


def test_artifact_has_no_development_files(artifact):
    for name in artifact:
        for pattern in FORBIDDEN:
            assert not fnmatch.fnmatch(name, pattern), f'{name} must not be in the pack zip'
    blob = b''.join(artifact.values())
    for secret in (credentials.XDR_STANDARD['key'], credentials.CYLANCE_APP['app_secret']):
        assert secret.encode() not in blob


@pytest.mark.parametrize('kind', ['Integrations', 'Scripts'])
def test_unified_yaml_carries_code_image_description_and_metadata(artifact, kind):
    for name, source in source_items(kind).items():
        built = unified(artifact, kind, name)
        script = built['script'] if kind == 'Integrations' else built
        code = script['script']
        with open(os.path.join(ROOT, kind, name, name + '.py')) as f:
            body = f.read()
        assert 'def main(' in code and body.split('\n')[-4].strip() in code
        if kind == 'Integrations':
            assert built['image'].startswith('data:image/png;base64,')
            assert 'Create the API key' in built['detaileddescription'] or len(built['detaileddescription']) > 200
            assert built['script']['dockerimage'] == source['script']['dockerimage']
        else:
            assert built['dockerimage'] == source['dockerimage']
        assert built['marketplaces'] == source['marketplaces']
        assert built['fromversion'] == source['fromversion']


def extracted_pack(artifact, tmp_path):
    """A pack-shaped folder whose integration code is exactly what the unified YAMLs carry."""
    root = tmp_path / 'from-artifact'
    for name in source_items('Integrations'):
        built = unified(artifact, 'Integrations', name)
        folder = root / 'Integrations' / name
        folder.mkdir(parents=True)
        (folder / (name + '.yml')).write_text(yaml.safe_dump(built))
        # the platform runs unified code with CommonServerPython's names (and demisto) already in its globals
        (folder / (name + '.py')).write_text('import demistomock as demisto\nfrom CommonServerPython import *\n'
                                             'from CommonServerPython import __line__\n'
                                             + built['script']['script'])
    return str(root)


SMOKE = {
    'CortexXDRResponse': ('xdr-response-get-distribution-versions', {}),
    'CylanceOpticsPackages': ('cylance-optics-list-packages', {'page_size': '3'}),
}


def test_artifact_code_runs_against_the_emulator(artifact, tmp_path):
    assert hasattr(CommonServerPython, 'register_module_line')
    root = extracted_pack(artifact, tmp_path)
    with Emulator() as emulator:
        params = instances.emulator_params(emulator, 'advanced')
        session = Session(instances=params, workdir=str(tmp_path / 'work'), index=PackIndex(root))
        for name in params:
            entries = session.execute('test-module', using=name)
            assert [e['Contents'] for e in entries] == ['ok'], name
            command, args = SMOKE[name]
            entries = session.execute(command, args, using=name)
            assert not errors_of(entries) and entries[0]['EntryContext'], name


DEVELOPER_TEXT = ('dev.sh', 'devtools', 'benchmark', 'bench', '.venv', 'pytest', 'emulator', 'requirements-dev',
                  'XSOAR_RUNTIME_DIR', 'demisto-sdk', '## Performance', '## Develop', 'Install from source')
USER_SECTIONS = ('# Endpoint Response', '## What is in the pack', '## Migrating from Cortex XDR - IR', '## Playbooks',
                 '## Requirements', '## Setup')


def test_zip_readme_is_the_marketplace_page(artifact):
    """Given the built zip, when its README is read, then it has what a Marketplace user needs and no text only a
    developer can use."""
    readme = artifact['README.md'].decode()
    lowered = readme.lower()
    assert [text for text in DEVELOPER_TEXT if text.lower() in lowered] == []
    for heading in USER_SECTIONS:
        assert re.search(rf'(?m)^{re.escape(heading)}$', readme), heading
    for playbook in os.listdir(os.path.join(ROOT, 'Playbooks')):
        if playbook.endswith('.yml'):
            assert yaml.safe_load(open(os.path.join(ROOT, 'Playbooks', playbook)))['name'] in readme


def test_repository_readme_keeps_the_developer_sections_with_develop_last():
    with open(os.path.join(ROOT, 'README.md')) as f:
        readme = f.read()
    headings = re.findall(r'(?m)^## (.*)$', readme)
    assert headings[-1] == 'Develop'
    for title in DEVELOPER_SECTIONS:
        assert title in headings
    # the official playbooks do not run on our commands (see the migration)
    assert 'so existing playbooks keep working' not in readme


def test_marketplace_readme_drops_whole_sections_only():
    text = '# P\nintro\n## Setup\nstep\n### Sub\nmore\n## Performance\nbench\n## Develop\ndev.sh test\n'
    assert marketplace_readme(text) == '# P\nintro\n## Setup\nstep\n### Sub\nmore\n'


def test_the_pack_description_names_what_the_optics_commands_do():
    """The Marketplace description is what a SOC user reads first: it must not undersell the Optics part (packages
    are created/uploaded and run on devices or zones, executions followed and deleted, not only inspected)."""
    with open(os.path.join(ROOT, 'pack_metadata.json')) as f:
        description = json.load(f)['description']
    commands = {c['name'] for c in source_items('Integrations').get('CylanceOpticsPackages', {}).get(
        'script', {}).get('commands', [])}
    for command, words in (('cylance-optics-create-package', ('create', 'upload')),
                           ('cylance-optics-run-package', ('run', 'devices', 'zones')),
                           ('cylance-optics-get-execution', ('follow', 'executions')),
                           ('cylance-optics-delete-execution', ('delete',)),
                           ('cylance-optics-download-package', ('download',))):
        if command in commands:
            for word in words:
                assert word in description, f'{command}: the description does not say "{word}"'
    assert 'inspect and download Optics packages' not in description
