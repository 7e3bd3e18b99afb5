"""The runtime contract the pack relies on, pinned to the newest public CommonServerPython/demistomock.

Three layers:
- pinned behaviour (expected values read from the public runtime) checked against the runtime on the path:
  our stand-ins by default, the real files when ``XSOAR_RUNTIME_DIR`` names a folder holding them;
- a differential run, only with ``XSOAR_RUNTIME_DIR``: every case below is executed on the stand-in AND on the
  real module side by side and the observable outcomes (value, or exception class name and text, entries
  and log lines) must be equal, so any drift of the stand-in fails here even where no value is pinned;
- where public runtimes differ (an older copy, such as a private repository's template, against the newest
  public one) and the pack does not depend on the difference, the case pins both (``Differs``): the stand-in
  must behave as the newest, a real runtime as either;
- a coverage check: every CommonServerPython / demistomock name the pack's code uses must be listed in
  ``COVERED`` (each listed name has cases here), so a newly used runtime name needs a contract case first.
"""
import ast
import importlib.util
import json
import os
import sys
from typing import Any, NamedTuple

import pytest
import requests

import CommonServerPython as csp
import demistomock as demisto
from devtools.paths import OWN_RUNTIME, ROOT, code_dirs, using_real_runtime

URL = 'https://api.example.com'


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(demisto, 'is_debug', False, raising=False)


def load_stand_in():
    """Our CommonServerPython loaded under its own name, beside the real one (same demistomock)."""
    spec = importlib.util.spec_from_file_location('standin_CommonServerPython',
                                                  os.path.join(OWN_RUNTIME, 'CommonServerPython.py'))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def outcome(call):
    """The observable result of ``call()``: ('ok', value) or ('raised', exception class name, text)."""
    try:
        return ('ok', call())
    except SystemExit:
        return ('exit',)
    except Exception as error:  # noqa: BLE001 - the exception is the observed behaviour
        return ('raised', type(error).__name__, str(error))


class Differs(NamedTuple):
    """An outcome on which public runtimes differ while the pack does not depend on it: the older runtimes'
    outcome and the newest public runtime's. The stand-in must show ``newest``; a real runtime either."""
    older: Any
    newest: Any


def check_pinned(got, expected, on_stand_in: bool):
    """Assert that an outcome matches its pin: the stand-in the newest, a real runtime any public one."""
    if not isinstance(expected, Differs):
        assert got == expected
    elif on_stand_in:
        assert got == expected.newest, f'the stand-in must behave as the newest public runtime: {expected.newest}'
    else:
        assert got in (expected.older, expected.newest), f'neither public behaviour: {expected}'


def check_differential(stand_in_got, real_got, expected):
    """Stand-in and real outcomes of one case: equal, or where public runtimes differ, each as its pin says."""
    if isinstance(expected, Differs):
        check_pinned(stand_in_got, expected, on_stand_in=True)
        check_pinned(real_got, expected, on_stand_in=False)
    else:
        assert stand_in_got == real_got


# ---------------------------------------------------------------- cases: (id, function of the module)

def _bool_case(value):
    return lambda m: m.argToBoolean(value)


def _list_case(*args, **kwargs):
    return lambda m: m.argToList(*args, **kwargs)


def _number_case(*args, **kwargs):
    return lambda m: m.arg_to_number(*args, **kwargs)


def _md_case(*args, **kwargs):
    return lambda m: m.tableToMarkdown(*args, **kwargs)


NOT_BOOLEAN = ('raised', 'ValueError', 'Argument does not contain a valid boolean-like value')
ROW = {'a': True, 'b': False, 'c': None, 'd': {'x': 1, 'y': [1, 2]}, 'e': [{'k': 'v'}, {'k': 2}], 'f': 1.5,
       'g': 'p|q\nr', 'h': ['s', 't'], 'i': [], 'j': {}, 'k': 0, 'l': 'ü`'}

