"""Cylance Optics - Packages.

Optics packages and package deployment through the Cylance PROTECT API: get, list and download packages,
create one from a War Room file, run packages on devices or zones and follow, list and delete the executions.

Auth: an HS256 JWT signed with the application secret is exchanged at `/auth/v2/token` for a bearer token
carrying exactly the scope a call needs. Bearer tokens are cached per scope in the integration context and
are only ever sent to the configured API host (never to the pre-signed storage URLs of uploads and downloads).
"""
import demistomock as demisto  # noqa: F401
from CommonServerPython import *  # noqa: F401

import hashlib
import json
import os
import re
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import urlparse

import jwt
import requests

# region constants

INTEGRATION_NAME = 'Cylance Optics - Packages'
VENDOR = 'Cylance'
PACKAGE_PREFIX = 'CylanceOptics.Package'
EXECUTION_PREFIX = 'CylanceOptics.Execution'
DEFAULT_URL = 'https://protectapi.cylance.com'
REGIONAL_HOSTS = ('protectapi.cylance.com', 'protectapi-apne1.cylance.com', 'protectapi-au.cylance.com',
                  'protectapi-euc1.cylance.com', 'protectapi-sae1.cylance.com')

JWT_ISSUER = 'http://cylance.com'
JWT_LIFETIME_SECONDS = 25 * 60  # the API rejects exp more than 30 minutes after iat (400)
ASSUMED_TOKEN_LIFETIME_SECONDS = 30 * 60  # for an access token that is not a JWT
TOKEN_REFRESH_MARGIN_SECONDS = 120

SCOPE_PACKAGE_READ = 'opticspkgconfig:read'
SCOPE_PACKAGE_LIST = 'opticspkgconfig:list'
SCOPE_PACKAGE_CREATE = 'opticspkgconfig:create'
SCOPE_EXECUTION_CREATE = 'opticspkgdeploy:create'
SCOPE_EXECUTION_READ = 'opticspkgdeploy:read'
SCOPE_EXECUTION_LIST = 'opticspkgdeploy:list'
SCOPE_EXECUTION_DELETE = 'opticspkgdeploy:delete'
TOKEN_ENDPOINT = 'auth/v2/token'

DEFAULT_TIMEOUT_SECONDS = 60
CHUNK_SIZE = 1024 * 1024
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 200
MAX_PAGES = 100
CATEGORIES = ('custom', 'cylance')
PACKAGE_FIELDS = ('category', 'downloadUrl', 'packageDescriptor', 'packageId', 'playbookCount', 'size', 'status',
                  'timeout', 'uploadedBy', 'uploadedOn')
EXECUTION_FIELDS = ('createdAt', 'createdBy', 'destination', 'deviceCount', 'deviceStatuses', 'id',
                    'keepResultsLocally', 'name', 'packageExecutions', 'target')
PACKAGE_DONE_STATUSES = ('success', 'failed', 'timeout')

MIN_POLLING_INTERVAL_SECONDS = 10  # the server's minimum for a scheduled command
DEFAULT_POLLING_INTERVAL_SECONDS = 30
DEFAULT_POLLING_TIMEOUT_SECONDS = 600
MAX_POLLING_TIMEOUT_SECONDS = 24 * 60 * 60
MAX_TARGETS = 1000
MAX_EXECUTIONS_PER_RUN = 50

TARGET_ID_RE = re.compile(r'^[0-9A-F]{32}$')
UUID_IN_TEXT_RE = re.compile(r'[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}')

# endregion

# region shared helpers (identical copy in every integration)

T = TypeVar('T')

RETRYABLE_STATUSES = (429, 502, 503, 504)
DEFAULT_MAX_RETRIES = 3
MAX_WAIT_PER_COMMAND_SECONDS = 15.0  # commands must return quickly; longer waits become a scheduled retry
MIN_SECRET_LENGTH = 6  # shorter values would redact ordinary words


class HTTPStatusError(DemistoException):
    """An API call answered with a failing HTTP status; retry_after is the wait the server asked for, if any."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class RateLimited(DemistoException):
    """The server asked us to wait longer than a command may wait."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


