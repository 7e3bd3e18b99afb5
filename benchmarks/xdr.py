"""Direct Cortex XDR calls to the emulator, for the benchmarks' set-up and bare baselines (never measured as ours)."""
import hashlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from devtools.emulator import credentials

PATH = 'C:\\evidence\\memory.dmp'
SETUP_THREADS = 16  # set-up calls run in parallel so a 100 ms latency does not slow the preparation down


def auth_headers() -> dict[str, str]:
    key = credentials.XDR_STANDARD
    return {'x-xdr-auth-id': key['key_id'], 'Authorization': key['key'], 'Content-Type': 'application/json'}


def endpoint_id(index: int) -> str:
    return f'bench{index:027d}'


def call(url: str, path: str, data: dict[str, Any]) -> Any:
    reply = requests.post(f'{url}/public_api/v1/{path}', json={'request_data': data}, headers=auth_headers(),
                          timeout=120)
    reply.raise_for_status()
    return reply.json()['reply']


def start_retrieval(url: str, endpoints: list[str]) -> str:
    """A Retrieve File action of PATH on the endpoints (at most 10), with its status asked until it is final."""
    action_id = call(url, 'endpoints/file_retrieval', {
        'filters': [{'field': 'endpoint_id_list', 'operator': 'in', 'value': endpoints}],
        'files': {'windows': [PATH]}})['action_id']
    while any(status in ('PENDING', 'IN_PROGRESS')
              for status in call(url, 'actions/get_action_status', {'group_action_id': action_id})['data'].values()):
        pass
    return str(action_id)


def completed_actions(url: str, endpoints: int, per_action: int = 10) -> list[str]:
    """Completed Retrieve File actions covering `endpoints` endpoints, per_action each."""
    groups = [[endpoint_id(i) for i in range(start, min(start + per_action, endpoints))]
              for start in range(0, endpoints, per_action)]
    with ThreadPoolExecutor(SETUP_THREADS) as pool:
        return list(pool.map(lambda group: start_retrieval(url, group), groups))


def download_link(url: str, action_id: str) -> str:
    links = call(url, 'actions/file_retrieval_details', {'group_action_id': action_id})['data']
    return next(iter(links.values()))


def distributions(url: str, count: int) -> list[str]:
    def create(index: int) -> str:
        return call(url, 'distributions/create', {'name': f'bench-{index}', 'platform': 'linux',
                                                  'package_type': 'standalone'})['distribution_id']
    with ThreadPoolExecutor(SETUP_THREADS) as pool:
        return list(pool.map(create, range(count)))


def quarantine_rows(count: int) -> list[dict[str, str]]:
    return [{'endpoint_id': endpoint_id(0), 'file_path': 'C:\\x.exe',
             'file_hash': hashlib.sha256(str(i).encode()).hexdigest()} for i in range(count)]
