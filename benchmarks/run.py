"""Benchmarks: ours against bare `requests` baselines and bounds, each target with its measured ratio, in one run.

    bash devtools/dev.sh bench [--quick] [--only download,bulk,quarantine,overhead] [--rounds N] [--readme]

Every job runs in a fresh child process (its peak RSS is its own) against the emulator in another process on
127.0.0.1; rounds are interleaved (bare, bare + SHA256, ours and inflate-only, in a rotating order), so drift in the
machine's speed hits every side alike.
1. download: `xdr-response-retrieve-file-details` of one endpoint whose zip holds one file of --size-mb MiB, stored
   and deflated, against a bare requests stream-to-disk of the same link, with and without SHA256 of the bytes as they
   arrive, and (deflated) against zlib inflating the same entry in memory and doing nothing else (the step no
   extractor can skip). Per-round throughput ratios: median and worst pair; peak RSS growth.
2. bulk, at --latency-ms per request: retrieving 100 endpoints x 1 MiB (10 actions), 100 distribution status calls,
   100 action status calls, with the instance's max_concurrency against max_concurrency 1 (serial) and against the
   lower bound ceil(n / concurrency) x the single-request time of each request kind; connections counted.
3. quarantine: 10,000 files against a bare requests loop posting the same batches on one connection.
4. overhead: CPU per command with a trivial mocked reply.
--quick runs small sizes and few rounds (under a minute) to check the harness; its numbers are not the targets'.
--readme writes the results table into README.md's Performance section (between the bench markers).
"""
import argparse
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from benchmarks import xdr
from devtools.emulator.process import EmulatorProcess
from devtools.paths import ROOT

MB = 1024 * 1024
README = os.path.join(ROOT, 'README.md')
README_START, README_END = '<!-- bench:start -->', '<!-- bench:end -->'
# Targets (issue 14): ratios are ours / baseline for throughput and time ratios ours / reference for durations
DOWNLOAD_VS_SHA_MEDIAN, DOWNLOAD_VS_SHA_WORST, RSS_LIMIT_MB = 1.0, 0.8, 64
BULK_VS_SERIAL, MAX_CONNECTIONS = 0.3, 8
QUARANTINE_VS_BARE = 1.1
OVERHEAD_MS = 50


@dataclass
class Scale:
    size_mb: int
    rounds: int
    latency_ms: int
    endpoints: int
    status_calls: int
    quarantine_files: int
    overhead_runs: int


FULL = Scale(size_mb=1024, rounds=7, latency_ms=100, endpoints=100, status_calls=100, quarantine_files=10000,
             overhead_runs=5)
QUICK = Scale(size_mb=16, rounds=2, latency_ms=30, endpoints=20, status_calls=20, quarantine_files=2000,
              overhead_runs=2)


class Report:
    """Result rows (what, baseline, ours, ratio, target, verdict) and notes, as text and as a markdown table."""

    def __init__(self) -> None:
        self.rows: list[list[str]] = []

    def add(self, what: str, baseline: str, ours: str, ratio: float | None, target: str, met: bool | None) -> None:
        verdict = '' if met is None else ('met' if met else '**missed**')
        row = [what, baseline, ours, '' if ratio is None else f'{ratio:.2f}x', target, verdict]
        self.rows.append(row)
        print('  ' + ' | '.join(cell for cell in row if cell), flush=True)

    def markdown(self) -> str:
        lines = ['| Benchmark | Baseline | Ours | Ratio | Target | |', '| --- | --- | --- | --- | --- | --- |']
        return '\n'.join(lines + ['| ' + ' | '.join(row) + ' |' for row in self.rows])


