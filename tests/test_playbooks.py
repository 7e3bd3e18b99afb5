"""Every playbook and test playbook of the pack runs offline to completion against the emulator, with
assertions on the context it leaves; plus tests of the offline executor itself."""
import os
from typing import Any

import pytest
import yaml

from devtools import __main__ as cli
from devtools import instances
from devtools.emulator import content
from devtools.paths import ROOT
from devtools.playbooks import ManualTaskError, PlaybookError, Resolver, run_playbook
from devtools.runner import Session, get_context_path

OK = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'
FAIL = 'fail0000111122223333444455556666'


def as_list(value):
    return value if isinstance(value, list) else ([] if value is None else [value])


TEST_PLAYBOOKS = sorted(f for f in os.listdir(os.path.join(ROOT, 'TestPlaybooks')) if f.endswith('.yml'))


@pytest.mark.parametrize('file_name', TEST_PLAYBOOKS)
def test_every_test_playbook_passes(session, file_name):
    run = run_playbook(session, os.path.join(ROOT, 'TestPlaybooks', file_name))
    assert run.task_path[-1].strip() == 'Test passed', run.task_path
    assert not any(name.strip().startswith('Fail:') for name in run.task_path)


def test_every_playbook_has_a_test_playbook():
    names = set()
    for file_name in TEST_PLAYBOOKS:
        with open(os.path.join(ROOT, 'TestPlaybooks', file_name)) as f:
            names.add(yaml.safe_load(f)['name'])
    for folder in ('Playbooks', 'Integrations', 'Scripts'):
        for name in os.listdir(os.path.join(ROOT, folder)):
            path = os.path.join(ROOT, folder, name) if folder == 'Playbooks' else \
                os.path.join(ROOT, folder, name, name + '.yml')
            if not path.endswith('.yml') or not os.path.isfile(path):
                continue
            with open(path) as f:
                data = yaml.safe_load(f)
            assert data['name'] + ' Test' in names, data['name']
            assert data['name'] + ' Test' in (data.get('tests') or []) or folder != 'Playbooks'


def test_retrieve_files_playbook_context(session):
    """Given two endpoints, one of which fails (the emulator's failing endpoint)
    When the playbook runs
    Then the other endpoint's files are in context, the failed row has its reason, the partial-failure branch names
    the failed endpoint (only it) in a note and in XDRRetrievalCheck.Failed, and the playbook goes on to Done."""
    win, unix = 'C:\\Users\\jdoe\\invoice.exe', '/tmp/miner.sh'
    run = run_playbook(session, 'Cortex XDR - Retrieve Files',
                       {'endpoint_ids': f'{OK},{FAIL}', 'file_paths': f'{win},{unix}'})
    assert 'Summarise the retrieval' in run.task_path
    files = as_list(get_context_path(session.context, 'File'))
    assert sorted(f['SHA256'] for f in files) == sorted(content.retrieved_file_sha256(OK, p) for p in (win, unix))
    rows = {r['endpoint_id']: r for r in as_list(get_context_path(session.context, 'PaloAltoNetworksXDR.RetrievedFiles'))}
    assert rows[FAIL]['status'] == 'FAILED' and 'disconnected' in rows[FAIL]['error']
    assert 'error' not in rows[OK]
    assert_partial_failure_reported(run, session)
    assert run.errors == []  # the partial-failure rule: some endpoints failed, so no error entry
    assert get_context_path(session.context, 'XDRRetrievalSummary.Succeeded') == 1


def assert_partial_failure_reported(run, session):
    steps = run.task_path
    assert steps.index('Summarise the retrieval') < steps.index('Did some endpoints fail?') \
        < steps.index('Name the endpoints that failed') < steps.index('Was every expected SHA256 retrieved?')
    assert steps[-1] == 'Done'
    assert get_context_path(session.context, 'XDRRetrievalCheck.Failed') == [FAIL]
    [note] = [text for text in notes(session) if text.startswith('Files could not be retrieved from these endpoints')]
    assert FAIL in note and OK not in note


def test_retrieve_partial_failure_branches_without_an_error_entry(session):
    """Given the partial-failure rule (some endpoints failed: results and reasons, no error entry)
    When the playbook runs on a working and a failing endpoint
    Then the branch is taken from the context alone: the failed endpoint is named and the playbook ends at Done."""
    run = run_playbook(session, RETRIEVE, {'endpoint_ids': f'{OK},{FAIL}', 'file_paths': WIN})
    assert run.errors == [] and not session_errors(session)
    assert_partial_failure_reported(run, session)
    assert get_context_path(session.context, 'File.SHA256') == content.retrieved_file_sha256(OK, WIN)


