"""Summarise a Retrieve File run for the war room: per endpoint, each file with size and SHA256, or why it failed."""
import demistomock as demisto  # noqa: F401
from CommonServerPython import *  # noqa: F401

import json
from typing import Any

import requests

PENDING_STATUSES = ('PENDING', 'IN_PROGRESS', 'PENDING_ABORT')


def parse_rows(value: Any) -> list[dict[str, Any]]:
    """RetrievedFiles rows from a context value: a dict, a list of dicts or their JSON."""
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return []
        try:
            value = json.loads(value)
        except ValueError:
            raise DemistoException('retrieved_files must be the PaloAltoNetworksXDR.RetrievedFiles context (JSON).') from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        raise DemistoException('retrieved_files must be a list of PaloAltoNetworksXDR.RetrievedFiles rows.')
    return value


def summarise(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int, int]:
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
            still_running = str(row.get('status')).upper() in PENDING_STATUSES and not row.get('error')
            if not still_running:
                failed += 1
            reason = row.get('error') or row.get('note') or ('still running' if still_running else 'no file retrieved')
            table.append({'Endpoint': row.get('endpoint_id'), 'File': '', 'Size': '', 'SHA256': '',
                          'Status': '{}: {}'.format(row.get('status'), reason)})
    return table, succeeded, failed


# region error path (the same shape in every integration and script)

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

# endregion


def main() -> None:
    """Run the script; any failure is reported after the except block, in words."""
    failure = ''
    try:
        rows = parse_rows(demisto.args().get('retrieved_files'))
        table, succeeded, failed = summarise(rows)
        markdown = tableToMarkdown(f'Retrieve File summary: {succeeded} endpoint(s) with files, {failed} without', table,
                                   headers=['Endpoint', 'File', 'Size', 'SHA256', 'Status'])
        return_results(CommandResults(outputs_prefix='XDRRetrievalSummary',
                                      outputs={'Markdown': markdown, 'Succeeded': succeeded, 'Failed': failed},
                                      readable_output=markdown))
    except Exception as error:  # every failure becomes one plain error entry
        failure = describe_failure(error)
    if failure:
        return_error('{} failed: {}'.format('XDRRetrievalSummary', failure))


if __name__ in ('__main__', '__builtin__', 'builtins'):
    main()
