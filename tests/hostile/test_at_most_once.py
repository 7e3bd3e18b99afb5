"""At most once: an action whose answer is lost after the server carried it out is never sent again.

The analyst reads that the action may have happened and how to check; Cylance run-package finds the execution it
just created instead. Reads are retried on 502/503/504; an action refused with 429 or 503 + Retry-After (not carried
out) is retried and carried out once.
"""
import io
import re
import zipfile
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest

from devtools.emulator import content
from devtools.emulator.cylance import API_USER
from devtools.runner import errors_of, get_context_path
from tests.hostile.conftest import (CYLANCE, OK_DEVICE, OK_ENDPOINT, WIN_PATH, XDR, assert_plain_error,
                                    xdr_completed_action)

READY_PACKAGE = content.package_id(0)
AMBIGUOUS = [
    pytest.param({'then': 'status', 'status': 504}, id='504'),
    pytest.param({'then': 'status', 'status': 502}, id='502'),
    pytest.param({'then': 'reset'}, id='reset'),
    pytest.param({'then': 'stall', 'seconds': 4}, id='stall-past-the-timeout'),
]
HINT = re.compile(r'check|verify|look|list|search|console', re.IGNORECASE)


def python_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w') as archive:
        archive.writestr('main.py', b'print("hello")\n')
    return buffer.getvalue()


def war_room_zip(session, tmp_path) -> str:
    path = tmp_path / f'pkg-{len(session.files)}.zip'
    path.write_bytes(python_zip())
    session.files['900@1'] = {'name': 'pkg.zip', 'path': str(path)}
    return '900@1'


def new_execution(session) -> dict[str, str]:
    entries = session.execute('cylance-optics-run-package', {'package': READY_PACKAGE, 'device_ids': OK_DEVICE,
                                                             'polling': 'false'}, using=CYLANCE)
    assert not errors_of(entries)
    return {'execution_id': get_context_path(session.context, 'CylanceOptics.Execution.id')}


class Action(NamedTuple):
    """A command whose request is an action, how to find that request, how to count what the server committed."""
    integration: str
    command: str
    args: dict[str, Any]
    path: str
    method: str
    exact: bool
    committed: Callable[[Any], int]
    setup: Callable[[Any, Any], dict[str, str]] | None = None


ACTIONS = {
    'xdr-file-retrieval': Action(
        XDR, 'xdr-response-file-retrieve', {'endpoint_ids': OK_ENDPOINT, 'windows_file_paths': WIN_PATH,
                                            'polling': 'false'},
        '/public_api/v1/endpoints/file_retrieval', 'POST', True, lambda h: len(h.xdr().actions)),
    'xdr-distribution-create': Action(
        XDR, 'xdr-response-create-distribution', {'name': 'IR', 'platform': 'linux', 'package_type': 'standalone',
                                                  'agent_version': '8.4.0.1'},
        '/public_api/v1/distributions/create', 'POST', True, lambda h: len(h.xdr().distributions)),
    'cylance-create-package': Action(
        CYLANCE, 'cylance-optics-create-package', {'name': 'IR-Collect', 'entry_point': 'main.py', 'polling': 'false'},
        '/packages/v2', 'POST', True,
        lambda h: sum(1 for p in h.cylance().packages.values() if p['uploadedBy'] == API_USER),
        lambda h, session: {'entry_id': war_room_zip(session, h.tmp_path)}),
    'cylance-upload-package': Action(
        CYLANCE, 'cylance-optics-create-package', {'name': 'IR-Collect', 'entry_point': 'main.py', 'polling': 'false'},
        '/_uploads/optics/', 'PUT', False, lambda h: len(h.cylance().files),
        lambda h, session: {'entry_id': war_room_zip(session, h.tmp_path)}),
}
DELETE = Action(CYLANCE, 'cylance-optics-delete-execution', {}, '/packages/v2/executions/', 'DELETE', False,
                lambda h: 1 - len(h.cylance().executions), lambda h, session: new_execution(session))
RUN = Action(CYLANCE, 'cylance-optics-run-package', {'package': READY_PACKAGE, 'device_ids': OK_DEVICE,
                                                     'polling': 'false'},
             '/packages/v2/executions', 'POST', True, lambda h: len(h.cylance().executions))


def run_action(hostile, action: Action, fault_kind: str, **fault: Any):
    session = hostile.session(action.integration, 'advanced' if action.integration == XDR else 'standard')
    args = dict(action.args, **(action.setup(hostile, session) if action.setup else {}))
    hostile.emulator.add_fault(action.path, fault_kind, count=1, method=action.method, exact=action.exact, **fault)
    entries = session.execute(action.command, args, using=action.integration)
    received = hostile.requests_to(action.path, action.method, action.exact)
    return session, entries, received


