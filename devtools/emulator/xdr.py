"""The Cortex XDR public API as the emulator serves it: ``POST /public_api/v1/<path>`` with ``{"request_data": ...}``.

Real auth (standard and advanced keys; advanced: fresh 64-character nonce, timestamp within 5 minutes, SHA-256 of
key + nonce + timestamp; 402 and 403 keys), the documented body shapes and limits, and asynchronous state:
distributions and retrieval actions progress by one step per status call. Retrieved files are deterministic
(content.py) and zipped per endpoint; downloads are links under ``/public_api/v1/download/``.
"""
import hashlib
import json
import re
import time
import zipfile
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from . import content, credentials
from .core import Handler, Reply, Vendor, api_error
from .zips import MIB, make_zip, sized_zip, stream_zip, zip_bomb

API_PREFIX = '/public_api/v1/'
DOWNLOAD_PREFIX = 'download/'
VERSIONS = {'windows': ['8.5.0.12867', '8.4.1.12511', '8.4.0.12345'], 'linux': ['8.5.0.12868', '8.4.0.12344'],
            'macos': ['8.5.0.12869', '8.4.0.12343']}
DIST_TYPES = {'x86': 'windows', 'x64': 'windows', 'sh': 'linux', 'rpm': 'linux', 'deb': 'linux', 'pkg': 'macos'}
SHA256_RE = re.compile(r'^[A-Fa-f0-9]{64}$')
NONCE_RE = re.compile(r'^[A-Za-z0-9]{64}$')
MAX_TIMESTAMP_SKEW_MS = 5 * 60 * 1000
MAX_RETRIEVE_FILES = 20
MAX_RETRIEVE_ENDPOINTS = 10
FIRST_ACTION_ID = 1000
UNAUTHORIZED = 'Public API request unauthorized'
SIZED_FORMATS = {'stored': zipfile.ZIP_STORED, 'deflated': zipfile.ZIP_DEFLATED}

XdrRoute = Callable[['XdrApi', Handler, dict[str, Any]], Any]


def xdr_error(status: int, message: str, extra: Any = None) -> Reply:
    return api_error(status, message, extra)


def json_error(message: str) -> Reply:
    """A 400 whose err_msg is itself JSON, as the API answers malformed requests."""
    return xdr_error(HTTPStatus.BAD_REQUEST, json.dumps({'line': 1, 'column': 1, 'message': message}))


