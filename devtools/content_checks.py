"""Content checks for what offline `demisto-sdk validate` misses: `python -m devtools.content_checks`.

- every command, argument and output of integrations and scripts has a description;
- no duplicate commands, arguments or output paths;
- the pack name is real (capitalised, not a placeholder);
- every playbook task's command, script and sub-playbook exists in the pack or in XSOAR_BUILTINS;
- every playbook input and output has a description;
- each integration/script README documents exactly the YAML's commands, with every argument and output;
- every integration, script and playbook changed since the previous version (all of them without git history) is
  named in the current version's release notes (in a shallow clone: the notes have sections with bullets).
"""
import json
import os
import re
import sys
from typing import Any

import yaml

from devtools import release
from devtools.paths import ROOT

# XSOAR built-in scripts and sub-playbooks the pack's playbooks may use (they ship with the platform).
XSOAR_BUILTINS = frozenset({
    'IsIntegrationAvailable', 'DeleteContext', 'Set', 'SetAndHandleEmpty', 'PrintErrorEntry', 'Print',
    'isError', 'GenericPolling', 'UnzipFile', 'SetGridField', 'Exists',
})
CREDENTIALS_PARAM = 9  # integration parameter type whose display name is optional
MIN_PACK_NAME_LENGTH = 3
PLACEHOLDER_NAMES = {'', 'pack', 'mypack', 'hello world', 'helloworld', 'template', 'todo', 'changeme', 'xxx'}


def load_yaml(path: str) -> dict:
    with open(path) as f:
        return yaml.safe_load(f) or {}


def pack_items(root: str, kind: str) -> dict[str, dict]:
    """folder name -> parsed YAML for Integrations or Scripts."""
    items = {}
    base = os.path.join(root, kind)
    for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        path = os.path.join(base, name, name + '.yml')
        if os.path.isfile(path):
            items[name] = load_yaml(path)
    return items


def playbooks(root: str, folder: str = 'Playbooks') -> dict[str, dict]:
    found = {}
    base = os.path.join(root, folder)
    for name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        if name.endswith('.yml'):
            found[os.path.join(folder, name)] = load_yaml(os.path.join(base, name))
    return found


def blank(text) -> bool:
    return not str(text or '').strip()


def check_commands(root: str) -> list[str]:
    problems = []
    for name, data in pack_items(root, 'Integrations').items():
        commands = (data.get('script') or {}).get('commands') or []
        seen: set[str] = set()
        for command in commands:
            cname = command.get('name', '')
            where = f'{name} {cname}'
            if cname in seen:
                problems.append(f'{where}: duplicate command')
            seen.add(cname)
            if blank(command.get('description')):
                problems.append(f'{where}: command has no description')
            problems += check_args_outputs(where, command.get('arguments') or [], command.get('outputs') or [])
        for param in data.get('configuration') or []:
            if blank(param.get('display')) and param.get('type') != CREDENTIALS_PARAM:
                problems.append('{}: parameter {} has no display name'.format(name, param.get('name')))
    for name, data in pack_items(root, 'Scripts').items():
        if blank(data.get('comment')):
            problems.append(f'{name}: script has no description (comment)')
        problems += check_args_outputs(name, data.get('args') or [], data.get('outputs') or [])
    return problems


def check_named_items(where: str, kind: str, key: str, items: list[dict]) -> list[str]:
    """Duplicate names and empty descriptions among a command's arguments (key name) or outputs (key contextPath)."""
    problems = []
    seen: set[str] = set()
    for item in items:
        name = str(item.get(key))
        if name in seen:
            problems.append(f'{where}: duplicate {kind} {name}')
        seen.add(name)
        if blank(item.get('description')):
            problems.append(f'{where}: {kind} {name} has no description')
    return problems


def check_args_outputs(where: str, arguments: list[dict], outputs: list[dict]) -> list[str]:
    return check_named_items(where, 'argument', 'name', arguments) + check_named_items(where, 'output', 'contextPath',
                                                                                        outputs)


def check_pack_name(root: str) -> list[str]:
    with open(os.path.join(root, 'pack_metadata.json')) as f:
        name = json.load(f).get('name', '')
    problems = []
    if name.strip().lower() in PLACEHOLDER_NAMES or len(name.strip()) < MIN_PACK_NAME_LENGTH:
        problems.append(f'pack_metadata.json: pack name "{name}" is a placeholder')
    elif not name[0].isupper():
        problems.append(f'pack_metadata.json: pack name "{name}" must be capitalised')
    return problems


