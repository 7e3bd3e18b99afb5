"""The emulator on its own (through `bash devtools/dev.sh emulator <command>`):

  serve [options]    serve in the foreground until Ctrl-C / SIGTERM (prints EMULATOR_URL=...)
  start [options]    keep one emulator running in the background; `run` and `playbook` then use it
  status             is the background emulator running, and where
  stop               stop the background emulator
"""
import argparse
import json
import os
import signal
import sys
import threading
from typing import Any

from . import credentials
from .process import LOG_FILE, EmulatorProcess
from .server import Emulator, Options
from .wan import parse_size


def env_default(name: str, default: Any) -> Any:
    return os.environ.get(name, default)


def add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--port', type=int, default=0, help='0 = any free port')
    parser.add_argument('--fault', action='append', default=[], help='a fault rule as JSON (repeatable)')
    parser.add_argument('--action-steps', type=int, default=Options.action_steps,
                        help='status calls before a retrieval action is final')
    parser.add_argument('--distribution-steps', type=int, default=Options.distribution_steps,
                        help='status calls before a distribution is ready')
    parser.add_argument('--large-file-size', type=parse_size, default=None,
                        help="size of each retrieval's first file (e.g. 1G), streamed")
    parser.add_argument('--verbose', action='store_true', help='log every request')
    wan = parser.add_argument_group('WAN behaviour (each defaults to the environment variable named)')
    wan.add_argument('--latency-ms', type=float, default=env_default('EMULATOR_LATENCY_MS', 0.0),
                     help='added to every API request (EMULATOR_LATENCY_MS)')
    wan.add_argument('--bandwidth', type=parse_size, default=env_default('EMULATOR_BANDWIDTH', None),
                     help='bytes per second per connection, e.g. 10M (EMULATOR_BANDWIDTH)')
    wan.add_argument('--concurrent-limit', type=int, default=env_default('EMULATOR_CONCURRENT_LIMIT', None),
                     help='API requests served at once; more get 429 + Retry-After (EMULATOR_CONCURRENT_LIMIT)')
    wan.add_argument('--retry-after', type=int, default=env_default('EMULATOR_RETRY_AFTER', 1),
                     help='the Retry-After of those 429s, seconds (EMULATOR_RETRY_AFTER)')
    wan.add_argument('--quarantine-batch-limit', type=int,
                     default=env_default('EMULATOR_QUARANTINE_BATCH_LIMIT', Options.quarantine_batch_limit),
                     help='files per quarantine/status call (EMULATOR_QUARANTINE_BATCH_LIMIT)')


def emulator_options(options: argparse.Namespace) -> Options:
    return Options(port=options.port, faults=[json.loads(rule) for rule in options.fault],
                   action_steps=options.action_steps, distribution_steps=options.distribution_steps,
                   large_file_size=options.large_file_size, quarantine_batch_limit=int(options.quarantine_batch_limit),
                   verbose=options.verbose, latency_ms=float(options.latency_ms),
                   bandwidth_bytes_per_second=options.bandwidth,
                   concurrent_request_limit=options.concurrent_limit and int(options.concurrent_limit),
                   retry_after_seconds=int(options.retry_after))


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
        running = EmulatorProcess.start_background(*options.serve_args)
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
    argv = sys.argv[1:] if argv is None else argv
    options = parser.parse_args(argv)
    options.serve_args = argv[1:]  # `start` hands its options to the background `serve` as given
    return options.func(options)


if __name__ == '__main__':
    sys.exit(main())
