"""Offline runs of "Cylance Optics - Run Package on Devices" against the emulator: every branch, the failure paths
included (a failing device is named, a zone reports counts only, a package that cannot run stops the playbook), and
the approval an analyst gives (or refuses) before anything runs unless AutoRun is true."""
import pytest

from devtools import __main__ as cli
from devtools import instances
from devtools.emulator import content
from devtools.playbooks import ManualTaskError, PlaybookError, PlaybookRun, run_playbook
from devtools.runner import Session, get_context_path

PLAYBOOK = 'Cylance Optics - Run Package on Devices'
OK_DEVICE = 'a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90'
FAILING_DEVICE = 'DEAD0000111122223333444455556666'
READY_PACKAGE = content.package_id(0)


def printed(session):
    return [str(e.get('Contents')) for e in session.entries if e.get('Source') == 'Print']


def as_list(value):
    return value if isinstance(value, list) else ([] if value is None else [value])


def test_a_failing_device_is_named(session):
    """Given a package (by name and version) and two devices, one of which fails
    When the playbook runs with one execution per device (its default)
    Then each execution's counts are reported and the failing device, only it, is named."""
    run = run_playbook(session, PLAYBOOK, {'AutoRun': 'true', 'package': 'Collect-Autoruns', 'package_version': '1.0.0',
                                           'device_ids': f'{OK_DEVICE},{FAILING_DEVICE}',
                                           'arguments': '-browser ALL', 'interval_in_seconds': '10'})
    assert 'Run the package on the devices' in run.task_path
    assert run.task_path[-2:] == ['Name the devices that did not succeed', 'Done']
    counts, named = printed(session)
    assert counts.startswith('Executions ') and 'succeeded 1,0 / failed 0,1 of 1,1 online device(s)' in counts
    assert named == f'These devices did not succeed: {FAILING_DEVICE}.'
    assert len(as_list(get_context_path(session.context, 'CylanceOptics.Execution'))) == 2


def test_every_device_succeeds(session):
    """Given devices that all run the package
    When the playbook runs
    Then it says so."""
    run = run_playbook(session, PLAYBOOK, {'AutoRun': 'true', 'package': READY_PACKAGE, 'device_ids': OK_DEVICE,
                                           'interval_in_seconds': '10'})
    assert run.task_path[-2:] == ['Say every device succeeded', 'Done']
    assert printed(session)[-1] == 'The package ran successfully on every target device.'


def test_a_zone_reports_counts_only(session):
    """Given a zone with a failing device
    When the playbook runs on the zone
    Then it says how many devices did not succeed and that the API does not say which."""
    run = run_playbook(session, PLAYBOOK, {'AutoRun': 'true', 'package': READY_PACKAGE, 'zone_ids': FAILING_DEVICE,
                                           'interval_in_seconds': '10'})
    assert 'Run the package on the zones' in run.task_path
    assert run.task_path[-2:] == ['Say how many devices did not succeed', 'Done']
    assert printed(session)[-1].startswith('1 device(s) per execution did not succeed; the API reports counts only')


def test_one_execution_for_all_devices_cannot_name_them(session):
    """Given two devices in one execution (execution_per_device false), one failing
    When the playbook runs
    Then it reports the count without guessing which device failed."""
    run = run_playbook(session, PLAYBOOK, {'AutoRun': 'true', 'package': READY_PACKAGE, 'execution_per_device': 'false',
                                           'device_ids': f'{OK_DEVICE},{FAILING_DEVICE}',
                                           'interval_in_seconds': '10'})
    assert run.task_path[-2] == 'Say how many devices did not succeed'


