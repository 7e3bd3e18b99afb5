"""Cortex XDR - Response Actions.

Agent installation packages, Retrieve File (with a safe, streamed download and unzip) and quarantine status
through the Cortex XDR public API (`POST <url>/public_api/v1/<path>`, `{"request_data": ...}` in,
`{"reply": ...}` out). Commands are named `xdr-response-<official name without xdr->` so that they never
collide with the official Cortex XDR - IR integration running beside this one.
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
### GENERATED CODE ###: from StreamingZipApiModule import *
# This code was inserted in place of an API module.
"""Safe zip extraction for the Endpoint Response integrations (inlined into each that uses it by `dev.sh sync`).

One entry point, extract_zip: entries are parsed from their local headers, inflated, checked and hashed while
the body streams in, written to the working directory, and accepted only when the central directory agrees
with what was extracted. An archive that cannot be read front to back (encrypted entries, other methods, a
stored entry sized only in its data descriptor) is completed on disk and goes through the two-pass extraction
of zipfile instead, under the same rules: one ZipLimits, one name check, one ratio floor, one chunk size.
Standard library only.
"""
import demistomock as demisto  # noqa: F401
from CommonServerPython import *  # noqa: F401

import hashlib
import itertools
import os
import queue
import re
import struct
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

ZIP_CHUNK_SIZE = 1 << 20  # bytes inflated, copied or read per step
RATIO_FLOOR = 1 << 20  # an entry is held to max_ratio once it has produced this much (tiny files compress absurdly)
ZIP_RESULT_FIELDS = ('name', 'file_id', 'path', 'size', 'crc32', 'sha256', 'md5', 'sha1', 'compressed_size')


class ZipLimits(NamedTuple):
    """What an archive must stay within: bytes produced in all, expansion per entry, number of entries."""
    max_total_bytes: int
    max_ratio: float
    max_entries: int


class ZipStreamError(Exception):
    """The archive is invalid, hostile or over a limit; nothing of it was kept."""


class ZipStreamUnsupported(Exception):
    """The archive cannot be extracted in one pass; extract_zip then uses the two-pass path."""

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


def check_entry_name(name: str) -> str:
    """The normalised key of a safe entry name; ZipStreamError for an empty, absolute, NUL or parent path."""
    if not name or '\x00' in name:
        raise ZipStreamError(f'the archive has an empty entry name or one with a NUL character: {name!r}')
    if name[0] in '/\\' or re.match(r'[A-Za-z]:', name):
        raise ZipStreamError(f'the archive entry {name!r} has an absolute path')
    parts = re.split(r'[/\\]', name)
    if '..' in parts:
        raise ZipStreamError(f'the archive entry {name!r} points outside the extraction folder')
    return '/'.join(p for p in parts if p not in ('', '.')) + ('/' if name[-1] in '/\\' else '')


def remove_files(paths: Iterable[str | None]) -> None:
    """Remove files we wrote, ignoring the ones already gone."""
    for path in paths:
        if path:
            try:
                os.remove(path)
            except OSError:
                pass


def extract_zip(chunks: Iterable[bytes], limits: ZipLimits, new_path: Callable[[], tuple[str, str]],
                keep_zip_path: str | None = None, reopen: Callable[[], Iterable[bytes]] | None = None,
                hashes: tuple[str, ...] = ('sha256',), worker_threads: int = 2) -> list[dict[str, Any]]:
    """Every file of the zip arriving in chunks, written where new_path() says (in the working directory).

    All or nothing: ZipStreamError (nothing kept) when the archive is invalid, hostile or over a limit.
    keep_zip_path also keeps the raw zip; reopen() streams the zip again when the two-pass path needs it and
    the bytes read so far were too many to keep. Results: name, file_id, path, size, crc32, the hashes asked
    for (others None) and compressed_size, in archive order.
    """
    extractor = StreamingZipExtractor(os.getcwd(), new_path, limits, keep_zip_path=keep_zip_path, hashes=hashes,
                                      worker_threads=worker_threads)
    try:
        return extractor.extract(chunks)
    except ZipStreamUnsupported as unsupported:
        demisto.debug(f'single-pass extraction not possible ({unsupported}); using the two-pass path')
        zip_path = unsupported.zip_path or keep_zip_path or new_path()[1]
        try:
            if not unsupported.zip_path:
                source = unsupported.replay if unsupported.replay is not None else reopen() if reopen else None
                if source is None:
                    raise ZipStreamError(f'{unsupported}, and the archive cannot be read again') from None
                with open(zip_path, 'wb') as target:
                    for chunk in source:
                        target.write(chunk)
            return extract_complete_zip(zip_path, limits, new_path, hashes)
        finally:
            if zip_path != keep_zip_path:
                remove_files([zip_path])


def extract_complete_zip(zip_path: str, limits: ZipLimits, new_path: Callable[[], tuple[str, str]],
                         hashes: tuple[str, ...] = ('sha256',)) -> list[dict[str, Any]]:
    """The two-pass path on a zip on disk: every entry checked from the central directory first, then extracted."""
    written: list[str] = []
    try:
        with zipfile.ZipFile(zip_path) as archive:
            budget = limits.max_total_bytes
            results = []
            for info in inspect_zip(archive, limits):
                file_id, path = new_path()
                written.append(path)
                result = extract_member(archive, info, path, budget, hashes)
                budget -= result['size']
                results.append(dict(result, name=info.filename, file_id=file_id, path=path,
                                    compressed_size=info.compress_size))
            return results
    except ZipStreamError:
        remove_files(written)
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError, zlib.error,
            ValueError, KeyError, struct.error):
        remove_files(written)
        raise ZipStreamError('the archive is truncated, corrupt, encrypted or not a zip') from None
    except BaseException:
        remove_files(written)
        raise


def inspect_zip(archive: zipfile.ZipFile, limits: ZipLimits) -> list[zipfile.ZipInfo]:
    """The file entries of the archive after every safety check, before anything is extracted."""
    infos = archive.infolist()
    if len(infos) > limits.max_entries:
        raise ZipStreamError(f'the archive has more than {limits.max_entries} entries (max_entries)')
    total = 0
    files = []
    seen: set[str] = set()
    for info in infos:
        key = check_entry_name(info.filename)
        if key in seen:
            raise ZipStreamError(f'the archive has the entry {info.filename!r} more than once')
        seen.add(key)
        if info.flag_bits & 0x1:
            raise ZipStreamError(f'the archive entry {info.filename!r} is encrypted')
        if info.is_dir():
            continue
        total += info.file_size
        if total > limits.max_total_bytes:
            raise ZipStreamError(f'the archive expands to more than {limits.max_total_bytes} bytes (max_total_size_mb)')
        if info.file_size >= RATIO_FLOOR and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise ZipStreamError(f'the entry {info.filename!r} expands over {limits.max_ratio} times '
                                 '(max_compression_ratio; a zip bomb?)')
        files.append(info)
    return files


def extract_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, dest_path: str, budget: int,
                   hashes: tuple[str, ...]) -> dict[str, Any]:
    """Stream one entry to dest_path with its checksums; stops when the entry is larger than it claims."""
    digests = [hashlib.new(name, usedforsecurity=False) for name in hashes]
    size, crc = 0, 0
    limit = min(info.file_size, budget)
    with archive.open(info) as source, open(dest_path, 'xb') as target:
        while chunk := source.read(ZIP_CHUNK_SIZE):
            size += len(chunk)
            if size > limit:
                raise ZipStreamError(f'the entry {info.filename!r} expands beyond its declared size')
            crc = zlib.crc32(chunk, crc)
            for digest in digests:
                digest.update(chunk)
            target.write(chunk)
    found = {name: digest.hexdigest() for name, digest in zip(hashes, digests, strict=True)}
    return {'size': size, 'crc32': crc, **{name: found.get(name) for name in ('sha256', 'md5', 'sha1')}}


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
    U32 = 0xFFFFFFFF
    SIG_LOCAL, SIG_CENTRAL, SIG_DESCRIPTOR = b'PK\x03\x04', b'PK\x01\x02', b'PK\x07\x08'
    SIG_END, SIG_END64, SIG_LOCATOR64 = b'PK\x05\x06', b'PK\x06\x06', b'PK\x06\x07'

    def __init__(self, staging_dir: str, new_path: Callable[[], tuple[str, str]], limits: 'ZipLimits',
                 keep_zip_path: str | None = None, hashes: tuple[str, ...] = ('sha256', 'md5', 'sha1'),
                 worker_threads: int = 2) -> None:
        self.staging_dir, self.new_path = os.path.realpath(staging_dir), new_path
        self.max_total_bytes, self.max_ratio, self.max_entries = limits
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
            remove_files(self._written)
            self._written = []
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
                remove_files(self._written + [self.keep_zip_path])
        return [{k: r[k] for k in ZIP_RESULT_FIELDS} for r in self._records if not r['is_dir']]

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
            key = check_entry_name(rec['name'])
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
        if rec['size'] >= RATIO_FLOOR and rec['size'] > self.max_ratio * max(consumed, 1):
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
            want = ZIP_CHUNK_SIZE if known is None else known - fed
            data = reader.read_some(want, f'the data of {rec["name"]!r}')
            fed += len(data)
            while True:
                piece = inflater.decompress(data, ZIP_CHUNK_SIZE)
                data = inflater.unconsumed_tail
                self._emit(output, rec, piece, fed - len(data))
                if inflater.eof or (not data and len(piece) < ZIP_CHUNK_SIZE):
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
### END GENERATED CODE ###

import hashlib
import json
import re
import secrets
import string
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlparse

import requests

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

MAX_FILES_PER_RETRIEVAL = 20
MAX_ENDPOINTS_PER_RETRIEVAL = 10
QUARANTINE_BATCH_SIZE = 100
QUARANTINE_TABLE_ROWS = 200  # the war room shows the first rows; the context has every row

DEFAULT_ROUND_BUDGET_SECONDS = 180  # below XSOAR's default 5-minute command timeout
DEFAULT_MAX_TOTAL_SIZE_MB = 2048
DEFAULT_MAX_COMPRESSION_RATIO = 100
DEFAULT_MAX_ENTRIES = 1000
ZIP_OVERHEAD_PER_ENTRY = 64 * 1024  # headers and names a zip holds beyond its content

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

# region parameters, auth, errors and the client


class InstanceParams(InstanceParamsBase):
    """The instance settings, read and checked once."""

    vendor = VENDOR
    url_example = 'https://api-yourfqdn'
    default_timeout = DEFAULT_TIMEOUT_SECONDS

    def __init__(self, params: dict[str, Any]):
        credentials = params.get('credentials') or {}
        self.api_key_id = str(credentials.get('identifier') or '').strip()
        self.api_key = str(credentials.get('password') or '').strip()
        super().__init__(params)
        if not self.api_key_id or not self.api_key:
            raise DemistoException('API key ID and API key are required (instance setting "API Key").')
        self.auth_type = str(params.get('auth_type') or AUTH_STANDARD)
        if self.auth_type not in (AUTH_STANDARD, AUTH_ADVANCED):
            raise DemistoException('API key type must be Standard or Advanced.')
        self.max_concurrency = number_arg(params, 'max_concurrency', DEFAULT_MAX_CONCURRENCY, 1, MAX_CONCURRENCY)

    def secrets(self) -> list[str]:
        """Values that must never be shown: the key (and the key ID when it is long enough to be one)."""
        return [self.api_key] + ([self.api_key_id] if len(self.api_key_id) >= MIN_SECRET_LENGTH + 2 else [])


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


def json_or_none(res: requests.Response) -> Any:
    try:
        return res.json()
    except ValueError:
        return None


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


class Client(PolicyClient):
    """One method per Cortex XDR endpoint; each returns the parsed `reply`. Owns every endpoint string.

    Calls that start something on the tenant (file retrieval, package creation) are ACTIONs: they are never
    sent twice (see PolicyClient).
    """

    def __init__(self, params: InstanceParams, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__(params, params.url + API_PATH, VENDOR, max_connections=params.max_concurrency, sleep=sleep,
                         clock=clock)
        self.params = params
        self.issued_secrets: list[str] = []  # Advanced digests sent in this run, for redaction

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
        # A reply may quote the request; the message can end up in a context row, so redact it here.
        return status_error_handler(lambda res: redact(build_error_message(res.status_code, endpoint, json_or_none(res)),
                                                       self.secrets()))

    def _post(self, endpoint: str, request_data: dict[str, Any], kind: str = READ) -> Any:
        """The `reply` of a JSON API call, or a clear error naming the endpoint."""
        body = self.call_json(endpoint, kind, 'POST', f'{self._base_url}/{endpoint}', self._auth_headers,
                              self._error_handler(endpoint), json_data={'request_data': request_data})
        if not isinstance(body, dict) or 'reply' not in body:
            raise DemistoException(f'Cortex XDR API call {endpoint} returned JSON without a "reply" field.')
        return body['reply']

    # -- endpoints

    def create_distribution(self, request_data: dict[str, Any]) -> Any:
        return self._post('distributions/create', request_data, kind=ACTION)

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
        return self._post('endpoints/file_retrieval', request_data, kind=ACTION)

    def get_action_status(self, action_id: Any) -> Any:
        return self._post('actions/get_action_status', {'group_action_id': action_id_value(action_id)})

    def get_file_retrieval_details(self, action_id: Any) -> Any:
        return self._post('actions/file_retrieval_details', {'group_action_id': action_id_value(action_id)})

    def get_quarantine_status(self, files: list[dict[str, str]]) -> Any:
        return self._post('quarantine/status', {'files': files})

    def open_retrieved_file(self, file_link: str) -> requests.Response:
        """The streamed zip of one endpoint, always from this instance's own origin (its credentials go nowhere
        else; a redirect to storage elsewhere is followed without them)."""
        match = DOWNLOAD_PATH_RE.search(urlparse(file_link).path if '://' in file_link else file_link.split('?', maxsplit=1)[0])
        if not match:
            raise DemistoException('the download link is not a /public_api/v1/download/ link, so it was not '
                                   'followed')
        return self.open_download('download', f'{self._base_url}/download/{match.group(1)}', self._auth_headers,
                                  self._error_handler('download'), method='POST')

    def download_distribution(self, url: str, dest_path: str, max_bytes: int) -> tuple[int, str | None]:
        """The installation package from its (pre-signed) URL; no XDR credentials are sent there."""
        what = 'distribution package download'
        res = self.open_download(what, url, {'Accept': '*/*'}, self._error_handler(what))
        name = content_disposition_name(res.headers.get('Content-Disposition'))
        size, _ = self.save_stream(what, res, dest_path, max_bytes)
        return size, name

# endregion

# region xdr-response-create-distribution


def build_distribution_request(args: dict[str, Any]) -> dict[str, Any]:
    """request_data for distributions/create, enforcing the API rules before any request is made."""
    name = required_arg(args, 'name', 'give the installation package a name.')
    package_type = single_arg(args, 'package_type').lower()
    platform = single_arg(args, 'platform').lower()
    agent_version = single_arg(args, 'agent_version')
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
    xdr-response-get-create-distribution-status. The request is sent once: after an unclear answer the
    analyst is told that a package may have been built, never a second one.
    """
    request_data = build_distribution_request(args)
    try:
        reply = require_dict(client.create_distribution(request_data), 'distributions/create', 'distribution_id')
    except ActionOutcomeUnknown as unknown:
        raise DemistoException(f'{unknown.message} The installation package "{request_data["name"]}" may have been '
                               'created. Check Endpoints > Agent Installations in Cortex XDR for it before you run '
                               'this command again, so that no second package is built.') from None
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


