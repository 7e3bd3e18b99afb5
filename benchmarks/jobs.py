"""One benchmark job per child process (its peak RSS is its own): python -m benchmarks.jobs <job> '<json>' -> one JSON
line. The emulator runs in another process; the parent prepares actions and links with benchmarks.xdr."""
import hashlib
import json
import os
import statistics
import struct
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from typing import Any

import jwt
import requests
import requests_mock

from benchmarks.xdr import auth_headers, quarantine_rows
from devtools import instances
from devtools.runner import FILE_ENTRY, Session, errors_of

MB = 1024 * 1024


def proc_status(field: str) -> int:
    """A /proc/self/status field in bytes (VmRSS now, VmHWM the peak)."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) * 1024
    return 0


def reset_peak() -> None:
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # resets VmHWM to the current RSS
    except OSError:
        pass


def measured(func: Callable[[], Any]) -> tuple[Any, float, int]:
    """(result, seconds, peak RSS growth in bytes) of func()."""
    reset_peak()
    before = proc_status('VmRSS')
    started = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - started
    return result, seconds, proc_status('VmHWM') - before


def session_for(payload: dict[str, Any], file_context: bool = True, merge_entry_context: bool = True) -> Session:
    """A runner session on the emulator with the payload's Cortex XDR settings (e.g. max_concurrency), warmed up:
    the integration's code is compiled once before anything is measured, as the bare baselines' code is imported
    before theirs (each command still runs the module from the top)."""
    params = instances.emulator_params(payload['url'], xdr_settings=payload.get('settings'))
    session = Session(instances={instances.XDR: params[instances.XDR]}, workdir=payload['workdir'],
                      file_context=file_context)
    session.merge_entry_context = merge_entry_context
    session.compiled_code = {}
    session.execute('xdr-response-get-distribution-versions')
    return session


# ---------------------------------------------------------------- downloads: bare requests against ours

def bare_download(payload: dict[str, Any]) -> dict[str, Any]:
    """requests streaming the download link to disk (and hashing each chunk as it arrives when sha256)."""
    http = requests.Session()
    digest = hashlib.sha256() if payload['sha256'] else None

    def download() -> int:
        size = 0
        with http.post(payload['link'], headers=auth_headers(), stream=True, timeout=300) as res:
            res.raise_for_status()
            with open(os.path.join(payload['workdir'], 'download.zip'), 'wb') as f:
                for chunk in res.iter_content(MB):
                    size += len(chunk)
                    f.write(chunk)
                    if digest is not None:
                        digest.update(chunk)
        return size
    size, seconds, rss = measured(download)
    return {'seconds': seconds, 'bytes': size, 'rss_growth': rss}


def inflate_only(payload: dict[str, Any]) -> dict[str, Any]:
    """zlib (the image's only inflater) inflating the entry of the one-entry zip, downloaded first (by bare_download,
    untimed) and read from the page cache, doing nothing else: no network, no writing, no CRC32, no SHA256."""
    bare_download(dict(payload, sha256=False))
    path = os.path.join(payload['workdir'], 'download.zip')

    def inflate() -> int:
        produced, inflater = 0, zlib.decompressobj(-15)
        with open(path, 'rb') as f:
            name_length, extra_length = struct.unpack('<HH', f.read(30)[26:])
            f.seek(30 + name_length + extra_length)
            while not inflater.eof:
                data = f.read(MB)
                if not data:
                    break
                while data and not inflater.eof:
                    produced += len(inflater.decompress(data, MB))
                    data = inflater.unconsumed_tail
        if produced != payload['size']:
            raise SystemExit(f'inflate_only produced {produced} bytes, expected {payload["size"]}')
        return os.path.getsize(path)
    size, seconds, rss = measured(inflate)
    return {'seconds': seconds, 'bytes': size, 'rss_growth': rss}


def ours_download(payload: dict[str, Any]) -> dict[str, Any]:
    """xdr-response-retrieve-file-details: download, unzip and hash each endpoint's files (File.* hashing is the
    server's work, not the integration's, so the runner skips it)."""
    session = session_for(payload, file_context=False)
    entries, seconds, rss = measured(lambda: session.execute('xdr-response-retrieve-file-details', {
        'action_id': payload['action_id'], 'max_total_size_mb': '100000'}))
    if errors_of(entries):
        raise SystemExit('\n'.join(errors_of(entries)))
    size = sum(e['FileContext']['Size'] for e in entries if e.get('Type') == FILE_ENTRY)
    return {'seconds': seconds, 'bytes': size, 'rss_growth': rss}


# ---------------------------------------------------------------- any command, and single requests for reference

def ours_command(payload: dict[str, Any]) -> dict[str, Any]:
    session = session_for(payload, merge_entry_context=payload.get('merge_entry_context', True))
    entries, seconds, _ = measured(lambda: session.execute(payload['command'], payload['args']))
    if errors_of(entries):
        raise SystemExit('\n'.join(errors_of(entries))[:2000])
    return {'seconds': seconds, 'files': sum(1 for e in entries if e.get('Type') == FILE_ENTRY)}


def single_requests(payload: dict[str, Any]) -> dict[str, Any]:
    """Median seconds of one request on a kept-alive connection (as a pool reuses them): a JSON call and, when a
    link is given, one download."""
    http = requests.Session()

    def one_call() -> None:
        http.post(payload['url'] + '/public_api/v1/distributions/get_versions', json={'request_data': {}},
                  headers=auth_headers(), timeout=60).raise_for_status()

    def one_download() -> None:
        http.post(payload['link'], headers=auth_headers(), timeout=60).raise_for_status()
    one_call()  # opens the connection
    result = {'json': statistics.median(measured(one_call)[1] for _ in range(payload['samples']))}
    if payload.get('link'):
        result['download'] = statistics.median(measured(one_download)[1] for _ in range(payload['samples']))
    return result


# ---------------------------------------------------------------- quarantine: bare batched loop against ours

def bare_quarantine(payload: dict[str, Any]) -> dict[str, Any]:
    http = requests.Session()
    files = quarantine_rows(payload['files'])
    batch = payload['batch']

    def loop() -> int:
        checked = 0
        for start in range(0, len(files), batch):
            reply = http.post(payload['url'] + '/public_api/v1/quarantine/status', headers=auth_headers(),
                              json={'request_data': {'files': files[start:start + batch]}}, timeout=60)
            reply.raise_for_status()
            checked += len(reply.json()['reply'])
        return checked
    checked, seconds, _ = measured(loop)
    return {'seconds': seconds, 'checked': checked}


def ours_quarantine(payload: dict[str, Any]) -> dict[str, Any]:
    rows = quarantine_rows(payload['files'])
    # What XSOAR runs in the integration's container: the server's merge of 10,000 rows into the incident context
    # is the server's work, as File.* hashing is for downloads, so the runner does not do it here.
    return ours_command(dict(payload, merge_entry_context=False, command='xdr-response-get-quarantine-status', args={
        'endpoint_id': rows[0]['endpoint_id'], 'file_path': rows[0]['file_path'],
        'file_hash': ','.join(row['file_hash'] for row in rows)}))


# ---------------------------------------------------------------- CPU per command with a trivial (mocked) reply

TRIVIAL = {
    'xdr-response-create-distribution': ({'name': 'n', 'platform': 'android', 'package_type': 'standalone'},
                                         'distributions/create', {'reply': {'distribution_id': 'd'}}),
    'xdr-response-get-create-distribution-status': ({'distribution_ids': 'd'}, 'distributions/get_status',
                                                    {'reply': {'status': 'Completed'}}),
    'xdr-response-get-distribution-url': ({'distribution_id': 'd', 'package_type': 'sh'}, 'distributions/get_dist_url',
                                          {'reply': {'distribution_url': 'https://x/y'}}),
    'xdr-response-get-distribution-versions': ({}, 'distributions/get_versions', {'reply': {'windows': ['1']}}),
    'xdr-response-file-retrieve': ({'endpoint_ids': 'e', 'generic_file_path': 'C:\\a', 'polling': 'false'},
                                   'endpoints/file_retrieval', {'reply': {'action_id': 1, 'endpoints_count': 1}}),
    'xdr-response-action-status-get': ({'action_id': '1'}, 'actions/get_action_status',
                                       {'reply': {'data': {'e': 'COMPLETED_SUCCESSFULLY'}}}),
    'xdr-response-get-quarantine-status': ({'endpoint_id': 'e', 'file_path': '/a', 'file_hash': 'a' * 64},
                                           'quarantine/status', {'reply': [{'endpoint_id': 'e', 'file_path': '/a',
                                                                            'file_hash': 'a' * 64, 'status': True}]}),
}


def cpu_per_command(session: Session, commands: dict[str, dict[str, Any]], runs: int) -> dict[str, float]:
    results = {}
    for command, args in commands.items():
        samples = []
        for _ in range(runs):
            started = time.process_time()
            entries = session.execute(command, args)
            samples.append((time.process_time() - started) * 1000)
            if errors_of(entries):
                raise SystemExit(f'{command}: {errors_of(entries)}')
        results[command] = statistics.median(samples)
    return results


def overhead(payload: dict[str, Any]) -> dict[str, float]:
    """CPU ms per command (load code + parse args + one mocked reply + format), median of runs."""
    base = 'https://api-bench.example.com'
    params = {'url': base, 'credentials': {'identifier': '1', 'password': 'bench-key'}, 'auth_type': 'Standard'}
    with requests_mock.Mocker() as mocker, tempfile.TemporaryDirectory() as work:
        for _, path, reply in TRIVIAL.values():
            mocker.post(base + '/public_api/v1/' + path, json=reply)
        session = Session(instances={instances.XDR: params}, workdir=work)
        results = cpu_per_command(session, {command: args for command, (args, _, _) in TRIVIAL.items()},
                                  payload['runs'])
    results.update(cylance_overhead(payload['runs']))
    return results


def cylance_overhead(runs: int) -> dict[str, float]:
    base = 'https://protectapi-bench.example.com'
    package_id = 'e378dacb-9324-453a-b8c6-5a8406952195'
    package = {'packageId': package_id, 'size': 3, 'status': 'success', 'downloadUrl': 'https://storage.example.com/p',
               'packageDescriptor': {'name': 'p', 'version': '1', 'examples': [],
                                     'packageInfo': {'entryPoint': 'main.py', 'fileName': 'p.zip', 'fileType': 'python'}}}
    params = {'url': base, 'credentials': {'identifier': 'app', 'password': 'bench-secret-0123456789abcdef0123'},
              'tenant_id': 'tenant'}
    token = jwt.encode({'exp': int(time.time()) + 1800}, 'k' * 32, algorithm='HS256')
    with requests_mock.Mocker() as mocker, tempfile.TemporaryDirectory() as work:
        mocker.post(base + '/auth/v2/token', json={'access_token': token})
        mocker.get(base + '/packages/v2/' + package_id, json=package)
        mocker.get(base + '/packages/v2', json={'page_number': 1, 'page_size': 1, 'total_pages': 1,
                                                'total_number_of_items': 1, 'page_items': [package]})
        mocker.get('https://storage.example.com/p', content=b'abc')
        session = Session(instances={instances.CYLANCE: params}, workdir=work)
        return cpu_per_command(session, {'cylance-optics-get-package': {'package_id': package_id},
                                         'cylance-optics-list-packages': {},
                                         'cylance-optics-download-package': {'package_id': package_id}}, runs)


JOBS: dict[str, Callable[[dict[str, Any]], Any]] = {
    job.__name__: job for job in (bare_download, inflate_only, ours_download, ours_command, single_requests,
                                  bare_quarantine, ours_quarantine, overhead)}

if __name__ == '__main__':
    print(json.dumps(JOBS[sys.argv[1]](json.loads(sys.argv[2]))))
