"""The helpers every integration needs stay identical copies (integrations are self-contained, so they are copies)."""
import glob
import os
import re

from devtools.paths import ROOT

BLOCK = re.compile(r'^# region shared helpers \(identical copy in every integration\)\n(.*?)^# endregion shared helpers$',
                   re.S | re.M)
SHARED_NAMES = ('HTTPStatusError', 'RateLimited', 'parse_retry_after', 'RetryGate', 'call_with_retries', 'run_bounded',
                'single_arg', 'safe_file_name', 'new_war_room_file_path', 'file_entry', 'remove_quietly', 'redact',
                'describe_failure')


def shared_blocks():
    blocks = {}
    for path in sorted(glob.glob(os.path.join(ROOT, 'Integrations', '*', '*.py'))):
        if path.endswith('_test.py'):
            continue
        with open(path) as f:
            found = BLOCK.findall(f.read())
        blocks[os.path.basename(path)] = found
    return blocks


def test_every_integration_has_exactly_one_shared_block_with_the_shared_helpers():
    """
    Given every integration's code
    When its shared helper block is looked up
    Then there is exactly one, and it defines every shared helper
    """
    blocks = shared_blocks()
    assert set(blocks) == {'CortexXDRResponse.py', 'CylanceOpticsPackages.py'}
    for name, found in blocks.items():
        assert len(found) == 1, name
        for helper in SHARED_NAMES:
            assert re.search(rf'^(def|class) {helper}\b', found[0], re.M), (name, helper)


def test_the_shared_blocks_are_identical():
    """
    Given the shared helper blocks of both integrations
    When compared
    Then they are the same text, so a fix in one copy cannot drift from the other
    """
    texts = {name: found[0] for name, found in shared_blocks().items()}
    first, *others = texts.values()
    assert all(text == first for text in others), 'shared helper blocks differ: copy the changed one to the others'


def test_the_block_pattern_finds_a_drift():
    """
    Given two blocks that differ by one character
    When compared the way the test above does
    Then they are different (the check can fail)
    """
    block = '# region shared helpers (identical copy in every integration)\n{}\n# endregion shared helpers\n'
    assert BLOCK.findall(block.format('x = 1')) != BLOCK.findall(block.format('x = 2'))


SCRIPT_BLOCK = re.compile(r'^# region error path \(the same shape in every integration and script\)\n\n(.*?)\n# endregion$',
                          re.S | re.M)


def failure_words_of(text):
    """FAILURE_KINDS and describe_failure, as written in a piece of code."""
    start = text.index('FAILURE_KINDS')
    end = text.index("                'an unexpected internal error occurred.')\n", start)
    return text[start:end]


def test_scripts_describe_failures_like_the_integrations():
    """
    Given both scripts' error-path blocks and an integration's shared block
    When their failure descriptions are compared
    Then they are the same code, so a user reads the same words from every part of the pack
    """
    integration = shared_blocks()['CortexXDRResponse.py'][0]
    for path in sorted(glob.glob(os.path.join(ROOT, 'Scripts', '*', '*.py'))):
        if path.endswith('_test.py'):
            continue
        with open(path) as f:
            found = SCRIPT_BLOCK.findall(f.read())
        assert len(found) == 1, path
        assert failure_words_of(found[0]) == failure_words_of(integration), path