@pytest.mark.parametrize('answer', AMBIGUOUS)
@pytest.mark.parametrize('name', list(ACTIONS))
def test_action_answered_ambiguously_is_sent_once(hostile, name, answer):
    """Given the server carries out the action and then answers 504/502, resets or stalls past the timeout
    When the command runs
    Then the server received the action exactly once and the analyst reads that it may have happened and how
    to check."""
    action = ACTIONS[name]
    session, entries, received = run_action(hostile, action, 'after_commit', **answer)
    assert len(received) == 1, f'the server received the action {len(received)} times'
    assert action.committed(hostile) == 1
    text = assert_plain_error(entries)
    assert 'may have' in text.lower(), f'the analyst is not told the action may have happened: {text[:600]}'
    assert HINT.search(text.split('may have', 1)[-1]), f'no hint how to check: {text[:600]}'


@pytest.mark.parametrize('answer', AMBIGUOUS)
def test_cylance_delete_execution_confirms_after_an_ambiguous_answer(hostile, answer):
    """Given the server deletes the execution and then answers 504/502, resets or stalls past the timeout
    When cylance-optics-delete-execution runs
    Then the delete was received once, the integration looks the execution up (gone) and says so plainly."""
    session, entries, received = run_action(hostile, DELETE, 'after_commit', **answer)
    assert len(received) == 1, f'the server received the delete {len(received)} times'
    assert DELETE.committed(hostile) == 1
    assert not errors_of(entries), errors_of(entries)
    text = ' '.join(str(e.get('HumanReadable') or '') for e in entries)
    assert 'it was not sent again' in text.lower() and 'execution is gone' in text


@pytest.mark.parametrize('answer', AMBIGUOUS)
def test_cylance_run_package_finds_the_execution_after_an_ambiguous_answer(hostile, answer):
    """Given the execution is created and its answer is lost (504/502, reset, stall past the timeout)
    When cylance-optics-run-package runs
    Then the integration lists the executions, finds the one it created and carries on: one execution exists,
    its id is in CylanceOptics.Execution.id and the command succeeds."""
    session, entries, received = run_action(hostile, RUN, 'after_commit', **answer)
    assert len(received) == 1, f'the execution was requested {len(received)} times'
    executions = hostile.cylance().executions
    assert len(executions) == 1, f'{len(executions)} executions exist on the server'
    assert hostile.requests_to('/packages/v2/executions', 'GET', exact=True), 'the executions were not listed'
    assert not errors_of(entries), errors_of(entries)
    assert get_context_path(session.context, 'CylanceOptics.Execution.id') == next(iter(executions))


class Read(NamedTuple):
    integration: str
    command: str
    args: dict[str, Any]
    path: str
    setup: Callable[[Any], dict[str, str]] | None = None


def xdr_action_args(session) -> dict[str, str]:
    return {'action_id': xdr_completed_action(session)}


READS = {
    'xdr-versions': Read(XDR, 'xdr-response-get-distribution-versions', {}, '/distributions/get_versions'),
    'xdr-action-status': Read(XDR, 'xdr-response-action-status-get', {}, '/actions/get_action_status',
                              xdr_action_args),
    'xdr-download-link': Read(XDR, 'xdr-response-retrieve-file-details', {}, '/public_api/v1/download/',
                              xdr_action_args),
    'cylance-get-package': Read(CYLANCE, 'cylance-optics-get-package', {'package_id': READY_PACKAGE},
                                f'/packages/v2/{READY_PACKAGE}'),
    'cylance-list-executions': Read(CYLANCE, 'cylance-optics-list-executions', {}, '/packages/v2/executions'),
    'cylance-download': Read(CYLANCE, 'cylance-optics-download-package', {'package_id': READY_PACKAGE},
                             '/_storage/packages/'),
}


@pytest.mark.parametrize('status', [502, 503, 504])
@pytest.mark.parametrize('name', list(READS))
def test_read_is_retried(hostile, name, status):
    """Given a read answering 502/503/504 once
    When the command runs
    Then the read is sent again and the command succeeds."""
    read = READS[name]
    session = hostile.session(read.integration)
    args = dict(read.args, **(read.setup(session) if read.setup else {}))
    hostile.emulator.add_fault(read.path, 'status', count=1, status=status)
    entries = session.execute(read.command, args, using=read.integration)
    assert len(hostile.requests_to(read.path)) >= 2, 'the read was not retried'
    assert not errors_of(entries), errors_of(entries)


@pytest.mark.parametrize('status', [429, 503])
@pytest.mark.parametrize('name', [*ACTIONS, 'cylance-run-package'])
def test_refused_action_is_retried_and_done_once(hostile, name, status):
    """Given an action refused with 429 or 503 and Retry-After (the server did not carry it out)
    When the command runs
    Then it is sent again after the wait, succeeds, and the server carried it out exactly once."""
    action = RUN if name == 'cylance-run-package' else ACTIONS[name]
    session, entries, received = run_action(hostile, action, 'status', status=status, retry_after=1)
    assert len(received) == 2, f'the action was sent {len(received)} times'
    assert not errors_of(entries), errors_of(entries)
    assert action.committed(hostile) == 1
