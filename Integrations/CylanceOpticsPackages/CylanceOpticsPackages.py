"""Cylance Optics - Packages.

Get, list and download Cylance PROTECT Optics packages (`/packages/v2`). Auth: an HS256 JWT signed with the
application secret is exchanged at `/auth/v2/token` for a bearer token carrying the scope a command needs.
Bearer tokens are cached per scope in the integration context and are only ever sent to the configured API host.
"""
import demistomock as demisto  # noqa: F401
from CommonServerPython import *  # noqa: F401

import email.utils
import hashlib
import os
import re
import time
import uuid
from datetime import timezone
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple
from urllib.parse import urlparse

import jwt
import requests

INTEGRATION_NAME = 'Cylance Optics - Packages'
CONTEXT_PREFIX = 'CylanceOptics.Package'
DEFAULT_URL = 'https://protectapi.cylance.com'
REGIONAL_HOSTS = ('protectapi.cylance.com', 'protectapi-apne1.cylance.com', 'protectapi-au.cylance.com',
                  'protectapi-euc1.cylance.com', 'protectapi-sae1.cylance.com')

JWT_ISSUER = 'http://cylance.com'
JWT_LIFETIME_SECONDS = 25 * 60  # the API rejects exp more than 30 minutes after iat (400)
ASSUMED_TOKEN_LIFETIME_SECONDS = 30 * 60  # for an access token that is not a JWT
TOKEN_REFRESH_MARGIN_SECONDS = 120
SCOPE_READ = 'opticspkgconfig:read'
SCOPE_LIST = 'opticspkgconfig:list'

TOKEN_ENDPOINT = 'auth/v2/token'
LIST_ENDPOINT = 'packages/v2'
GET_ENDPOINT = 'packages/v2/{id}'
DOWNLOAD_ENDPOINT = 'package download'

RETRYABLE_STATUSES = (429, 500, 502, 503, 504)
DEFAULT_MAX_RETRIES = 3
MAX_RETRY_WAIT_SECONDS = 60
DEFAULT_TIMEOUT_SECONDS = 60
CHUNK_SIZE = 1024 * 1024
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 200
MAX_PAGES = 100
CATEGORIES = ('custom', 'cylance')
PACKAGE_FIELDS = ('category', 'downloadUrl', 'packageDescriptor', 'packageId', 'playbookCount', 'size', 'status',
                  'timeout', 'uploadedBy', 'uploadedOn')

BEARER_RE = re.compile(r'Bearer\s+[^\s"\',;)]+', re.IGNORECASE)
JWT_RE = re.compile(r'eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*')


