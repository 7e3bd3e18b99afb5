"""Developer commands (through `bash devtools/dev.sh <command>`, which needs no activated venv):

  run <Integration> <command> [name=value ...]  run one command as XSOAR would
  playbook <playbook name or yml> [input=value ...] [--answer yes|no ...]  run a pack playbook offline; prints
                                                the task path, the questions asked and answered, the War Room
                                                entries and the context
  demo                                          the end-to-end scenario on an embedded emulator

run and playbook call a real tenant for an integration whose XDR_* / CYLANCE_* variables (or --params file) are
set, else the background emulator when `dev.sh emulator start` left one running (so ids from one run are known
to the next), else an emulator embedded in this run. They say which server they call. Returned files are saved
once, into --out; nothing is left in temporary folders. Unknown integration, command, argument or playbook names
are refused (exit 2) with the valid ones listed.
"""
import argparse
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, TextIO

from devtools import demo, instances
from devtools.emulator import Emulator
from devtools.emulator.process import EmulatorProcess
from devtools.playbooks import (ManualTaskError, PlaybookError, PlaybookRun, Question, check_inputs, find_playbook,
                                run_playbook)
from devtools.runner import (ERROR_ENTRY, FILE_ENTRY, INFO_FILE_ENTRY, NOTE_ENTRY, WARNING_ENTRY, PackIndex, Session,
                             errors_of, readable_of)

ENTRY_KINDS = {ERROR_ENTRY: 'ERROR', FILE_ENTRY: 'FILE', INFO_FILE_ENTRY: 'FILE', WARNING_ENTRY: 'WARNING'}
USAGE_ERROR = 2


class UsageError(Exception):
    """A name or argument the user typed is not valid; the message lists the valid ones."""


def say(message: str) -> None:
    print('# ' + message, file=sys.stderr)


def parse_pairs(pairs: list[str]) -> dict[str, str]:
    args = {}
    for pair in pairs:
        if '=' not in pair:
            raise UsageError(f'arguments are name=value, got "{pair}"')
        name, value = pair.split('=', 1)
        args[name] = value
    return args


def print_entries(entries: list[dict[str, Any]], out=sys.stdout) -> None:
    for entry in entries:
        kind = ENTRY_KINDS.get(int(entry.get('Type') or 0), 'ENTRY')
        print('--- [{}] {} ({})'.format(kind, entry.get('ID'), entry.get('Source')), file=out)
        print(readable_of(entry), file=out)


def check_command(index: PackIndex, integration: str, command: str, args: dict[str, str] | None = None) -> str:
    """The integration's folder name; UsageError naming the valid integrations, commands or arguments otherwise.

    Arguments are the ones the integration YAML declares for the command (hidden ones included: the polling
    arguments the integration passes to itself)."""
    folders = {entry['module']: brand for brand, entry in index.integrations.items()}
    brand = integration if integration in index.integrations else folders.get(integration)
    if brand is None:
        raise UsageError('unknown integration "{}"; the pack has: {}'.format(integration, ', '.join(sorted(folders))))
    commands = ['test-module', *index.integrations[brand]['commands']]
    if command not in commands:
        raise UsageError('{} has no command "{}"; its commands: {}'.format(integration, command, ', '.join(commands)))
    declared = next((c.get('arguments') or [] for c in index.integrations[brand]['yaml'].get('script', {}).get(
        'commands', []) if c.get('name') == command), [])
    unknown = sorted(set(args or {}) - {a['name'] for a in declared})
    if unknown:
        shown = [a['name'] + (' (required)' if a.get('required') else '') for a in declared if not a.get('hidden')]
        raise UsageError('{} {} has no argument{} {}; its arguments: {}'.format(
            integration, command, 's' if len(unknown) > 1 else '', ', '.join(f'"{name}"' for name in unknown),
            ', '.join(shown) or 'none'))
    return index.integrations[brand]['module']


def read_params_file(path: str) -> dict[str, dict[str, Any]]:
    """The --params file, checked: readable JSON keyed by the pack's integration names (UsageError otherwise)."""
    try:
        return instances.params_from_file(path)
    except OSError as error:
        raise UsageError(f'--params {path}: cannot read it ({error.strerror or error})') from None
    except ValueError as error:
        raise UsageError(f'--params {path}: {error}') from None