def test_retrieve_without_failures_names_no_endpoint(session):
    """Given only a working endpoint, When the playbook runs, Then the failure branch is not taken."""
    run = run_playbook(session, RETRIEVE, {'endpoint_ids': OK, 'file_paths': WIN})
    assert 'Did some endpoints fail?' in run.task_path and 'Name the endpoints that failed' not in run.task_path
    assert get_context_path(session.context, 'XDRRetrievalCheck.Failed') is None and run.errors == []


def test_quarantine_playbook_reads_the_incident_file_context(session):
    hashes = ['9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
              '60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752']
    session.context['File'] = [{'SHA256': h, 'Path': f'C:\\x{i}.exe'} for i, h in enumerate(hashes)]
    run_playbook(session, 'Cortex XDR - Check Quarantine Status', {'endpoint_id': OK})
    rows = as_list(get_context_path(session.context, 'PaloAltoNetworksXDR.quarantineFiles.status'))
    assert [r['status'] for r in rows] == [content.is_quarantined(h) for h in hashes]
    assert [r['filePath'] for r in rows] == ['C:\\x0.exe', 'C:\\x1.exe']


def notes(session):
    """The text of the plain (non-error) War Room entries, in order."""
    return [str(e.get('Contents')) for e in session.entries if e.get('Type') == 1 and isinstance(e.get('Contents'), str)]


PACKAGE = 'Cortex XDR - Create Agent Installation Package'


@pytest.mark.parametrize('extra, download_type', [
    ({'platform': 'windows'}, 'x64'),
    ({'platform': 'windows', 'url_package_type': 'x86'}, 'x86'),
    ({'platform': 'Windows', 'url_package_type': 'X64'}, 'x64'),
    ({'platform': 'linux'}, 'sh'),
    ({'platform': 'linux', 'url_package_type': 'rpm'}, 'rpm'),
    ({'platform': 'linux', 'url_package_type': 'deb'}, 'deb'),
    ({'platform': 'macos'}, 'pkg'),
    ({'platform': 'macos', 'package_type': 'upgrade'}, 'upgrade'),
    ({'platform': 'linux', 'package_type': 'upgrade', 'url_package_type': 'upgrade'}, 'upgrade'),
])
def test_package_download_type_follows_the_platform(session, extra, download_type):
    """Given a package for a platform (and maybe an asked download type), when the playbook runs,
    then it asks for the URL of the type that fits and the URL is in context."""
    run_playbook(session, PACKAGE, dict({'name': 'pb', 'agent_version': '8.4.0.12344'}, **extra))
    assert get_context_path(session.context, 'XDRInstallationPackage.DownloadType') == download_type
    assert f'/{download_type}?sig=' in get_context_path(session.context, 'PaloAltoNetworksXDR.Distribution.url')
    assert not session_errors(session)


def session_errors(session):
    return [e for e in session.entries if e.get('Type') == 4]


def test_package_download_adds_the_file(session):
    """Given download=true for a macOS package, when the playbook runs, then the pkg file is in the incident."""
    run = run_playbook(session, PACKAGE, {'name': 'pb', 'platform': 'macos', 'agent_version': '8.4.0.12344',
                                          'download': 'true'})
    assert 'Get the URL and download the package' in run.task_path
    assert get_context_path(session.context, 'File.Name').endswith('.pkg')


def test_android_package_is_created_and_the_playbook_stops_plainly(session):
    """Given an Android package (with an agent version the API would refuse), when the playbook runs, then the
    package is created without the version, no URL is asked for, and a note says why - not an error."""
    run = run_playbook(session, PACKAGE, {'name': 'pb', 'platform': 'android', 'agent_version': '8.4.0.12344'})
    assert run.task_path[-2:] == ['Say there is no download for this platform', 'Done']
    assert get_context_path(session.context, 'PaloAltoNetworksXDR.Distribution.status') == 'Completed'
    assert get_context_path(session.context, 'PaloAltoNetworksXDR.Distribution.url') is None
    assert 'no download type' in notes(session)[-1] and not session_errors(session)


