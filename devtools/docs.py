"""Integration READMEs: `bash devtools/dev.sh docs [Integration ...]` (python -m devtools.docs).

Runs `demisto-sdk generate-docs` on a scaffold (the SDK's own layout), then runs the integration's
`command_examples` in order against a fresh embedded emulator and adds, under each command, the sections
generate-docs adds when it can reach a server: "Command example", "Context Example", "Human Readable Output".
"""
import argparse
import json
import os
import re
import sys
import tempfile
from typing import Any

from devtools import instances
from devtools.emulator import Emulator
from devtools.runner import ERROR_ENTRY, FILE_ENTRY, Session
from devtools.paths import ROOT
from devtools.sdk import PACK_FOLDER, run_sdk, scaffold

EXAMPLE_HOST = 'https://api-yourfqdn'
INTRO = {'CortexXDRResponse': 'This integration uses the Cortex XDR public API v1 (`/public_api/v1`).',
         'CylanceOpticsPackages': 'This integration uses the Cylance PROTECT API (`/auth/v2/token`, `/packages/v2`).'}


def generate_base_readme(name: str) -> str:
    with scaffold() as repo:
        yml = os.path.join('Packs', PACK_FOLDER, 'Integrations', name, name + '.yml')
        proc = run_sdk(['generate-docs', '-i', yml, '-f'], cwd=repo, timeout=300)
        readme = os.path.join(repo, os.path.dirname(yml), 'README.md')
        if not os.path.exists(readme):
            raise RuntimeError(f'generate-docs failed:\n{proc.stdout}\n{proc.stderr}')
        with open(readme) as f:
            text = f.read()
    return re.sub(r'This integration was integrated and tested with version xx of [^\n]*', INTRO.get(name, ''), text)


EXAMPLE_ARG = re.compile(r'(\w+)=(?:"([^"]*)"|(\S+))')


def parse_example(line: str):
    """('!cmd a=1 b="x y"') -> ('cmd', {'a': '1', 'b': 'x y'}); backslashes are kept as typed."""
    command, _, rest = line.strip()[1:].partition(' ')
    return command, {m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
                     for m in EXAMPLE_ARG.finditer(rest)}


def run_examples(name: str):
    """{command: (example line, context, readable)} - the last example of each command wins."""
    with open(os.path.join(ROOT, 'Integrations', name, 'command_examples')) as f:
        lines = [line.strip() for line in f if line.strip().startswith('!')]
    results = {}
    with Emulator() as emulator, tempfile.TemporaryDirectory() as work:
        session = Session(instances={name: instances.emulator_params(emulator)[name]}, workdir=work)
        for line in lines:
            command, args = parse_example(line)
            entries = session.execute(command, dict(args), using=name, follow_polling=False)
            context: dict[str, Any] = {}
            readable: list[str] = []
            for entry in entries:
                if entry.get('Type') == FILE_ENTRY:
                    ctx = entry.get('FileContext') or {}
                    context.setdefault('File', []).append({k: ctx.get(k) for k in (
                        'EntryID', 'Extension', 'MD5', 'Name', 'SHA1', 'SHA256', 'SHA512', 'Size', 'Type')})
                    continue
                for key, value in (entry.get('EntryContext') or {}).items():
                    context[re.sub(r'\(.*\)$', '', key)] = value
                if entry.get('HumanReadable'):
                    readable.append(str(entry['HumanReadable']))
                elif entry.get('Type') == ERROR_ENTRY:
                    readable.append(str(entry.get('Contents')))
            if 'File' in context and len(context['File']) == 1:
                context['File'] = context['File'][0]
            text = json.dumps(context, indent=4, sort_keys=True, default=str)
            for base in (emulator.url, emulator.alt_url):
                text = text.replace(base, EXAMPLE_HOST)
            results[command] = (line, text, '\n'.join(readable).replace(emulator.url, EXAMPLE_HOST)
                                .replace(emulator.alt_url, EXAMPLE_HOST))
    return results


def add_examples(readme: str, examples) -> str:
    sections = re.split(r'(?m)^(?=### )', readme)
    out = []
    for section in sections:
        title = section.split('\n', 1)[0][4:].strip() if section.startswith('### ') else None
        if title in examples:
            line, context, readable = examples[title]
            quoted = '\n'.join('>' + text if text else '>' for text in readable.strip().split('\n'))
            example = f'\n\n#### Command example\n```{line}```\n'
            if context != '{}':
                example += f'#### Context Example\n```json\n{context}\n```\n'
            example += f'\n#### Human Readable Output\n\n{quoted}\n\n'
            out.append(section.rstrip('\n') + example)
        else:
            out.append(section)
    return ''.join(out)


KEPT_SECTION = '\n## API notes'  # hand-written, after the generated sections: kept when the README is regenerated


def kept_section(path: str, heading: str) -> str:
    """The hand-written section of an existing README that starts at heading (to its end), or ''."""
    if not os.path.exists(path):
        return ''
    with open(path) as f:
        text = f.read()
    start = text.find(heading)
    return text[start:] if start >= 0 else ''


def documented_integrations() -> list[str]:
    """The integrations whose README this command writes: each with a command_examples file."""
    base = os.path.join(ROOT, 'Integrations')
    return sorted(n for n in os.listdir(base) if os.path.isfile(os.path.join(base, n, 'command_examples')))


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='bash devtools/dev.sh docs', description='Write Integrations/<Integration>/README.md: demisto-sdk '
        'generate-docs, then the command_examples run on an embedded emulator (each command\'s "Command example", '
        '"Context Example" and "Human Readable Output"). The hand-written "## API notes" section is kept.')
    parser.add_argument('integrations', nargs='*', default=[], metavar='Integration',
                        help='integration folder names (default: every integration with a command_examples file)')
    options = parser.parse_args(argv)
    valid = documented_integrations()
    unknown = [name for name in options.integrations if name not in valid]
    if unknown:
        print('error: unknown integration {}; the pack has: {}'.format(
            ', '.join(f'"{name}"' for name in unknown), ', '.join(valid)), file=sys.stderr)
        return 2
    for name in options.integrations or valid:
        try:
            readme = add_examples(generate_base_readme(name), run_examples(name))
        except RuntimeError as error:
            print(f'error: {name}: {error}', file=sys.stderr)
            return 1
        path = os.path.join(ROOT, 'Integrations', name, 'README.md')
        kept = kept_section(path, KEPT_SECTION)
        with open(path, 'w') as f:
            f.write(readme.rstrip('\n') + '\n' + kept if kept else readme)
        print(f'wrote Integrations/{name}/README.md')
    return 0


if __name__ == '__main__':
    sys.exit(main())
