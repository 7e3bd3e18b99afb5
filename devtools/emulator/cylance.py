"""The Cylance Optics packages API as the emulator serves it.

Token exchange ``POST /auth/v2/token {"auth_token": <JWT>}``: the JWT is HS256-signed with the application secret,
with iss, sub (app id), tid (tenant), jti, iat and exp at most 30 minutes after iat; the access token carries the
scopes the application was granted (credentials.py). ``GET /packages/v2`` (scope opticspkgconfig:list) pages, sorts
and filters 25 deterministic packages; ``GET /packages/v2/{id}`` (opticspkgconfig:read). Package files are served
from pre-signed style storage links on a second origin.

Package deployment (the Package Deployment API pages): ``POST /packages/v2`` (opticspkgconfig:create) answers
packageId, packageUrl and an ``uploadTo`` link on the second origin; a ``PUT`` there (no Authorization: a pre-signed
link refuses a second auth mechanism) stores the file and checks its SHA256 against the create call; the package
status then goes from started to success (failed on a checksum mismatch) after PACKAGE_STATUS_READS reads.
Executions (``/packages/v2/executions``, opticspkgdeploy:create/read/list/delete) target devices or zones, never
both, with upper-case ids without dashes; devices acknowledge on the first read and finish after EXECUTION_STEPS
reads; devices whose id starts with DEAD fail (a zone whose id starts with DEAD holds one such device). Ids of
created packages and executions are deterministic from the last reset.
"""
import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import jwt

from . import content, credentials
from .core import Handler, Reply, Vendor

TOKEN_PATH = '/auth/v2/token'
PACKAGES_PATH = '/packages/v2'
EXECUTIONS_PATH = PACKAGES_PATH + '/executions'
UPLOAD_PREFIX = '/_uploads/optics/'  # pre-signed style upload links, on the second origin
PACKAGE_STATUS_READS = 1  # reads of an uploaded package that still answer started
EXECUTION_STEPS = 2  # reads of an execution before its devices have finished
FAILING_DEVICE_PREFIX = 'DEAD'
DEVICES_PER_ZONE = 3
TARGET_ID_RE = re.compile(r'^[0-9A-F]{32}$')
SHA256_RE = re.compile(r'^[a-f0-9]{64}$')
ID_NAMESPACE = uuid.UUID('9b2f6c1e-4d3a-4e8b-a5f0-7c1d2e3f4a5b')
API_USER = {'id': '0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f', 'login': 'xsoar-app@example.com'}
SERVER_TOKEN_SECRET = 'emulator-token-signing-secret-0f4e8b2a'
TOKEN_LIFETIME_SECONDS = 1800
MAX_PAGE_SIZE = 200
ISSUER = 'http://cylance.com'
PACKAGE_COUNT = 25
PACKAGE_NAMES = ['Collect-Autoruns', 'Dump-Prefetch', 'Hunt-Persistence', 'Scan-Yara', 'Grab-EventLogs']
PACKAGE_STATUSES = ('success', 'success', 'started', 'failed', 'timeout')
UPLOADERS = ['ir.lead@example.com', 'analyst@example.com', 'soc@example.com']


def cylance_error(status: int, message: str) -> Reply:
    return Reply(status, {'message': message})


def build_packages(count: int = PACKAGE_COUNT) -> dict[str, dict[str, Any]]:
    packages = {}
    for i in range(count):
        pid = content.package_id(i)
        name = PACKAGE_NAMES[i % len(PACKAGE_NAMES)]
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
                           'login': UPLOADERS[i % len(UPLOADERS)]},
            'uploadedOn': f'2026-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:15:00Z',
        }
    return packages


def utc_now() -> str:
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())


def zone_devices(zone_id: str) -> list[str]:
    """The devices of a zone (deterministic); a zone whose id starts with DEAD holds one failing device."""
    devices = [hashlib.md5(f'{zone_id}-{i}'.encode()).hexdigest().upper() for i in range(DEVICES_PER_ZONE)]
    if zone_id.startswith(FAILING_DEVICE_PREFIX):
        devices[0] = FAILING_DEVICE_PREFIX + devices[0][len(FAILING_DEVICE_PREFIX):]
    return devices


