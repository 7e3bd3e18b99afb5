"""Every playbook and test playbook of the pack runs offline to completion against the emulator, with
assertions on the context it leaves; plus tests of the offline executor itself."""
import os

import pytest
import yaml

from devtools import instances
from devtools.emulator import Emulator, content
from devtools.paths import ROOT
from devtools.playbooks import PlaybookError, Resolver, run_playbook
from devtools.runner import Session, get_context_path

OK = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'
FAIL = 'fail0000111122223333444455556666'


@pytest.fixture(scope='module')
def emulator():
    with Emulator() as emu:
        yield emu


@pytest.fixture
def session(emulator, tmp_path):
    return Session(instances=instances.emulator_params(emulator), workdir=str(tmp_path / 'work'))


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
    for folder, key in (('Playbooks', None), ('Integrations', 'display'), ('Scripts', 'name')):
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
    win, unix = 'C:\\Users\\jdoe\\invoice.exe', '/tmp/miner.sh'
    run = run_playbook(session, 'Cortex XDR - Retrieve Files',
                       {'endpoint_ids': '{},{}'.format(OK, FAIL), 'file_paths': '{},{}'.format(win, unix)})
    assert 'Summarise the retrieval' in run.task_path
    files = as_list(get_context_path(session.context, 'File'))
    assert sorted(f['SHA256'] for f in files) == sorted(content.retrieved_file_sha256(OK, p) for p in (win, unix))
    rows = {r['endpoint_id']: r for r in as_list(get_context_path(session.context, 'PaloAltoNetworksXDR.RetrievedFiles'))}
    assert rows[FAIL]['status'] == 'FAILED' and 'disconnected' in rows[FAIL]['error']
    assert len(run.errors) == 1 and FAIL in run.errors[0]  # the error entry names the endpoint; the task continued
    assert get_context_path(session.context, 'XDRRetrievalSummary.Succeeded') == 1


def test_quarantine_playbook_reads_the_incident_file_context(session):
    hashes = ['9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
              '60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752']
    session.context['File'] = [{'SHA256': h, 'Path': 'C:\\x{}.exe'.format(i)} for i, h in enumerate(hashes)]
    run_playbook(session, 'Cortex XDR - Check Quarantine Status', {'endpoint_id': OK})
    rows = as_list(get_context_path(session.context, 'PaloAltoNetworksXDR.quarantineFiles.status'))
    assert [r['status'] for r in rows] == [content.is_quarantined(h) for h in hashes]
    assert [r['filePath'] for r in rows] == ['C:\\x0.exe', 'C:\\x1.exe']


def test_create_package_playbook(session):
    run = run_playbook(session, 'Cortex XDR - Create Agent Installation Package', {
        'name': 'pb', 'platform': 'linux', 'package_type': 'standalone', 'agent_version': '8.4.0.12344',
        'url_package_type': 'rpm'})
    assert 'Get the download URL' in run.task_path and 'Get the URL and download the package' not in run.task_path
    assert get_context_path(session.context, 'PaloAltoNetworksXDR.Distribution.url')
    assert get_context_path(session.context, 'File') is None


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


def test_failed_task_stops_the_playbook_unless_continue_on_error(session):
    tasks = {'0': {'id': '0', 'type': 'regular', 'task': {'name': 'boom', 'scriptName': 'PrintErrorEntry'},
                   'scriptarguments': {'message': {'simple': 'broken'}}, 'nexttasks': {'#none#': ['1']}},
             '1': {'id': '1', 'type': 'title', 'task': {'name': 'after'}}}
    with pytest.raises(PlaybookError, match='broken'):
        run_playbook(session, playbook(tasks))
    tasks['0']['continueonerror'] = True
    assert run_playbook(session, playbook(tasks)).task_path == ['boom', 'after']