def child(job: str, payload: dict[str, Any]) -> Any:
    """benchmarks.jobs.<job>(payload) in a fresh interpreter; its JSON result. Dirty pages are flushed first, so no
    job pays for the disk writes of the one before it."""
    os.sync()
    proc = subprocess.run([sys.executable, '-m', 'benchmarks.jobs', job, json.dumps(payload)], cwd=ROOT,
                          capture_output=True, text=True, timeout=3600, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f'{job} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def in_workdir(job: str, payload: dict[str, Any]) -> Any:
    with tempfile.TemporaryDirectory(prefix='bench-') as work:
        return child(job, dict(payload, workdir=work))


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float('nan')


# ---------------------------------------------------------------- 1. download

def bench_download(report: Report, scale: Scale, compression: str) -> None:
    print(f'\n## Download + unzip + hash of a {scale.size_mb} MiB file, {compression} ({scale.rounds} interleaved rounds)',
          flush=True)
    emulator = EmulatorProcess.start('--action-steps', '1', '--large-file-size', str(scale.size_mb * MB),
                                     '--large-file-format', compression)
    try:
        action_id = xdr.start_retrieval(emulator.url, [xdr.endpoint_id(0)])
        link = xdr.download_link(emulator.url, action_id)
        jobs: dict[str, Callable[[], Any]] = {
            'bare': lambda: in_workdir('bare_download', {'link': link, 'sha256': False}),
            'bare_sha': lambda: in_workdir('bare_download', {'link': link, 'sha256': True}),
            'ours': lambda: in_workdir('ours_download', {'url': emulator.url, 'action_id': action_id}),
        }
        if compression == 'deflated':
            jobs['inflate_only'] = lambda: in_workdir('inflate_only', {'link': link, 'size': scale.size_mb * MB})
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in jobs}
        order = list(jobs)
        for round_index in range(scale.rounds):
            turn = round_index % len(order)
            for name in order[turn:] + order[:turn]:
                results[name].append(jobs[name]())
    finally:
        emulator.stop()
    # speeds in MiB of the downloaded zip per second; ratios of the same download's times within one round
    zip_mb = results['bare'][0]['bytes'] / MB
    speed = {name: [zip_mb / r['seconds'] for r in rows] for name, rows in results.items()}
    vs_sha = [ours / bare for ours, bare in zip(speed['ours'], speed['bare_sha'], strict=True)]
    vs_bare = [ours / bare for ours, bare in zip(speed['ours'], speed['bare'], strict=True)]
    rss = max(r['rss_growth'] for r in results['ours']) / MB
    what = f'{scale.size_mb} MiB {compression}'
    report.add(f'{what}: retrieve + unzip + SHA256, median of rounds',
               f'{median(speed["bare_sha"]):.0f} MiB/s (bare stream + SHA256)', f'{median(speed["ours"]):.0f} MiB/s',
               median(vs_sha), f'>= {DOWNLOAD_VS_SHA_MEDIAN}x', median(vs_sha) >= DOWNLOAD_VS_SHA_MEDIAN)
    report.add(f'{what}: worst pair', '', '', min(vs_sha), f'>= {DOWNLOAD_VS_SHA_WORST}x',
               min(vs_sha) >= DOWNLOAD_VS_SHA_WORST)
    report.add(f'{what}: against a plain stream-to-disk', f'{median(speed["bare"]):.0f} MiB/s (bare stream)',
               f'{median(speed["ours"]):.0f} MiB/s', median(vs_bare), 'reported', None)
    if 'inflate_only' in speed:
        inflate_vs_sha = [inflate / bare for inflate, bare in zip(speed['inflate_only'], speed['bare_sha'], strict=True)]
        vs_inflate = [ours / inflate for ours, inflate in zip(speed['ours'], speed['inflate_only'], strict=True)]
        report.add(f'{what}: zlib inflating alone (in memory, nothing else) against bare stream + SHA256',
                   f'{median(speed["bare_sha"]):.0f} MiB/s (bare stream + SHA256)',
                   f'{median(speed["inflate_only"]):.0f} MiB/s (inflate only)', median(inflate_vs_sha), 'reported', None)
        report.add(f'{what}: against zlib inflating alone', f'{median(speed["inflate_only"]):.0f} MiB/s (inflate only)',
                   f'{median(speed["ours"]):.0f} MiB/s', median(vs_inflate), 'reported', None)
    report.add(f'{what}: peak RSS growth (worst round)',
               '{:.1f} MiB'.format(max(r['rss_growth'] for r in results['bare_sha']) / MB), f'{rss:.1f} MiB', None,
               f'<= {RSS_LIMIT_MB} MiB', rss <= RSS_LIMIT_MB)


