"""WAN behaviour of the emulator: latency per request, bandwidth per connection, a concurrent-request limit answered
429 + Retry-After, the quarantine per-call cap; selectable through the Python API, `serve` flags and EMULATOR_* env."""
import argparse
import hashlib
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from devtools.emulator import Emulator, credentials
from devtools.emulator.__main__ import add_server_options, emulator_options
from devtools.emulator.process import EmulatorProcess
from devtools.emulator.wan import parse_size

KEY = credentials.XDR_STANDARD
HEADERS = {'x-xdr-auth-id': KEY['key_id'], 'Authorization': KEY['key']}
ENDPOINT = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'
KIB = 1024


def xdr(url, path, data, session=requests):
    return session.post(f'{url}/public_api/v1/{path}', json={'request_data': data}, headers=HEADERS, timeout=30)


def download_link(url, file_size=None):
    """A completed retrieval's download URL (its first file file_size bytes when the emulator streams large files)."""
    action_id = xdr(url, 'endpoints/file_retrieval', {
        'filters': [{'field': 'endpoint_id_list', 'operator': 'in', 'value': [ENDPOINT]}],
        'files': {'windows': ['C:\\a.bin']}}).json()['reply']['action_id']
    xdr(url, 'actions/get_action_status', {'group_action_id': action_id})
    return xdr(url, 'actions/file_retrieval_details', {'group_action_id': action_id}).json()['reply']['data'][ENDPOINT]


def timed(func, *args):
    started = time.monotonic()
    result = func(*args)
    return result, time.monotonic() - started


def test_latency_is_added_to_every_api_request_but_not_to_control_requests():
    """Given 300 ms latency, When API and control requests are made, Then each API reply takes at least 300 ms
    and the control API answers at once."""
    with Emulator(latency_ms=300) as emu:
        reply, seconds = timed(xdr, emu.url, 'distributions/get_versions', {})
        assert reply.status_code == 200 and seconds >= 0.3
        _, control_seconds = timed(lambda: requests.get(emu.url + '/_emulator/status', timeout=30))
        assert control_seconds < 0.3


def test_bandwidth_caps_each_connection_not_the_server():
    """Given 1 MiB/s per connection and a 512 KiB file, When it is downloaded alone and then twice at once,
    Then one download takes about half a second, and two in parallel take about as long (each connection has
    its own cap)."""
    with Emulator(action_steps=1, bandwidth_bytes_per_second=1024 * KIB, large_file_size=512 * KIB) as emu:
        link = download_link(emu.url)
        reply, alone = timed(lambda: requests.post(link, headers=HEADERS, timeout=30))
        assert reply.status_code == 200 and len(reply.content) > 512 * KIB
        assert 0.45 <= alone < 5
        with ThreadPoolExecutor(2) as pool:
            _, both = timed(lambda: list(pool.map(lambda _: requests.post(link, headers=HEADERS, timeout=30), range(2))))
        assert both < alone * 1.8


def test_concurrent_limit_answers_429_with_retry_after():
    """Given a limit of 2 concurrent requests and 400 ms latency, When 6 requests arrive at once, Then 2 are served
    and the others get 429 with the configured Retry-After at once; one after another, all are served."""
    with Emulator(concurrent_request_limit=2, latency_ms=400, retry_after_seconds=7) as emu:
        with ThreadPoolExecutor(6) as pool:
            replies = list(pool.map(lambda _: xdr(emu.url, 'distributions/get_versions', {}), range(6)))
        statuses = sorted(reply.status_code for reply in replies)
        assert statuses == [200, 200, 429, 429, 429, 429]
        refused = [reply for reply in replies if reply.status_code == 429]
        assert all(reply.headers['Retry-After'] == '7' for reply in refused)
        assert all('limit 2' in reply.json()['err_msg'] for reply in refused)
        assert all(xdr(emu.url, 'distributions/get_versions', {}).status_code == 200 for _ in range(3))
        assert requests.get(emu.url + '/_emulator/status').json()['concurrent_peak'] == 2


def test_concurrent_limit_refusals_use_the_cylance_error_shape():
    with Emulator(concurrent_request_limit=1, latency_ms=400) as emu, ThreadPoolExecutor(3) as pool:
        replies = list(pool.map(lambda _: requests.get(emu.url + '/packages/v2', timeout=30), range(3)))
    refused = [reply for reply in replies if reply.status_code == 429]
    assert len(refused) == 2 and all(set(reply.json()) == {'message'} for reply in refused)


def quarantine_files(count):
    return [{'endpoint_id': ENDPOINT, 'file_path': 'C:\\x.exe', 'file_hash': hashlib.sha256(str(i).encode()).hexdigest()}
            for i in range(count)]


def test_quarantine_per_call_cap_is_configurable():
    with Emulator(quarantine_batch_limit=5) as emu:
        assert xdr(emu.url, 'quarantine/status', {'files': quarantine_files(5)}).status_code == 200
        refused = xdr(emu.url, 'quarantine/status', {'files': quarantine_files(6)})
        assert refused.status_code == 400 and 'At most 5 files' in refused.json()['err_msg']


def test_serve_flags_and_environment_select_the_wan_behaviour(monkeypatch):
    """Given EMULATOR_* variables and flags, When the serve options are parsed, Then flags win over the
    environment, the environment over the defaults, and sizes take K/M/G units."""
    monkeypatch.setenv('EMULATOR_LATENCY_MS', '100')
    monkeypatch.setenv('EMULATOR_BANDWIDTH', '2M')
    monkeypatch.setenv('EMULATOR_QUARANTINE_BATCH_LIMIT', '250')
    parser = argparse.ArgumentParser()
    add_server_options(parser)
    options = emulator_options(parser.parse_args(['--concurrent-limit', '4', '--latency-ms', '50']))
    assert options.latency_ms == 50
    assert options.bandwidth_bytes_per_second == 2 * 1024 * 1024
    assert options.concurrent_request_limit == 4
    assert options.quarantine_batch_limit == 250
    assert options.retry_after_seconds == 1
    defaults = emulator_options(parser.parse_args([]))
    assert defaults.concurrent_request_limit is None and defaults.latency_ms == 100


def test_a_serve_process_started_with_wan_flags_applies_them():
    emu = EmulatorProcess.start('--latency-ms', '250', '--quarantine-batch-limit', '3')
    try:
        reply, seconds = timed(xdr, emu.url, 'quarantine/status', {'files': quarantine_files(4)})
        assert reply.status_code == 400 and 'At most 3 files' in reply.json()['err_msg']
        assert seconds >= 0.25
    finally:
        emu.stop()


@pytest.mark.parametrize('text, expected', [('1000', 1000), ('512K', 512 * 1024), ('2MiB', 2 * 1024 ** 2),
                                            ('1.5g', int(1.5 * 1024 ** 3))])
def test_sizes(text, expected):
    assert parse_size(text) == expected


def test_a_bad_size_is_refused():
    with pytest.raises(ValueError, match='not a size'):
        parse_size('fast')
