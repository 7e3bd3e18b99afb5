"""Our commands never share a name with an official integration a tenant may run beside ours."""
import glob
import json
import os

import yaml

from devtools.paths import ROOT

OFFICIAL = os.path.join(os.path.dirname(__file__), 'data', 'official_commands.json')
RENAMED_OFFICIAL_XDR = ('file-retrieve', 'retrieve-file-details', 'get-quarantine-status', 'create-distribution',
                        'get-create-distribution-status', 'get-distribution-url', 'get-distribution-versions',
                        'action-status-get')


def official_commands():
    with open(OFFICIAL) as f:
        data = json.load(f)
    return {name: set(entry['commands']) for name, entry in data['integrations'].items()}


def our_commands():
    commands = {}
    for path in glob.glob(os.path.join(ROOT, 'Integrations', '*', '*.yml')):
        with open(path) as f:
            integration = yaml.safe_load(f)
        commands[integration['name']] = [command['name'] for command in integration['script']['commands']]
    return commands


def test_the_kept_list_covers_the_four_official_integrations():
    """
    Given the official command list kept as test data
    When it is read
    Then it names the four integrations with a source and many commands each (a truncated list would hide collisions)
    """
    official = official_commands()
    assert set(official) == {'Cortex XDR - IR', 'Cortex Core - IR', 'Cortex XDR - XQL Query Engine',
                             'Cylance Protect v2'}
    assert all(len(names) >= 10 for names in official.values())
    assert {'xdr-' + rest for rest in RENAMED_OFFICIAL_XDR} <= official['Cortex XDR - IR']


def test_no_command_of_ours_equals_an_official_command():
    """
    Given every command our integrations declare
    When compared with the official integrations' commands
    Then no name is shared, so XSOAR never runs one war-room command on both
    """
    official = official_commands()
    collisions = [(ours, command, theirs) for ours, commands in our_commands().items() for command in commands
                  for theirs, names in official.items() if command in names]
    assert collisions == []


def test_xdr_commands_live_in_the_response_namespace():
    """
    Given the Cortex XDR integration
    When its commands are listed
    Then each is xdr-response-<official rest>, so users who know the official names recognise ours
    """
    xdr = our_commands()['Cortex XDR - Response Actions']
    assert all(name.startswith('xdr-response-') for name in xdr)
    assert {'xdr-response-' + rest for rest in RENAMED_OFFICIAL_XDR} <= set(xdr)


def test_cylance_commands_live_in_the_optics_namespace():
    """
    Given the Cylance integration
    When its commands are listed
    Then each starts with cylance-optics-
    """
    assert all(name.startswith('cylance-optics-') for name in our_commands()['Cylance Optics - Packages'])
