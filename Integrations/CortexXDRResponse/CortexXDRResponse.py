"""Cortex XDR - Response Actions.

Agent installation packages, Retrieve File (with a safe, streamed download and unzip) and quarantine status
through the Cortex XDR public API (`POST <url>/public_api/v1/<path>`, `{"request_data": ...}` in,
`{"reply": ...}` out). Commands are named `xdr-response-<official name without xdr->` so that they never
collide with the official Cortex XDR - IR integration running beside this one.
"""
import demistomock as demisto  # noqa: F401
from CommonServerPython import *  # noqa: F401

import hashlib
import itertools
import json
import os
import queue
import re
import secrets
import string
import struct
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlparse

import requests
from requests.adapters import HTTPAdapter

# region constants

INTEGRATION_NAME = 'Cortex XDR - Response Actions'
CONTEXT_PREFIX = 'PaloAltoNetworksXDR'
API_PATH = '/public_api/v1'
VENDOR = 'Cortex XDR'

AUTH_STANDARD = 'Standard'
AUTH_ADVANCED = 'Advanced'
NONCE_LENGTH = 64
NONCE_ALPHABET = string.ascii_letters + string.digits

DEFAULT_TIMEOUT_SECONDS = 120
DEFAULT_MAX_CONCURRENCY = 4
MAX_CONCURRENCY = 10
CHUNK_SIZE = 1024 * 1024
MEBIBYTE = 1024 * 1024

MAX_FILES_PER_RETRIEVAL = 20
MAX_ENDPOINTS_PER_RETRIEVAL = 10
QUARANTINE_BATCH_SIZE = 100
MAX_PROBLEMS_SHOWN = 10  # input problems listed in one message
QUARANTINE_TABLE_ROWS = 200  # the war room shows the first rows; the context has every row

MIN_POLLING_INTERVAL = 10  # the server never schedules a polling round sooner
DEFAULT_POLLING_INTERVAL = 60
DEFAULT_POLLING_TIMEOUT = 600
DEFAULT_ROUND_BUDGET_SECONDS = 180  # below XSOAR's default 5-minute command timeout

DEFAULT_MAX_TOTAL_SIZE_MB = 2048
DEFAULT_MAX_COMPRESSION_RATIO = 100
DEFAULT_MAX_ENTRIES = 1000
RATIO_CHECK_MIN_BYTES = MEBIBYTE  # tiny files compress absurdly well without being bombs

PLATFORMS = ('windows', 'linux', 'macos', 'android')
PACKAGE_TYPES = ('standalone', 'upgrade')
DIST_URL_PACKAGE_PLATFORMS = {
    'x86': 'windows', 'x64': 'windows', 'sh': 'linux', 'rpm': 'linux', 'deb': 'linux', 'pkg': 'macos',
    'upgrade': 'upgrade package',
}
DIST_FILE_EXTENSIONS = {'x86': 'msi', 'x64': 'msi', 'sh': 'sh', 'rpm': 'rpm', 'deb': 'deb', 'pkg': 'pkg',
                        'upgrade': 'zip'}

ACTION_PENDING_STATUSES = ('PENDING', 'IN_PROGRESS', 'PENDING_ABORT')
ACTION_UNKNOWN_STATUS = 'UNKNOWN'
DISTRIBUTION_PENDING_STATUSES = ('in progress', 'pending', 'created', 'queued', 'in_progress')

SHA256_RE = re.compile(r'^[A-Fa-f0-9]{64}$')
DOWNLOAD_PATH_RE = re.compile(r'/public_api/v1/download/([^/?#]+)$')

STATUS_MEANINGS = {
    400: 'Bad request - Cortex XDR rejected the request as invalid JSON or invalid parameters. '
         'Check the command arguments.',
    401: 'Unauthorized - authentication failed. Check the API key ID, the API key and the key type '
         '(Standard or Advanced) in the instance settings.',
    402: 'License required - the tenant does not have the license this API needs '
         '(Cortex XDR Prevent, Pro per Endpoint or Pro per GB).',
    403: 'Forbidden - the API key does not have the RBAC permissions this API needs. '
         'Check the role assigned to the API key.',
    404: 'Not found - the API path or object does not exist. Check the server URL and the IDs you gave.',
    429: 'Too many requests - Cortex XDR rate limited the API key.',
    500: 'Internal server error - Cortex XDR reported an API communication error. Try again later; '
         'if it persists, check the arguments and contact Palo Alto Networks support.',
    502: 'Bad gateway - Cortex XDR is temporarily unavailable. Try again later.',
    503: 'Service unavailable - Cortex XDR is temporarily unavailable. Try again later.',
    504: 'Gateway timeout - Cortex XDR did not answer in time. Try again later.',
}

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

# region plumbing: params, auth, errors, client


class InstanceParams:
    """The instance settings, read and checked once."""

    def __init__(self, params: dict[str, Any]):
        self.url = str(params.get('url') or '').strip().rstrip('/')
        if not self.url.lower().startswith(('https://', 'http://')):
            raise DemistoException('Server URL must start with https:// (for example https://api-yourfqdn).')
        credentials = params.get('credentials') or {}
        self.api_key_id = str(credentials.get('identifier') or '').strip()
        self.api_key = str(credentials.get('password') or '').strip()
        if not self.api_key_id or not self.api_key:
            raise DemistoException('API key ID and API key are required (instance setting "API Key").')
        self.auth_type = str(params.get('auth_type') or AUTH_STANDARD)
        if self.auth_type not in (AUTH_STANDARD, AUTH_ADVANCED):
            raise DemistoException('API key type must be Standard or Advanced.')
        self.verify = not argToBoolean(params.get('insecure', False))
        self.proxy = argToBoolean(params.get('proxy', False))
        self.timeout = bounded_number(params.get('timeout'), 'HTTP timeout', DEFAULT_TIMEOUT_SECONDS, 1, 3600)
        self.max_concurrency = bounded_number(params.get('max_concurrency'), 'Maximum concurrent requests',
                                              DEFAULT_MAX_CONCURRENCY, 1, MAX_CONCURRENCY)

    def secrets(self) -> list[str]:
        """Values that must never be shown: the key (and the key ID when it is long enough to be one)."""
        return [self.api_key] + ([self.api_key_id] if len(self.api_key_id) >= MIN_SECRET_LENGTH + 2 else [])


