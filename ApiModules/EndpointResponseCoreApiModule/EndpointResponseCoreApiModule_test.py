"""Unit tests of EndpointResponseCoreApiModule: arguments, retries, the trust-boundary policy's pieces, files,
polling and the partial-failure rule. The policy at the HTTP level (redirects, crafted URLs, at-most-once, trickling
and lying servers, token ownership) is tested against a hostile server in tests/hostile."""
import threading
import time
import zlib

import pytest
import requests

import EndpointResponseCoreApiModule as core
from CommonServerPython import DemistoException, EntryType, PollResult

PYTHON_TYPE_NAMES = ('Traceback', 'TypeError', 'KeyError', 'NoneType', 'AttributeError', 'ValueError', 'zlib.error',
                     'Exception', 'requests.exceptions')


# ---------------------------------------------------------------- failures, retries and the bounded pool

@pytest.mark.parametrize('value, expected', [
    ('7', 7.0), ('0', 0.0), (' 2.5 ', 2.5), (None, None), ('', None), ('soon', None), ('-3', 0.0),
    ('Wed, 21 Oct 2015 07:28:30 GMT', 30.0),
])
def test_parse_retry_after(value, expected):
    """
    Given a Retry-After header as delta-seconds, an HTTP date (30 s after "now") or garbage
    When it is parsed
    Then the wait is in seconds, never negative, and None when unreadable
    """
    now = 1445412480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert core.parse_retry_after(value, now=now) == expected


def test_retry_gate_one_retry_after_slows_every_worker():
    """
    Given a gate that received a Retry-After of 5 s from one request
    When another worker asks for its turn
    Then it sleeps until that moment too, and the total waiting is bounded by the budget
    """
    waits: list[float] = []
    gate = core.RetryGate('Cortex XDR', sleep=waits.append, clock=lambda: 100.0, budget_seconds=15)
    gate.backoff(0, 5.0)
    gate.wait_turn()
    assert waits == [5.0, 5.0]  # the clock did not move, so the second worker waits the whole time
    gate.backoff(1, 9.0)
    with pytest.raises(core.RateLimited, match='try again in 2 s') as info:
        gate.backoff(2, 2.0)
    assert info.value.retry_after == 2.0


def test_run_bounded_keeps_order_and_bounds_concurrency():
    """
    Given 20 items that take different times
    When run with at most 3 workers
    Then the results come in input order and never more than 3 run at once
    """
    running, peak, lock = [0], [0], threading.Lock()

    def work(item):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.001 * (item % 4))
        with lock:
            running[0] -= 1
        return item * 2

    assert core.run_bounded(work, list(range(20)), 3) == [i * 2 for i in range(20)]
    assert 1 < peak[0] <= 3


def test_run_bounded_reraises_the_first_failure_in_input_order():
    """
    Given items whose 3rd and 5th fail
    When run in a pool
    Then the 3rd item's error is raised
    """
    def work(item):
        if item in (2, 4):
            raise DemistoException(f'item {item} failed')
        return item

    with pytest.raises(DemistoException, match='item 2 failed'):
        core.run_bounded(work, list(range(6)), 4)


@pytest.mark.parametrize('name, expected', [
    ('C:\\Users\\bob\\evil.exe', 'evil.exe'), ('a/b/c.txt', 'c.txt'), ('bad<>:name?.txt', 'bad___name_.txt'),
    (['one.txt'], 'one.txt'), (['a', 'b'], 'file'), (42, '42'), (None, 'file'), ('', 'file'), ('..', 'file'),
])
def test_safe_file_name_any_input(name, expected):
    """
    Given a file name as text, list, number or nothing (a playbook can pass any)
    When made safe
    Then a plain file name comes back, never an exception
    """
    assert core.safe_file_name(name) == expected


def test_redact_secrets_jwts_and_bearer_tokens():
    """
    Given a message holding a secret, a JWT and a bearer token
    When redacted
    Then none of them is left
    """
    jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXZhbHVl'
    text = core.redact(f'key=abcdefgh! token {jwt} Authorization: Bearer abc.def-123456', ['abcdefgh'])
    assert text == 'key=<redacted>! token <redacted> Authorization: Bearer <redacted>'


@pytest.mark.parametrize('error', [
    KeyError('x'), TypeError('unsupported operand'), AttributeError('NoneType'), ValueError('bad'),
    zlib.error('invalid stored block'), OSError('disk full'), RuntimeError('boom'),
    requests.exceptions.ReadTimeout('slow'), requests.exceptions.ConnectionError('reset'),
])
def test_describe_failure_never_names_a_python_type(error):
    """
    Given an unexpected exception of any kind
    When described for the war room
    Then the text says what kind of failure it was in words, with no Python type name
    """
    text = core.describe_failure(error)
    assert text
    assert not any(name in text for name in PYTHON_TYPE_NAMES)


