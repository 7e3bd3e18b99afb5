"""Cylance Optics - Packages.

Optics packages and package deployment through the Cylance PROTECT API: get, list and download packages,
create one from a War Room file, run packages on devices or zones and follow, list and delete the executions.

Auth: an HS256 JWT signed with the application secret is exchanged at `/auth/v2/token` for a bearer token
carrying exactly the scope a call needs. Bearer tokens are cached per scope in the integration context under a
fingerprint of the credentials that made them, and are only ever sent to the configured API origin (never to
the pre-signed storage URLs of uploads and downloads).
"""
import demistomock as demisto  # noqa: F401
from CommonServerPython import *  # noqa: F401

### GENERATED CODE ###: from EndpointResponseCoreApiModule import *
# This code was inserted in place of an API module.
"""The vendor-neutral layer of the Endpoint Response integrations (inlined into each by `dev.sh sync`).

Argument parsing with one set of rules, polling with a Retry-After hook, the retry gate and the bounded pool,
the transport policy of the trust boundary (credentials only to the instance's origin, no automatic redirects,
at most one start per action, byte and wall-clock bounds on every transfer), streaming to a file, failure words
and redaction, and a parameters base that knows its secrets.
"""
import demistomock as demisto  # noqa: F401
from CommonServerPython import *  # noqa: F401

import functools
import hashlib
import hmac
import http.cookiejar
import json
import math
import queue
import os
import re
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple, TypeVar

import requests
import urllib3
from urllib.parse import urljoin as resolve_url  # CommonServerPython's urljoin only appends a path

T = TypeVar('T')
Headers = dict[str, str] | Callable[[], dict[str, str]]  # a callable gives fresh headers for every attempt

MEBIBYTE = 1024 * 1024
CHUNK_SIZE = MEBIBYTE  # file reads and writes
BODY_PROGRESS_BYTES = 256 * 1024  # a reply must bring at least this much per timeout interval (no trickling)
MIN_SECRET_LENGTH = 6  # shorter values would redact ordinary words
MAX_PROBLEMS_SHOWN = 10

READ = 'read'  # status, details, get, list, download: safe to send again
ACTION = 'action'  # starts something on the server: sent again only when it certainly did not arrive
TOO_MANY_REQUESTS, BAD_GATEWAY, UNAVAILABLE, GATEWAY_TIMEOUT = 429, 502, 503, 504
RETRYABLE_READ_STATUSES = (TOO_MANY_REQUESTS, BAD_GATEWAY, UNAVAILABLE, GATEWAY_TIMEOUT)
AMBIGUOUS_ACTION_STATUSES = (BAD_GATEWAY, UNAVAILABLE, GATEWAY_TIMEOUT)
REDIRECT_STATUSES = range(300, 400)
SUCCESS_OR_REDIRECT = tuple(range(200, 400))
MAX_PORT = 65535
DEFAULT_MAX_RETRIES = 3
MAX_WAIT_PER_COMMAND_SECONDS = 15.0  # commands must return quickly; longer waits become a scheduled round
MAX_REDIRECT_HOPS = 3
MAX_JSON_REPLY_BYTES = 64 * MEBIBYTE
DEFAULT_COMMAND_BUDGET_SECONDS = 240  # below XSOAR's default 5-minute command timeout
WEB_SCHEMES = ('https://', 'http://')

MIN_POLLING_INTERVAL = 10  # the server never schedules a polling round sooner
MAX_POLLING_TIMEOUT = 7 * 24 * 3600

BOOLEAN_WORDS = {'true': True, 'yes': True, 'y': True, 't': True, 'on': True, '1': True,
                 'false': False, 'no': False, 'n': False, 'f': False, 'off': False, '0': False}

# region failures


class HTTPStatusError(DemistoException):
    """An API call answered with a failing HTTP status; retry_after is the wait the server asked for, if any."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def status_error_handler(message_of: Callable[[requests.Response], str]) -> Callable[[requests.Response], None]:
    """An error_handler for _http_request: HTTPStatusError with message_of(res), the status and its Retry-After."""
    def handle(res: requests.Response) -> None:
        raise HTTPStatusError(message_of(res), status=res.status_code,
                              retry_after=parse_retry_after(res.headers.get('Retry-After')))
    return handle


class RateLimited(DemistoException):
    """The server asked us to wait longer than a command may wait."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class ActionOutcomeUnknown(DemistoException):
    """An action was sent, and the answer does not tell whether the server carried it out; it is never resent."""

    def __init__(self, message: str, action: str):
        super().__init__(message)
        self.action = action


class TransportFailure(DemistoException):
    """No usable HTTP answer: sent tells whether the request may have reached the server."""

    def __init__(self, message: str, sent: bool):
        super().__init__(message)
        self.sent = sent


class NotJsonReply(DemistoException):
    """A reply arrived whole but is not JSON."""


class TooLarge(DemistoException):
    """A reply went past its byte cap; it was stopped and nothing of it was kept."""


class DeadlineExceeded(TransportFailure):
    """A request did not complete within its wall-clock deadline (never retried: the time is spent)."""

    def __init__(self, message: str, sent: bool = True):
        super().__init__(message, sent)


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


def log_unexpected(error: BaseException, secrets_to_hide: Iterable[str]) -> None:
    """An exception that is not one of our messages: its class and traceback at debug level, redacted."""
    if isinstance(error, DemistoException):
        return  # one of our own messages: it says everything
    frames = traceback.extract_tb(error.__traceback__)
    where = '\n'.join(f'  at {os.path.basename(frame.filename)}:{frame.lineno} in {frame.name}' for frame in frames)
    demisto.debug(redact(f'unexpected {type(error).__name__}: {error}\n{where}', secrets_to_hide)[:4000])


def report_failure(command: str, error: BaseException, secrets_to_hide: Iterable[str]) -> None:
    """The one error path of main(): a plain, redacted error entry (call it after the except block)."""
    hidden = list(secrets_to_hide)
    log_unexpected(error, hidden)
    return_error(redact(f'Failed to execute {command} command.\nError:\n{describe_failure(error)}', hidden))

# endregion

# region arguments


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


def required_arg(args: dict[str, Any], name: str, hint: str = '') -> str:
    """single_arg that must not be empty."""
    text = single_arg(args, name)
    if not text:
        raise DemistoException(f'{name} is required{": " + hint if hint else "."}')
    return text


def list_arg(args: dict[str, Any], name: str, keep_duplicates: bool = False) -> list[str]:
    """argToList that also takes a number, strips blanks and (unless keep_duplicates) de-duplicates in order.

    With keep_duplicates positions matter (parallel lists), so nothing is removed and blanks stay as ''.
    """
    value = args.get(name)
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    items = []
    for item in argToList(value):
        if isinstance(item, dict | list):
            raise DemistoException(f'{name} takes plain values, got a nested object: {json.dumps(item)[:100]}')
        items.append('' if item is None else str(item).strip())
    if keep_duplicates:
        return items
    return list(dict.fromkeys(item for item in items if item))


def bool_arg(args: dict[str, Any], name: str, default: bool = False) -> bool:
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


def number_arg(args: dict[str, Any], name: str, default: int, minimum: int = 1, maximum: int | None = None) -> int:
    """A whole number (text such as "30" or "30.0", a number, or a one-item list) within [minimum, maximum].

    Errors quote the value as typed, never a float-rounded form of it.
    """
    text = single_arg(args, name)
    if not text:
        return default
    bounds = f'between {minimum} and {maximum}' if maximum is not None else f'{minimum} or more'
    if not re.fullmatch(r'\d+(\.0*)?', text):
        raise DemistoException(f'{name} must be a whole number {bounds}, got "{text[:50]}".')
    number = int(text.split('.')[0])
    if number < minimum or (maximum is not None and number > maximum):
        raise DemistoException(f'{name} must be {bounds}, got {text[:50]}.')
    return number



def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def canonical_uuid(value: Any, name: str, what: str, example: str) -> str:
    """The canonical (lower-case, hyphenated) form of a UUID argument; a clear error for anything else."""
    text = single_arg({name: value}, name)
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise DemistoException(f'{name} must be {what} UUID such as {example}, got "{text[:80]}".') from None


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
        return True
    except ValueError:
        return False

# endregion

# region retries and the bounded pool