def bounded_number(value: Any, name: str, default: int, low: int, high: int) -> int:
    """A whole number in [low, high]; default when empty."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if value is None or str(value).strip() == '':
        return default
    text = str(value).strip()
    if not re.fullmatch(r'\d+(\.0+)?', text):
        raise DemistoException(f'{name} must be a whole number from {low} to {high}, got "{text[:50]}".')
    number = int(float(text))
    if not low <= number <= high:
        raise DemistoException(f'{name} must be from {low} to {high}, got {number}.')
    return number


def make_advanced_auth(api_key: str, nonce: str | None = None,
                       timestamp_ms: int | None = None) -> tuple[str, str, str]:
    """(nonce, timestamp, authorization) for an Advanced key: sha256(key + nonce + timestamp) in hex."""
    nonce = nonce or ''.join(secrets.choice(NONCE_ALPHABET) for _ in range(NONCE_LENGTH))
    timestamp = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    digest = hashlib.sha256((api_key + nonce + timestamp).encode('utf-8')).hexdigest()
    return nonce, timestamp, digest


def describe_error_body(body: Any) -> str:
    """The human part of an XDR error body: err_msg (itself JSON sometimes) and err_extra."""
    if isinstance(body, dict) and isinstance(body.get('reply'), dict) and 'err_msg' in body['reply']:
        body = body['reply']
    if not isinstance(body, dict):
        return ''
    parts = []
    err_msg = body.get('err_msg')
    if isinstance(err_msg, str):
        try:
            err_msg = json.loads(err_msg)
        except ValueError:
            pass
    if isinstance(err_msg, dict):
        message = err_msg.get('message') or err_msg.get('err_msg') or json.dumps(err_msg, sort_keys=True)
        location = [f'{k} {err_msg[k]}' for k in ('line', 'column') if k in err_msg]
        parts.append(str(message) + (' ({})'.format(', '.join(location)) if location else ''))
    elif err_msg not in (None, ''):
        parts.append(str(err_msg))
    err_extra = body.get('err_extra')
    if err_extra not in (None, '', {}, []):
        parts.append(f'Details: {err_extra if isinstance(err_extra, str) else json.dumps(err_extra)}')
    return ' '.join(parts)[:2000]


def build_error_message(status: int, endpoint: str, body: Any) -> str:
    """'Cortex XDR API call <endpoint> failed with status N. <meaning> Server message: ...'."""
    meaning = STATUS_MEANINGS.get(status, 'Unexpected HTTP status from Cortex XDR.')
    detail = describe_error_body(body)
    message = f'Cortex XDR API call {endpoint} failed with status {status}. {meaning}'
    if detail:
        message += f' Server message: {detail}'
    elif body is None and status not in STATUS_MEANINGS:
        message += ' (the reply was not JSON)'
    return message


def transport_failure(endpoint: str, error: BaseException) -> DemistoException:
    """A plain message for a request that got no HTTP reply (the runtime's own text names exception types)."""
    cause = error.exception if isinstance(error, DemistoException) and error.exception else error
    if isinstance(cause, requests.exceptions.SSLError):
        reason = 'the TLS certificate could not be verified (choose "Trust any certificate" only if you must)'
    elif isinstance(cause, requests.exceptions.ProxyError):
        reason = 'the proxy refused the connection (check "Use system proxy settings")'
    elif isinstance(cause, requests.exceptions.Timeout):
        reason = 'no reply in time (check the timeout setting)'
    elif isinstance(cause, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        reason = 'the reply broke off or could not be decoded'
    else:
        reason = 'connection problem (check the server URL and the network)'
    return DemistoException(f'Cortex XDR API call {endpoint} failed: {reason}.')


def urlparse_path(url: str) -> str:
    """The path of a URL (or of a bare path)."""
    return urlparse(url).path if '://' in url else url.split('?', maxsplit=1)[0]


def content_disposition_name(header: str | None) -> str | None:
    """The file name a server suggests in Content-Disposition, made safe."""
    if not header:
        return None
    match = re.search(r'filename\*?=(?:UTF-8\'\')?"?([^";]+)"?', header)
    return safe_file_name(match.group(1)) if match else None


def action_id_value(action_id: Any) -> Any:
    """Action IDs are numbers in the API; keep any other form as given."""
    text = str(action_id).strip()
    return int(text) if text.isdigit() else text


def require_dict(reply: Any, endpoint: str, *keys: str) -> dict[str, Any]:
    """The reply as an object holding keys, or a clear error naming the endpoint."""
    if not isinstance(reply, dict):
        raise DemistoException(f'Cortex XDR API call {endpoint} returned an unexpected reply: expected an object with the '
                               f'result, got {reply_kind(reply)}.')
    missing = [key for key in keys if reply.get(key) in (None, '')]
    if missing:
        raise DemistoException('Cortex XDR API call {} returned a reply without {}.'.format(endpoint,
                                                                                          ', '.join(missing)))
    return reply


def reply_kind(value: Any) -> str:
    """'nothing', 'a list', 'a text', ... for error messages (never a Python type name)."""
    if value is None:
        return 'nothing'
    if isinstance(value, bool):
        return 'a true/false value'
    if isinstance(value, int | float):
        return 'a number'
    if isinstance(value, str):
        return 'a text'
    if isinstance(value, list):
        return 'a list'
    return 'an object'


class Client(BaseClient):
    """One method per Cortex XDR endpoint; each returns the parsed `reply`. Owns every endpoint string."""

    def __init__(self, params: InstanceParams, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__(base_url=params.url + API_PATH, verify=params.verify, proxy=params.proxy)
        self.params = params
        self.gate = RetryGate(VENDOR, sleep=sleep, clock=clock)
        self.issued_secrets: list[str] = []  # Advanced digests sent in this run, for redaction
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=params.max_concurrency)
        self._session.mount('https://', adapter)
        self._session.mount('http://', adapter)

    def _auth_headers(self) -> dict[str, str]:
        """Fresh headers for every request: an Advanced key needs a new nonce and timestamp each time."""
        headers = {'x-xdr-auth-id': self.params.api_key_id, 'Content-Type': 'application/json',
                   'Accept': 'application/json'}
        if self.params.auth_type == AUTH_ADVANCED:
            nonce, timestamp, authorization = make_advanced_auth(self.params.api_key)
            self.issued_secrets.append(authorization)
            headers.update({'x-xdr-nonce': nonce, 'x-xdr-timestamp': timestamp, 'Authorization': authorization})
        else:
            headers['Authorization'] = self.params.api_key
        return headers

    def secrets(self) -> list[str]:
        """Everything this client must never show: the key and every Advanced digest it sent."""
        return self.params.secrets() + self.issued_secrets

    def _error_handler(self, endpoint: str) -> Callable[[requests.Response], None]:
        def handle(res: requests.Response) -> None:
            try:
                body = res.json()
            except ValueError:
                body = None
            # A reply may quote the request; the message can end up in a context row, so redact it here.
            message = redact(build_error_message(res.status_code, endpoint, body), self.secrets())
            raise HTTPStatusError(message, status=res.status_code,
                                  retry_after=parse_retry_after(res.headers.get('Retry-After')))
        return handle

    def _send(self, endpoint: str, method: str = 'POST', auth: bool = True, **kwargs: Any) -> requests.Response:
        """One request with fresh auth; 429/502/503/504 retried through the shared gate (bounded waiting)."""
        def request() -> requests.Response:
            try:
                return self._http_request(method, headers=self._auth_headers() if auth else {'Accept': '*/*'},
                                          resp_type='response', timeout=self.params.timeout,
                                          error_handler=self._error_handler(endpoint), **kwargs)
            except HTTPStatusError:
                raise
            except (DemistoException, requests.exceptions.RequestException) as error:
                if isinstance(error, DemistoException) and not isinstance(
                        error.exception, requests.exceptions.RequestException):
                    raise
                raise transport_failure(endpoint, error) from None

        return call_with_retries(request, endpoint, self.gate)

    def _post(self, endpoint: str, request_data: dict[str, Any]) -> Any:
        """The `reply` of a JSON API call, or a clear error naming the endpoint."""
        res = self._send(endpoint, url_suffix='/' + endpoint, json_data={'request_data': request_data})
        try:
            body = res.json()
        except ValueError:
            raise DemistoException(f'Cortex XDR API call {endpoint} returned a reply that is not JSON '
                                   f'(status {res.status_code}).') from None
        except requests.exceptions.RequestException as error:
            raise transport_failure(endpoint, error) from None
        if not isinstance(body, dict) or 'reply' not in body:
            raise DemistoException(f'Cortex XDR API call {endpoint} returned JSON without a "reply" field.')
        return body['reply']

    def save_stream(self, endpoint: str, res: requests.Response, dest_path: str, max_bytes: int) -> int:
        """Write a streamed reply body to dest_path, bounded; an empty, short or broken body is an error."""
        size = 0
        try:
            with open(dest_path, 'wb') as target:
                for chunk in res.iter_content(CHUNK_SIZE):
                    size += len(chunk)
                    if size > max_bytes:
                        raise DemistoException(f'{endpoint}: the file is larger than the {max_bytes // MEBIBYTE} MB '
                                               'limit (max_total_size_mb).'
                                               )
                    target.write(chunk)
            check_complete_body(endpoint, res, size)
            return size
        except requests.exceptions.RequestException:
            remove_quietly(dest_path)
            raise DemistoException(f'{endpoint}: the download broke off after {size} bytes.') from None
        except BaseException:
            remove_quietly(dest_path)
            raise
        finally:
            res.close()

    # -- endpoints

    def create_distribution(self, request_data: dict[str, Any]) -> Any:
        return self._post('distributions/create', request_data)

    def get_distribution_status(self, distribution_id: str) -> Any:
        return self._post('distributions/get_status', {'distribution_id': distribution_id})

    def get_distribution_url(self, distribution_id: str, package_type: str) -> Any:
        return self._post('distributions/get_dist_url', {'distribution_id': distribution_id,
                                                          'package_type': package_type})

    def get_distribution_versions(self) -> Any:
        return self._post('distributions/get_versions', {})

    def retrieve_file(self, endpoint_ids: list[str], files: dict[str, list[str]], incident_id: int | None) -> Any:
        request_data: dict[str, Any] = {
            'filters': [{'field': 'endpoint_id_list', 'operator': 'in', 'value': endpoint_ids}],
            'files': files,
        }
        if incident_id is not None:
            request_data['incident_id'] = incident_id
        return self._post('endpoints/file_retrieval', request_data)

    def get_action_status(self, action_id: Any) -> Any:
        return self._post('actions/get_action_status', {'group_action_id': action_id_value(action_id)})

    def get_file_retrieval_details(self, action_id: Any) -> Any:
        return self._post('actions/file_retrieval_details', {'group_action_id': action_id_value(action_id)})

    def get_quarantine_status(self, files: list[dict[str, str]]) -> Any:
        return self._post('quarantine/status', {'files': files})

    def open_retrieved_file(self, file_link: str) -> requests.Response:
        """The streamed zip of one endpoint, always from this instance's own host (credentials go nowhere else)."""
        match = DOWNLOAD_PATH_RE.search(urlparse_path(file_link))
        if not match:
            raise DemistoException('the download link is not a /public_api/v1/download/ link, so it was not '
                                   'followed')
        return self._send('download', url_suffix='/download/' + match.group(1), stream=True)

    def download_distribution(self, url: str, dest_path: str, max_bytes: int) -> tuple[int, str | None]:
        """The installation package from its (pre-signed) URL; no XDR credentials are sent there."""
        res = self._send('distribution package download', method='GET', auth=False, full_url=url, stream=True)
        name = content_disposition_name(res.headers.get('Content-Disposition'))
        return self.save_stream('distribution package download', res, dest_path, max_bytes), name


def check_complete_body(endpoint: str, res: requests.Response, size: int) -> None:
    """An empty body, or fewer raw bytes than Content-Length announced, is a failed download."""
    if size == 0:
        raise DemistoException(f'{endpoint}: the server answered with an empty file.')
    expected = str(res.headers.get('Content-Length') or '')
    encoded = str(res.headers.get('Content-Encoding') or 'identity').lower() not in ('', 'identity')
    if expected.isdigit() and not encoded and int(expected) != size:
        raise DemistoException(f'{endpoint}: the connection closed after {size} of {expected} bytes.')


# endregion

# region shared argument parsing


def arg_items(value: Any) -> list[Any]:
    """argToList that also takes a number (a playbook can pass one)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    return argToList(value)


def to_list(value: Any) -> list[str]:
    """arg_items stripped, without blanks and de-duplicated while keeping order."""
    seen, result = set(), []
    for item in arg_items(value):
        if isinstance(item, dict | list):
            raise DemistoException(f'Expected plain values, got a nested object: {json.dumps(item)[:100]}')
        text = str(item).strip()
        if text and text not in seen:
            seen.add(text)
            result.append(text)
    return result


def boolean_arg(args: dict[str, Any], name: str, default: bool = False) -> bool:
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


def positive_number(args: dict[str, Any], name: str, default: int, maximum: int = 10 ** 9) -> int:
    """A whole number argument from 1 to maximum (default when empty)."""
    return bounded_number(single_arg(args, name), name, default, 1, maximum)


class ZipLimits:
    """The safety limits an archive must stay within."""

    def __init__(self, args: dict[str, Any]):
        self.max_total_bytes = positive_number(args, 'max_total_size_mb', DEFAULT_MAX_TOTAL_SIZE_MB, 1024 * 1024) \
            * MEBIBYTE
        self.max_ratio = positive_number(args, 'max_compression_ratio', DEFAULT_MAX_COMPRESSION_RATIO)
        self.max_entries = positive_number(args, 'max_entries', DEFAULT_MAX_ENTRIES)


class PollingArgs:
    """polling / interval_in_seconds / timeout_in_seconds / polling_started, parsed once."""

    def __init__(self, args: dict[str, Any], default_polling: bool):
        self.enabled = boolean_arg(args, 'polling', default_polling)
        self.interval = max(MIN_POLLING_INTERVAL, positive_number(args, 'interval_in_seconds',
                                                                  DEFAULT_POLLING_INTERVAL, 24 * 3600))
        self.timeout = positive_number(args, 'timeout_in_seconds', DEFAULT_POLLING_TIMEOUT, 7 * 24 * 3600)
        started = single_arg(args, 'polling_started')
        self.started = float(started) if re.fullmatch(r'\d+(\.\d+)?', started) else time.time()

    def elapsed(self) -> int:
        return int(time.time() - self.started)

    def timed_out(self) -> bool:
        return self.elapsed() >= self.timeout

    def next_args(self, args: dict[str, Any], **changes: Any) -> dict[str, Any]:
        """The arguments of the next polling round: the same request plus the start time and changes."""
        next_args = dict(args, polling=True, interval_in_seconds=self.interval, timeout_in_seconds=self.timeout,
                         polling_started=int(self.started))
        next_args.update(changes)
        return next_args


RETRY_AFTER_ARG = 'retry_after'  # set by a rate-limited round: the next round must wait at least this long


def poll(command: str, polling: PollingArgs, round_function: Callable[..., PollResult], args: dict[str, Any],
         *arguments: Any) -> Any:
    """Run one round through CommonServerPython's polling_function with this request's interval and timeout.

    polling_function schedules with a fixed interval; a round that met a long Retry-After (it says so in
    its next-run arguments) is rescheduled here for after that wait instead of sleeping inside the command.
    """
    ScheduledCommand.raise_error_if_not_supported()
    rounds: list[PollResult] = []

    def remembered_round(round_args: dict[str, Any], *more: Any) -> PollResult:
        rounds.append(round_function(round_args, *more))
        return rounds[-1]

    result = polling_function(command, interval=polling.interval, timeout=polling.timeout,
                              requires_polling_arg=False)(remembered_round)(args, *arguments)
    next_args = dict(rounds[-1].args_for_next_run or {}) if rounds and rounds[-1].continue_to_poll else {}
    if RETRY_AFTER_ARG in next_args:
        wait = int(next_args.pop(RETRY_AFTER_ARG))
        result.scheduled_command = ScheduledCommand(command=command, next_run_in_seconds=max(polling.interval, wait),
                                                    args=dict(next_args, hide_polling_output=True),
                                                    timeout_in_seconds=polling.timeout)
    return result


def rate_limited_round(args: dict[str, Any], polling: PollingArgs, limited: RateLimited) -> PollResult:
    """A polling round that met a long Retry-After: schedule the next round instead of waiting here."""
    message = CommandResults(readable_output=f'{limited.message} The next polling round will run then.')
    next_args = polling.next_args(args, **{RETRY_AFTER_ARG: int(limited.retry_after + 0.999)})
    return PollResult(response=message, continue_to_poll=True, partial_result=message, args_for_next_run=next_args)


def progress_line(what: str, unit: str, done: int, pending: int, failed: int, elapsed: int) -> str:
    """'Retrieve File: 3 of 5 endpoint(s) done, 1 pending, 1 failed (elapsed 1m 05s).'"""
    total = done + pending + failed
    return f'{what}: {done} of {total} {unit} done, {pending} pending, {failed} failed (elapsed {format_elapsed(elapsed)}).'


def format_elapsed(seconds: int) -> str:
    minutes, rest = divmod(max(0, int(seconds)), 60)
    return f'{minutes}m {rest:02d}s' if minutes else f'{rest}s'


# endregion

# region xdr-response-create-distribution


def build_distribution_request(args: dict[str, Any]) -> dict[str, Any]:
    """request_data for distributions/create, enforcing the API rules before any request is made."""
    name = single_arg(args, 'name')
    package_type = single_arg(args, 'package_type').lower()
    platform = single_arg(args, 'platform').lower()
    agent_version = single_arg(args, 'agent_version')
    if not name:
        raise DemistoException('name is required: give the installation package a name.')
    if package_type not in PACKAGE_TYPES:
        raise DemistoException('package_type must be "standalone" (a new agent) or "upgrade" (an upgrade from '
                               f'ESM), got "{package_type}".')
    if platform and platform not in PLATFORMS:
        raise DemistoException(f'platform must be one of {", ".join(PLATFORMS)}, got "{platform}".')
    request_data: dict[str, Any] = {'name': name, 'package_type': package_type}
    if package_type == 'standalone':
        request_data.update(standalone_fields(platform, agent_version))
    else:
        request_data.update(upgrade_fields(platform, agent_version))
    if agent_version:
        request_data['agent_version'] = agent_version
    description = single_arg(args, 'description')
    if description:
        request_data['description'] = description
    return request_data


def standalone_fields(platform: str, agent_version: str) -> dict[str, str]:
    """A standalone package names its platform; every platform but Android needs an agent version."""
    if not platform:
        raise DemistoException('A standalone package needs platform: one of windows, linux, macos, android.')
    if platform == 'android' and agent_version:
        raise DemistoException('Android packages take no agent_version: remove agent_version.')
    if platform != 'android' and not agent_version:
        raise DemistoException(f'A standalone {platform} package needs agent_version; run '
                               'xdr-response-get-distribution-versions to list the available versions.')
    return {'platform': platform}


def upgrade_fields(platform: str, agent_version: str) -> dict[str, str]:
    """An upgrade package needs an agent version; with a platform, the API reads it from <platform>_version."""
    if not agent_version:
        raise DemistoException('An upgrade package needs agent_version; run '
                               'xdr-response-get-distribution-versions to list the available versions.')
    if platform == 'android':
        raise DemistoException('Upgrade packages exist for windows, linux and macos only, not android.')
    return {'platform': platform, f'{platform}_version': agent_version} if platform else {}


def create_distribution_command(client: Client, args: dict[str, Any]) -> CommandResults:
    """Create an agent installation package (asynchronous on the tenant).

    The platform, package type and agent version rules of the API are checked before the request; the
    reply's distribution_id becomes `PaloAltoNetworksXDR.Distribution.id`, to follow with
    xdr-response-get-create-distribution-status.
    """
    request_data = build_distribution_request(args)
    reply = require_dict(client.create_distribution(request_data), 'distributions/create', 'distribution_id')
    distribution = {'id': str(reply['distribution_id']), 'name': request_data['name'],
                    'platform': request_data.get('platform'), 'package_type': request_data['package_type'],
                    'agent_version': request_data.get('agent_version'),
                    'description': request_data.get('description')}
    distribution = {k: v for k, v in distribution.items() if v is not None}
    readable = ('Installation package "{}" ({} {}{}) is being created: distribution {}.\nFollow it with '
                '!xdr-response-get-create-distribution-status distribution_ids={} polling=true'.format(
                    distribution['name'], distribution.get('platform', 'all platforms'), distribution['package_type'],
                    ', agent ' + distribution['agent_version'] if distribution.get('agent_version') else '',
                    distribution['id'], distribution['id']))
    return CommandResults(outputs_prefix=CONTEXT_PREFIX + '.Distribution', outputs_key_field='id',
                          outputs=distribution, readable_output=readable, raw_response=reply)

# endregion

# region xdr-response-get-create-distribution-status


def is_distribution_pending(status: Any) -> bool:
    return str(status).strip().lower() in DISTRIBUTION_PENDING_STATUSES


def distribution_status_round(args: dict[str, Any], client: Client, distribution_ids: list[str],
                              polling: PollingArgs) -> PollResult:
    """One status call per package (bounded concurrency); poll again while any package is still being built."""
    def status_of(distribution_id: str) -> dict[str, Any]:
        reply = require_dict(client.get_distribution_status(distribution_id), 'distributions/get_status', 'status')
        return {'id': distribution_id, 'status': str(reply['status'])}

    try:
        rows = run_bounded(status_of, distribution_ids, client.params.max_concurrency)
    except RateLimited as limited:
        if not polling.enabled:
            raise
        return rate_limited_round(args, polling, limited)
    pending = [row['id'] for row in rows if is_distribution_pending(row['status'])]
    result = CommandResults(outputs_prefix=CONTEXT_PREFIX + '.Distribution', outputs_key_field='id', outputs=rows,
                            raw_response=rows,
                            readable_output=tableToMarkdown('Installation package status', rows,
                                                            headers=['id', 'status'],
                                                            headerTransform=string_to_table_header))
    if not pending or not polling.enabled:
        return PollResult(response=result, continue_to_poll=False)
    if polling.timed_out():
        raise DemistoException('Timed out after {} waiting for installation package(s) {}; run '
                               'xdr-response-get-create-distribution-status later.'.format(
                                   format_elapsed(polling.elapsed()), ', '.join(pending)))
    result.readable_output = progress_line('Installation packages', 'package(s)', len(rows) - len(pending),
                                           len(pending), 0, polling.elapsed()) + ' Still being built: {}.'.format(
        ', '.join(pending))
    return PollResult(response=result, continue_to_poll=True, partial_result=result,
                      args_for_next_run=polling.next_args(args, distribution_ids=','.join(distribution_ids)))


def get_distribution_status_command(client: Client, args: dict[str, Any]) -> Any:
    """Status of one or more installation packages; with polling=true, wait until every package is ready.

    Status calls run with bounded concurrency. Each round shows how many packages are ready and how long it
    has been waiting; a package still being built at timeout_in_seconds ends the polling with an error naming it.
    """
    distribution_ids = to_list(args.get('distribution_ids'))
    if not distribution_ids:
        raise DemistoException('distribution_ids is required.')
    polling = PollingArgs(args, default_polling=False)
    return poll('xdr-response-get-create-distribution-status', polling, distribution_status_round, args, client,
                distribution_ids, polling)

# endregion

# region xdr-response-get-distribution-url


def get_distribution_url_command(client: Client, args: dict[str, Any]) -> list[Any]:
    """The download URL of a ready installation package; with download=true, the package file itself.

    `download_package` (the official integration's name) is accepted as an alias of `download`. The file is
    streamed to disk from the pre-signed URL without XDR credentials; an empty or short download is an error.
    """
    distribution_id = single_arg(args, 'distribution_id')
    package_type = single_arg(args, 'package_type').lower()
    if not distribution_id:
        raise DemistoException('distribution_id is required.')
    if package_type not in DIST_URL_PACKAGE_PLATFORMS:
        raise DemistoException('package_type must be one of {} (sh/rpm/deb for Linux, pkg for macOS, x86/x64 for '
                               'Windows, upgrade for upgrade packages), got "{}".'.format(
                                   ', '.join(DIST_URL_PACKAGE_PLATFORMS), package_type))
    download = boolean_arg(args, 'download', False) or boolean_arg(args, 'download_package', False)
    max_bytes = positive_number(args, 'max_total_size_mb', DEFAULT_MAX_TOTAL_SIZE_MB, 1024 * 1024) * MEBIBYTE
    file_name = safe_file_name(single_arg(args, 'file_name'), default=distribution_id)
    reply = require_dict(client.get_distribution_url(distribution_id, package_type), 'distributions/get_dist_url',
                         'distribution_url')
    url = str(reply['distribution_url'])
    output = {'id': distribution_id, 'url': url, 'package_type': package_type}
    readable = (f'Installation package {distribution_id}: {package_type} package '
                f'({DIST_URL_PACKAGE_PLATFORMS[package_type]}). [Download link]({url}) (pre-signed; it expires).')
    results: list[Any] = [CommandResults(outputs_prefix=CONTEXT_PREFIX + '.Distribution', outputs_key_field='id',
                                         outputs=output, readable_output=readable, raw_response=reply)]
    if download:
        file_id, path = new_war_room_file_path()
        _, served_name = client.download_distribution(url, path, max_bytes)
        name = served_name or f'{file_name}_{package_type}.{DIST_FILE_EXTENSIONS[package_type]}'
        if '.' not in name:
            name += '.' + DIST_FILE_EXTENSIONS[package_type]
        results.append(file_entry(name, file_id))
    return results

# endregion

# region xdr-response-get-distribution-versions


def get_distribution_versions_command(client: Client, args: dict[str, Any]) -> CommandResults:
    """The agent versions available per platform, for xdr-response-create-distribution."""
    reply = require_dict(client.get_distribution_versions(), 'distributions/get_versions')
    versions = {str(platform): values if isinstance(values, list) else [values]
                for platform, values in reply.items() if values is not None}
    rows = [{'platform': platform, 'versions': ', '.join(str(v) for v in values)}
            for platform, values in versions.items()]
    return CommandResults(outputs_prefix=CONTEXT_PREFIX + '.DistributionVersions', outputs=versions,
                          readable_output=tableToMarkdown('Agent versions', rows, headers=['platform', 'versions'],
                                                          headerTransform=string_to_table_header),
                          raw_response=reply)

# endregion

# region xdr-response-action-status-get


def is_action_pending(status: Any) -> bool:
    return str(status).upper() in ACTION_PENDING_STATUSES


def describe_error_reason(reason: Any) -> str:
    """A sentence from one endpoint's errorReasons entry (any shape)."""
    if isinstance(reason, dict):
        text = reason.get('errorDescription') or reason.get('error_description') or ''
        text = text if isinstance(text, str) else json.dumps(text, sort_keys=True, default=str)
        missing = reason.get('missing_files')
        if missing:
            listed = ', '.join(str(m) for m in missing) if isinstance(missing, list) else str(missing)
            text = (text + ' ' if text else '') + f'Missing files: {listed}'
        return text or json.dumps(reason, sort_keys=True, default=str)
    return '' if reason is None else str(reason)


def parse_action_status(reply: Any, action_id: Any) -> list[dict[str, Any]]:
    """Rows {action_id, endpoint_id, status[, ErrorReasons, error_description]} of a get_action_status reply.

    ErrorReasons is the API's per-endpoint reason object as returned, as in the official integration's rows.
    """
    reply = require_dict(reply, 'actions/get_action_status')
    data = reply.get('data')
    if not isinstance(data, dict):
        raise DemistoException(f'Cortex XDR API call actions/get_action_status returned no "data" for action {action_id}.'
                               )
    reasons: dict[str, Any] = reply['errorReasons'] if isinstance(reply.get('errorReasons'), dict) else {}
    rows = []
    for endpoint_id, status in data.items():
        row: dict[str, Any] = {'action_id': action_id_value(action_id), 'endpoint_id': str(endpoint_id),
                               'status': str(status)}
        reason = reasons.get(endpoint_id)
        if reason:
            row['ErrorReasons'] = reason
            row['error_description'] = describe_error_reason(reason)
        rows.append(row)
    return rows


def action_statuses(client: Client, action_ids: list[str]) -> list[dict[str, Any]]:
    """Status rows of every action, one call each with bounded concurrency, in input order."""
    per_action = run_bounded(lambda action_id: parse_action_status(client.get_action_status(action_id), action_id),
                             action_ids, client.params.max_concurrency)
    return [row for rows in per_action for row in rows]


def action_status_command(client: Client, args: dict[str, Any]) -> CommandResults:
    """The status of one or more actions per endpoint, with the API's reasons for failed endpoints."""
    action_ids = to_list(args.get('action_id'))
    if not action_ids:
        raise DemistoException('action_id is required.')
    rows = action_statuses(client, action_ids)
    return CommandResults(
        outputs_prefix=CONTEXT_PREFIX + '.GetActionStatus', outputs_key_field=['action_id', 'endpoint_id'],
        outputs=rows, raw_response=rows,
        readable_output=tableToMarkdown('Action status', rows,
                                        headers=['action_id', 'endpoint_id', 'status', 'error_description'],
                                        headerTransform=string_to_table_header, removeNull=True))

# endregion

# region single-pass zip extraction (from the HTTP stream; standard library only)

"""Entries are parsed from their local headers, inflated, checked and hashed while the body streams in, written
to the working directory, and accepted only when the central directory agrees with what was extracted.
Anything that cannot be read front to back raises ZipStreamUnsupported; the caller then uses the two-pass
extraction below on the complete zip."""


class ZipStreamError(Exception):
    """The archive is invalid, hostile or over a limit; nothing of it was kept."""


class ZipStreamUnsupported(Exception):
    """The archive cannot be extracted in one pass; use the two-pass path (see module docstring)."""

    def __init__(self, message: str, zip_path: str | None = None,
                 replay: Iterator[bytes] | None = None) -> None:
        super().__init__(message)
        self.zip_path = zip_path
        self.replay = replay


def zip_decode_name(raw: bytes, flags: int) -> str:
    """Decode an entry name: UTF-8 when general-purpose flag bit 11 is set, cp437 otherwise."""
    if flags & 0x800:
        try:
            return raw.decode('utf-8')
        except UnicodeDecodeError:
            raise ZipStreamError('an entry name is not valid UTF-8') from None
    return raw.decode('cp437')


def zip_check_name(name: str) -> str:
    """Return the normalised key of a safe entry name, or raise ZipStreamError if it is unsafe."""
    if not name or '\x00' in name:
        raise ZipStreamError(f'the archive has an empty entry name or one with a NUL character: {name!r}')
    if name[0] in '/\\' or re.match(r'[A-Za-z]:', name):
        raise ZipStreamError(f'the archive entry {name!r} has an absolute path')
    parts = re.split(r'[/\\]', name)
    if '..' in parts:
        raise ZipStreamError(f'the archive entry {name!r} points outside the extraction folder')
    return '/'.join(p for p in parts if p not in ('', '.')) + ('/' if name[-1] in '/\\' else '')


class StreamingZipExtractor:
    """Extract a zip archive from an iterable of byte chunks in one pass (see module docstring).

    Entries are written to the paths handed out by ``new_path() -> (file_id, path)`` (which must lie
    inside ``staging_dir``). Limits apply to the bytes actually produced: ``max_total_bytes`` over all
    entries, ``max_ratio`` (uncompressed / compressed, per entry once it has produced 1 MiB) and
    ``max_entries``. ``hashes`` picks the hashlib digests reported besides CRC32 (the others are None);
    ``worker_threads`` threads write the entries and compute CRC32 and the digests (0: inline). One instance
    extracts one archive.
    """

    REPLAY_LIMIT = 4 << 20
    METHOD_AES = 99  # WinZip AES: encrypted
    SIZE_FIELDS = 2  # uncompressed and compressed size
    ZIP64_END_MIN_LENGTH = 44
    OUT_CHUNK = 1 << 20
    RATIO_FLOOR = 1 << 20
    U32 = 0xFFFFFFFF
    SIG_LOCAL, SIG_CENTRAL, SIG_DESCRIPTOR = b'PK\x03\x04', b'PK\x01\x02', b'PK\x07\x08'
    SIG_END, SIG_END64, SIG_LOCATOR64 = b'PK\x05\x06', b'PK\x06\x06', b'PK\x06\x07'

    def __init__(self, staging_dir: str, new_path: Callable[[], tuple[str, str]], max_total_bytes: int,
                 max_ratio: float, max_entries: int, keep_zip_path: str | None = None,
                 hashes: tuple[str, ...] = ('sha256', 'md5', 'sha1'), worker_threads: int = 2) -> None:
        self.staging_dir, self.new_path = os.path.realpath(staging_dir), new_path
        self.max_total_bytes, self.max_ratio, self.max_entries = max_total_bytes, max_ratio, max_entries
        self.keep_zip_path, self.hashes, self.worker_threads = keep_zip_path, hashes, worker_threads
        self._written: list[str] = []
        self._records: list[dict[str, Any]] = []
        self._total = 0

    def extract(self, chunks: Iterable[bytes]) -> list[dict[str, Any]]:
        """Extract the archive; return its files in archive order (directories produce nothing).

        Each result has name, file_id, path, size, crc32 (int), sha256, md5, sha1 (hex) and
        compressed_size.
        """
        keep = open(self.keep_zip_path, 'wb') if self.keep_zip_path else None
        reader = StreamingZipExtractor._Reader(iter(chunks), keep, self.REPLAY_LIMIT)
        failed = True
        try:
            output = StreamingZipExtractor._Output(self.hashes, self.worker_threads)
            try:
                self._read_entries(reader, output)
                self._read_central_directory(reader)
            finally:
                output.close()
            failed = False
        except ZipStreamUnsupported as exc:
            self._cleanup()
            exc.replay = reader.replay() if keep is None else None
            exc.zip_path = reader.drain() if keep is not None else None
            failed = False
            raise
        except zlib.error:
            raise ZipStreamError(f'the compressed data of {self._records[-1]["name"]!r} is corrupt') from None
        finally:
            if keep is not None:
                keep.close()
            if failed:
                self._cleanup(self.keep_zip_path)
        return [{k: r[k] for k in ('name', 'file_id', 'path', 'size', 'crc32', 'sha256', 'md5', 'sha1',
                                   'compressed_size')} for r in self._records if not r['is_dir']]

    def _read_entries(self, reader: '_Reader', output: '_Output') -> None:
        """Extract local entries until the first record that is not a local header."""
        seen = set()
        while True:
            offset = reader.offset
            sig = reader.read_exact(4, 'the next record')
            if sig != self.SIG_LOCAL:
                reader.unread(sig)
                return
            rec = self._read_local_header(reader, offset)
            if len(self._records) >= self.max_entries:
                raise ZipStreamError(f'the archive has more than {self.max_entries} entries (max_entries)')
            key = zip_check_name(rec['name'])
            if key in seen:
                raise ZipStreamError(f'the archive has the entry {rec["name"]!r} more than once')
            seen.add(key)
            self._records.append(rec)
            self._extract_entry(reader, output, rec)

    def _read_local_header(self, reader: '_Reader', offset: int) -> dict[str, Any]:
        """Parse a local file header (after its signature) into an entry record."""
        where = 'a local file header'
        (_, flags, method, _, _, crc, csize, usize, nlen, xlen) = struct.unpack(
            '<HHHHHIIIHH', reader.read_exact(26, where))
        name = zip_decode_name(reader.read_exact(nlen, where), flags)
        extra = reader.read_exact(xlen, where)
        zip64 = self._zip64_fields(extra, [usize, csize], always=True)
        if zip64 is not None:
            usize, csize = zip64[0], zip64[1]
        if flags & 0x41 or method == self.METHOD_AES:
            raise ZipStreamUnsupported(f'the archive entry {name!r} is encrypted')
        if method not in (0, 8):
            raise ZipStreamUnsupported(f'the archive entry {name!r} uses compression method {method}')
        descriptor = bool(flags & 0x08)
        if method == 0 and descriptor and csize == 0:
            raise ZipStreamUnsupported(f'the size of the stored entry {name!r} is not in its local header')
        if method == 0 and not descriptor and csize != usize:
            raise ZipStreamError(f'the stored entry {name!r} declares two different sizes')
        return {'name': name, 'flags': flags, 'method': method, 'offset': offset, 'crc_declared': crc,
                'declared': (csize, usize), 'known_csize': None if descriptor and method else csize,
                'zip64': zip64 is not None, 'is_dir': name.endswith(('/', '\\')),
                'file_id': None, 'path': None, 'size': 0, 'compressed_size': 0}

    @staticmethod
    def _zip64_fields(extra: bytes, values: list[int], always: bool = False) -> list[int] | None:
        """Return ``values`` with the 0xFFFFFFFF ones replaced from the zip64 extra field.

        In a local header the field holds both sizes (``always``); returns None without the field.
        """
        pos = 0
        while pos + 4 <= len(extra):
            tag, size = struct.unpack_from('<HH', extra, pos)
            body = extra[pos + 4:pos + 4 + size]
            pos += 4 + size
            if tag != 1:
                continue
            nums = [struct.unpack_from('<Q', body, i)[0] for i in range(0, len(body) - 7, 8)]
            out, both_sizes = list(values), always and len(nums) >= StreamingZipExtractor.SIZE_FIELDS
            for i, value in enumerate(values):
                if (both_sizes and i < StreamingZipExtractor.SIZE_FIELDS) or value == StreamingZipExtractor.U32:
                    if not nums:
                        raise ZipStreamError('a zip64 extra field is too short')
                    out[i] = nums.pop(0)
            return out
        return None

    def _extract_entry(self, reader: '_Reader', output: '_Output', rec: dict[str, Any]) -> None:
        """Write one entry's data to a staged file while checking and hashing it."""
        out = None
        if not rec['is_dir']:
            rec['file_id'], rec['path'] = self.new_path()
            if not os.path.realpath(rec['path']).startswith(self.staging_dir + os.sep):
                raise ValueError('new_path() returned a path outside the staging folder')
            out = open(rec['path'], 'xb')  # never overwrite (or later delete) a file we did not create
            self._written.append(rec['path'])
        output.begin(out)
        try:
            if rec['method'] == 0:
                self._copy_stored(reader, output, rec)
            else:
                self._inflate(reader, output, rec)
            rec.update(output.finish())
        finally:
            output.settle()  # no worker may still write when the file is closed (or removed after a failure)
            if out is not None:
                out.close()
        if rec['flags'] & 0x08:
            self._read_descriptor(reader, rec)
        if (rec['compressed_size'], rec['size']) != rec['declared']:
            raise ZipStreamError(f'the sizes of {rec["name"]!r} do not match its header')
        if rec['crc32'] != rec['crc_declared']:
            raise ZipStreamError(f'the checksum of {rec["name"]!r} does not match (the data is damaged)')

    def _read_descriptor(self, reader: '_Reader', rec: dict[str, Any]) -> None:
        """Consume the data descriptor after an entry (optional signature, 32- or 64-bit sizes).

        The layout is told apart by the sizes, which must equal what the entry actually produced.
        """
        data = reader.peek(24)
        skips = (4, 0) if data[:4] == self.SIG_DESCRIPTOR else (0,)
        layouts = ('<IQQ', '<III') if rec['zip64'] else ('<III', '<IQQ')
        for skip, fmt in itertools.product(skips, layouts):
            size = struct.calcsize(fmt)
            if len(data) >= skip + size:
                crc, csize, usize = struct.unpack_from(fmt, data, skip)
                if (csize, usize) == (rec['compressed_size'], rec['size']):
                    reader.read_exact(skip + size, 'a data descriptor')
                    rec['crc_declared'], rec['declared'] = crc, (csize, usize)
                    return
        raise ZipStreamError(f'the data descriptor of {rec["name"]!r} is missing, cut short or wrong')

    def _emit(self, output: '_Output', rec: dict[str, Any], data: Any, consumed: int) -> None:
        """Account, check and write one piece of produced data."""
        if not len(data):
            return
        if rec['is_dir']:
            raise ZipStreamError(f'the directory entry {rec["name"]!r} has content')
        self._total += len(data)
        rec['size'] += len(data)
        if self._total > self.max_total_bytes:
            raise ZipStreamError(f'the archive expands to more than {self.max_total_bytes} bytes (max_total_size_mb)')
        if rec['size'] >= self.RATIO_FLOOR and rec['size'] > self.max_ratio * max(consumed, 1):
            raise ZipStreamError(f'the entry {rec["name"]!r} expands over {self.max_ratio} times '
                                 '(max_compression_ratio; a zip bomb?)')
        output.update(data)

    def _copy_stored(self, reader: '_Reader', output: '_Output', rec: dict[str, Any]) -> None:
        """Copy a stored entry of known size."""
        remaining = rec['known_csize']
        while remaining:
            data = reader.read_some(remaining, f'the data of {rec["name"]!r}')
            remaining -= len(data)
            rec['compressed_size'] += len(data)
            self._emit(output, rec, data, rec['compressed_size'])

    def _inflate(self, reader: '_Reader', output: '_Output', rec: dict[str, Any]) -> None:
        """Inflate a deflated entry up to the end of its deflate stream."""
        inflater = zlib.decompressobj(-15)
        known = rec['known_csize']
        fed = 0
        while not inflater.eof:
            if known is not None and fed >= known:
                raise ZipStreamError(f'the compressed data of {rec["name"]!r} ends too early')
            want = self.OUT_CHUNK if known is None else known - fed
            data = reader.read_some(want, f'the data of {rec["name"]!r}')
            fed += len(data)
            while True:
                piece = inflater.decompress(data, self.OUT_CHUNK)
                data = inflater.unconsumed_tail
                self._emit(output, rec, piece, fed - len(data))
                if inflater.eof or (not data and len(piece) < self.OUT_CHUNK):
                    break
        if inflater.unused_data:
            reader.unread(inflater.unused_data)
            fed -= len(inflater.unused_data)
        rec['compressed_size'] = fed

    def _read_central_directory(self, reader: '_Reader') -> None:
        """Check the central directory and end records against the extracted entries."""
        cd_start, index = reader.offset, 0
        sig = reader.read_exact(4, 'the central directory')
        while sig == self.SIG_CENTRAL:
            self._check_central_entry(reader, index)
            index += 1
            sig = reader.read_exact(4, 'the central directory')
        cd_size = reader.offset - 4 - cd_start
        if sig not in (self.SIG_END, self.SIG_END64):
            what = 'is not a zip archive' if cd_start == 0 else 'has unexpected data after its last entry'
            raise ZipStreamError(f'the download {what}')
        if index != len(self._records):
            raise ZipStreamError('the central directory lists fewer entries than the archive contains')
        end64 = self._read_end64(reader) if sig == self.SIG_END64 else None
        if end64 is not None:
            sig = reader.read_exact(4, 'the end of central directory record')
        if sig != self.SIG_END:
            raise ZipStreamError('the end of central directory record is missing')
        disk, cd_disk, on_disk, total, size, offset, clen = struct.unpack(
            '<HHHHIIH', reader.read_exact(18, 'the end of central directory record'))
        reader.read_exact(clen, 'the archive comment')
        if not reader.at_eof():
            raise ZipStreamError('the archive has unexpected data after its end record')
        found = [disk, cd_disk, on_disk, total, size, offset]
        if end64 is not None:
            found = [e if f in (0xFFFF, self.U32) else f for f, e in zip(found, end64, strict=True)]
        if found != [0, 0, len(self._records), len(self._records), cd_size, cd_start]:
            raise ZipStreamError('the end of central directory record does not match the archive')

    def _check_central_entry(self, reader: '_Reader', index: int) -> None:
        """Compare one central directory entry with the entry extracted at the same position."""
        where = 'the central directory'
        (_, _, flags, method, _, _, crc, csize, usize, nlen, xlen, clen, _, _, _, offset) = struct.unpack(
            '<HHHHHHIIIHHHHHII', reader.read_exact(42, where))
        name = zip_decode_name(reader.read_exact(nlen, where), flags)
        extra = reader.read_exact(xlen, where)
        reader.read_exact(clen, where)
        usize, csize, offset = self._zip64_fields(extra, [usize, csize, offset]) or [usize, csize, offset]
        if index >= len(self._records):
            raise ZipStreamError('the central directory lists more entries than the archive contains')
        rec = self._records[index]
        expected = (rec['name'], rec['method'], rec['crc32'], rec['compressed_size'], rec['size'], rec['offset'])
        if (name, method, crc, csize, usize, offset) != expected:
            raise ZipStreamError(f'the central directory disagrees with the entry {rec["name"]!r} '
                                 f'(name, method, size, checksum or position)')

    def _read_end64(self, reader: '_Reader') -> list[int]:
        """Parse the zip64 end record and its locator; return the end record fields (as in EOCD)."""
        where = 'the zip64 end of central directory record'
        start = reader.offset - 4
        (length,) = struct.unpack('<Q', reader.read_exact(8, where))
        if not self.ZIP64_END_MIN_LENGTH <= length <= 1 << 16:
            raise ZipStreamError('the zip64 end of central directory record is invalid')
        body = reader.read_exact(length, where)
        disk, cd_disk, on_disk, total, size, offset = struct.unpack_from('<IIQQQQ', body, 4)
        sig, _, end64_at, _ = struct.unpack('<4sIQI', reader.read_exact(20, 'the zip64 locator'))
        if sig != self.SIG_LOCATOR64 or end64_at != start:
            raise ZipStreamError('the zip64 end of central directory locator is missing or wrong')
        return [disk, cd_disk, on_disk, total, size, offset]

    def _cleanup(self, keep_zip_path: str | None = None) -> None:
        """Remove every staged file written so far (and the partial raw-zip copy, if given)."""
        for path in self._written + ([keep_zip_path] if keep_zip_path else []):
            try:
                os.remove(path)
            except OSError:
                pass
        self._written = []

    class _Reader:
        """Serve exact byte counts from the chunk iterator, with push-back and the raw-byte copy."""

        def __init__(self, chunks: Iterator[bytes], keep: Any, replay_limit: int) -> None:
            self._chunks, self._keep, self._buf, self._pos = chunks, keep, memoryview(b''), 0
            self._pending: list[Any] = []
            self._history: list[bytes] | None = [] if keep is None else None
            self._history_room, self.offset = replay_limit, 0

        def _fill(self) -> bool:
            """Make the next buffer current; False at the end of the stream."""
            if self._pending:
                self._buf, self._pos = self._pending.pop(), 0
                return True
            for chunk in self._chunks:
                if not chunk:
                    continue
                data = bytes(chunk)  # no copy for bytes; makes it immutable otherwise
                if self._keep is not None:
                    self._keep.write(data)
                if self._history is not None:
                    self._history_room -= len(data)
                    self._history.append(data)
                    if self._history_room < 0:
                        self._history = None
                self._buf, self._pos = memoryview(data), 0
                return True
            return False

        def read_some(self, n: int, what: str) -> Any:
            """Return between 1 and n bytes (a read-only view); the stream must not end."""
            if self._pos >= len(self._buf) and not self._fill():
                raise ZipStreamError(f'the archive ends too early (in {what})')
            data = self._buf[self._pos:self._pos + n]
            self._pos += len(data)
            self.offset += len(data)
            return data

        def read_exact(self, n: int, what: str) -> bytes:
            """Return exactly n bytes."""
            parts = []
            while n > 0:
                parts.append(self.read_some(n, what))
                n -= len(parts[-1])
            return b''.join(parts)

        def peek(self, n: int) -> bytes:
            """Return up to n next bytes (fewer only at the end of the stream) without consuming them."""
            parts: list[Any] = []
            while n > 0 and (self._pos < len(self._buf) or self._fill()):
                parts.append(self.read_some(n, ''))
                n -= len(parts[-1])
            data = b''.join(parts)
            self.unread(data)
            return data

        def unread(self, data: bytes) -> None:
            """Push bytes back in front of the stream."""
            if data:
                if self._pos < len(self._buf):
                    self._pending.append(self._buf[self._pos:])
                self._buf, self._pos = memoryview(bytes(data)), 0
                self.offset -= len(data)

        def at_eof(self) -> bool:
            """True when no byte is left."""
            return self._pos >= len(self._buf) and not self._fill()

        def replay(self) -> Iterator[bytes] | None:
            """All raw bytes (kept ones, then the rest of the stream), if they were all kept."""
            return None if self._history is None else itertools.chain(self._history, self._chunks)

        def drain(self) -> str:
            """Write the rest of the stream to the raw-zip copy; return its path."""
            for chunk in self._chunks:
                self._keep.write(chunk)
            return self._keep.name

    class _Output:
        """Where an entry's produced bytes go: its staged file, CRC32 and the digests, inline or on worker threads.

        Writing plus CRC32 is one task and each digest another; the tasks are spread round robin over the threads,
        each fed by a bounded queue in order. zlib, hashlib and file writes release the GIL, so the workers run
        beside the thread that receives and inflates. A worker's failure is raised in the extracting thread.
        """

        def __init__(self, names: tuple[str, ...], threads: int) -> None:
            self._names = names
            self._error: Exception | None = None
            self._queues: list[Any] = [queue.Queue(maxsize=8) for _ in range(min(threads, len(names) + 1))]
            self._spread = max(len(self._queues), 1)
            self._threads = [threading.Thread(target=self._work, args=(q,), daemon=True) for q in self._queues]
            for thread in self._threads:
                thread.start()
            self.begin(None)

        def begin(self, out: Any) -> None:
            """Start a new entry written to `out` (None for a directory)."""
            self._out, self._crc = out, 0
            self._digests = [hashlib.new(name, usedforsecurity=False) for name in self._names]
            tasks = [self._write_and_crc] + [digest.update for digest in self._digests]
            self._groups = [tasks[k::self._spread] for k in range(self._spread)]

        def update(self, data: Any) -> None:
            """Hand on produced bytes (must not be modified afterwards)."""
            if self._error is not None:
                raise self._error
            if not self._queues:
                for task in self._groups[0]:
                    task(data)
                return
            for work, group in zip(self._queues, self._groups, strict=True):
                work.put((group, data))

        def settle(self) -> None:
            """Wait until the workers have done everything handed on (also after a failure)."""
            for work in self._queues:
                work.join()

        def finish(self) -> dict[str, Any]:
            """Settle, then return the entry's checksums (None for digests not asked for)."""
            self.settle()
            if self._error is not None:
                raise self._error
            found = {name: d.hexdigest() for name, d in zip(self._names, self._digests, strict=True)}
            return {'crc32': self._crc, **{name: found.get(name) for name in ('sha256', 'md5', 'sha1')}}

        def _write_and_crc(self, data: Any) -> None:
            self._crc = zlib.crc32(data, self._crc)
            if self._out is not None:
                self._out.write(data)

        def _work(self, work: 'queue.Queue[Any]') -> None:
            """Worker loop until the None sentinel; after a failure it only drains its queue."""
            while True:
                item = work.get()
                try:
                    if item is None:
                        return
                    if self._error is None:
                        for task in item[0]:
                            task(item[1])
                except Exception as error:  # handed to the extracting thread, which reports it
                    self._error = error
                finally:
                    work.task_done()

        def close(self) -> None:
            """Stop the workers."""
            for work in self._queues:
                work.put(None)
            for thread in self._threads:
                thread.join()

# endregion

# region two-pass zip extraction (fallback) (used by retrieve-file-details and file-retrieve)


def check_entry_name(name: str) -> str | None:
    """Why an archive entry name is unsafe to extract, or None when it is fine."""
    normalized = name.replace('\\', '/')
    if normalized.startswith('/') or re.match(r'^[A-Za-z]:', normalized):
        return f'absolute path "{name}"'
    if '..' in normalized.split('/'):
        return f'parent-directory path "{name}"'
    if '\x00' in name:
        return f'NUL character in "{name}"'
    return None


def inspect_zip(archive: zipfile.ZipFile, limits: ZipLimits) -> list[zipfile.ZipInfo]:
    """The file entries of the archive after every safety check, before anything is extracted."""
    infos = archive.infolist()
    if len(infos) > limits.max_entries:
        raise DemistoException(f'the archive has {len(infos)} entries, more than max_entries={limits.max_entries}')
    total = 0
    files = []
    seen: set[str] = set()
    for info in infos:
        problem = check_entry_name(info.filename)
        if problem:
            raise DemistoException(f'the archive holds an unsafe entry: {problem}; nothing was extracted')
        if info.filename in seen:
            raise DemistoException(f'the archive holds "{info.filename}" twice; nothing was extracted')
        seen.add(info.filename)
        if info.flag_bits & 0x1:
            raise DemistoException(f'entry "{info.filename}" is encrypted; nothing was extracted')
        if info.is_dir():
            continue
        total += info.file_size
        if total > limits.max_total_bytes:
            raise DemistoException(f'the archive expands to more than max_total_size_mb={limits.max_total_bytes // MEBIBYTE} MB')
        if info.file_size >= RATIO_CHECK_MIN_BYTES and \
                info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise DemistoException(f'entry "{info.filename}" has a compression ratio above '
                                   f'max_compression_ratio={limits.max_ratio} '
                                   '(a zip bomb?)')
        files.append(info)
    return files


def extract_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, dest_path: str, budget: int) -> dict[str, Any]:
    """Stream one entry to dest_path with its hashes; stops when the entry is larger than it claims."""
    digests = {'sha256': hashlib.sha256()}  # XSOAR adds MD5, SHA1 and SHA512 to File.* for every file entry
    size = 0
    limit = min(info.file_size, budget)
    with archive.open(info) as source, open(dest_path, 'wb') as target:
        while True:
            chunk = source.read(CHUNK_SIZE)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise DemistoException(f'entry "{info.filename}" expands beyond its declared size')
            for digest in digests.values():
                digest.update(chunk)
            target.write(chunk)
    return dict({name: digest.hexdigest() for name, digest in digests.items()}, size=size)


def extract_zip_to_war_room(zip_path: str, limits: ZipLimits) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(file rows, war-room file entries) for every file in the archive; all or nothing."""
    rows: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    written: list[str] = []
    try:
        with zipfile.ZipFile(zip_path) as archive:
            budget = limits.max_total_bytes
            for info in inspect_zip(archive, limits):
                file_id, path = new_war_room_file_path()
                written.append(path)
                hashes = extract_member(archive, info, path, budget)
                budget -= hashes['size']
                name = safe_file_name(info.filename)
                rows.append({'name': name, 'archive_path': info.filename, 'size': hashes['size'],
                             'sha256': hashes['sha256']})
                entries.append(file_entry(name, file_id))
    except Exception as error:
        for path in written:
            remove_quietly(path)
        if isinstance(error, DemistoException):
            raise
        raise DemistoException('the downloaded archive is truncated, corrupt or not a zip, so nothing was '
                               'extracted') from None
    return rows, entries

# endregion

# region xdr-response-retrieve-file-details


class EndpointResult:
    """What one endpoint of one Retrieve File action produced: its context row and its war-room files."""

    def __init__(self, row: dict[str, Any], entries: list[dict[str, Any]] | None = None):
        self.row = row
        self.entries = entries or []

    @property
    def failed(self) -> bool:
        return bool(self.row.get('error'))

    @property
    def pending(self) -> bool:
        return is_action_pending(self.row.get('status'))


def download_endpoint_files(client: Client, row: dict[str, Any], limits: ZipLimits,
                            return_zip: bool) -> EndpointResult:
    """Download one endpoint's zip and extract it safely, all or nothing; a failure fails this endpoint only."""
    zip_id, zip_path = new_war_room_file_path()
    try:
        file_rows, entries = extract_retrieved_zip(client, str(row['file_link']), limits,
                                                   zip_path if return_zip else None)
    except Exception as error:
        remove_quietly(zip_path)
        if isinstance(error, RateLimited):
            raise
        return EndpointResult(dict(row, error=f'Download of the retrieved files failed: {describe_failure(error)}'))
    row = dict(row, files=file_rows, file_names=[f['name'] for f in file_rows],
               sha256=[f['sha256'] for f in file_rows])
    if return_zip:
        entries.append(file_entry('xdr_action_{}_{}.zip'.format(row['action_id'], row['endpoint_id']), zip_id))
    else:
        remove_quietly(zip_path)
    return EndpointResult(row, entries)


def extract_retrieved_zip(client: Client, file_link: str, limits: ZipLimits,
                          keep_zip_path: str | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(file rows, war-room file entries): extracted while the zip streams in, each byte written once.

    An archive the stream parser cannot read front to back (encrypted entries, other methods, a stored entry
    sized only in its data descriptor) is completed on disk and goes through the two-pass extraction instead.
    """
    res = client.open_retrieved_file(file_link)
    try:
        extractor = StreamingZipExtractor(os.getcwd(), new_war_room_file_path, limits.max_total_bytes,
                                          limits.max_ratio, limits.max_entries, keep_zip_path=keep_zip_path,
                                          hashes=('sha256',), worker_threads=2)
        received = [0]

        def counted_body() -> Iterator[bytes]:
            for chunk in res.iter_content(CHUNK_SIZE):
                received[0] += len(chunk)
                yield chunk

        try:
            extracted = extractor.extract(counted_body())
            check_body_or_remove(res, received[0], [e['path'] for e in extracted])
        except ZipStreamUnsupported as unsupported:
            demisto.debug(f'single-pass extraction not possible ({unsupported}); using the two-pass path')
            return extract_complete_zip(client, file_link, limits, unsupported, keep_zip_path)
        except ZipStreamError as error:
            raise DemistoException(f'the archive was refused, so nothing was extracted: {error}') from None
        except requests.exceptions.RequestException:
            raise DemistoException('the download broke off, so nothing was extracted') from None
    finally:
        res.close()
    rows = [{'name': safe_file_name(e['name']), 'archive_path': e['name'], 'size': e['size'], 'sha256': e['sha256']}
            for e in extracted]
    return rows, [file_entry(row['name'], e['file_id']) for row, e in zip(rows, extracted, strict=True)]


def check_body_or_remove(res: requests.Response, size: int, paths: list[str]) -> None:
    """A body shorter than its Content-Length is a failed download: the files extracted from it are removed."""
    try:
        check_complete_body('download', res, size)
    except DemistoException:
        for path in paths:
            remove_quietly(path)
        raise


def extract_complete_zip(client: Client, file_link: str, limits: ZipLimits, unsupported: ZipStreamUnsupported,
                         keep_zip_path: str | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The two-pass path: the zip completed on disk (from the stream so far, or downloaded again), then extracted."""
    zip_path = unsupported.zip_path or keep_zip_path or new_war_room_file_path()[1]
    try:
        if not unsupported.zip_path:
            if unsupported.replay is not None:
                with open(zip_path, 'wb') as target:
                    for chunk in unsupported.replay:
                        target.write(chunk)
            else:
                client.save_stream('download', client.open_retrieved_file(file_link), zip_path,
                                   limits.max_total_bytes)
        return extract_zip_to_war_room(zip_path, limits)
    finally:
        if zip_path != keep_zip_path:
            remove_quietly(zip_path)


def endpoint_rows(action_id: str, details: Any, statuses: list[dict[str, Any]],
                  status_problem: str | None) -> list[dict[str, Any]]:
    """One row per endpoint of an action: its download link (file_retrieval_details), enriched with its status.

    The action status is optional enrichment: when that call failed (status_problem), the files are still
    downloaded and the rows say the status is unknown and why.
    """
    details = require_dict(details, 'actions/file_retrieval_details')
    links = details.get('data') if isinstance(details.get('data'), dict) else None
    if links is None:
        raise DemistoException('Cortex XDR API call actions/file_retrieval_details returned no "data" for action '
                               f'{action_id}.')
    by_endpoint = {row['endpoint_id']: row for row in statuses}
    rows = []
    for endpoint_id in dict.fromkeys(list(by_endpoint) + [str(k) for k in links]):
        link = links.get(endpoint_id)
        row = dict(by_endpoint.get(endpoint_id) or {'action_id': action_id_value(action_id),
                                                    'endpoint_id': endpoint_id, 'status': ACTION_UNKNOWN_STATUS})
        row['file_link'] = link if isinstance(link, str) and link else None
        if row['status'] == ACTION_UNKNOWN_STATUS and status_problem:
            row['status_error'] = f'The action status is unknown: {status_problem}'
        rows.append(row)
    return rows


def optional_status_rows(client: Client, action_id: str) -> tuple[list[dict[str, Any]], str | None]:
    """(status rows, None), or ([], why) when the status call failed: it only enriches the rows."""
    try:
        return parse_action_status(client.get_action_status(action_id), action_id), None
    except RateLimited:
        raise
    except DemistoException as error:
        return [], describe_failure(error)


def settle_without_link(row: dict[str, Any]) -> EndpointResult:
    """An endpoint with no download link: still pending (not an error) or failed with the API's reason."""
    if is_action_pending(row['status']):
        return EndpointResult(dict(row, note='Still running on the endpoint; run '
                                             '!xdr-response-retrieve-file-details action_id={} later.'.format(
                                                 row['action_id'])))
    reason = row.get('error_description') or 'No file was retrieved (status {}).'.format(row['status'])
    return EndpointResult(dict(row, error=reason))


def collect_action_files(client: Client, action_ids: list[str], limits: ZipLimits, return_zip: bool,
                         skip: Iterable[str] = (), deadline: float | None = None,
                         statuses: list[dict[str, Any]] | None = None) -> list[EndpointResult]:
    """Rows and files of every endpoint of the actions: every call and download runs with bounded concurrency.

    The details (and, unless the caller knows them, the status) of every action are asked at once; then the
    endpoints' zips are downloaded. Endpoints named in skip ("action:endpoint") were handled in an earlier polling
    round; with a deadline, downloads that would start after it are left for the next round.
    """
    def ask(task: tuple[str, str]) -> Any:
        kind, action_id = task
        return client.get_file_retrieval_details(action_id) if kind == 'details' else \
            optional_status_rows(client, action_id)

    tasks = [('details', a) for a in action_ids] + ([('status', a) for a in action_ids] if statuses is None else [])
    replies = run_bounded(ask, tasks, client.params.max_concurrency)
    details = dict(zip(action_ids, replies[:len(action_ids)], strict=True))
    status_of = dict(zip(action_ids, replies[len(action_ids):], strict=True)) if statuses is None else \
        {a: ([row for row in statuses if str(row['action_id']) == a], None) for a in action_ids}
    done = set(skip)
    rows = [row for a in action_ids for row in endpoint_rows(a, details[a], *status_of[a])
            if endpoint_key(row) not in done]

    def settle(row: dict[str, Any]) -> EndpointResult | None:
        if not row['file_link']:
            return settle_without_link(row)
        if deadline is not None and time.monotonic() > deadline:
            return None
        return download_endpoint_files(client, row, limits, return_zip)

    return [result for result in run_bounded(settle, rows, client.params.max_concurrency) if result is not None]


def endpoint_key(row: dict[str, Any]) -> str:
    return '{}:{}'.format(row['action_id'], row['endpoint_id'])


def retrieval_results(results: list[EndpointResult]) -> list[Any]:
    """Context rows and a readable table, the file entries, and one error entry naming every failed endpoint."""
    rows = [result.row for result in results]
    table: list[dict[str, Any]] = []
    for row in rows:
        base = {'Endpoint': row['endpoint_id'], 'Action': row['action_id'], 'Status': row['status']}
        if row.get('files'):
            table.extend(dict(base, File=f['name'], Size=f['size'], SHA256=f['sha256']) for f in row['files'])
        else:
            table.append(dict(base, Note=row.get('error') or row.get('note') or row.get('status_error')
                              or 'The archive held no files.'))
    readable = tableToMarkdown('Retrieved files', table, headers=['Endpoint', 'Action', 'Status', 'File', 'Size', 'SHA256',
                                                      'Note'], removeNull=True)
    unknown = [row for row in rows if row.get('status_error')]
    if unknown:
        readable += '\n' + unknown[0]['status_error']
    output: list[Any] = [CommandResults(outputs_prefix=CONTEXT_PREFIX + '.RetrievedFiles',
                                        outputs_key_field=['action_id', 'endpoint_id'], outputs=rows,
                                        raw_response=rows, readable_output=readable)]
    output.extend(entry for result in results for entry in result.entries)
    failures = [row for row in rows if row.get('error')]
    if failures:
        message = 'Files could not be retrieved from {} endpoint(s):\n{}'.format(
            len(failures), '\n'.join('- {} (action {}): {}'.format(row['endpoint_id'], row['action_id'], row['error'])
                                     for row in failures))
        output.append(CommandResults(entry_type=EntryType.ERROR, content_format=EntryFormat.MARKDOWN,
                                     readable_output=message, raw_response=message))
    return output


def retrieve_file_details_command(client: Client, args: dict[str, Any]) -> list[Any]:
    """Download the files a Retrieve File action collected: one streamed zip per endpoint, unzipped safely.

    Every file becomes a war-room file entry (XSOAR fills File.*) and a row under
    PaloAltoNetworksXDR.RetrievedFiles with its hashes. Endpoints still running are reported as pending,
    failed endpoints with the API's reason (ErrorReasons, error_description) in one error entry.
    """
    action_ids = to_list(args.get('action_id'))
    if not action_ids:
        raise DemistoException('action_id is required.')
    limits = ZipLimits(args)
    return_zip = boolean_arg(args, 'return_zip', False)
    return retrieval_results(collect_action_files(client, action_ids, limits, return_zip))

# endregion

# region xdr-response-file-retrieve


def build_retrieval_files(args: dict[str, Any]) -> dict[str, list[str]]:
    """Per-OS path lists from windows/linux/mac paths and generic paths (whose OS is read off the path)."""
    files = {'windows': to_list(args.get('windows_file_paths')),
             'linux': to_list(args.get('linux_file_paths')),
             'macos': to_list(args.get('mac_file_paths'))}
    for path in to_list(args.get('generic_file_path')):
        if re.match(r'^[A-Za-z]:[\\/]', path) or path.startswith('\\\\'):
            files['windows'].append(path)
        elif path.startswith('/'):
            # A Unix path may live on Linux or macOS endpoints; XDR applies each list to endpoints of that OS.
            files['linux'].append(path)
            files['macos'].append(path)
        else:
            raise DemistoException(f'generic_file_path "{path}" is neither a Windows path (C:\\...) nor an absolute '
                                   'Unix path (/...).')
    files = {os_name: list(dict.fromkeys(paths)) for os_name, paths in files.items() if paths}
    if not files:
        raise DemistoException('Give at least one file path: windows_file_paths, linux_file_paths, '
                               'mac_file_paths or generic_file_path.')
    return files


def chunked(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def split_retrieval(endpoint_ids: list[str], files: dict[str, list[str]]) -> list[tuple[list[str],
                                                                                      dict[str, list[str]]]]:
    """Batches within the API limits: at most 10 endpoints and 20 files per Retrieve File call."""
    flat = [(os_name, path) for os_name, paths in files.items() for path in paths]
    file_batches = []
    for group in chunked(flat, MAX_FILES_PER_RETRIEVAL):
        batch: dict[str, list[str]] = {}
        for os_name, path in group:
            batch.setdefault(os_name, []).append(path)
        file_batches.append(batch)
    return [(endpoints, batch) for endpoints in chunked(endpoint_ids, MAX_ENDPOINTS_PER_RETRIEVAL)
            for batch in file_batches]


class RetrieveRequest:
    """The arguments of xdr-response-file-retrieve, parsed once (first round and every polling round)."""

    def __init__(self, args: dict[str, Any]):
        self.action_ids = to_list(args.get('action_ids'))
        self.endpoint_ids = to_list(args.get('endpoint_ids'))
        self.files: dict[str, list[str]] = {}
        if not self.action_ids:
            if not self.endpoint_ids:
                raise DemistoException('endpoint_ids is required.')
            self.files = build_retrieval_files(args)
        self.incident_id = positive_number(args, 'incident_id', 0) if single_arg(args, 'incident_id') else None
        self.limits = ZipLimits(args)
        self.return_zip = boolean_arg(args, 'return_zip', False)
        self.round_budget = positive_number(args, 'round_budget_seconds', DEFAULT_ROUND_BUDGET_SECONDS, 3600)
        self.downloaded = to_list(args.get('downloaded_endpoints'))
        self.failed = to_list(args.get('failed_endpoints'))
        self.polling = PollingArgs(args, default_polling=True)

    def carried_args(self, args: dict[str, Any]) -> dict[str, Any]:
        """What every polling round needs again: the limits and options, not the (long) path lists."""
        return {k: v for k, v in args.items() if k in ('max_total_size_mb', 'max_compression_ratio', 'max_entries',
                                                       'return_zip', 'round_budget_seconds')}


def start_retrieval(client: Client, request: RetrieveRequest) -> list[dict[str, Any]]:
    """Start Retrieve File in batches within the API limits; one PENDING row per endpoint and action."""
    def start(batch: tuple[list[str], dict[str, list[str]]]) -> list[dict[str, Any]]:
        endpoints, files = batch
        reply = require_dict(client.retrieve_file(endpoints, files, request.incident_id), 'endpoints/file_retrieval',
                             'action_id')
        return [{'action_id': action_id_value(reply['action_id']), 'endpoint_id': endpoint_id, 'status': 'PENDING'}
                for endpoint_id in endpoints]

    batches = split_retrieval(request.endpoint_ids, request.files)
    return [row for rows in run_bounded(start, batches, client.params.max_concurrency) for row in rows]


def first_round(args: dict[str, Any], client: Client, request: RetrieveRequest) -> PollResult:
    """Start the action(s); with polling, the next rounds follow them through action_ids."""
    action_rows = start_retrieval(client, request)
    action_ids = list(dict.fromkeys(str(row['action_id']) for row in action_rows))
    readable = tableToMarkdown(f'Retrieve File started ({len(action_ids)} action(s))', action_rows,
                               headers=['action_id', 'endpoint_id', 'status'], headerTransform=string_to_table_header)
    started = CommandResults(outputs_prefix=CONTEXT_PREFIX + '.RetrievedFiles',
                             outputs_key_field=['action_id', 'endpoint_id'], outputs=action_rows,
                             readable_output=readable, raw_response=action_rows)
    next_args = request.polling.next_args(request.carried_args(args), action_ids=','.join(action_ids))
    return PollResult(response=started, continue_to_poll=request.polling.enabled, partial_result=started,
                      args_for_next_run=next_args)


def final_summary(statuses: list[dict[str, Any]], downloaded: list[str], failed: list[str], progress: str) -> str:
    """The whole action at its end: every endpoint with its outcome."""
    outcomes = []
    for row in statuses:
        key = endpoint_key(row)
        outcome = 'failed' if key in failed else 'files downloaded' if key in downloaded else 'not handled'
        outcomes.append({'Endpoint': row['endpoint_id'], 'Action': row['action_id'], 'Status': row['status'],
                         'Outcome': outcome})
    return tableToMarkdown(progress, outcomes, headers=['Endpoint', 'Action', 'Status', 'Outcome'])


def retrieval_round(args: dict[str, Any], client: Client, request: RetrieveRequest) -> PollResult:
    """One polling round: download every endpoint that became final, then wait for the rest.

    Each endpoint is handled exactly once (handled ones travel in downloaded_endpoints / failed_endpoints),
    within a time budget per round; what does not fit continues next round. The final round reports the
    whole action.
    """
    handled = set(request.downloaded + request.failed)
    try:
        statuses = action_statuses(client, request.action_ids)
        ready = sorted({str(row['action_id']) for row in statuses
                        if not is_action_pending(row['status']) and endpoint_key(row) not in handled})
        results = collect_action_files(client, ready, request.limits, request.return_zip, skip=handled,
                                       deadline=time.monotonic() + request.round_budget,
                                       statuses=[row for row in statuses if str(row['action_id']) in ready])
    except RateLimited as limited:
        return rate_limited_round(args, request.polling, limited)
    results = [result for result in results if not result.pending]
    downloaded = request.downloaded + [endpoint_key(r.row) for r in results if not r.failed]
    failed = request.failed + [endpoint_key(r.row) for r in results if r.failed]
    pending = [row for row in statuses if endpoint_key(row) not in set(downloaded + failed)]
    progress = progress_line('Retrieve File', 'endpoint(s)', len(statuses) - len(pending) - len(failed),
                             len(pending), len(failed), request.polling.elapsed())
    output: list[Any] = retrieval_results(results) if results else []
    if not pending:
        output.append(CommandResults(readable_output=final_summary(statuses, downloaded, failed, progress)))
        return PollResult(response=output, continue_to_poll=False)
    if request.polling.timed_out():
        output.append(CommandResults(
            entry_type=EntryType.ERROR, readable_output='Timed out after {} waiting for Retrieve File on endpoint(s) '
            '{}; run !xdr-response-retrieve-file-details action_id={} later.'.format(
                format_elapsed(request.polling.elapsed()), ', '.join(row['endpoint_id'] for row in pending),
                ','.join(request.action_ids))))
        return PollResult(response=output, continue_to_poll=False)
    if output:
        return_results(output)  # files reach the war room as soon as they exist; the polling entry follows
    progress_entry = CommandResults(readable_output=progress)
    return PollResult(response=progress_entry, continue_to_poll=True, partial_result=progress_entry,
                      args_for_next_run=request.polling.next_args(
                          request.carried_args(args), action_ids=','.join(request.action_ids),
                          downloaded_endpoints=','.join(downloaded), failed_endpoints=','.join(failed)))


def file_retrieve_command(client: Client, args: dict[str, Any]) -> Any:
    """Retrieve files from endpoints; with polling (the default) wait for every endpoint and download each once.

    The first run starts Retrieve File (split to the API limits of 10 endpoints and 20 files per call). Each
    polling round then downloads the endpoints that finished since the last round, so the first files reach
    the war room as soon as they exist; failed endpoints are reported with the API's reason.
    """
    request = RetrieveRequest(args)
    round_function = retrieval_round if request.action_ids else first_round
    return poll('xdr-response-file-retrieve', request.polling, round_function, args, client, request)

# endregion

# region xdr-response-get-quarantine-status


def build_quarantine_files(args: dict[str, Any]) -> list[dict[str, str]]:
    """Quarantine query rows from parallel endpoint_id/file_path/file_hash lists or a JSON `files` list."""
    rows = quarantine_rows_from_json(args.get('files')) if args.get('files') else []
    names = ('endpoint_id', 'file_path', 'file_hash')
    lists = [to_list_keep_duplicates(args.get(name)) for name in names]
    count = max(len(values) for values in lists)
    if count:
        for name, values in zip(names, lists, strict=True):
            if len(values) not in (1, count):
                raise DemistoException('endpoint_id, file_path and file_hash must have the same number of values '
                                       f'(or one value to use for all); {name} has {len(values)} of {count}.')
        columns = [values if len(values) == count else values * count for values in lists]
        rows.extend({'endpoint_id': endpoint_id, 'file_path': path, 'file_hash': file_hash}
                    for endpoint_id, path, file_hash in zip(*columns, strict=True))
    if not rows:
        raise DemistoException('Give the files to check: endpoint_id, file_path and file_hash, or files (JSON).')
    problems = [quarantine_row_problem(index, row) for index, row in enumerate(rows)
                if not (row['endpoint_id'] and row['file_path'] and SHA256_RE.match(row['file_hash']))]
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN] + ([f'... and {len(problems) - MAX_PROBLEMS_SHOWN} more']
                                                 if len(problems) > MAX_PROBLEMS_SHOWN else [])
        raise DemistoException('Invalid quarantine query: ' + '; '.join(shown) + '.')
    for row in rows:
        row['file_hash'] = row['file_hash'].lower()
    return rows


def quarantine_row_problem(index: int, row: dict[str, str]) -> str:
    """What is wrong with one invalid query row."""
    missing = [name for name in ('endpoint_id', 'file_path', 'file_hash') if not row[name]]
    if missing:
        return f'file #{index + 1} is missing {", ".join(missing)}'
    return f'file #{index + 1} hash "{row["file_hash"][:80]}" is not a SHA256 (64 hex characters)'


def to_list_keep_duplicates(value: Any) -> list[str]:
    """arg_items for parallel lists: positions matter, so nothing is removed."""
    return [str(item).strip() for item in arg_items(value)]


def quarantine_rows_from_json(raw: Any) -> list[dict[str, str]]:
    """Rows of the JSON `files` argument: a list (or one object) of {endpoint_id, file_path, file_hash}."""
    problem = 'files must be a JSON list of {"endpoint_id", "file_path", "file_hash"} objects.'
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise DemistoException(problem) from None
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise DemistoException(problem)
    return [{name: str(item.get(name) or '').strip() for name in ('endpoint_id', 'file_path', 'file_hash')}
            for item in raw]


def match_quarantine_reply(batch: list[dict[str, str]], reply: Any) -> list[dict[str, Any]]:
    """Context rows (official camelCase keys) of one batch, matched to the reply by endpoint, hash and path."""
    if not isinstance(reply, list):
        raise DemistoException('Cortex XDR API call quarantine/status returned an unexpected reply: expected a '
                               'list of file statuses.')
    same_order = len(reply) == len(batch)
    by_key: dict[tuple[str, str, str], Any] | None = None  # built only when a reply item is not the one in place
    rows = []
    for index, query in enumerate(batch):
        item = reply[index] if same_order and isinstance(reply[index], dict) else None
        if item is None or not is_reply_for(item, query):
            if by_key is None:
                by_key = {quarantine_reply_key(other): other for other in reply if isinstance(other, dict)}
            # same order with differently written fields still matches by position
            item = by_key.get((query['endpoint_id'], query['file_hash'], query['file_path']), item)
        status = item.get('status') if item else None
        rows.append({'endpointId': query['endpoint_id'], 'filePath': query['file_path'],
                     'fileHash': query['file_hash'], 'status': status if isinstance(status, bool) else None})
    return rows


def quarantine_reply_key(item: dict[str, Any]) -> tuple[str, str, str]:
    return str(item.get('endpoint_id')), str(item.get('file_hash', '')).lower(), str(item.get('file_path'))


def is_reply_for(item: dict[str, Any], query: dict[str, str]) -> bool:
    """The reply item answers this query exactly as asked (the usual in-order reply); anything else is looked up."""
    return (item.get('file_hash') == query['file_hash'] and item.get('endpoint_id') == query['endpoint_id']
            and item.get('file_path') == query['file_path'])


def quarantine_table(rows: list[dict[str, Any]]) -> str:
    """A markdown table of the first rows (built directly: it can hold thousands of files)."""
    labels = {True: 'Quarantined', False: 'Not quarantined', None: 'Unknown'}
    quarantined = sum(1 for row in rows if row['status'] is True)
    lines = [f'### Quarantine status: {quarantined} of {len(rows)} file(s) quarantined',
             '|Endpoint|File Path|SHA256|Quarantined|', '|---|---|---|---|']
    lines.extend('|{}|{}|{}|{}|'.format(row['endpointId'], row['filePath'].replace('|', '\\|'), row['fileHash'],
                                        labels[row['status']]) for row in rows[:QUARANTINE_TABLE_ROWS])
    if len(rows) > QUARANTINE_TABLE_ROWS:
        lines.append(f'\n{len(rows) - QUARANTINE_TABLE_ROWS} more file(s) are in the context '
                     '(PaloAltoNetworksXDR.quarantineFiles.status).')
    return '\n'.join(lines)


def quarantine_status_command(client: Client, args: dict[str, Any]) -> CommandResults:
    """Quarantine status of many files: SHA256 checked first, 100 files per call, calls run concurrently.

    Takes parallel endpoint_id/file_path/file_hash lists (one value is used for all) or a JSON `files` list;
    the context keeps the official integration's camelCase keys.
    """
    files = build_quarantine_files(args)
    batches = list(chunked(files, QUARANTINE_BATCH_SIZE))
    per_batch = run_bounded(lambda batch: match_quarantine_reply(batch, client.get_quarantine_status(batch)), batches,
                            client.params.max_concurrency)
    rows = [row for batch_rows in per_batch for row in batch_rows]
    return CommandResults(outputs_prefix=CONTEXT_PREFIX + '.quarantineFiles.status',
                          outputs_key_field=['fileHash', 'endpointId', 'filePath'], outputs=rows, raw_response=rows,
                          readable_output=quarantine_table(rows))

# endregion

# region test-module and main


def test_module(client: Client) -> str:
    """A real authenticated call: the key ID, key and key type must all be right."""
    try:
        client.get_distribution_versions()
    except HTTPStatusError as error:
        if error.status in (401, 402, 403):
            return error.message
        raise
    return 'ok'


COMMANDS: dict[str, Callable[[Client, dict[str, Any]], Any]] = {
    'xdr-response-create-distribution': create_distribution_command,
    'xdr-response-get-create-distribution-status': get_distribution_status_command,
    'xdr-response-get-distribution-url': get_distribution_url_command,
    'xdr-response-get-distribution-versions': get_distribution_versions_command,
    'xdr-response-file-retrieve': file_retrieve_command,
    'xdr-response-action-status-get': action_status_command,
    'xdr-response-retrieve-file-details': retrieve_file_details_command,
    'xdr-response-get-quarantine-status': quarantine_status_command,
}


def main() -> None:
    """Parse the instance settings once, run the command, and report any failure after the except block."""
    command = demisto.command()
    demisto.debug(f'Command being called is {command}')
    raw_params = demisto.params()
    secrets_to_hide: list[str] = [str((raw_params.get('credentials') or {}).get('password') or '')]
    client: Client | None = None
    failure = ''
    try:
        params = InstanceParams(raw_params)
        secrets_to_hide = params.secrets()
        client = Client(params)
        if command == 'test-module':
            return_results(redact(test_module(client), client.secrets()))
        elif command in COMMANDS:
            return_results(COMMANDS[command](client, demisto.args()))
        else:
            raise DemistoException(f'Command {command} is not implemented by {INTEGRATION_NAME}.')
    except Exception as error:  # every failure becomes one plain, redacted error entry
        failure = describe_failure(error)
    if failure:
        return_error(redact(f'Failed to execute {command} command.\nError:\n{failure}',
                            secrets_to_hide + (client.secrets() if client else [])))


if __name__ in ('__main__', '__builtin__', 'builtins'):
    main()
