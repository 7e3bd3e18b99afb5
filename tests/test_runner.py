"""The offline command runner: context merging, file entries, polling followed to completion."""
import builtins
import hashlib
from typing import Any

import pytest

import demistomock

from devtools.emulator.zips import make_zip
from devtools.runner import PackIndex, Session, errors_of, get_context_path, merge_context
from tests.fuzz import test_reply_fuzz

XDR_URL = 'https://api-tenant.example.com'
API = XDR_URL + '/public_api/v1/'
PARAMS: dict[str, Any] = {'url': XDR_URL, 'credentials': {'identifier': '5', 'password': 'runner-test-key-0123456789'},
          'auth_type': 'Standard'}


def test_merge_keyed_updates_matching_objects():
    context: dict = {}
    merge_context(context, {'V.O(val.id && val.id == obj.id)': [{'id': 1, 's': 'a'}, {'id': 2, 's': 'b'}]})
    merge_context(context, {'V.O(val.id && val.id == obj.id)': {'id': 1, 's': 'c', 'n': 5}})
    assert context == {'V': {'O': [{'id': 1, 's': 'c', 'n': 5}, {'id': 2, 's': 'b'}]}}


def test_merge_multi_key_and_replace_and_plain_append():
    context: dict = {}
    key = 'V.R(val.a && val.a == obj.a && val.e && val.e == obj.e)'
    merge_context(context, {key: [{'a': 1, 'e': 'x'}, {'a': 1, 'e': 'y'}]})
    merge_context(context, {key: {'a': 1, 'e': 'y', 'done': True}})
    assert context['V']['R'][1] == {'a': 1, 'e': 'y', 'done': True}
    merge_context(context, {'V.Plain': 1})
    merge_context(context, {'V.Plain': 2})
    assert context['V']['Plain'] == [1, 2]
    merge_context(context, {'V(true)': {'Plain': 3}})
    assert context['V'] == {'Plain': 3}


def test_get_context_path_flattens_lists():
    context = {'A': {'B': [{'c': 1}, {'c': 2}]}, 'X': {'y': 'z'}}
    assert get_context_path(context, 'A.B.c') == [1, 2]
    assert get_context_path(context, 'X.y') == 'z'
    assert get_context_path(context, 'X.nope') is None


def test_session_runs_polling_to_completion_with_files_in_context(requests_mock, tmp_path):
    payload = b'MZ' + b'\x90' * 1000
    requests_mock.post(API + 'endpoints/file_retrieval', json={'reply': {'action_id': 9, 'endpoints_count': 1}})
    requests_mock.post(API + 'actions/get_action_status', [
        {'json': {'reply': {'data': {'ep1': 'PENDING'}}}},
        {'json': {'reply': {'data': {'ep1': 'IN_PROGRESS'}}}},
        {'json': {'reply': {'data': {'ep1': 'COMPLETED_SUCCESSFULLY'}}}},
    ])
    requests_mock.post(API + 'actions/file_retrieval_details',
                       json={'reply': {'data': {'ep1': XDR_URL + '/public_api/v1/download/abc'}}})
    requests_mock.post(API + 'download/abc', content=make_zip({'C/temp/evil.exe': payload}))
    events: list[str] = []
    session = Session(instances={'CortexXDRResponse': PARAMS}, workdir=str(tmp_path), on_event=events.append)
    entries = session.execute('xdr-response-file-retrieve', {'endpoint_ids': 'ep1', 'windows_file_paths': 'C:\\temp\\evil.exe',
                                                    'polling': 'true', 'interval_in_seconds': '10'})
    assert not errors_of(entries)
    waits = [e for e in events if e.startswith('wait')]
    assert len(waits) == 3  # start + two pending polls, then done
    assert get_context_path(session.context, 'File.Name') == 'evil.exe'
    assert get_context_path(session.context, 'File.SHA256') == hashlib.sha256(payload).hexdigest()
    assert get_context_path(session.context, 'PaloAltoNetworksXDR.RetrievedFiles.status') == 'COMPLETED_SUCCESSFULLY'
    entry_id = get_context_path(session.context, 'File.EntryID')
    with open(session.file_path(entry_id), 'rb') as f:
        assert f.read() == payload
    downloads = [r for r in requests_mock.request_history if '/download/' in r.url]
    assert len(downloads) == 1


