"""The runtime contract the pack relies on (CONVENTIONS §3).

These run against whichever runtime is on the path: our stand-ins by default, the real
CommonServerPython/demistomock when XSOAR_RUNTIME_DIR is set, so they also prove the stand-ins
behave like the real files for everything we use.
"""
import json
import os

import pytest
import requests

import demistomock as demisto
import CommonServerPython as csp

URL = 'https://api.example.com'


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_http_request_success_json_text_content_response(requests_mock):
    requests_mock.post(URL + '/v1/x', json={'a': 1})
    client = csp.BaseClient(URL + '/v1')
    assert client._http_request('POST', 'x', json_data={'q': 1}) == {'a': 1}
    assert requests_mock.last_request.json() == {'q': 1}
    assert client._http_request('POST', '/x', resp_type='text') == '{"a": 1}'
    assert client._http_request('POST', 'x', resp_type='content') == b'{"a": 1}'
    assert isinstance(client._http_request('POST', 'x', resp_type='response'), requests.Response)


def test_http_request_full_url_and_headers(requests_mock):
    requests_mock.get('https://other.example.com/file', text='ok')
    client = csp.BaseClient(URL, headers={'X-Default': '1'})
    client._http_request('GET', full_url='https://other.example.com/file', headers={'X-Mine': '2'}, resp_type='text')
    assert requests_mock.last_request.headers['X-Mine'] == '2'
    assert 'X-Default' not in requests_mock.last_request.headers


def test_http_request_error_default_message(requests_mock):
    requests_mock.get(URL + '/bad', status_code=403, reason='Forbidden', json={'err': 'no'})
    client = csp.BaseClient(URL)
    with pytest.raises(csp.DemistoException) as info:
        client._http_request('GET', 'bad')
    assert str(info.value).startswith('Error in API call [403] - Forbidden')
    assert info.value.res.status_code == 403


def test_http_request_error_handler_and_ok_codes(requests_mock):
    requests_mock.get(URL + '/x', status_code=404, text='missing')
    client = csp.BaseClient(URL)
    seen = []
    client._http_request('GET', 'x', error_handler=lambda res: seen.append(res.status_code), resp_type='text')
    assert seen == [404]
    assert client._http_request('GET', 'x', ok_codes=(404,), resp_type='text') == 'missing'


def test_http_request_json_parse_failure(requests_mock):
    requests_mock.get(URL + '/x', text='<html>')
    with pytest.raises(csp.DemistoException, match='Failed to parse json'):
        csp.BaseClient(URL)._http_request('GET', 'x')


def test_http_request_connection_error(requests_mock):
    requests_mock.get(URL + '/x', exc=requests.exceptions.ConnectionError('refused'))
    with pytest.raises(csp.DemistoException, match='Verify that the server URL parameter is correct'):
        csp.BaseClient(URL)._http_request('GET', 'x')


def test_http_request_stream_kwarg(requests_mock):
    requests_mock.get(URL + '/big', content=b'x' * 10)
    res = csp.BaseClient(URL)._http_request('GET', 'big', resp_type='response', stream=True)
    assert b''.join(res.iter_content(3)) == b'x' * 10


def test_command_results_context_with_key_field():
    entry = csp.CommandResults(outputs_prefix='Vendor.Obj', outputs_key_field='id', outputs=[{'id': 1}],
                               readable_output='hi').to_context()
    assert entry['EntryContext'] == {'Vendor.Obj(val.id && val.id == obj.id)': [{'id': 1}]}
    assert entry['HumanReadable'] == 'hi'
    assert entry['Type'] == 1
    assert entry['Contents'] == [{'id': 1}]


def test_command_results_multiple_keys_and_default_table():
    entry = csp.CommandResults(outputs_prefix='V.O', outputs_key_field=['a', 'b'], outputs={'a': 1, 'b': 2}).to_context()
    assert list(entry['EntryContext']) == ['V.O(val.a && val.a == obj.a && val.b && val.b == obj.b)']
    assert entry['HumanReadable'].startswith('### Results')