def distribution_status_round(client: Client, distribution_ids: list[str], polling: PollingArgs) -> Round:
    """One status call per package (bounded concurrency); poll again while any package is still being built."""
    def status_of(distribution_id: str) -> dict[str, Any]:
        reply = require_dict(client.get_distribution_status(distribution_id), 'distributions/get_status', 'status')
        return {'id': distribution_id, 'status': str(reply['status'])}

    next_args = polling.next_args(distribution_ids=','.join(distribution_ids))
    try:
        rows = run_bounded(status_of, distribution_ids, client.params.max_concurrency)
    except RateLimited as limited:
        if not polling.enabled:
            raise
        return rate_limited_round(polling, limited, next_args)
    pending = [row['id'] for row in rows if is_distribution_pending(row['status'])]
    result = CommandResults(outputs_prefix=CONTEXT_PREFIX + '.Distribution', outputs_key_field='id', outputs=rows,
                            raw_response=rows,
                            readable_output=tableToMarkdown('Installation package status', rows,
                                                            headers=['id', 'status'],
                                                            headerTransform=string_to_table_header))
    if not pending or not polling.enabled:
        return Round(response=result)
    if polling.timed_out():
        raise DemistoException('Timed out after {} waiting for installation package(s) {}; run '
                               'xdr-response-get-create-distribution-status later.'.format(
                                   format_elapsed(polling.elapsed()), ', '.join(pending)))
    result.readable_output = progress_line('Installation packages', 'package(s)', len(rows) - len(pending),
                                           len(pending), 0, polling.elapsed()) + ' Still being built: {}.'.format(
        ', '.join(pending))
    return Round(response=result, continue_to_poll=True, partial_result=result, args_for_next_run=next_args)