# ---------------------------------------------------------------- arguments

@pytest.mark.parametrize('value, expected', [
    pytest.param('30', 30, id='text'), pytest.param(30, 30, id='number'), pytest.param('30.0', 30, id='whole-float'),
    pytest.param(['7'], 7, id='one-item-list'), pytest.param('', 5, id='empty-default'),
    pytest.param(None, 5, id='none-default'),
])
def test_number_arg_accepts_whole_numbers(value, expected):
    """Given a whole number in any form a playbook passes, When parsed, Then its value (or the default)."""
    assert core.number_arg({'n': value}, 'n', 5, 1, 100) == expected


@pytest.mark.parametrize('value, problem', [
    pytest.param('1e3', 'n must be a whole number between 1 and 100, got "1e3"', id='exponent'),
    pytest.param('-3', 'n must be a whole number between 1 and 100, got "-3"', id='negative'),
    pytest.param('2.5', 'whole number', id='fraction'),
    pytest.param('99999999999999999999999', 'n must be between 1 and 100, got 99999999999999999999999', id='huge'),
    pytest.param('0', 'n must be between 1 and 100, got 0', id='below'),
])
def test_number_arg_errors_quote_the_value_as_typed(value, problem):
    """Given a value that is not a whole number in range, When parsed, Then the error quotes it as typed (no float
    rounding such as 1e+23)."""
    with pytest.raises(DemistoException, match=problem):
        core.number_arg({'n': value}, 'n', 5, 1, 100)


def test_number_arg_without_maximum():
    """Given no maximum, When a value below the minimum is parsed, Then the error says "N or more"."""
    with pytest.raises(DemistoException, match='version must be 1 or more, got 0'):
        core.number_arg({'version': '0'}, 'version', 1)


@pytest.mark.parametrize('value, expected', [
    pytest.param('a, b,a,,c', ['a', 'b', 'c'], id='dedup-and-blanks'), pytest.param(7, ['7'], id='number'),
    pytest.param(['x', ' y '], ['x', 'y'], id='list'), pytest.param(None, [], id='none'),
])
def test_list_arg(value, expected):
    """Given a list argument in any form, When parsed, Then plain values in order, without blanks or repeats."""
    assert core.list_arg({'l': value}, 'l') == expected


def test_list_arg_refuses_nested_objects_and_keeps_positions_when_asked():
    """Given a nested object, or parallel lists with repeats, When parsed, Then a clear error, or every position."""
    with pytest.raises(DemistoException, match='l takes plain values, got a nested object'):
        core.list_arg({'l': [{'a': 1}]}, 'l')
    assert core.list_arg({'l': 'a,a,'}, 'l', keep_duplicates=True) == ['a', 'a', '']


@pytest.mark.parametrize('value, expected', [
    pytest.param('yes', True, id='yes'), pytest.param('1', True, id='one'), pytest.param('Off', False, id='off'),
    pytest.param(True, True, id='bool'), pytest.param('', False, id='default'),
])
def test_bool_arg(value, expected):
    """Given a true/false word of the newest runtime, When parsed, Then its value (default when empty)."""
    assert core.bool_arg({'b': value}, 'b', False) is expected


def test_bool_arg_refuses_other_words_and_required_arg_says_required():
    """Given a word that is not true/false, or an empty required argument, When parsed, Then the error says so."""
    with pytest.raises(DemistoException, match='b must be true or false, got "maybe"'):
        core.bool_arg({'b': 'maybe'}, 'b')
    with pytest.raises(DemistoException, match='^endpoint_id is required.$'):
        core.required_arg({}, 'endpoint_id')

# ---------------------------------------------------------------- origins and links


@pytest.mark.parametrize('url, origin', [
    pytest.param('https://API.example.com/x', ('https', 'api.example.com', 443), id='default-https-port'),
    pytest.param('http://h:8080', ('http', 'h', 8080), id='explicit-port'),
    pytest.param('https://h.example.com./y', ('https', 'h.example.com', 443), id='trailing-dot'),
])
def test_origin_of(url, origin):
    """Given a plain URL, When its origin is read as urllib3 sends it, Then scheme, host and port."""
    assert core.origin_of(url) == origin


