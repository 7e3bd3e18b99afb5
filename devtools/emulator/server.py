"""One HTTP server emulating the Cortex XDR public API endpoints and the Cylance Optics packages API.

Behaviour follows the API pages (shared seeds) and the documented contract: real auth (standard and
advanced XDR keys, nonce reuse and stale timestamps rejected, 402/403 keys; Cylance JWT exchange with
scopes), the documented body shapes, asynchronous state (distributions and retrieval actions progress
per status call), deterministic retrieved files zipped per endpoint, and fault injection per run or per
request (see README.md). Everything is generated in memory or streamed; nothing is written to disk.
"""
import hashlib
import io
import json
import re
import socket
import struct
import threading
import time
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import jwt

from . import content, credentials

MAX_BODY = 16 * 1024 * 1024
MAX_LOG = 20000
SERVER_TOKEN_SECRET = 'emulator-token-signing-secret-0f4e8b2a'
VERSIONS = {'windows': ['8.5.0.12867', '8.4.1.12511', '8.4.0.12345'], 'linux': ['8.5.0.12868', '8.4.0.12344'],
            'macos': ['8.5.0.12869', '8.4.0.12343']}
DIST_TYPES = {'x86': 'windows', 'x64': 'windows', 'sh': 'linux', 'rpm': 'linux', 'deb': 'linux', 'pkg': 'macos'}
SHA256_RE = re.compile(r'^[A-Fa-f0-9]{64}$')
NONCE_RE = re.compile(r'^[A-Za-z0-9]{64}$')
PACKAGE_STATUSES = ('success', 'success', 'started', 'failed', 'timeout')