class CylanceError(DemistoException):
    """An API call that failed with an HTTP status (and the Retry-After it asked for, if any)."""

    def __init__(self, message: str, status: Optional[int] = None, retry_after: Optional[float] = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


# ---------------------------------------------------------------- pure helpers

def validate_package_id(package_id: Any) -> str:
    """The canonical (lower-case, hyphenated) form of a package UUID; a clear error for anything else."""
    if isinstance(package_id, list) and len(package_id) == 1:
        package_id = package_id[0]  # a playbook may pass a one-item list
    text = str(package_id if package_id is not None else '').strip()
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise DemistoException('package_id must be a package UUID such as e378dacb-9324-453a-b8c6-5a8406952195, got '
                               '"{}".'.format(text))


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    text = str(value).strip()
    try:
        seconds = float(text)
        return max(0.0, seconds) if seconds == seconds else None  # NaN is unreadable
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def server_message(res: requests.Response) -> str:
    """The human part of a Cylance error body, if it has one."""
    try:
        body = res.json()
    except ValueError:
        return ''
    if isinstance(body, dict):
        for key in ('message', 'Message', 'error_description', 'error'):
            if body.get(key):
                return str(body[key])[:500]
    return ''


def error_message(status: int, endpoint: str, scope: Optional[str], detail: str) -> str:
    token_call = endpoint == TOKEN_ENDPOINT
    if status == 400 and token_call:
        meaning = ('Bad request - Cylance refused the authentication JWT: its exp/iat window (exp at most 30 minutes '
                   'after iat; check the clock of the XSOAR host) or its claims (tenant ID, application ID).')
    elif status == 400:
        meaning = 'Bad request - Cylance rejected the request parameters.'
    elif status == 401 and token_call:
        meaning = ('Unauthorized - Cylance rejected the application credentials; check the application ID, the '
                   'application secret and the tenant ID.')
    elif status == 401:
        meaning = ('Unauthorized - the access token was rejected even after a new one was requested; check the '
                   'application ID, the application secret and the tenant ID.')
    elif status == 403:
        meaning = ('Forbidden. The application lacks the {} scope; grant that permission to the application in the '
                   'Cylance console (Settings > Integrations).'.format(scope or 'required'))
    elif status == 404:
        meaning = ('Not found - check that the server URL is the API host of your region ({}).'.format(
            ', '.join(REGIONAL_HOSTS)))
    elif status == 429:
        meaning = 'Too many requests - Cylance rate limited the application.'
    elif status >= 500:
        meaning = 'Cylance server error.'
    else:
        meaning = 'Unexpected HTTP status.'
    message = 'Cylance API call {} failed with status {}. {}'.format(endpoint, status, meaning)
    return message + (' Server message: {}'.format(detail) if detail else '')


def download_error_message(status: int, host: str) -> str:
    if status in (401, 403):
        meaning = ('the storage host refused the pre-signed download URL (it may have expired); run the command '
                   'again for a fresh URL.')
    elif status == 404:
        meaning = 'the package file is not on the storage host.'
    elif status == 429 or status >= 500:
        meaning = 'the storage host is busy or failing; try again later.'
    else:
        meaning = 'unexpected HTTP status.'
    return 'The package download from {} failed with status {}: {}'.format(host, status, meaning)


def connection_error(endpoint: str, exc: BaseException) -> DemistoException:
    """A plain message for a request that got no HTTP answer (never the request's URL or headers)."""
    if isinstance(exc, requests.exceptions.SSLError):
        reason = 'SSL Certificate Verification Failed - check the server URL, or select "Trust any certificate"'
    elif isinstance(exc, requests.exceptions.ProxyError):
        reason = 'the proxy failed; check the "Use system proxy settings" setting'
    elif isinstance(exc, requests.exceptions.ConnectTimeout):
        reason = 'no connection in time'
    elif isinstance(exc, requests.exceptions.Timeout):
        reason = 'no reply in time; the timeout setting may be too short'
    elif isinstance(exc, requests.exceptions.ConnectionError):
        reason = 'connection problem: the host could not be reached or closed the connection'
    else:
        reason = 'connection problem'
    return DemistoException('Cylance API call {} failed: {} ({}). Check the server URL and the network.'.format(
        endpoint, type(exc).__name__, reason), exception=exc)


def token_expiry(token: str) -> float:
    """Epoch seconds when an access token expires: its exp claim if it is a JWT, else 30 minutes from now."""
    try:
        exp = jwt.decode(token, options={'verify_signature': False}).get('exp')
        return float(exp) if exp else time.time() + ASSUMED_TOKEN_LIFETIME_SECONDS
    except Exception:  # not a JWT (or an odd one): assume the documented 30-minute lifetime
        return time.time() + ASSUMED_TOKEN_LIFETIME_SECONDS


def url_origin(url: str) -> Tuple[str, str, Optional[int]]:
    """(scheme, host, port) with the default port filled in: what decides whether two URLs are the same server."""
    parsed = urlparse(url)
    scheme = (parsed.scheme or '').lower()
    try:
        port = parsed.port
    except ValueError:
        port = None
    return scheme, (parsed.hostname or '').lower(), port or {'https': 443, 'http': 80}.get(scheme)


def package_summary(package: Dict[str, Any]) -> Dict[str, Any]:
    descriptor = package.get('packageDescriptor') if isinstance(package.get('packageDescriptor'), dict) else {}
    info = descriptor.get('packageInfo') if isinstance(descriptor.get('packageInfo'), dict) else {}
    uploaded_by = package.get('uploadedBy') if isinstance(package.get('uploadedBy'), dict) else {}
    return {'Name': descriptor.get('name'), 'Version': descriptor.get('version'), 'Status': package.get('status'),
            'Category': package.get('category'), 'Size': package.get('size'),
            'Uploaded By': uploaded_by.get('login') or uploaded_by.get('id'), 'Uploaded On': package.get('uploadedOn'),
            'Entry Point': info.get('entryPoint'), 'File Name': info.get('fileName'),
            'File Type': info.get('fileType'), 'Playbook Count': package.get('playbookCount'),
            'Download URL': package.get('downloadUrl'), 'Package ID': package.get('packageId')}


def require_package(body: Any, endpoint: str) -> Dict[str, Any]:
    """The seed fields of one package, or a clear error naming the endpoint."""
    if not isinstance(body, dict) or not body.get('packageId'):
        raise DemistoException('Cylance API call {} returned an unexpected reply: no package with a packageId.'
                               .format(endpoint))
    return {key: body.get(key) for key in PACKAGE_FIELDS if key in body}


def require_page(body: Any, endpoint: str = LIST_ENDPOINT) -> Dict[str, Any]:
    """A paging envelope with a page_items list, or a clear error naming the endpoint."""
    if not isinstance(body, dict) or not isinstance(body.get('page_items'), list):
        raise DemistoException('Cylance API call {} returned an unexpected reply: no page_items list.'.format(endpoint))
    return body


def package_size(value: Any) -> Optional[int]:
    """The declared size in bytes (a number or a digit string), or None when the package does not say."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def safe_file_name(name: str) -> str:
    """A file name without folders or characters that break war-room file names."""
    name = re.split(r'[\\/]', str(name or ''))[-1]
    name = re.sub(r'[\x00-\x1f<>:"|?*]', '_', name).strip(' .')
    return name or 'package.zip'


def new_war_room_file_path() -> Tuple[str, str]:
    """(file id, path) where XSOAR expects a file entry's content: <investigation id>_<unique id> in the cwd."""
    file_id = demisto.uniqueFile()
    return file_id, '{}_{}'.format(demisto.investigation()['id'], file_id)


def file_entry(file_name: str, file_id: str) -> Dict[str, Any]:
    """The war-room file entry for content already written at new_war_room_file_path()."""
    return {'Contents': '', 'ContentsFormat': formats['text'], 'Type': entryTypes['file'],
            'File': file_name, 'FileID': file_id}


def remove_quietly(path: Optional[str]) -> None:
    if path and os.path.exists(path):
        try:
            os.remove(path)
        except OSError:
            demisto.debug('could not remove {}'.format(path))


# ---------------------------------------------------------------- client

class Client(BaseClient):
    """One method per Cylance endpoint; access tokens are cached per scope in the integration context."""

    def __init__(self, base_url: str, app_id: str, app_secret: str, tenant_id: str, verify: bool = True,
                 proxy: bool = False, timeout: int = DEFAULT_TIMEOUT_SECONDS, max_retries: int = DEFAULT_MAX_RETRIES,
                 sleep: Optional[Callable[[float], None]] = None):
        super().__init__(base_url=base_url.rstrip('/'), verify=verify, proxy=proxy)
        self._app_id = app_id
        self._app_secret = app_secret
        self._tenant_id = tenant_id
        self._request_timeout = timeout
        self._max_retries = max_retries
        self._sleep = sleep or time.sleep
        self.api_origin = url_origin(self._base_url)
        self.known_tokens: List[str] = []  # every access token this run used, so errors can be redacted

    # -- auth

    def make_auth_jwt(self, scope: str) -> str:
        now = int(time.time())
        claims = {'exp': now + JWT_LIFETIME_SECONDS, 'iat': now, 'iss': JWT_ISSUER, 'sub': self._app_id,
                  'tid': self._tenant_id, 'jti': str(uuid.uuid4()), 'scp': scope}
        token = jwt.encode(claims, self._app_secret, algorithm='HS256')
        return token.decode('utf-8') if isinstance(token, bytes) else token  # PyJWT 1.x returns bytes

    def request_token(self, scope: str) -> str:
        res = self._send(TOKEN_ENDPOINT, 'POST', '/auth/v2/token', scope=scope, send_token=False,
                         json_data={'auth_token': self.make_auth_jwt(scope)})
        try:
            body = res.json()
        except ValueError:
            body = None
        token = body.get('access_token') if isinstance(body, dict) else None
        if not token or not isinstance(token, str):
            raise DemistoException('Cylance API call {} returned no access_token{}.'.format(
                TOKEN_ENDPOINT, '' if isinstance(body, dict) else ' (the reply is not a JSON object)'))
        self.known_tokens.append(token)
        return token

    def get_token(self, scope: str, refresh: bool = False) -> str:
        """The cached access token for scope, or a new one when there is none, it expires soon, or refresh is set."""
        context = get_integration_context() or {}
        tokens = context.get('tokens') if isinstance(context.get('tokens'), dict) else {}
        cached = tokens.get(scope) if isinstance(tokens.get(scope), dict) else {}
        expires = cached.get('expires') if isinstance(cached.get('expires'), (int, float)) else 0
        if not refresh and isinstance(cached.get('token'), str) and cached['token'] and \
                expires - TOKEN_REFRESH_MARGIN_SECONDS > time.time():
            self.known_tokens.append(cached['token'])
            return cached['token']
        token = self.request_token(scope)
        tokens = dict(tokens)
        tokens[scope] = {'token': token, 'expires': token_expiry(token)}
        set_integration_context(dict(context, tokens=tokens))
        return token

    # -- plumbing

    def _error_handler(self, endpoint: str, scope: Optional[str]) -> Callable[[requests.Response], None]:
        def handle(res: requests.Response) -> None:
            raise CylanceError(error_message(res.status_code, endpoint, scope, server_message(res)),
                               status=res.status_code, retry_after=parse_retry_after(res.headers.get('Retry-After')))
        return handle

    @staticmethod
    def _storage_error_handler(host: str) -> Callable[[requests.Response], None]:
        def handle(res: requests.Response) -> None:
            raise CylanceError(download_error_message(res.status_code, host), status=res.status_code,
                               retry_after=parse_retry_after(res.headers.get('Retry-After')))
        return handle

    def _send(self, endpoint: str, method: str, url_suffix: str = '', scope: Optional[str] = None,
              send_token: bool = True, full_url: Optional[str] = None, accept: Optional[str] = 'application/json',
              error_handler: Optional[Callable[[requests.Response], None]] = None, **kwargs: Any) -> requests.Response:
        """One call: the bearer token for scope (if send_token), one token refresh on 401, bounded retries on
        429/5xx that honour Retry-After (capped), and clear messages for failures without an HTTP answer."""
        attempt, refreshed = 0, False
        while True:
            headers = {'Accept': accept} if accept else {}
            if send_token and scope:
                headers['Authorization'] = 'Bearer ' + self.get_token(scope, refresh=refreshed)
            try:
                return self._http_request(method, url_suffix, full_url=full_url, headers=headers,
                                          resp_type='response', timeout=self._request_timeout,
                                          error_handler=error_handler or self._error_handler(endpoint, scope),
                                          **kwargs)
            except CylanceError as error:
                if error.status == 401 and send_token and not refreshed:
                    refreshed = True  # the cached token may have been revoked or have expired early
                    demisto.debug('{} answered 401, requesting a new {} token once'.format(endpoint, scope))
                    continue
                if error.status not in RETRYABLE_STATUSES or attempt >= self._max_retries:
                    if error.status in RETRYABLE_STATUSES:
                        raise CylanceError('{} Gave up after {} attempts.'.format(error.message, attempt + 1),
                                           status=error.status)
                    raise
                wait = min(error.retry_after if error.retry_after is not None else 2 ** attempt,
                           MAX_RETRY_WAIT_SECONDS)
                demisto.debug('{} answered {}, retry {} in {}s'.format(endpoint, error.status, attempt + 1, wait))
                self._sleep(wait)
                attempt += 1
            except DemistoException as error:  # BaseClient wraps connection, TLS and proxy failures
                if isinstance(getattr(error, 'exception', None), requests.exceptions.RequestException):
                    raise connection_error(endpoint, error.exception)
                raise
            except requests.exceptions.RequestException as exc:  # read timeouts are not wrapped by BaseClient
                raise connection_error(endpoint, exc)

    @staticmethod
    def _json(endpoint: str, res: requests.Response) -> Any:
        try:
            return res.json()
        except ValueError:
            raise DemistoException('Cylance API call {} returned a reply that is not JSON (status {}, Content-Type '
                                   '"{}").'.format(endpoint, res.status_code, res.headers.get('Content-Type', '')))
        except requests.exceptions.RequestException as exc:
            raise DemistoException('Cylance API call {} broke off while reading the reply ({}).'.format(
                endpoint, type(exc).__name__))

    # -- endpoints

    def get_package(self, package_id: str) -> Any:
        try:
            res = self._send(GET_ENDPOINT, 'GET', '/packages/v2/' + package_id, scope=SCOPE_READ)
        except CylanceError as error:
            if error.status == 404:
                raise CylanceError('Package {} was not found (status 404).'.format(package_id), status=404)
            raise
        return self._json(GET_ENDPOINT, res)

    def list_packages(self, page: int, page_size: int, sort: Optional[str] = None,
                      category: Optional[str] = None) -> Any:
        params = assign_params(page=page, page_size=page_size, sort=sort, category=category)
        return self._json(LIST_ENDPOINT, self._send(LIST_ENDPOINT, 'GET', '/packages/v2', scope=SCOPE_LIST,
                                                    params=params))

    def download(self, url: str, dest_path: str, expected_size: Optional[int]) -> Tuple[int, str]:
        """Stream the package at url to dest_path: (bytes, sha256). The bearer token is sent only when url is on
        the configured API server (same scheme, host and port); a pre-signed storage URL gets no Authorization.
        The file is removed on any failure, including a byte count that differs from expected_size."""
        same_server = url_origin(url) == self.api_origin
        host = urlparse(url).hostname or 'the download host'
        res = self._send(DOWNLOAD_ENDPOINT, 'GET', full_url=url, scope=SCOPE_READ, send_token=same_server,
                         accept=None, stream=True,
                         error_handler=None if same_server else self._storage_error_handler(host))
        size = 0
        digest = hashlib.sha256()
        try:
            with open(dest_path, 'wb') as target:
                for chunk in res.iter_content(CHUNK_SIZE):
                    if not chunk:
                        continue
                    size += len(chunk)
                    if expected_size is not None and size > expected_size:
                        raise DemistoException('the download exceeds the declared size: the package size is {} '
                                               'bytes; the file was discarded.'.format(expected_size))
                    digest.update(chunk)
                    target.write(chunk)
            if expected_size is not None and size != expected_size:
                raise DemistoException('the download has {} bytes but the package size is {} bytes; the file was '
                                       'discarded.'.format(size, expected_size))
            return size, digest.hexdigest()
        except requests.exceptions.RequestException as exc:
            remove_quietly(dest_path)
            raise DemistoException('the download broke off after {} bytes ({}).'.format(size, type(exc).__name__))
        except BaseException:
            remove_quietly(dest_path)
            raise
        finally:
            res.close()


# ---------------------------------------------------------------- commands

def test_module(client: Client) -> str:
    """A real call (list one package): credentials, tenant, scope and server URL must all be right."""
    try:
        body = client.list_packages(page=1, page_size=1)
    except CylanceError as error:
        if error.status in (400, 401, 403, 404):
            return error.message
        raise
    require_page(body)
    return 'ok'


def get_package_command(client: Client, args: Dict[str, Any]) -> CommandResults:
    package_id = validate_package_id(args.get('package_id'))
    package = require_package(client.get_package(package_id), GET_ENDPOINT)
    summary = package_summary(package)
    descriptor = package.get('packageDescriptor') if isinstance(package.get('packageDescriptor'), dict) else {}
    examples = descriptor.get('examples') if isinstance(descriptor.get('examples'), list) else []
    readable = tableToMarkdown('Cylance Optics package {}'.format(summary['Name'] or package_id), summary,
                               headers=list(summary))
    readable += tableToMarkdown('Examples', [{'Description': e.get('description'),
                                              'Invocation': e.get('invocationString')}
                                             for e in examples if isinstance(e, dict)],
                                headers=['Description', 'Invocation'])
    return CommandResults(outputs_prefix=CONTEXT_PREFIX, outputs_key_field='packageId', outputs=package,
                          readable_output=readable, raw_response=package)


def list_packages_command(client: Client, args: Dict[str, Any]) -> CommandResults:
    page = arg_to_number(args.get('page'), arg_name='page')
    page = 1 if page is None else page
    page_size = arg_to_number(args.get('page_size'), arg_name='page_size')
    page_size = DEFAULT_PAGE_SIZE if page_size is None else page_size
    limit = arg_to_number(args.get('limit'), arg_name='limit')
    sort = str(args.get('sort') or '').strip() or None
    category = str(args.get('category') or '').strip().lower() or None
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise DemistoException('page must be 1 or more and page_size between 1 and {}.'.format(MAX_PAGE_SIZE))
    if limit is not None and limit < 1:
        raise DemistoException('limit must be 1 or more.')
    if category and category not in CATEGORIES:
        raise DemistoException('category must be custom or cylance, got "{}".'.format(args.get('category')))
    packages: List[Dict[str, Any]] = []
    total = None
    pages_read = 0
    more = False
    while pages_read < MAX_PAGES:
        body = require_page(client.list_packages(page, page_size, sort, category))
        pages_read += 1
        total = body.get('total_number_of_items', total)
        packages.extend(require_package(item, LIST_ENDPOINT) for item in body['page_items'])
        total_pages = body.get('total_pages')
        last_page = not body['page_items'] or (isinstance(total_pages, int) and page >= total_pages)
        more = not last_page
        if limit is None or len(packages) >= limit or last_page:
            break
        page += 1
    if limit is not None:
        packages = packages[:limit]
    rows = [package_summary(p) for p in packages]
    title = 'Cylance Optics packages ({} of {})'.format(len(packages), total) if isinstance(total, int) else \
        'Cylance Optics packages ({})'.format(len(packages))
    readable = tableToMarkdown(title, rows, headers=['Package ID', 'Name', 'Version', 'Status', 'Category', 'Size',
                                                     'Uploaded On'])
    if limit is not None and len(packages) < limit and more:
        readable += '\nStopped after {} pages; run again with page={} for more.'.format(MAX_PAGES, page)
    return CommandResults(outputs_prefix=CONTEXT_PREFIX, outputs_key_field='packageId', outputs=packages,
                          readable_output=readable, raw_response=packages)


def download_package_command(client: Client, args: Dict[str, Any]) -> List[Any]:
    package_id = validate_package_id(args.get('package_id'))
    package = require_package(client.get_package(package_id), GET_ENDPOINT)
    url = package.get('downloadUrl')
    if not isinstance(url, str) or not url.strip().lower().startswith(('https://', 'http://')):
        raise DemistoException('Package {} has no download URL (status {}).'.format(package_id, package.get('status')))
    summary = package_summary(package)
    name = safe_file_name(summary['File Name'] or '{}.zip'.format(package_id))
    expected = package_size(package.get('size'))
    file_id, path = new_war_room_file_path()
    try:
        size, sha256 = client.download(url.strip(), path, expected)
    except DemistoException as error:
        remove_quietly(path)
        raise CylanceError('Package {} could not be downloaded: {}'.format(package_id, error.message),
                           status=getattr(error, 'status', None))
    output = {'packageId': package_id, 'downloadedFileName': name, 'downloadedSize': size,
              'downloadedSHA256': sha256}
    readable = tableToMarkdown('Downloaded Cylance Optics package {}'.format(summary['Name'] or package_id), {
        'Package ID': package_id, 'Name': summary['Name'], 'Version': summary['Version'], 'File Name': name,
        'Size': size, 'SHA256': sha256}, headers=['Package ID', 'Name', 'Version', 'File Name', 'Size', 'SHA256'])
    return [CommandResults(outputs_prefix=CONTEXT_PREFIX, outputs_key_field='packageId', outputs=output,
                           readable_output=readable, raw_response=output),
            file_entry(name, file_id)]


COMMANDS: Dict[str, Callable[[Client, Dict[str, Any]], Any]] = {
    'cylance-optics-get-package': get_package_command,
    'cylance-optics-list-packages': list_packages_command,
    'cylance-optics-download-package': download_package_command,
}


def redact(text: str, secrets_to_hide: Iterable[str]) -> str:
    """text without the given secrets, bearer tokens or JWTs (the signed auth_token is as good as the secret)."""
    text = JWT_RE.sub('<redacted token>', BEARER_RE.sub('<redacted token>', text))
    for value in sorted({str(v) for v in secrets_to_hide if v}, key=len, reverse=True):
        if len(value) >= 4:
            text = text.replace(value, '<redacted>')
    return text


def cached_tokens() -> List[str]:
    """The access tokens in the integration context (best effort: for redaction only)."""
    try:
        tokens = (get_integration_context() or {}).get('tokens') or {}
        return [entry.get('token') for entry in tokens.values() if isinstance(entry, dict) and entry.get('token')]
    except Exception:  # redaction must never fail the error path
        return []


def param_secrets(params: Dict[str, Any]) -> List[str]:
    tenant = params.get('tenant_id')
    return [str((params.get('credentials') or {}).get('password') or ''),
            str((tenant.get('password') if isinstance(tenant, dict) else tenant) or '')]


def client_from_params(params: Dict[str, Any]) -> Client:
    url = str(params.get('url') or DEFAULT_URL).strip()
    if not url.lower().startswith(('https://', 'http://')):
        raise DemistoException('Server URL must start with https:// (for example {}).'.format(DEFAULT_URL))
    credentials = params.get('credentials') or {}
    app_id = str(credentials.get('identifier') or '').strip()
    app_secret = str(credentials.get('password') or '').strip()
    tenant = params.get('tenant_id')
    tenant_id = str((tenant.get('password') if isinstance(tenant, dict) else tenant) or '').strip()
    if not app_id or not app_secret or not tenant_id:
        raise DemistoException('Application ID, application secret and tenant ID are all required.')
    timeout = arg_to_number(params.get('timeout'), arg_name='timeout') or DEFAULT_TIMEOUT_SECONDS
    return Client(url, app_id, app_secret, tenant_id, verify=not argToBoolean(params.get('insecure', False)),
                  proxy=argToBoolean(params.get('proxy', False)), timeout=timeout)


def main() -> None:  # pragma: no cover - exercised through the runner and the end-to-end tests
    params = demisto.params()
    command = demisto.command()
    demisto.debug('Command being called is {}'.format(command))
    client: Optional[Client] = None
    failure = None
    try:
        client = client_from_params(params)
        if command == 'test-module':
            return_results(test_module(client))
        elif command in COMMANDS:
            return_results(COMMANDS[command](client, demisto.args()))
        else:
            raise NotImplementedError('Command {} is not implemented.'.format(command))
    except Exception as error:
        failure = str(error) if isinstance(error, (DemistoException, NotImplementedError, ValueError)) \
            else '{}: {}'.format(type(error).__name__, error)  # an unexpected failure: say what kind
    if failure is not None:
        # Reported outside the except block: return_error logs the active traceback, whose text is not redacted.
        hidden = param_secrets(params) + (client.known_tokens if client else []) + cached_tokens()
        return_error('Failed to execute {} command.\nError:\n{}'.format(command, redact(failure, hidden)))


if __name__ in ('__main__', '__builtin__', 'builtins'):
    main()
