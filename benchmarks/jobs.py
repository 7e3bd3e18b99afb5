"""One benchmark job per child process: python -m benchmarks.jobs <job> '<json payload>' -> one JSON line."""
import hashlib
import io
import json
import os
import statistics
import sys
import tempfile
import time
import zipfile

import jwt
import requests
import requests_mock

from devtools.emulator import credentials
from devtools.runner import FILE_ENTRY, Session, errors_of

MB = 1024 * 1024


def rss_now():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) * 1024
    return 0


def rss_peak():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) * 1024
    return 0


def reset_peak():
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # resets VmHWM to the current RSS
    except OSError:
        pass


def xdr_params(url):
    key = credentials.XDR_STANDARD
    return {'url': url, 'credentials': {'identifier': key['key_id'], 'password': key['key']},
            'auth_type': 'Standard', 'timeout': '300'}


def auth_headers():
    key = credentials.XDR_STANDARD
    return {'x-xdr-auth-id': key['key_id'], 'Authorization': key['key'], 'Content-Type': 'application/json'}


ENDPOINT = 'bench0000111122223333444455556666'
PATH = 'C:\\evidence\\memory.dmp'


def start_retrieval(url):
    """Start a Retrieve File action and wait until it completed; returns (action id, download url)."""
    session = requests.Session()
    api = url + '/public_api/v1/'
    reply = session.post(api + 'endpoints/file_retrieval', headers=auth_headers(), json={'request_data': {
        'filters': [{'field': 'endpoint_id_list', 'operator': 'in', 'value': [ENDPOINT]}],
        'files': {'windows': [PATH]}}}).json()['reply']
    action_id = reply['action_id']
    for _ in range(20):
        data = session.post(api + 'actions/get_action_status', headers=auth_headers(),
                            json={'request_data': {'group_action_id': action_id}}).json()['reply']['data']
        if data[ENDPOINT] not in {'PENDING', 'IN_PROGRESS'}:
            break
    links = session.post(api + 'actions/file_retrieval_details', headers=auth_headers(),
                         json={'request_data': {'group_action_id': action_id}}).json()['reply']['data']
    return action_id, links[ENDPOINT]


def bare_download(payload):
    _, link = start_retrieval(payload['url'])
    session = requests.Session()
    reset_peak()
    before = rss_now()
    started = time.perf_counter()
    size = 0
    with session.post(link, headers=auth_headers(), stream=True, timeout=300) as res:
        res.raise_for_status()
        with open(os.path.join(payload['workdir'], 'download.zip'), 'wb') as f:
            for chunk in res.iter_content(MB):
                size += len(chunk)
                f.write(chunk)
    seconds = time.perf_counter() - started
    return {'seconds': seconds, 'bytes': size, 'rss_growth': rss_peak() - before}


def ours_download(payload):
    action_id, _ = start_retrieval(payload['url'])
    session = Session(instances={'CortexXDRResponse': xdr_params(payload['url'])}, workdir=payload['workdir'],
                      file_context=False)  # File.* hashing is the server's work, not the integration's
    session.execute('xdr-response-get-distribution-versions')  # warm: imports and first load done before measuring
    reset_peak()
    before = rss_now()
    started = time.perf_counter()
    entries = session.execute('xdr-response-retrieve-file-details', {'action_id': str(action_id),
                                                            'max_total_size_mb': '100000'})
    seconds = time.perf_counter() - started
    errors = errors_of(entries)
    if errors:
        raise SystemExit('\n'.join(errors))
    files = [e for e in entries if e.get('Type') == FILE_ENTRY]
    size = sum(e['FileContext']['Size'] for e in files)
    return {'seconds': seconds, 'bytes': size, 'rss_growth': rss_peak() - before}


def hashes(count):
    return [hashlib.sha256(str(i).encode()).hexdigest() for i in range(count)]


def bare_quarantine(payload):
    session = requests.Session()
    files = [{'endpoint_id': ENDPOINT, 'file_path': 'C:\\x.exe', 'file_hash': h} for h in hashes(payload['files'])]
    batch = 100
    started = time.perf_counter()
    statuses: list[bool] = []
    for start in range(0, len(files), batch):
        reply = session.post(payload['url'] + '/public_api/v1/quarantine/status', headers=auth_headers(),
                             json={'request_data': {'files': files[start:start + batch]}}, timeout=60)
        reply.raise_for_status()
        statuses.extend(item['status'] for item in reply.json()['reply'])
    return {'seconds': time.perf_counter() - started, 'checked': len(statuses), 'batch_size': batch}