# (case id, callable(module), pinned outcome of the public runtime, or Differs(older, newest))
PINNED = [
    ('bool-true', _bool_case('true'), ('ok', True)),
    ('bool-TRUE', _bool_case('TRUE'), ('ok', True)),
    ('bool-Yes', _bool_case('Yes'), ('ok', True)),
    ('bool-no', _bool_case('no'), ('ok', False)),
    ('bool-False', _bool_case('False'), ('ok', False)),
    ('bool-bool', _bool_case(True), ('ok', True)),
    # Older public runtimes (the content-ci-cd-template copy among them) accept only true/yes/false/no; the newest
    # also takes 1/0, y/n, t/f and on/off. The pack parses its own boolean arguments with the newest words and
    # passes the runtime only true/false or real booleans, so it does not depend on the difference.
    ('bool-1', _bool_case('1'), Differs(NOT_BOOLEAN, ('ok', True))),
    ('bool-0', _bool_case('0'), Differs(NOT_BOOLEAN, ('ok', False))),
    ('bool-y', _bool_case('y'), Differs(NOT_BOOLEAN, ('ok', True))),
    ('bool-n', _bool_case('n'), Differs(NOT_BOOLEAN, ('ok', False))),
    ('bool-t', _bool_case('t'), Differs(NOT_BOOLEAN, ('ok', True))),
    ('bool-f', _bool_case('f'), Differs(NOT_BOOLEAN, ('ok', False))),
    ('bool-on', _bool_case('on'), Differs(NOT_BOOLEAN, ('ok', True))),
    ('bool-OFF', _bool_case('OFF'), Differs(NOT_BOOLEAN, ('ok', False))),
    ('bool-word', _bool_case('maybe'), NOT_BOOLEAN),
    ('bool-empty', _bool_case(''), NOT_BOOLEAN),
    ('bool-int', _bool_case(1), ('raised', 'ValueError', 'Argument is neither a string nor a boolean')),
    ('bool-None', _bool_case(None), ('raised', 'ValueError', 'Argument is neither a string nor a boolean')),
    ('bool-list', _bool_case(['true']), ('raised', 'ValueError', 'Argument is neither a string nor a boolean')),
    ('list-csv', _list_case('a, b,c'), ('ok', ['a', 'b', 'c'])),
    ('list-json', _list_case('["a","b"]'), ('ok', ['a', 'b'])),
    ('list-json-numbers', _list_case('[1, 2]'), ('ok', [1, 2])),
    ('list-brackets-not-json', _list_case('[abc]'), ('ok', ['[abc]'])),
    ('list-brackets-csv', _list_case('[a,b]'), ('ok', ['[a', 'b]'])),
    ('list-empty-json', _list_case('[]'), ('ok', [])),
    ('list-None', _list_case(None), ('ok', [])),
    ('list-empty', _list_case(''), ('ok', [])),
    ('list-list', _list_case(['x', 1]), ('ok', ['x', 1])),
    ('list-number', _list_case(5), ('ok', [5])),
    ('list-dict', _list_case({'a': 1}), ('ok', [{'a': 1}])),
    ('list-separator', _list_case('a;b', separator=';'), ('ok', ['a', 'b'])),
    ('list-transform', _list_case('1,2', transform=int), ('ok', [1, 2])),
    ('number-digits', _number_case('12'), ('ok', 12)),
    ('number-float-string', _number_case('1.9'), ('ok', 1)),
    ('number-spaces', _number_case(' 7 '), ('ok', 7)),
    ('number-negative', _number_case('-3'), ('ok', -3)),
    ('number-exponent', _number_case('1e3'), ('ok', 1000)),
    ('number-int', _number_case(2), ('ok', 2)),
    ('number-bool', _number_case(True), ('ok', True)),
    ('number-None', _number_case(None), ('ok', None)),
    ('number-empty', _number_case(''), ('ok', None)),
    ('number-float', _number_case(1.5, 'n'), ('raised', 'ValueError', 'Invalid number: "n"="1.5"')),
    ('number-float-unnamed', _number_case(2.0), ('raised', 'ValueError', '"2.0" is not a valid number')),
    ('number-word', _number_case('x', 'n'), ('raised', 'ValueError', 'Invalid number: "n"="x"')),
    ('number-nan', _number_case('nan', 'n'), ('raised', 'ValueError', 'Invalid number: "n"="nan"')),
    ('number-inf', _number_case('inf', 'n'), ('raised', 'ValueError', 'Invalid number: "n"="inf"')),
    ('number-hex', _number_case('0x10', 'n'), ('raised', 'ValueError', 'Invalid number: "n"="0x10"')),
    ('number-list', _number_case([1], 'n'), ('raised', 'ValueError', 'Invalid number: "n"="[1]"')),
    ('number-required', _number_case(None, 'n', required=True), ('raised', 'ValueError', 'Missing "n"')),
    ('md-cells', _md_case('T', [ROW]),
     ('ok', "### T\n|a|b|c|d|e|f|g|h|i|j|k|l|\n|---|---|---|---|---|---|---|---|---|---|---|---|\n"
            "| true | false |  | x: 1<br>y: 1,<br>2 | {'k': 'v'},<br>{'k': 2} | 1.5 | p\\|q<br>r | s,<br>t |  |  "
            "| 0 | ü\\` |\n")),
    ('md-nested-dict', _md_case('T', {'a': {'b': {'c': [1]}}, 'z': 1}),
     ('ok', '### T\n|a|z|\n|---|---|\n| b: {"c": [1]} | 1 |\n')),
    ('md-single-key', _md_case('T', {'only': [1, 2]}), ('ok', '### T\n|only|\n|---|\n| 1 |\n| 2 |\n')),
    ('md-unsorted', _md_case('T', [{'b': 1, 'a': 2}], sort_headers=False),
     ('ok', '### T\n|b|a|\n|---|---|\n| 1 | 2 |\n')),
    ('md-sorted', _md_case('T', [{'b': 1, 'a': 2}]), ('ok', '### T\n|a|b|\n|---|---|\n| 2 | 1 |\n')),
    ('md-headers', _md_case('T', [{'b': 1, 'a': 'x|y'}], headers=['a', 'b']),
     ('ok', '### T\n|a|b|\n|---|---|\n| x\\|y | 1 |\n')),
    ('md-missing-column', _md_case('T', [{'a': 1}], headers=['a', 'b']),
     ('ok', '### T\n|a|b|\n|---|---|\n| 1 |  |\n')),
    ('md-remove-null', _md_case('T', [{'a': None, 'b': 1}], removeNull=True),
     ('ok', '### T\n|b|\n|---|\n| 1 |\n')),
    ('md-string-header', _md_case('T', ['x', 'y'], headers='H'), ('ok', '### T\n|H|\n|---|\n| x |\n| y |\n')),
    ('md-no-headers-for-values', _md_case('T', ['x']),
     ('raised', 'Exception', "Missing headers param for tableToMarkdown. Example: headers=['Some Header']")),
    ('md-empty', _md_case('Empty', []), ('ok', '### Empty\n**No entries.**\n')),
    ('md-none', _md_case('Empty', None), ('ok', '### Empty\n**No entries.**\n')),
    ('md-no-name', _md_case('', [{'a': 1}]), ('ok', '|a|\n|---|\n| 1 |\n')),
    ('md-header-transform', _md_case('T', {'a_b': 1, 'c': 2}, headerTransform=lambda h: h.upper()),
     ('ok', '### T\n|A_B|C|\n|---|---|\n| 1 | 2 |\n')),
    ('md-header-escape', _md_case('T', [{'a|b': 1}]), ('ok', '### T\n|a\\|b|\n|---|\n| 1 |\n')),
    ('md-metadata', _md_case('T', [{'a': 1}], metadata='meta'), ('ok', '### T\nmeta\n|a|\n|---|\n| 1 |\n')),
    ('header-words', lambda m: m.string_to_table_header('file_name_x'), ('ok', 'File Name X')),
    ('header-not-string', lambda m: m.string_to_table_header(1), ('raised', 'Exception', 'The key is not a string: 1')),
    ('assign-params', lambda m: m.assign_params(a='1', b=True, c=None, d='', e=[], f={}, g=0),
     ('ok', {'a': '1', 'b': True, 'g': 0})),
    ('assign-params-ignore', lambda m: m.assign_params(keys_to_ignore=['x'], values_to_ignore=(15,), x=1, y=15, z=2),
     ('ok', {'z': 2})),
    ('results-prefix-missing', lambda m: m.CommandResults(outputs=[1]).to_context(),
     ('raised', 'ValueError', 'outputs_prefix is missing')),
    ('results-bad-key-field', lambda m: m.CommandResults(outputs_prefix='A', outputs_key_field=1, outputs={}),
     ('raised', 'TypeError', 'outputs_key_field must be of type str or list')),
    ('results-bad-format', lambda m: m.CommandResults(readable_output='x', content_format='bad'),
     ('raised', 'TypeError', 'content_format bad is invalid, see CommonServerPython.EntryFormat')),
    ('results-key-field', lambda m: m.CommandResults(outputs_prefix='V.O', outputs_key_field='id', outputs=[{'id': 1}],
                                                     readable_output='hi').to_context(),
     ('ok', {'Type': 1, 'ContentsFormat': 'json', 'Contents': [{'id': 1}], 'HumanReadable': 'hi',
             'EntryContext': {'V.O(val.id && val.id == obj.id)': [{'id': 1}]}, 'IndicatorTimeline': [],
             'IgnoreAutoExtract': False, 'Note': False, 'Relationships': []})),
    ('results-two-keys-default-table', lambda m: m.CommandResults(outputs_prefix='V.O', outputs_key_field=['a', 'b'],
                                                                  outputs={'a': 1, 'b': True}).to_context(),
     ('ok', {'Type': 1, 'ContentsFormat': 'json', 'Contents': {'a': 1, 'b': True},
             'HumanReadable': '### Results\n|a|b|\n|---|---|\n| 1 | true |\n',
             'EntryContext': {'V.O(val.a && val.a == obj.a && val.b && val.b == obj.b)': {'a': 1, 'b': True}},
             'IndicatorTimeline': [], 'IgnoreAutoExtract': False, 'Note': False, 'Relationships': []})),
    ('results-text', lambda m: m.CommandResults(readable_output='x', raw_response='raw',
                                                entry_type=m.EntryType.ERROR).to_context(),
     ('ok', {'Type': 4, 'ContentsFormat': 'text', 'Contents': 'raw', 'HumanReadable': 'x', 'EntryContext': {},
             'IndicatorTimeline': [], 'IgnoreAutoExtract': False, 'Note': False, 'Relationships': []})),
    ('results-replace-existing', lambda m: m.CommandResults(outputs_prefix='A.B', outputs='t', readable_output='x',
                                                            replace_existing=True).to_context()['EntryContext'],
     ('ok', {'A(true)': {'B': 't'}})),
    ('scheduled-minimum', lambda m: m.ScheduledCommand('cmd', 5, {'x': 1}, 60).to_results(),
     ('ok', {'PollingCommand': 'cmd', 'NextRun': '10', 'PollingArgs': {'x': 1}, 'Timeout': '60',
            'PollingItemsRemaining': 0})),
    ('scheduled-plain', lambda m: m.ScheduledCommand('cmd', 30, None, None, 3).to_results(),
     ('ok', {'PollingCommand': 'cmd', 'NextRun': '30', 'PollingItemsRemaining': 3})),
    ('scheduled-supported', lambda m: (m.ScheduledCommand.raise_error_if_not_supported(),
                                       m.ScheduledCommand.supports_polling()), ('ok', (True, True))),
    ('entry-types', lambda m: (m.entryTypes['note'], m.entryTypes['file'], m.entryTypes['error'],
                               m.entryTypes['warning'], m.EntryType.NOTE, m.EntryType.FILE, m.EntryType.ERROR,
                               m.EntryType.WARNING), ('ok', (1, 3, 4, 11, 1, 3, 4, 11))),
    ('formats', lambda m: (m.formats['text'], m.formats['json'], m.formats['markdown'], m.EntryFormat.TEXT,
                           m.EntryFormat.JSON, m.EntryFormat.MARKDOWN),
     ('ok', ('text', 'json', 'markdown', 'text', 'json', 'markdown'))),
    ('demisto-exception', lambda m: (str(m.DemistoException('msg', ValueError('x'))),
                                     m.DemistoException('msg', res='r').res), ('ok', ('msg', 'r'))),
]