@contextmanager
def api_params(wanted: list[str], auth: str, params_file: str | None) -> Iterator[dict[str, dict[str, Any]]]:
    """Instance params for the wanted integrations: a tenant where configured, else the background emulator,
    else one embedded in this run (stopped at the end). Says which server each integration calls."""
    params = instances.tenant_params_from_env()
    if params_file:
        params.update(instances.params_from_file(params_file))
    for name in wanted:
        if name in params:
            say('{} calls {} (tenant settings)'.format(name, params[name].get('url')))
    missing = [name for name in wanted if name not in params]
    if not missing:
        yield params
        return
    background = EmulatorProcess.running()
    with ExitStack() as stack:
        if background:
            url = background.url
            say(f'calling the background emulator at {url} (state kept between runs; '
                'bash devtools/dev.sh emulator stop ends it)')
        else:
            url = stack.enter_context(Emulator()).url
            say(f'calling an emulator embedded in this run at {url} (its state ends with the run; '
                'bash devtools/dev.sh emulator start keeps one running)')
        emulator_params = instances.emulator_params(url, auth)
        yield dict(params, **{name: emulator_params[name] for name in missing if name in emulator_params})


def cmd_run(options: argparse.Namespace) -> int:
    args = parse_pairs(options.args)
    index = PackIndex()
    integration = check_command(index, options.integration, options.command, args)
    for path in options.files:
        if not os.path.isfile(path):
            raise UsageError(f'--file {path}: no such file')
    if options.params:
        read_params_file(options.params)  # refused before any server is chosen
    with api_params([integration], options.auth, options.params) as params, \
            tempfile.TemporaryDirectory(prefix='xsoar-run-') as work:
        session = Session(instances={integration: params[integration]}, workdir=work, files_dir=options.out,
                          poll_sleep_scale=options.poll_sleep, on_event=say, index=index)
        attached = []
        for path in options.files:
            attached.append(session.attach_file(path))
            say(f'attached {path} to the War Room as entry {attached[-1]} (entry_id={attached[-1]})')
        entries = session.execute(options.command, args, using=integration)
    print_entries(entries)
    print('--- context')
    print(json.dumps(session.context, indent=2, sort_keys=True, default=str))
    for entry_id, info in session.files.items():
        if entry_id not in attached:
            say('saved {}'.format(info['path']))
    if errors_of(entries):
        return 1
    if options.command == 'test-module':
        return 0 if [e.get('Contents') for e in entries] == ['ok'] else 1
    return 0


NOTE_KINDS = {**ENTRY_KINDS, NOTE_ENTRY: 'NOTE'}


def print_war_room(entries: list[tuple[str, dict[str, Any]]], out: TextIO | None = None) -> None:
    """The War Room entries a playbook run wrote, each under the task that wrote it; text indented below."""
    out = out or sys.stdout
    print('War Room:', file=out)
    if not entries:
        print('  (no entries)', file=out)
    for task, entry in entries:
        kind = NOTE_KINDS.get(int(entry.get('Type') or 0), 'ENTRY')
        text = readable_of(entry).strip() or '(empty)'
        print('  [{}] {} ({})'.format(kind, task, entry.get('Source')), file=out)
        print('\n'.join('      ' + line for line in text.splitlines()), file=out)


def print_questions(questions: list[Question], out: TextIO | None = None) -> None:
    """The manual tasks' questions and the answers given."""
    out = out or sys.stdout
    for question in questions:
        if question.answer is not None:
            print('Asked: ' + question.text.replace('\n', '\n       '), file=out)
            print('Answer: ' + question.answer, file=out)


def interactive_answer(question: Question) -> str | None:
    """Ask on the terminal; None (no answer) when stdin is not one, so a scripted run never hangs."""
    if not sys.stdin.isatty():
        return None
    print('\n' + question.text, file=sys.stderr)
    try:
        return input('Answer ({}): '.format(' / '.join(question.options)))
    except EOFError:
        return None


