"""Cylance Optics - Packages.

Get, list and download Cylance PROTECT Optics packages (`/packages/v2`). Auth: an HS256 JWT signed with the
application secret is exchanged at `/auth/v2/token` for a bearer token carrying the scope a command needs.
"""
import demistomock as demisto  # noqa: F401
from CommonServerPython import *  # noqa: F401

import os
import re
import time
import uuid
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import urlparse

import jwt
import requests

INTEGRATION_NAME = 'Cylance Optics - Packages'
CONTEXT_PREFIX = 'CylanceOptics.Package'
DEFAULT_URL = 'https://protectapi.cylance.com'
JWT_ISSUER = 'http://cylance.com'
JWT_LIFETIME_SECONDS = 25 * 60  # the API rejects exp more than 30 minutes after iat
TOKEN_REFRESH_MARGIN_SECONDS = 120
SCOPE_READ = 'opticspkgconfig:read'
SCOPE_LIST = 'opticspkgconfig:list'

RETRYABLE_STATUSES = (429, 500, 502, 503, 504)
DEFAULT_MAX_RETRIES = 3
MAX_RETRY_WAIT_SECONDS = 60
DEFAULT_TIMEOUT_SECONDS = 60
CHUNK_SIZE = 1024 * 1024
MAX_PAGE_SIZE = 200
MAX_PAGES = 100
PACKAGE_FIELDS = ('category', 'downloadUrl', 'packageDescriptor', 'packageId', 'playbookCount', 'size', 'status',
                  'timeout', 'uploadedBy', 'uploadedOn')