@pytest.mark.parametrize('extra, says', [
    ({'platform': 'linux', 'url_package_type': 'x64'}, 'does not fit a linux standalone package'),
    ({'platform': 'windows', 'url_package_type': 'pkg'}, 'does not fit a windows standalone package'),
    ({'platform': 'android', 'url_package_type': 'x64'}, 'does not fit a android standalone package'),
    ({'platform': 'windows', 'package_type': 'upgrade', 'url_package_type': 'x64'}, 'windows upgrade package'),
    ({}, 'needs a platform'),
])
def test_package_inputs_that_cannot_work_stop_before_anything_is_created(session, extra, says):
    """Given a download type that does not fit the package, or no platform, when the playbook runs, then nothing
    is created and a note says what is wrong."""
    run_playbook(session, PACKAGE, dict({'name': 'pb', 'agent_version': '8.4.0.12344'}, **extra))
    assert get_context_path(session.context, 'PaloAltoNetworksXDR.Distribution') is None
    assert says in notes(session)[-1] and 'Nothing was created' in notes(session)[-1]


def test_failed_package_is_reported_without_an_error_loop(session):
    """Given a package the server fails to build, when the playbook runs, then it reports the status in a note,
    asks for no URL and ends at Done."""
    run = run_playbook(session, PACKAGE, {'name': 'pb fail', 'platform': 'linux', 'agent_version': '8.4.0.12344'})
    assert run.task_path[-2:] == ['Say the package was not created', 'Done']
    assert get_context_path(session.context, 'PaloAltoNetworksXDR.Distribution.status') == 'Failed'
    assert 'status is Failed' in notes(session)[-1]


def test_package_download_type_of_a_previous_run_does_not_leak(session):
    """Given a Linux run left its download type in context, when an Android package follows, then it gets none."""
    run_playbook(session, PACKAGE, {'name': 'pb', 'platform': 'linux', 'agent_version': '8.4.0.12344'})
    run_playbook(session, PACKAGE, {'name': 'pb2', 'platform': 'android'})
    assert get_context_path(session.context, 'XDRInstallationPackage.DownloadType') is None


QUARANTINE = 'Cortex XDR - Check Quarantine Status'
SHA = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'


def test_quarantine_with_nothing_to_check_says_so(session):
    """Given no inputs and no File context, when the playbook runs, then a note says there is nothing to check."""
    run = run_playbook(session, QUARANTINE, {})
    assert run.task_path[-2:] == ['Say there is nothing to check', 'Done']
    assert notes(session)[-1].startswith('Nothing to check')
    assert get_context_path(session.context, 'PaloAltoNetworksXDR') is None


@pytest.mark.parametrize('given, named', [
    ({'endpoint_id': OK}, 'file_path (file path), file_hash (SHA256)'),
    ({'file_hash': SHA}, 'endpoint_id (endpoint ID), file_path (file path)'),
    ({'endpoint_id': OK, 'file_path': 'C:\\a.exe'}, 'file_hash (SHA256)'),
    ({'file_path': 'C:\\a.exe', 'file_hash': SHA}, 'endpoint_id (endpoint ID).'),
])
def test_quarantine_with_partial_inputs_names_what_is_missing(session, given, named):
    """Given only some of endpoint, path and SHA256, when the playbook runs, then one note names the missing ones
    and Cortex XDR is not called."""
    run_playbook(session, QUARANTINE, given)
    assert notes(session)[-1].endswith('Missing: ' + named + ('' if named.endswith('.') else '.'))
    assert get_context_path(session.context, 'PaloAltoNetworksXDR') is None


RETRIEVE = 'Cortex XDR - Retrieve Files'
WIN, UNIX = 'C:\\Users\\jdoe\\invoice.exe', '/tmp/miner.sh'


def xdr_incident(endpoint_id=OK):
    """The context the official Cortex XDR - IR integration leaves on a fetched incident
    (xdr-get-incident-extra-data: PaloAltoNetworksXDR.Incident.alerts.*)."""
    return {'PaloAltoNetworksXDR': {'Incident': {'incident_id': '42', 'alerts': [
        {'alert_id': '1', 'endpoint_id': endpoint_id, 'host_name': 'WS-JDOE', 'action_file_path': WIN,
         'action_file_sha256': content.retrieved_file_sha256(endpoint_id, WIN)},
        {'alert_id': '2', 'endpoint_id': endpoint_id, 'action_file_path': UNIX,
         'action_file_sha256': 'e' * 64},
        {'alert_id': '3', 'endpoint_id': 'net00000000000000000000000000000', 'action_file_path': None,
         'action_file_sha256': None}]}}}