@pytest.mark.parametrize('case, expected', [pytest.param(c, e, id=i) for i, c, e in PINNED])
def test_pinned_behaviour(case, expected):
    """Given a runtime function and inputs, When called on the runtime on the path, Then it behaves as pinned."""
    check_pinned(outcome(lambda: case(csp)), expected, on_stand_in=not using_real_runtime())


# ---------------------------------------------------------------- scenarios with side effects

class Recorder:
    """Collects what a runtime sends to demistomock: entries and log lines by level."""

    def __init__(self, monkeypatch):
        self.entries: list = []
        self.logs: list[tuple[str, str]] = []
        monkeypatch.setattr(demisto, 'results', lambda r: self.entries.extend(r if isinstance(r, list) else [r]))
        for level in ('debug', 'info', 'error', 'log'):
            monkeypatch.setattr(demisto, level, self._logger(level))

    def _logger(self, level):
        return lambda msg, *args: self.logs.append((level, str(msg)))

    def log_text(self):
        return '\n'.join(text for _, text in self.logs)


def scenario_return_error_plain(m, rec):
    outcome(lambda: m.return_error('boom'))
    return rec.entries, ['Traceback' in t for _, t in rec.logs]


def scenario_return_error_in_except(m, rec):
    empty: dict[str, int] = {}
    try:
        empty['missing']
    except KeyError:
        result = outcome(lambda: m.return_error('failed nicely'))
    return result, rec.entries, [(level, 'Traceback' in t, 'KeyError' in t, 'failed nicely' in t)
                                 for level, t in rec.logs]


