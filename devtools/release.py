"""Offline release helper, in place of `demisto-sdk update-release-notes` (which needs the network).

    python -m devtools.release bump <revision|minor|major> [--since <git ref>]
        bumps currentVersion in pack_metadata.json and creates ReleaseNotes/X_Y_Z.md with one section per
        integration / script / playbook changed since the ref (default: the commit that last changed
        currentVersion), each holding a %%UPDATE_RN%% placeholder to replace with real text.
    python -m devtools.release check
        fails while the current version's release notes are missing, still hold a placeholder, or have a
        section without a bullet.
"""
import argparse
import json
import os
import re
import subprocess
import sys

import yaml

from devtools.paths import ROOT
from devtools.sdk import git

PLACEHOLDER = '%%UPDATE_RN%%'
SHALLOW = 'shallow clone'
SECTIONS = (('Integrations', 'Integrations'), ('Scripts', 'Scripts'), ('Playbooks', 'Playbooks'))


def read_version(root: str = ROOT) -> str:
    with open(os.path.join(root, 'pack_metadata.json')) as f:
        return json.load(f)['currentVersion']


def bump(version: str, part: str) -> str:
    major, minor, revision = (int(x) for x in version.split('.'))
    if part == 'major':
        return f'{major + 1}.0.0'
    if part == 'minor':
        return f'{major}.{minor + 1}.0'
    if part == 'revision':
        return f'{major}.{minor}.{revision + 1}'
    raise ValueError('part must be revision, minor or major')


def notes_path(version: str, root: str = ROOT) -> str:
    return os.path.join(root, 'ReleaseNotes', version.replace('.', '_') + '.md')


def default_since(root: str) -> str:
    """The last commit that changed pack_metadata.json's currentVersion (or the first commit)."""
    out = git(root, 'log', '--format=%H', '-G', '"currentVersion"', '--', 'pack_metadata.json').split()
    if out:
        return out[0]
    return git(root, 'rev-list', '--max-parents=0', 'HEAD').split()[0]


def previous_version_base(root: str = ROOT) -> str | None:
    """The last commit of the previous version: the parent of the commit that set the current version, or HEAD
    while that change is not committed. None without git history or without an earlier version; SHALLOW in a
    shallow clone, whose history may not reach the previous version."""
    version = read_version(root)
    try:
        if git(root, 'rev-parse', '--is-shallow-repository').strip() == 'true':
            return SHALLOW
        commits = git(root, 'log', '--format=%H', '--', 'pack_metadata.json').split()
        first_of_version = None
        for commit in commits:  # newest first
            if json.loads(git(root, 'show', f'{commit}:pack_metadata.json')).get('currentVersion') != version:
                break
            first_of_version = commit
        else:
            return None  # every version of the file has the current version: there is no earlier one
        if first_of_version is None:
            return git(root, 'rev-parse', 'HEAD').strip()
        return git(root, 'rev-parse', first_of_version + '^').strip()
    except (subprocess.CalledProcessError, OSError, ValueError):
        return None


def display_name(root: str, kind: str, path: str) -> str | None:
    """Display name of the content item a changed file belongs to."""
    if kind == 'Playbooks':
        if not path.endswith('.yml'):
            return None
        yml = os.path.join(root, path)
    else:
        kind_folder, _, rest = path.partition('/')
        item = rest.split('/', 1)[0]
        if not item:
            return None
        yml = os.path.join(root, kind_folder, item, item + '.yml')
    if not os.path.exists(yml):
        return None
    with open(yml) as f:
        data = yaml.safe_load(f) or {}
    return data.get('display') or data.get('name')


def changed_items(root: str, since: str) -> dict[str, list[str]]:
    changed = git(root, 'diff', '--name-only', since, '--', 'Integrations', 'Scripts', 'Playbooks').split()
    changed += git(root, 'ls-files', '--others', '--exclude-standard', '--', 'Integrations', 'Scripts',
                   'Playbooks').split()
    items: dict[str, list[str]] = {}
    for path in changed:
        if path.endswith('_test.py') or '/test_data/' in path:
            continue
        kind = path.split('/')[0]
        name = display_name(root, kind, path)
        if name and name not in items.setdefault(kind, []):
            items[kind].append(name)
    return items


def render_notes(items: dict[str, list[str]]) -> str:
    lines = []
    for kind, heading in SECTIONS:
        if items.get(kind):
            lines += ['', '#### ' + heading, '']
            for name in sorted(items[kind]):
                lines += ['##### ' + name, '', '- ' + PLACEHOLDER, '']
    return '\n'.join(lines).rstrip() + '\n'


def check_notes(text: str) -> list[str]:
    """Problems that stop a release: placeholders, empty sections, no content."""
    problems = []
    if PLACEHOLDER in text or re.search(r'%%[A-Z_]+%%', text):
        problems.append(f'a {PLACEHOLDER} placeholder remains: write the release note')
    sections: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith('##### '):
            sections.append((line[6:].strip(), []))
        elif sections and line.strip().startswith('- '):
            sections[-1][1].append(line)
    for name, bullets in sections:
        if not bullets:
            problems.append(f'section "{name}" has no bullet')
    if not sections:
        problems.append('no "##### <item>" section')
    return problems


def cmd_bump(root: str, part: str, since: str | None) -> int:
    current = read_version(root)
    new = bump(current, part)
    target = notes_path(new, root)
    if os.path.exists(target):
        print(f'{target} already exists', file=sys.stderr)
        return 1
    items = changed_items(root, since or default_since(root))
    if not items:
        print('nothing under Integrations/Scripts/Playbooks changed since {}'.format(since or 'the last release'),
              file=sys.stderr)
        return 1
    with open(os.path.join(root, 'pack_metadata.json')) as f:
        metadata = json.load(f)
    metadata['currentVersion'] = new
    with open(os.path.join(root, 'pack_metadata.json'), 'w') as f:
        json.dump(metadata, f, indent=4)
        f.write('\n')
    with open(target, 'w') as f:
        f.write(render_notes(items))
    print(f'{current} -> {new}; edit {os.path.relpath(target, root)} and replace every {PLACEHOLDER}')
    return 0


def cmd_check(root: str) -> int:
    path = notes_path(read_version(root), root)
    if not os.path.exists(path):
        print(f'missing {path}', file=sys.stderr)
        return 1
    with open(path) as f:
        problems = check_notes(f.read())
    for problem in problems:
        print(f'{os.path.relpath(path, root)}: {problem}', file=sys.stderr)
    return 1 if problems else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog='bash devtools/dev.sh release')
    sub = parser.add_subparsers(dest='what', required=True)
    bump_parser = sub.add_parser('bump')
    bump_parser.add_argument('part', choices=['revision', 'minor', 'major'])
    bump_parser.add_argument('--since', help='git ref to compare with')
    sub.add_parser('check')
    parser.add_argument('--root', default=ROOT)
    options = parser.parse_args(argv)
    if options.what == 'bump':
        return cmd_bump(options.root, options.part, options.since)
    return cmd_check(options.root)


if __name__ == '__main__':
    sys.exit(main())