# ---------------------------------------------------------------- 2. bulk calls at WAN latency

def connections(emulator: EmulatorProcess, since: int) -> tuple[int, dict[str, int]]:
    """(distinct client connections, requests per kind) in the emulator's log since entry `since`."""
    log = emulator.request_log()[since:]
    kinds: dict[str, int] = {}
    for entry in log:
        kind = 'download' if '/download/' in entry['path'] else 'json'
        kinds[kind] = kinds.get(kind, 0) + 1
    return len({entry['client'] for entry in log}), kinds


def run_bulk(emulator: EmulatorProcess, command: str, args: dict[str, str], concurrency: int) -> dict[str, Any]:
    since = len(emulator.request_log())
    result = in_workdir('ours_command', {'url': emulator.url, 'command': command, 'args': args,
                                         'settings': {'max_concurrency': str(concurrency)}})
    result['connections'], result['requests'] = connections(emulator, since)
    result['requests']['json'] -= 1  # the session's warm-up call, made before the measurement
    return result


def bench_bulk(report: Report, scale: Scale, concurrency: int) -> None:
    print(f'\n## Bulk calls at {scale.latency_ms} ms latency per request, max_concurrency {concurrency} against 1',
          flush=True)
    emulator = EmulatorProcess.start('--action-steps', '1', '--latency-ms', str(scale.latency_ms),
                                     '--large-file-size', str(MB), '--large-file-format', 'stored')
    try:
        actions = xdr.completed_actions(emulator.url, scale.endpoints)
        single = child('single_requests', {'url': emulator.url, 'samples': 5,
                                           'link': xdr.download_link(emulator.url, actions[0])})
        status_actions = xdr.completed_actions(emulator.url, scale.status_calls, per_action=1)
        cases = [
            (f'{scale.endpoints} endpoints x 1 MiB: xdr-response-retrieve-file-details of {len(actions)} actions',
             'xdr-response-retrieve-file-details', {'action_id': ','.join(actions)}),
            (f'{scale.status_calls} distribution status calls',
             'xdr-response-get-create-distribution-status',
             {'distribution_ids': ','.join(xdr.distributions(emulator.url, scale.status_calls))}),
            (f'{scale.status_calls} action status calls', 'xdr-response-action-status-get',
             {'action_id': ','.join(status_actions)}),
        ]
        for what, command, args in cases:
            serial = run_bulk(emulator, command, args, 1)
            ours = run_bulk(emulator, command, args, concurrency)
            bound = sum(math.ceil(count / concurrency) * single[kind] for kind, count in ours['requests'].items())
            ratio = ours['seconds'] / serial['seconds']
            report.add(f'{what}: time', f'{serial["seconds"]:.2f} s serial', f'{ours["seconds"]:.2f} s', ratio,
                       f'<= {BULK_VS_SERIAL}x serial', ratio <= BULK_VS_SERIAL)
            report.add(f'{what}: against the lower bound', '{:.2f} s = {} requests, ceil(n / {}) x {}'.format(
                bound, sum(ours['requests'].values()), concurrency,
                ' + '.join(f'{single[kind] * 1000:.0f} ms' for kind in sorted(ours['requests']))),
                f'{ours["seconds"]:.2f} s', ours['seconds'] / bound, 'reported', None)
            report.add(f'{what}: connections', f'{serial["connections"]} serial', str(ours['connections']), None,
                       f'<= {MAX_CONNECTIONS}', ours['connections'] <= MAX_CONNECTIONS)
    finally:
        emulator.stop()


# ---------------------------------------------------------------- 3. quarantine

