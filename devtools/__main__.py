"""python -m devtools <run|demo|playbook> ...

  run <Integration> <command> [arg=value ...]   run one command as XSOAR would (emulator unless a tenant is given)
  demo                                          the end-to-end scenario on the embedded emulator
  playbook <playbook yml or name> [input=value] run a pack playbook offline against the emulator
"""
import argparse
import json
import os
import shutil
import sys

from devtools import instances
from devtools.emulator import Emulator
from devtools.runner import ERROR_ENTRY, FILE_ENTRY, INFO_FILE_ENTRY, WARNING_ENTRY, Session, errors_of, readable_of

ENTRY_KINDS = {ERROR_ENTRY: 'ERROR', FILE_ENTRY: 'FILE', INFO_FILE_ENTRY: 'FILE', WARNING_ENTRY: 'WARNING'}


def parse_pairs(pairs):
    args = {}
    for pair in pairs:
        if '=' not in pair:
            raise SystemExit(f'arguments are name=value, got "{pair}"')
        name, value = pair.split('=', 1)
        args[name] = value
    return args


def print_entries(entries, out=sys.stdout):
    for entry in entries:
        kind = ENTRY_KINDS.get(entry.get('Type'), 'ENTRY')
        print('--- [{}] {} ({})'.format(kind, entry.get('ID'), entry.get('Source')), file=out)
        print(readable_of(entry), file=out)


def save_files(session, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    saved = []
    for entry_id, info in session.files.items():
        dest = os.path.join(out_dir, os.path.basename(info['name']))
        if os.path.exists(dest):
            dest = os.path.join(out_dir, '{}_{}'.format(entry_id.split('@')[0], os.path.basename(info['name'])))
        shutil.copyfile(info['path'], dest)
        saved.append(dest)
    return saved


def cmd_run(options):
    args = parse_pairs(options.args)
    params = instances.tenant_params_from_env()
    if options.params:
        params.update(instances.params_from_file(options.params))
    emulator = None
    if options.integration not in params:
        emulator = Emulator().start()
        params = dict(instances.emulator_params(emulator, options.auth), **params)
        print(f'# using the embedded emulator at {emulator.url}', file=sys.stderr)
    try:
        session = Session(instances={options.integration: params[options.integration]},
                          poll_sleep_scale=options.poll_sleep,
                          on_event=lambda message: print('# ' + message, file=sys.stderr))
        entries = session.execute(options.command, args, using=options.integration)
        print_entries(entries)
        print('--- context')
        print(json.dumps(session.context, indent=2, sort_keys=True, default=str))
        saved = save_files(session, options.out)
        for path in saved:
            print(f'# saved {path}', file=sys.stderr)
        return 1 if errors_of(entries) else 0
    finally:
        if emulator:
            emulator.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m devtools')
    sub = parser.add_subparsers(dest='what', required=True)
    run = sub.add_parser('run', help='run one integration command')
    run.add_argument('integration', help='integration folder name, e.g. CortexXDRResponse')
    run.add_argument('command')
    run.add_argument('args', nargs='*', help='name=value')
    run.add_argument('--params', help='JSON file {"<Integration>": {params}} for a real tenant')
    run.add_argument('--auth', default='standard', choices=['standard', 'advanced'],
                     help='XDR key type on the emulator')
    run.add_argument('--out', default='out/files', help='folder for returned files')
    run.add_argument('--poll-sleep', type=float, default=0.0,
                     help='fraction of each polling interval to really wait (0 = do not wait)')
    run.set_defaults(func=cmd_run)

    demo = sub.add_parser('demo', help='end-to-end scenario on the embedded emulator')
    demo.add_argument('--out', default='demo-output')
    demo.set_defaults(func=lambda o: __import__('devtools.demo', fromlist=['main']).main(o.out))

    playbook = sub.add_parser('playbook', help='run a playbook offline against the emulator')
    playbook.add_argument('playbook')
    playbook.add_argument('inputs', nargs='*')
    playbook.set_defaults(func=lambda o: __import__('devtools.playbooks', fromlist=['cli']).cli(o))

    options = parser.parse_args(argv)
    return options.func(options)


if __name__ == '__main__':
    sys.exit(main())