def get_distribution_status_command(client: Client, args: dict[str, Any]) -> Any:
    """Status of one or more installation packages; with polling=true, wait until every package is ready.

    Status calls run with bounded concurrency. Each round shows how many packages are ready and how long it
    has been waiting; a package still being built at timeout_in_seconds ends the polling with an error naming it.
    """
    distribution_ids = list_arg(args, 'distribution_ids')
    if not distribution_ids:
        raise DemistoException('distribution_ids is required.')
    polling = PollingArgs(args, default_enabled=False)
    return poll('xdr-response-get-create-distribution-status', polling,
                lambda: distribution_status_round(client, distribution_ids, polling))

# endregion

# region xdr-response-get-distribution-url


def get_distribution_url_command(client: Client, args: dict[str, Any]) -> list[Any]:
    """The download URL of a ready installation package; with download=true, the package file itself.

    `download_package` (the official integration's name) is accepted as an alias of `download`. The file is
    streamed to disk from the pre-signed URL without XDR credentials, within max_total_size_mb; an empty or
    short download is an error. The URL is shown as a link only when it is https.
    """
    distribution_id = required_arg(args, 'distribution_id')
    package_type = single_arg(args, 'package_type').lower()
    if package_type not in DIST_URL_PACKAGE_PLATFORMS:
        raise DemistoException('package_type must be one of {} (sh/rpm/deb for Linux, pkg for macOS, x86/x64 for '
                               'Windows, upgrade for upgrade packages), got "{}".'.format(
                                   ', '.join(DIST_URL_PACKAGE_PLATFORMS), package_type))
    download = bool_arg(args, 'download', False) or bool_arg(args, 'download_package', False)
    max_bytes = number_arg(args, 'max_total_size_mb', DEFAULT_MAX_TOTAL_SIZE_MB, 1, 1024 * 1024) * MEBIBYTE
    file_name = safe_file_name(single_arg(args, 'file_name'), default=distribution_id)
    reply = require_dict(client.get_distribution_url(distribution_id, package_type), 'distributions/get_dist_url',
                         'distribution_url')
    url = str(reply['distribution_url'])
    output = {'id': distribution_id, 'url': url, 'package_type': package_type}
    readable = (f'Installation package {distribution_id}: {package_type} package '
                f'({DIST_URL_PACKAGE_PLATFORMS[package_type]}). {markdown_link(url, "Download link", client.origin)} '
                '(pre-signed; it expires).')
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
    action_ids = list_arg(args, 'action_id')
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