class XdrApi(Vendor):
    """Cortex XDR public API endpoints, their state and their downloads."""

    def __init__(self, emulator: Any):
        super().__init__(emulator)
        self.options = emulator.options
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.nonces: set[str] = set()
            self.distributions: dict[str, dict[str, Any]] = {}
            self.actions: dict[int, dict[str, Any]] = {}
            self.downloads: dict[str, tuple[dict[str, Any], str]] = {}
            self.next_action = FIRST_ACTION_ID

    def owns(self, path: str) -> bool:
        return path.startswith(API_PREFIX)

    # ------------------------------------------------------------ request handling and auth

    def handle(self, http: Handler, method: str, path: str, query: dict[str, list[str]], body: bytes,
               fault: dict[str, Any] | None) -> None:
        endpoint = path[len(API_PREFIX):]
        if endpoint.startswith(DOWNLOAD_PREFIX):
            self.authenticate(http)
            self.download(http, endpoint[len(DOWNLOAD_PREFIX):], fault)
            return
        if method != 'POST':
            raise xdr_error(HTTPStatus.METHOD_NOT_ALLOWED, 'Use POST')
        try:
            payload = json.loads(body or b'')
        except ValueError as error:
            raise json_error(f'invalid JSON: {error}') from None
        self.authenticate(http)
        if not isinstance(payload, dict) or not isinstance(payload.get('request_data'), dict):
            raise json_error('request_data is required')
        route = ROUTES.get(endpoint)
        if route is None:
            raise xdr_error(HTTPStatus.NOT_FOUND, f'Unknown API {endpoint}')
        reply = route(self, http, payload['request_data'])
        http.send(HTTPStatus.OK, json.dumps({'reply': reply}).encode(), reset=bool(fault and fault['kind'] == 'reset'))

    def authenticate(self, http: Handler) -> None:
        key_id = http.headers.get('x-xdr-auth-id')
        given = http.headers.get('Authorization')
        known = credentials.XDR_KEYS.get(str(key_id))
        if not key_id or not given or not known:
            raise xdr_error(HTTPStatus.UNAUTHORIZED, UNAUTHORIZED)
        key, mode, problem = known
        if mode == 'advanced':
            self.check_advanced(http, key, given)
        elif given != key:
            raise xdr_error(HTTPStatus.UNAUTHORIZED, UNAUTHORIZED)
        if problem == HTTPStatus.PAYMENT_REQUIRED:
            raise xdr_error(problem, 'User does not have the required license type to run this API')
        if problem == HTTPStatus.FORBIDDEN:
            raise xdr_error(problem, 'API key does not have the required RBAC permissions to run this API')

    def check_advanced(self, http: Handler, key: str, given: str) -> None:
        nonce, timestamp = http.headers.get('x-xdr-nonce', ''), http.headers.get('x-xdr-timestamp', '')
        if not NONCE_RE.match(nonce) or not timestamp.isdigit():
            raise xdr_error(HTTPStatus.UNAUTHORIZED, UNAUTHORIZED, 'advanced key: nonce or timestamp missing')
        if abs(time.time() * 1000 - int(timestamp)) > MAX_TIMESTAMP_SKEW_MS:
            raise xdr_error(HTTPStatus.UNAUTHORIZED, UNAUTHORIZED, 'timestamp is too old')
        if given != hashlib.sha256((key + nonce + timestamp).encode()).hexdigest():
            raise xdr_error(HTTPStatus.UNAUTHORIZED, UNAUTHORIZED)
        with self.lock:
            if nonce in self.nonces:
                raise xdr_error(HTTPStatus.UNAUTHORIZED, UNAUTHORIZED, 'nonce was already used')
            self.nonces.add(nonce)

    # ------------------------------------------------------------ distributions

    def create_distribution(self, http: Handler, data: dict[str, Any]) -> dict[str, Any]:
        name, package_type, platform = data.get('name'), data.get('package_type'), data.get('platform')
        if not name:
            raise xdr_error(HTTPStatus.BAD_REQUEST, 'name is required')
        if package_type not in ('standalone', 'upgrade'):
            raise xdr_error(HTTPStatus.BAD_REQUEST, 'package_type must be standalone or upgrade')
        if package_type == 'standalone' and platform not in ('windows', 'linux', 'macos', 'android'):
            raise xdr_error(HTTPStatus.BAD_REQUEST,
                            'platform is required for standalone packages: windows, linux, macos or android')
        if package_type == 'upgrade' and not (data.get('agent_version') or any(
                data.get(k) for k in ('windows_version', 'linux_version', 'macos_version'))):
            raise xdr_error(HTTPStatus.BAD_REQUEST, 'upgrade packages need agent_version (windows_version, '
                                                    'linux_version or macos_version)')
        with self.lock:
            # deterministic per run (name and creation order), so examples and tests can name it
            distribution_id = hashlib.md5(f'{name}|{len(self.distributions)}'.encode()).hexdigest()
            self.distributions[distribution_id] = {'name': name, 'platform': platform, 'package_type': package_type,
                                                   'polls': 0}
        return {'distribution_id': distribution_id}

    def distribution(self, data: dict[str, Any]) -> dict[str, Any]:
        distribution = self.distributions.get(str(data.get('distribution_id')))
        if distribution is None:
            raise xdr_error(HTTPStatus.BAD_REQUEST, 'Invalid distribution_id')
        return distribution

    def distribution_status(self, distribution: dict[str, Any]) -> str:
        if distribution['polls'] < self.options.distribution_steps:
            return 'In Progress'
        return 'Failed' if 'fail' in distribution['name'].lower() else 'Completed'

    def get_distribution_status(self, http: Handler, data: dict[str, Any]) -> dict[str, Any]:
        distribution = self.distribution(data)
        with self.lock:
            status = self.distribution_status(distribution)
            distribution['polls'] += 1
        return {'status': status}

    def get_dist_url(self, http: Handler, data: dict[str, Any]) -> dict[str, Any]:
        distribution = self.distribution(data)
        package_type = data.get('package_type')
        if distribution['package_type'] == 'upgrade':
            allowed = ['upgrade']
        else:
            allowed = [t for t, p in DIST_TYPES.items() if p == distribution['platform']] or ['x64']
        if package_type not in allowed:
            raise xdr_error(HTTPStatus.BAD_REQUEST, 'package_type {} does not match this package; allowed: {}'.format(
                package_type, ', '.join(allowed)))
        if self.distribution_status(distribution) != 'Completed':
            raise xdr_error(HTTPStatus.INTERNAL_SERVER_ERROR, 'distribution is not ready')
        return {'distribution_url': '{}/_storage/distributions/{}/{}?sig={}'.format(
            self.emulator.alt_url, data['distribution_id'], package_type,
            hashlib.md5((data['distribution_id'] + package_type).encode()).hexdigest())}

    def get_versions(self, http: Handler, data: dict[str, Any]) -> dict[str, Any]:
        return dict(VERSIONS)

    def storage(self, kind: str, item: str, name: str) -> tuple[bytes, str] | None:
        if kind == 'distributions' and item in self.distributions:
            return content.distribution_file_bytes(item, name), 'application/octet-stream'
        return None

    # ------------------------------------------------------------ file retrieval and actions

    def file_retrieval(self, http: Handler, data: dict[str, Any]) -> dict[str, Any]:
        filters, files = data.get('filters'), data.get('files')
        try:
            endpoint_filter = [f for f in filters if f.get('field') == 'endpoint_id_list'  # type: ignore[union-attr]
                               and f.get('operator') == 'in'][0]
            endpoints = [str(e) for e in endpoint_filter['value']]
        except (TypeError, IndexError, KeyError, AttributeError):
            raise xdr_error(HTTPStatus.BAD_REQUEST,
                            'filters must hold {"field": "endpoint_id_list", "operator": "in", "value": [...]}') from None
        if not isinstance(files, dict) or not any(isinstance(v, list) and v for v in files.values()):
            raise xdr_error(HTTPStatus.BAD_REQUEST, 'files must hold windows, linux or macos path lists')
        paths = [p for key in ('windows', 'linux', 'macos') for p in (files.get(key) or [])]
        if len(paths) > MAX_RETRIEVE_FILES:
            raise xdr_error(HTTPStatus.BAD_REQUEST, 'A maximum of 20 files can be retrieved in one request')
        if not endpoints or len(endpoints) > MAX_RETRIEVE_ENDPOINTS:
            raise xdr_error(HTTPStatus.BAD_REQUEST, 'Between 1 and 10 endpoints can be given in one request')
        with self.lock:
            self.next_action += 1
            action_id = self.next_action
            self.actions[action_id] = {'id': action_id, 'endpoints': endpoints, 'paths': list(dict.fromkeys(paths)),
                                       'polls': 0, 'links': {}}
        return {'action_id': action_id, 'endpoints_count': len(endpoints)}

    def action(self, data: dict[str, Any]) -> dict[str, Any]:
        try:
            action = self.actions.get(int(str(data.get('group_action_id'))))
        except ValueError:
            action = None
        if action is None:
            raise xdr_error(HTTPStatus.BAD_REQUEST, 'Invalid group_action_id')
        return action

    def endpoint_status(self, action: dict[str, Any], endpoint_id: str) -> str:
        if action['polls'] == 0:
            return 'PENDING'
        if action['polls'] < self.options.action_steps:
            return 'IN_PROGRESS'
        if any(endpoint_id.startswith(prefix) for prefix in self.options.failing_endpoints):
            return 'FAILED'
        return 'COMPLETED_SUCCESSFULLY'

    def get_action_status(self, http: Handler, data: dict[str, Any]) -> dict[str, Any]:
        action = self.action(data)
        with self.lock:
            statuses = {e: self.endpoint_status(action, e) for e in action['endpoints']}
            action['polls'] += 1
        reply: dict[str, Any] = {'data': statuses}
        failed = [e for e, s in statuses.items() if s == 'FAILED']
        if failed:
            reply['errorReasons'] = {e: {
                'bucket': None, 'file_name': None, 'file_path': None, 'file_size': None, 'missing_files': [],
                'errorData': '{"reportIds": []}', 'terminated_by': None,
                'errorDescription': 'The endpoint is disconnected and the action expired',
                'terminate_result': None} for e in failed}
        return reply

    def file_retrieval_details(self, http: Handler, data: dict[str, Any]) -> dict[str, Any]:
        action = self.action(data)
        links = {}
        with self.lock:
            for endpoint_id in action['endpoints']:
                if self.endpoint_status(action, endpoint_id) != 'COMPLETED_SUCCESSFULLY':
                    continue
                api_value = action['links'].get(endpoint_id)
                if api_value is None:
                    api_value = hashlib.sha256('{}|{}'.format(action['id'], endpoint_id).encode()).hexdigest()
                    action['links'][endpoint_id] = api_value
                    self.downloads[api_value] = (action, endpoint_id)
                links[endpoint_id] = f'{http.base_url()}{API_PREFIX}{DOWNLOAD_PREFIX}{api_value}'
        return {'data': links}

    def download(self, http: Handler, api_value: str, fault: dict[str, Any] | None) -> None:
        found = self.downloads.get(api_value)
        if found is None:
            raise xdr_error(HTTPStatus.NOT_FOUND, 'Unknown download')
        action, endpoint_id = found
        fault = fault or {}
        kind = fault.get('kind')
        reset = kind == 'reset'
        large = int(fault.get('size', 0)) if kind == 'large_file' else self.options.large_file_size
        if kind == 'zip_slip':
            http.send(HTTPStatus.OK, make_zip({'../../evil.txt': b'owned', '/etc/evil.txt': b'owned', 'ok.txt': b'fine'}),
                      'application/zip')
        elif kind == 'many_entries':
            count = int(fault.get('entries', 20000))
            http.send(HTTPStatus.OK, make_zip({f'f{i:05d}.txt': b'x' for i in range(count)}), 'application/zip')
        elif kind == 'zip_bomb':
            http.send_stream(HTTPStatus.OK, zip_bomb(int(fault.get('uncompressed_mb', 300))))
        elif large and self.options.large_file_format in SIZED_FORMATS:
            length, body = sized_zip(content.zip_entry_name(action['paths'][0]), -(-large // MIB),
                                     SIZED_FORMATS[self.options.large_file_format])
            http.send_stream(HTTPStatus.OK, body, length=length, reset=reset)
        elif large:
            http.send_stream(HTTPStatus.OK, stream_zip(endpoint_id, action['paths'], large), reset=reset)
        else:
            data = make_zip({content.zip_entry_name(p): content.retrieved_file_bytes(endpoint_id, p)
                             for p in action['paths']})
            if kind == 'truncated_zip':
                data = data[:len(data) // 2]
            http.send(HTTPStatus.OK, data, 'application/zip', reset=reset)

    # ------------------------------------------------------------ quarantine

    def quarantine_status(self, http: Handler, data: dict[str, Any]) -> list[dict[str, Any]]:
        files = data.get('files')
        if not isinstance(files, list) or not files:
            raise xdr_error(HTTPStatus.BAD_REQUEST, 'files must be a non-empty list')
        limit = self.options.quarantine_batch_limit
        if len(files) > limit:
            raise xdr_error(HTTPStatus.BAD_REQUEST, f'At most {limit} files per request')
        reply = []
        for index, item in enumerate(files):
            if not isinstance(item, dict) or not SHA256_RE.match(str(item.get('file_hash', ''))):
                raise xdr_error(HTTPStatus.BAD_REQUEST, f'files[{index}].file_hash must be a valid SHA256')
            if not item.get('endpoint_id') or not item.get('file_path'):
                raise xdr_error(HTTPStatus.BAD_REQUEST, f'files[{index}] needs endpoint_id and file_path')
            reply.append({'endpoint_id': item['endpoint_id'], 'file_path': item['file_path'],
                          'file_hash': item['file_hash'], 'status': content.is_quarantined(item['file_hash'])})
        return reply


ROUTES: dict[str, XdrRoute] = {
    'distributions/create': XdrApi.create_distribution,
    'distributions/get_status': XdrApi.get_distribution_status,
    'distributions/get_dist_url': XdrApi.get_dist_url,
    'distributions/get_versions': XdrApi.get_versions,
    'endpoints/file_retrieval': XdrApi.file_retrieval,
    'actions/get_action_status': XdrApi.get_action_status,
    'actions/file_retrieval_details': XdrApi.file_retrieval_details,
    'quarantine/status': XdrApi.quarantine_status,
}
