"""Summarise a Retrieve File run for the war room: per endpoint, each file with size and SHA256, or why it failed."""
import demistomock as demisto  # noqa: F401
from CommonServerPython import *  # noqa: F401

import json
from typing import Any, Dict, List, Tuple


def parse_rows(value: Any) -> List[Dict[str, Any]]:
    """RetrievedFiles rows from a context value: a dict, a list of dicts or their JSON."""
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return []
        try:
            value = json.loads(value)
        except ValueError:
            raise DemistoException('retrieved_files must be the PaloAltoNetworksXDR.RetrievedFiles context (JSON).')
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        raise DemistoException('retrieved_files must be a list of PaloAltoNetworksXDR.RetrievedFiles rows.')
    return value


def summarise(rows: List[Dict[str, Any]]) -> Tuple[List[Dict[str, Any]], int, int]:
    """(table rows, endpoints with files, endpoints without)."""
    table, succeeded, failed = [], 0, 0
    for row in rows:
        files = row.get('files') or []
        if files:
            succeeded += 1
            for f in files:
                table.append({'Endpoint': row.get('endpoint_id'), 'File': f.get('name'), 'Size': f.get('size'),
                              'SHA256': f.get('sha256'), 'Status': row.get('status')})
        else:
            if row.get('error') or row.get('status') not in (None, 'PENDING', 'IN_PROGRESS'):
                failed += 1
            table.append({'Endpoint': row.get('endpoint_id'), 'File': '', 'Size': '', 'SHA256': '',
                          'Status': '{}: {}'.format(row.get('status'), row.get('error') or 'no file retrieved')})
    return table, succeeded, failed


def main():
    try:
        rows = parse_rows(demisto.args().get('retrieved_files'))
        table, succeeded, failed = summarise(rows)
        markdown = tableToMarkdown('Retrieve File summary: {} endpoint(s) with files, {} without'.format(
            succeeded, failed), table, headers=['Endpoint', 'File', 'Size', 'SHA256', 'Status'])
        return_results(CommandResults(outputs_prefix='XDRRetrievalSummary',
                                      outputs={'Markdown': markdown, 'Succeeded': succeeded, 'Failed': failed},
                                      readable_output=markdown))
    except Exception as error:
        return_error('XDRRetrievalSummary failed: {}'.format(error))


if __name__ in ('__main__', '__builtin__', 'builtins'):
    main()
