"""One error path everywhere: failures are reported after the except block, so the real return_error logs no traceback."""
import ast
import glob
import os

import pytest

from devtools.paths import ROOT

PACK_CODE = sorted(path for folder in ('Integrations', 'Scripts')
                   for path in glob.glob(os.path.join(ROOT, folder, '*', '*.py')) if not path.endswith('_test.py'))


def calls_inside_except(tree, name):
    """Line numbers of calls to `name` lexically inside an except handler."""
    lines = []
    for handler in (node for node in ast.walk(tree) if isinstance(node, ast.ExceptHandler)):
        for node in ast.walk(handler):
            if isinstance(node, ast.Call) and getattr(node.func, 'id', getattr(node.func, 'attr', None)) == name:
                lines.append(node.lineno)
    return lines


def test_the_pack_has_code_to_check():
    """
    Given the pack folders
    When their code files are listed
    Then both integrations and both scripts are there (an empty list would make the next test pass vacuously)
    """
    names = {os.path.basename(path) for path in PACK_CODE}
    assert {'CortexXDRResponse.py', 'CylanceOpticsPackages.py', 'XDRRetrievalSummary.py',
            'XDRBuildRetrievePaths.py'} <= names


@pytest.mark.parametrize('path', PACK_CODE, ids=os.path.basename)
def test_no_return_error_inside_an_except_block(path):
    """
    Given an integration or script
    When its syntax tree is read
    Then return_error is never called inside an except block, and main() calls it (after the block), itself or
    through the core module's report_failure
    """
    with open(path) as f:
        tree = ast.parse(f.read())
    assert calls_inside_except(tree, 'return_error') == []
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    reporters = {'return_error'} | ({'report_failure'} if calls_of(functions.get('report_failure'), 'return_error')
                                    else set())
    assert any(calls_of(functions['main'], name) for name in reporters)


def calls_of(function, name):
    """Whether function (an ast.FunctionDef, or None) calls name (directly; the shared report_failure counts)."""
    return function is not None and any(isinstance(node, ast.Call) and getattr(node.func, 'id', None) == name
                                        for node in ast.walk(function))


def test_the_check_finds_a_return_error_inside_except():
    """
    Given code that reports inside its except block
    When checked
    Then the call is found
    """
    tree = ast.parse('def main():\n    try:\n        run()\n    except Exception as e:\n        return_error(str(e))\n')
    assert calls_inside_except(tree, 'return_error') == [5]