def test_retrieve_runs_with_no_inputs_on_an_xdr_incident(session):
    """Given an XDR incident's alerts in context, when the playbook runs with no inputs, then it retrieves the
    alerts' files from the endpoints that have file alerts and names the expected SHA256 it did not get."""
    session.context.update(xdr_incident())
    run = run_playbook(session, RETRIEVE, {})
    rows = as_list(get_context_path(session.context, 'PaloAltoNetworksXDR.RetrievedFiles'))
    assert [r['endpoint_id'] for r in rows] == [OK]
    assert sorted(as_list(get_context_path(session.context, 'File.SHA256'))) == sorted(
        content.retrieved_file_sha256(OK, p) for p in (WIN, UNIX))
    assert get_context_path(session.context, 'XDRRetrievalCheck.NotRetrieved') == ['e' * 64]
    assert 'e' * 64 in notes(session)[-1] and run.task_path[-1] == 'Done'


def test_retrieve_explicit_inputs_win_over_the_incident(session):
    """Given an XDR incident in context, when file_paths is given, then only that file is retrieved."""
    session.context.update(xdr_incident())
    run_playbook(session, RETRIEVE, {'file_paths': UNIX, 'file_sha256': content.retrieved_file_sha256(OK, UNIX)})
    assert get_context_path(session.context, 'File.SHA256') == content.retrieved_file_sha256(OK, UNIX)
    assert get_context_path(session.context, 'XDRRetrievalCheck') is None


@pytest.mark.parametrize('given, step, says', [
    ({}, 'Say there are no endpoint IDs', 'no endpoint IDs were given'),
    ({'endpoint_ids': OK}, 'Say there are no file paths', 'no file paths were given'),
])
def test_retrieve_with_nothing_to_retrieve_says_what_is_missing(session, given, step, says):
    """Given no endpoints or no paths (and no XDR incident), when the playbook runs, then a note says which."""
    run = run_playbook(session, RETRIEVE, given)
    assert run.task_path[-2:] == [step, 'Done'] and says in notes(session)[-1]
    assert get_context_path(session.context, 'PaloAltoNetworksXDR') is None


def test_retrieve_with_every_endpoint_failing(session):
    """Given only a failing endpoint, when the playbook runs, then the failure is an error entry, the task
    continues (marked failed), the summary is written, the endpoint is named and no file is in context."""
    run = run_playbook(session, RETRIEVE, {'endpoint_ids': FAIL, 'file_paths': WIN})
    assert len(run.errors) == 1 and FAIL in run.errors[0]  # every target failed: still an error entry (flagged)
    assert get_context_path(session.context, 'PaloAltoNetworksXDR.RetrievedFiles.status') == 'FAILED'
    assert get_context_path(session.context, 'File') is None
    assert 'Summarise the retrieval' in run.task_path
    assert get_context_path(session.context, 'XDRRetrievalCheck.Failed') == [FAIL] and run.task_path[-1] == 'Done'


def test_disabled_integration_is_said_plainly(emulator, tmp_path):
    session = Session(instances={k: v for k, v in instances.emulator_params(emulator).items()
                                 if k != 'CortexXDRResponse'}, workdir=str(tmp_path))
    run = run_playbook(session, 'Cortex XDR - Retrieve Files', {'endpoint_ids': OK, 'file_paths': 'C:\\a.exe'})
    assert 'Say the integration is not enabled' in run.task_path
    assert any('is not enabled' in str(e.get('Contents')) for e in session.entries)


def playbook(tasks, inputs=None):
    return {'name': 'unit', 'starttaskid': '0', 'tasks': tasks, 'inputs': inputs or []}


def test_unsupported_constructs_are_clear_errors(session):
    with pytest.raises(PlaybookError, match='task type "collection" is not supported'):
        run_playbook(session, playbook({'0': {'id': '0', 'type': 'start', 'task': {}, 'nexttasks': {'#none#': ['1']}},
                                        '1': {'id': '1', 'type': 'collection', 'task': {'name': 'ask'}}}))
    with pytest.raises(PlaybookError, match='transformer "Base64Encode" is not supported'):
        Resolver(session, {}).complex({'root': 'x', 'transformers': [{'operator': 'Base64Encode'}]}, 'here')
    with pytest.raises(PlaybookError, match='condition operator "inRange" is not supported'):
        Resolver(session, {}).compare({'operator': 'inRange'}, 'here')
    with pytest.raises(PlaybookError, match='command xdr-nope does not exist'):
        run_playbook(session, playbook({'0': {'id': '0', 'type': 'regular', 'task': {'script': '|||xdr-nope'}}}))
    with pytest.raises(PlaybookError, match='unknown input'):
        run_playbook(session, playbook({'0': {'id': '0', 'type': 'start', 'task': {}}}), {'nope': 1})


