"""Offline runs of "Cylance Optics - Run Package on Devices" against the emulator: every branch, the failure paths
included (a failing device is named, a zone reports counts only, a package that cannot run stops the playbook)."""
import pytest

from devtools import instances
from devtools.emulator import content
from devtools.playbooks import PlaybookError, run_playbook
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
    run = run_playbook(session, PLAYBOOK, {'package': 'Collect-Autoruns', 'package_version': '1.0.0',
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
    run = run_playbook(session, PLAYBOOK, {'package': READY_PACKAGE, 'device_ids': OK_DEVICE,
                                           'interval_in_seconds': '10'})
    assert run.task_path[-2:] == ['Say every device succeeded', 'Done']
    assert printed(session)[-1] == 'The package ran successfully on every target device.'


def test_a_zone_reports_counts_only(session):
    """Given a zone with a failing device
    When the playbook runs on the zone
    Then it says how many devices did not succeed and that the API does not say which."""
    run = run_playbook(session, PLAYBOOK, {'package': READY_PACKAGE, 'zone_ids': FAILING_DEVICE,
                                           'interval_in_seconds': '10'})
    assert 'Run the package on the zones' in run.task_path
    assert run.task_path[-2:] == ['Say how many devices did not succeed', 'Done']
    assert printed(session)[-1].startswith('1 device(s) per execution did not succeed; the API reports counts only')


def test_one_execution_for_all_devices_cannot_name_them(session):
    """Given two devices in one execution (execution_per_device false), one failing
    When the playbook runs
    Then it reports the count without guessing which device failed."""
    run = run_playbook(session, PLAYBOOK, {'package': READY_PACKAGE, 'execution_per_device': 'false',
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
        run_playbook(session, PLAYBOOK, {'package': package, 'device_ids': OK_DEVICE})