def scenario_return_error_debug(m, rec):
    demisto.is_debug = True
    try:
        try:
            int('x')
        except ValueError:
            outcome(lambda: m.return_error('failed'))
    finally:
        demisto.is_debug = False
    text = rec.entries[0]['Contents']
    return text.startswith('failed\n\nTraceback (most recent call last):'), 'ValueError' in text


def scenario_return_error_long(m, rec):
    outcome(lambda: m.return_error('a' * 30000 + 'b' * 30000))
    text = rec.entries[0]['Contents']
    return len(text), text[:3], text[-3:], '...This error body was truncated...' in text


def scenario_return_error_outputs(m, rec):
    outcome(lambda: m.return_error('bad', error=ValueError('detail'), outputs={'A': 1}))
    return rec.entries, any('detail' in t for _, t in rec.logs)


def scenario_return_error_fetch(m, rec, monkeypatch):
    monkeypatch.setattr(demisto, 'command', lambda: 'fetch-incidents')
    return outcome(lambda: m.return_error('server handles it')), rec.entries


def scenario_return_results(m, rec):
    m.return_results(m.CommandResults(readable_output='x'))
    m.return_results('plain')
    m.return_results([{'Type': 1, 'Contents': 'a'}, 'b', m.CommandResults(readable_output='c')])
    m.return_results(None)
    return [e if not isinstance(e, dict) else (e.get('Type'), e.get('Contents'), e.get('HumanReadable'))
            for e in rec.entries]


def scenario_file_result(m, rec):
    entry = m.fileResult('../../a.txt', 'hello')
    with open('{}_{}'.format(demisto.investigation()['id'], entry['FileID']), 'rb') as f:
        data = f.read()
    return {k: v for k, v in entry.items() if k != 'FileID'}, data, sorted(os.listdir('.')) == [
        '{}_{}'.format(demisto.investigation()['id'], entry['FileID'])]


