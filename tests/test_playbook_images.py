"""The playbook diagrams and integration logos are produced by devtools/playbook_images.py and devtools/logos.py
from the YAML, are current, legible in size, and referenced where the Marketplace shows them."""
import io
import os

import pytest
import yaml
from PIL import Image

from devtools import logos, playbook_images
from devtools.paths import ROOT

PLAYBOOKS = sorted(f for f in os.listdir(os.path.join(ROOT, 'Playbooks')) if f.endswith('.yml'))


def test_every_image_and_logo_is_current():
    """Given the pack's YAML, when the images are drawn again, then every committed image equals the new bytes
    (run `python -m devtools.playbook_images` after changing a playbook)."""
    assert playbook_images.stale() == []


def test_drawing_is_deterministic():
    playbook = os.path.join(ROOT, 'Playbooks', PLAYBOOKS[0])
    with open(playbook) as f:
        data = yaml.safe_load(f)
    assert playbook_images.png_bytes(playbook_images.render(data)) == \
        playbook_images.png_bytes(playbook_images.render(yaml.safe_load(open(playbook))))


@pytest.mark.parametrize('file_name', PLAYBOOKS)
def test_each_playbook_has_its_diagram_referenced_from_its_readme(file_name):
    stem = file_name[len('playbook-'):-len('.yml')]
    image = os.path.join(ROOT, 'doc_files', stem + '.png')
    assert os.path.isfile(image)
    with open(os.path.join(ROOT, 'Playbooks', f'playbook-{stem}_README.md')) as f:
        assert f'(../doc_files/{stem}.png)' in f.read()
    with Image.open(image) as picture:  # 16 px text in 300 px boxes: readable at 100 % zoom, not shrunk
        assert picture.size[0] >= playbook_images.BOX_W and picture.size[1] >= 300


def test_boxes_carry_type_and_name_and_branches_their_labels():
    """Given a condition with branches, when laid out, then every task is a box with its type line and name and
    every branch an arrow with its label ('else' for the default)."""
    playbook = {'name': 'p', 'starttaskid': '0', 'tasks': {
        '0': {'type': 'start', 'task': {}, 'nexttasks': {'#none#': ['1']}},
        '1': {'type': 'condition', 'task': {'name': 'Which OS?'},
              'nexttasks': {'windows': ['2'], 'linux': ['2'], '#default#': ['3']}},
        '2': {'type': 'regular', 'task': {'name': 'Retrieve', 'script': 'B|||xdr-response-file-retrieve'},
              'nexttasks': {'#none#': ['3']}},
        '3': {'type': 'title', 'task': {'name': 'Done'}}}}
    boxes, routes = playbook_images.layout(playbook)
    assert [(b.kind_lines[0], b.name_lines[0]) for b in boxes] == [
        ('START', 'Playbook triggered'), ('CONDITION', 'Which OS?'),
        ('COMMAND - xdr-response-file-retrieve', 'Retrieve'), ('SECTION', 'Done')]
    assert sorted(r.label for r in routes) == ['', '', 'else', 'linux / windows']
    by_id = {b.task_id: b for b in boxes}
    assert by_id['0'].xy[1] < by_id['1'].xy[1] < by_id['2'].xy[1] < by_id['3'].xy[1]  # top to bottom


@pytest.mark.parametrize('path', sorted(logos.logo_images(ROOT)))
def test_logos_are_120x50_pngs_within_the_validate_limit(path):
    full = os.path.join(ROOT, path)
    data = open(full, 'rb').read()
    assert len(data) <= logos.MAX_BYTES
    with Image.open(io.BytesIO(data)) as picture:
        assert picture.format == 'PNG' and picture.size == (120, 50)
        assert picture.getbbox() is not None  # not blank


def test_every_integration_has_a_wordmark():
    integrations = sorted(d for d in os.listdir(os.path.join(ROOT, 'Integrations'))
                          if os.path.isdir(os.path.join(ROOT, 'Integrations', d)))
    assert sorted(logos.WORDMARKS) == integrations
