"""Offline `demisto-sdk validate` (full offline rule set) and our own content checks, on the real pack."""
import json
import os
import secrets

import pytest
import yaml

from devtools import content_checks
from devtools.paths import ROOT
from devtools.sdk import copy_pack
from devtools.validate import SECRETS_IGNORE_REASONS, check_secrets_ignore, run_sdk_secrets, run_sdk_validate

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


# ---------------------------------------------------------------- content CI's secrets gate

def fake_key() -> str:
    """A fresh random token that reads like an API key (Shannon entropy well above demisto-sdk's 4.0)."""
    return 'sk_' + secrets.token_urlsafe(30)


def test_sdk_secrets_passes_on_the_pack():
    """Given the pack with its reviewed .secrets-ignore, When demisto-sdk secrets scans it, Then nothing is found."""
    ok, output, findings = run_sdk_secrets()
    assert ok and findings == [], output
    assert 'no secrets were found' in output


def test_sdk_secrets_reports_a_new_secret(tmp_path):
    """Given a new shipped file with a key-like string and a README with a new e-mail address, When the gate runs,
    Then it fails and names both."""
    root = copy_pack(str(tmp_path / 'pack'))
    key = fake_key()
    with open(os.path.join(root, 'ReleaseNotes', '9_9_9.md'), 'w') as f:
        f.write(f'#### Integrations\n\n##### Cortex XDR - Response Actions\n\n- Example key {key} for the docs.\n')
    with open(os.path.join(root, 'Integrations', 'CylanceOpticsPackages', 'README.md'), 'a') as f:
        f.write('\nQuestions: jane.doe@corp-mail.net\n')
    ok, output, findings = run_sdk_secrets(root)
    assert not ok
    assert ('ReleaseNotes/9_9_9.md', key) in findings, output
    assert ('Integrations/CylanceOpticsPackages/README.md', 'jane.doe@corp-mail.net') in findings, output


def test_sdk_secrets_skips_what_the_pack_does_not_ship(tmp_path):
    """Given key-like strings only in files the pack zip leaves out (unit tests, test data, a top-level
    ApiModules/ folder), When the gate runs, Then it passes: it scans the shipped files."""
    root = copy_pack(str(tmp_path / 'pack'))
    key = fake_key()
    for folder, name in (('ApiModules', 'SomeApiModule.py'), ('Integrations/CortexXDRResponse/test_data', 'x.json'),
                         ('Integrations/CortexXDRResponse', 'CortexXDRResponse_extra_test.py')):
        os.makedirs(os.path.join(root, folder), exist_ok=True)
        with open(os.path.join(root, folder, name), 'w') as f:
            f.write(f'KEY = "{key}"\n')
    ok, output, findings = run_sdk_secrets(root)
    assert ok and findings == [], output


def test_secrets_ignore_is_reviewed(tmp_path):
    """Given .secrets-ignore, Then every line is explained in SECRETS_IGNORE_REASONS (the format has no comments)
    and an unexplained, comment-looking or blank line is reported."""
    assert check_secrets_ignore(ROOT) == []
    root = str(tmp_path)
    with open(os.path.join(root, '.secrets-ignore'), 'w') as f:
        f.write(''.join(entry + '\n' for entry in SECRETS_IGNORE_REASONS) + '# a comment\n\nsk_live_\n')
    problems = '\n'.join(check_secrets_ignore(root))
    assert 'the format has no comments' in problems
    assert 'blank or padded' in problems
    assert '"sk_live_" has no reason' in problems


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
