"""Puts the XSOAR runtime (ours, or the real files named by XSOAR_RUNTIME_DIR) and the pack's code on sys.path.

Inside XSOAR, ``demistomock`` and ``CommonServerPython`` come from the platform. Here they come from
``devtools/xsoar_runtime`` unless ``XSOAR_RUNTIME_DIR`` points at a folder holding the real files, in
which case those are imported instead and the suite must pass unchanged.
"""
import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, ROOT)
from devtools.paths import runtime_dir, code_dirs  # noqa: E402

for _path in reversed([runtime_dir()] + code_dirs()):
    if _path not in sys.path:
        sys.path.insert(0, _path)

# Every process the suite starts must end with it (tests/process_leaks.py).
pytest_plugins = ['tests.process_leaks']
