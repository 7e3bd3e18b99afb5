"""Property-based tests of Cortex XDR - Response Actions: arbitrary replies, argument strings and zip entries never
cause an unhandled exception.

"Handled" means the code returns normally or raises DemistoException (which main() turns into a clear error entry);
anything else (KeyError, AttributeError, TypeError, ...) is a bug.
"""
import json

import CortexXDRResponse as xdr
from CommonServerPython import DemistoException
from tests.strategies import SETTINGS, json_values  # first: it skips this module where hypothesis is absent

from hypothesis import given
from hypothesis import strategies as st

arg_text = st.one_of(st.none(), st.text(max_size=60), st.lists(st.text(max_size=20), max_size=5).map(','.join))


def handled(func, *args):
    try:
        func(*args)
    except DemistoException:
        pass
    except ValueError as error:  # argument helpers of CommonServerPython raise ValueError with a message
        assert str(error)


@SETTINGS
@given(json_values)
def test_error_body_description_never_crashes(body):
    text = xdr.describe_error_body(body)
    assert isinstance(text, str)
    assert isinstance(xdr.build_error_message(400, 'x/y', body), str)


@SETTINGS
@given(st.text(max_size=80))
def test_json_string_err_msg(err_msg):
    assert isinstance(xdr.describe_error_body({'err_msg': err_msg, 'err_extra': None}), str)


@SETTINGS
@given(json_values, st.text(max_size=10))
def test_action_status_parsing(reply, action_id):
    handled(xdr.parse_action_status, reply, action_id)


@SETTINGS
@given(st.fixed_dictionaries({}, optional={'name': arg_text, 'platform': arg_text, 'package_type': arg_text,
                                           'agent_version': arg_text, 'description': arg_text}))
def test_distribution_arguments(args):
    handled(xdr.build_distribution_request, args)


@SETTINGS
@given(st.fixed_dictionaries({}, optional={'windows_file_paths': arg_text, 'linux_file_paths': arg_text,
                                           'mac_file_paths': arg_text, 'generic_file_path': arg_text}))
def test_retrieval_paths(args):
    try:
        files = xdr.build_retrieval_files(args)
    except (DemistoException, ValueError):
        return
    batches = xdr.split_retrieval([f'e{i}' for i in range(15)], files)
    for endpoints, batch in batches:
        assert len(endpoints) <= xdr.MAX_ENDPOINTS_PER_RETRIEVAL
        assert sum(len(v) for v in batch.values()) <= xdr.MAX_FILES_PER_RETRIEVAL


@SETTINGS
@given(st.fixed_dictionaries({}, optional={'endpoint_id': arg_text, 'file_path': arg_text, 'file_hash': arg_text,
                                           'files': st.one_of(arg_text, json_values.map(json.dumps))}))
def test_quarantine_arguments(args):
    try:
        rows = xdr.build_quarantine_files(args)
    except (DemistoException, ValueError):
        return
    assert all(xdr.SHA256_RE.match(row['file_hash']) for row in rows)


@SETTINGS
@given(st.text(max_size=60))
def test_safe_file_names(name):
    assert xdr.safe_file_name(name)
