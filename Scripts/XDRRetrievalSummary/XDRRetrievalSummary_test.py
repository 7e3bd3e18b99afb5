import json

import pytest

import demistomock as demisto
from CommonServerPython import DemistoException
import XDRRetrievalSummary as script

ROWS = [
    {'action_id': 1, 'endpoint_id': 'ep-ok', 'status': 'COMPLETED_SUCCESSFULLY',
     'files': [{'name': 'a.exe', 'size': 10, 'sha256': 'aa' * 32}, {'name': 'b.sh', 'size': 5, 'sha256': 'bb' * 32}]},
    {'action_id': 1, 'endpoint_id': 'ep-bad', 'status': 'FAILED', 'error': 'The endpoint is disconnected'},
]


def test_summarise():
    table, succeeded, failed = script.summarise(ROWS)
    assert (succeeded, failed) == (1, 1)
    assert [row['File'] for row in table] == ['a.exe', 'b.sh', '']
    assert table[2]['Status'] == 'FAILED: The endpoint is disconnected'


@pytest.mark.parametrize('value, count', [(ROWS, 2), (ROWS[0], 1), (json.dumps(ROWS), 2), ('', 0)])
def test_parse_rows(value, count):
    assert len(script.parse_rows(value)) == count


@pytest.mark.parametrize('value', ['not json', '[1, 2]', 7])
def test_parse_rows_rejects(value):
    with pytest.raises(DemistoException):
        script.parse_rows(value)


def test_main(monkeypatch):
    entries: list = []
    monkeypatch.setattr(demisto, 'args', lambda: {'retrieved_files': ROWS})
    monkeypatch.setattr(demisto, 'results', entries.append)
    script.main()
    context = entries[0]['EntryContext']['XDRRetrievalSummary']
    assert context['Succeeded'] == 1 and context['Failed'] == 1
    assert '| ep-ok | a.exe | 10 | ' + 'aa' * 32 in context['Markdown']
    assert 'The endpoint is disconnected' in entries[0]['HumanReadable']