# region retrieved files: one endpoint's zip (retrieve-file-details and file-retrieve)


def zip_limits(args: dict[str, Any]) -> ZipLimits:
    """The safety limits an endpoint's archive must stay within, from the command arguments."""
    return ZipLimits(max_total_bytes=number_arg(args, 'max_total_size_mb', DEFAULT_MAX_TOTAL_SIZE_MB, 1, 1024 * 1024)
                     * MEBIBYTE,
                     max_ratio=number_arg(args, 'max_compression_ratio', DEFAULT_MAX_COMPRESSION_RATIO),
                     max_entries=number_arg(args, 'max_entries', DEFAULT_MAX_ENTRIES))


@dataclass
class EndpointResult:
    """What one endpoint of one Retrieve File action produced: its context row and its war-room files."""
    row: dict[str, Any]
    entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.row.get('error'))


def endpoint_key(row: dict[str, Any]) -> str:
    return '{}:{}'.format(row['action_id'], row['endpoint_id'])


def download_endpoint_files(client: Client, row: dict[str, Any], limits: ZipLimits, return_zip: bool,
                            not_after: float | None = None) -> EndpointResult | None:
    """Download one endpoint's zip once and extract it while it streams, all or nothing; a failure fails this
    endpoint only. The raw zip is bounded too (its content plus headers). None when not_after (monotonic) has
    passed before the download could start: it is left for the next polling round."""
    if not_after is not None and time.monotonic() > not_after:
        return None
    zip_id, zip_path = new_war_room_file_path()
    raw_cap = limits.max_total_bytes + limits.max_entries * ZIP_OVERHEAD_PER_ENTRY + MEBIBYTE
    try:
        res = client.open_retrieved_file(str(row['file_link']))
        try:
            body = client.body_chunks('download', res, raw_cap, client.command_deadline)
            extracted = extract_zip(counted(body, res), limits, new_war_room_file_path,
                                    keep_zip_path=zip_path if return_zip else None,
                                    reopen=lambda: reopen_retrieved_file(client, str(row['file_link']), raw_cap))
        except ZipStreamError as error:
            raise DemistoException(f'the archive was refused, so nothing was extracted: {error}') from None
    except Exception as error:
        remove_quietly(zip_path)
        if isinstance(error, RateLimited):
            raise
        return EndpointResult(dict(row, error=f'Download of the retrieved files failed: {describe_failure(error)}'))
    files = [{'name': safe_file_name(e['name']), 'archive_path': e['name'], 'size': e['size'], 'sha256': e['sha256']}
             for e in extracted]
    entries = [file_entry(f['name'], e['file_id']) for f, e in zip(files, extracted, strict=True)]
    if return_zip:
        entries.append(file_entry('xdr_action_{}_{}.zip'.format(row['action_id'], row['endpoint_id']), zip_id))
    return EndpointResult(dict(row, files=files, file_names=[f['name'] for f in files],
                               sha256=[f['sha256'] for f in files]), entries)