@pytest.mark.parametrize('url, problem', [
    pytest.param('https://other.example\\@api.example/x', 'backslash', id='backslash'),
    pytest.param('https://user:pw@api.example/x', 'user name or password', id='userinfo'),
    pytest.param('https://api.example@other.example/x', 'user name or password', id='userinfo-host'),
    pytest.param('javascript:alert(1)', 'only https', id='javascript'),
    pytest.param('ftp://h/x', 'only https', id='ftp'),
    pytest.param('https://h x/', 'space', id='space'),
    pytest.param('https:///path', 'no host', id='no-host'),
    pytest.param('https://h:99999/', 'cannot be parsed|port', id='bad-port'),
])
def test_origin_of_refuses_urls_parsers_disagree_on(url, problem):
    """Given a URL that a parser could read as another host, or not a web URL, When checked, Then it is refused with
    a clear message naming why."""
    with pytest.raises(DemistoException, match=problem):
        core.origin_of(url, 'download URL')


@pytest.mark.parametrize('url, linked', [
    pytest.param('https://storage.example/p?sig=1', True, id='https'),
    pytest.param('javascript:alert(1)', False, id='javascript'),
    pytest.param('JavaScript:alert(1)', False, id='javascript-case'),
    pytest.param('http://other.example/p', False, id='http-elsewhere'),
    pytest.param('http://api.example/p', True, id='http-instance-origin'),
    pytest.param('https://x.example/a)(b', False, id='markdown-breaking'),
])
def test_markdown_link_only_for_safe_urls(url, linked):
    """Given URLs from a reply, When shown, Then only https ones (or the instance's own) are Markdown links."""
    text = core.markdown_link(url, 'Download', core.Origin('http', 'api.example', 80))
    assert text.startswith('[Download](') is linked
    assert ('](' in text) is linked

# ---------------------------------------------------------------- what may be sent again


def status(code, retry_after=None):
    return core.HTTPStatusError('x', status=code, retry_after=retry_after)


@pytest.mark.parametrize('kind, error, retry, ambiguous', [
    pytest.param(core.READ, status(502), True, False, id='read-502'),
    pytest.param(core.READ, status(504), True, False, id='read-504'),
    pytest.param(core.READ, core.TransportFailure('x', sent=True), True, False, id='read-reset'),
    pytest.param(core.READ, status(500), False, False, id='read-500'),
    pytest.param(core.ACTION, status(429), True, False, id='action-429'),
    pytest.param(core.ACTION, status(503, 2.0), True, False, id='action-503-retry-after'),
    pytest.param(core.ACTION, status(503), False, True, id='action-503'),
    pytest.param(core.ACTION, status(502), False, True, id='action-502'),
    pytest.param(core.ACTION, status(504), False, True, id='action-504'),
    pytest.param(core.ACTION, core.TransportFailure('x', sent=False), True, False, id='action-not-sent'),
    pytest.param(core.ACTION, core.TransportFailure('x', sent=True), False, True, id='action-reset-after-sending'),
    pytest.param(core.ACTION, core.DeadlineExceeded('x'), False, True, id='action-timeout'),
    pytest.param(core.READ, core.DeadlineExceeded('x'), False, False, id='read-deadline'),
    pytest.param(core.ACTION, status(400), False, False, id='action-400'),
])
def test_read_and_action_retry_rules(kind, error, retry, ambiguous):
    """Given a failed attempt of a read or an action, When classed, Then reads are retried on 429/5xx gateway
    answers and transport failures; actions only when the server certainly did not act, and are otherwise ambiguous
    when they may have been carried out."""
    assert core.should_retry(kind, error) is retry
    assert core.is_ambiguous(kind, error) is ambiguous


def test_an_action_is_never_resent_after_an_ambiguous_answer():
    """Given an action whose attempts answer 504, When guarded, Then it was sent once and the outcome is unknown."""
    sent = []

    def attempt():
        sent.append(1)
        raise status(504)

    client = object.__new__(core.PolicyClient)
    client.gate, client.vendor = core.RetryGate('X', sleep=lambda _: None), 'X'
    with pytest.raises(core.ActionOutcomeUnknown, match='may have been carried out. It was not sent again.'):
        client.guarded('things/create', core.ACTION, attempt)
    assert sent == [1]


@pytest.mark.parametrize('text, sent', [
    pytest.param('NewConnectionError: refused', False, id='not-connected'),
    pytest.param('Connection refused', False, id='refused'),
    pytest.param('Connection aborted, RemoteDisconnected', True, id='after-sending'),
])
def test_transport_failure_says_whether_the_request_may_have_arrived(text, sent):
    """Given a connection failure, When described, Then plain words and whether the request may have arrived."""
    failure = core.transport_failure('X', 'a/b', requests.exceptions.ConnectionError(text))
    assert failure.sent is sent and 'X API call a/b failed: connection problem' in failure.message


