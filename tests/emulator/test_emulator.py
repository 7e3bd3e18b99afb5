"""The emulator itself, over real HTTP: auth, body shapes, async state, zips, faults, Cylance, CLI, concurrency."""
import hashlib
import io
import json
import re
import signal
import subprocess
import sys
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
import requests

from devtools.emulator import Emulator, content, credentials
from devtools.paths import ROOT

STD, ADV = credentials.XDR_STANDARD, credentials.XDR_ADVANCED


@pytest.fixture(scope='module')
def emu():
    emulator = Emulator(action_steps=2, distribution_steps=1).start()
    yield emulator
    emulator.stop()


@pytest.fixture(autouse=True)
def clean(emu):
    emu.reset()


def std_headers(key=STD):
    return {'x-xdr-auth-id': key['key_id'], 'Authorization': key['key']}


def adv_headers(nonce=None, timestamp=None):
    nonce = nonce or uuid.uuid4().hex + uuid.uuid4().hex
    timestamp = str(timestamp or int(time.time() * 1000))
    auth = hashlib.sha256((ADV['key'] + nonce + timestamp).encode()).hexdigest()
    return {'x-xdr-auth-id': ADV['key_id'], 'Authorization': auth, 'x-xdr-nonce': nonce,
            'x-xdr-timestamp': timestamp}


def xdr(emu, path, data, headers=None):
    return requests.post(emu.url + '/public_api/v1/' + path, json={'request_data': data},
                         headers=headers or std_headers(), timeout=30)


def test_standard_and_advanced_auth(emu):
    assert xdr(emu, 'distributions/get_versions', {}).status_code == 200
    headers = adv_headers()
    assert xdr(emu, 'distributions/get_versions', {}, headers).status_code == 200
    reused = xdr(emu, 'distributions/get_versions', {}, headers)
    assert reused.status_code == 401 and 'nonce' in reused.json()['err_extra']
    stale = xdr(emu, 'distributions/get_versions', {}, adv_headers(timestamp=int(time.time() * 1000) - 600000))
    assert stale.status_code == 401
    wrong = xdr(emu, 'distributions/get_versions', {}, dict(std_headers(), Authorization='nope'))
    assert wrong.status_code == 401
    assert set(wrong.json()) == {'err_code', 'err_msg', 'err_extra'}
    assert STD['key'] not in wrong.text


def test_license_and_role_keys(emu):
    assert xdr(emu, 'distributions/get_versions', {}, std_headers(credentials.XDR_NO_LICENSE)).status_code == 402
    assert xdr(emu, 'distributions/get_versions', {}, std_headers(credentials.XDR_NO_ROLE)).status_code == 403


def test_invalid_json_is_400_with_json_err_msg(emu):
    res = requests.post(emu.url + '/public_api/v1/distributions/create', data='{bad', headers=std_headers())
    assert res.status_code == 400
    assert 'message' in json.loads(res.json()['err_msg'])


def test_distribution_lifecycle(emu):
    assert xdr(emu, 'distributions/create', {'name': 'x', 'package_type': 'standalone'}).status_code == 400
    distribution_id = xdr(emu, 'distributions/create', {'name': 'x', 'package_type': 'standalone',
                                                        'platform': 'linux'}).json()['reply']['distribution_id']
    assert xdr(emu, 'distributions/get_dist_url', {'distribution_id': distribution_id,
                                                   'package_type': 'sh'}).status_code == 500  # not ready
    statuses = [xdr(emu, 'distributions/get_status', {'distribution_id': distribution_id}).json()['reply']['status']
                for _ in range(2)]
    assert statuses == ['In Progress', 'Completed']
    assert xdr(emu, 'distributions/get_dist_url', {'distribution_id': distribution_id,
                                                   'package_type': 'x64'}).status_code == 400  # wrong platform
    url = xdr(emu, 'distributions/get_dist_url', {'distribution_id': distribution_id,
                                                  'package_type': 'deb'}).json()['reply']['distribution_url']
    assert url.startswith(emu.alt_url)
    assert requests.get(url).content == content.distribution_file_bytes(distribution_id, 'deb')


