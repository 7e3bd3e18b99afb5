"""Property-based tests of EndpointResponseCoreApiModule: header and argument parsers never fail on any text."""
import pytest

from CommonServerPython import DemistoException
from EndpointResponseCoreApiModule import number_arg, parse_retry_after
from tests.strategies import SETTINGS  # first: it skips this module where hypothesis is absent

from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize('value', ['120', ' 7 ', '1.5', '99999999'])
def test_retry_after_numbers(value):
    assert parse_retry_after(value) >= 0


@SETTINGS
@given(st.text(max_size=30))
def test_retry_after_any_text(value):
    result = parse_retry_after(value)
    assert result is None or result >= 0


@SETTINGS
@given(st.one_of(st.none(), st.text(max_size=40), st.integers(), st.floats(allow_nan=True)))
def test_number_arg_any_value(value):
    try:
        number = number_arg({'n': value}, 'n', 5, 1, 1000)
    except DemistoException as error:
        assert 'n must be' in error.message and 'float' not in error.message
        return
    assert 1 <= number <= 1000