def scenario_polling(m, rec):
    calls = []

    @m.polling_function('vendor-cmd', interval=15, timeout=120, poll_message='Waiting:')
    def command(args, client):
        calls.append(dict(args))
        done = args.get('step') == 'last'
        return m.PollResult(response=m.CommandResults(readable_output='done'), continue_to_poll=not done,
                            args_for_next_run=dict(args, step='last') if args.get('next') else None)

    first = command({'polling': 'true', 'id': '1'}, 'client').to_context()
    again = command({'polling': 'true', 'id': '1', 'hide_polling_output': True}, 'client').to_context()
    with_next = command({'polling': 'true', 'next': '1'}, 'client').to_context()
    final = command({'polling': 'true', 'step': 'last'}, 'client').to_context()
    once = command({'id': '1'}, 'client').to_context()
    keep = ('HumanReadable', 'PollingCommand', 'NextRun', 'PollingArgs', 'Timeout')
    return [{k: e.get(k) for k in keep} for e in (first, again, with_next, final, once)], calls


def scenario_polling_partial_and_callable(m, rec):
    @m.polling_function('vendor-cmd', interval=3, requires_polling_arg=False)
    def command(args):
        return m.PollResult(response='final', continue_to_poll=lambda: True,
                            partial_result=m.CommandResults(readable_output='so far'))

    entry = command({}).to_context()
    return entry['HumanReadable'], entry['NextRun'], entry['Timeout'], entry['PollingArgs'], \
        any('minimum interval is 10 seconds' in t for _, t in rec.logs)


def scenario_polling_bad_flag(m, rec):
    @m.polling_function('vendor-cmd')
    def command(args):
        return m.PollResult(response='final')

    return outcome(lambda: command({'polling': 'maybe'}))


def scenario_polling_numeric_flag(m, rec):
    @m.polling_function('vendor-cmd')
    def command(args):
        return m.PollResult(response='final')

    return outcome(lambda: command({'polling': '1'}))


def scenario_integration_context(m, rec, monkeypatch):
    store: dict = {}
    monkeypatch.setattr(demisto, 'demistoVersion', lambda: {'version': '8.9.0', 'buildNumber': '1'})
    monkeypatch.setattr(demisto, 'getIntegrationContextVersioned',
                        lambda *a, **k: {'context': dict(store), 'version': 1})
    monkeypatch.setattr(demisto, 'setIntegrationContextVersioned', lambda ctx, *a, **k: store.update(ctx))
    m.set_integration_context({'token': 't'})
    return m.get_integration_context(), m.get_integration_context(with_version=True)


SCENARIOS = [scenario_return_error_plain, scenario_return_error_in_except, scenario_return_error_debug,
             scenario_return_error_long, scenario_return_error_outputs, scenario_return_error_fetch,
             scenario_return_results, scenario_file_result, scenario_polling, scenario_polling_partial_and_callable,
             scenario_polling_bad_flag, scenario_polling_numeric_flag, scenario_integration_context]

PINNED_SCENARIOS = {
    'scenario_return_error_plain': (
        [{'Type': 4, 'ContentsFormat': 'text', 'Contents': 'boom', 'EntryContext': None}], [False]),
    # The message and the traceback of the exception being handled are logged (one info line); the entry has
    # the message only, and no other keys.
    'scenario_return_error_in_except': (
        ('exit',), [{'Type': 4, 'ContentsFormat': 'text', 'Contents': 'failed nicely', 'EntryContext': None}],
        [('info', True, True, True)]),
    'scenario_return_error_debug': (True, True),
    'scenario_return_error_long': (50000 + len('...This error body was truncated...'), 'aaa', 'bbb', True),
    'scenario_return_error_outputs': (
        [{'Type': 4, 'ContentsFormat': 'text', 'Contents': 'bad', 'EntryContext': {'A': 1}}], True),
    'scenario_return_error_fetch': (('raised', 'Exception', 'server handles it'), []),
    # Objects inside a list are sent first, then the plain entries of that list together.
    'scenario_return_results': [(1, None, 'x'), 'plain', (1, None, 'c'), (1, 'a', None), 'b', None],
    'scenario_file_result': ({'Contents': '', 'ContentsFormat': 'text', 'Type': 3, 'File': 'a.txt'}, b'hello',
                             True),
    'scenario_polling': (
        [{'HumanReadable': 'Waiting:', 'PollingCommand': 'vendor-cmd', 'NextRun': '15',
          'PollingArgs': {'polling': 'true', 'id': '1', 'hide_polling_output': True}, 'Timeout': '120'},
         {'HumanReadable': None, 'PollingCommand': 'vendor-cmd', 'NextRun': '15',
          'PollingArgs': {'polling': 'true', 'id': '1', 'hide_polling_output': True}, 'Timeout': '120'},
         {'HumanReadable': 'Waiting:', 'PollingCommand': 'vendor-cmd', 'NextRun': '15',
          'PollingArgs': {'polling': 'true', 'next': '1', 'step': 'last', 'hide_polling_output': True},
          'Timeout': '120'},
         {'HumanReadable': 'done', 'PollingCommand': None, 'NextRun': None, 'PollingArgs': None, 'Timeout': None},
         {'HumanReadable': 'done', 'PollingCommand': None, 'NextRun': None, 'PollingArgs': None, 'Timeout': None}],
        [{'polling': 'true', 'id': '1'}, {'polling': 'true', 'id': '1', 'hide_polling_output': True},
         {'polling': 'true', 'next': '1'}, {'polling': 'true', 'step': 'last'}, {'id': '1'}]),
    'scenario_polling_partial_and_callable': ('so far', '10', '600', {'hide_polling_output': True}, True),
    'scenario_polling_bad_flag': NOT_BOOLEAN,
    # polling_function reads its flag with argToBoolean (the pack always passes it 'true' or 'false').
    'scenario_polling_numeric_flag': Differs(NOT_BOOLEAN, ('ok', 'final')),
    'scenario_integration_context': ({'token': 't'}, {'context': {'token': 't'}, 'version': 1}),
}


