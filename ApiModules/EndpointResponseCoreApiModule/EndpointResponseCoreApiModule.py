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
