"""Property-based tests of Cylance Optics - Packages: arbitrary ids, replies and texts never cause an unhandled
exception; tokens never survive redaction.
"""
import uuid

import CylanceOpticsPackages as cyl
from CommonServerPython import DemistoException
from tests.strategies import SETTINGS, json_values  # first: it skips this module where hypothesis is absent

from hypothesis import given
from hypothesis import strategies as st


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
