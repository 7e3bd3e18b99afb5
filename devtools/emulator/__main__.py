"""python -m devtools.emulator serve [--port N] [--fault JSON]... [--action-steps N] [--large-file-size BYTES]"""
import argparse
import json
import signal
import sys
import threading

from . import Emulator


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m devtools.emulator')
    sub = parser.add_subparsers(dest='what', required=True)
    serve = sub.add_parser('serve', help='serve until SIGINT/SIGTERM')
    serve.add_argument('--port', type=int, default=0)
    serve.add_argument('--fault', action='append', default=[], help='a fault rule as JSON (repeatable)')
    serve.add_argument('--action-steps', type=int, default=2)
    serve.add_argument('--distribution-steps', type=int, default=2)
    serve.add_argument('--large-file-size', type=int, default=None)
    serve.add_argument('--verbose', action='store_true')
    options = parser.parse_args(argv)
    emulator = Emulator(port=options.port, faults=[json.loads(f) for f in options.fault],
                        action_steps=options.action_steps, distribution_steps=options.distribution_steps,
                        large_file_size=options.large_file_size, verbose=options.verbose).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    print(f'EMULATOR_URL={emulator.url}', flush=True)
    stop.wait()
    emulator.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