def reopen_retrieved_file(client: Client, file_link: str, max_bytes: int) -> Iterator[bytes]:
    """The zip once more, for the rare archive only the two-pass extraction can read (its start was not kept)."""
    res = client.open_retrieved_file(file_link)
    return counted(client.body_chunks('download', res, max_bytes, client.command_deadline), res)


def counted(body: Iterator[bytes], res: requests.Response) -> Iterator[bytes]:
    """The body, then the check that it was as long as its Content-Length said (a short body is refused before
    the extractor accepts the archive)."""
    size = 0
    for chunk in body:
        size += len(chunk)
        yield chunk
    check_complete_body('download', res, size)


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


def outcome_without_download(row: dict[str, Any]) -> EndpointResult | None:
    """An endpoint's outcome when there is nothing to download: still running (a note) or failed with the API's
    reason; None when its files are to be downloaded."""
    if is_action_pending(row['status']):
        return EndpointResult(dict(row, note='Still running on the endpoint; run '
                                             '!xdr-response-retrieve-file-details action_id={} later.'.format(
                                                 row['action_id'])))
    if not row['file_link']:
        reason = row.get('error_description') or 'No file was retrieved (status {}).'.format(row['status'])
        return EndpointResult(dict(row, error=reason))
    return None


def settle_endpoints(client: Client, rows: list[dict[str, Any]], limits: ZipLimits, return_zip: bool,
                     not_after: float | None = None) -> list[EndpointResult]:
    """Every endpoint's outcome in input order: the ones with files downloaded in the bounded pool (those not
    started by not_after are left out, for the next round)."""
    settled = [outcome_without_download(row) for row in rows]
    downloads = iter(run_bounded(lambda row: download_endpoint_files(client, row, limits, return_zip, not_after),
                                 [row for row, done in zip(rows, settled, strict=True) if done is None],
                                 client.params.max_concurrency))
    results = [done if done is not None else next(downloads) for done in settled]
    return [result for result in results if result is not None]