def ours_quarantine(payload):
    session = Session(instances={'CortexXDRResponse': xdr_params(payload['url'])}, workdir=payload['workdir'])
    session.execute('xdr-response-get-distribution-versions')  # warm-up outside the measurement
    started = time.perf_counter()
    entries = session.execute('xdr-response-get-quarantine-status', {'endpoint_id': ENDPOINT, 'file_path': 'C:\\x.exe',
                                                            'file_hash': ','.join(hashes(payload['files']))})
    seconds = time.perf_counter() - started
    if errors_of(entries):
        raise SystemExit('\n'.join(errors_of(entries)))
    return {'seconds': seconds, 'checked': payload['files']}


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


def tiny_zip():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w') as archive:
        archive.writestr('C/a.txt', b'hello')
    return buffer.getvalue()


def overhead(payload):
    """CPU ms per command (load code + parse args + one mocked reply + format), median of runs."""
    base = 'https://api-bench.example.com'
    params = {'url': base, 'credentials': {'identifier': '1', 'password': 'bench-key'}, 'auth_type': 'Standard'}
    results = {}
    with requests_mock.Mocker() as mocker, tempfile.TemporaryDirectory() as work:
        for _args, path, reply in TRIVIAL.values():
            mocker.post(base + '/public_api/v1/' + path, json=reply)
        mocker.post(base + '/public_api/v1/actions/file_retrieval_details',
                    json={'reply': {'data': {'e': base + '/public_api/v1/download/abc'}}})
        mocker.post(base + '/public_api/v1/download/abc', content=tiny_zip())
        session = Session(instances={'CortexXDRResponse': params}, workdir=work)
        commands = dict(TRIVIAL, **{'xdr-response-retrieve-file-details': ({'action_id': '1'}, None, None)})
        for command, (args, _, _) in commands.items():
            samples = []
            for _ in range(payload['runs']):
                started = time.process_time()
                entries = session.execute(command, args)
                samples.append((time.process_time() - started) * 1000)
                if errors_of(entries):
                    raise SystemExit(f'{command}: {errors_of(entries)}')
            results[command] = statistics.median(samples)
    results.update(cylance_overhead(payload['runs']))
    return results


def cylance_overhead(runs):
    base = 'https://protectapi-bench.example.com'
    package_id = 'e378dacb-9324-453a-b8c6-5a8406952195'
    package = {'packageId': package_id, 'size': 3, 'status': 'success', 'downloadUrl': 'https://storage.example.com/p',
               'packageDescriptor': {'name': 'p', 'version': '1', 'examples': [],
                                     'packageInfo': {'entryPoint': 'main.py', 'fileName': 'p.zip', 'fileType': 'python'}}}
    params = {'url': base, 'credentials': {'identifier': 'app', 'password': 'bench-secret-0123456789abcdef0123'},
              'tenant_id': 'tenant'}
    token = jwt.encode({'exp': int(time.time()) + 1800}, 'k' * 32, algorithm='HS256')
    results = {}
    with requests_mock.Mocker() as mocker, tempfile.TemporaryDirectory() as work:
        mocker.post(base + '/auth/v2/token', json={'access_token': token})
        mocker.get(base + '/packages/v2/' + package_id, json=package)
        mocker.get(base + '/packages/v2', json={'page_number': 1, 'page_size': 1, 'total_pages': 1,
                                                'total_number_of_items': 1, 'page_items': [package]})
        mocker.get('https://storage.example.com/p', content=b'abc')
        session = Session(instances={'CylanceOpticsPackages': params}, workdir=work)
        for command in ('cylance-optics-get-package', 'cylance-optics-list-packages', 'cylance-optics-download-package'):
            samples = []
            for _ in range(runs):
                started = time.process_time()
                entries = session.execute(command, {'package_id': package_id} if 'list' not in command else {})
                samples.append((time.process_time() - started) * 1000)
                if errors_of(entries):
                    raise SystemExit(f'{command}: {errors_of(entries)}')
            results[command] = statistics.median(samples)
    return results


if __name__ == '__main__':
    job, raw = sys.argv[1], sys.argv[2]
    print(json.dumps(globals()[job](json.loads(raw))))
