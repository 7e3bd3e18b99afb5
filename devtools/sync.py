"""Write each ApiModule source into the integrations that use it: `python -m devtools.sync [--check]`.

An integration asks for a module with the content repository's own markers; the text between them is the
module's source, byte for byte, so the shipped file is self-contained and is the file the tests run:

    ### GENERATED CODE ###: from <Name>ApiModule import *
    # This code was inserted in place of an API module.
    <the source of ApiModules/<Name>ApiModule/<Name>ApiModule.py>
    ### END GENERATED CODE ###

A bare `from <Name>ApiModule import *` line is expanded the same way (how a block is first added). Moving
the pack into the content repository is then a swap of each block for its import line.
"""
import argparse
import glob
import os
import re
import sys

from devtools.paths import ROOT, PACK_CODE_FOLDERS

MODULES_DIR = os.path.join(ROOT, 'ApiModules')
INSERTED = '# This code was inserted in place of an API module.\n'
BLOCK = re.compile(r'^### GENERATED CODE ###: from (?P<name>\w+ApiModule) import \*\n.*?^### END GENERATED CODE ###\n',
                   re.S | re.M)
IMPORT_LINE = re.compile(r'^from (?P<name>\w+ApiModule) import \*[^\n]*\n', re.M)


def module_source(name: str) -> str:
    path = os.path.join(MODULES_DIR, name, name + '.py')
    if not os.path.isfile(path):
        raise SystemExit(f'unknown ApiModule {name}: there is no {os.path.relpath(path, ROOT)}')
    with open(path) as f:
        return f.read()


def block(name: str) -> str:
    source = module_source(name)
    return f'### GENERATED CODE ###: from {name} import *\n{INSERTED}{source.rstrip(chr(10))}\n### END GENERATED CODE ###\n'


def synced(text: str) -> str:
    """text with every generated block (and bare import line) replaced by the current module source."""
    text = BLOCK.sub(lambda m: block(m.group('name')), text)
    return IMPORT_LINE.sub(lambda m: block(m.group('name')), text)


def blocks_in(text: str) -> dict[str, str]:
    """{module name: block text} of a file."""
    return {m.group('name'): m.group(0) for m in BLOCK.finditer(text)}


def code_files() -> list[str]:
    found = []
    for folder in PACK_CODE_FOLDERS:
        for path in sorted(glob.glob(os.path.join(ROOT, folder, '*', '*.py'))):
            if not path.endswith('_test.py'):
                found.append(path)
    return found


def sync(check: bool = False) -> list[str]:
    """The files whose blocks were (or, with check, would be) rewritten."""
    changed = []
    for path in code_files():
        with open(path) as f:
            text = f.read()
        new = synced(text)
        if new != text:
            changed.append(os.path.relpath(path, ROOT))
            if not check:
                with open(path, 'w') as f:
                    f.write(new)
    return changed


def as_content_repo(pack_dir: str, repo_dir: str) -> list[str]:
    """The content repository's form of a copied pack: every block swapped back for its import line and each module
    placed at Packs/ApiModules/Scripts/<Name>/<Name>.py, where demisto-sdk's unifier inlines it again (between the
    same markers) when it builds the zip. Returns the modules placed."""
    placed: set[str] = set()
    for folder in PACK_CODE_FOLDERS:
        for path in sorted(glob.glob(os.path.join(pack_dir, folder, '*', '*.py'))):
            with open(path) as f:
                text = f.read()
            names = list(blocks_in(text))
            if not names:
                continue
            with open(path, 'w') as f:
                f.write(BLOCK.sub(lambda m: f'from {m.group("name")} import *\n', text))
            placed.update(names)
    for name in sorted(placed):
        target = os.path.join(repo_dir, 'Packs', 'ApiModules', 'Scripts', name, name + '.py')
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, 'w') as f:
            f.write(module_source(name))
    return sorted(placed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='bash devtools/dev.sh sync',
                                     description='Write each ApiModules/<Name>ApiModule source into the integrations '
                                                 'that use it (between the GENERATED CODE markers).')
    parser.add_argument('--check', action='store_true', help='change nothing; exit 1 when a block is not current')
    options = parser.parse_args(argv)
    changed = sync(check=options.check)
    for path in changed:
        print(('not current: ' if options.check else 'synced: ') + path)
    if not changed:
        print('every generated block is current')
    return 1 if options.check and changed else 0


if __name__ == '__main__':
    sys.exit(main())
