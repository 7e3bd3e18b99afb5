"""Property-based tests of StreamingZipApiModule: arbitrary entry names and zips (whole or cut short) are extracted
or refused cleanly, never with another exception and never leaving a partial file."""
import io
import zipfile

from StreamingZipApiModule import ZipLimits, ZipStreamError, check_entry_name, extract_zip
from tests.strategies import SETTINGS  # first: it skips this module where hypothesis is absent

from hypothesis import given
from hypothesis import strategies as st

LIMITS = ZipLimits(10 << 20, 100, 100)


@SETTINGS
@given(st.text(max_size=60))
def test_entry_names(name):
    try:
        key = check_entry_name(name)
    except ZipStreamError:
        return
    normalized = key.replace('\\', '/')
    assert not normalized.startswith('/') and '..' not in normalized.split('/')


@SETTINGS
@given(st.lists(st.tuples(st.text(min_size=1, max_size=30), st.binary(max_size=2000)), min_size=1, max_size=6),
       st.integers(min_value=1, max_value=4096))
def test_arbitrary_zips_extract_or_fail_cleanly(tmp_path, monkeypatch, members, cut):
    monkeypatch.chdir(tmp_path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            try:
                archive.writestr(name, data)
            except Exception:  # zipfile itself cannot write some generated names: not our code under test
                return
    raw = buffer.getvalue()
    counter = iter(range(10 ** 6))
    for blob in (raw, raw[:cut]):
        before = {p.name for p in tmp_path.iterdir()}
        try:
            results = extract_zip([blob], LIMITS, lambda: ('f', str(tmp_path / f'out{next(counter)}')),
                                  reopen=lambda blob=blob: [blob])
        except ZipStreamError:
            assert {p.name for p in tmp_path.iterdir()} == before  # nothing partial left
            continue
        for result in results:
            assert len(result['sha256']) == 64
        for extra in {p.name for p in tmp_path.iterdir()} - before:
            (tmp_path / extra).unlink()