def retrieval_results(results: list[EndpointResult], whole_action: bool = True) -> list[Any]:
    """Context rows and a readable table and the file entries; when the results are the whole action, the
    partial-failure rule adds an error entry if every endpoint failed (a polling round applies it at the end)."""
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
    failures = ['- {} (action {}): {}'.format(row['endpoint_id'], row['action_id'], row['error'])
                for row in rows if row.get('error')]
    if failures:
        readable += '\n\nFiles could not be retrieved from {} endpoint(s):\n{}'.format(len(failures), '\n'.join(failures))
    output: list[Any] = [CommandResults(outputs_prefix=CONTEXT_PREFIX + '.RetrievedFiles',
                                        outputs_key_field=['action_id', 'endpoint_id'], outputs=rows,
                                        raw_response=rows, readable_output=readable)]
    output.extend(entry for result in results for entry in result.entries)
    return partial_failure_results(output, failures, whole_action and len(failures) == len(rows), 'Retrieve File')

# endregion

# region xdr-response-retrieve-file-details


def retrieve_file_details_command(client: Client, args: dict[str, Any]) -> list[Any]:
    """Download the files a Retrieve File action collected: one streamed zip per endpoint, unzipped safely.

    Every file becomes a war-room file entry (XSOAR fills File.*) and a row under
    PaloAltoNetworksXDR.RetrievedFiles with its hashes. Endpoints still running are reported as pending, failed
    endpoints by name with the API's reason (ErrorReasons, error_description); an error entry only when every
    endpoint failed. The details and status of every action are asked at once, then the zips are downloaded.
    """
    action_ids = list_arg(args, 'action_id')
    if not action_ids:
        raise DemistoException('action_id is required.')
    limits = zip_limits(args)
    return_zip = bool_arg(args, 'return_zip', False)
    details = run_bounded(client.get_file_retrieval_details, action_ids, client.params.max_concurrency)
    statuses = run_bounded(lambda action_id: optional_status_rows(client, action_id), action_ids,
                           client.params.max_concurrency)
    rows = [row for action_id, reply, (status_rows, problem) in zip(action_ids, details, statuses, strict=True)
            for row in endpoint_rows(action_id, reply, status_rows, problem)]
    return retrieval_results(settle_endpoints(client, rows, limits, return_zip))

# endregion

# region xdr-response-file-retrieve


def build_retrieval_files(args: dict[str, Any]) -> dict[str, list[str]]:
    """Per-OS path lists from windows/linux/mac paths and generic paths (whose OS is read off the path)."""
    files = {'windows': list_arg(args, 'windows_file_paths'),
             'linux': list_arg(args, 'linux_file_paths'),
             'macos': list_arg(args, 'mac_file_paths')}
    for path in list_arg(args, 'generic_file_path'):
        os_names = path_os_names(path)
        if not os_names:
            raise DemistoException(f'generic_file_path "{path}" is neither a Windows path (C:\\...) nor an absolute '
                                   'Unix path (/...).')
        for os_name in os_names:
            files[os_name].append(path)
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


@dataclass
class RetrievalState:
    """What every polling round of one retrieval needs, carried between rounds as one JSON argument."""
    action_ids: list[str]
    handled: dict[str, str] = field(default_factory=dict)  # "action:endpoint" -> "downloaded" or the failure
    limits: dict[str, int] = field(default_factory=dict)  # the max_* arguments as given
    return_zip: bool = False
    round_budget: int = DEFAULT_ROUND_BUDGET_SECONDS

    ARG = 'retrieval_state'

    @classmethod
    def from_args(cls, args: dict[str, Any]) -> 'RetrievalState | None':
        text = single_arg(args, cls.ARG)
        if not text:
            return None
        try:
            data = json.loads(text)
            return cls(action_ids=[str(a) for a in data['action_ids']], handled=dict(data['handled']),
                       limits=dict(data['limits']), return_zip=bool(data['return_zip']),
                       round_budget=int(data['round_budget']))
        except (ValueError, KeyError, TypeError):
            raise DemistoException(f'{cls.ARG} is set by the polling rounds and cannot be read; start the '
                                   'retrieval again or run !xdr-response-retrieve-file-details.') from None

    def to_args(self, polling: PollingArgs) -> dict[str, Any]:
        return polling.next_args(**{self.ARG: json.dumps(asdict(self), separators=(',', ':'))})