@pytest.mark.parametrize('inputs', [{}, {'device_ids': OK_DEVICE, 'zone_ids': FAILING_DEVICE}])
def test_devices_xor_zones(session, emulator, inputs):
    """Given neither devices nor zones, or both
    When the playbook runs
    Then nothing is run and the War Room says what is needed."""
    run = run_playbook(session, PLAYBOOK, dict(inputs, package=READY_PACKAGE))
    assert run.task_path[-2:] == ['Say what to run on', 'Done']
    assert printed(session) == ['Nothing was run: give device_ids or zone_ids (one of them, not both).']
    assert not [r for r in emulator.request_log() if r['path'].startswith('/packages/')]


def test_disabled_integration_is_said_plainly(emulator, tmp_path):
    """Given no enabled Cylance Optics instance
    When the playbook runs
    Then it says the integration is not enabled."""
    session = Session(instances={k: v for k, v in instances.emulator_params(emulator).items()
                                 if k != 'CylanceOpticsPackages'}, workdir=str(tmp_path))
    run = run_playbook(session, PLAYBOOK, {'package': READY_PACKAGE, 'device_ids': OK_DEVICE})
    assert 'Say the integration is not enabled' in run.task_path


@pytest.mark.parametrize('package, problem', [('No-Such-Package', 'No package is named "No-Such-Package"'),
                                              (content.package_id(2), 'cannot run: its upload status is started')])
def test_a_package_that_cannot_run_stops_the_playbook(session, package, problem):
    """Given a package name no package has, or a package whose upload has not succeeded
    When the playbook runs
    Then the run task fails with the reason (the playbook stops there, as the server would)."""
    with pytest.raises(PlaybookError, match=problem):
        run_playbook(session, PLAYBOOK, {'package': package, 'device_ids': OK_DEVICE}, answers=['yes'])


def execution_requests(emulator):
    return [r for r in emulator.request_log() if r['method'] == 'POST' and r['path'] == '/packages/v2/executions']


def test_autorun_true_runs_without_asking(session, emulator):
    """Given AutoRun true
    When the playbook runs
    Then no question is asked and the package runs as before the approval gate existed."""
    run = run_playbook(session, PLAYBOOK, {'AutoRun': 'true', 'package': READY_PACKAGE, 'device_ids': OK_DEVICE,
                                           'interval_in_seconds': '10'})
    assert run.questions == [] and 'Run the package on the targets?' not in run.task_path
    assert len(execution_requests(emulator)) == 1


def test_approval_yes_runs_the_package(session, emulator):
    """Given AutoRun left at its default (false)
    When the playbook runs and the analyst answers yes
    Then the question showed the package, its arguments and the devices, and the execution was created."""
    run = run_playbook(session, PLAYBOOK, {'package': 'Collect-Autoruns', 'package_version': '1.0.0',
                                           'device_ids': OK_DEVICE, 'arguments': '-browser ALL',
                                           'interval_in_seconds': '10'}, answers=['yes'])
    [question] = run.questions
    assert question.task == 'Run the package on the targets?' and question.answer == 'yes'
    assert question.options == ['yes', 'no']
    for shown in ('Package: Collect-Autoruns', 'Version: 1.0.0', 'Arguments: -browser ALL', f'Devices: {OK_DEVICE}'):
        assert shown in question.text
    assert printed(session)[0].startswith('Waiting for an analyst to approve')  # the War Room says it too
    assert run.task_path.index('Run the package on the targets?') < run.task_path.index('Run the package on the devices')
    assert len(execution_requests(emulator)) == 1
    assert get_context_path(session.context, 'CylanceOptics.Execution.progress.allSucceeded') is True
    assert run.task_path[-2:] == ['Say every device succeeded', 'Done']