def parse_retry_after(value: Any, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None when absent or unreadable."""
    if value is None or str(value).strip() == '':
        return None
    text = str(value).strip()
    try:
        seconds = float(text)
        return None if math.isnan(seconds) else max(0.0, seconds)
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


def should_retry(kind: str, error: Exception) -> bool:
    """Whether a failed attempt may be sent again: reads on 429/502/503/504 and any transport failure; actions
    only when the server certainly did not act (429, 503 with Retry-After, or nothing was sent)."""
    if isinstance(error, HTTPStatusError):
        if kind == READ:
            return error.status in RETRYABLE_READ_STATUSES
        return error.status == TOO_MANY_REQUESTS or (error.status == UNAVAILABLE and error.retry_after is not None)
    if isinstance(error, DeadlineExceeded):
        return False
    if isinstance(error, TransportFailure):
        return kind == READ or not error.sent
    return False


def is_ambiguous(kind: str, error: Exception) -> bool:
    """An action's failure after which it may still have been carried out."""
    if kind != ACTION:
        return False
    if isinstance(error, HTTPStatusError):
        return error.status in AMBIGUOUS_ACTION_STATUSES and not should_retry(kind, error)
    return isinstance(error, TransportFailure) and error.sent


def call_with_retries(call: Callable[[], T], what: str, gate: RetryGate, kind: str = READ) -> T:
    """call(), sent again as should_retry allows (Retry-After honoured through the shared gate), at most
    gate.max_retries more times; the final error says how many attempts were made."""
    attempt = 0
    while True:
        gate.wait_turn()
        try:
            return call()
        except (HTTPStatusError, TransportFailure) as error:
            if not should_retry(kind, error):
                raise
            if attempt >= gate.max_retries:
                status = error.status if isinstance(error, HTTPStatusError) else None
                raise HTTPStatusError(f'{error.message} Gave up after {attempt + 1} attempts.', status=status) from None
            demisto.debug(f'{what} failed ({error.message[:80]}), retry {attempt + 1}')
            gate.backoff(attempt, error.retry_after if isinstance(error, HTTPStatusError) else None)
            attempt += 1


def run_bounded(func: Callable[[Any], Any], items: list[Any], max_workers: int) -> list[Any]:
    """func over items with at most max_workers at once; results in input order, the first failure re-raised."""
    if len(items) <= 1 or max_workers <= 1:
        return [func(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(max_workers, len(items))) as pool:
        futures = [pool.submit(func, item) for item in items]
        return [future.result() for future in futures]

# endregion

# region origins and links


class Origin(NamedTuple):
    scheme: str
    host: str
    port: int


@functools.lru_cache(maxsize=256)
def origin_of(url: str, what: str = 'URL') -> Origin:
    """(scheme, host, port) of url as requests will connect to it (urllib3's parser, which sends the request).

    URLs that parsers read differently are refused outright: userinfo, backslashes, control characters or
    spaces, a scheme other than http(s), a missing host or a bad port.
    """
    text = str(url or '')
    shown = text[:120]
    if '\\' in text or re.search(r'[\x00-\x20\x7f]', text):
        raise DemistoException(f'The {what} "{shown}" was refused: it holds a backslash, a space or a control '
                               'character.')
    try:
        parsed = urllib3.util.parse_url(text)
    except Exception:  # urllib3 raises LocationParseError and others for unparseable hosts
        raise DemistoException(f'The {what} "{shown}" was refused: its host cannot be parsed.') from None
    scheme = (parsed.scheme or '').lower()
    if scheme + '://' not in WEB_SCHEMES:
        raise DemistoException(f'The {what} "{shown}" was refused: only https:// (or http://) URLs are used.')
    if parsed.auth is not None or '@' in (text.split('//', 1)[-1].split('/', 1)[0]):
        raise DemistoException(f'The {what} "{shown}" was refused: it holds a user name or password (user@host).')
    host = (parsed.host or '').lower().rstrip('.')
    if not host:
        raise DemistoException(f'The {what} "{shown}" was refused: it has no host.')
    port = parsed.port or (443 if scheme == 'https' else 80)
    if not 0 < port <= MAX_PORT:
        raise DemistoException(f'The {what} "{shown}" was refused: its port is not valid.')
    return Origin(scheme, host, port)


def same_origin(url: str, origin: Origin) -> bool:
    try:
        return origin_of(url) == origin
    except DemistoException:
        return False


def markdown_link(url: Any, text: str, instance_origin: Origin | None = None) -> str:
    """A Markdown link only for an https URL (or one on the instance's own origin); anything else as plain text."""
    value = str(url or '')
    safe = False
    try:
        origin = origin_of(value)
        safe = origin.scheme == 'https' or origin == instance_origin
    except DemistoException:
        pass
    if safe and not re.search(r'[()\[\]<>"\s]', value):
        return f'[{text}]({value})'
    return '`{}`'.format(value.replace('`', "'")[:500])

# endregion

# region instance parameters


class InstanceParamsBase:
    """The settings every instance has (server URL, TLS, proxy, timeout), read and checked once."""

    vendor = 'The server'
    default_url = ''
    url_example = 'https://api.example.com'
    default_timeout = 60

    def __init__(self, params: dict[str, Any]):
        self.url = str(params.get('url') or self.default_url).strip().rstrip('/')
        if not self.url.lower().startswith(WEB_SCHEMES):
            raise DemistoException(f'Server URL must start with https:// (for example {self.url_example}).')
        self.origin = origin_of(self.url, 'Server URL')
        self.verify = not bool_arg(params, 'insecure', False)
        self.proxy = bool_arg(params, 'proxy', False)
        self.timeout = number_arg(params, 'timeout', self.default_timeout, 1, 3600)

    def secrets(self) -> list[str]:
        """Values that must never be shown (subclasses add theirs)."""
        return []

    def fingerprint(self, *parts: str) -> str:
        """A keyed hash of the URL and the given credentials (the secrets are the key, never stored)."""
        key = '\x00'.join(self.secrets()).encode('utf-8')
        message = '\x00'.join((self.url,) + parts).encode('utf-8')
        return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]

# endregion

# region transport: the trust boundary


class PolicyClient(BaseClient):
    """BaseClient under the trust-boundary policy.

    - Credential headers go only to the instance's origin (scheme, host, port as urllib3 parses them).
    - API calls never follow a redirect; downloads follow at most MAX_REDIRECT_HOPS by hand, never from https
      to http, and to another origin only as a plain GET without credentials or body.
    - Reads are retried on 429/502/503/504 and transport failures; actions only when the server certainly did
      not act, and an ambiguous answer raises ActionOutcomeUnknown (never a second send).
    - Every request has a wall-clock deadline that covers a trickled body, and every body a byte cap.
    """

    def __init__(self, params: InstanceParamsBase, base_url: str, vendor: str, max_connections: int = 4,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 budget_seconds: float = DEFAULT_COMMAND_BUDGET_SECONDS):
        super().__init__(base_url=base_url, verify=params.verify, proxy=params.proxy)
        self.instance = params
        self.vendor = vendor
        self.origin = params.origin
        self.gate = RetryGate(vendor, sleep=sleep, clock=clock)
        self.command_deadline = time.monotonic() + budget_seconds
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=max(1, max_connections))
        self._session.mount('https://', adapter)
        self._session.mount('http://', adapter)
        # No cookie is kept: a cookie set by one answer would go to the same host on any port, or after a redirect.
        self._session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))

    # -- the calls

    def send(self, what: str, kind: str, method: str, url: str, headers: Headers,
             error_handler: Callable[[requests.Response], None], deadline: float | None = None,
             **kwargs: Any) -> requests.Response:
        """One API call to the instance's origin with credential headers: its response with the body streamed.

        Redirects are refused; kind (READ or ACTION) decides what may be sent again.
        """
        deadline = deadline or self.request_deadline()

        def attempt() -> requests.Response:
            res = self.open(what, method, url, headers, error_handler, deadline, credentials=True, **kwargs)
            if res.is_redirect or res.status_code in REDIRECT_STATUSES:
                res.close()
                raise DemistoException(
                    f'{self.vendor} API call {what} answered with a redirect ({res.status_code}); API calls never '
                    'follow redirects, so nothing was sent to the other location. Check that the server URL is the '
                    'API URL itself (a gateway or proxy may be rewriting it).')
            return res

        return self.guarded(what, kind, attempt)

    def guarded(self, what: str, kind: str, attempt: Callable[[], T]) -> T:
        """attempt() with the retries its kind allows; an ambiguous action failure becomes ActionOutcomeUnknown."""
        try:
            return call_with_retries(attempt, what, self.gate, kind)
        except (HTTPStatusError, TransportFailure) as error:
            if is_ambiguous(kind, error):
                reason = f'status {error.status}' if isinstance(error, HTTPStatusError) else \
                    error.message.split(' failed: ', 1)[-1].rstrip('.')
                raise ActionOutcomeUnknown(f'{self.vendor} API call {what} got no clear answer ({reason}), so it may '
                                           'have been carried out. It was not sent again.', action=what) from None
            raise

    def read_json(self, what: str, res: requests.Response, deadline: float | None = None,
                  allow_empty: bool = False) -> Any:
        """The parsed JSON body (bounded in bytes and time), or a clear error naming the call."""
        body = b''.join(self.body_chunks(what, res, MAX_JSON_REPLY_BYTES, deadline or self.request_deadline()))
        if allow_empty and not body.strip():
            return None
        try:
            return json.loads(body)
        except ValueError:
            raise NotJsonReply(f'{self.vendor} API call {what} returned a reply that is not JSON (status '
                               f'{res.status_code}).') from None

    def call_json(self, what: str, kind: str, method: str, url: str, headers: Headers,
                  error_handler: Callable[[requests.Response], None], allow_empty: bool = False, **kwargs: Any) -> Any:
        """send() and read_json(); for an action, a reply lost after the server answered is an unknown outcome."""
        deadline = self.request_deadline()
        res = self.send(what, kind, method, url, headers, error_handler, deadline=deadline, **kwargs)
        try:
            return self.read_json(what, res, deadline, allow_empty=allow_empty)
        except NotJsonReply:
            raise
        except DemistoException as error:
            if kind != ACTION:
                raise
            raise ActionOutcomeUnknown(f'{self.vendor} API call {what} was answered, but the reply did not arrive '
                                       f'({error.message.rstrip(".")}), so it may have been carried out. It was not '
                                       'sent again.', action=what) from None

    def open_download(self, what: str, url: str, credential_headers: Headers,
                      error_handler: Callable[[requests.Response], None], deadline: float | None = None,
                      method: str = 'GET') -> requests.Response:
        """A streamed download of url following redirects by hand: credentials only while on the instance's
        origin, and every redirect followed as a plain GET without a body."""
        deadline = deadline or self.command_deadline
        origin = origin_of(url, f'{what} URL')
        for _ in range(MAX_REDIRECT_HOPS + 1):
            headers: Headers = credential_headers if origin == self.origin else {'Accept': '*/*'}

            def attempt(target: str = url, chosen: Headers = headers, verb: str = method,
                        credentials: bool = origin == self.origin) -> requests.Response:
                return self.open(what, verb, target, chosen, error_handler, deadline, credentials=credentials)

            res = self.guarded(what, READ, attempt)
            if not (res.is_redirect or res.status_code in REDIRECT_STATUSES):
                return res
            location = res.headers.get('Location') or ''
            res.close()
            next_url = resolve_url(url, location)
            next_origin = origin_of(next_url, f'{what} redirect target')
            if origin.scheme == 'https' and next_origin.scheme != 'https':
                raise DemistoException(f'The {what} was redirected from https to http; the redirect was refused.')
            url, origin, method = next_url, next_origin, 'GET'
        raise DemistoException(f'The {what} was redirected more than {MAX_REDIRECT_HOPS} times; it was stopped.')

    def save_stream(self, what: str, res: requests.Response, dest_path: str, max_bytes: int,
                    deadline: float | None = None) -> tuple[int, str]:
        """Write a streamed body to dest_path: (bytes, sha256). Over max_bytes, past the deadline, empty, short of
        its Content-Length or broken off, it is an error and the partial file is removed."""
        size = 0
        digest = hashlib.sha256()
        try:
            with open(dest_path, 'wb') as target:
                for chunk in self.body_chunks(what, res, max_bytes, deadline or self.command_deadline):
                    size += len(chunk)
                    digest.update(chunk)
                    target.write(chunk)
            check_complete_body(what, res, size)
            return size, digest.hexdigest()
        except BaseException:
            remove_quietly(dest_path)
            raise

    # -- the policy's mechanics

    def request_deadline(self) -> float:
        return min(time.monotonic() + self.instance.timeout, self.command_deadline)

    def check_credential_url(self, url: str) -> None:
        if origin_of(url, f'{self.vendor} API URL') != self.origin:
            raise DemistoException(f'A {self.vendor} call to {url[:120]} was refused: credentials are only sent to '
                                   'the configured server URL.')

    def open(self, what: str, method: str, url: str, headers: Headers,
             error_handler: Callable[[requests.Response], None], deadline: float, credentials: bool = False,
             **kwargs: Any) -> requests.Response:
        """One attempt, no redirects followed, headers received before the deadline (the body is not read yet).

        With credentials (in its headers or its body) the URL must be on the instance's origin. A 4xx/5xx goes to
        error_handler with its body read under the same bounds.
        """
        if credentials:
            self.check_credential_url(url)
        chosen = dict(headers() if callable(headers) else headers) or {'Accept': '*/*'}

        def request() -> requests.Response:
            return self._http_request(method, full_url=url, headers=chosen,
                                      resp_type='response', ok_codes=SUCCESS_OR_REDIRECT, stream=True,
                                      allow_redirects=False, timeout=(min(self.instance.timeout, 30),
                                                                      self.instance.timeout),
                                      error_handler=lambda res: self.read_error(res, error_handler, deadline),
                                      **kwargs)

        try:
            return REQUEST_WORKERS.run(request, min(deadline, time.monotonic() + self.instance.timeout),
                                       f'{self.vendor} API call {what}')
        except (HTTPStatusError, TransportFailure):
            raise
        except (DemistoException, requests.exceptions.RequestException) as error:
            cause = error.exception if isinstance(error, DemistoException) else error
            if not isinstance(cause, requests.exceptions.RequestException):
                raise
            raise transport_failure(self.vendor, what, cause) from None

    def read_error(self, res: requests.Response, handler: Callable[[requests.Response], None], deadline: float) -> None:
        """Read an error body (bounded) so the handler can quote it, then let the handler raise."""
        try:
            res._content = b''.join(self.body_chunks('error reply', res, MEBIBYTE, deadline, strict=False))
        except DemistoException:
            res._content = b''
        handler(res)
        raise HTTPStatusError(f'{self.vendor} answered with status {res.status_code}.', status=res.status_code)

    def body_chunks(self, what: str, res: requests.Response, max_bytes: int, deadline: float,
                    strict: bool = True) -> Iterator[bytes]:
        """The body in chunks, read on a helper thread so a trickling server cannot hold us past the deadline:
        each chunk must arrive within the timeout setting, and the whole body before the deadline."""
        received = 0
        try:
            for chunk in body_pieces(res, deadline, self.instance.timeout):
                received += len(chunk)
                if received > max_bytes:
                    if strict:
                        raise TooLarge(f'{what}: the reply is larger than the {format_size(max_bytes)} limit; '
                                       'it was stopped and nothing of it was kept.')
                    return
                yield chunk
        except DeadlineExceeded:
            raise DemistoException(f'{what}: the server sent too slowly or stopped sending (received {received} bytes '
                                   f'within the time limit: at least {BODY_PROGRESS_BYTES // 1024} KB every '
                                   f'{self.instance.timeout} s is expected); it was stopped and nothing of it was '
                                   'kept.') from None
        except requests.exceptions.RequestException:
            raise DemistoException(f'{what}: the reply broke off after {received} bytes.') from None
        finally:
            res.close()