def check_playbooks(root: str) -> list[str]:
    problems = []
    commands = {c.get('name') for data in pack_items(root, 'Integrations').values()
                for c in (data.get('script') or {}).get('commands') or []}
    scripts = {data.get('name') for data in pack_items(root, 'Scripts').values()}
    books = dict(playbooks(root, 'Playbooks'), **playbooks(root, 'TestPlaybooks'))
    names = {data.get('name') for data in books.values()} | {data.get('id') for data in books.values()}
    for path, data in books.items():
        for task_id, task in (data.get('tasks') or {}).items():
            inner = task.get('task') or {}
            label = '{} task {} ({})'.format(path, task_id, inner.get('name'))
            script = inner.get('script')
            if script:
                command = script.split('|||')[-1]
                if command not in commands and command not in scripts and command not in XSOAR_BUILTINS:
                    problems.append(f'{label}: command {command} does not exist in the pack')
            script_name = inner.get('scriptName')
            if script_name and script_name not in scripts and script_name not in XSOAR_BUILTINS:
                problems.append(f'{label}: script {script_name} does not exist in the pack')
            playbook_name = inner.get('playbookName') or inner.get('playbookId')
            if playbook_name and playbook_name not in names and playbook_name not in XSOAR_BUILTINS:
                problems.append(f'{label}: sub-playbook {playbook_name} does not exist in the pack')
        if path.startswith('Playbooks'):
            for item in data.get('inputs') or []:
                if blank(item.get('description')):
                    problems.append('{}: input {} has no description'.format(path, item.get('key')))
            for item in data.get('outputs') or []:
                if blank(item.get('description')):
                    problems.append('{}: output {} has no description'.format(path, item.get('contextPath')))
    return problems


def readme_sections(text: str) -> dict[str, str]:
    parts = re.split(r'(?m)^### ', text)
    return {part.split('\n', 1)[0].strip(): part for part in parts[1:]}


def check_command_section(name: str, command: dict[str, Any], section: str | None) -> list[str]:
    """Problems of one command's README section: missing, or lacking an argument or output of the YAML."""
    if section is None:
        return ['{}: README has no section for {}'.format(name, command['name'])]
    problems = []
    for argument in command.get('arguments') or []:
        if not argument.get('hidden') and '| {} |'.format(argument['name']) not in section:
            problems.append('{}: README section {} lacks argument {}'.format(name, command['name'], argument['name']))
    for output in command.get('outputs') or []:
        if '| {} |'.format(output['contextPath']) not in section:
            problems.append('{}: README section {} lacks output {}'.format(name, command['name'], output['contextPath']))
    return problems


def check_readmes(root: str) -> list[str]:
    problems = []
    for name, data in pack_items(root, 'Integrations').items():
        readme = os.path.join(root, 'Integrations', name, 'README.md')
        if not os.path.isfile(readme):
            problems.append(f'{name}: README.md is missing')
            continue
        with open(readme) as f:
            sections = readme_sections(f.read())
        commands = (data.get('script') or {}).get('commands') or []
        yaml_names = {c['name'] for c in commands}
        command_like = {s for s in sections if re.match(r'^[a-z0-9]+(-[a-z0-9]+)+$', s)}
        for extra in sorted(command_like - yaml_names):
            problems.append(f'{name}: README documents {extra} which the YAML does not have')
        for command in commands:
            problems += check_command_section(name, command, sections.get(command['name']))
    for name in pack_items(root, 'Scripts'):
        if not os.path.isfile(os.path.join(root, 'Scripts', name, 'README.md')):
            problems.append(f'{name}: README.md is missing')
    for path in playbooks(root):
        if not os.path.isfile(os.path.join(root, path[:-4] + '_README.md')):
            problems.append(f'{path}: playbook README is missing')
    return problems


def check_release_notes(root: str) -> list[str]:
    """Every item changed since the previous version (every item, without git history) is in the current notes."""
    with open(os.path.join(root, 'pack_metadata.json')) as f:
        version = json.load(f).get('currentVersion', '')
    path = os.path.join(root, 'ReleaseNotes', version.replace('.', '_') + '.md')
    if not os.path.isfile(path):
        return [f'release notes {os.path.relpath(path, root)} for currentVersion {version} are missing']
    with open(path) as f:
        notes = f.read()
    base = release.previous_version_base(root)
    if base == release.SHALLOW:  # what changed since the previous version is unknown here: the notes must be sound
        return [f'release notes {os.path.basename(path)}: {problem}' for problem in release.check_notes(notes)]
    if base is None:
        names = [d.get('display') or d.get('name') for d in pack_items(root, 'Integrations').values()]
        names += [d.get('name') for d in pack_items(root, 'Scripts').values()]
        names += [d.get('name') for d in playbooks(root).values()]
    else:
        names = [name for items in release.changed_items(root, base).values() for name in items]
    return [f'{name} is not in the release notes {os.path.basename(path)}' for name in names
            if name and name not in notes]


def check_pack(root: str = ROOT) -> list[str]:
    return (check_pack_name(root) + check_commands(root) + check_playbooks(root) + check_readmes(root)
            + check_release_notes(root))


if __name__ == '__main__':
    found = check_pack(ROOT)
    print('\n'.join(found) or 'content checks passed')
    sys.exit(1 if found else 0)
