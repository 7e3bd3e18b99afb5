"""The generated blocks: each integration and script carries its ApiModules byte for byte (devtools/sync.py)."""
import os

import pytest

from devtools import sync
from devtools.paths import ROOT

USERS = {
    'Integrations/CortexXDRResponse/CortexXDRResponse.py': {'EndpointResponseCoreApiModule', 'StreamingZipApiModule'},
    'Integrations/CylanceOpticsPackages/CylanceOpticsPackages.py': {'EndpointResponseCoreApiModule'},
    'Scripts/XDRBuildRetrievePaths/XDRBuildRetrievePaths.py': {'EndpointResponseCoreApiModule'},
    'Scripts/XDRRetrievalSummary/XDRRetrievalSummary.py': {'EndpointResponseCoreApiModule'},
}


def read(path):
    with open(os.path.join(ROOT, path)) as f:
        return f.read()


@pytest.mark.parametrize('path', sorted(USERS))
def test_every_block_is_its_module_source_byte_for_byte(path):
    """
    Given a file that uses ApiModules
    When its GENERATED CODE blocks are read
    Then it has exactly the expected blocks and each holds its module's source unchanged
    """
    blocks = sync.blocks_in(read(path))
    assert set(blocks) == USERS[path]
    for name, text in blocks.items():
        source = read(f'ApiModules/{name}/{name}.py')
        assert text == sync.block(name) and source.rstrip('\n') in text, f'{path}: {name} differs; run dev.sh sync'


def test_a_second_sync_changes_nothing():
    """
    Given the files as committed
    When sync runs in check mode
    Then nothing would change (the committed files are the synced ones)
    """
    assert sync.sync(check=True) == []


def test_a_drifted_block_is_found_and_rewritten():
    """
    Given a block whose text differs from its source by one character, and a bare import line
    When synced
    Then both become the module's source, and syncing again changes nothing
    """
    name = 'StreamingZipApiModule'
    drifted = sync.block(name).replace('ZIP_CHUNK_SIZE = 1 << 20', 'ZIP_CHUNK_SIZE = 1 << 21')
    text = 'header\n' + drifted + 'middle\nfrom EndpointResponseCoreApiModule import *  # noqa: E402\nfooter\n'
    assert drifted != sync.block(name)
    once = sync.synced(text)
    assert sync.blocks_in(once) == {name: sync.block(name),
                                    'EndpointResponseCoreApiModule': sync.block('EndpointResponseCoreApiModule')}
    assert once.startswith('header\n') and once.endswith('footer\n') and 'middle\n' in once
    assert sync.synced(once) == once


def test_no_module_is_shipped_as_an_item_of_its_own():
    """
    Given the pack folders
    When searched for ApiModule sources
    Then none is there (they live in ApiModules/, which the build leaves out)
    """
    for folder in ('Integrations', 'Scripts', 'Playbooks'):
        for base, dirs, files in os.walk(os.path.join(ROOT, folder)):
            assert not [f for f in files + dirs if 'ApiModule' in f], base