def test_retrieval_progress_failure_reasons_and_zip(emu):
    paths = ['C:\\a\\b.exe', '/tmp/c.sh']
    reply = xdr(emu, 'endpoints/file_retrieval', {
        'filters': [{'field': 'endpoint_id_list', 'operator': 'in', 'value': ['ok1', 'fail2']}],
        'files': {'windows': [paths[0]], 'linux': [paths[1]]}}).json()['reply']
    assert reply['endpoints_count'] == 2
    action = reply['action_id']
    seen = [xdr(emu, 'actions/get_action_status', {'group_action_id': action}).json()['reply'] for _ in range(3)]
    assert seen[0]['data'] == {'ok1': 'PENDING', 'fail2': 'PENDING'}
    assert seen[1]['data']['ok1'] == 'IN_PROGRESS'
    assert seen[2]['data'] == {'ok1': 'COMPLETED_SUCCESSFULLY', 'fail2': 'FAILED'}
    assert seen[2]['errorReasons']['fail2']['errorDescription']
    links = xdr(emu, 'actions/file_retrieval_details', {'group_action_id': action}).json()['reply']['data']
    assert list(links) == ['ok1']
    res = requests.post(links['ok1'], headers=std_headers())
    assert res.headers['Content-Type'] == 'application/zip'
    with zipfile.ZipFile(io.BytesIO(res.content)) as archive:
        for path in paths:
            assert archive.read(content.zip_entry_name(path)) == content.retrieved_file_bytes('ok1', path)
    assert requests.post(links['ok1']).status_code == 401  # the download needs the key


def test_retrieval_limits(emu):
    too_many_files = {'windows': [f'C:\\f{i}' for i in range(21)]}
    filters = [{'field': 'endpoint_id_list', 'operator': 'in', 'value': ['e']}]
    assert xdr(emu, 'endpoints/file_retrieval', {'filters': filters, 'files': too_many_files}).status_code == 400
    eleven = [{'field': 'endpoint_id_list', 'operator': 'in', 'value': [f'e{i}' for i in range(11)]}]
    assert xdr(emu, 'endpoints/file_retrieval', {'filters': eleven, 'files': {'linux': ['/a']}}).status_code == 400


def test_quarantine(emu):
    good = hashlib.sha256(b'x').hexdigest()
    reply = xdr(emu, 'quarantine/status', {'files': [{'endpoint_id': 'e', 'file_path': '/a', 'file_hash': good}]})
    assert reply.json()['reply'] == [{'endpoint_id': 'e', 'file_path': '/a', 'file_hash': good,
                                      'status': content.is_quarantined(good)}]
    bad = xdr(emu, 'quarantine/status', {'files': [{'endpoint_id': 'e', 'file_path': '/a', 'file_hash': 'abc'}]})
    assert bad.status_code == 400 and 'files[0]' in bad.json()['err_msg']


@pytest.mark.parametrize('kind, params, check', [
    ('status', {'status': 429, 'retry_after': 5}, lambda r: r.status_code == 429 and r.headers['Retry-After'] == '5'),
    ('status', {'status': 500}, lambda r: r.status_code == 500 and r.json()['err_code'] == 500),
    ('non_json', {}, lambda r: r.status_code == 200 and r.headers['Content-Type'] == 'text/html'),
    ('missing_keys', {}, lambda r: r.json() == {}),
])
def test_faults_on_json_endpoints(emu, kind, params, check):
    emu.add_fault('get_versions', kind, count=1, **params)
    assert check(xdr(emu, 'distributions/get_versions', {}))
    assert xdr(emu, 'distributions/get_versions', {}).status_code == 200  # count=1: fired once


def test_latency_and_reset_faults(emu):
    emu.add_fault('get_versions', 'latency', count=1, seconds=0.5)
    started = time.time()
    assert xdr(emu, 'distributions/get_versions', {}).status_code == 200
    assert time.time() - started >= 0.5
    emu.add_fault('get_versions', 'reset', count=1)
    with pytest.raises(requests.exceptions.RequestException):
        xdr(emu, 'distributions/get_versions', {}).json()


def download_link(emu, endpoint='ok1'):
    action = xdr(emu, 'endpoints/file_retrieval', {
        'filters': [{'field': 'endpoint_id_list', 'operator': 'in', 'value': [endpoint]}],
        'files': {'windows': ['C:\\x.bin']}}).json()['reply']['action_id']
    for _ in range(3):
        xdr(emu, 'actions/get_action_status', {'group_action_id': action})
    return xdr(emu, 'actions/file_retrieval_details', {'group_action_id': action}).json()['reply']['data'][endpoint]


