"""The emulator on its own (through `bash devtools/dev.sh emulator <command>`):

  serve [options]    serve in the foreground until Ctrl-C / SIGTERM (prints EMULATOR_URL=...)
  start [options]    keep one emulator running in the background; `run` and `playbook` then use it
  status             is the background emulator running, and where
  stop               stop the background emulator
"""
import argparse
import json
import signal
import sys
import threading

from . import credentials
from .process import LOG_FILE, EmulatorProcess
from .server import Emulator, Options


def add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--port', type=int, default=0, help='0 = any free port')
    parser.add_argument('--fault', action='append', default=[], help='a fault rule as JSON (repeatable)')
    parser.add_argument('--action-steps', type=int, default=Options.action_steps,
                        help='status calls before a retrieval action is final')
    parser.add_argument('--distribution-steps', type=int, default=Options.distribution_steps,
                        help='status calls before a distribution is ready')
    parser.add_argument('--large-file-size', type=int, default=None, help='bytes of each retrieval\'s first file')
    parser.add_argument('--quarantine-batch-limit', type=int, default=Options.quarantine_batch_limit,
                        help='files per quarantine/status call')
    parser.add_argument('--verbose', action='store_true', help='log every request')


def server_args(options: argparse.Namespace) -> list[str]:
    """The `serve` command-line equivalent of parsed options (to start a background emulator with them)."""
    args = ['--port', str(options.port), '--action-steps', str(options.action_steps),
            '--distribution-steps', str(options.distribution_steps),
            '--quarantine-batch-limit', str(options.quarantine_batch_limit)]
    for rule in options.fault:
        args += ['--fault', rule]
    if options.large_file_size is not None:
        args += ['--large-file-size', str(options.large_file_size)]
    if options.verbose:
        args.append('--verbose')
    return args


def emulator_options(options: argparse.Namespace) -> Options:
    return Options(port=options.port, faults=[json.loads(rule) for rule in options.fault],
                   action_steps=options.action_steps, distribution_steps=options.distribution_steps,
                   large_file_size=options.large_file_size, quarantine_batch_limit=options.quarantine_batch_limit,
                   verbose=options.verbose)


def credentials_text(url: str) -> str:
    xdr_std, xdr_adv, app = credentials.XDR_STANDARD, credentials.XDR_ADVANCED, credentials.CYLANCE_APP
    return '\n'.join([
        f'Emulator URL: {url}   (test credentials: they open nothing but this emulator)',
        f'  Cortex XDR - Response Actions: Server URL {url}',
        f'    Standard key: API Key ID {xdr_std["key_id"]}, API Key {xdr_std["key"]}',
        f'    Advanced key: API Key ID {xdr_adv["key_id"]}, API Key {xdr_adv["key"]}',
        f'  Cylance Optics - Packages: Server URL {url}, Tenant ID {app["tenant_id"]}',
        f'    Application ID {app["app_id"]}, Application Secret {app["app_secret"]}',
    ])


def cmd_serve(options: argparse.Namespace) -> int:
    emulator = Emulator(emulator_options(options)).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f'EMULATOR_URL={emulator.url}', flush=True)
    stop.wait()
    emulator.stop()
    return 0


def cmd_start(options: argparse.Namespace) -> int:
    running = EmulatorProcess.running()
    if running:
        print(f'already running (pid {running.pid}); stop it first to change its options')
    else:
        emulator_options(options)  # bad options fail here, not in the background
        running = EmulatorProcess.start_background(*server_args(options))
        print(f'started in the background (pid {running.pid}, log {LOG_FILE})')
    print(credentials_text(running.url))
    print('bash devtools/dev.sh run ... and playbook ... now call it; bash devtools/dev.sh emulator stop ends it.')
    return 0


def cmd_status(options: argparse.Namespace) -> int:
    running = EmulatorProcess.running()
    if not running:
        print('not running (bash devtools/dev.sh emulator start)')
        return 1
    print(f'running (pid {running.pid})')
    print(credentials_text(running.url))
    return 0


def cmd_stop(options: argparse.Namespace) -> int:
    running = EmulatorProcess.running()
    if not running:
        print('not running')
        return 0
    running.stop()
    print(f'stopped (pid {running.pid})')
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='bash devtools/dev.sh emulator', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='what', required=True)
    for name, func, help_text in (('serve', cmd_serve, 'serve in the foreground until SIGINT/SIGTERM'),
                                  ('start', cmd_start, 'keep one emulator running in the background')):
        command = sub.add_parser(name, help=help_text)
        add_server_options(command)
        command.set_defaults(func=func)
    sub.add_parser('status', help='is the background emulator running').set_defaults(func=cmd_status)
    sub.add_parser('stop', help='stop the background emulator').set_defaults(func=cmd_stop)
    options = parser.parse_args(argv)
    return options.func(options)


if __name__ == '__main__':
    sys.exit(main())