def run_scenario(scenario, module, monkeypatch):
    recorder = Recorder(monkeypatch)
    monkeypatch.setattr(demisto, 'command', lambda: 'vendor-cmd')
    cache = getattr(module, 'get_demisto_version', None)
    if cache is not None and hasattr(cache, '_version'):
        monkeypatch.setattr(cache, '_version', None)
    if scenario.__code__.co_argcount == 3:
        return scenario(module, recorder, monkeypatch)
    return scenario(module, recorder)


@pytest.mark.parametrize('scenario', SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_pinned_scenarios(scenario, monkeypatch, tmp_path):
    """Given a call with side effects, When run on the runtime on the path, Then entries and logs are as pinned."""
    check_pinned(run_scenario(scenario, csp, monkeypatch), PINNED_SCENARIOS[scenario.__name__],
                 on_stand_in=not using_real_runtime())


# ---------------------------------------------------------------- BaseClient

def http_case(make_reply, call):
    def run(m, requests_mock):
        make_reply(requests_mock)
        client = m.BaseClient(URL + '/v1', headers={'X-Default': 'd'}, ok_codes=())
        result = outcome(lambda: call(client))
        sent = requests_mock.last_request
        seen = None if sent is None else {k: v for k, v in sent.headers.items() if k.startswith('X-')}
        if result[0] == 'ok' and isinstance(result[1], requests.Response):
            result = ('ok', 'Response', result[1].status_code)
        return result, seen
    return run


HTTP = [
    ('json', http_case(lambda rm: rm.post(URL + '/v1/x', json={'a': 1}),
                       lambda c: c._http_request('POST', 'x', json_data={'q': 1})),
     (('ok', {'a': 1}), {'X-Default': 'd'})),
    ('empty-headers-mean-default', http_case(lambda rm: rm.get(URL + '/v1/x', text='t'),
                                             lambda c: c._http_request('GET', 'x', headers={}, resp_type='text')),
     (('ok', 't'), {'X-Default': 'd'})),
    ('own-headers', http_case(lambda rm: rm.get('https://other.example.com/f', text='t'),
                              lambda c: c._http_request('GET', full_url='https://other.example.com/f',
                                                        headers={'X-Mine': 'm'}, resp_type='text')),
     (('ok', 't'), {'X-Mine': 'm'})),
    ('content', http_case(lambda rm: rm.get(URL + '/v1/x', content=b'\x00\x01'),
                          lambda c: c._http_request('GET', '/x', resp_type='content')), (('ok', b'\x00\x01'),
                                                                                        {'X-Default': 'd'})),
    ('response', http_case(lambda rm: rm.get(URL + '/v1/x', status_code=201, text=''),
                           lambda c: c._http_request('GET', 'x', resp_type='response')),
     (('ok', 'Response', 201), {'X-Default': 'd'})),
    ('unknown-resp-type', http_case(lambda rm: rm.get(URL + '/v1/x', text='t'),
                                    lambda c: c._http_request('GET', 'x', resp_type='other')),
     (('ok', 'Response', 200), {'X-Default': 'd'})),
    ('empty-204', http_case(lambda rm: rm.get(URL + '/v1/x', status_code=204),
                            lambda c: c._http_request('GET', 'x', return_empty_response=True)),
     (('ok', 'Response', 204), {'X-Default': 'd'})),
    ('json-error-body', http_case(lambda rm: rm.get(URL + '/v1/x', status_code=403, reason='Forbidden',
                                                    json={'err': 'no', 'n': [1]}),
                                  lambda c: c._http_request('GET', 'x')),
     (('raised', 'DemistoException', 'Error in API call [403] - Forbidden\n{"err": "no", "n": [1]}'),
      {'X-Default': 'd'})),
    ('text-error-body', http_case(lambda rm: rm.get(URL + '/v1/x', status_code=500, reason='Oops', text='<b>'),
                                  lambda c: c._http_request('GET', 'x')),
     (('raised', 'DemistoException', 'Error in API call [500] - Oops\n<b>'), {'X-Default': 'd'})),
    ('ok-codes', http_case(lambda rm: rm.get(URL + '/v1/x', status_code=404, text='gone'),
                           lambda c: c._http_request('GET', 'x', ok_codes=(404,), resp_type='text')),
     (('ok', 'gone'), {'X-Default': 'd'})),
    ('ok-codes-exclude-200', http_case(lambda rm: rm.get(URL + '/v1/x', status_code=200, reason='OK', text='x'),
                                       lambda c: c._http_request('GET', 'x', ok_codes=(201,), resp_type='text')),
     (('raised', 'DemistoException', 'Error in API call [200] - OK\nx'), {'X-Default': 'd'})),
    ('error-handler', http_case(lambda rm: rm.get(URL + '/v1/x', status_code=400, text='bad'),
                                lambda c: c._http_request('GET', 'x', resp_type='text',
                                                          error_handler=lambda r: None)),
     (('ok', 'bad'), {'X-Default': 'd'})),
    ('json-parse-failure', http_case(lambda rm: rm.get(URL + '/v1/x', text='<html>'),
                                     lambda c: c._http_request('GET', 'x')),
     (('raised', 'DemistoException', "Failed to parse json object from response: b'<html>'"), {'X-Default': 'd'})),
    ('connection-error', http_case(lambda rm: rm.get(URL + '/v1/x', exc=requests.exceptions.ConnectionError('refused')),
                                   lambda c: c._http_request('GET', 'x')),
     (('raised', 'DemistoException', 'Verify that the server URL parameter is correct and that you have access to '
                                     'the server from your host.\nError Type: <requests.exceptions.ConnectionError>'
                                     '\nrefused'), {'X-Default': 'd'})),
    ('connect-timeout', http_case(lambda rm: rm.get(URL + '/v1/x', exc=requests.exceptions.ConnectTimeout('t')),
                                  lambda c: c._http_request('GET', 'x')),
     (('raised', 'DemistoException', 'Connection Timeout Error - potential reasons might be that the Server URL '
                                     'parameter is incorrect or that the Server is not accessible from your host.'),
      {'X-Default': 'd'})),
    ('ssl-error', http_case(lambda rm: rm.get(URL + '/v1/x', exc=requests.exceptions.SSLError('cert')),
                            lambda c: c._http_request('GET', 'x')),
     (('raised', 'DemistoException', "SSL Certificate Verification Failed - try selecting 'Trust any certificate' "
                                     "checkbox in the integration configuration."), {'X-Default': 'd'})),
    ('proxy-error', http_case(lambda rm: rm.get(URL + '/v1/x', exc=requests.exceptions.ProxyError('p')),
                              lambda c: c._http_request('GET', 'x')),
     (('raised', 'DemistoException', "Proxy Error - if the 'Use system proxy' checkbox in the integration "
                                     "configuration is selected, try clearing the checkbox."), {'X-Default': 'd'})),
    # Read timeouts and broken bodies are NOT wrapped: integrations must catch requests' own exceptions.
    ('read-timeout', http_case(lambda rm: rm.get(URL + '/v1/x', exc=requests.exceptions.ReadTimeout('slow')),
                               lambda c: c._http_request('GET', 'x')), (('raised', 'ReadTimeout', 'slow'), {'X-Default': 'd'})),
    ('chunked', http_case(lambda rm: rm.get(URL + '/v1/x', exc=requests.exceptions.ChunkedEncodingError('cut')),
                          lambda c: c._http_request('GET', 'x')), (('raised', 'ChunkedEncodingError', 'cut'),
                                                                        {'X-Default': 'd'})),
]


@pytest.mark.parametrize('case, expected', [pytest.param(c, e, id=i) for i, c, e in HTTP])
def test_pinned_http(case, expected, requests_mock):
    """Given a server reply or transport fault, When _http_request runs, Then result, error and headers are pinned."""
    assert case(csp, requests_mock) == expected


def test_http_stream_kwarg_passes_through(requests_mock):
    """Given stream=True, When the response is read in chunks, Then the body arrives whole."""
    requests_mock.get(URL + '/big', content=b'x' * 10)
    res = csp.BaseClient(URL)._http_request('GET', 'big', resp_type='response', stream=True)
    assert b''.join(res.iter_content(3)) == b'x' * 10


def test_demistomock_basics():
    """Given the demistomock on the path, Then the calls the pack makes exist and return the documented shapes."""
    assert isinstance(demisto.params(), dict)
    assert isinstance(demisto.args(), dict)
    assert isinstance(demisto.command(), str)
    assert demisto.investigation()['id']
    assert demisto.uniqueFile() != demisto.uniqueFile()
    for name in ('debug', 'info', 'error', 'results', 'getIntegrationContext', 'setIntegrationContext',
                 'getIntegrationContextVersioned', 'setIntegrationContextVersioned', 'getFilePath',
                 'executeCommand', 'demistoVersion'):
        assert callable(getattr(demisto, name)), name
    assert demisto.is_debug is False
    json.dumps(demisto.demistoVersion())


# ---------------------------------------------------------------- stand-in vs real, side by side

requires_real = pytest.mark.skipif(not using_real_runtime(),
                                   reason='set XSOAR_RUNTIME_DIR to compare with a real runtime')


@pytest.fixture(scope='module')
def stand_in():
    return load_stand_in()


@requires_real
@pytest.mark.parametrize('case, expected', [pytest.param(c, e, id=i) for i, c, e in PINNED])
def test_stand_in_equals_real(case, expected, stand_in):
    """Given the same call, When run on the stand-in and on the real module, Then the outcomes are equal (where
    public runtimes differ: the stand-in's is the newest's, the real one's either)."""
    check_differential(outcome(lambda: case(stand_in)), outcome(lambda: case(csp)), expected)


@requires_real
@pytest.mark.parametrize('scenario', SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_stand_in_scenarios_equal_real(scenario, stand_in, monkeypatch, tmp_path):
    """Given a scenario with entries and logs, When run on both runtimes, Then what each sends is equal (where
    public runtimes differ: the stand-in's is the newest's, the real one's either)."""
    real = run_scenario(scenario, csp, monkeypatch)
    for name in os.listdir('.'):
        os.remove(name)
    check_differential(run_scenario(scenario, stand_in, monkeypatch), real, PINNED_SCENARIOS[scenario.__name__])


@requires_real
@pytest.mark.parametrize('case', [pytest.param(c, id=i) for i, c, _ in HTTP])
def test_stand_in_http_equals_real(case, stand_in, requests_mock):
    """Given a reply or fault, When both BaseClients handle it, Then the result and the headers sent are equal."""
    assert case(stand_in, requests_mock) == case(csp, requests_mock)


# ---------------------------------------------------------------- every runtime name the pack uses is covered

COVERED = {
    'BaseClient', 'CommandResults', 'DemistoException', 'EntryFormat', 'EntryType', 'ScheduledCommand', 'PollResult',
    'polling_function', 'argToBoolean', 'argToList', 'arg_to_number', 'assign_params', 'entryTypes', 'formats',
    'fileResult', 'get_integration_context', 'set_integration_context', 'return_error', 'return_results',
    'string_to_table_header', 'tableToMarkdown',
}
COVERED_DEMISTO = {'args', 'command', 'debug', 'info', 'error', 'investigation', 'params', 'uniqueFile', 'results',
                   'getIntegrationContext', 'setIntegrationContext', 'getIntegrationContextVersioned',
                   'setIntegrationContextVersioned', 'getFilePath', 'executeCommand', 'demistoVersion', 'is_debug'}


def runtime_names_used(path, runtime_names):
    """(CommonServerPython names, demisto attributes) a pack module uses without defining them."""
    with open(path) as f:
        tree = ast.parse(f.read())
    defined = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            defined.add(node.id)
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and getattr(node, 'module', None) != 'CommonServerPython':
            defined.update((alias.asname or alias.name).split('.')[0] for alias in node.names)
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    attributes = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)
                  and isinstance(n.value, ast.Name) and n.value.id == 'demisto'}
    return (used - defined) & runtime_names, attributes


