"""The offline release helper: bump, release notes from git, refusal while placeholders remain."""
import json
import os

import pytest

from devtools import content_checks, release
from devtools.paths import ROOT
from devtools.sdk import git


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / 'pack'
    root.mkdir()
    with open(os.path.join(ROOT, 'pack_metadata.json')) as f:
        metadata = dict(json.load(f), currentVersion='1.0.0')  # the fixture's own history starts at 1.0.0
    (root / 'pack_metadata.json').write_text(json.dumps(metadata))
    (root / 'ReleaseNotes').mkdir()
    (root / 'ReleaseNotes' / '1_0_0.md').write_text('#### Integrations\n\n##### X\n\n- first\n')
    integration = root / 'Integrations' / 'Foo'
    integration.mkdir(parents=True)
    (integration / 'Foo.yml').write_text('name: Foo Integration\ndisplay: Foo Display\n')
    (integration / 'Foo.py').write_text('x = 1\n')
    script = root / 'Scripts' / 'Bar'
    script.mkdir(parents=True)
    (script / 'Bar.yml').write_text('name: BarScript\n')
    (script / 'Bar.py').write_text('y = 1\n')
    git(str(root), 'init', '-q')
    git(str(root), 'add', '-A')
    git(str(root), 'commit', '-qm', 'init')
    return root


def test_bump_parts():
    assert release.bump('1.2.3', 'revision') == '1.2.4'
    assert release.bump('1.2.3', 'minor') == '1.3.0'
    assert release.bump('1.2.3', 'major') == '2.0.0'


def test_bump_creates_notes_for_changed_items_and_check_refuses_placeholders(repo):
    (repo / 'Integrations' / 'Foo' / 'Foo.py').write_text('x = 2\n')
    (repo / 'Integrations' / 'Foo' / 'Foo_test.py').write_text('')  # tests alone are not a change of the item
    assert release.main(['--root', str(repo), 'bump', 'revision']) == 0
    assert json.loads((repo / 'pack_metadata.json').read_text())['currentVersion'] == '1.0.1'
    notes = (repo / 'ReleaseNotes' / '1_0_1.md').read_text()
    assert '#### Integrations' in notes and '##### Foo Display' in notes
    assert 'BarScript' not in notes
    assert release.main(['--root', str(repo), 'check']) == 1  # placeholder still there
    (repo / 'ReleaseNotes' / '1_0_1.md').write_text(notes.replace(release.PLACEHOLDER, 'Fixed the foo.'))
    assert release.main(['--root', str(repo), 'check']) == 0


def test_bump_refuses_without_changes(repo):
    assert release.main(['--root', str(repo), 'bump', 'minor']) == 1
    assert json.loads((repo / 'pack_metadata.json').read_text())['currentVersion'] == '1.0.0'


def test_check_rejects_empty_sections():
    assert release.check_notes('#### Scripts\n\n##### A\n\n') == ['section "A" has no bullet']
    assert release.check_notes('') == ['no "##### <item>" section']


def test_current_pack_release_notes_are_complete():
    assert release.main(['check']) == 0


def test_release_notes_need_only_the_items_changed_since_the_previous_version(repo):
    """
    Given a repository at 1.0.0 whose Foo integration then changes in a 1.0.1 commit
    When the 1.0.1 notes are checked before and after that commit
    Then the base is HEAD, then the last 1.0.0 commit; Foo must be named, the unchanged Bar script need not be
    """
    assert release.previous_version_base(str(repo)) is None  # no earlier version: every item is required
    first = git(str(repo), 'rev-parse', 'HEAD').strip()
    (repo / 'Integrations' / 'Foo' / 'Foo.py').write_text('x = 2\n')
    assert release.main(['--root', str(repo), 'bump', 'revision']) == 0
    assert release.previous_version_base(str(repo)) == first  # the bump is not committed yet
    (repo / 'ReleaseNotes' / '1_0_1.md').write_text('#### Integrations\n\n##### Other\n\n- Fixed.\n')
    git(str(repo), 'add', '-A')
    git(str(repo), 'commit', '-qm', '1.0.1')
    assert release.previous_version_base(str(repo)) == first
    assert content_checks.check_release_notes(str(repo)) == [
        'Foo Display is not in the release notes 1_0_1.md']
    (repo / 'ReleaseNotes' / '1_0_1.md').write_text('#### Integrations\n\n##### Foo Display\n\n- Fixed.\n')
    assert content_checks.check_release_notes(str(repo)) == []


def test_release_notes_in_a_shallow_clone_need_sound_sections(repo, tmp_path):
    """
    Given a shallow clone (its history may not reach the previous version)
    When its notes are checked
    Then the base is unknown, and only notes without a bulleted section are refused
    """
    (repo / 'Integrations' / 'Foo' / 'Foo.py').write_text('x = 2\n')
    assert release.main(['--root', str(repo), 'bump', 'revision']) == 0
    (repo / 'ReleaseNotes' / '1_0_1.md').write_text('#### Integrations\n\n##### Foo Display\n\n- Fixed.\n')
    git(str(repo), 'add', '-A')
    git(str(repo), 'commit', '-qm', '1.0.1')
    clone = tmp_path / 'shallow'
    git(str(tmp_path), 'clone', '-q', '--depth', '1', repo.as_uri(), str(clone))
    assert release.previous_version_base(str(clone)) == release.SHALLOW
    assert content_checks.check_release_notes(str(clone)) == []
    (clone / 'ReleaseNotes' / '1_0_1.md').write_text('#### Integrations\n')
    assert content_checks.check_release_notes(str(clone)) == [
        'release notes 1_0_1.md: no "##### <item>" section']