class DaemonWorkers:
    """Daemon threads that run calls for callers who wait with a deadline: a stuck call (a server trickling its
    headers) never holds the caller past its deadline, nor the process at exit. Threads are reused while busy
    with short calls and end after a few idle seconds (so nothing is left in a long-lived engine process)."""

    IDLE_SECONDS = 5.0

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._idle = 0
        self._lock = threading.Lock()

    def run(self, call: Callable[[], T], deadline: float, what: str) -> T:
        outcome: dict[str, Any] = {}
        finished = threading.Event()
        with self._lock:
            if self._idle:
                self._idle -= 1
            else:
                threading.Thread(target=self._work, daemon=True).start()
        self._jobs.put((call, outcome, finished))
        if not finished.wait(max(0.0, deadline - time.monotonic())):
            raise DeadlineExceeded(f'{what} failed: no reply in time (check the timeout setting)')
        if 'error' in outcome:
            raise outcome['error']
        return outcome['value']

    def _work(self) -> None:
        while True:
            try:
                call, outcome, finished = self._jobs.get(timeout=self.IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._idle:  # still counted as idle: nobody is about to hand this thread a job
                        self._idle -= 1
                        return
                continue
            try:
                outcome['value'] = call()
            except BaseException as error:  # handed to the waiting caller
                outcome['error'] = error
            with self._lock:
                self._idle += 1
            finished.set()


REQUEST_WORKERS = DaemonWorkers()


def body_pieces(res: requests.Response, deadline: float, stall_seconds: float,
                chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """res's body as it arrives (each read returns what the socket has, decoded), with DeadlineExceeded once the
    deadline has passed or a window of stall_seconds brought less than BODY_PROGRESS_BYTES: a server that trickles
    cannot hold the command, and every read is bounded by the per-read timeout besides."""
    raw = res.raw
    read_some = True  # read1: what the socket has; without it (older urllib3, test doubles) read() instead
    window_start, window_bytes = time.monotonic(), 0
    while True:
        now = time.monotonic()
        if now > deadline:
            raise DeadlineExceeded('deadline')
        if now - window_start > stall_seconds:
            if window_bytes < BODY_PROGRESS_BYTES:
                raise DeadlineExceeded('stalled')
            window_start, window_bytes = now, 0
        try:
            data = raw.read1(chunk_size, decode_content=True) if read_some else \
                raw.read(chunk_size, decode_content=True)
        except (AttributeError, NotImplementedError):
            if not read_some:
                raise
            read_some = False
            continue
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise requests.exceptions.ChunkedEncodingError(str(error)) from None
        if not data:
            return
        window_bytes += len(data)
        yield data


def transport_failure(vendor: str, what: str, error: BaseException) -> TransportFailure:
    """A plain message for a request that got no HTTP reply, and whether it may have reached the server."""
    text = repr(error)
    before_sending = isinstance(error, requests.exceptions.ConnectTimeout) or any(
        marker in text for marker in ('NewConnectionError', 'NameResolutionError', 'Failed to resolve',
                                      'Connection refused', 'ConnectTimeoutError'))
    if isinstance(error, requests.exceptions.SSLError):
        reason, before_sending = ('the TLS certificate could not be verified (choose "Trust any certificate" only if '
                                  'you must)'), True
    elif isinstance(error, requests.exceptions.ProxyError):
        reason = 'the proxy refused the connection (check "Use system proxy settings")'
    elif isinstance(error, requests.exceptions.ConnectTimeout):
        reason = 'no connection in time (no reply in time: check the server URL and the timeout setting)'
    elif isinstance(error, requests.exceptions.Timeout):
        reason = 'no reply in time (check the timeout setting)'
    elif isinstance(error, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        reason = 'the reply broke off or could not be decoded'
    elif before_sending:
        reason = 'connection problem: the host could not be reached (check the server URL and the network)'
    else:
        reason = ('connection problem: the host could not be reached, or it closed or reset the connection before a '
                  'reply arrived')
    return TransportFailure(f'{vendor} API call {what} failed: {reason}.', sent=not before_sending)


def check_complete_body(what: str, res: requests.Response, size: int) -> None:
    """An empty body, or fewer raw bytes than Content-Length announced, is a failed download."""
    if size == 0:
        raise DemistoException(f'{what}: the server answered with an empty file; nothing was saved.')
    expected = str(res.headers.get('Content-Length') or '').strip()
    encoded = str(res.headers.get('Content-Encoding') or 'identity').lower() not in ('', 'identity')
    if expected.isdigit() and not encoded and int(expected) != size:
        raise DemistoException(f'{what}: the connection closed after {size} of {expected} bytes; the file was '
                               'discarded.')


def format_size(size: int) -> str:
    return f'{size // MEBIBYTE} MB' if size >= MEBIBYTE else f'{size} bytes'

# endregion

# region war-room files


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


def sha256_of_file(path: str) -> tuple[str, int]:
    """(hex SHA256, size in bytes) of a file, read in chunks."""
    digest, size = hashlib.sha256(), 0
    with open(path, 'rb') as source:
        for chunk in iter(lambda: source.read(CHUNK_SIZE), b''):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


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


def remove_quietly(path: str | None) -> None:
    """Delete a file we wrote, if it is still there."""
    if path and os.path.exists(path):
        try:
            os.remove(path)
        except OSError:
            demisto.debug('could not remove a temporary file')

# endregion

# region polling


class PollingArgs:
    """polling / interval_in_seconds / timeout_in_seconds, parsed once, and the round's start time."""

    def __init__(self, args: dict[str, Any], default_enabled: bool, default_interval: int = 60,
                 default_timeout: int = 600):
        self.enabled = bool_arg(args, 'polling', default_enabled)
        # below the server's minimum interval the server would wait the minimum anyway, so it is raised to it
        self.interval = max(MIN_POLLING_INTERVAL, number_arg(args, 'interval_in_seconds', default_interval, 1, 24 * 3600))
        self.timeout = number_arg(args, 'timeout_in_seconds', default_timeout, self.interval, MAX_POLLING_TIMEOUT)
        started = single_arg(args, 'polling_started')
        self.started = float(started) if re.fullmatch(r'\d+(\.\d+)?', started) else time.time()

    def elapsed(self) -> int:
        return int(time.time() - self.started)

    def timed_out(self) -> bool:
        return self.elapsed() >= self.timeout

    def next_args(self, **state: Any) -> dict[str, Any]:
        """The arguments of the next round: the polling settings, the start time and the round's state."""
        return dict(state, polling='true', interval_in_seconds=str(self.interval),
                    timeout_in_seconds=str(self.timeout), polling_started=str(int(self.started)))


class Round(PollResult):
    """A polling round's result.

    wait_seconds (a long Retry-After) delays the next round beyond the interval; entries (files and rows this
    round produced) are shown before the framework's polling entry.
    """

    def __init__(self, response: Any, continue_to_poll: bool = False, args_for_next_run: dict[str, Any] | None = None,
                 partial_result: Any = None, wait_seconds: float | None = None, entries: list[Any] | None = None):
        super().__init__(response=response, continue_to_poll=continue_to_poll, args_for_next_run=args_for_next_run,
                         partial_result=partial_result)
        self.wait_seconds = wait_seconds
        self.entries = entries or []


def poll(command: str, polling: PollingArgs, round_function: Callable[[], PollResult]) -> Any:
    """Run one round, then hand it to CommonServerPython's polling_function unchanged.

    The interval given to the framework is the polling interval, or the round's wait_seconds when the server
    asked for a longer pause (the Retry-After hook). The framework's timeout gets two intervals of grace, so
    that the command's own answer at its timeout (which says what is still pending) is not cut off.
    """
    result = round_function()
    if not polling.enabled:
        return result.response
    ScheduledCommand.raise_error_if_not_supported()
    wait = getattr(result, 'wait_seconds', None)
    interval = max(polling.interval, int(wait + 0.999)) if wait else polling.interval
    decorated = polling_function(command, interval=interval, timeout=polling.timeout + 2 * polling.interval,
                                 requires_polling_arg=False)(lambda _args: result)
    output = decorated({'polling': 'true'})
    entries = getattr(result, 'entries', None)
    return entries + [output] if entries else output


def rate_limited_round(polling: PollingArgs, limited: RateLimited, next_args: dict[str, Any]) -> Round:
    """A polling round that met a long Retry-After: schedule the next round for after it instead of waiting."""
    message = CommandResults(readable_output=f'{limited.message} The next polling round will run then.')
    return Round(response=message, continue_to_poll=True, partial_result=message, args_for_next_run=next_args,
                 wait_seconds=limited.retry_after)


def progress_line(what: str, unit: str, done: int, pending: int, failed: int, elapsed: int) -> str:
    """'Retrieve File: 3 of 5 endpoint(s) done, 1 pending, 1 failed (elapsed 1m 05s).'"""
    total = done + pending + failed
    return f'{what}: {done} of {total} {unit} done, {pending} pending, {failed} failed (elapsed {format_elapsed(elapsed)}).'


def format_elapsed(seconds: int) -> str:
    minutes, rest = divmod(max(0, int(seconds)), 60)
    return f'{minutes}m {rest:02d}s' if minutes else f'{rest}s'

# endregion

# region file paths


def path_os_names(path: str) -> list[str]:
    """The endpoint OS lists a file path belongs to, read off its shape ([] when it cannot tell)."""
    if re.match(r'^[A-Za-z]:[\\/]', path) or path.startswith('\\\\'):
        return ['windows']
    if path.startswith('/'):
        return ['linux', 'macos']  # a Unix path may live on Linux or macOS endpoints
    return []

# endregion

# region partial failure


def partial_failure_results(results: list[Any], failures: list[str], every_target_failed: bool, what: str) -> list[Any]:
    """The one rule of both integrations: every target failed -> an error entry as well; some failed -> the
    results only (their context and readable output name the failed targets), so a playbook continues."""
    if failures and every_target_failed:
        message = '{} failed for every target ({}):\n{}'.format(what, len(failures), '\n'.join(failures))
        return results + [CommandResults(entry_type=EntryType.ERROR, content_format=EntryFormat.MARKDOWN,
                                         readable_output=message, raw_response=message)]
    return results

# endregion
### END GENERATED CODE ###

import json
import os
import re
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

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
DEFAULT_MAX_SIZE_MB = 100
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 200
MAX_PAGES = 100
CATEGORIES = ('custom', 'cylance')
PACKAGE_FIELDS = ('category', 'downloadUrl', 'packageDescriptor', 'packageId', 'playbookCount', 'size', 'status',
                  'timeout', 'uploadedBy', 'uploadedOn')
EXECUTION_FIELDS = ('createdAt', 'createdBy', 'destination', 'deviceCount', 'deviceStatuses', 'id',
                    'keepResultsLocally', 'name', 'packageExecutions', 'target')
PACKAGE_DONE_STATUSES = ('success', 'failed', 'timeout')

DEFAULT_POLLING_INTERVAL_SECONDS = 30
DEFAULT_POLLING_TIMEOUT_SECONDS = 600
MAX_TARGETS = 1000
MAX_EXECUTIONS_PER_RUN = 50
LOOKUP_PAGES = 3

TARGET_ID_RE = re.compile(r'^[0-9A-F]{32}$')
UUID_IN_TEXT_RE = re.compile(r'[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}')

# endregion

# region arguments, messages and parameters


def validate_package_id(package_id: Any) -> str:
    return canonical_uuid(package_id, 'package_id', 'a package', 'e378dacb-9324-453a-b8c6-5a8406952195')


def validate_execution_id(execution_id: Any) -> str:
    return canonical_uuid(execution_id, 'execution_id', 'an execution', 'abebf88c-f283-4edc-834b-aa8ad3bc682c')


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


def secrets_in_params(raw: dict[str, Any]) -> list[str]:
    """The application secret and the tenant ID as configured, even when the parameters do not parse."""
    credentials = as_dict(raw.get('credentials'))
    tenant = raw.get('tenant_id')
    return [str(credentials.get('password') or ''),
            str((tenant.get('password') if isinstance(tenant, dict) else tenant) or '')]


def cached_tokens() -> list[str]:
    """The access tokens in the integration context (best effort: for redaction only)."""
    try:
        by_credentials = as_dict(as_dict(get_integration_context()).get('tokens'))
        return [str(entry['token']) for scopes in by_credentials.values() for entry in as_dict(scopes).values()
                if isinstance(entry, dict) and entry.get('token')]
    except Exception:  # redaction must never fail the error path
        return []


def token_expiry(token: str) -> float:
    """Epoch seconds when an access token expires: its exp claim if it is a JWT, else 30 minutes from now."""
    try:
        exp = jwt.decode(token, options={'verify_signature': False}).get('exp')
        return float(exp) if exp else time.time() + ASSUMED_TOKEN_LIFETIME_SECONDS
    except Exception:  # not a JWT (or an odd one): assume the documented 30-minute lifetime
        return time.time() + ASSUMED_TOKEN_LIFETIME_SECONDS


class InstanceParams(InstanceParamsBase):
    """The instance settings, read and checked once."""

    vendor = VENDOR
    default_url = url_example = DEFAULT_URL
    default_timeout = DEFAULT_TIMEOUT_SECONDS

    def __init__(self, params: dict[str, Any]):
        credentials = as_dict(params.get('credentials'))
        tenant = params.get('tenant_id')
        self.app_id = str(credentials.get('identifier') or '').strip()
        self.app_secret = str(credentials.get('password') or '').strip()
        self.tenant_id = str((tenant.get('password') if isinstance(tenant, dict) else tenant) or '').strip()
        super().__init__(params)
        if not self.app_id or not self.app_secret or not self.tenant_id:
            raise DemistoException('Application ID, application secret and tenant ID are all required.')

    def secrets(self) -> list[str]:
        """Values that must never be shown: the application secret and the tenant ID."""
        return [self.app_secret, self.tenant_id]

    def credentials_key(self) -> str:
        """Whose tokens these are: a keyed hash of URL, application, tenant and secret (never the secret)."""
        return self.fingerprint(self.app_id, self.tenant_id)

# endregion

# region client


class Client(PolicyClient):
    """One method per Cylance endpoint, each owning its path, its scope and its kind (READ or ACTION).

    Tokens are cached per scope under the credentials' fingerprint; actions are never sent twice.
    """

    def __init__(self, params: InstanceParams, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__(params, params.url, VENDOR, sleep=sleep, clock=clock)
        self._params = params
        self.known_tokens: list[str] = []  # every access token this run used, so errors can be redacted

    # -- auth

    def make_auth_jwt(self, scope: str) -> str:
        now = int(time.time())
        claims = {'exp': now + JWT_LIFETIME_SECONDS, 'iat': now, 'iss': JWT_ISSUER, 'sub': self._params.app_id,
                  'tid': self._params.tenant_id, 'jti': str(uuid.uuid4()), 'scp': scope}
        token: Any = jwt.encode(claims, self._params.app_secret, algorithm='HS256')
        return token.decode('utf-8') if isinstance(token, bytes) else str(token)  # PyJWT 1.x returns bytes

    def request_token(self, scope: str) -> str:
        try:
            body = self.call_json(TOKEN_ENDPOINT, READ, 'POST', f'{self._base_url}/{TOKEN_ENDPOINT}',
                                  {'Accept': 'application/json'}, self._api_error_handler(TOKEN_ENDPOINT, scope),
                                  json_data={'auth_token': self.make_auth_jwt(scope)})
        except NotJsonReply:
            body = None
        token = body.get('access_token') if isinstance(body, dict) else None
        if not token or not isinstance(token, str):
            raise DemistoException('Cylance API call {} returned no access_token{}.'.format(
                TOKEN_ENDPOINT, '' if isinstance(body, dict) else ' (the reply is not a JSON object)'))
        self.known_tokens.append(token)
        return token

    def get_token(self, scope: str, refresh: bool = False) -> str:
        """The cached access token for scope made by these credentials, or a new one when there is none, it
        expires soon, or refresh is set. Tokens of other credentials are dropped from the cache."""
        owner = self._params.credentials_key()
        context = as_dict(get_integration_context())
        tokens = as_dict(as_dict(context.get('tokens')).get(owner))
        cached = as_dict(tokens.get(scope))
        expires = cached['expires'] if isinstance(cached.get('expires'), int | float) else 0
        if not refresh and isinstance(cached.get('token'), str) and cached['token'] and \
                expires - TOKEN_REFRESH_MARGIN_SECONDS > time.time():
            self.known_tokens.append(cached['token'])
            return cached['token']
        token = self.request_token(scope)
        tokens = dict(tokens, **{scope: {'token': token, 'expires': token_expiry(token)}})
        set_integration_context(dict(context, tokens={owner: tokens}))
        return token

    # -- plumbing

    @staticmethod
    def _api_error_handler(endpoint: str, scope: str | None) -> Callable[[requests.Response], None]:
        return status_error_handler(lambda res: error_message(res.status_code, endpoint, scope, server_message(res)))

    @staticmethod
    def _storage_error_handler(action: str, host: str) -> Callable[[requests.Response], None]:
        return status_error_handler(lambda res: storage_error_message(action, res.status_code, host))

    @staticmethod
    def _bearer(token: str) -> dict[str, str]:
        return {'Accept': 'application/json', 'Authorization': 'Bearer ' + token}

    def _with_token(self, endpoint: str, scope: str, call: Callable[[dict[str, str]], T]) -> T:
        """call(headers) with the scope's token; once more with a new token when the API answers 401 (the call
        was refused, so sending it again cannot do anything twice)."""
        headers = self._bearer(self.get_token(scope))  # a refused token request is not retried with a new one
        try:
            return call(headers)
        except HTTPStatusError as error:
            if error.status != HTTPStatus.UNAUTHORIZED:
                raise
        demisto.debug(f'{endpoint} answered 401, requesting a new {scope} token once')
        return call(self._bearer(self.get_token(scope, refresh=True)))

    def _api(self, method: str, endpoint: str, scope: str, kind: str = READ, path_ids: dict[str, str] | None = None,
             allow_empty: bool = False, **kwargs: Any) -> Any:
        """One JSON call to the API origin (endpoint is the path template and the name errors use)."""
        url = f'{self._base_url}/{endpoint.format(**(path_ids or {}))}'
        return self._with_token(endpoint, scope, lambda headers: self.call_json(
            endpoint, kind, method, url, headers, self._api_error_handler(endpoint, scope), allow_empty=allow_empty,
            **kwargs))

    def _object_call(self, method: str, endpoint: str, scope: str, object_id: str, what: str, kind: str = READ,
                     allow_empty: bool = False) -> Any:
        """A call on one object ({id} in the endpoint); a 404 names the object that was not found."""
        try:
            return self._api(method, endpoint, scope, kind, {'id': object_id}, allow_empty=allow_empty)
        except HTTPStatusError as error:
            if error.status == HTTPStatus.NOT_FOUND:
                raise HTTPStatusError(f'{what} {object_id} was not found (status 404).', status=404) from None
            raise

    # -- packages

    def list_packages(self, page: int, page_size: int, sort: str | None = None, category: str | None = None) -> Any:
        params = assign_params(page=page, page_size=page_size, sort=sort, category=category)
        return self._api('GET', 'packages/v2', SCOPE_PACKAGE_LIST, params=params)

    def get_package(self, package_id: str) -> Any:
        return self._object_call('GET', 'packages/v2/{id}', SCOPE_PACKAGE_READ, package_id, 'Package')

    def create_package(self, checksum: str, descriptor: dict[str, Any]) -> Any:
        return self._api('POST', 'packages/v2', SCOPE_PACKAGE_CREATE, ACTION,
                         json_data={'checksum': checksum, 'packageDescriptor': descriptor})

    def upload_package(self, upload_url: str, path: str, size: int) -> None:
        """PUT the file at path to the pre-signed upload URL, streamed from disk, never with a Cylance token."""
        what = 'package upload'
        host = origin_of(upload_url, 'upload URL').host
        deadline = self.command_deadline

        def attempt() -> requests.Response:
            with open(path, 'rb') as body:
                return self.open(what, 'PUT', upload_url, {'Content-Length': str(size)},
                                 self._storage_error_handler('upload to', host), deadline, data=body)

        res = self.guarded(what, ACTION, attempt)
        res.close()
        if res.is_redirect or res.status_code in REDIRECT_STATUSES:
            raise DemistoException(f'The package upload to {host} answered with a redirect ({res.status_code}); it '
                                   'was not followed, so the upload did not happen.')

    def download(self, url: str, dest_path: str, expected_size: int | None, max_bytes: int) -> tuple[int, str]:
        """Stream the package at url to dest_path: (bytes, sha256), within max_bytes whatever the package says.
        The bearer token goes only to the API origin; a pre-signed storage URL gets no Authorization. The file is
        removed on any failure, including a byte count that differs from expected_size."""
        what = 'package download'
        origin = origin_of(url, 'package download URL')
        if origin == self.origin:
            handler = self._api_error_handler(what, SCOPE_PACKAGE_READ)
            res = self._with_token(what, SCOPE_PACKAGE_READ,
                                   lambda headers: self.open_download(what, url, headers, handler))
        else:
            res = self.open_download(what, url, {'Accept': '*/*'}, self._storage_error_handler('download from',
                                                                                               origin.host))
        cap = min(expected_size, max_bytes) if expected_size is not None else max_bytes
        try:
            size, digest = self.save_stream(what, res, dest_path, cap)
        except TooLarge:
            if cap == max_bytes:  # over the argument's limit, not only over the declared size
                raise
            raise DemistoException(f'the download exceeds the declared size: the package size is {expected_size} '
                                   'bytes; the file was discarded.') from None
        if expected_size is not None and size != expected_size:
            remove_quietly(dest_path)
            raise DemistoException(f'the download has {size} bytes but the package size is {expected_size} bytes; '
                                   'the file was discarded.')
        return size, digest

    # -- executions

    def create_execution(self, execution: dict[str, Any]) -> Any:
        return self._api('POST', 'packages/v2/executions', SCOPE_EXECUTION_CREATE, ACTION,
                         json_data={'execution': execution})

    def get_execution(self, execution_id: str) -> Any:
        return self._object_call('GET', 'packages/v2/executions/{id}', SCOPE_EXECUTION_READ, execution_id, 'Execution')

    def list_executions(self, page: int, page_size: int, sort: str | None = None) -> Any:
        params = assign_params(page=page, page_size=page_size, sort=sort)
        return self._api('GET', 'packages/v2/executions', SCOPE_EXECUTION_LIST, params=params)

    def delete_execution(self, execution_id: str) -> Any:
        return self._object_call('DELETE', 'packages/v2/executions/{id}', SCOPE_EXECUTION_DELETE, execution_id,
                                 'Execution', kind=ACTION, allow_empty=True)

# endregion

# region shared reply shaping: packages, executions, paging


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


def paged_results(found: Collected, what: str, prefix: str, key: str,
                  table: Callable[[str, list[dict[str, Any]]], str]) -> CommandResults:
    """The context rows and table of a list command, saying where to go on when MAX_PAGES stopped the walk."""
    title = f'{what} ({len(found.items)} of {found.total})' if found.total is not None else f'{what} ({len(found.items)})'
    readable = table(title, found.items)
    if found.stopped_early_at_page:
        readable += f'\nStopped after {MAX_PAGES} pages; run again with page={found.stopped_early_at_page} for more.'
    return CommandResults(outputs_prefix=prefix, outputs_key_field=key, outputs=found.items, readable_output=readable,
                          raw_response=found.items)


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
    if ended and not_succeeded:
        reason = f'timed out after {elapsed}s' if timed_out else 'did not succeed (failed or offline)'
        named = progress.get('notSucceededDevices') or []
        progress['failures'] = [{'device': device, 'reason': reason} for device in named] or \
            [{'device': None, 'reason': f'{not_succeeded} device(s) {reason}; the API reports counts only'}]
    return progress


def execution_progress_line(execution: dict[str, Any], progress: dict[str, Any]) -> str:
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


def target_label(target: dict[str, Any]) -> str:
    """The device of a one-device execution (as execution_per_device makes them), else how many devices or zones."""
    devices = [str(d) for d in target.get('devices') or []]
    if len(devices) == 1:
        return devices[0]
    if devices:
        return f'{len(devices)} device(s)'
    return '{} zone(s)'.format(len(target.get('zones') or []))


def execution_table(title: str, executions: list[dict[str, Any]]) -> str:
    rows = []
    for execution in executions:
        target = as_dict(execution.get('target'))
        statuses = as_dict(execution.get('deviceStatuses'))
        rows.append({
            'Execution ID': execution.get('id'), 'Name': execution.get('name'),
            'Packages': [package_ref(p.get('package')) for p in execution.get('packageExecutions') or []
                         if isinstance(p, dict)],
            'Target': target_label(target),
            'Device Count': execution.get('deviceCount'), 'Acked': statuses.get('acked'),
            'Succeeded': statuses.get('succeeded'), 'Failed': statuses.get('failed'),
            'Created At': execution.get('createdAt'),
            'Created By': as_dict(execution.get('createdBy')).get('login')})
    return tableToMarkdown(title, rows, headers=['Execution ID', 'Name', 'Packages', 'Target', 'Device Count',
                                                 'Acked', 'Succeeded', 'Failed', 'Created At', 'Created By'])

# endregion

# region test-module


def test_module_command(client: Client, args: dict[str, Any]) -> str:
    """A real call (list one package) with a token asked for now: credentials, tenant, scope and server URL must all
    be right (a cached token would hide a wrong secret). Failures are raised, so that main() reports them through
    the same redaction as every other error."""
    client.get_token(SCOPE_PACKAGE_LIST, refresh=True)
    require_page(client.list_packages(page=1, page_size=1), 'packages/v2')
    return 'ok'

# endregion

# region cylance-optics-get-package


def package_polling(args: dict[str, Any], default_enabled: bool) -> PollingArgs:
    return PollingArgs(args, default_enabled, DEFAULT_POLLING_INTERVAL_SECONDS, DEFAULT_POLLING_TIMEOUT_SECONDS)


def get_package_command(client: Client, args: dict[str, Any]) -> Any:
    """One package: its metadata, upload status, examples and (in the context) its download URL. With polling,
    waits until the upload is processed (status success, failed or timeout); create-package hands over here. A
    package still not processed at timeout_in_seconds ends the polling with an error saying it is not ready."""
    package_id = validate_package_id(args.get('package_id'))
    polling = package_polling(args, default_enabled=False)
    return poll('cylance-optics-get-package', polling, lambda: package_round(client, package_id, polling))


def package_round(client: Client, package_id: str, polling: PollingArgs) -> Round:
    package = require_package(client.get_package(package_id), 'packages/v2/{id}')
    status = package.get('status')
    if polling.enabled and status not in PACKAGE_DONE_STATUSES:
        waited = max(polling.elapsed(), package_elapsed(package) or 0)
        if waited >= polling.timeout:
            raise DemistoException(f'Package {package_id} is not ready after {waited} s: Cylance still '
                                   f'reports its upload status as {status}. Check it later with '
                                   f'!cylance-optics-get-package package_id={package_id}.')
        progress = CommandResults(readable_output='Package {} ({}): upload status {}, waiting {}.'.format(
            package_id, as_dict(package.get('packageDescriptor')).get('name'), status,
            format_elapsed(polling.elapsed())))
        return Round(None, continue_to_poll=True, args_for_next_run=polling.next_args(package_id=package_id),
                     partial_result=progress)
    if polling.enabled and status in ('failed', 'timeout'):
        raise DemistoException(f'Package {package_id} was not accepted: its upload status is {status} (a failed upload usually '
                               'means the file does not match the checksum given when it was created).'
                               )
    return Round(package_result(package))


def package_elapsed(package: dict[str, Any]) -> int | None:
    """Seconds since the package was uploaded (None when it does not say)."""
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
    return paged_results(found, 'Cylance Optics packages', PACKAGE_PREFIX, 'packageId', package_table)

# endregion

# region cylance-optics-download-package


def download_package_command(client: Client, args: dict[str, Any]) -> list[Any]:
    """The package file into the War Room, streamed within max_size_mb (whatever size the package declares),
    checked against the declared size and hashed (SHA256). A download URL that is not a plain https URL is
    refused; the bearer token goes only to the configured API origin."""
    package_id = validate_package_id(args.get('package_id'))
    max_bytes = number_arg(args, 'max_size_mb', DEFAULT_MAX_SIZE_MB, 1, 1024 * 1024) * MEBIBYTE
    package = require_package(client.get_package(package_id), 'packages/v2/{id}')
    url = str(package.get('downloadUrl') or '').strip()
    if not url:
        raise DemistoException('Package {} has no download URL (status {}).'.format(package_id, package.get('status')))
    descriptor = as_dict(package.get('packageDescriptor'))
    name = safe_file_name(as_dict(descriptor.get('packageInfo')).get('fileName'), f'{package_id}.zip')
    file_id, path = new_war_room_file_path()
    try:
        size, sha256 = client.download(url, path, package_size(package.get('size')), max_bytes)
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


def war_room_file_path(entry_id: str) -> tuple[str, str]:
    """(path, name) of a War Room file entry, or a clear error."""
    try:
        war_room_file = demisto.getFilePath(entry_id)
    except Exception:
        raise DemistoException(f'Entry {entry_id} is not a file in this War Room.') from None
    path = war_room_file.get('path') if isinstance(war_room_file, dict) else None
    if not path or not os.path.isfile(path):
        raise DemistoException(f'Entry {entry_id} has no file content.')
    return path, str(war_room_file.get('name') or '')


def create_package_command(client: Client, args: dict[str, Any]) -> Any:
    """A new package from a War Room file: its SHA256 is computed while reading the file, the package is created
    with that checksum and the descriptor arguments (sent once), the file is uploaded (streamed, without any
    Cylance token) to the upload location Cylance returns, and with polling the package status is followed until
    it is success, failed or timeout, or the polling times out saying the package is not ready."""
    entry_id = required_arg(args, 'entry_id')
    name = required_arg(args, 'name')
    version = number_arg(args, 'version', 1)
    examples = parse_examples(single_arg(args, 'examples'))
    polling = package_polling(args, default_enabled=True)
    path, entry_name = war_room_file_path(entry_id)
    file_name = safe_file_name(single_arg(args, 'file_name') or entry_name, 'package.py')
    entry_point = single_arg(args, 'entry_point')
    check_python_package(path, file_name, entry_point)
    checksum, size = sha256_of_file(path)
    descriptor = {'name': name, 'description': single_arg(args, 'description'), 'examples': examples,
                  'packageInfo': {'fileType': 'python', 'fileName': file_name, 'entryPoint': entry_point},
                  'version': version}
    try:
        created = client.create_package(checksum, descriptor)
    except ActionOutcomeUnknown as unknown:
        raise DemistoException(f'{unknown.message} The package "{name}" (version {version}) may have been created. '
                               'Check !cylance-optics-list-packages (or the Optics console) for it before you create '
                               'it again.') from None
    upload_to = str(created.get('uploadTo') or '').strip() if isinstance(created, dict) else ''
    if not isinstance(created, dict) or not created.get('packageId') or not upload_to.lower().startswith(WEB_SCHEMES):
        raise DemistoException('Cylance API call packages/v2 returned an unexpected reply: no packageId and '
                               'uploadTo URL.')
    package_id = str(created['packageId'])
    note = ''
    try:
        client.upload_package(upload_to, path, size)
    except ActionOutcomeUnknown as unknown:
        check = f'!cylance-optics-get-package package_id={package_id} polling=true'
        if not polling.enabled:
            raise DemistoException(f'{unknown.message} Package {package_id} was created and its upload may have '
                                   f'completed. Check its status with {check}: success means the file arrived; '
                                   'otherwise create the package again.') from None
        note = (f'\n{unknown.message} The upload may have completed: the package status tells (followed here, or '
                f'check with {check}).')
    output = {'packageId': package_id, 'packageUrl': created.get('packageUrl'), 'checksum': checksum, 'size': size,
              'status': 'started', 'packageDescriptor': descriptor}
    readable = package_table(f'Created Cylance Optics package {name} and uploaded {file_name} ({size} bytes)',
                             [output]) + note
    result = CommandResults(outputs_prefix=PACKAGE_PREFIX, outputs_key_field='packageId', outputs=output,
                            readable_output=readable, raw_response=output)
    waiting = CommandResults(outputs_prefix=PACKAGE_PREFIX, outputs_key_field='packageId', outputs=output,
                             readable_output=readable + '\nWaiting for Cylance to process the upload.')
    return poll('cylance-optics-get-package', polling, lambda: Round(
        result, continue_to_poll=True, args_for_next_run=polling.next_args(package_id=package_id),
        partial_result=waiting))

# endregion

# region cylance-optics-run-package


def target_ids(args: dict[str, Any], name: str) -> list[str]:
    """Device or zone ids as the API wants them: upper case without dashes, 32 hex digits each."""
    ids = list(dict.fromkeys(value.replace('-', '').upper() for value in list_arg(args, name)))
    bad = [value for value in ids if not TARGET_ID_RE.match(value)]
    if bad:
        raise DemistoException('{} must be device or zone ids of 32 hexadecimal digits (dashes are removed), got '
                               '{}.'.format(name, ', '.join(f'"{b[:40]}"' for b in bad[:5])))
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


def is_same_execution(execution: dict[str, Any], request: dict[str, Any], since: float) -> bool:
    """Whether a listed execution is the one an unclear create request may have made: same name, package and
    target, created since the request was sent."""
    created = parse_utc(execution.get('createdAt'))
    packages = [package_ref(p.get('package')) for p in execution.get('packageExecutions') or [] if isinstance(p, dict)]
    wanted = request['packageExecutions'][0]['package']
    target = as_dict(execution.get('target'))
    same_target = sorted(str(t).replace('-', '').upper() for t in target.get('devices') or target.get('zones') or []) \
        == sorted(request['target'].get('devices') or request['target'].get('zones') or [])
    return (created is not None and created >= since and execution.get('name') == request['name']
            and wanted in packages and same_target)


def find_started_execution(client: Client, request: dict[str, Any], since: float) -> dict[str, Any] | None:
    """After an unclear answer to an execution request: the execution it made, if the newest executions show it."""
    for page in range(1, LOOKUP_PAGES + 1):
        body = require_page(client.list_executions(page, MAX_PAGE_SIZE, sort='-createdAt'), 'packages/v2/executions')
        for item in body['page_items']:
            if isinstance(item, dict) and item.get('id') and is_same_execution(item, request, since):
                return require_execution(item, 'packages/v2/executions')
        if not body['page_items'] or page >= int(body.get('total_pages') or 1):
            return None
    return None


def start_execution(client: Client, request: dict[str, Any]) -> dict[str, Any]:
    """Create one execution, sent once. After an unclear answer the new executions are looked up: the one found is
    used; otherwise the analyst is told plainly that the package may be running on the targets."""
    sent_at = time.time() - 5  # the server's clock may be a little behind ours
    try:
        return require_execution(client.create_execution(request), 'packages/v2/executions')
    except ActionOutcomeUnknown as unknown:
        demisto.debug('execution request unclear; looking up the executions just created')
        try:
            found = find_started_execution(client, request, sent_at)
        except DemistoException as lookup_error:
            found, unknown.message = None, f'{unknown.message} Looking it up failed too: {lookup_error.message}'
        if found is not None:
            found['note'] = 'The request got no clear answer; this execution was found in the execution list.'
            return found
        raise DemistoException(f'{unknown.message} The package may have started on the targets. Check '
                               '!cylance-optics-list-executions (newest first) or the Optics console before you run it '
                               'again, so that it does not run twice.') from None


def run_package_command(client: Client, args: dict[str, Any]) -> Any:
    """Runs a package on devices or on zones (never both): ids are checked before any request, the package is
    found by id or exact name, and one execution is created (or one per device with execution_per_device, so
    each device's outcome is known), each request sent once. With polling, get-execution follows the executions
    until every online device has succeeded or failed, or the timeout."""
    reference = required_arg(args, 'package', 'a package id or the exact package name.')
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
    polling = package_polling(args, default_enabled=True)
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
        executions.append(start_execution(client, request))
    readable = execution_table('Started package {} ({})'.format(package_name, package['packageId']), executions)
    readable += ''.join(f'\n{e["id"]}: {e["note"]}' for e in executions if e.get('note'))
    result = CommandResults(outputs_prefix=EXECUTION_PREFIX, outputs_key_field='id', outputs=executions,
                            readable_output=readable, raw_response=executions)
    following = CommandResults(outputs_prefix=EXECUTION_PREFIX, outputs_key_field='id', outputs=executions,
                               readable_output=readable + f'\nFollowing {len(executions)} execution(s) every '
                                                          f'{polling.interval}s.')
    return poll('cylance-optics-get-execution', polling, lambda: Round(
        result, continue_to_poll=True, partial_result=following,
        args_for_next_run=polling.next_args(execution_id=','.join(e['id'] for e in executions))))

# endregion

# region cylance-optics-get-execution


def get_execution_command(client: Client, args: dict[str, Any]) -> Any:
    """One or more executions with their device counts; with polling, a progress entry per round (acked /
    succeeded / failed of N devices, elapsed time) until every online device has succeeded or failed, or the
    timeout. Devices that did not succeed are named (when the counts tell) in the table and in the context
    (progress.failures); an error entry is added only when no device of any execution succeeded."""
    execution_ids = [validate_execution_id(value) for value in list_arg(args, 'execution_id')]
    if not execution_ids:
        raise DemistoException('execution_id is required.')
    polling = package_polling(args, default_enabled=False)
    return poll('cylance-optics-get-execution', polling, lambda: execution_round(client, execution_ids, polling))


def execution_round(client: Client, execution_ids: list[str], polling: PollingArgs) -> Round:
    executions = [require_execution(client.get_execution(execution_id), 'packages/v2/executions/{id}')
                  for execution_id in execution_ids]
    timeout = polling.timeout if polling.enabled else None
    for execution in executions:
        execution['progress'] = execution_progress(execution, timeout)
    lines = [execution_progress_line(e, e['progress']) for e in executions]
    running = [e for e in executions if not (e['progress']['finished'] or e['progress']['timedOut'])]
    if polling.enabled and running:
        return Round(None, continue_to_poll=True, args_for_next_run=polling.next_args(
            execution_id=','.join(execution_ids)), partial_result=CommandResults(
            outputs_prefix=EXECUTION_PREFIX, outputs_key_field='id', outputs=executions,
            readable_output='\n'.join(lines)))
    outcome = '\n'.join('- {}: {}'.format(e['id'], outcome_sentence(e, e['progress'])) for e in executions)
    readable = execution_table('Cylance Optics package execution(s)', executions) + '\n' + outcome
    result = CommandResults(outputs_prefix=EXECUTION_PREFIX, outputs_key_field='id', outputs=executions,
                            readable_output=readable, raw_response=executions)
    failed = [f'- {e["id"]}: {outcome_sentence(e, e["progress"])}' for e in executions
              if e['progress']['allSucceeded'] is False]
    every_target_failed = all(e['progress']['allSucceeded'] is False and e['progress']['succeeded'] == 0
                              for e in executions)
    output = partial_failure_results([result], failed, every_target_failed, 'The package execution')
    return Round(output if len(output) > 1 else result)

# endregion

# region cylance-optics-list-executions


def list_executions_command(client: Client, args: dict[str, Any]) -> CommandResults:
    """Executions, one page or (with limit) as many pages as needed, paged as for packages."""
    paging = Paging.parse(args)
    sort = single_arg(args, 'sort') or None
    found = collect_pages(lambda page: client.list_executions(page, paging.page_size, sort), paging,
                          'packages/v2/executions', require_execution)
    return paged_results(found, 'Cylance Optics package executions', EXECUTION_PREFIX, 'id', execution_table)

# endregion

# region cylance-optics-delete-execution


def delete_execution_command(client: Client, args: dict[str, Any]) -> CommandResults:
    """Deletes an execution resource (the API answers with the deleted execution, or nothing). The request is
    sent once; after an unclear answer the execution is looked up to tell whether it is gone."""
    execution_id = validate_execution_id(args.get('execution_id'))
    try:
        body = client.delete_execution(execution_id)
    except ActionOutcomeUnknown as unknown:
        try:
            client.get_execution(execution_id)
        except HTTPStatusError as error:
            if error.status != HTTPStatus.NOT_FOUND:
                raise DemistoException(f'{unknown.message} Whether execution {execution_id} was deleted is unknown; '
                                       'check !cylance-optics-get-execution later.') from None
            body = {'id': execution_id, 'note': f'{unknown.message} The execution is gone, so it was deleted.'}
        else:
            raise DemistoException(f'{unknown.message} Execution {execution_id} still exists, so it was not deleted '
                                   '(yet); check !cylance-optics-get-execution later before deleting again.') from None
    execution: dict[str, Any] = require_execution(body, 'packages/v2/executions/{id}') \
        if isinstance(body, dict) and body.get('id') else {'id': execution_id}
    execution['deleted'] = True
    note = '\n' + body['note'] if isinstance(body, dict) and body.get('note') else ''
    return CommandResults(outputs_prefix=EXECUTION_PREFIX, outputs_key_field='id', outputs=execution,
                          readable_output='Deleted Cylance Optics package execution {}{}.{}'.format(
                              execution_id, ' ({})'.format(execution['name']) if execution.get('name') else '', note),
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
    failure: Exception | None = None
    try:
        params = InstanceParams(raw_params)
        secrets_to_hide = params.secrets()
        client = Client(params)
        if command not in COMMANDS:
            raise DemistoException(f'Command {command} is not implemented by {INTEGRATION_NAME}.')
        return_results(COMMANDS[command](client, demisto.args()))  # test-module too: its failures are raised
    except Exception as error:  # every failure becomes one plain, redacted error entry
        failure = error
    if failure is not None:
        # Reported outside the except block: return_error logs the active traceback, whose text is not redacted.
        issued = (client.known_tokens if client else []) + cached_tokens()
        report_failure(command, failure, secrets_to_hide + issued)


if __name__ in ('__main__', '__builtin__', 'builtins'):
    main()

# endregion