def parse_retry_after(value: Any, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None when absent or unreadable."""
    if value is None or str(value).strip() == '':
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(text).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, moment - (time.time() if now is None else now))


class RetryGate:
    """Retry pacing shared by every request of one command run, across worker threads.

    One Retry-After slows the whole pool (nobody sends before it has passed), and the total time spent
    waiting in one command is bounded: past the budget the caller gets RateLimited instead of a sleep.
    """

    def __init__(self, vendor: str, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, budget_seconds: float = MAX_WAIT_PER_COMMAND_SECONDS,
                 max_retries: int = DEFAULT_MAX_RETRIES):
        self.vendor = vendor
        self.max_retries = max_retries
        self._sleep = sleep
        self._clock = clock
        self._budget = budget_seconds
        self._waited = 0.0
        self._not_before = 0.0
        self._lock = threading.Lock()

    def wait_turn(self) -> None:
        """Sleep until a Retry-After another request received has passed."""
        with self._lock:
            delay = self._not_before - self._clock()
        if delay > 0:
            self._sleep(delay)

    def backoff(self, attempt: int, retry_after: float | None) -> None:
        """Wait before retry number attempt+1, or raise RateLimited when that would exceed the budget."""
        wait = retry_after if retry_after is not None else float(2 ** attempt)
        with self._lock:
            if self._waited + wait > self._budget:
                seconds = max(1, int(round(wait)))
                raise RateLimited(f'{self.vendor} is rate limiting or temporarily unavailable; try again in {seconds} s.',
                                  retry_after=wait)
            self._waited += wait
            self._not_before = max(self._not_before, self._clock() + wait)
        self._sleep(wait)


def call_with_retries(call: Callable[[], T], what: str, gate: RetryGate) -> T:
    """call(), again after 429/502/503/504 (Retry-After honoured through the shared gate), at most gate.max_retries
    more times; the final error says how many attempts were made."""
    attempt = 0
    while True:
        gate.wait_turn()
        try:
            return call()
        except HTTPStatusError as error:
            if error.status not in RETRYABLE_STATUSES:
                raise
            if attempt >= gate.max_retries:
                raise HTTPStatusError(f'{error.message} Gave up after {attempt + 1} attempts.',
                                      status=error.status) from None
            demisto.debug(f'{what} answered {error.status}, retry {attempt + 1}')
            gate.backoff(attempt, error.retry_after)
            attempt += 1


def run_bounded(func: Callable[[Any], Any], items: list[Any], max_workers: int) -> list[Any]:
    """func over items with at most max_workers at once; results in input order, the first failure re-raised."""
    if len(items) <= 1 or max_workers <= 1:
        return [func(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(max_workers, len(items))) as pool:
        futures = [pool.submit(func, item) for item in items]
        return [future.result() for future in futures]


def single_arg(args: dict[str, Any], name: str) -> str:
    """One text value; a playbook may pass a one-item list or a number, more than one value is an error."""
    value = args.get(name)
    if isinstance(value, list):
        values = [str(v).strip() for v in value if v is not None and str(v).strip()]
        if len(values) > 1:
            raise DemistoException(f'{name} takes one value, got {len(values)}.')
        value = values[0] if values else ''
    if isinstance(value, dict):
        raise DemistoException(f'{name} takes one value, got an object.')
    return str(value if value is not None else '').strip()


BOOLEAN_WORDS = {'true': True, 'yes': True, 'y': True, 't': True, 'on': True, '1': True,
                 'false': False, 'no': False, 'n': False, 'f': False, 'off': False, '0': False}


def safe_file_name(name: Any, default: str = 'file') -> str:
    """A file name without folders or characters that break war-room file names; any input type."""
    if isinstance(name, list | tuple):
        name = name[0] if len(name) == 1 else ''
    text = '' if name is None else str(name)
    text = re.split(r'[\\/]', text)[-1]
    text = re.sub(r'[\x00-\x1f<>:"|?*]', '_', text).strip(' .')
    return text[:200] or default


def new_war_room_file_path() -> tuple[str, str]:
    """(file id, path) where XSOAR expects a file entry's content: <investigation id>_<unique id> in the cwd."""
    file_id = demisto.uniqueFile()
    return file_id, '{}_{}'.format(demisto.investigation()['id'], file_id)


def file_entry(file_name: str, file_id: str) -> dict[str, Any]:
    """The war-room file entry for content already written at new_war_room_file_path()."""
    return {'Contents': '', 'ContentsFormat': formats['text'], 'Type': entryTypes['file'],
            'File': file_name, 'FileID': file_id}


def remove_quietly(path: str | None) -> None:
    """Delete a file we wrote, if it is still there."""
    if path and os.path.exists(path):
        try:
            os.remove(path)
        except OSError:
            demisto.debug('could not remove a temporary file')


def redact(text: str, secrets_to_hide: Iterable[str]) -> str:
    """text with every secret (and JWT- or bearer-shaped token) replaced by <redacted>."""
    for value in sorted({s for s in secrets_to_hide if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True):
        text = text.replace(value, '<redacted>')
    text = re.sub(r'eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*', '<redacted>', text)
    return re.sub(r'(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}', r'\1<redacted>', text)


FAILURE_KINDS: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...] = (
    (requests.exceptions.Timeout, 'the server did not answer in time. Check the network and the timeout setting.'),
    (requests.exceptions.RequestException,
     'the connection to the server failed. Check the server URL, the proxy and the network.'),
    (OSError, 'a file could not be written or read in the working directory (disk full or not writable?).'),
    (MemoryError, 'the reply was too large to process.'),
    ((LookupError, TypeError, AttributeError, ValueError),
     'an unexpected internal error occurred while processing the reply or the arguments.'),
)


def describe_failure(error: BaseException) -> str:
    """What went wrong, in words: our own messages as they are, anything else by kind, never a type name."""
    if isinstance(error, DemistoException):
        return str(error.message if isinstance(error.message, str) else error)
    return next((words for kinds, words in FAILURE_KINDS if isinstance(error, kinds)),
                'an unexpected internal error occurred.')

# endregion shared helpers

# region plumbing: arguments, messages, redaction, parameters


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def number_arg(args: dict[str, Any], name: str, default: int, minimum: int = 1, maximum: int | None = None) -> int:
    """A whole number argument (text, number or one-item list) within [minimum, maximum]."""
    text = single_arg(args, name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise DemistoException(f'{name} must be a whole number, got "{text}".') from None
    if value != int(value):
        raise DemistoException(f'{name} must be a whole number, got "{text}".')
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f'between {minimum} and {maximum}' if maximum is not None else f'{minimum} or more'
        raise DemistoException(f'{name} must be {bounds}, got {text}.')
    return int(value)


def bool_arg(args: dict[str, Any], name: str, default: bool) -> bool:
    """A true/false argument in any spelling the newest runtime's argToBoolean accepts (older ones accept fewer)."""
    value = args.get(name)
    if isinstance(value, bool):
        return value
    text = single_arg(args, name).lower()
    if not text:
        return default
    if text not in BOOLEAN_WORDS:
        raise DemistoException(f'{name} must be true or false, got "{text[:50]}".')
    return BOOLEAN_WORDS[text]


def list_arg(args: dict[str, Any], name: str) -> list[str]:
    """argToList that also accepts numbers, strips blanks and de-duplicates while keeping order."""
    value = args.get(name)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    seen: dict[str, None] = {}
    for item in argToList(value):
        text = str(item).strip() if item is not None else ''
        if text:
            seen.setdefault(text, None)
    return list(seen)


def canonical_uuid(value: Any, name: str, what: str, example: str) -> str:
    """The canonical (lower-case, hyphenated) form of a UUID argument; a clear error for anything else."""
    text = single_arg({name: value}, name)
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise DemistoException(f'{name} must be {what} UUID such as {example}, got "{text}".') from None


def validate_package_id(package_id: Any) -> str:
    return canonical_uuid(package_id, 'package_id', 'a package', 'e378dacb-9324-453a-b8c6-5a8406952195')


def validate_execution_id(execution_id: Any) -> str:
    return canonical_uuid(execution_id, 'execution_id', 'an execution', 'abebf88c-f283-4edc-834b-aa8ad3bc682c')


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
        return True
    except ValueError:
        return False


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


API_MEANINGS: dict[tuple[int, bool], str] = {
    (HTTPStatus.BAD_REQUEST, True): 'Bad request - Cylance refused the authentication JWT: its exp/iat window (exp at '
                                    'most 30 minutes after iat; check the clock of the XSOAR host) or its claims '
                                    '(tenant ID, application ID).',
    (HTTPStatus.BAD_REQUEST, False): 'Bad request - Cylance rejected the request parameters.',
    (HTTPStatus.UNAUTHORIZED, True): 'Unauthorized - Cylance rejected the application credentials; check the '
                                     'application ID, the application secret and the tenant ID.',
    (HTTPStatus.UNAUTHORIZED, False): 'Unauthorized - the access token was rejected even after a new one was '
                                      'requested; check the application ID, the application secret and the tenant ID.',
    (HTTPStatus.FORBIDDEN, False): 'Forbidden. The application lacks the {scope} scope; grant that permission to the '
                                   'application in the Cylance console (Settings > Integrations).',
    (HTTPStatus.NOT_FOUND, False): 'Not found - check that the server URL is the API host of your region ({hosts}).',
    (HTTPStatus.TOO_MANY_REQUESTS, False): 'Too many requests - Cylance rate limited the application.',
}
STORAGE_MEANINGS: dict[int, str] = {
    HTTPStatus.UNAUTHORIZED: 'the storage host refused the pre-signed URL (it may have expired); run the command '
                             'again for a fresh URL.',
    HTTPStatus.FORBIDDEN: 'the storage host refused the pre-signed URL (it may have expired); run the command again '
                          'for a fresh URL.',
    HTTPStatus.NOT_FOUND: 'the package file is not on the storage host.',
    HTTPStatus.TOO_MANY_REQUESTS: 'the storage host is busy; try again later.',
}


def error_message(status: int, endpoint: str, scope: str | None, detail: str) -> str:
    """What a failing API status means here (the token call has its own meanings for 400 and 401)."""
    token_call = endpoint == TOKEN_ENDPOINT
    meaning = API_MEANINGS.get((status, token_call)) or API_MEANINGS.get((status, False))
    if meaning is None:
        meaning = 'Cylance server error.' if status >= HTTPStatus.INTERNAL_SERVER_ERROR else 'Unexpected HTTP status.'
    meaning = meaning.format(scope=scope or 'required', hosts=', '.join(REGIONAL_HOSTS))
    message = f'Cylance API call {endpoint} failed with status {status}. {meaning}'
    return message + (f' Server message: {detail}' if detail else '')


def storage_error_message(action: str, status: int, host: str) -> str:
    meaning = STORAGE_MEANINGS.get(status) or (
        'the storage host is failing; try again later.' if status >= HTTPStatus.INTERNAL_SERVER_ERROR
        else 'unexpected HTTP status.')
    return f'The package {action} {host} failed with status {status}: {meaning}'


def transport_failure(endpoint: str, exc: BaseException) -> DemistoException:
    """A plain message for a request that got no HTTP answer (never the request's URL, headers or a type name)."""
    if isinstance(exc, requests.exceptions.SSLError):
        reason = 'SSL Certificate Verification Failed - check the server URL, or select "Trust any certificate"'
    elif isinstance(exc, requests.exceptions.ProxyError):
        reason = 'the proxy failed; check the "Use system proxy settings" setting'
    elif isinstance(exc, requests.exceptions.ConnectTimeout):
        reason = 'no connection in time'
    elif isinstance(exc, requests.exceptions.Timeout):
        reason = 'no reply in time; the timeout setting may be too short'
    elif isinstance(exc, requests.exceptions.ConnectionError):
        reason = 'the host could not be reached or closed the connection'
    else:
        reason = 'the connection broke'
    return DemistoException(f'Cylance API call {endpoint} failed: {reason}. Check the server URL and the network.', exception=exc)


def secrets_in_params(raw: dict[str, Any]) -> list[str]:
    """The application secret and the tenant ID as configured, even when the parameters do not parse."""
    credentials = as_dict(raw.get('credentials'))
    tenant = raw.get('tenant_id')
    return [str(credentials.get('password') or ''),
            str((tenant.get('password') if isinstance(tenant, dict) else tenant) or '')]


def cached_tokens() -> list[str]:
    """The access tokens in the integration context (best effort: for redaction only)."""
    try:
        tokens = as_dict(as_dict(get_integration_context()).get('tokens'))
        return [str(entry['token']) for entry in tokens.values() if isinstance(entry, dict) and entry.get('token')]
    except Exception:  # redaction must never fail the error path
        return []


def token_expiry(token: str) -> float:
    """Epoch seconds when an access token expires: its exp claim if it is a JWT, else 30 minutes from now."""
    try:
        exp = jwt.decode(token, options={'verify_signature': False}).get('exp')
        return float(exp) if exp else time.time() + ASSUMED_TOKEN_LIFETIME_SECONDS
    except Exception:  # not a JWT (or an odd one): assume the documented 30-minute lifetime
        return time.time() + ASSUMED_TOKEN_LIFETIME_SECONDS


def url_origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the default port filled in: what decides whether two URLs are the same server."""
    parsed = urlparse(url)
    scheme = (parsed.scheme or '').lower()
    try:
        port = parsed.port
    except ValueError:
        port = None
    return scheme, (parsed.hostname or '').lower(), port or {'https': 443, 'http': 80}.get(scheme)


def is_http_url(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower().startswith(('https://', 'http://'))


def parse_utc(value: Any) -> float | None:
    """Epoch seconds of an ISO 8601 UTC time as the API writes it, or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace('Z', '+00:00')
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


def sha256_of_file(path: str) -> tuple[str, int]:
    """(hex SHA256, size in bytes) of a file, read in chunks."""
    digest, size = hashlib.sha256(), 0
    with open(path, 'rb') as source:
        for chunk in iter(lambda: source.read(CHUNK_SIZE), b''):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class InstanceParams:
    """The instance settings, read and checked once."""

    def __init__(self, params: dict[str, Any]):
        self.url = str(params.get('url') or DEFAULT_URL).strip().rstrip('/')
        if not is_http_url(self.url):
            raise DemistoException(f'Server URL must start with https:// (for example {DEFAULT_URL}).')
        credentials = as_dict(params.get('credentials'))
        tenant = params.get('tenant_id')
        self.app_id = str(credentials.get('identifier') or '').strip()
        self.app_secret = str(credentials.get('password') or '').strip()
        self.tenant_id = str((tenant.get('password') if isinstance(tenant, dict) else tenant) or '').strip()
        if not self.app_id or not self.app_secret or not self.tenant_id:
            raise DemistoException('Application ID, application secret and tenant ID are all required.')
        self.verify = not bool_arg(params, 'insecure', False)
        self.proxy = bool_arg(params, 'proxy', False)
        self.timeout = number_arg(params, 'timeout', DEFAULT_TIMEOUT_SECONDS, maximum=3600)

    def secrets(self) -> list[str]:
        """Values that must never be shown: the application secret and the tenant ID."""
        return [self.app_secret, self.tenant_id]

# endregion

# region client


class Client(BaseClient):
    """One method per Cylance endpoint, each owning its path and its scope; tokens are cached per scope."""

    def __init__(self, params: InstanceParams, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__(base_url=params.url, verify=params.verify, proxy=params.proxy)
        self._params = params
        self.gate = RetryGate(VENDOR, sleep=sleep, clock=clock)
        self.api_origin = url_origin(params.url)
        self.known_tokens: list[str] = []  # every access token this run used, so errors can be redacted

    # -- auth

    def make_auth_jwt(self, scope: str) -> str:
        now = int(time.time())
        claims = {'exp': now + JWT_LIFETIME_SECONDS, 'iat': now, 'iss': JWT_ISSUER, 'sub': self._params.app_id,
                  'tid': self._params.tenant_id, 'jti': str(uuid.uuid4()), 'scp': scope}
        token: Any = jwt.encode(claims, self._params.app_secret, algorithm='HS256')
        return token.decode('utf-8') if isinstance(token, bytes) else str(token)  # PyJWT 1.x returns bytes

    def request_token(self, scope: str) -> str:
        auth_token = self.make_auth_jwt(scope)
        res = self._with_retries(TOKEN_ENDPOINT, lambda: self._http_request(
            'POST', '/' + TOKEN_ENDPOINT, headers={'Accept': 'application/json'}, json_data={'auth_token': auth_token},
            resp_type='response', timeout=self._params.timeout,
            error_handler=self._api_error_handler(TOKEN_ENDPOINT, scope)))
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
        context = as_dict(get_integration_context())
        tokens = as_dict(context.get('tokens'))
        cached = as_dict(tokens.get(scope))
        expires = cached['expires'] if isinstance(cached.get('expires'), (int, float)) else 0
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

    @staticmethod
    def _api_error_handler(endpoint: str, scope: str | None) -> Callable[[requests.Response], None]:
        def handle(res: requests.Response) -> None:
            raise HTTPStatusError(error_message(res.status_code, endpoint, scope, server_message(res)),
                                  status=res.status_code, retry_after=parse_retry_after(res.headers.get('Retry-After')))
        return handle

    @staticmethod
    def _storage_error_handler(action: str, host: str) -> Callable[[requests.Response], None]:
        def handle(res: requests.Response) -> None:
            raise HTTPStatusError(storage_error_message(action, res.status_code, host), status=res.status_code,
                                  retry_after=parse_retry_after(res.headers.get('Retry-After')))
        return handle

    def _with_retries(self, endpoint: str, send: Callable[[], requests.Response]) -> requests.Response:
        """send(), retried on 429/502/503/504 through the shared gate (bounded waiting); failures without an
        HTTP answer in plain words."""
        def attempt() -> requests.Response:
            try:
                return send()
            except HTTPStatusError:
                raise
            except (DemistoException, requests.exceptions.RequestException) as error:
                cause = error.exception if isinstance(error, DemistoException) else error
                if not isinstance(cause, requests.exceptions.RequestException):
                    raise  # BaseClient wraps connection, TLS and proxy failures; read timeouts come unwrapped
                raise transport_failure(endpoint, cause) from None
        return call_with_retries(attempt, endpoint, self.gate)

    def _with_token(self, endpoint: str, scope: str, send: Callable[[str], requests.Response]) -> requests.Response:
        """send(token) with the access token for scope; once more with a new token if the cached one gets a 401."""
        token = self.get_token(scope)  # the token call retries on its own
        refreshed = False

        def attempt() -> requests.Response:
            nonlocal token, refreshed
            try:
                return send(token)
            except HTTPStatusError as error:
                if error.status != HTTPStatus.UNAUTHORIZED or refreshed:
                    raise
            demisto.debug(f'{endpoint} answered 401, requesting a new {scope} token once')
            token, refreshed = self.get_token(scope, refresh=True), True
            return send(token)
        return self._with_retries(endpoint, attempt)

    def _api(self, method: str, endpoint: str, scope: str, path_ids: dict[str, str] | None = None,
             **kwargs: Any) -> requests.Response:
        """One call to the API host: endpoint is the path template (also the name errors use)."""
        url_suffix = '/' + endpoint.format(**(path_ids or {}))
        return self._with_token(endpoint, scope, lambda token: self._http_request(
            method, url_suffix, headers={'Accept': 'application/json', 'Authorization': 'Bearer ' + token},
            resp_type='response', timeout=self._params.timeout,
            error_handler=self._api_error_handler(endpoint, scope), **kwargs))

    @staticmethod
    def _json(endpoint: str, res: requests.Response, allow_empty: bool = False) -> Any:
        try:
            if allow_empty and not res.content:
                return None
            return res.json()
        except ValueError:
            raise DemistoException('Cylance API call {} returned a reply that is not JSON (status {}, Content-Type '
                                   '"{}").'.format(endpoint, res.status_code,
                                                   res.headers.get('Content-Type', ''))) from None
        except requests.exceptions.RequestException:
            raise DemistoException(f'Cylance API call {endpoint} broke off while reading the reply.') from None

    @staticmethod
    def _not_found(error: HTTPStatusError, what: str) -> HTTPStatusError:
        if error.status == HTTPStatus.NOT_FOUND:
            return HTTPStatusError(f'{what} was not found (status 404).', status=404)
        return error

    def _object_call(self, method: str, endpoint: str, scope: str, object_id: str, what: str,
                     allow_empty: bool = False) -> Any:
        """A call on one object ({id} in the endpoint); a 404 names the object that was not found."""
        try:
            res = self._api(method, endpoint, scope, {'id': object_id})
        except HTTPStatusError as error:
            raise self._not_found(error, f'{what} {object_id}') from None
        return self._json(endpoint, res, allow_empty=allow_empty)

    # -- packages

    def list_packages(self, page: int, page_size: int, sort: str | None = None, category: str | None = None) -> Any:
        endpoint = 'packages/v2'
        params = assign_params(page=page, page_size=page_size, sort=sort, category=category)
        return self._json(endpoint, self._api('GET', endpoint, SCOPE_PACKAGE_LIST, params=params))

    def get_package(self, package_id: str) -> Any:
        return self._object_call('GET', 'packages/v2/{id}', SCOPE_PACKAGE_READ, package_id, 'Package')

    def create_package(self, checksum: str, descriptor: dict[str, Any]) -> Any:
        endpoint = 'packages/v2'
        return self._json(endpoint, self._api('POST', endpoint, SCOPE_PACKAGE_CREATE,
                                              json_data={'checksum': checksum, 'packageDescriptor': descriptor}))

    def upload_package(self, upload_url: str, path: str, size: int) -> None:
        """PUT the file at path to the pre-signed upload URL, streamed from disk, never with a Cylance token."""
        host = urlparse(upload_url).hostname or 'the upload host'

        def send() -> requests.Response:
            with open(path, 'rb') as body:
                return self._http_request('PUT', full_url=upload_url, data=body, resp_type='response',
                                          headers={'Content-Length': str(size)}, timeout=self._params.timeout,
                                          error_handler=self._storage_error_handler('upload to', host))
        self._with_retries('package upload', send).close()

    def download(self, url: str, dest_path: str, expected_size: int | None) -> tuple[int, str]:
        """Stream the package at url to dest_path: (bytes, sha256). The bearer token is sent only when url is on
        the configured API server (same scheme, host and port); a pre-signed storage URL gets no Authorization.
        The file is removed on any failure, including a byte count that differs from expected_size."""
        endpoint = 'package download'
        host = urlparse(url).hostname or 'the download host'
        if url_origin(url) == self.api_origin:
            res = self._with_token(endpoint, SCOPE_PACKAGE_READ, lambda token: self._http_request(
                'GET', full_url=url, headers={'Authorization': 'Bearer ' + token}, resp_type='response', stream=True,
                timeout=self._params.timeout, error_handler=self._api_error_handler(endpoint, SCOPE_PACKAGE_READ)))
        else:
            res = self._with_retries(endpoint, lambda: self._http_request(
                'GET', full_url=url, headers={}, resp_type='response', stream=True, timeout=self._params.timeout,
                error_handler=self._storage_error_handler('download from', host)))
        size = 0
        digest = hashlib.sha256()
        try:
            with open(dest_path, 'wb') as target:
                for chunk in res.iter_content(CHUNK_SIZE):
                    if not chunk:
                        continue
                    size += len(chunk)
                    if expected_size is not None and size > expected_size:
                        raise DemistoException(f'the download exceeds the declared size: the package size is {expected_size} '
                                               'bytes; the file was discarded.')
                    digest.update(chunk)
                    target.write(chunk)
            if size == 0:
                raise DemistoException('the server answered with an empty file; nothing was saved.')
            announced = str(res.headers.get('Content-Length') or '')
            encoded = str(res.headers.get('Content-Encoding') or 'identity').lower() not in ('', 'identity')
            if announced.isdigit() and not encoded and int(announced) != size:
                raise DemistoException(f'the connection closed after {size} of {announced} bytes; the file was '
                                       'discarded.')
            if expected_size is not None and size != expected_size:
                raise DemistoException(f'the download has {size} bytes but the package size is {expected_size} bytes; '
                                       'the file was discarded.')
            return size, digest.hexdigest()
        except requests.exceptions.RequestException:
            remove_quietly(dest_path)
            raise DemistoException(f'the download broke off after {size} bytes.') from None
        except BaseException:
            remove_quietly(dest_path)
            raise
        finally:
            res.close()

    # -- executions

    def create_execution(self, execution: dict[str, Any]) -> Any:
        endpoint = 'packages/v2/executions'
        return self._json(endpoint, self._api('POST', endpoint, SCOPE_EXECUTION_CREATE,
                                              json_data={'execution': execution}))

    def get_execution(self, execution_id: str) -> Any:
        return self._object_call('GET', 'packages/v2/executions/{id}', SCOPE_EXECUTION_READ, execution_id, 'Execution')

    def list_executions(self, page: int, page_size: int, sort: str | None = None) -> Any:
        endpoint = 'packages/v2/executions'
        params = assign_params(page=page, page_size=page_size, sort=sort)
        return self._json(endpoint, self._api('GET', endpoint, SCOPE_EXECUTION_LIST, params=params))

    def delete_execution(self, execution_id: str) -> Any:
        return self._object_call('DELETE', 'packages/v2/executions/{id}', SCOPE_EXECUTION_DELETE, execution_id,
                                 'Execution', allow_empty=True)

# endregion

# region shared reply shaping: packages, executions, paging, polling


def require_package(body: Any, endpoint: str) -> dict[str, Any]:
    """The documented fields of one package, or a clear error naming the endpoint."""
    if not isinstance(body, dict) or not body.get('packageId'):
        raise DemistoException(f'Cylance API call {endpoint} returned an unexpected reply: no package with a packageId.'
                               )
    return {key: body.get(key) for key in PACKAGE_FIELDS if key in body}


def require_execution(body: Any, endpoint: str) -> dict[str, Any]:
    """The documented fields of one execution, or a clear error naming the endpoint."""
    if not isinstance(body, dict) or not body.get('id'):
        raise DemistoException(f'Cylance API call {endpoint} returned an unexpected reply: no execution with an id.'
                               )
    return {key: body.get(key) for key in EXECUTION_FIELDS if key in body}


def require_page(body: Any, endpoint: str) -> dict[str, Any]:
    """A paging envelope with a page_items list, or a clear error naming the endpoint."""
    if not isinstance(body, dict) or not isinstance(body.get('page_items'), list):
        raise DemistoException(f'Cylance API call {endpoint} returned an unexpected reply: no page_items list.')
    return body


def count_of(value: Any) -> int:
    """A device count from the API (0 when absent or not a whole number)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def package_size(value: Any) -> int | None:
    """The declared size in bytes (a number or a digit string), or None when the package does not say."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def package_summary(package: dict[str, Any]) -> dict[str, Any]:
    """The row an analyst decides on; the long signed URLs stay in the context."""
    descriptor = as_dict(package.get('packageDescriptor'))
    return {'Package ID': package.get('packageId'), 'Name': descriptor.get('name'),
            'Version': descriptor.get('version'), 'Status': package.get('status'), 'Size': package.get('size'),
            'SHA256': package.get('checksum') or package.get('downloadedSHA256'),
            'Category': package.get('category'), 'Uploaded On': package.get('uploadedOn')}


def package_table(title: str, packages: list[dict[str, Any]]) -> str:
    rows = [package_summary(p) for p in packages]
    headers = ['Package ID', 'Name', 'Version', 'Status', 'Size'] + \
        (['SHA256'] if any(r['SHA256'] for r in rows) else []) + ['Category', 'Uploaded On']
    return tableToMarkdown(title, rows, headers=headers)


@dataclass(frozen=True)
class Paging:
    page: int
    page_size: int
    limit: int | None

    @classmethod
    def parse(cls, args: dict[str, Any]) -> 'Paging':
        limit_given = bool(single_arg(args, 'limit'))
        return cls(page=number_arg(args, 'page', 1), page_size=number_arg(args, 'page_size', DEFAULT_PAGE_SIZE,
                                                                          maximum=MAX_PAGE_SIZE),
                   limit=number_arg(args, 'limit', 1) if limit_given else None)


@dataclass
class Collected:
    items: list[dict[str, Any]]
    total: int | None
    stopped_early_at_page: int | None  # the page to ask for next when MAX_PAGES stopped the walk


def collect_pages(fetch: Callable[[int], Any], paging: Paging, endpoint: str,
                  shape: Callable[[Any, str], dict[str, Any]]) -> Collected:
    """One page, or (with a limit) pages from paging.page on until limit items, the last page or MAX_PAGES."""
    items: list[dict[str, Any]] = []
    total = None
    page = paging.page
    for _ in range(MAX_PAGES):
        body = require_page(fetch(page), endpoint)
        total = body.get('total_number_of_items', total)
        items.extend(shape(item, endpoint) for item in body['page_items'])
        total_pages = body.get('total_pages')
        last_page = not body['page_items'] or (isinstance(total_pages, int) and page >= total_pages)
        if paging.limit is None or len(items) >= paging.limit or last_page:
            return Collected(items[:paging.limit] if paging.limit else items, total if isinstance(total, int) else
                             None, None)
        page += 1
    return Collected(items[:paging.limit], total if isinstance(total, int) else None, page)


def counted_title(what: str, shown: int, total: int | None) -> str:
    return f'{what} ({shown} of {total})' if total is not None else f'{what} ({shown})'


@dataclass(frozen=True)
class Polling:
    """The polling arguments: whether to poll, how often, and for how long."""
    enabled: bool
    interval: int
    timeout: int

    @classmethod
    def parse(cls, args: dict[str, Any], default_enabled: bool) -> 'Polling':
        interval = number_arg(args, 'interval_in_seconds', DEFAULT_POLLING_INTERVAL_SECONDS,
                              minimum=MIN_POLLING_INTERVAL_SECONDS, maximum=3600)
        timeout = number_arg(args, 'timeout_in_seconds', DEFAULT_POLLING_TIMEOUT_SECONDS, minimum=interval,
                             maximum=MAX_POLLING_TIMEOUT_SECONDS)
        return cls(enabled=bool_arg(args, 'polling', default_enabled), interval=interval, timeout=timeout)

    def next_args(self, **ids: Any) -> dict[str, Any]:
        return dict(ids, polling='true', interval_in_seconds=str(self.interval), timeout_in_seconds=str(self.timeout))


def poll(command: str, polling: Polling, args: dict[str, Any], check: Callable[[], PollResult]) -> Any:
    """Run check() through CommonServerPython's polling_function, which schedules `command` again while
    check() asks to continue. The server's own timeout gets two intervals of grace, so that the command's
    final answer on its timeout (which says what is still pending) is not cut off by the server."""
    decorated = polling_function(command, interval=polling.interval, timeout=polling.timeout + 2 * polling.interval,
                                 requires_polling_arg=True)(lambda _args: check())
    return decorated(dict(args, polling='true' if polling.enabled else 'false'))


def package_ref(value: Any) -> str:
    """The package id in an execution's `package` (the docs call it a UUID when sent and a URL when read)."""
    text = str(value or '')
    match = UUID_IN_TEXT_RE.search(text)
    return str(uuid.UUID(match.group(0))) if match else text


def execution_progress(execution: dict[str, Any], timeout: int | None = None,
                       now: float | None = None) -> dict[str, Any]:
    """What the integration derives from an execution: finished, timed out, elapsed time, and who did not
    succeed. The API gives counts only; device ids are named when the counts leave no doubt (no target device
    succeeded), which is always the case for an execution on one device."""
    statuses = as_dict(execution.get('deviceStatuses'))
    device_count = execution.get('deviceCount') if isinstance(execution.get('deviceCount'), int) else None
    acked, succeeded, failed = (count_of(statuses.get(k)) for k in ('acked', 'succeeded', 'failed'))
    created = parse_utc(execution.get('createdAt'))
    elapsed = max(0, int((time.time() if now is None else now) - created)) if created is not None else None
    finished = device_count is not None and succeeded + failed >= device_count
    timed_out = not finished and timeout is not None and elapsed is not None and elapsed >= timeout
    devices = [str(d) for d in as_dict(execution.get('target')).get('devices') or []]
    offline = max(0, len(devices) - device_count) if devices and device_count is not None else 0
    pending = max(0, (device_count or 0) - succeeded - failed)
    not_succeeded = failed + offline + (pending if (finished or timed_out) else 0)
    ended = finished or timed_out
    progress: dict[str, Any] = {'finished': finished, 'timedOut': timed_out, 'elapsedSeconds': elapsed,
                                'acked': acked, 'succeeded': succeeded, 'failed': failed, 'deviceCount': device_count,
                                'notSucceeded': not_succeeded if ended else None,
                                'allSucceeded': not_succeeded == 0 if ended else None}
    if devices and succeeded == 0 and ended:
        progress['notSucceededDevices'] = devices
    elif devices and ended and not_succeeded == 0:
        progress['notSucceededDevices'] = []
    return progress


def progress_line(execution: dict[str, Any], progress: dict[str, Any]) -> str:
    elapsed = '{}s'.format(progress['elapsedSeconds']) if progress['elapsedSeconds'] is not None else 'unknown'
    total = progress['deviceCount'] if progress['deviceCount'] is not None else '?'
    return 'Execution {} ({}): acked {} / succeeded {} / failed {} of {} devices, elapsed {}'.format(
        execution.get('name') or '-', execution.get('id'), progress['acked'], progress['succeeded'],
        progress['failed'], total, elapsed)


def outcome_sentence(execution: dict[str, Any], progress: dict[str, Any]) -> str:
    if not (progress['finished'] or progress['timedOut']):
        return 'still running.'
    if progress['notSucceeded'] == 0:
        return 'every device succeeded.'
    named = progress.get('notSucceededDevices')
    who = ': ' + ', '.join(named) if named else \
        ' (the API reports counts only, not which devices; see the Optics console)'
    state = 'timed out after {}s; '.format(progress['elapsedSeconds']) if progress['timedOut'] else ''
    return '{}{} device(s) did not succeed{}.'.format(state, progress['notSucceeded'], who)


def execution_table(title: str, executions: list[dict[str, Any]]) -> str:
    rows = []
    for execution in executions:
        target = as_dict(execution.get('target'))
        statuses = as_dict(execution.get('deviceStatuses'))
        rows.append({
            'Execution ID': execution.get('id'), 'Name': execution.get('name'),
            'Packages': [package_ref(p.get('package')) for p in execution.get('packageExecutions') or []
                         if isinstance(p, dict)],
            'Target': '{} device(s)'.format(len(target.get('devices') or [])) if target.get('devices') else
            '{} zone(s)'.format(len(target.get('zones') or [])),
            'Device Count': execution.get('deviceCount'), 'Acked': statuses.get('acked'),
            'Succeeded': statuses.get('succeeded'), 'Failed': statuses.get('failed'),
            'Created At': execution.get('createdAt'),
            'Created By': as_dict(execution.get('createdBy')).get('login')})
    return tableToMarkdown(title, rows, headers=['Execution ID', 'Name', 'Packages', 'Target', 'Device Count',
                                                 'Acked', 'Succeeded', 'Failed', 'Created At', 'Created By'])

# endregion

# region test-module


def test_module_command(client: Client, args: dict[str, Any]) -> str:
    """A real call (list one package): credentials, tenant, scope and server URL must all be right. Failures
    are raised, so that main() reports them through the same redaction as every other error."""
    require_page(client.list_packages(page=1, page_size=1), 'packages/v2')
    return 'ok'

# endregion

# region cylance-optics-get-package


def get_package_command(client: Client, args: dict[str, Any]) -> Any:
    """One package: its metadata, upload status, examples and (in the context) its download URL. With polling,
    waits until the upload is processed (status success, failed or timeout); create-package hands over here."""
    package_id = validate_package_id(args.get('package_id'))
    polling = Polling.parse(args, default_enabled=False)

    def check() -> PollResult:
        package = require_package(client.get_package(package_id), 'packages/v2/{id}')
        if polling.enabled and package.get('status') not in PACKAGE_DONE_STATUSES:
            elapsed = package_elapsed(package)
            if elapsed is None or elapsed < polling.timeout:
                return PollResult(None, continue_to_poll=True, args_for_next_run=polling.next_args(
                    package_id=package_id), partial_result=CommandResults(readable_output='Package {} ({}): upload '
                                  'status {}, elapsed {}.'.format(package_id, as_dict(
                                      package.get('packageDescriptor')).get('name'), package.get('status'),
                                      f'{elapsed}s' if elapsed is not None else 'unknown')))
        if polling.enabled and package.get('status') in ('failed', 'timeout'):
            raise DemistoException('Package {} was not accepted: its upload status is {} (a failed upload usually '
                                   'means the file does not match the checksum given when it was created).'
                                   .format(package_id, package.get('status')))
        return PollResult(package_result(package))
    return poll('cylance-optics-get-package', polling, args, check)


def package_elapsed(package: dict[str, Any]) -> int | None:
    uploaded = parse_utc(package.get('uploadedOn'))
    return max(0, int(time.time() - uploaded)) if uploaded is not None else None


def package_result(package: dict[str, Any]) -> CommandResults:
    descriptor = as_dict(package.get('packageDescriptor'))
    info = as_dict(descriptor.get('packageInfo'))
    uploaded_by = as_dict(package.get('uploadedBy'))
    readable = package_table('Cylance Optics package {}'.format(descriptor.get('name') or package['packageId']),
                             [package])
    readable += tableToMarkdown('Details', {'Description': descriptor.get('description'),
                                            'File Name': info.get('fileName'), 'Entry Point': info.get('entryPoint'),
                                            'File Type': info.get('fileType'),
                                            'Uploaded By': uploaded_by.get('login') or uploaded_by.get('id'),
                                            'Playbook Count': package.get('playbookCount')},
                                headers=['Description', 'File Name', 'Entry Point', 'File Type', 'Uploaded By',
                                         'Playbook Count'])
    examples = [e for e in descriptor.get('examples') or [] if isinstance(e, dict)] \
        if isinstance(descriptor.get('examples'), list) else []
    readable += tableToMarkdown('Examples', [{'Description': e.get('description'),
                                              'Invocation': e.get('invocationString')} for e in examples],
                                headers=['Description', 'Invocation'])
    return CommandResults(outputs_prefix=PACKAGE_PREFIX, outputs_key_field='packageId', outputs=package,
                          readable_output=readable, raw_response=package)

# endregion

# region cylance-optics-list-packages


def list_packages_command(client: Client, args: dict[str, Any]) -> CommandResults:
    """Packages, one page or (with limit) as many pages as needed, optionally sorted and of one category."""
    paging = Paging.parse(args)
    sort = single_arg(args, 'sort') or None
    category = single_arg(args, 'category').lower() or None
    if category and category not in CATEGORIES:
        raise DemistoException('category must be custom or cylance, got "{}".'.format(single_arg(args, 'category')))
    found = collect_pages(lambda page: client.list_packages(page, paging.page_size, sort, category), paging,
                          'packages/v2', require_package)
    readable = package_table(counted_title('Cylance Optics packages', len(found.items), found.total), found.items)
    if found.stopped_early_at_page:
        readable += f'\nStopped after {MAX_PAGES} pages; run again with page={found.stopped_early_at_page} for more.'
    return CommandResults(outputs_prefix=PACKAGE_PREFIX, outputs_key_field='packageId', outputs=found.items,
                          readable_output=readable, raw_response=found.items)

# endregion

# region cylance-optics-download-package


def download_package_command(client: Client, args: dict[str, Any]) -> list[Any]:
    """The package file into the War Room, streamed, checked against the declared size and hashed (SHA256)."""
    package_id = validate_package_id(args.get('package_id'))
    package = require_package(client.get_package(package_id), 'packages/v2/{id}')
    url = package.get('downloadUrl')
    if not isinstance(url, str) or not is_http_url(url):
        raise DemistoException('Package {} has no download URL (status {}).'.format(package_id, package.get('status')))
    descriptor = as_dict(package.get('packageDescriptor'))
    name = safe_file_name(as_dict(descriptor.get('packageInfo')).get('fileName'), f'{package_id}.zip')
    file_id, path = new_war_room_file_path()
    try:
        size, sha256 = client.download(url.strip(), path, package_size(package.get('size')))
    except DemistoException as error:
        remove_quietly(path)
        raise HTTPStatusError(f'Package {package_id} could not be downloaded: {error.message}',
                              status=getattr(error, 'status', None)) from None
    output = {'packageId': package_id, 'downloadedFileName': name, 'downloadedSize': size, 'downloadedSHA256': sha256}
    readable = package_table('Downloaded Cylance Optics package {}'.format(descriptor.get('name') or package_id),
                             [dict(package, size=size, downloadedSHA256=sha256)])
    return [CommandResults(outputs_prefix=PACKAGE_PREFIX, outputs_key_field='packageId', outputs=output,
                           readable_output=readable, raw_response=output),
            file_entry(name, file_id)]

# endregion

# region cylance-optics-create-package


def parse_examples(text: str) -> list[dict[str, str]]:
    """The examples argument: a JSON list of {description, invocationString}."""
    if not text:
        return []
    try:
        examples = json.loads(text)
    except ValueError:
        raise DemistoException('examples must be a JSON list such as [{"description": "All browsers", '
                               '"invocationString": "-browser ALL"}].') from None
    if isinstance(examples, dict):
        examples = [examples]
    if not isinstance(examples, list) or not all(
            isinstance(e, dict) and set(e) <= {'description', 'invocationString'} for e in examples):
        raise DemistoException('examples must be a JSON list of objects with description and invocationString.')
    return [{'description': str(e.get('description') or ''), 'invocationString': str(e.get('invocationString') or '')}
            for e in examples]


def check_python_package(path: str, file_name: str, entry_point: str) -> None:
    """Only Python packages run: a .py file, or a zip that holds its entry point."""
    lower = file_name.lower()
    if lower.endswith('.py'):
        return
    if not lower.endswith('.zip'):
        raise DemistoException('Only Python packages are supported: give a .py file, or a .zip file with an '
                               f'entry_point, got "{file_name}".')
    if not entry_point:
        raise DemistoException('A .zip package needs entry_point: the Python file in it that runs first.')
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        raise DemistoException(f'{file_name} is not a readable zip file.') from None
    if entry_point not in names:
        raise DemistoException('The entry point {} is not in {} (it holds {}).'.format(
            entry_point, file_name, ', '.join(names[:10]) or 'nothing'))


def create_package_command(client: Client, args: dict[str, Any]) -> Any:
    """A new package from a War Room file: its SHA256 is computed while reading the file, the package is created
    with that checksum and the descriptor arguments, the file is uploaded (streamed, without any Cylance token)
    to the upload location Cylance returns, and with polling the package status is followed until it is success,
    failed or timeout."""
    entry_id = single_arg(args, 'entry_id')
    name = single_arg(args, 'name')
    if not entry_id or not name:
        raise DemistoException('entry_id and name are required.')
    version = number_arg(args, 'version', 1)
    examples = parse_examples(single_arg(args, 'examples'))
    polling = Polling.parse(args, default_enabled=True)
    try:
        war_room_file = demisto.getFilePath(entry_id)
    except Exception:
        raise DemistoException(f'Entry {entry_id} is not a file in this War Room.') from None
    path = war_room_file.get('path') if isinstance(war_room_file, dict) else None
    if not path or not os.path.isfile(path):
        raise DemistoException(f'Entry {entry_id} has no file content.')
    file_name = safe_file_name(single_arg(args, 'file_name') or war_room_file.get('name'), 'package.py')
    entry_point = single_arg(args, 'entry_point')
    check_python_package(path, file_name, entry_point)
    checksum, size = sha256_of_file(path)
    descriptor = {'name': name, 'description': single_arg(args, 'description'), 'examples': examples,
                  'packageInfo': {'fileType': 'python', 'fileName': file_name, 'entryPoint': entry_point},
                  'version': version}
    created = client.create_package(checksum, descriptor)
    if not isinstance(created, dict) or not created.get('packageId') or not is_http_url(created.get('uploadTo')):
        raise DemistoException('Cylance API call packages/v2 returned an unexpected reply: no packageId and '
                               'uploadTo URL.')
    package_id = str(created['packageId'])
    client.upload_package(str(created['uploadTo']).strip(), path, size)
    output = {'packageId': package_id, 'packageUrl': created.get('packageUrl'), 'checksum': checksum, 'size': size,
              'status': 'started', 'packageDescriptor': descriptor}
    readable = package_table(f'Created Cylance Optics package {name} and uploaded {file_name} ({size} bytes)', [output])
    result = CommandResults(outputs_prefix=PACKAGE_PREFIX, outputs_key_field='packageId', outputs=output,
                            readable_output=readable, raw_response=output)
    return poll('cylance-optics-get-package', polling, args, lambda: PollResult(
        result, continue_to_poll=True, args_for_next_run=polling.next_args(package_id=package_id),
        partial_result=CommandResults(outputs_prefix=PACKAGE_PREFIX, outputs_key_field='packageId', outputs=output,
                                      readable_output=readable + '\nWaiting for Cylance to process the upload.')))

# endregion

# region cylance-optics-run-package


def target_ids(args: dict[str, Any], name: str) -> list[str]:
    """Device or zone ids as the API wants them: upper case without dashes, 32 hex digits each."""
    ids = list(dict.fromkeys(value.replace('-', '').upper() for value in list_arg(args, name)))
    bad = [value for value in ids if not TARGET_ID_RE.match(value)]
    if bad:
        raise DemistoException('{} must be device or zone ids of 32 hexadecimal digits (dashes are removed), got '
                               '{}.'.format(name, ', '.join(f'"{b}"' for b in bad[:5])))
    if len(ids) > MAX_TARGETS:
        raise DemistoException(f'{name} holds {len(ids)} ids; at most {MAX_TARGETS} per run.')
    return ids


def resolve_package(client: Client, reference: str, version: str) -> dict[str, Any]:
    """The package to run, by id or by exact name (and version when several packages share the name); it must
    have been uploaded successfully."""
    if is_uuid(reference):
        package = require_package(client.get_package(str(uuid.UUID(reference))), 'packages/v2/{id}')
    else:
        found = collect_pages(lambda page: client.list_packages(page, MAX_PAGE_SIZE), Paging(1, MAX_PAGE_SIZE, 10 ** 6),
                              'packages/v2', require_package).items
        matches = [p for p in found if as_dict(p.get('packageDescriptor')).get('name') == reference and
                   (not version or str(as_dict(p.get('packageDescriptor')).get('version')) == version)]
        if not matches:
            raise DemistoException('No package is named "{}"{}.'.format(
                reference, f' with version {version}' if version else ''))
        if len(matches) > 1:
            raise DemistoException('{} packages are named "{}"; give package_version or the package id: {}.'.format(
                len(matches), reference, ', '.join('{} (version {})'.format(
                    p['packageId'], as_dict(p.get('packageDescriptor')).get('version')) for p in matches[:10])))
        package = matches[0]
    if package.get('status') != 'success':
        raise DemistoException('Package {} cannot run: its upload status is {}.'.format(
            package['packageId'], package.get('status')))
    return package


def run_package_command(client: Client, args: dict[str, Any]) -> Any:
    """Runs a package on devices or on zones (never both): ids are checked before any request, the package is
    found by id or exact name, and one execution is created (or one per device with execution_per_device, so
    each device's outcome is known). With polling, get-execution follows the executions until every online
    device has succeeded or failed, or the timeout."""
    reference = single_arg(args, 'package')
    if not reference:
        raise DemistoException('package is required: a package id or the exact package name.')
    devices, zones = target_ids(args, 'device_ids'), target_ids(args, 'zone_ids')
    if bool(devices) == bool(zones):
        raise DemistoException('Give device_ids or zone_ids (one of them, not both).')
    per_device = bool_arg(args, 'execution_per_device', False)
    if per_device and not devices:
        raise DemistoException('execution_per_device applies to device_ids only.')
    if per_device and len(devices) > MAX_EXECUTIONS_PER_RUN:
        raise DemistoException(f'execution_per_device allows at most {MAX_EXECUTIONS_PER_RUN} devices.')
    arguments = list_arg(args, 'arguments')
    destination = single_arg(args, 'destination')
    keep_locally = bool_arg(args, 'keep_results_locally', not destination)
    polling = Polling.parse(args, default_enabled=True)
    package = resolve_package(client, reference, single_arg(args, 'package_version'))
    package_name = as_dict(package.get('packageDescriptor')).get('name') or package['packageId']
    name = single_arg(args, 'name') or f'XSOAR - {package_name}'
    targets = [{'devices': [device]} for device in devices] if per_device else \
        [{'devices': devices} if devices else {'zones': zones}]
    executions = []
    for target in targets:
        # The request notes ask for the package as a UUID4 id (the reply describes it as a URL; both are read).
        request = {'name': name, 'target': target, 'destination': destination, 'keepResultsLocally': keep_locally,
                   'packageExecutions': [{'arguments': arguments, 'package': package['packageId']}]}
        executions.append(require_execution(client.create_execution(request), 'packages/v2/executions'))
    readable = execution_table('Started package {} ({})'.format(package_name, package['packageId']), executions)
    result = CommandResults(outputs_prefix=EXECUTION_PREFIX, outputs_key_field='id', outputs=executions,
                            readable_output=readable, raw_response=executions)
    return poll('cylance-optics-get-execution', polling, args, lambda: PollResult(
        result, continue_to_poll=True, args_for_next_run=polling.next_args(
            execution_id=','.join(e['id'] for e in executions)),
        partial_result=CommandResults(outputs_prefix=EXECUTION_PREFIX, outputs_key_field='id', outputs=executions,
                                      readable_output=readable + f'\nFollowing {len(executions)} execution(s) '
                                                                 f'every {polling.interval}s.')))

# endregion

# region cylance-optics-get-execution


def get_execution_command(client: Client, args: dict[str, Any]) -> Any:
    """One or more executions with their device counts; with polling, a progress entry per round (acked /
    succeeded / failed of N devices, elapsed time) until every online device has succeeded or failed, or the
    timeout, then the outcome, naming the devices that did not succeed when the counts tell."""
    execution_ids = [validate_execution_id(value) for value in list_arg(args, 'execution_id')]
    if not execution_ids:
        raise DemistoException('execution_id is required.')
    polling = Polling.parse(args, default_enabled=False)

    def check() -> PollResult:
        executions = [require_execution(client.get_execution(execution_id), 'packages/v2/executions/{id}')
                      for execution_id in execution_ids]
        timeout = polling.timeout if polling.enabled else None
        for execution in executions:
            execution['progress'] = execution_progress(execution, timeout)
        lines = [progress_line(e, e['progress']) for e in executions]
        running = [e for e in executions if not (e['progress']['finished'] or e['progress']['timedOut'])]
        if polling.enabled and running:
            return PollResult(None, continue_to_poll=True, args_for_next_run=polling.next_args(
                execution_id=','.join(execution_ids)), partial_result=CommandResults(
                outputs_prefix=EXECUTION_PREFIX, outputs_key_field='id', outputs=executions,
                readable_output='\n'.join(lines)))
        outcome = '\n'.join('- {}: {}'.format(e['id'], outcome_sentence(e, e['progress'])) for e in executions)
        readable = execution_table('Cylance Optics package execution(s)', executions) + '\n' + outcome
        return PollResult(CommandResults(outputs_prefix=EXECUTION_PREFIX, outputs_key_field='id', outputs=executions,
                                         readable_output=readable, raw_response=executions))
    return poll('cylance-optics-get-execution', polling, args, check)

# endregion

# region cylance-optics-list-executions


def list_executions_command(client: Client, args: dict[str, Any]) -> CommandResults:
    """Executions, one page or (with limit) as many pages as needed, paged as for packages."""
    paging = Paging.parse(args)
    sort = single_arg(args, 'sort') or None
    found = collect_pages(lambda page: client.list_executions(page, paging.page_size, sort), paging,
                          'packages/v2/executions', require_execution)
    readable = execution_table(counted_title('Cylance Optics package executions', len(found.items), found.total),
                               found.items)
    if found.stopped_early_at_page:
        readable += f'\nStopped after {MAX_PAGES} pages; run again with page={found.stopped_early_at_page} for more.'
    return CommandResults(outputs_prefix=EXECUTION_PREFIX, outputs_key_field='id', outputs=found.items,
                          readable_output=readable, raw_response=found.items)

# endregion

# region cylance-optics-delete-execution


def delete_execution_command(client: Client, args: dict[str, Any]) -> CommandResults:
    """Deletes an execution resource (the API answers with the deleted execution, or nothing)."""
    execution_id = validate_execution_id(args.get('execution_id'))
    body = client.delete_execution(execution_id)
    execution: dict[str, Any] = require_execution(body, 'packages/v2/executions/{id}') \
        if isinstance(body, dict) and body.get('id') else {'id': execution_id}
    execution['deleted'] = True
    return CommandResults(outputs_prefix=EXECUTION_PREFIX, outputs_key_field='id', outputs=execution,
                          readable_output='Deleted Cylance Optics package execution {}{}.'.format(
                              execution_id, ' ({})'.format(execution['name']) if execution.get('name') else ''),
                          raw_response=body)

# endregion

# region main


COMMANDS: dict[str, Callable[[Client, dict[str, Any]], Any]] = {
    'test-module': test_module_command,
    'cylance-optics-get-package': get_package_command,
    'cylance-optics-list-packages': list_packages_command,
    'cylance-optics-download-package': download_package_command,
    'cylance-optics-create-package': create_package_command,
    'cylance-optics-run-package': run_package_command,
    'cylance-optics-get-execution': get_execution_command,
    'cylance-optics-list-executions': list_executions_command,
    'cylance-optics-delete-execution': delete_execution_command,
}


def main() -> None:
    """Parse the instance settings once, run the command, and report any failure after the except block."""
    command = demisto.command()
    demisto.debug(f'Command being called is {command}')
    raw_params = demisto.params()
    secrets_to_hide = secrets_in_params(raw_params)
    client: Client | None = None
    failure = ''
    try:
        params = InstanceParams(raw_params)
        secrets_to_hide = params.secrets()
        client = Client(params)
        if command not in COMMANDS:
            raise DemistoException(f'Command {command} is not implemented by {INTEGRATION_NAME}.')
        return_results(COMMANDS[command](client, demisto.args()))  # test-module too: its failures are raised
    except Exception as error:  # every failure becomes one plain, redacted error entry
        failure = describe_failure(error)
    if failure:
        # Reported outside the except block: return_error logs the active traceback, whose text is not redacted.
        issued = (client.known_tokens if client else []) + cached_tokens()
        return_error(redact(f'Failed to execute {command} command.\nError:\n{failure}', secrets_to_hide + issued))


if __name__ in ('__main__', '__builtin__', 'builtins'):
    main()

# endregion