def test_approval_no_runs_nothing_and_says_so(session, emulator):
    """Given AutoRun false on a zone
    When the analyst answers no
    Then nothing reaches the executions endpoint, the playbook ends at Done and the War Room says the analyst declined."""
    run = run_playbook(session, PLAYBOOK, {'AutoRun': 'false', 'package': READY_PACKAGE, 'zone_ids': FAILING_DEVICE},
                       answers=['No'])
    assert f'Zones: {FAILING_DEVICE}' in run.questions[0].text and run.questions[0].answer == 'no'
    assert run.task_path[-2:] == ['Say the analyst declined', 'Done']
    assert printed(session)[-1].startswith('The package was not run: the analyst declined')
    assert f'Zones: {FAILING_DEVICE}' in printed(session)[-1]
    assert not [r for r in emulator.request_log() if r['path'].startswith('/packages/v2/executions')]
    assert get_context_path(session.context, 'CylanceOptics') is None


def test_an_unanswered_approval_is_a_clear_error_not_a_guess(session, emulator):
    """Given no answer to give (a non-interactive run)
    When the playbook reaches the approval
    Then it stops with the question and the answers it takes; nothing ran."""
    with pytest.raises(ManualTaskError, match='waits for an answer \\(yes or no\\)') as raised:
        run_playbook(session, PLAYBOOK, {'package': READY_PACKAGE, 'device_ids': OK_DEVICE})
    assert f'Devices: {OK_DEVICE}' in str(raised.value)
    with pytest.raises(ManualTaskError, match='"maybe" is not an answer to this task; answer yes or no'):
        run_playbook(session, PLAYBOOK, {'package': READY_PACKAGE, 'device_ids': OK_DEVICE}, answers=['maybe'])
    assert not execution_requests(emulator)


def test_answers_can_come_from_a_callback(session):
    """Given a run whose answers come from a callback (the CLI asks on a terminal this way)
    When the approval is reached
    Then the callback sees the question and its answer picks the branch."""
    seen = []

    def ask(question):
        seen.append(question.task)
        return 'no'

    run = PlaybookRun(PLAYBOOK, ask=ask)
    run_playbook(session, PLAYBOOK, {'package': READY_PACKAGE, 'device_ids': OK_DEVICE}, run=run)
    assert seen == ['Run the package on the targets?'] and run.task_path[-1] == 'Done'


def test_every_device_failing_is_never_reported_as_success(session):
    """Given the only target device fails
    When the playbook runs with AutoRun true
    Then the error that stops the run names the device (the partial-failure rule: every target failed is an error
    entry, and a full failure still stops)."""
    with pytest.raises(PlaybookError, match=FAILING_DEVICE):
        run_playbook(session, PLAYBOOK, {'AutoRun': 'true', 'package': READY_PACKAGE,
                                         'device_ids': FAILING_DEVICE, 'interval_in_seconds': '10'})
    assert 'The package ran successfully on every target device.' not in printed(session)


def cli_run(capsys, tmp_path, *args):
    code = cli.main(['playbook', PLAYBOOK, *args, '--out', str(tmp_path / 'out')])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_takes_the_answer_from_an_option(capsys, tmp_path):
    """Given --answer no
    When the playbook runs from the command line
    Then the question and the answer are printed, and the War Room note that nothing ran."""
    code, out, _ = cli_run(capsys, tmp_path, f'package={READY_PACKAGE}', f'device_ids={OK_DEVICE}', '--answer', 'no')
    assert code == 0
    assert 'Asked: Run the package on the targets?' in out and 'Answer: no' in out
    assert '[NOTE] Say the analyst declined (Print)' in out and 'the analyst declined' in out


def test_cli_without_an_answer_stops_with_exit_2(capsys, tmp_path, monkeypatch):
    """Given no --answer and no terminal
    When the playbook reaches the approval
    Then it says which question waits and how to answer, exit code 2, no traceback."""
    monkeypatch.setattr('sys.stdin.isatty', lambda: False, raising=False)
    code, out, err = cli_run(capsys, tmp_path, f'package={READY_PACKAGE}', f'device_ids={OK_DEVICE}')
    assert code == 2
    assert 'PLAYBOOK WAITING' in err and 'Run the package on the targets?' in err and '--answer <yes|no>' in err
    assert 'Traceback' not in err and 'Task path:' in out
