"""The Cylance Optics packages API as the emulator serves it.

Token exchange ``POST /auth/v2/token {"auth_token": <JWT>}``: the JWT is HS256-signed with the application secret,
with iss, sub (app id), tid (tenant), jti, iat and exp at most 30 minutes after iat; the access token carries the
scopes the application was granted (credentials.py). ``GET /packages/v2`` (scope opticspkgconfig:list) pages, sorts
and filters 25 deterministic packages; ``GET /packages/v2/{id}`` (opticspkgconfig:read). Package files are served
from pre-signed style storage links on a second origin.
"""
import hashlib
import json
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

    def owns(self, path: str) -> bool:
        return path == TOKEN_PATH or path.startswith(PACKAGES_PATH)

    def error_body(self, status: int, message: str) -> Any:
        return {'message': message}

    def missing_keys_body(self) -> Any:
        return {'unexpected': True}

    def storage(self, kind: str, item: str, name: str) -> tuple[bytes, str] | None:
        if kind == 'packages' and item in self.packages:
            return content.package_file_bytes(item), 'application/zip'
        return None

    # ------------------------------------------------------------ request handling

    def handle(self, http: Handler, method: str, path: str, query: dict[str, list[str]], body: bytes,
               fault: dict[str, Any] | None) -> None:
        reset = bool(fault and fault['kind'] == 'reset')
        if path == TOKEN_PATH:
            if method != 'POST':
                raise cylance_error(HTTPStatus.METHOD_NOT_ALLOWED, 'Use POST')
            http.send(HTTPStatus.OK, {'access_token': self.issue_token(body)}, reset=reset)
            return
        matches = [(route_method, scope, route, arguments) for route_method, route_path, scope, route in ROUTES
                   if (arguments := route_arguments(route_path, path)) is not None]
        for route_method, scope, route, arguments in matches:
            if route_method == method:
                self.require_scope(http, scope)
                http.send(HTTPStatus.OK, route(self, query, body, *arguments), reset=reset)
                return
        if matches:
            raise cylance_error(HTTPStatus.METHOD_NOT_ALLOWED, 'Use ' + ' or '.join(sorted({m[0] for m in matches})))
        raise cylance_error(HTTPStatus.NOT_FOUND, 'Not found')

    # ------------------------------------------------------------ auth

    def issue_token(self, body: bytes) -> str:
        try:
            auth_token = json.loads(body or b'{}').get('auth_token')
            unverified = jwt.decode(auth_token, options={'verify_signature': False})
        except Exception:  # any malformed body or token is the same 401 to the client
            raise cylance_error(HTTPStatus.UNAUTHORIZED, 'Invalid auth_token') from None
        app = credentials.CYLANCE_APPS.get(str(unverified.get('sub')))
        if app is None:
            raise cylance_error(HTTPStatus.UNAUTHORIZED, 'Unknown application')
        secret, tenant, granted = app
        try:
            claims = jwt.decode(auth_token, secret, algorithms=['HS256'], options={'verify_exp': False})
        except jwt.PyJWTError:
            raise cylance_error(HTTPStatus.UNAUTHORIZED, 'Invalid signature') from None
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
        if scope not in (claims.get('scp') or []):
            raise cylance_error(HTTPStatus.FORBIDDEN, f'The token lacks the {scope} scope')

    # ------------------------------------------------------------ packages

    def with_url(self, package: dict[str, Any]) -> dict[str, Any]:
        package = json.loads(json.dumps(package))
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
        package = self.packages.get(package_id)
        if package is None:
            raise cylance_error(HTTPStatus.NOT_FOUND, 'Package not found')
        return self.with_url(package)


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
ROUTES: list[tuple[str, str, str, CylanceRoute]] = [
    ('GET', PACKAGES_PATH, 'opticspkgconfig:list', CylanceApi.list_packages),
    ('GET', PACKAGES_PATH + '/{package_id}', 'opticspkgconfig:read', CylanceApi.get_package),
]