def test_complex_arguments_filters_and_transformers(session):
    session.context['File'] = [{'Name': 'a', 'SHA256': 'X1'}, {'Name': 'b', 'SHA256': ''}, {'Name': 'c', 'SHA256': 'X1'}]
    resolver = Resolver(session, {'ids': 'e1, e2,e1'})
    spec = {'root': 'File', 'filters': [[{'operator': 'isNotEmpty', 'left': {'value': {'simple': 'SHA256'},
                                                                            'iscontext': True}}]],
            'accessor': None}
    spec.pop('accessor')
    assert [f['Name'] for f in resolver.complex(spec, 'x')] == ['a', 'c']
    assert resolver.complex({'root': 'File', 'accessor': 'SHA256', 'transformers': [
        {'operator': 'uniq'}, {'operator': 'toLowerCase'}]}, 'x') == ['x1']
    assert resolver.complex({'root': 'inputs.ids', 'transformers': [
        {'operator': 'split', 'args': {'delimiter': {'value': {'simple': ','}}}}, {'operator': 'uniq'}]}, 'x') == \
        ['e1', 'e2']
    assert resolver.simple('n=${File.Name}') == 'n=a,b,c'


def test_filters_select_root_items_before_the_accessor(session):
    session.context.update(xdr_incident())
    resolver = Resolver(session, {})
    root = 'PaloAltoNetworksXDR.Incident.alerts'
    spec = {'root': root, 'accessor': 'endpoint_id', 'filters': [[
        {'operator': 'isNotEmpty', 'left': {'value': {'simple': root + '.action_file_path'}, 'iscontext': True}}]],
        'transformers': [{'operator': 'uniq'}]}
    assert resolver.complex(spec, 'x') == [OK]


def test_list_comparisons_concat_and_complex_condition_sides(session):
    session.context['Seen'] = ['A1', 'b2']
    resolver = Resolver(session, {'want': ['a1', 'c3']})
    missing = {'root': 'inputs.want', 'filters': [[{'operator': 'isNotEqualString',
                                                    'left': {'value': {'simple': 'inputs.want'}, 'iscontext': True},
                                                    'right': {'value': {'simple': 'Seen'}, 'iscontext': True}}]],
               'transformers': [{'operator': 'join', 'args': {'separator': {'value': {'simple': ', '}}}},
                                {'operator': 'concat', 'args': {'prefix': {'value': {'simple': 'missing: '}},
                                                                'suffix': {'value': {'simple': '.'}}}}]}
    assert resolver.complex(missing, 'x') == 'missing: c3.'
    assert resolver.compare({'operator': 'isNotEmpty', 'left': {'value': {'complex': missing}, 'iscontext': True}},
                            'x')
    assert resolver.compare({'operator': 'isEqualString', 'left': {'value': {'simple': 'Seen'}, 'iscontext': True},
                             'right': {'value': {'simple': 'B2'}}}, 'x')


def test_set_appends_and_reads_json(session):
    tasks = {'0': {'id': '0', 'type': 'regular', 'task': {'name': 'a', 'scriptName': 'Set'}, 'nexttasks': {'#none#': ['1']},
                   'scriptarguments': {'key': {'simple': 'X.Missing'}, 'value': {'simple': 'one'},
                                       'append': {'simple': 'true'}}},
             '1': {'id': '1', 'type': 'regular', 'task': {'name': 'b', 'scriptName': 'Set'}, 'nexttasks': {'#none#': ['2']},
                   'scriptarguments': {'key': {'simple': 'X.Missing'}, 'value': {'simple': 'two'},
                                       'append': {'simple': 'true'}}},
             '2': {'id': '2', 'type': 'regular', 'task': {'name': 'c', 'scriptName': 'Set'},
                   'scriptarguments': {'key': {'simple': 'Y.Obj'}, 'value': {'simple': '{"a": [1, 2]}'}}}}
    run_playbook(session, playbook(tasks))
    assert get_context_path(session.context, 'X.Missing') == ['one', 'two']
    assert get_context_path(session.context, 'Y.Obj.a') == [1, 2]