def test_every_runtime_name_the_pack_uses_has_contract_cases():
    """Given the pack's integration and script code, Then each runtime name it uses is covered here."""
    runtime_names = {name for name in dir(csp) if not name.startswith('_')} - set(dir(__builtins__)) - \
        {'json', 'os', 're', 'sys', 'time', 'requests', 'logging', 'traceback', 'datetime', 'timedelta', 'timezone',
         'demisto', 'Any', 'Dict', 'List', 'Optional', 'Union', 'Callable', 'Tuple', 'Set', 'cast'}
    missing = {}
    for folder in code_dirs():
        path = os.path.join(folder, os.path.basename(folder) + '.py')
        names, attributes = runtime_names_used(path, runtime_names)
        gaps = sorted((names - COVERED) | {'demisto.' + a for a in attributes - COVERED_DEMISTO})
        if gaps:
            missing[os.path.relpath(path, ROOT)] = gaps
    assert not missing, f'runtime names without contract cases: {missing}'


def test_stand_ins_are_not_in_the_pack():
    """Given the pack folders, Then no copy of the runtime modules is shipped inside them."""
    for folder in ('Integrations', 'Scripts', 'Playbooks'):
        for base, _, files in os.walk(os.path.join(ROOT, folder)):
            assert 'CommonServerPython.py' not in files and 'demistomock.py' not in files, base


def test_runtime_on_path_is_the_one_chosen():
    """Given XSOAR_RUNTIME_DIR or not, Then the imported modules come from the chosen folder."""
    expected = os.environ.get('XSOAR_RUNTIME_DIR') or OWN_RUNTIME
    assert os.path.dirname(os.path.abspath(csp.__file__)) == os.path.abspath(expected)
    assert os.path.dirname(os.path.abspath(demisto.__file__)) == os.path.abspath(expected)
    assert sys.modules['CommonServerPython'] is csp
