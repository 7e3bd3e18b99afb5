"""Property-based tests of Cylance Optics - Packages: arbitrary ids, replies and texts never cause an unhandled
exception; tokens never survive redaction.
"""
import uuid

import CylanceOpticsPackages as cyl
import pytest
from CommonServerPython import DemistoException

pytest.importorskip('hypothesis', reason='the property tests need hypothesis, which the docker-image test venvs of '
                    '.ci/run do not install; bash devtools/dev.sh test runs them')
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20)


@SETTINGS
@given(st.one_of(st.none(), st.text(max_size=50), st.uuids().map(str)))
def test_cylance_package_id_validation(value):
    """Given any text, When it is validated as a package id, Then it is either the canonical UUID or a clear error."""
    try:
        canonical = cyl.validate_package_id(value)
    except DemistoException as error:
        assert 'package_id must be a package UUID' in str(error)
        return
    assert canonical == str(uuid.UUID(canonical)) == str(uuid.UUID(str(value).strip()))


@SETTINGS
@given(json_values)
def test_cylance_package_parsing(body):
    try:
        package = cyl.require_package(body, 'x')
    except DemistoException:
        return
    assert isinstance(cyl.package_summary(package), dict)


@SETTINGS
@given(st.text(max_size=60))
def test_cylance_token_expiry_and_redaction(text):
    assert cyl.token_expiry(text) > 0
    assert 'Bearer ' + 'x' * 8 not in cyl.redact('Bearer ' + 'x' * 8 + text, [])