class Reply(Exception):
    """Short-circuit a request with a status and a JSON body."""

    def __init__(self, status, body, headers=None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def xdr_error(status, message, extra=None):
    return Reply(status, {'err_code': status, 'err_msg': message, 'err_extra': extra})


def build_packages(count=25):
    packages = {}
    for i in range(count):
        pid = content.package_id(i)
        name = ['Collect-Autoruns', 'Dump-Prefetch', 'Hunt-Persistence', 'Scan-Yara', 'Grab-EventLogs'][i % 5]
        version = f'1.{i % 4}.{i}'
        file_name = f'{name.lower()}-{version}.zip'
        packages[pid] = {
            'category': 'cylance' if i % 3 == 0 else 'custom',
            'downloadUrl': None,  # filled per request with the storage host
            'packageDescriptor': {
                'description': '{} for incident responders (package {}).'.format(name.replace('-', ' '), i),
                'examples': [{'description': 'Run with defaults', 'invocationString': f'{name} --all'},
                             {'description': 'Write results to a share',
                              'invocationString': f'{name} --out \\\\ir-share\\results'}],
                'name': name, 'packageId': pid, 'version': version,
                'packageInfo': {'entryPoint': 'main.py', 'fileName': file_name, 'fileType': 'python'}},
            'packageId': pid, 'playbookCount': i % 4,
            'size': len(content.package_file_bytes(pid)),
            'status': PACKAGE_STATUSES[i % len(PACKAGE_STATUSES)], 'timeout': 300,
            'uploadedBy': {'id': str(uuid.uuid5(content.PACKAGE_NAMESPACE, f'user-{i % 3}')),
                           'login': ['ir.lead@example.com', 'analyst@example.com', 'soc@example.com'][i % 3]},
            'uploadedOn': f'2026-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:15:00Z',
        }
    return packages


class State:
    def __init__(self, emulator):
        self.emulator = emulator
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.nonces = set()
            self.distributions = {}
            self.actions = {}
            self.downloads = {}
            self.next_action = 1000
            self.faults = [dict(rule) for rule in self.emulator.initial_faults]
            self.log = []

    def take_fault(self, path):
        with self.lock:
            for rule in self.faults:
                if rule.get('path', '*') in ('*', '') or rule['path'] in path:
                    if rule.get('count') is not None:
                        if rule['count'] <= 0:
                            continue
                        rule['count'] -= 1
                    return dict(rule)
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'EndpointResponseEmulator/1.0'
    disable_nagle_algorithm = True  # headers and body leave at once: no delayed-ACK stalls on keep-alive
    wbufsize = 256 * 1024

    # ------------------------------------------------------------ plumbing

    def log_message(self, fmt, *args):
        if self.server.emulator.verbose:
            BaseHTTPRequestHandler.log_message(self, fmt, *args)

    @property
    def emu(self):
        return self.server.emulator

    def do_GET(self):
        self.dispatch('GET')

    def do_POST(self):
        self.dispatch('POST')

    def do_DELETE(self):
        self.dispatch('DELETE')

    def base_url(self):
        return '{}://{}'.format(self.emu.scheme, self.headers.get('Host') or f'127.0.0.1:{self.emu.port}')

    def read_body(self):
        length = int(self.headers.get('Content-Length') or 0)
        if length > MAX_BODY:
            raise Reply(413, {'err_code': 413, 'err_msg': 'request body too large', 'err_extra': None})
        return self.rfile.read(length) if length else b''

    def send(self, status, body=b'', content_type='application/json', headers=None, reset=False):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, str(value))
        self.end_headers()
        if reset:
            self.wfile.write(body[:max(1, len(body) // 2)])
            self.abort()
            return
        self.wfile.write(body)
        self._status = status

    def abort(self):
        """Close the connection abruptly (RST), part-way through a body."""
        try:
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True
        self._status = 'reset'

    def send_stream(self, status, chunks, content_type='application/zip', length=None, reset=False):
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        if length is not None:
            self.send_header('Content-Length', str(length))
        else:
            self.send_header('Transfer-Encoding', 'chunked')
        self.end_headers()
        sent = 0
        for chunk in chunks:
            if not chunk:
                continue
            if reset and sent > 0:
                self.abort()
                return
            if length is None:
                self.wfile.write(b'%x\r\n%s\r\n' % (len(chunk), chunk))
            else:
                self.wfile.write(chunk)
            sent += len(chunk)
        if reset:
            self.abort()
            return
        if length is None:
            self.wfile.write(b'0\r\n\r\n')
        self._status = status

    def dispatch(self, method):
        parsed = urlparse(self.path)
        path, query = parsed.path, parse_qs(parsed.query)
        self._status = None
        acquired = self.emu.slots.acquire(blocking=False)
        try:
            if not acquired:
                raise Reply(503, {'err_code': 503, 'err_msg': 'emulator busy', 'err_extra': None}, {'Retry-After': 1})
            body = self.read_body()
            if path.startswith('/_emulator/'):
                return self.control(method, path, body)
            fault = self.emu.state.take_fault(path)
            if fault and fault['kind'] == 'latency':
                time.sleep(float(fault.get('seconds', 1)))
                fault = None
            if fault:
                self.apply_fault(fault, path)
                if self._status is not None:
                    return
            if path.startswith('/_storage/'):
                return self.storage(method, path, fault)
            if path.startswith('/public_api/v1/'):
                return self.xdr(method, path[len('/public_api/v1/'):], body, fault)
            if path == '/auth/v2/token' or path.startswith('/packages/v2'):
                return self.cylance(method, path, query, body, fault)
            raise xdr_error(404, f'Unknown path {path}')
        except Reply as reply:
            self.send(reply.status, reply.body, headers=reply.headers)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            if acquired:
                self.emu.slots.release()
            self.record(method, parsed)

    def record(self, method, parsed):
        if parsed.path.startswith('/_emulator/'):
            return
        entry = {'method': method, 'path': parsed.path, 'query': parsed.query, 'status': self._status,
                 'host': self.headers.get('Host'), 'had_authorization': 'Authorization' in self.headers,
                 'ts': time.time()}
        with self.emu.state.lock:
            self.emu.state.log.append(entry)
            del self.emu.state.log[:-MAX_LOG]

    # ------------------------------------------------------------ control API and faults

    def control(self, method, path, body):
        state = self.emu.state
        if path == '/_emulator/faults' and method == 'POST':
            rules = json.loads(body or b'[]')
            with state.lock:
                state.faults.extend(rules if isinstance(rules, list) else [rules])
            return self.send(200, {'faults': len(state.faults)})
        if path == '/_emulator/faults' and method == 'DELETE':
            with state.lock:
                state.faults = []
            return self.send(200, {'faults': 0})
        if path == '/_emulator/log' and method == 'GET':
            with state.lock:
                return self.send(200, list(state.log))
        if path == '/_emulator/reset' and method == 'POST':
            state.reset()
            return self.send(200, {'reset': True})
        raise Reply(404, {'message': 'unknown control path'})

    def apply_fault(self, fault, path):
        kind = fault['kind']
        cylance = path.startswith('/packages') or path.startswith('/auth')
        if kind == 'status':
            status = int(fault.get('status', 500))
            body = fault.get('body')
            if body is None:
                body = {'message': f'Injected error {status}'} if cylance else {
                    'err_code': status, 'err_msg': f'Injected error {status}', 'err_extra': None}
            headers = {'Retry-After': fault['retry_after']} if fault.get('retry_after') is not None else {}
            self.send(status, body, headers=headers)
        elif kind == 'non_json':
            self.send(200, '<html><body>Service temporarily unavailable</body></html>', content_type='text/html')
        elif kind == 'missing_keys':
            self.send(200, fault.get('body', {'unexpected': True} if cylance else {}))
        # reset and the zip kinds are applied by the handler that produces the body

    # ------------------------------------------------------------ XDR

    def xdr_auth(self):
        key_id = self.headers.get('x-xdr-auth-id')
        given = self.headers.get('Authorization')
        known = credentials.XDR_KEYS.get(str(key_id))
        if not key_id or not given or not known:
            raise xdr_error(401, 'Public API request unauthorized')
        key, mode, problem = known
        if mode == 'advanced':
            nonce, timestamp = self.headers.get('x-xdr-nonce', ''), self.headers.get('x-xdr-timestamp', '')
            if not NONCE_RE.match(nonce) or not timestamp.isdigit():
                raise xdr_error(401, 'Public API request unauthorized', 'advanced key: nonce or timestamp missing')
            if abs(time.time() * 1000 - int(timestamp)) > 5 * 60 * 1000:
                raise xdr_error(401, 'Public API request unauthorized', 'timestamp is too old')
            expected = hashlib.sha256((key + nonce + timestamp).encode()).hexdigest()
            if given != expected:
                raise xdr_error(401, 'Public API request unauthorized')
            with self.emu.state.lock:
                if nonce in self.emu.state.nonces:
                    raise xdr_error(401, 'Public API request unauthorized', 'nonce was already used')
                self.emu.state.nonces.add(nonce)
        elif given != key:
            raise xdr_error(401, 'Public API request unauthorized')
        if problem == 402:
            raise xdr_error(402, 'User does not have the required license type to run this API')
        if problem == 403:
            raise xdr_error(403, 'API key does not have the required RBAC permissions to run this API')

    def xdr(self, method, endpoint, body, fault):
        if endpoint.startswith('download/'):
            self.xdr_auth()
            return self.xdr_download(endpoint[len('download/'):], fault)
        if method != 'POST':
            raise xdr_error(405, 'Use POST')
        try:
            payload = json.loads(body or b'')
        except ValueError as error:
            raise xdr_error(400, json.dumps({'line': 1, 'column': 1, 'message': f'invalid JSON: {error}'}))
        self.xdr_auth()
        if not isinstance(payload, dict) or not isinstance(payload.get('request_data'), dict):
            raise xdr_error(400, json.dumps({'line': 1, 'column': 1, 'message': 'request_data is required'}))
        handler = XDR_ROUTES.get(endpoint)
        if handler is None:
            raise xdr_error(404, f'Unknown API {endpoint}')
        reply = handler(self, payload['request_data'])
        self.send(200, json.dumps({'reply': reply}).encode(), reset=bool(fault and fault['kind'] == 'reset'))

    def create_distribution(self, data):
        name, package_type, platform = data.get('name'), data.get('package_type'), data.get('platform')
        if not name:
            raise xdr_error(400, 'name is required')
        if package_type not in ('standalone', 'upgrade'):
            raise xdr_error(400, 'package_type must be standalone or upgrade')
        if package_type == 'standalone' and platform not in ('windows', 'linux', 'macos', 'android'):
            raise xdr_error(400, 'platform is required for standalone packages: windows, linux, macos or android')
        if package_type == 'upgrade' and not (data.get('agent_version') or any(
                data.get(k) for k in ('windows_version', 'linux_version', 'macos_version'))):
            raise xdr_error(400, 'upgrade packages need agent_version (windows_version, linux_version or '
                                 'macos_version)')
        with self.emu.state.lock:
            # deterministic per run (name and creation order), so examples and tests can name it
            distribution_id = hashlib.md5(f'{name}|{len(self.emu.state.distributions)}'.encode()).hexdigest()
            self.emu.state.distributions[distribution_id] = {'name': name, 'platform': platform,
                                                             'package_type': package_type, 'polls': 0}
        return {'distribution_id': distribution_id}

    def distribution(self, data):
        distribution = self.emu.state.distributions.get(str(data.get('distribution_id')))
        if distribution is None:
            raise xdr_error(400, 'Invalid distribution_id')
        return distribution

    def distribution_status(self, distribution):
        if distribution['polls'] < self.emu.distribution_steps:
            return 'In Progress'
        return 'Failed' if 'fail' in distribution['name'].lower() else 'Completed'

    def get_distribution_status(self, data):
        distribution = self.distribution(data)
        with self.emu.state.lock:
            status = self.distribution_status(distribution)
            distribution['polls'] += 1
        return {'status': status}

    def get_dist_url(self, data):
        distribution = self.distribution(data)
        package_type = data.get('package_type')
        if distribution['package_type'] == 'upgrade':
            allowed = ['upgrade']
        else:
            allowed = [t for t, p in DIST_TYPES.items() if p == distribution['platform']] or ['x64']
        if package_type not in allowed:
            raise xdr_error(400, 'package_type {} does not match this package; allowed: {}'.format(
                package_type, ', '.join(allowed)))
        if self.distribution_status(distribution) != 'Completed':
            raise xdr_error(500, 'distribution is not ready')
        return {'distribution_url': '{}/_storage/distributions/{}/{}?sig={}'.format(
            self.emu.alt_url, data['distribution_id'], package_type,
            hashlib.md5((data['distribution_id'] + package_type).encode()).hexdigest())}

    def get_versions(self, data):
        return dict(VERSIONS)

    def file_retrieval(self, data):
        filters, files = data.get('filters'), data.get('files')
        try:
            endpoints = [f for f in filters if f.get('field') == 'endpoint_id_list' and f.get('operator') == 'in'][0]
            endpoints = [str(e) for e in endpoints['value']]
        except (TypeError, IndexError, KeyError, AttributeError):
            raise xdr_error(400, 'filters must hold {"field": "endpoint_id_list", "operator": "in", "value": [...]}')
        if not isinstance(files, dict) or not any(isinstance(v, list) and v for v in files.values()):
            raise xdr_error(400, 'files must hold windows, linux or macos path lists')
        paths = [p for key in ('windows', 'linux', 'macos') for p in (files.get(key) or [])]
        if len(paths) > 20:
            raise xdr_error(400, 'A maximum of 20 files can be retrieved in one request')
        if not endpoints or len(endpoints) > 10:
            raise xdr_error(400, 'Between 1 and 10 endpoints can be given in one request')
        with self.emu.state.lock:
            self.emu.state.next_action += 1
            action_id = self.emu.state.next_action
            self.emu.state.actions[action_id] = {'id': action_id, 'endpoints': endpoints, 'paths': list(dict.fromkeys(paths)),
                                                 'polls': 0, 'links': {}}
        return {'action_id': action_id, 'endpoints_count': len(endpoints)}

    def action(self, data):
        try:
            action = self.emu.state.actions.get(int(str(data.get('group_action_id'))))
        except ValueError:
            action = None
        if action is None:
            raise xdr_error(400, 'Invalid group_action_id')
        return action

    def endpoint_status(self, action, endpoint_id):
        if action['polls'] == 0:
            return 'PENDING'
        if action['polls'] < self.emu.action_steps:
            return 'IN_PROGRESS'
        if any(endpoint_id.startswith(prefix) for prefix in self.emu.failing_endpoints):
            return 'FAILED'
        return 'COMPLETED_SUCCESSFULLY'

    def get_action_status(self, data):
        action = self.action(data)
        with self.emu.state.lock:
            statuses = {e: self.endpoint_status(action, e) for e in action['endpoints']}
            action['polls'] += 1
        reply = {'data': statuses}
        failed = [e for e, s in statuses.items() if s == 'FAILED']
        if failed:
            reply['errorReasons'] = {e: {
                'bucket': None, 'file_name': None, 'file_path': None, 'file_size': None, 'missing_files': [],
                'errorData': '{"reportIds": []}', 'terminated_by': None,
                'errorDescription': 'The endpoint is disconnected and the action expired',
                'terminate_result': None} for e in failed}
        return reply

    def file_retrieval_details(self, data):
        action = self.action(data)
        links = {}
        with self.emu.state.lock:
            for endpoint_id in action['endpoints']:
                if self.endpoint_status(action, endpoint_id) != 'COMPLETED_SUCCESSFULLY':
                    continue
                api_value = action['links'].get(endpoint_id)
                if api_value is None:
                    api_value = hashlib.sha256('{}|{}'.format(action['id'], endpoint_id).encode()).hexdigest()
                    action['links'][endpoint_id] = api_value
                    self.emu.state.downloads[api_value] = (action, endpoint_id)
                links[endpoint_id] = f'{self.base_url()}/public_api/v1/download/{api_value}'
        return {'data': links}

    def quarantine_status(self, data):
        files = data.get('files')
        if not isinstance(files, list) or not files:
            raise xdr_error(400, 'files must be a non-empty list')
        if len(files) > self.emu.quarantine_batch_limit:
            raise xdr_error(400, f'At most {self.emu.quarantine_batch_limit} files per request')
        reply = []
        for index, item in enumerate(files):
            if not isinstance(item, dict) or not SHA256_RE.match(str(item.get('file_hash', ''))):
                raise xdr_error(400, f'files[{index}].file_hash must be a valid SHA256')
            if not item.get('endpoint_id') or not item.get('file_path'):
                raise xdr_error(400, f'files[{index}] needs endpoint_id and file_path')
            reply.append({'endpoint_id': item['endpoint_id'], 'file_path': item['file_path'],
                          'file_hash': item['file_hash'], 'status': content.is_quarantined(item['file_hash'])})
        return reply

    def xdr_download(self, api_value, fault):
        found = self.emu.state.downloads.get(api_value)
        if found is None:
            raise xdr_error(404, 'Unknown download')
        action, endpoint_id = found
        kind = fault['kind'] if fault else None
        reset = kind == 'reset'
        if kind == 'zip_slip':
            return self.send(200, make_zip({'../../evil.txt': b'owned', '/etc/evil.txt': b'owned',
                                            'ok.txt': b'fine'}), 'application/zip')
        if kind == 'many_entries':
            count = int(fault.get('entries', 20000))
            return self.send(200, make_zip({f'f{i:05d}.txt': b'x' for i in range(count)}), 'application/zip')
        if kind == 'zip_bomb':
            return self.send_stream(200, zip_bomb(int(fault.get('uncompressed_mb', 300))))
        large = int(fault.get('size', 0)) if kind == 'large_file' else self.emu.large_file_size
        if large:
            return self.send_stream(200, stream_zip(endpoint_id, action['paths'], large), reset=reset)
        data = make_zip({content.zip_entry_name(p): content.retrieved_file_bytes(endpoint_id, p)
                         for p in action['paths']})
        if kind == 'truncated_zip':
            data = data[:len(data) // 2]
        self.send(200, data, 'application/zip', reset=reset)

    # ------------------------------------------------------------ storage (pre-signed style, no auth)

    def storage(self, method, path, fault):
        reset = bool(fault and fault['kind'] == 'reset')
        parts = path.split('/')
        if method != 'GET' or len(parts) != 5:
            raise Reply(404, {'message': 'not found'})
        _, _, kind, item, name = parts
        if kind == 'distributions':
            if item not in self.emu.state.distributions:
                raise Reply(404, {'message': 'not found'})
            return self.send(200, content.distribution_file_bytes(item, name), 'application/octet-stream',
                             reset=reset)
        if kind == 'packages' and item in self.emu.packages:
            return self.send(200, content.package_file_bytes(item), 'application/zip', reset=reset)
        raise Reply(404, {'message': 'not found'})

    # ------------------------------------------------------------ Cylance

    def cylance(self, method, path, query, body, fault):
        reset = bool(fault and fault['kind'] == 'reset')
        if path == '/auth/v2/token':
            if method != 'POST':
                raise Reply(405, {'message': 'Use POST'})
            return self.send(200, {'access_token': self.issue_token(body)}, reset=reset)
        if method != 'GET':
            raise Reply(405, {'message': 'Use GET'})
        if path.rstrip('/') == '/packages/v2':
            self.require_scope('opticspkgconfig:list')
            return self.list_packages(query, reset)
        package_id = path[len('/packages/v2/'):]
        self.require_scope('opticspkgconfig:read')
        try:
            uuid.UUID(package_id)
        except ValueError:
            raise Reply(400, {'message': 'Invalid package id'})
        package = self.emu.packages.get(package_id)
        if package is None:
            raise Reply(404, {'message': 'Package not found'})
        self.send(200, self.with_url(package), reset=reset)

    def issue_token(self, body):
        try:
            auth_token = json.loads(body or b'{}').get('auth_token')
            unverified = jwt.decode(auth_token, options={'verify_signature': False})
        except Exception:
            raise Reply(401, {'message': 'Invalid auth_token'})
        app = credentials.CYLANCE_APPS.get(str(unverified.get('sub')))
        if app is None:
            raise Reply(401, {'message': 'Unknown application'})
        secret, tenant, granted = app
        try:
            claims = jwt.decode(auth_token, secret, algorithms=['HS256'], options={'verify_exp': False})
        except jwt.PyJWTError:
            raise Reply(401, {'message': 'Invalid signature'})
        if claims.get('iss') != 'http://cylance.com' or claims.get('tid') != tenant or not claims.get('jti'):
            raise Reply(400, {'message': 'Invalid claims: iss, tid and jti are required'})
        try:
            iat, exp = int(claims['iat']), int(claims['exp'])
        except (KeyError, TypeError, ValueError):
            raise Reply(400, {'message': 'iat and exp are required'})
        if exp - iat > 1800:
            raise Reply(400, {'message': 'exp must be within 30 minutes of iat'})
        if exp < time.time():
            raise Reply(401, {'message': 'auth_token expired'})
        requested = claims.get('scp') or []
        if isinstance(requested, str):
            requested = requested.replace(',', ' ').split()
        scopes = [s for s in requested if s in granted]
        now = int(time.time())
        return jwt.encode({'scp': scopes, 'tid': tenant, 'sub': claims['sub'], 'iat': now, 'exp': now + 1800,
                           'jti': str(uuid.uuid4())}, SERVER_TOKEN_SECRET, algorithm='HS256')

    def require_scope(self, scope):
        header = self.headers.get('Authorization') or ''
        if not header.startswith('Bearer '):
            raise Reply(401, {'message': 'Missing bearer token'})
        try:
            claims = jwt.decode(header[7:], SERVER_TOKEN_SECRET, algorithms=['HS256'])
        except jwt.ExpiredSignatureError:
            raise Reply(401, {'message': 'Token expired'})
        except jwt.PyJWTError:
            raise Reply(401, {'message': 'Invalid token'})
        if scope not in (claims.get('scp') or []):
            raise Reply(403, {'message': f'The token lacks the {scope} scope'})

    def with_url(self, package):
        package = json.loads(json.dumps(package))
        package['downloadUrl'] = '{}/_storage/packages/{}/{}?sig={}'.format(
            self.emu.alt_url, package['packageId'], package['packageDescriptor']['packageInfo']['fileName'],
            hashlib.md5(package['packageId'].encode()).hexdigest())
        return package

    def list_packages(self, query, reset=False):
        def number(name, default):
            try:
                return int(query.get(name, [default])[0])
            except ValueError:
                raise Reply(400, {'message': f'{name} must be a number'})
        page, page_size = number('page', 1), number('page_size', 10)
        if page < 1 or page_size < 1 or page_size > 200:
            raise Reply(400, {'message': 'page must be >= 1 and page_size between 1 and 200'})
        items = list(self.emu.packages.values())
        category = query.get('category', [None])[0]
        if category:
            items = [p for p in items if p['category'] == category]
        sort = query.get('sort', [None])[0]
        if sort:
            field = sort.lstrip('-')
            items.sort(key=lambda p: str(p.get(field, p['packageDescriptor'].get(field, ''))),
                       reverse=sort.startswith('-'))
        total = len(items)
        chunk = items[(page - 1) * page_size:page * page_size]
        self.send(200, {'page_number': page, 'page_size': page_size,
                        'total_pages': (total + page_size - 1) // page_size, 'total_number_of_items': total,
                        'page_items': [self.with_url(p) for p in chunk]}, reset=reset)


XDR_ROUTES = {
    'distributions/create': Handler.create_distribution,
    'distributions/get_status': Handler.get_distribution_status,
    'distributions/get_dist_url': Handler.get_dist_url,
    'distributions/get_versions': Handler.get_versions,
    'endpoints/file_retrieval': Handler.file_retrieval,
    'actions/get_action_status': Handler.get_action_status,
    'actions/file_retrieval_details': Handler.file_retrieval_details,
    'quarantine/status': Handler.quarantine_status,
}


def make_zip(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


class _Pipe:
    """An unseekable sink for zipfile: collects bytes for a generator to hand out."""

    def __init__(self):
        self.parts = []
        self.offset = 0

    def write(self, data):
        self.parts.append(bytes(data))
        self.offset += len(data)
        return len(data)

    def tell(self):
        return self.offset

    def flush(self):
        pass

    def drain(self):
        data, self.parts = b''.join(self.parts), []
        return data


def stream_zip(endpoint_id, paths, large_size):
    """A zip of the action's files, the first one `large_size` bytes, generated as a stream."""
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, 'w', zipfile.ZIP_STORED, allowZip64=True) as archive:
        for index, path in enumerate(paths):
            info = zipfile.ZipInfo(content.zip_entry_name(path), date_time=(2026, 1, 1, 0, 0, 0))
            size = large_size if index == 0 else None
            with archive.open(info, 'w', force_zip64=True) as entry:
                for piece in content.iter_retrieved_file(endpoint_id, path, size):
                    entry.write(piece)
                    yield pipe.drain()
        archive.close()
        yield pipe.drain()
    yield pipe.drain()


def zip_bomb(uncompressed_mb):
    pipe = _Pipe()
    zeros = bytes(1024 * 1024)
    with zipfile.ZipFile(pipe, 'w', zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo('huge.bin', date_time=(2026, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, 'w', force_zip64=True) as entry:
            for _ in range(uncompressed_mb):
                entry.write(zeros)
                yield pipe.drain()
    yield pipe.drain()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class Emulator:
    """The XDR + Cylance emulator on 127.0.0.1; start()/stop() or use as a context manager."""

    def __init__(self, port=0, host='127.0.0.1', faults=None, action_steps=2, distribution_steps=2,
                 large_file_size=None, failing_endpoints=('fail',), quarantine_batch_limit=1000, max_concurrency=64,
                 verbose=False, tls_cert=None, tls_key=None):
        self.host, self.requested_port = host, port
        self.initial_faults = list(faults or [])
        self.action_steps, self.distribution_steps = action_steps, distribution_steps
        self.large_file_size = large_file_size
        self.failing_endpoints = tuple(failing_endpoints)
        self.quarantine_batch_limit = quarantine_batch_limit
        self.slots = threading.BoundedSemaphore(max_concurrency)
        self.verbose = verbose
        self.tls = (tls_cert, tls_key) if tls_cert else None
        self.packages = build_packages()
        self.state = State(self)
        self._server = None
        self._thread = None

    def start(self):
        self._server = _Server((self.host, self.requested_port), Handler)
        self._server.emulator = self
        if self.tls:
            import ssl
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name='api-emulator', daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self):
        return self._server.server_address[1]

    @property
    def url(self):
        return f'{self.scheme}://{self.host}:{self.port}'

    @property
    def scheme(self):
        return 'https' if self.tls else 'http'

    @property
    def alt_url(self):
        return f'{self.scheme}://localhost:{self.port}'

    def add_fault(self, path, kind, count=None, **params):
        rule = dict(params, path=path, kind=kind, count=count)
        with self.state.lock:
            self.state.faults.append(rule)

    def clear_faults(self):
        with self.state.lock:
            self.state.faults = []

    def request_log(self):
        with self.state.lock:
            return list(self.state.log)

    def reset(self):
        self.state.reset()