def test_scheduled_command_entry_fields():
    scheduled = csp.ScheduledCommand(command='cmd', next_run_in_seconds=5, args={'x': 1}, timeout_in_seconds=60)
    entry = csp.CommandResults(readable_output='wait', scheduled_command=scheduled).to_context()
    assert entry['PollingCommand'] == 'cmd'
    assert entry['NextRun'] == '10'  # minimum interval
    assert entry['PollingArgs'] == {'x': 1}
    assert entry['Timeout'] == '60'


def test_error_entry_type():
    entry = csp.CommandResults(readable_output='bad', entry_type=csp.EntryType.ERROR).to_context()
    assert entry['Type'] == 4


def test_table_to_markdown_shapes():
    md = csp.tableToMarkdown('Title', [{'b': 1, 'a': 'x|y'}], headers=['a', 'b'])
    assert md == '### Title\n|a|b|\n|---|---|\n| x\\|y | 1 |\n'
    assert csp.tableToMarkdown('Empty', []) == '### Empty\n**No entries.**\n'
    assert '|A B|' in csp.tableToMarkdown('T', {'a_b': 1}, headerTransform=csp.string_to_table_header)


def test_file_result_writes_investigation_file():
    entry = csp.fileResult('a.txt', 'hello')
    assert entry['Type'] == 3 and entry['File'] == 'a.txt'
    with open('{}_{}'.format(demisto.investigation()['id'], entry['FileID']), 'rb') as f:
        assert f.read() == b'hello'


def test_return_results_and_error(monkeypatch):
    sent = []
    monkeypatch.setattr(demisto, 'results', lambda r: sent.append(r))
    csp.return_results(csp.CommandResults(readable_output='x'))
    csp.return_results('plain')
    assert sent[0]['HumanReadable'] == 'x' and sent[1] == 'plain'
    with pytest.raises(SystemExit):
        csp.return_error('boom')
    assert sent[-1]['Type'] == 4 and sent[-1]['Contents'] == 'boom'


def test_arg_helpers():
    assert csp.argToList('a, b,c') == ['a', 'b', 'c']
    assert csp.argToList('["a","b"]') == ['a', 'b']
    assert csp.argToList(None) == []
    assert csp.argToList(['x']) == ['x']
    assert csp.argToBoolean('true') is True and csp.argToBoolean('no') is False
    with pytest.raises(ValueError):
        csp.argToBoolean('maybe')
    assert csp.arg_to_number('12') == 12 and csp.arg_to_number(None) is None
    with pytest.raises(ValueError):
        csp.arg_to_number('x', arg_name='n')
    assert csp.arg_to_datetime('2024-01-02T03:04:05Z').year == 2024


def test_integration_context_round_trip(monkeypatch):
    store = {}
    monkeypatch.setattr(demisto, 'demistoVersion', lambda: {'version': '8.9.0', 'buildNumber': '1'})
    monkeypatch.setattr(demisto, 'getIntegrationContextVersioned', lambda *a, **k: {'context': dict(store), 'version': 1})
    monkeypatch.setattr(demisto, 'setIntegrationContextVersioned', lambda ctx, *a, **k: store.update(ctx))
    csp.set_integration_context({'token': 't'})
    assert csp.get_integration_context() == {'token': 't'}


def test_demistomock_basics():
    assert isinstance(demisto.params(), dict)
    assert isinstance(demisto.args(), dict)
    assert 'id' in demisto.investigation()
    assert demisto.uniqueFile() != demisto.uniqueFile()
    json.dumps(demisto.demistoVersion())


def test_entry_constants():
    assert csp.entryTypes['file'] == 3 and csp.entryTypes['error'] == 4
    assert csp.formats['text'] == 'text'
    assert csp.EntryFormat.MARKDOWN == 'markdown'


def test_stand_ins_are_not_in_the_pack():
    from devtools.paths import ROOT
    for folder in ('Integrations', 'Scripts', 'Playbooks'):
        for base, _, files in os.walk(os.path.join(ROOT, folder)):
            assert 'CommonServerPython.py' not in files and 'demistomock.py' not in files, base
