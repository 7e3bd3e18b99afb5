import pytest

from CommonServerPython import DemistoException
import XDRBuildRetrievePaths as script
from tests.fakes import run_entry_point


def test_infers_os_from_path_shape():
    assert script.build_paths(['C:\\Temp\\a.exe', '/tmp/b.sh', '\\\\srv\\share\\c.dll'], []) == {
        'windows': ['C:\\Temp\\a.exe', '\\\\srv\\share\\c.dll'], 'linux': ['/tmp/b.sh'], 'macos': ['/tmp/b.sh']}


def test_os_per_path_and_for_all():
    assert script.build_paths(['/tmp/a', '/Users/x/b'], ['linux', 'macOS']) == {
        'windows': [], 'linux': ['/tmp/a'], 'macos': ['/Users/x/b']}
    assert script.build_paths(['/tmp/a', '/tmp/b'], ['Darwin']) == {'windows': [], 'linux': [], 'macos': ['/tmp/a',
                                                                                                       '/tmp/b']}


@pytest.mark.parametrize('paths, oses, problem', [
    (['relative.txt'], [], 'Cannot tell the OS'),
    (['C:\\a'], ['linux'], 'is not a linux path'),
    (['/a', '/b', '/c'], ['linux', 'macos'], 'one value per file path'),
    (['/a'], ['solaris'], 'Unknown endpoint OS'),
])
def test_errors(paths, oses, problem):
    with pytest.raises(DemistoException, match=problem):
        script.build_paths(paths, oses)


def run(monkeypatch, args):
    return run_entry_point(monkeypatch, script.main, args=args)


def test_main_merges_explicit_lists(monkeypatch):
    entries = run(monkeypatch, {'file_paths': 'C:\\a.exe', 'linux_file_paths': '/etc/x'})
    assert entries[0]['EntryContext'] == {'XDRRetrievePaths': {'windows': ['C:\\a.exe'], 'linux': ['/etc/x'],
                                                               'macos': []}}
    assert 'C:\\a.exe' in entries[0]['HumanReadable']


def test_main_error_entry(monkeypatch):
    entries = run(monkeypatch, {})
    assert entries[0]['Type'] == 4 and 'No file paths' in entries[0]['Contents']