@pytest.mark.parametrize('kind, params, check', [
    ('truncated_zip', {}, lambda data: not zipfile.is_zipfile(io.BytesIO(data))),
    ('zip_slip', {}, lambda data: '../../evil.txt' in zipfile.ZipFile(io.BytesIO(data)).namelist()),
    ('zip_bomb', {'uncompressed_mb': 20},
     lambda data: zipfile.ZipFile(io.BytesIO(data)).infolist()[0].file_size == 20 * 1024 * 1024 and len(data) < 10 ** 6),
    ('many_entries', {'entries': 500}, lambda data: len(zipfile.ZipFile(io.BytesIO(data)).infolist()) == 500),
])
def test_zip_faults(emu, kind, params, check):
    link = download_link(emu)
    emu.add_fault('/download/', kind, count=1, **params)
    assert check(requests.post(link, headers=std_headers()).content)


def test_large_file_is_streamed_with_right_hash(emu):
    link = download_link(emu)
    size = 64 * 1024 * 1024
    emu.add_fault('/download/', 'large_file', count=1, size=size)
    digest = hashlib.sha256()
    body = io.BytesIO()
    with requests.post(link, headers=std_headers(), stream=True) as res:
        for chunk in res.iter_content(1024 * 1024):
            body.write(chunk)
    with zipfile.ZipFile(body) as archive:
        with archive.open(content.zip_entry_name('C:\\x.bin')) as entry:
            for chunk in iter(lambda: entry.read(1024 * 1024), b''):
                digest.update(chunk)
    assert digest.hexdigest() == content.retrieved_file_sha256('ok1', 'C:\\x.bin', size)


def cylance_token(emu, app=credentials.CYLANCE_APP, scope='opticspkgconfig:read opticspkgconfig:list', life=1200,
                  secret=None):
    now = int(time.time())
    claims = {'iss': 'http://cylance.com', 'sub': app['app_id'], 'tid': app['tenant_id'], 'jti': str(uuid.uuid4()),
              'iat': now, 'exp': now + life, 'scp': scope}
    auth_token = jwt.encode(claims, secret or app['app_secret'], algorithm='HS256')
    return requests.post(emu.url + '/auth/v2/token', json={'auth_token': auth_token})


def test_cylance_token_rules(emu):
    assert cylance_token(emu).status_code == 200
    assert cylance_token(emu, life=3600).status_code == 400
    assert cylance_token(emu, secret='a-wrong-secret-that-is-long-enough-for-hs256').status_code == 401


def test_cylance_packages(emu):
    token = cylance_token(emu).json()['access_token']
    headers = {'Authorization': 'Bearer ' + token}
    page = requests.get(emu.url + '/packages/v2', params={'page': 2, 'page_size': 10}, headers=headers).json()
    assert page['page_number'] == 2 and len(page['page_items']) == 10 and page['total_number_of_items'] == 25
    package = page['page_items'][0]
    one = requests.get(emu.url + '/packages/v2/' + package['packageId'], headers=headers).json()
    assert set(one) == {'category', 'downloadUrl', 'packageDescriptor', 'packageId', 'playbookCount', 'size',
                        'status', 'timeout', 'uploadedBy', 'uploadedOn'}
    assert one['downloadUrl'].startswith(emu.alt_url)
    assert len(requests.get(one['downloadUrl']).content) == one['size']
    assert requests.get(emu.url + '/packages/v2/' + str(uuid.uuid4()), headers=headers).status_code == 404
    assert requests.get(emu.url + '/packages/v2/not-a-uuid', headers=headers).status_code == 400
    assert requests.get(emu.url + '/packages/v2', headers={'Authorization': 'Bearer x'}).status_code == 401


def test_cylance_missing_scope_is_403(emu):
    token = cylance_token(emu, app=credentials.CYLANCE_READ_ONLY_APP).json()['access_token']
    res = requests.get(emu.url + '/packages/v2', headers={'Authorization': 'Bearer ' + token})
    assert res.status_code == 403 and 'opticspkgconfig:list' in res.json()['message']


def test_concurrent_clients(emu):
    def call(_):
        return xdr(emu, 'distributions/get_versions', {}).status_code
    with ThreadPoolExecutor(32) as pool:
        assert set(pool.map(call, range(64))) == {200}


def test_cli_serve_and_stop():
    proc = subprocess.Popen([sys.executable, '-m', 'devtools.emulator', 'serve', '--port', '0'], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout
        match = re.search(r'EMULATOR_URL=(\S+)', proc.stdout.readline())
        assert match
        url = match.group(1)
        assert requests.post(url + '/public_api/v1/distributions/get_versions', json={'request_data': {}},
                             headers=std_headers()).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
