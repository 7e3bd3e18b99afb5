"""Benchmarks: ours against a bare-`requests` baseline, side by side, medians over several runs.

    python -m benchmarks [--runs 3] [--size-mb 1024] [--files 10000] [--only download,quarantine,overhead]

Each measurement runs in a fresh child process (so peak RSS is that job's alone) against the emulator,
itself in another process, on 127.0.0.1.
1. download: xdr-response-retrieve-file-details of one endpoint whose zip holds a file of --size-mb, streamed, unzipped
   and hashed; baseline = a bare requests stream-to-disk of the same download URL. Peak RSS growth over the
   idle process and throughput (MB/s of the download). Targets: RSS growth <= 64 MiB; throughput >= 0.8x.
2. quarantine: xdr-response-get-quarantine-status for --files files; baseline = a bare requests loop posting the same
   batches on one connection. Wall time and HTTP request count. Target <= 1.3x time; requests = files / batch.
3. overhead: CPU time per command with a trivial reply (import, argument parsing, output formatting).
   Target <= 50 ms.
"""
import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

import requests

from devtools.paths import ROOT

MB = 1024 * 1024
THROUGHPUT_TARGET = 0.8  # ours / bare, download throughput
RSS_TARGET_MB = 64
QUARANTINE_TIME_TARGET = 1.3  # ours / bare, wall time
OVERHEAD_TARGET_MS = 50


class EmulatorProcess:
    def __init__(self, *extra):
        self.proc = subprocess.Popen([sys.executable, '-m', 'devtools.emulator', 'serve', '--port', '0',
                                      '--action-steps', '1'] + list(extra), cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout  # a pipe
        match = re.search(r'EMULATOR_URL=(\S+)', self.proc.stdout.readline())
        if not match:
            self.proc.kill()
            raise SystemExit('the emulator did not start')
        self.url = match.group(1)

    def request_count(self, contains):
        log = requests.get(self.url + '/_emulator/log', timeout=30).json()
        return sum(1 for r in log if contains in r['path'])

    def reset(self):
        requests.post(self.url + '/_emulator/reset', timeout=30)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def child(job, payload):
    """Run benchmarks.jobs.<job>(payload) in a fresh interpreter; returns its JSON result."""
    proc = subprocess.run([sys.executable, '-m', 'benchmarks.jobs', job, json.dumps(payload)], cwd=ROOT,
                          capture_output=True, text=True, timeout=3600, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f'{job} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def median(values):
    return statistics.median(values) if values else float('nan')


def table(title, headers, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    lines = ['', '### ' + title, '| ' + ' | '.join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)) + ' |',
             '|' + '|'.join('-' * (w + 2) for w in widths) + '|']
    lines += ['| ' + ' | '.join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + ' |' for row in rows]
    return '\n'.join(lines)


def bench_download(runs, size_mb):
    emulator = EmulatorProcess('--large-file-size', str(size_mb * MB))
    ours: list[dict] = []
    bare: list[dict] = []
    try:
        for _ in range(runs):
            for name, sink in (('bare_download', bare), ('ours_download', ours)):
                emulator.reset()
                with tempfile.TemporaryDirectory(prefix='bench-') as work:
                    sink.append(child(name, {'url': emulator.url, 'workdir': work}))
    finally:
        emulator.stop()
    size = ours[0]['bytes']
    rows = []
    for label, results in (('bare requests stream', bare), ('xdr-response-retrieve-file-details', ours)):
        rows.append([label, f'{size / MB:.0f}', '{:.2f}'.format(median([r['seconds'] for r in results])),
                     '{:.0f}'.format(median([size / MB / r['seconds'] for r in results])),
                     '{:.1f}'.format(median([r['rss_growth'] / MB for r in results]))])
    ratio = median([size / r['seconds'] for r in ours]) / median([size / r['seconds'] for r in bare])
    rss = median([r['rss_growth'] / MB for r in ours])
    verdict = 'throughput ratio {:.2f} (target >= 0.8: {}), RSS growth {:.1f} MiB (target <= 64: {})'.format(
        ratio, 'met' if ratio >= THROUGHPUT_TARGET else 'MISSED', rss, 'met' if rss <= RSS_TARGET_MB else 'MISSED')
    return table(f'Retrieve + download + unzip of a {size_mb} MiB file (median of {runs})',
                 ['job', 'MiB', 'seconds', 'MiB/s', 'peak RSS growth MiB'], rows) + '\n' + verdict


def bench_quarantine(runs, files):
    emulator = EmulatorProcess()
    ours: list[dict] = []
    bare: list[dict] = []
    try:
        for _ in range(runs):
            for name, sink in (('bare_quarantine', bare), ('ours_quarantine', ours)):
                emulator.reset()
                with tempfile.TemporaryDirectory(prefix='bench-') as work:
                    result = child(name, {'url': emulator.url, 'workdir': work, 'files': files})
                result['requests'] = emulator.request_count('quarantine/status')
                sink.append(result)
    finally:
        emulator.stop()
    rows = [[label, files, '{:.3f}'.format(median([r['seconds'] for r in results])),
             int(median([r['requests'] for r in results]))]
            for label, results in (('bare batched requests loop', bare), ('xdr-response-get-quarantine-status', ours))]
    ratio = median([r['seconds'] for r in ours]) / median([r['seconds'] for r in bare])
    verdict = 'time ratio {:.2f} (target <= {}: {}), requests {} for {} files'.format(
        ratio, QUARANTINE_TIME_TARGET, 'met' if ratio <= QUARANTINE_TIME_TARGET else 'MISSED', rows[1][3], files)
    return table(f'Quarantine status of {files} files (median of {runs})',
                 ['job', 'files', 'seconds', 'HTTP requests'], rows) + '\n' + verdict


def bench_overhead(runs):
    result = child('overhead', {'runs': max(runs, 5)})
    rows = [[name, f'{ms:.1f}', 'met' if ms <= OVERHEAD_TARGET_MS else 'MISSED'] for name, ms in sorted(result.items())]
    return table(f'CPU per command with a trivial reply (median of {max(runs, 5)} runs, ms)',
                 ['command', 'CPU ms', 'target <= 50 ms'], rows)


def machine():
    cpu = ''
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next((line.split(':', 1)[1].strip() for line in f if line.startswith('model name')), '')
    except OSError:
        pass
    return (f'Machine: {os.cpu_count()} cores ({cpu or platform.processor()}), Python {platform.python_version()}, '
            f'{platform.platform()}')


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m benchmarks')
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--size-mb', type=int, default=1024)
    parser.add_argument('--files', type=int, default=10000)
    parser.add_argument('--only', default='download,quarantine,overhead')
    options = parser.parse_args(argv)
    print(machine())
    chosen = options.only.split(',')
    started = time.time()
    if 'overhead' in chosen:
        print(bench_overhead(options.runs), flush=True)
    if 'quarantine' in chosen:
        print(bench_quarantine(options.runs, options.files), flush=True)
    if 'download' in chosen:
        print(bench_download(options.runs, options.size_mb), flush=True)
    print(f'\n(total {time.time() - started:.0f} s)')
    return 0