def start_retrieval(client: Client, args: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Start Retrieve File in batches within the API limits, each sent once: (PENDING rows of the started
    endpoints, rows of the endpoints whose start is unknown after an unclear answer)."""
    endpoint_ids = list_arg(args, 'endpoint_ids')
    if not endpoint_ids:
        raise DemistoException('endpoint_ids is required.')
    files = build_retrieval_files(args)
    incident_id = number_arg(args, 'incident_id', 0) if single_arg(args, 'incident_id') else None

    def start(batch: tuple[list[str], dict[str, list[str]]]) -> list[dict[str, Any]]:
        endpoints, batch_files = batch
        try:
            reply = require_dict(client.retrieve_file(endpoints, batch_files, incident_id), 'endpoints/file_retrieval',
                                 'action_id')
        except ActionOutcomeUnknown as unknown:
            note = (f'{unknown.message} The retrieval may have started on this endpoint. Check the Action Center '
                    'in Cortex XDR (Retrieve File actions of the last minutes) before you retrieve again, so that '
                    'the files are not collected twice.')
            return [{'action_id': None, 'endpoint_id': e, 'status': ACTION_UNKNOWN_STATUS, 'error': note}
                    for e in endpoints]
        return [{'action_id': action_id_value(reply['action_id']), 'endpoint_id': e, 'status': 'PENDING'}
                for e in endpoints]

    rows = [row for rows in run_bounded(start, split_retrieval(endpoint_ids, files), client.params.max_concurrency)
            for row in rows]
    return [row for row in rows if row['action_id'] is not None], [row for row in rows if row['action_id'] is None]


def first_round(client: Client, args: dict[str, Any], polling: PollingArgs) -> Round:
    """Start the action(s); with polling, the next rounds follow them through the round state."""
    options = RetrievalState(action_ids=[], return_zip=bool_arg(args, 'return_zip', False),
                             limits={name: number_arg(args, name, default) for name, default in (
                                 ('max_total_size_mb', DEFAULT_MAX_TOTAL_SIZE_MB),
                                 ('max_compression_ratio', DEFAULT_MAX_COMPRESSION_RATIO),
                                 ('max_entries', DEFAULT_MAX_ENTRIES))},
                             round_budget=number_arg(args, 'round_budget_seconds', DEFAULT_ROUND_BUDGET_SECONDS, 1,
                                                     3600))
    zip_limits(options.limits)  # every argument is checked before anything starts
    started, unknown = start_retrieval(client, args)
    if not started:
        raise DemistoException(unknown[0]['error'])
    options.action_ids = list(dict.fromkeys(str(row['action_id']) for row in started))
    rows = started + unknown
    readable = tableToMarkdown(f'Retrieve File started ({len(options.action_ids)} action(s))', rows,
                               headers=['action_id', 'endpoint_id', 'status', 'error'],
                               headerTransform=string_to_table_header, removeNull=True)
    if unknown:
        readable += '\n\n' + unknown[0]['error']
    result = CommandResults(outputs_prefix=CONTEXT_PREFIX + '.RetrievedFiles',
                            outputs_key_field=['action_id', 'endpoint_id'], outputs=rows,
                            readable_output=readable, raw_response=rows)
    return Round(response=result, continue_to_poll=polling.enabled, partial_result=result,
                 args_for_next_run=options.to_args(polling))


def retrieval_round(client: Client, state: RetrievalState, polling: PollingArgs) -> Round:
    """One polling round: one status call per action; every endpoint that the status reports final, and that
    no round handled yet, is settled once (its zip downloaded within the round budget); the rest waits.

    The round's files and rows are this round's output; the final round adds the whole action's summary.
    """
    try:
        statuses = action_statuses(client, state.action_ids)
        final = [row for row in statuses if not is_action_pending(row['status'])
                 and endpoint_key(row) not in state.handled]
        ready = list(dict.fromkeys(str(row['action_id']) for row in final))
        details = dict(zip(ready, run_bounded(client.get_file_retrieval_details, ready, client.params.max_concurrency),
                           strict=True))
    except RateLimited as limited:
        return rate_limited_round(polling, limited, state.to_args(polling))
    final_keys = {endpoint_key(row) for row in final}
    rows = [row for action_id in ready
            for row in endpoint_rows(action_id, details[action_id],
                                     [s for s in statuses if str(s['action_id']) == action_id], None)
            if endpoint_key(row) in final_keys]
    results = settle_endpoints(client, rows, zip_limits(state.limits), state.return_zip,
                               not_after=time.monotonic() + state.round_budget)
    state.handled.update({endpoint_key(r.row): r.row.get('error') or 'downloaded' for r in results})
    return retrieval_outcome(statuses, results, state, polling)


def retrieval_outcome(statuses: list[dict[str, Any]], results: list[EndpointResult], state: RetrievalState,
                      polling: PollingArgs) -> Round:
    """The round's output: its files and rows, then either the next round or the final summary."""
    pending = [row for row in statuses if endpoint_key(row) not in state.handled]
    failed = [key for key, outcome in state.handled.items() if outcome != 'downloaded']
    progress = progress_line('Retrieve File', 'endpoint(s)', len(state.handled) - len(failed), len(pending),
                             len(failed), polling.elapsed())
    output: list[Any] = retrieval_results(results, whole_action=False) if results else []
    if pending and not polling.timed_out():
        progress_entry = CommandResults(readable_output=progress)
        return Round(response=progress_entry, continue_to_poll=True, partial_result=progress_entry,
                     args_for_next_run=state.to_args(polling), entries=output)
    timed_out = {endpoint_key(row): 'Timed out after {} waiting for the endpoint; run '
                 '!xdr-response-retrieve-file-details action_id={} later.'.format(
                     format_elapsed(polling.elapsed()), row['action_id']) for row in pending}
    outcomes = dict(state.handled, **timed_out)
    table = [{'Endpoint': row['endpoint_id'], 'Action': row['action_id'], 'Status': row['status'],
              'Outcome': 'files downloaded' if outcomes[endpoint_key(row)] == 'downloaded'
              else 'failed: ' + outcomes[endpoint_key(row)]} for row in statuses]
    summary = [CommandResults(readable_output=tableToMarkdown(progress, table,
                                                              headers=['Endpoint', 'Action', 'Status', 'Outcome']))]
    if timed_out:
        summary.append(CommandResults(
            outputs_prefix=CONTEXT_PREFIX + '.RetrievedFiles', outputs_key_field=['action_id', 'endpoint_id'],
            outputs=[dict(row, error=timed_out[endpoint_key(row)]) for row in pending],
            readable_output='Timed out after {} waiting for Retrieve File on endpoint(s) {}; run '
                            '!xdr-response-retrieve-file-details action_id={} later.'.format(
                                format_elapsed(polling.elapsed()), ', '.join(row['endpoint_id'] for row in pending),
                                ','.join(state.action_ids))))
    failures = [f'- {key}: {outcome}' for key, outcome in outcomes.items() if outcome != 'downloaded']
    return Round(response=partial_failure_results(output + summary, failures, len(failures) >= len(statuses),
                                                  'Retrieve File'))


def file_retrieve_command(client: Client, args: dict[str, Any]) -> Any:
    """Retrieve files from endpoints; with polling (the default) wait for every endpoint and download each once.

    The first run starts Retrieve File (split to the API limits of 10 endpoints and 20 files per call, each call
    sent once). Each polling round then downloads the endpoints that its status call reports final, so the
    first files reach the war room as soon as they exist; failed endpoints are named with the API's reason, and
    an error entry is added only when every endpoint failed.
    """
    polling = PollingArgs(args, default_enabled=True)
    state = RetrievalState.from_args(args)
    if state is None:
        return poll('xdr-response-file-retrieve', polling, lambda: first_round(client, args, polling))
    return poll('xdr-response-file-retrieve', polling, lambda: retrieval_round(client, state, polling))

# endregion

# region xdr-response-get-quarantine-status


def build_quarantine_files(args: dict[str, Any]) -> list[dict[str, str]]:
    """Quarantine query rows from parallel endpoint_id/file_path/file_hash lists or a JSON `files` list.

    Values are kept as given (the official command's context keeps the hash's case, so rows merge)."""
    rows = quarantine_rows_from_json(args.get('files')) if args.get('files') else []
    names = ('endpoint_id', 'file_path', 'file_hash')
    lists = [list_arg(args, name, keep_duplicates=True) for name in names]
    count = max(len(values) for values in lists)
    if count:
        for name, values in zip(names, lists, strict=True):
            if not values:
                raise DemistoException(f'{name} is required: give one value for all files or one per file.')
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
    return rows


def quarantine_row_problem(index: int, row: dict[str, str]) -> str:
    """What is wrong with one invalid query row."""
    missing = [name for name in ('endpoint_id', 'file_path', 'file_hash') if not row[name]]
    if missing:
        return f'file #{index + 1} is missing {", ".join(missing)}'
    return f'file #{index + 1} hash "{row["file_hash"][:80]}" is not a SHA256 (64 hex characters)'


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
    """Context rows (official camelCase keys, values as given) of one batch, matched to the reply by endpoint,
    hash (in any case) and path."""
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
            item = by_key.get((query['endpoint_id'], query['file_hash'].lower(), query['file_path']), item)
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
    the context keeps the official integration's camelCase keys and the values as given.
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
    failure: Exception | None = None
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
        failure = error
    if failure is not None:
        report_failure(command, failure, secrets_to_hide + (client.secrets() if client else []))


if __name__ in ('__main__', '__builtin__', 'builtins'):
    main()

# endregion