class CylanceError(DemistoException):
    def __init__(self, message: str, status: Optional[int] = None, retry_after: Optional[float] = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


# ---------------------------------------------------------------- pure helpers

def validate_package_id(package_id: Any) -> str:
    if isinstance(package_id, list) and len(package_id) == 1:
        package_id = package_id[0]  # a playbook may pass a one-item list
    text = str(package_id or '').strip()
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise DemistoException('package_id must be a package UUID such as e378dacb-9324-453a-b8c6-5a8406952195, got '
                               '"{}".'.format(text))


def parse_retry_after(value: Optional[str]) -> Optional[float]:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def server_message(res: requests.Response) -> str:
    try:
        body = res.json()
    except ValueError:
        return ''
    if isinstance(body, dict):
        for key in ('message', 'Message', 'error_description', 'error'):
            if body.get(key):
                return str(body[key])
    return ''


def error_message(status: int, endpoint: str, scope: Optional[str], detail: str) -> str:
    meanings = {
        400: 'Bad request - Cylance rejected the request (for a token request this can mean the JWT exp/iat '
             'window or claims were refused).',
        401: 'Unauthorized - check the application ID, application secret and tenant ID.',
        403: 'Forbidden - the application lacks the {} scope; grant it to the application in the Cylance '
             'console.'.format(scope or 'required'),
        404: 'Not found.',
        429: 'Too many requests - Cylance rate limited the application.',
    }
    meaning = meanings.get(status) or ('Cylance server error.' if status >= 500 else 'Unexpected HTTP status.')
    message = 'Cylance API call {} failed with status {}. {}'.format(endpoint, status, meaning)
    return message + (' Server message: {}'.format(detail) if detail else '')


def token_expiry(token: str) -> float:
    """Epoch seconds when a bearer token expires: its exp claim if it is a JWT, else 30 minutes from now."""
    try:
        exp = jwt.decode(token, options={'verify_signature': False}).get('exp')
        return float(exp) if exp else time.time() + 30 * 60
    except Exception:  # not a JWT: assume the documented 30-minute lifetime
        return time.time() + 30 * 60


def package_summary(package: Dict[str, Any]) -> Dict[str, Any]:
    descriptor = package.get('packageDescriptor') or {}
    info = descriptor.get('packageInfo') or {}
    uploaded_by = package.get('uploadedBy') or {}
    return {'Name': descriptor.get('name'), 'Version': descriptor.get('version'), 'Status': package.get('status'),
            'Category': package.get('category'), 'Size': package.get('size'),
            'Uploaded By': uploaded_by.get('login') or uploaded_by.get('id'), 'Uploaded On': package.get('uploadedOn'),
            'Entry Point': info.get('entryPoint'), 'File Type': info.get('fileType'),
            'Playbook Count': package.get('playbookCount'), 'Download URL': package.get('downloadUrl'),
            'Package ID': package.get('packageId')}


def require_package(body: Any, endpoint: str) -> Dict[str, Any]:
    if not isinstance(body, dict) or not body.get('packageId'):
        raise DemistoException('Cylance API call {} returned an unexpected reply: no package with a packageId.'
                               .format(endpoint))
    return {key: body.get(key) for key in PACKAGE_FIELDS if key in body}


def safe_file_name(name: str) -> str:
    name = re.split(r'[\\/]', str(name or ''))[-1]
    name = re.sub(r'[\x00-\x1f<>:"|?*]', '_', name).strip(' .')
    return name or 'package.zip'


def new_war_room_file_path() -> Tuple[str, str]:
    file_id = demisto.uniqueFile()
    return file_id, '{}_{}'.format(demisto.investigation()['id'], file_id)


def remove_quietly(path: str) -> None:
    try:
        if os.path.exists(path):
            os.remove(path)
    except OSError:
        demisto.debug('could not remove {}'.format(path))


# ---------------------------------------------------------------- client

class Client(BaseClient):
    """One method per Cylance endpoint; tokens are cached per scope in the integration context."""

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
        self.api_host = urlparse(self._base_url).netloc.lower()

    # -- auth

    def make_auth_jwt(self, scope: str) -> str:
        now = int(time.time())
        claims = {'exp': now + JWT_LIFETIME_SECONDS, 'iat': now, 'iss': JWT_ISSUER, 'sub': self._app_id,
                  'tid': self._tenant_id, 'jti': str(uuid.uuid4()), 'scp': scope}
        return jwt.encode(claims, self._app_secret, algorithm='HS256')

    def request_token(self, scope: str) -> str:
        res = self._send('auth/v2/token', 'POST', '/auth/v2/token', scope, auth=False,
                         json_data={'auth_token': self.make_auth_jwt(scope)})
        try:
            token = res.json().get('access_token')
        except (ValueError, AttributeError):
            token = None
        if not token or not isinstance(token, str):
            raise DemistoException('Cylance API call auth/v2/token returned no access_token.')
        return token

    def get_token(self, scope: str, refresh: bool = False) -> str:
        context = get_integration_context() or {}
        cached = (context.get('tokens') or {}).get(scope) or {}
        if not refresh and cached.get('token') and cached.get('expires', 0) - TOKEN_REFRESH_MARGIN_SECONDS > time.time():
            return cached['token']
        token = self.request_token(scope)
        tokens = dict(context.get('tokens') or {})
        tokens[scope] = {'token': token, 'expires': token_expiry(token)}
        set_integration_context(dict(context, tokens=tokens))
        return token

    # -- plumbing

    def _error_handler(self, endpoint: str, scope: Optional[str]) -> Callable[[requests.Response], None]:
        def handle(res: requests.Response) -> None:
            raise CylanceError(error_message(res.status_code, endpoint, scope, server_message(res)),
                               status=res.status_code, retry_after=parse_retry_after(res.headers.get('Retry-After')))
        return handle

    def _send(self, endpoint: str, method: str, url_suffix: str, scope: str, auth: bool = True,
              **kwargs: Any) -> requests.Response:
        """One API call: bearer token for `scope`, one token refresh on 401, bounded retries on 429/5xx."""
        attempt, refreshed = 0, False
        while True:
            headers = {'Accept': 'application/json'}
            if auth:
                headers['Authorization'] = 'Bearer ' + self.get_token(scope, refresh=refreshed)
            try:
                return self._http_request(method, url_suffix, headers=headers, resp_type='response',
                                          timeout=self._request_timeout,
                                          error_handler=self._error_handler(endpoint, scope), **kwargs)
            except CylanceError as error:
                if error.status == 401 and auth and not refreshed:
                    refreshed = True  # the cached token may have been revoked or expired early
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
            except requests.exceptions.RequestException as exc:
                raise DemistoException('Cylance API call {} failed: {} ({}). Check the server URL and the '
                                       'network.'.format(endpoint, type(exc).__name__,
                                                         'no reply in time' if isinstance(
                                                             exc, requests.exceptions.Timeout)
                                                         else 'connection problem'))

    def _json(self, endpoint: str, res: requests.Response) -> Any:
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
        endpoint = 'packages/v2/{id}'
        try:
            res = self._send(endpoint, 'GET', '/packages/v2/' + package_id, SCOPE_READ)
        except CylanceError as error:
            if error.status == 404:
                raise CylanceError('Package {} was not found (status 404).'.format(package_id), status=404)
            raise
        return self._json(endpoint, res)

    def list_packages(self, page: int, page_size: int, sort: Optional[str], category: Optional[str]) -> Any:
        params = assign_params(page=page, page_size=page_size, sort=sort, category=category)
        return self._json('packages/v2', self._send('packages/v2', 'GET', '/packages/v2', SCOPE_LIST, params=params))

    def download(self, url: str, dest_path: str, expected_size: Optional[int]) -> int:
        """Stream the package to dest_path. The bearer token goes only to the configured API host."""
        same_host = urlparse(url).netloc.lower() == self.api_host
        headers = {'Authorization': 'Bearer ' + self.get_token(SCOPE_READ)} if same_host else {}
        size = 0
        try:
            res = self._http_request('GET', full_url=url, headers=headers, resp_type='response', stream=True,
                                     timeout=self._request_timeout,
                                     error_handler=self._error_handler('package download', SCOPE_READ))
            with open(dest_path, 'wb') as target:
                for chunk in res.iter_content(CHUNK_SIZE):
                    size += len(chunk)
                    if expected_size is not None and size > expected_size:
                        raise DemistoException('the package download is larger than its size ({} bytes).'.format(
                            expected_size))
                    target.write(chunk)
            res.close()
        except requests.exceptions.RequestException as exc:
            remove_quietly(dest_path)
            raise DemistoException('the package download broke off after {} bytes ({}).'.format(size,
                                                                                               type(exc).__name__))
        except Exception:
            remove_quietly(dest_path)
            raise
        if expected_size is not None and size != expected_size:
            remove_quietly(dest_path)
            raise DemistoException('the downloaded package has {} bytes but its size is {}; the file was discarded.'
                                   .format(size, expected_size))
        return size


# ---------------------------------------------------------------- commands

def test_module(client: Client) -> str:
    try:
        body = client.list_packages(page=1, page_size=1, sort=None, category=None)
    except CylanceError as error:
        if error.status in (400, 401, 403):
            return error.message
        raise
    if not isinstance(body, dict) or not isinstance(body.get('page_items'), list):
        raise DemistoException('Cylance API call packages/v2 returned an unexpected reply: no page_items list. '
                               'Check the server URL.')
    return 'ok'


def get_package_command(client: Client, args: Dict[str, Any]) -> List[CommandResults]:
    package_id = validate_package_id(args.get('package_id'))
    package = require_package(client.get_package(package_id), 'packages/v2/{id}')
    examples = (package.get('packageDescriptor') or {}).get('examples') or []
    readable = tableToMarkdown('Cylance Optics package {}'.format(package_id), package_summary(package),
                               headers=list(package_summary(package)))
    readable += tableToMarkdown('Examples', [{'Description': e.get('description'),
                                              'Invocation': e.get('invocationString')}
                                             for e in examples if isinstance(e, dict)],
                                headers=['Description', 'Invocation'])
    return [CommandResults(outputs_prefix=CONTEXT_PREFIX, outputs_key_field='packageId', outputs=package,
                           readable_output=readable, raw_response=package)]


def list_packages_command(client: Client, args: Dict[str, Any]) -> CommandResults:
    page = arg_to_number(args.get('page'), arg_name='page') or 1
    page_size = arg_to_number(args.get('page_size'), arg_name='page_size') or 20
    limit = arg_to_number(args.get('limit'), arg_name='limit')
    category = str(args.get('category') or '').strip() or None
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise DemistoException('page must be 1 or more and page_size between 1 and {}.'.format(MAX_PAGE_SIZE))
    if limit is not None and limit < 1:
        raise DemistoException('limit must be 1 or more.')
    if category and category not in ('custom', 'cylance'):
        raise DemistoException('category must be custom or cylance.')
    packages: List[Dict[str, Any]] = []
    total = None
    for _ in range(MAX_PAGES):
        body = client.list_packages(page, page_size, args.get('sort') or None, category)
        if not isinstance(body, dict) or not isinstance(body.get('page_items'), list):
            raise DemistoException('Cylance API call packages/v2 returned an unexpected reply: no page_items list.')
        total = body.get('total_number_of_items', total)
        packages.extend(require_package(item, 'packages/v2') for item in body['page_items'])
        total_pages = body.get('total_pages')
        if limit is None or len(packages) >= limit or not body['page_items'] or \
                (isinstance(total_pages, int) and page >= total_pages):
            break
        page += 1
    if limit is not None:
        packages = packages[:limit]
    rows = [package_summary(p) for p in packages]
    readable = tableToMarkdown('Cylance Optics packages ({} of {})'.format(len(packages), total), rows,
                               headers=['Package ID', 'Name', 'Version', 'Status', 'Category', 'Size', 'Uploaded On'])
    return CommandResults(outputs_prefix=CONTEXT_PREFIX, outputs_key_field='packageId', outputs=packages,
                          readable_output=readable, raw_response=packages)


def download_package_command(client: Client, args: Dict[str, Any]) -> List[Any]:
    package_id = validate_package_id(args.get('package_id'))
    package = require_package(client.get_package(package_id), 'packages/v2/{id}')
    url = package.get('downloadUrl')
    if not url or not str(url).lower().startswith(('https://', 'http://')):
        raise DemistoException('Package {} has no download URL (status {}).'.format(package_id, package.get('status')))
    info = (package.get('packageDescriptor') or {}).get('packageInfo') or {}
    name = safe_file_name(info.get('fileName') or '{}.zip'.format(package_id))
    expected = package.get('size') if isinstance(package.get('size'), int) else None
    file_id, path = new_war_room_file_path()
    size = client.download(str(url), path, expected)
    return [CommandResults(readable_output='Downloaded package {} ({} bytes) as {}.'.format(package_id, size, name),
                           outputs_prefix=CONTEXT_PREFIX, outputs_key_field='packageId',
                           outputs={'packageId': package_id, 'downloadedFileName': name, 'downloadedSize': size}),
            {'Contents': '', 'ContentsFormat': formats['text'], 'Type': entryTypes['file'], 'File': name,
             'FileID': file_id}]


COMMANDS: Dict[str, Callable[[Client, Dict[str, Any]], Any]] = {
    'cylance-optics-get-package': get_package_command,
    'cylance-optics-list-packages': list_packages_command,
    'cylance-optics-download-package': download_package_command,
}


def redact(text: str, secrets_to_hide: List[str]) -> str:
    for value in secrets_to_hide:
        if value and len(value) >= 4:
            text = text.replace(value, '<redacted>')
    return re.sub(r'Bearer\s+[A-Za-z0-9\-_.=]+', 'Bearer <redacted>', text)


def client_from_params(params: Dict[str, Any]) -> Client:
    url = (params.get('url') or DEFAULT_URL).strip()
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
    hidden = [str((params.get('credentials') or {}).get('password') or '')]
    demisto.debug('Command being called is {}'.format(command))
    try:
        client = client_from_params(params)
        if command == 'test-module':
            return_results(test_module(client))
        elif command in COMMANDS:
            return_results(COMMANDS[command](client, demisto.args()))
        else:
            raise NotImplementedError('Command {} is not implemented.'.format(command))
    except Exception as error:
        text = str(error) if isinstance(error, (DemistoException, NotImplementedError, ValueError)) \
            else '{}: {}'.format(type(error).__name__, error)  # an unexpected failure: say what kind
        return_error('Failed to execute {} command.\nError:\n{}'.format(command, redact(text, hidden)))


if __name__ in ('__main__', '__builtin__', 'builtins'):
    main()