def bench_quarantine(report: Report, scale: Scale) -> None:
    files = scale.quarantine_files
    print(f'\n## Quarantine status of {files} files ({scale.rounds} interleaved rounds)', flush=True)
    emulator = EmulatorProcess.start()
    ours_seconds: list[float] = []
    bare_seconds: list[float] = []
    requests_made = 0
    try:
        for round_index in range(scale.rounds):
            since = len(emulator.request_log())
            ours = in_workdir('ours_quarantine', {'url': emulator.url, 'files': files})
            requests_made = connections(emulator, since)[1]['json'] - 1  # less the warm-up call
            bare = child('bare_quarantine', {'url': emulator.url, 'files': files,
                                             'batch': math.ceil(files / requests_made)})
            pair = [(ours_seconds, ours), (bare_seconds, bare)]
            for sink, result in pair if round_index % 2 == 0 else reversed(pair):
                sink.append(result['seconds'])
    finally:
        emulator.stop()
    ratio = median([o / b for o, b in zip(ours_seconds, bare_seconds, strict=True)])
    report.add(f'Quarantine status of {files} files: time', f'{median(bare_seconds):.3f} s (bare batched loop)',
               f'{median(ours_seconds):.3f} s, {requests_made} requests', ratio, f'<= {QUARANTINE_VS_BARE}x',
               ratio <= QUARANTINE_VS_BARE)


# ---------------------------------------------------------------- 4. overhead

def bench_overhead(report: Report, scale: Scale) -> None:
    print(f'\n## CPU per command with a trivial reply (median of {scale.overhead_runs} runs)', flush=True)
    result = child('overhead', {'runs': scale.overhead_runs})
    slowest = max(result, key=result.get)
    report.add(f'CPU per command, trivial reply (slowest: {slowest})', '',
               f'{min(result.values()):.1f}-{result[slowest]:.1f} ms', None, f'<= {OVERHEAD_MS} ms',
               result[slowest] <= OVERHEAD_MS)


# ---------------------------------------------------------------- the run

def machine() -> str:
    cpu = ''
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next((line.split(':', 1)[1].strip() for line in f if line.startswith('model name')), '')
    except OSError:
        pass
    memory = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 1024 ** 3
    return (f'{os.cpu_count()} cores ({cpu or platform.processor()}), {memory:.0f} GiB, Python '
            f'{platform.python_version()}, {platform.system()} {platform.release()}')


def write_readme(report: Report, header: str) -> None:
    with open(README) as f:
        text = f.read()
    pattern = re.compile(re.escape(README_START) + '.*?' + re.escape(README_END), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f'README.md has no {README_START} ... {README_END} markers in its Performance section')
    block = f'{README_START}\n{header}\n\n{report.markdown()}\n{README_END}'
    with open(README, 'w') as f:
        f.write(pattern.sub(lambda _: block, text))
    print(f'\nwrote the table into {README}')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='bash devtools/dev.sh bench', description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--quick', action='store_true', help='small sizes, few rounds: checks the harness in < 60 s')
    parser.add_argument('--only', default='download,bulk,quarantine,overhead')
    parser.add_argument('--rounds', type=int, help='interleaved rounds (default 7; --quick 2)')
    parser.add_argument('--size-mb', type=int, help='download size (default 1024; --quick 16)')
    parser.add_argument('--concurrency', type=int, default=4, help="the instance's max_concurrency (default 4)")
    parser.add_argument('--readme', action='store_true', help="write the table into README.md's Performance section")
    options = parser.parse_args(argv)
    scale = QUICK if options.quick else FULL
    scale = Scale(**dict(vars(scale), rounds=options.rounds or scale.rounds, size_mb=options.size_mb or scale.size_mb))
    header = '`bash devtools/dev.sh bench{}` on {}: {}.'.format(' --quick' if options.quick else '',
                                                               date.today().isoformat(), machine())
    print(header)
    chosen = options.only.split(',')
    report = Report()
    started = time.monotonic()
    if 'download' in chosen:
        for compression in ('stored', 'deflated'):
            bench_download(report, scale, compression)
    if 'bulk' in chosen:
        bench_bulk(report, scale, options.concurrency)
    if 'quarantine' in chosen:
        bench_quarantine(report, scale)
    if 'overhead' in chosen:
        bench_overhead(report, scale)
    print(f'\n{report.markdown()}\n\n(total {time.monotonic() - started:.0f} s)')
    if options.readme:
        write_readme(report, header)
    return 0