def test_daemon_workers_reuse_threads_and_stop_waiting_at_the_deadline():
    """Given calls run on the daemon workers, When one is stuck past its deadline, Then the caller gets
    DeadlineExceeded at the deadline while short calls reuse the idle threads."""
    workers = core.DaemonWorkers()
    assert [workers.run(lambda i=i: i * 2, time.monotonic() + 5, 'x') for i in range(20)] == [i * 2 for i in range(20)]
    release = threading.Event()
    started = time.monotonic()
    with pytest.raises(core.DeadlineExceeded, match='no reply in time'):
        workers.run(release.wait, time.monotonic() + 0.2, 'X API call a/b')
    assert time.monotonic() - started < 2
    release.set()
    empty: dict[str, int] = {}
    with pytest.raises(KeyError):
        workers.run(lambda: empty['missing'], time.monotonic() + 5, 'x')

# ---------------------------------------------------------------- parameters, polling and partial failure


class Params(core.InstanceParamsBase):
    def __init__(self, params, secret):
        self.secret = secret
        super().__init__(params)

    def secrets(self):
        return [self.secret]


def test_fingerprint_changes_with_every_credential_and_never_holds_the_secret():
    """Given instance settings, When fingerprinted, Then a new URL, identity or secret gives another key, and the
    key is not the secret nor holds it."""
    base = Params({'url': 'https://api.example'}, 'top-secret-value')
    keys = {base.fingerprint('app', 'tenant'), Params({'url': 'https://api.example'}, 'other-secret').fingerprint(
        'app', 'tenant'), Params({'url': 'https://api2.example'}, 'top-secret-value').fingerprint('app', 'tenant'),
        base.fingerprint('app2', 'tenant'), base.fingerprint('app', 'tenant2')}
    assert len(keys) == 5 and not any('top-secret' in key for key in keys)


def test_polling_interval_below_the_minimum_is_raised_and_timeout_must_cover_it():
    """Given an interval below the server's 10 s, or a timeout shorter than the interval, When parsed, Then the
    interval is raised to 10 s, and the timeout is refused."""
    assert core.PollingArgs({'interval_in_seconds': '3'}, False).interval == 10
    with pytest.raises(DemistoException, match='timeout_in_seconds must be between 60'):
        core.PollingArgs({'interval_in_seconds': '60', 'timeout_in_seconds': '30'}, True)


def test_poll_retry_after_hook_delays_the_next_round():
    """Given a round that met a 90 s Retry-After, When polled, Then the framework schedules the next round after
    90 s, with the round's state, and the round's entries come before the polling entry."""
    polling = core.PollingArgs({'interval_in_seconds': '10'}, True)
    limited = core.RateLimited('busy', retry_after=90.0)
    result = core.poll('cmd', polling, lambda: core.rate_limited_round(polling, limited, {'state': 'kept'}))
    assert result.scheduled_command._next_run == '90' and result.scheduled_command._args['state'] == 'kept'
    entries = core.poll('cmd', polling, lambda: core.Round('r', True, {'s': 1}, partial_result=None,
                                                           entries=['file']))
    assert entries[0] == 'file' and entries[1].scheduled_command is not None
    assert core.poll('cmd', core.PollingArgs({}, False), lambda: PollResult('final')) == 'final'


@pytest.mark.parametrize('failures, every, errors', [
    pytest.param([], False, 0, id='none-failed'),
    pytest.param(['- a: gone'], False, 0, id='some-failed'),
    pytest.param(['- a: gone', '- b: gone'], True, 1, id='all-failed'),
])
def test_partial_failure_rule(failures, every, errors):
    """Given a command's results and its failed targets, When the rule is applied, Then an error entry is added
    only when every target failed, and it names them."""
    output = core.partial_failure_results(['results'], failures, every, 'Thing')
    found = [entry for entry in output[1:] if entry.entry_type == EntryType.ERROR]
    assert output[0] == 'results' and len(found) == errors
    if errors:
        assert 'Thing failed for every target (2)' in found[0].readable_output and '- b: gone' in found[0].readable_output


def test_unexpected_failures_log_their_class_and_a_redacted_stack_at_debug(monkeypatch):
    """Given an unexpected exception whose text holds a secret, When reported, Then the debug log has its class and
    where it happened, redacted, and the error entry has neither."""
    logged: list[str] = []
    errors: list[str] = []
    monkeypatch.setattr(core.demisto, 'debug', logged.append)
    monkeypatch.setattr(core, 'return_error', errors.append)

    def fail():
        raise KeyError('token super-secret-value')
    try:
        fail()
    except KeyError as error:
        caught = error
    core.report_failure('cmd', caught, ['super-secret-value'])
    assert 'unexpected KeyError' in logged[0] and 'in fail' in logged[0] and 'super-secret' not in logged[0]
    assert 'KeyError' not in errors[0] and 'super-secret' not in errors[0]