def json_body(body: bytes) -> Any:
    try:
        return json.loads(body or b'null')
    except ValueError:
        raise cylance_error(HTTPStatus.BAD_REQUEST, 'The body is not JSON') from None


def number_arg(query: dict[str, list[str]], name: str, default: int) -> int:
    try:
        return int(query.get(name, [str(default)])[0])
    except ValueError:
        raise cylance_error(HTTPStatus.BAD_REQUEST, f'{name} must be a number') from None


class CylanceApi(Vendor):
    """Cylance token exchange and Optics packages endpoints."""

    def __init__(self, emulator: Any):
        super().__init__(emulator)
        self.packages = build_packages()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            for package_id in [p for p, package in self.packages.items() if package['uploadedBy'] == API_USER]:
                del self.packages[package_id]  # packages created through the API do not outlive a reset
            self.uploads: dict[str, dict[str, Any]] = {}  # packageId -> checksum, signature, outcome, reads left
            self.files: dict[str, bytes] = {}  # packageId -> the uploaded file
            self.executions: dict[str, dict[str, Any]] = {}  # id -> resource, online devices, reads
            self.created: dict[str, int] = {}
            # what a trust-boundary test checks: each token request (the signed auth_token as sent, the claims,
            # whether it was accepted, the access token's jti) and the jti of the bearer token on each API call
            self.token_requests: list[dict[str, Any]] = []
            self.bearer_calls: list[dict[str, Any]] = []

    def next_id(self, kind: str) -> str:
        """The id of the n-th package (or execution) created since the last reset: the same in every run."""
        self.created[kind] = self.created.get(kind, 0) + 1
        return str(uuid.uuid5(ID_NAMESPACE, f'{kind}-{self.created[kind]}'))

    def owns(self, path: str) -> bool:
        return path == TOKEN_PATH or path.startswith(PACKAGES_PATH) or path.startswith(UPLOAD_PREFIX)

    def error_body(self, status: int, message: str) -> Any:
        return {'message': message}

    def missing_keys_body(self) -> Any:
        return {'unexpected': True}

    def storage(self, kind: str, item: str, name: str) -> tuple[bytes, str] | None:
        with self.lock:
            uploaded = self.files.get(item)
        if kind == 'packages' and uploaded is not None:
            return uploaded, 'application/octet-stream'
        if kind == 'packages' and item in self.packages:
            return content.package_file_bytes(item), 'application/zip'
        return None

    # ------------------------------------------------------------ request handling

    def handle(self, http: Handler, method: str, path: str, query: dict[str, list[str]], body: bytes,
               fault: dict[str, Any] | None) -> None:
        reset = bool(fault and fault['kind'] == 'reset')
        if path.startswith(UPLOAD_PREFIX):
            self.upload(http, method, path[len(UPLOAD_PREFIX):], query, body)
            http.send(HTTPStatus.OK, b'', content_type='application/xml', reset=reset)
            return
        if path == TOKEN_PATH:
            if method != 'POST':
                raise cylance_error(HTTPStatus.METHOD_NOT_ALLOWED, 'Use POST')
            record: dict[str, Any] = {'host': http.headers.get('Host'), 'accepted': False, 'ts': time.time()}
            with self.lock:
                self.token_requests.append(record)
            token = self.issue_token(body, record)
            record.update(accepted=True, jti=jwt.decode(token, options={'verify_signature': False})['jti'])
            http.send(HTTPStatus.OK, {'access_token': token}, reset=reset)
            return
        matches = [(route_method, scope, route, arguments) for route_method, route_path, scope, route in ROUTES
                   if (arguments := route_arguments(route_path, path)) is not None]
        for route_method, scope, route, arguments in matches:
            if route_method == method:
                self.require_scope(http, scope)
                reply = route(self, query, body, *arguments)
                if fault and fault['kind'] == 'package':
                    reply = override_packages(reply, fault)
                http.send(HTTPStatus.OK, reply, reset=reset)
                return
        if matches:
            raise cylance_error(HTTPStatus.METHOD_NOT_ALLOWED, 'Use ' + ' or '.join(sorted({m[0] for m in matches})))
        raise cylance_error(HTTPStatus.NOT_FOUND, 'Not found')

    # ------------------------------------------------------------ auth

    def issue_token(self, body: bytes, record: dict[str, Any] | None = None) -> str:
        record = {} if record is None else record
        try:
            auth_token = json.loads(body or b'{}').get('auth_token')
            unverified = jwt.decode(auth_token, options={'verify_signature': False})
        except Exception:  # any malformed body or token is the same 401 to the client
            raise cylance_error(HTTPStatus.UNAUTHORIZED, 'Invalid auth_token') from None
        record.update(auth_token=auth_token, app_id=unverified.get('sub'), tenant_id=unverified.get('tid'),
                      scope=unverified.get('scp'))
        app = credentials.CYLANCE_APPS.get(str(unverified.get('sub')))
        if app is None:
            raise cylance_error(HTTPStatus.UNAUTHORIZED, 'Unknown application')
        secret, tenant, granted = app
        claims = None
        for candidate in (secret, *credentials.CYLANCE_ROTATED_SECRETS.get(str(unverified.get('sub')), ())):
            try:
                claims = jwt.decode(auth_token, candidate, algorithms=['HS256'], options={'verify_exp': False})
                break
            except jwt.PyJWTError:
                continue
        if claims is None:
            raise cylance_error(HTTPStatus.UNAUTHORIZED, 'Invalid signature')
        if claims.get('iss') != ISSUER or claims.get('tid') != tenant or not claims.get('jti'):
            raise cylance_error(HTTPStatus.BAD_REQUEST, 'Invalid claims: iss, tid and jti are required')
        try:
            iat, exp = int(claims['iat']), int(claims['exp'])
        except (KeyError, TypeError, ValueError):
            raise cylance_error(HTTPStatus.BAD_REQUEST, 'iat and exp are required') from None
        if exp - iat > TOKEN_LIFETIME_SECONDS:
            raise cylance_error(HTTPStatus.BAD_REQUEST, 'exp must be within 30 minutes of iat')
        if exp < time.time():
            raise cylance_error(HTTPStatus.UNAUTHORIZED, 'auth_token expired')
        requested = claims.get('scp') or []
        if isinstance(requested, str):
            requested = requested.replace(',', ' ').split()
        scopes = [s for s in requested if s in granted]
        now = int(time.time())
        return jwt.encode({'scp': scopes, 'tid': tenant, 'sub': claims['sub'], 'iat': now,
                           'exp': now + TOKEN_LIFETIME_SECONDS, 'jti': str(uuid.uuid4())},
                          SERVER_TOKEN_SECRET, algorithm='HS256')

    def require_scope(self, http: Handler, scope: str) -> None:
        header = http.headers.get('Authorization') or ''
        if not header.startswith('Bearer '):
            raise cylance_error(HTTPStatus.UNAUTHORIZED, 'Missing bearer token')
        try:
            claims = jwt.decode(header[len('Bearer '):], SERVER_TOKEN_SECRET, algorithms=['HS256'])
        except jwt.ExpiredSignatureError:
            raise cylance_error(HTTPStatus.UNAUTHORIZED, 'Token expired') from None
        except jwt.PyJWTError:
            raise cylance_error(HTTPStatus.UNAUTHORIZED, 'Invalid token') from None
        with self.lock:
            self.bearer_calls.append({'path': http.path, 'method': http.command, 'jti': claims.get('jti'),
                                      'host': http.headers.get('Host')})
        if scope not in (claims.get('scp') or []):
            raise cylance_error(HTTPStatus.FORBIDDEN, f'The token lacks the {scope} scope')

    # ------------------------------------------------------------ packages

    def with_url(self, package: dict[str, Any]) -> dict[str, Any]:
        package = json.loads(json.dumps(package))
        if package['uploadedBy'] == API_USER and package['status'] != 'success':
            return package  # nothing to download before the upload succeeded
        package['downloadUrl'] = '{}/_storage/packages/{}/{}?sig={}'.format(
            self.emulator.alt_url, package['packageId'], package['packageDescriptor']['packageInfo']['fileName'],
            hashlib.md5(package['packageId'].encode()).hexdigest())
        return package

    def list_packages(self, query: dict[str, list[str]], body: bytes) -> dict[str, Any]:
        page, page_size = number_arg(query, 'page', 1), number_arg(query, 'page_size', 10)
        if page < 1 or page_size < 1 or page_size > MAX_PAGE_SIZE:
            raise cylance_error(HTTPStatus.BAD_REQUEST, 'page must be >= 1 and page_size between 1 and 200')
        items = list(self.packages.values())
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
        return {'page_number': page, 'page_size': page_size, 'total_pages': (total + page_size - 1) // page_size,
                'total_number_of_items': total, 'page_items': [self.with_url(p) for p in chunk]}

    def get_package(self, query: dict[str, list[str]], body: bytes, package_id: str) -> dict[str, Any]:
        try:
            uuid.UUID(package_id)
        except ValueError:
            raise cylance_error(HTTPStatus.BAD_REQUEST, 'Invalid package id') from None
        with self.lock:
            self.advance_upload(package_id)
            package = self.packages.get(package_id)
        if package is None:
            raise cylance_error(HTTPStatus.NOT_FOUND, 'Package not found')
        return self.with_url(package)

    # ------------------------------------------------------------ package deployment: packages

    def create_package(self, query: dict[str, list[str]], body: bytes) -> dict[str, Any]:
        request = json_body(body)
        if not isinstance(request, dict):
            raise cylance_error(HTTPStatus.BAD_REQUEST, 'The body must be a JSON object')
        checksum = str(request.get('checksum') or '').lower()
        descriptor = request.get('packageDescriptor')
        if not SHA256_RE.match(checksum):
            raise cylance_error(HTTPStatus.BAD_REQUEST, 'checksum must be the SHA256 of the package')
        if not isinstance(descriptor, dict) or not descriptor.get('name'):
            raise cylance_error(HTTPStatus.BAD_REQUEST, 'packageDescriptor.name is required')
        version = descriptor.get('version')
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise cylance_error(HTTPStatus.BAD_REQUEST, 'packageDescriptor.version must be an integer of 1 or more')
        info: dict[str, Any] = descriptor['packageInfo'] if isinstance(descriptor.get('packageInfo'), dict) else {}
        if str(info.get('fileType', '')).lower() != 'python' or not info.get('fileName'):
            raise cylance_error(HTTPStatus.BAD_REQUEST, 'Only Python packages are supported (packageInfo.fileType '
                                                        'python and a fileName)')
        with self.lock:
            package_id = self.next_id('package')
            signature = hashlib.sha256((package_id + checksum).encode()).hexdigest()[:24]
            self.packages[package_id] = {
                'category': 'custom', 'downloadUrl': None,
                'packageDescriptor': dict(descriptor, packageId=package_id, examples=descriptor.get('examples') or []),
                'packageId': package_id, 'playbookCount': 0, 'size': None, 'status': 'started', 'timeout': 300,
                'uploadedBy': dict(API_USER), 'uploadedOn': utc_now()}
            self.uploads[package_id] = {'checksum': checksum, 'signature': signature, 'outcome': None,
                                        'reads_left': PACKAGE_STATUS_READS}
        base = self.emulator.alt_url
        return {'packageId': package_id,
                'packageUrl': f"{base}/_storage/packages/{package_id}/{info['fileName']}",
                'uploadTo': f'{base}{UPLOAD_PREFIX}{package_id}?sig={signature}'}

    def upload(self, http: Handler, method: str, package_id: str, query: dict[str, list[str]], body: bytes) -> None:
        """The pre-signed upload link: PUT only, no other auth mechanism, a valid signature; checks the SHA256."""
        if method != 'PUT':
            raise cylance_error(HTTPStatus.METHOD_NOT_ALLOWED, 'Use PUT')
        with self.lock:
            pending = self.uploads.get(package_id)
            if pending is None:
                raise cylance_error(HTTPStatus.NOT_FOUND, 'NoSuchUpload')
            if 'Authorization' in http.headers:
                raise cylance_error(HTTPStatus.BAD_REQUEST, 'InvalidArgument: only one auth mechanism allowed')
            if query.get('sig', [''])[0] != pending['signature']:
                raise cylance_error(HTTPStatus.FORBIDDEN, 'SignatureDoesNotMatch')
            matches = hashlib.sha256(body).hexdigest() == pending['checksum']
            pending['outcome'] = 'success' if matches else 'failed'
            self.packages[package_id]['size'] = len(body)
            if matches:
                self.files[package_id] = body

    def advance_upload(self, package_id: str) -> None:
        """One read of a created package (under the lock): after the upload it leaves started after a few reads."""
        pending = self.uploads.get(package_id)
        if pending is None or pending['outcome'] is None:
            return
        if pending['reads_left'] > 0:
            pending['reads_left'] -= 1
            return
        self.packages[package_id]['status'] = pending['outcome']
        del self.uploads[package_id]

    # ------------------------------------------------------------ package deployment: executions

    def package_url(self, package_id: str) -> str:
        return f'{self.emulator.url}{PACKAGES_PATH}/{package_id}'

    def as_reply(self, resource: dict[str, Any]) -> dict[str, Any]:
        """An execution as the API describes it in replies: each package as the URL it is downloaded from."""
        reply = json.loads(json.dumps(resource))
        for run in reply['packageExecutions']:
            run['package'] = self.package_url(run['package'])
        return reply

    def check_execution(self, request: Any) -> tuple[dict[str, Any], list[str], list[str]]:
        execution = request.get('execution') if isinstance(request, dict) else None
        if not isinstance(execution, dict):
            raise cylance_error(HTTPStatus.BAD_REQUEST, 'The body must hold an execution object')
        target: dict[str, Any] = execution['target'] if isinstance(execution.get('target'), dict) else {}
        devices, zones = target.get('devices') or [], target.get('zones') or []
        if bool(devices) == bool(zones):
            raise cylance_error(HTTPStatus.BAD_REQUEST, 'Target devices only or zones only per request, not both')
        ids = devices or zones
        if not isinstance(ids, list) or not all(isinstance(i, str) and TARGET_ID_RE.match(i) for i in ids):
            raise cylance_error(HTTPStatus.BAD_REQUEST, 'Device IDs and zone IDs must be uppercase letters and no '
                                                        'hyphens')
        runs = execution.get('packageExecutions')
        if not isinstance(runs, list) or not runs or not all(isinstance(run, dict) for run in runs):
            raise cylance_error(HTTPStatus.BAD_REQUEST, 'packageExecutions must list at least one package')
        for run in runs:
            try:
                package_id = str(uuid.UUID(str(run.get('package') or '')))
            except ValueError:
                raise cylance_error(HTTPStatus.BAD_REQUEST, 'package must be a package ID in the UUID4 format') \
                    from None
            package = self.packages.get(package_id)
            if package is None:
                raise cylance_error(HTTPStatus.NOT_FOUND, f'Package {package_id} not found')
            if package['status'] != 'success':
                raise cylance_error(HTTPStatus.BAD_REQUEST, f"Package {package_id} is not ready ({package['status']})")
            if not isinstance(run.get('arguments', []), list):
                raise cylance_error(HTTPStatus.BAD_REQUEST, 'arguments must be a list')
        if not isinstance(execution.get('keepResultsLocally', False), bool):
            raise cylance_error(HTTPStatus.BAD_REQUEST, 'keepResultsLocally must be a boolean')
        return execution, devices, zones

    def create_execution(self, query: dict[str, list[str]], body: bytes) -> dict[str, Any]:
        execution, devices, zones = self.check_execution(json_body(body))
        online = list(devices) if devices else [device for zone in zones for device in zone_devices(zone)]
        with self.lock:
            execution_id = self.next_id('execution')
            resource = {
                'createdAt': utc_now(), 'createdBy': dict(API_USER), 'destination': execution.get('destination') or '',
                'deviceCount': len(online), 'deviceStatuses': {'acked': 0, 'failed': 0, 'succeeded': 0},
                'id': execution_id, 'keepResultsLocally': bool(execution.get('keepResultsLocally')),
                'name': str(execution.get('name') or ''),
                'packageExecutions': [{'arguments': list(run.get('arguments') or []),
                                       'package': str(uuid.UUID(str(run['package'])))}
                                      for run in execution['packageExecutions']],
                'target': {'devices': list(devices)} if devices else {'zones': list(zones)}}
            self.executions[execution_id] = {'resource': resource, 'devices': online, 'reads': 0}
        return self.as_reply(resource)

    def get_execution(self, query: dict[str, list[str]], body: bytes, execution_id: str) -> dict[str, Any]:
        """One read: the devices acknowledge on the first read and finish after EXECUTION_STEPS reads."""
        with self.lock:
            state = self.executions.get(execution_id)
            if state is None:
                raise cylance_error(HTTPStatus.NOT_FOUND, 'Execution not found')
            state['reads'] += 1
            devices = state['devices']
            done = state['reads'] >= EXECUTION_STEPS
            failed = sum(1 for device in devices if device.startswith(FAILING_DEVICE_PREFIX)) if done else 0
            state['resource']['deviceStatuses'] = {'acked': len(devices), 'failed': failed,
                                                   'succeeded': len(devices) - failed if done else 0}
            return self.as_reply(state['resource'])

    def list_executions(self, query: dict[str, list[str]], body: bytes) -> dict[str, Any]:
        page, page_size = number_arg(query, 'page', 1), number_arg(query, 'page_size', 20)
        if page < 1 or page_size < 1 or page_size > MAX_PAGE_SIZE:
            raise cylance_error(HTTPStatus.BAD_REQUEST, 'page must be >= 1 and page_size between 1 and 200')
        with self.lock:
            items = [self.as_reply(state['resource']) for state in reversed(list(self.executions.values()))]
        total = len(items)
        return {'page_number': page, 'page_size': page_size, 'total_pages': (total + page_size - 1) // page_size,
                'total_number_of_items': total, 'page_items': items[(page - 1) * page_size:page * page_size]}

    def delete_execution(self, query: dict[str, list[str]], body: bytes, execution_id: str) -> dict[str, Any]:
        with self.lock:
            state = self.executions.pop(execution_id, None)
        if state is None:
            raise cylance_error(HTTPStatus.NOT_FOUND, 'Execution not found')
        return self.as_reply(state['resource'])


