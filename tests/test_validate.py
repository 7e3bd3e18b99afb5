"""Offline `demisto-sdk validate` (full offline rule set) and our own content checks, on the real pack."""
import json
import os

import pytest
import yaml

from devtools import content_checks
from devtools.paths import ROOT
from devtools.sdk import copy_pack
from devtools.validate import run_sdk_validate

def test_sdk_validate_passes_on_the_pack():
    ok, output = run_sdk_validate()
    assert ok, output
    assert 'All validations passed' in output


def test_sdk_validate_fails_on_a_broken_pack(tmp_path):
    root = copy_pack(str(tmp_path / 'pack'))
    with open(os.path.join(root, 'pack_metadata.json')) as f:
        metadata = json.load(f)
    metadata['categories'] = ['Not An Approved Category']
    with open(os.path.join(root, 'pack_metadata.json'), 'w') as f:
        json.dump(metadata, f)
    ok, output = run_sdk_validate(root)
    assert not ok
    assert '[PA103]' in output  # categories must come from the approved list


def test_content_checks_pass_on_the_pack():
    assert content_checks.check_pack(ROOT) == []


@pytest.fixture
def broken(tmp_path):
    return copy_pack(str(tmp_path / 'pack'))


def edit_yaml(path, change):
    with open(path) as f:
        data = yaml.safe_load(f)
    change(data)
    with open(path, 'w') as f:
        yaml.safe_dump(data, f, sort_keys=False)


def xdr_yaml(root):
    return os.path.join(root, 'Integrations', 'CortexXDRResponse', 'CortexXDRResponse.yml')


def test_empty_descriptions_and_duplicates_are_found(broken):
    def change(data):
        commands = data['script']['commands']
        commands[0]['description'] = ' '
        commands[0]['arguments'][0]['description'] = ''
        commands[0]['outputs'][0]['description'] = ''
        commands.append(dict(commands[1]))
    edit_yaml(xdr_yaml(broken), change)
    problems = '\n'.join(content_checks.check_commands(broken))
    assert 'command has no description' in problems
    assert 'argument name has no description' in problems
    assert 'has no description' in problems
    assert 'duplicate command' in problems


def test_readme_out_of_date_is_found(broken):
    def change(data):
        data['script']['commands'][0]['arguments'].append({'name': 'brand_new_arg', 'description': 'New.'})
    edit_yaml(xdr_yaml(broken), change)
    readme = os.path.join(broken, 'Integrations', 'CortexXDRResponse', 'README.md')
    with open(readme, 'a') as f:
        f.write('\n### xdr-not-a-command\n')
    problems = '\n'.join(content_checks.check_readmes(broken))
    assert 'lacks argument brand_new_arg' in problems
    assert 'xdr-not-a-command which the YAML does not have' in problems


def test_placeholder_pack_name_is_found(broken):
    path = os.path.join(broken, 'pack_metadata.json')
    with open(path) as f:
        metadata = json.load(f)
    metadata['name'] = 'HelloWorld'
    with open(path, 'w') as f:
        json.dump(metadata, f)
    assert content_checks.check_pack_name(broken)
    metadata['name'] = 'endpoint things'
    with open(path, 'w') as f:
        json.dump(metadata, f)
    assert 'capitalised' in content_checks.check_pack_name(broken)[0]


def test_playbook_references_and_descriptions(broken):
    os.makedirs(os.path.join(broken, 'Playbooks'), exist_ok=True)
    playbook = {'id': 'X', 'name': 'X', 'version': -1, 'starttaskid': '0', 'tasks': {
        '1': {'task': {'name': 'a', 'script': '|||xdr-no-such-command'}},
        '2': {'task': {'name': 'b', 'scriptName': 'NoSuchScript'}},
        '3': {'task': {'name': 'c', 'playbookName': 'No Such Playbook'}},
        '4': {'task': {'name': 'd', 'scriptName': 'IsIntegrationAvailable'}},
        '5': {'task': {'name': 'e', 'script': 'Cortex XDR - Response Actions|||xdr-response-get-distribution-versions'}}},
        'inputs': [{'key': 'i', 'description': ''}], 'outputs': [{'contextPath': 'o'}]}
    with open(os.path.join(broken, 'Playbooks', 'playbook-X.yml'), 'w') as f:
        yaml.safe_dump(playbook, f)
    problems = '\n'.join(content_checks.check_playbooks(broken))
    assert 'command xdr-no-such-command does not exist' in problems
    assert 'script NoSuchScript does not exist' in problems
    assert 'sub-playbook No Such Playbook does not exist' in problems
    assert 'IsIntegrationAvailable' not in problems
    assert 'xdr-response-get-distribution-versions' not in problems
    assert 'input i has no description' in problems and 'output o has no description' in problems


def test_release_notes_must_name_every_item(broken):
    with open(os.path.join(broken, 'pack_metadata.json')) as f:
        version = json.load(f)['currentVersion']
    with open(os.path.join(broken, 'ReleaseNotes', version.replace('.', '_') + '.md'), 'w') as f:
        f.write('#### Integrations\n')
    assert 'Cortex XDR - Response Actions is not in the release notes' in '\n'.join(
        content_checks.check_release_notes(broken))