def cmd_playbook(options: argparse.Namespace) -> int:
    inputs = parse_pairs(options.inputs)
    try:
        playbook = find_playbook(options.playbook)
        check_inputs(playbook, inputs)
    except PlaybookError as error:
        raise UsageError(str(error)) from None
    integrations = list(PackIndex().integrations.values())
    run = PlaybookRun(playbook.get('name') or '', answers=options.answer, ask=interactive_answer)
    status = 0
    with api_params([entry['module'] for entry in integrations], options.auth, None) as params, \
            tempfile.TemporaryDirectory(prefix='xsoar-playbook-') as work:
        session = Session(instances=params, workdir=work, files_dir=options.out, on_event=say)
        try:
            run_playbook(session, playbook, inputs, run=run)
        except ManualTaskError as error:
            message, status = f'PLAYBOOK WAITING: {error}\nGive the answer with --answer <{"|".join(error.question.options)}>' \
                f' (once per manual task, in the order they are asked).', USAGE_ERROR
        except PlaybookError as error:
            message, status = f'PLAYBOOK FAILED: {error}', 1
    print('Task path:')
    print('\n'.join('  ' + name for name in run.task_path))
    print_questions(run.questions)
    print_war_room(run.entries)
    print('Context:')
    print(json.dumps(session.context, indent=2, sort_keys=True, default=str))
    for info in session.files.values():
        say('saved {}'.format(info['path']))
    if status:
        print(message, file=sys.stderr)
        return status
    if run.answers:
        say('unused --answer value(s): {} (the run asked {} question(s))'.format(', '.join(run.answers),
                                                                               len(run.questions)))
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog='bash devtools/dev.sh', description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = root.add_subparsers(dest='what', required=True)
    run = sub.add_parser('run', help='run one integration command')
    run.add_argument('integration', help='integration folder name, e.g. CortexXDRResponse')
    run.add_argument('command', help='e.g. xdr-response-get-distribution-versions, or test-module')
    run.add_argument('args', nargs='*', default=[], help='name=value (the arguments the command declares)')
    run.add_argument('--params', help='JSON file {"<Integration>": {params}} for a real tenant')
    run.add_argument('--file', dest='files', action='append', default=[], metavar='PATH',
                     help='attach a local file to the War Room before the command runs (repeatable); the files '
                          'become entries 1@1, 2@1, ... in the order given, e.g. --file pkg.zip ... entry_id=1@1')
    run.add_argument('--auth', default='standard', choices=['standard', 'advanced'],
                     help='XDR key type on the emulator')
    run.add_argument('--out', default='out/files', help='folder for returned files (default out/files)')
    run.add_argument('--poll-sleep', type=float, default=0.0,
                     help='fraction of each polling interval to really wait (0 = do not wait)')
    run.set_defaults(func=cmd_run)

    playbook = sub.add_parser('playbook', help='run a playbook offline (emulator or tenant as for run)')
    playbook.add_argument('playbook', help='playbook name (e.g. "Cortex XDR - Retrieve Files") or YAML path')
    playbook.add_argument('inputs', nargs='*', default=[], help='input=value')
    playbook.add_argument('--auth', default='standard', choices=['standard', 'advanced'])
    playbook.add_argument('--out', default='out/files', help='folder for returned files (default out/files)')
    playbook.add_argument('--answer', action='append', default=[], metavar='ANSWER',
                          help='the answer to the next manual task (e.g. yes or no); repeat for several tasks. '
                               'Without one, a manual task is asked on the terminal, or the run stops (exit 2).')
    playbook.set_defaults(func=cmd_playbook)

    demo_parser = sub.add_parser('demo', help='end-to-end scenario on an embedded emulator')
    demo_parser.add_argument('--out', default='demo-output', help='output folder (default demo-output)')
    demo_parser.set_defaults(func=lambda options: demo.main(options.out))
    return root


def main(argv: list[str] | None = None) -> int:
    options = parser().parse_args(argv)
    try:
        return options.func(options)
    except UsageError as error:
        print(f'error: {error}', file=sys.stderr)
        return USAGE_ERROR


if __name__ == '__main__':
    sys.exit(main())