def override_packages(reply: Any, fault: dict[str, Any]) -> Any:
    """A package reply (one package or a page of them) with the fault's `fields` set and `remove` keys removed."""
    packages = reply.get('page_items') if isinstance(reply, dict) and 'page_items' in reply else [reply]
    for package in packages or []:
        if isinstance(package, dict) and 'packageId' in package:
            package.update(fault.get('fields') or {})
            for key in fault.get('remove') or []:
                package.pop(key, None)
    return reply


def route_arguments(route_path: str, path: str) -> list[str] | None:
    """The values of a route's {placeholders} in path (e.g. /packages/v2/{id}), or None when it does not match."""
    route_parts, parts = route_path.split('/'), path.rstrip('/').split('/')
    if len(route_parts) != len(parts):
        return None
    values = []
    for expected, given in zip(route_parts, parts, strict=True):
        if expected.startswith('{'):
            values.append(given)
        elif expected != given:
            return None
    return values


CylanceRoute = Callable[..., Any]

# (method, path with {placeholders}, required scope, handler(api, query, body, *placeholder values) -> JSON reply)
# Execution routes come before /packages/v2/{package_id}, which would also match /packages/v2/executions.
ROUTES: list[tuple[str, str, str, CylanceRoute]] = [
    ('GET', PACKAGES_PATH, 'opticspkgconfig:list', CylanceApi.list_packages),
    ('POST', PACKAGES_PATH, 'opticspkgconfig:create', CylanceApi.create_package),
    ('GET', EXECUTIONS_PATH, 'opticspkgdeploy:list', CylanceApi.list_executions),
    ('POST', EXECUTIONS_PATH, 'opticspkgdeploy:create', CylanceApi.create_execution),
    ('GET', EXECUTIONS_PATH + '/{execution_id}', 'opticspkgdeploy:read', CylanceApi.get_execution),
    ('DELETE', EXECUTIONS_PATH + '/{execution_id}', 'opticspkgdeploy:delete', CylanceApi.delete_execution),
    ('GET', PACKAGES_PATH + '/{package_id}', 'opticspkgconfig:read', CylanceApi.get_package),
]