def test_session_polling_timeout_is_an_error_entry(requests_mock, tmp_path):
    requests_mock.post(API + 'distributions/get_status', json={'reply': {'status': 'In Progress'}})
    session = Session(instances={'CortexXDRResponse': PARAMS}, workdir=str(tmp_path))
    entries = session.execute('xdr-response-get-create-distribution-status', {
        'distribution_ids': 'd1', 'polling': 'true', 'interval_in_seconds': '10', 'timeout_in_seconds': '30'})
    assert any('timed out' in e for e in errors_of(entries))
    assert requests_mock.call_count == 6  # 0 ... 50 s: the server's timeout is ours plus two intervals of grace


def test_session_error_entry_and_no_instance(requests_mock, tmp_path):
    requests_mock.post(API + 'distributions/get_versions', status_code=401,
                       json={'err_code': 401, 'err_msg': 'unauthorized', 'err_extra': None})
    session = Session(instances={'CortexXDRResponse': PARAMS}, workdir=str(tmp_path))
    errors = errors_of(session.execute('xdr-response-get-distribution-versions'))
    assert len(errors) == 1 and 'authentication failed' in errors[0]
    assert PARAMS['credentials']['password'] not in errors[0]
    with pytest.raises(KeyError, match='no-such-command'):
        session.execute('no-such-command')


def test_yaml_default_values_are_filled_in_like_the_server(tmp_path):
    defaults = PackIndex().defaults('Cortex XDR - Response Actions', 'xdr-response-file-retrieve')
    assert defaults['polling'] == 'true' and defaults['max_entries'] == '1000'
    assert 'endpoint_ids' not in defaults


def test_compiled_code_cache_compiles_once_and_still_runs_the_module_each_time(requests_mock, tmp_path, monkeypatch):
    """
    Given a session with a compiled-code cache (what benchmarks use)
    When the same command runs twice
    Then the integration is compiled once, each run still gets a fresh module, and the entries are the same
    """
    compiled: list[str] = []
    real_compile = builtins.compile

    def counting_compile(source, filename, *args, **kwargs):
        compiled.append(str(filename))
        return real_compile(source, filename, *args, **kwargs)
    monkeypatch.setattr(builtins, 'compile', counting_compile)
    requests_mock.post(API + 'distributions/get_versions', json={'reply': {'windows': ['8.1.0']}})
    session = Session(instances={'CortexXDRResponse': PARAMS}, workdir=str(tmp_path))
    session.compiled_code = {}
    first = session.execute('xdr-response-get-distribution-versions')
    second = session.execute('xdr-response-get-distribution-versions')
    assert [e['Contents'] for e in first] == [e['Contents'] for e in second] and not errors_of(first + second)
    assert len([name for name in compiled if name.endswith('CortexXDRResponse.py')]) == 1
    assert requests_mock.call_count == 2


def test_session_keeps_the_codes_log_lines_when_asked(session, monkeypatch):
    """The fuzz test checks log lines for secrets through the same Session as everything else (issue 21): with
    keep_logs the debug/info/error lines are collected, and still reach the runtime's own functions."""
    seen = []
    monkeypatch.setattr(demistomock, 'debug', lambda message, *args: seen.append(message))
    logged = Session(instances=session.instances, workdir=session.workdir)
    logged.logs = []
    logged.execute('xdr-response-get-distribution-versions')
    assert logged.logs and all(level in ('debug', 'info', 'error', 'log') for level, _ in logged.logs)
    assert [text for level, text in logged.logs if level == 'debug'] == [str(m) for m in seen]
    assert session.logs is None


def test_fuzz_cases_are_named_after_the_command_they_exercise():
    """`pytest -k <command>` finds a command's fuzz cases: one case per command, id <Integration>-<command>."""
    ids = {case.id for case in test_reply_fuzz.fuzz_cases()}
    index = PackIndex()
    for entry in index.integrations.values():
        for command in ['test-module', *entry['commands']]:
            assert f"{entry['module']}-{command}" in ids
    for name, entry in index.scripts.items():
        assert f"{entry['module']}-{name}" in ids