def test_failed_task_stops_the_playbook_unless_continue_on_error(session):
    tasks: dict[str, dict[str, Any]] = {
        '0': {'id': '0', 'type': 'regular', 'task': {'name': 'boom', 'scriptName': 'PrintErrorEntry'},
              'scriptarguments': {'message': {'simple': 'broken'}}, 'nexttasks': {'#none#': ['1']}},
        '1': {'id': '1', 'type': 'title', 'task': {'name': 'after'}}}
    with pytest.raises(PlaybookError, match='broken'):
        run_playbook(session, playbook(tasks))
    tasks['0']['continueonerror'] = True
    assert run_playbook(session, playbook(tasks)).task_path == ['boom', 'after']


def test_manual_condition_takes_the_branch_answered(session):
    """Given a manual condition (no conditions, no script; branches yes/no) whose message body has references
    When the playbook runs with answers
    Then the question shows the resolved body and each answer picks its branch; without one it is a clear error."""
    tasks = {'0': {'id': '0', 'type': 'start', 'task': {}, 'nexttasks': {'#none#': ['1']}},
             '1': {'id': '1', 'type': 'condition', 'task': {'name': 'Go on?', 'description': 'Decide.'},
                   'message': {'body': {'simple': 'About ${inputs.what}'}},
                   'nexttasks': {'yes': ['2'], 'no': ['3']}},
             '2': {'id': '2', 'type': 'title', 'task': {'name': 'went on'}},
             '3': {'id': '3', 'type': 'title', 'task': {'name': 'stopped'}}}
    book = playbook(tasks, [{'key': 'what', 'value': {'simple': 'the thing'}}])
    assert run_playbook(session, book, answers=['YES']).task_path[-1] == 'went on'
    run = run_playbook(session, book, answers=['no'])
    assert run.task_path[-1] == 'stopped' and run.questions[0].text == 'Go on?\nDecide.\nAbout the thing'
    with pytest.raises(ManualTaskError, match=r'waits for an answer \(yes or no\):\nGo on\?'):
        run_playbook(session, book)


def dev_playbook(capsys, tmp_path, *args):
    code = cli.main(['playbook', *args, '--out', str(tmp_path / 'out')])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_run_prints_the_war_room_notes(capsys, tmp_path):
    """Given no inputs, When Retrieve Files runs from the command line, Then the note that explains why nothing was
    retrieved is printed (with the task that wrote it) before the context."""
    code, out, _ = dev_playbook(capsys, tmp_path, RETRIEVE)
    assert code == 0
    assert '[NOTE] Say there are no endpoint IDs (Print)\n      Nothing to retrieve: no endpoint IDs were given' in out
    assert out.index('Task path:') < out.index('War Room:') < out.index('Context:')


def test_cli_run_prints_error_entries(capsys, tmp_path):
    """Given only a failing endpoint, When the playbook runs from the command line, Then the error entry (the task
    continued) and the note naming the endpoint are printed."""
    code, out, _ = dev_playbook(capsys, tmp_path, RETRIEVE, f'endpoint_ids={FAIL}', f'file_paths={WIN}')
    assert code == 0
    assert '[ERROR] Retrieve the files and wait for every endpoint (Cortex XDR - Response Actions)' in out
    assert f'Files could not be retrieved from these endpoints: {FAIL}.' in out


def test_cli_unknown_playbook_lists_the_playbooks(capsys, tmp_path):
    code, _, err = dev_playbook(capsys, tmp_path, 'No Such Playbook')
    assert code == 2
    assert 'No playbook named "No Such Playbook"' in err and f'"{RETRIEVE}"' in err and f'"{PACKAGE} Test"' in err
    assert 'Traceback' not in err


def test_cli_unknown_input_lists_the_inputs(capsys, tmp_path):
    code, out, err = dev_playbook(capsys, tmp_path, RETRIEVE, 'endpoints=x', f'file_paths={WIN}')
    assert code == 2
    assert 'unknown input(s) endpoints; its inputs: endpoint_ids, file_paths, file_sha256' in err
    assert 'Task path' not in out  # refused before anything ran


@pytest.mark.parametrize('path', [os.path.join(folder, name) for folder in ('Playbooks', 'TestPlaybooks')
                                  for name in sorted(os.listdir(os.path.join(ROOT, folder))) if name.endswith('.yml')])
def test_task_ids_are_unique(path):
    """A task id written twice in a playbook YAML is silently dropped by the loader (the last one wins)."""
    with open(os.path.join(ROOT, path)) as f:
        ids = [line.split(':')[0].strip().strip("'\"") for line in f if line.startswith('  ') and not
               line.startswith('   ') and line.rstrip().endswith(':') and line.strip()[:1] in ("'", '"')]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
