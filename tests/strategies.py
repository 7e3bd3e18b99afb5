"""Hypothesis settings and strategies shared by the property tests beside each integration.

Importing this module skips the importing test module where hypothesis is not installed (the docker-image test
venvs of .ci/run); `bash devtools/dev.sh test` runs them.
"""
import pytest

pytest.importorskip('hypothesis', reason='the property tests need hypothesis, which the docker-image test venvs of '
                    '.ci/run do not install; bash devtools/dev.sh test runs them')
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20)
