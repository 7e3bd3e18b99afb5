"""Unit tests of StreamingZipApiModule: the single-pass engine, the two-pass fallback and extract_zip (deterministic)."""
import hashlib
import io
import itertools
import os
import random
import struct
import zipfile
import zlib

import pytest

from devtools.emulator.zips import make_zip
from StreamingZipApiModule import (StreamingZipExtractor, ZipLimits, ZipStreamError, ZipStreamUnsupported,
                                   check_entry_name, extract_complete_zip)

MiB = 1 << 20


# ------------------------------------------------------------------------------------------ helpers
def deflate(data, level=6):
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def build_zip(entries, comment=b'', zip64_end=False, trailing=b'', eocd=None):
    """Hand-build a zip. Each entry: name, data, method (8), descriptor (None|'sig'|'nosig'), zip64,
    comp (raw compressed bytes override), flags (extra bits), header_crc, and cd_* overrides."""
    out, central = bytearray(), []
    for e in entries:
        name = e['name'] if isinstance(e['name'], bytes) else e['name'].encode('utf-8')
        data, method, dd, z64 = e.get('data', b''), e.get('method', 8), e.get('descriptor'), e.get('zip64')
        comp = e.get('comp', deflate(data) if method == 8 else data)
        crc = zlib.crc32(data)
        flags = e.get('flags', 0) | (0x800 if isinstance(e['name'], str) and not name.isascii() else 0) | (0x08 if dd else 0)
        hcrc, hcs, hus = (0, 0, 0) if dd else (e.get('header_crc', crc), len(comp), len(data))
        extra = b''
        if z64:
            extra = struct.pack('<HHQQ', 1, 16, hus, hcs)
            hcs, hus = (hcs, 0xFFFFFFFF) if e.get('z64_partial') else (0xFFFFFFFF, 0xFFFFFFFF)
        offset = len(out)
        out += struct.pack('<4sHHHHHIIIHH', b'PK\x03\x04', 45 if z64 else 20, flags, method, 0, 0x21,
                           hcrc, hcs, hus, len(name), len(extra)) + name + extra + comp
        if dd:
            out += (b'PK\x07\x08' if dd == 'sig' else b'') + struct.pack(
                e.get('dd_fmt', '<IQQ' if z64 else '<III'), e.get('header_crc', crc), len(comp), len(data))
        c_name = e.get('cd_name', name)
        c_crc, c_cs, c_us = e.get('cd_crc', crc), e.get('cd_csize', len(comp)), e.get('cd_size', len(data))
        c_off, c_extra = offset, b''
        if z64:
            c_extra = struct.pack('<HHQQQ', 1, 24, c_us, c_cs, c_off)
            c_cs = c_us = c_off = 0xFFFFFFFF
        central.append(struct.pack('<4sHHHHHHIIIHHHHHII', b'PK\x01\x02', 45, 45 if z64 else 20, flags,
                                   e.get('cd_method', method), 0, 0x21, c_crc, c_cs, c_us, len(c_name),
                                   len(c_extra), 0, 0, 0, 0, c_off) + c_name + c_extra)
    cd_start = len(out)
    out += b''.join(central)
    cd_size, count = len(out) - cd_start, len(central)
    if zip64_end:
        end64_at = len(out)
        out += struct.pack('<4sQHHIIQQQQ', b'PK\x06\x06', 44, 45, 45, 0, 0, count, count, cd_size, cd_start)
        out += struct.pack('<4sIQI', b'PK\x06\x07', 0, end64_at, 1)
        count, cd_size, cd_start = 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF
    fields = {'count': count, 'cd_size': cd_size, 'cd_start': cd_start, **(eocd or {})}
    out += struct.pack('<4sHHHHIIH', b'PK\x05\x06', 0, 0, fields['count'], fields['count'], fields['cd_size'],
                       fields['cd_start'], len(comment)) + comment + trailing
    return bytes(out)


def zipfile_bytes(files, compression=zipfile.ZIP_DEFLATED, force_zip64=False, seekable=True):
    """A zip from the standard zipfile module (the emulator's make_zip; unseekable output gives data descriptors)."""
    return make_zip(list(files), compression=compression, force_zip64=force_zip64, seekable=seekable)


def rand_bytes(n, seed=0):
    """Deterministic incompressible bytes."""
    return random.Random(seed).randbytes(n)


def chunked(data, size):
    return [data[i:i + size] for i in range(0, len(data), size)]


def random_chunks(data, seed, top=97):
    rng, out, i = random.Random(seed), [], 0
    while i < len(data):
        n = rng.randint(1, top)
        out.append(data[i:i + n])
        i += n
    return out


@pytest.fixture
def staging(tmp_path):
    d = tmp_path / 'staging'
    d.mkdir()
    return d


def run(staging, chunks, max_total=1 << 30, max_ratio=100.0, max_entries=1000, **kw):
    counter = itertools.count()

    def new_path():
        i = next(counter)
        return f'id{i}', str(staging / f'file{i}')
    return StreamingZipExtractor(str(staging), new_path, ZipLimits(max_total, max_ratio, max_entries), **kw).extract(chunks)


def expect_error(staging, data, match=None, **kw):
    with pytest.raises(ZipStreamError, match=match) as info:
        run(staging, chunked(data, kw.pop('chunk', 1 << 16)), **kw)
    assert os.listdir(staging) == []
    msg = str(info.value)
    assert 'Error' not in msg and 'Exception' not in msg
    return msg


def check_results(staging, results, files):
    files = [(n, d) for n, d in files if not n.endswith('/')]
    assert [r['name'] for r in results] == [n for n, _ in files]
    for r, (_, data) in zip(results, files, strict=True):
        with open(r['path'], 'rb') as f:
            assert f.read() == data
        assert r['size'] == len(data)
        assert r['crc32'] == zlib.crc32(data)
        assert r['sha256'] == hashlib.sha256(data).hexdigest()
        assert r['md5'] == hashlib.md5(data).hexdigest()
        assert r['sha1'] == hashlib.sha1(data).hexdigest()
        assert str(staging) in r['path'] and r['file_id'].startswith('id')


FILES = [('a.txt', b'hello world ' * 40), ('dir/', b''), ('dir/b.bin', bytes(range(256)) * 3),
         ('empty', b''), ('ü/名前.txt', b'unicode')]


# ------------------------------------------------------------------------------------ good archives
@pytest.mark.parametrize('compression', [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
@pytest.mark.parametrize('worker_threads', [0, 1, 2, 3])
def test_zipfile_archives(staging, compression, worker_threads):
    """Given a zip written by zipfile (stored or deflated), When extracted in 1 MiB chunks,
    Then every file, size and hash matches and directories produce nothing."""
    data = zipfile_bytes(FILES, compression)
    results = run(staging, chunked(data, MiB), worker_threads=worker_threads)
    check_results(staging, results, FILES)
    assert len(os.listdir(staging)) == 4


@pytest.mark.parametrize('compression', [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_every_chunk_size(staging, compression, tmp_path):
    """Given a small archive, When fed with every chunk size from 1 byte to its length,
    Then the result is always the same."""
    data = zipfile_bytes(FILES[:3], compression)
    for size in range(1, len(data) + 1):
        d = tmp_path / f's{size}'
        d.mkdir()
        check_results(d, run(d, chunked(data, size)), FILES[:3])


def test_random_chunk_sizes_and_buffer_types(staging, tmp_path):
    """Given descriptor and zip64 archives, When fed in seeded random chunks of bytes, bytearray and
    memoryview, Then the result is always correct."""
    archives = [zipfile_bytes(FILES, seekable=False), zipfile_bytes(FILES, force_zip64=True),
                build_zip([{'name': n, 'data': d, 'descriptor': 'nosig', 'zip64': True} for n, d in FILES],
                          zip64_end=True)]
    for i, data in enumerate(archives):
        for seed in range(20):
            d = tmp_path / f'r{i}_{seed}'
            d.mkdir()
            kind = (bytes, bytearray, memoryview)[seed % 3]
            check_results(d, run(d, [kind(c) for c in random_chunks(data, seed)]), FILES)


@pytest.mark.parametrize('descriptor', ['sig', 'nosig'])
@pytest.mark.parametrize('zip64', [False, True])
def test_data_descriptors(staging, descriptor, zip64):
    """Given deflated entries with data descriptors (with/without signature, 32/64-bit), When extracted
    byte by byte, Then they are correct (and zipfile agrees the archive is valid)."""
    files = [('one', b'abc' * 1000), ('two', b''), ('three', rand_bytes(3000))]
    data = build_zip([{'name': n, 'data': d, 'descriptor': descriptor, 'zip64': zip64} for n, d in files],
                     zip64_end=zip64)
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    check_results(staging, run(staging, chunked(data, 1)), files)


@pytest.mark.parametrize('descriptor', ['sig', 'nosig'])
def test_descriptor_layout_told_apart_by_sizes(staging, descriptor):
    """Given a 64-bit data descriptor without a zip64 extra field (and a 32-bit one with it), When
    extracted, Then the layout is recognised from the sizes; a descriptor with wrong sizes fails."""
    files = [('a', b'abc' * 300), ('b', b'hello')]
    for fmt, z64 in (('<IQQ', False), ('<III', True)):
        data = build_zip([{'name': n, 'data': d, 'descriptor': descriptor, 'dd_fmt': fmt, 'zip64': z64}
                          for n, d in files])
        check_results(staging, run(staging, chunked(data, 1)), files)
        for f in os.listdir(staging):
            os.remove(staging / f)
    bad = build_zip([{'name': 'a', 'data': b'abc' * 300, 'descriptor': descriptor}])
    size = struct.pack('<I', 900)
    assert 'data descriptor' in expect_error(staging, bad.replace(size, struct.pack('<I', 901), 1))


def test_zipfile_streamed_descriptors_and_forced_zip64(staging, tmp_path):
    """Given zipfile output to an unseekable stream (descriptors), with and without forced zip64,
    When extracted, Then it is correct."""
    for i, z64 in enumerate([False, True]):
        d = tmp_path / f'z{i}'
        d.mkdir()
        data = zipfile_bytes(FILES, force_zip64=z64, seekable=False)
        check_results(d, run(d, chunked(data, 7)), FILES)


def test_zip64_stored_with_zip64_end_records(staging):
    """Given stored zip64 entries and zip64 end records, When extracted, Then it is correct."""
    files = [('s1', b'x' * 100), ('s2', b'y' * 5)]
    data = build_zip([{'name': n, 'data': d, 'method': 0, 'zip64': True} for n, d in files], zip64_end=True)
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    check_results(staging, run(staging, chunked(data, 3)), files)


def test_zip64_local_extra_with_one_marked_size(staging):
    """Given a local zip64 field holding both sizes while only one 32-bit size is 0xFFFFFFFF, When
    extracted, Then both sizes are taken from the zip64 field."""
    files = [('p', b'partial' * 50)]
    data = build_zip([{'name': 'p', 'data': files[0][1], 'zip64': True, 'z64_partial': True}])
    check_results(staging, run(staging, [data]), files)


def test_empty_archive_and_comment(staging):
    """Given an empty archive and one with a comment, When extracted, Then the result is empty/correct."""
    assert run(staging, [zipfile_bytes([])]) == []
    assert run(staging, [build_zip([], zip64_end=True)]) == []
    files = [('f', b'data')]
    check_results(staging, run(staging, chunked(build_zip([{'name': 'f', 'data': b'data'}],
                                                          comment=b'a comment'), 2)), files)


def test_cp437_and_utf8_names(staging):
    """Given a cp437 name (no UTF-8 flag) and a UTF-8 name, When extracted, Then both decode correctly."""
    data = build_zip([{'name': b'caf\x82', 'data': b'1'}, {'name': 'ñandú', 'data': b'2'}])
    assert [r['name'] for r in run(staging, [data])] == ['café', 'ñandú']


def test_empty_chunks(staging):
    """Given empty chunks interleaved (also at the end), When extracted, Then they are ignored."""
    data = zipfile_bytes(FILES)
    check_results(staging, run(staging, itertools.chain(*[(b'', c, b'') for c in chunked(data, 50)])), FILES)


def test_keep_zip_path_on_success(staging, tmp_path):
    """Given keep_zip_path, When extraction succeeds, Then the raw zip is kept byte for byte."""
    data = zipfile_bytes(FILES)
    keep = tmp_path / 'raw.zip'
    run(staging, chunked(data, 10), keep_zip_path=str(keep))
    assert keep.read_bytes() == data


# --------------------------------------------------------------------------------- hostile archives
@pytest.mark.parametrize('name', ['../evil', 'a/../../evil', '..\\evil', 'a\\..\\b', '/etc/passwd',
                                  '\\windows', 'C:evil', 'c:/evil', 'a\x00b', ''])
def test_unsafe_names(staging, name):
    """Given an entry with an unsafe name after a good one, When extracted, Then it fails and nothing stays."""
    data = build_zip([{'name': 'good', 'data': b'ok'}, {'name': name, 'data': b'evil'}])
    expect_error(staging, data)


@pytest.mark.parametrize('names', [('a', 'a'), ('d/x', 'd//x'), ('x', './x'), ('d\\x', 'd/x'), ('d/', 'd/')])
def test_duplicate_names(staging, names):
    """Given two entries with the same (normalised) name, When extracted, Then it fails."""
    data = build_zip([{'name': n, 'data': b''} for n in names])
    assert 'more than once' in expect_error(staging, data)


def test_safe_names_accepted():
    """Given odd but safe names, When checked, Then they are accepted."""
    for name in ['a..b', '..a', 'x/y..', 'dir/', './x']:
        check_entry_name(name)


def test_directory_with_content(staging):
    """Given a directory entry that carries data, When extracted, Then it fails."""
    expect_error(staging, build_zip([{'name': 'd/', 'data': b'surprise'}]), 'directory')


def test_zip_bomb_ratio(staging):
    """Given a deflated entry of 64 MiB zeros (ratio ~1000), When extracted with max_ratio 100,
    Then it fails as soon as the 1 MiB threshold is reached."""
    data = build_zip([{'name': 'bomb', 'data': bytes(64 * MiB)}])
    written = []
    orig = StreamingZipExtractor._emit

    def spy(self, output, rec, piece, consumed):
        written.append(len(piece))
        return orig(self, output, rec, piece, consumed)
    StreamingZipExtractor._emit = spy
    try:
        assert 'zip bomb' in expect_error(staging, data)
    finally:
        StreamingZipExtractor._emit = orig
    assert sum(written) <= 2 * MiB


def test_ratio_ignored_below_threshold(staging):
    """Given a very compressible entry below 1 MiB, When extracted with max_ratio 2, Then it is accepted."""
    check_results(staging, run(staging, [build_zip([{'name': 'z', 'data': bytes(MiB - 1)}])], max_ratio=2),
                  [('z', bytes(MiB - 1))])


def test_total_size_cap(staging):
    """Given entries totalling 3000 bytes, When the cap is 2999 (fails) or 3000 (passes), Then so it is."""
    data = build_zip([{'name': 'a', 'data': b'a' * 1000}, {'name': 'b', 'data': b'b' * 2000, 'method': 0}])
    assert 'more than 2999 bytes' in expect_error(staging, data, max_total=2999)
    assert len(run(staging, [data], max_total=3000)) == 2


def test_total_cap_does_not_trust_declared_sizes(staging):
    """Given an entry whose headers declare 10 bytes but inflates to 5000, When extracted with cap 100,
    Then the cap stops it."""
    data = build_zip([{'name': 'a', 'data': b'a' * 5000}])
    patched = data.replace(struct.pack('<I', 5000), struct.pack('<I', 10))
    assert 'more than 100 bytes' in expect_error(staging, patched, max_total=100)


def test_entry_count_cap(staging):
    """Given 5 entries, When max_entries is 4, Then it fails; with 5 it passes."""
    data = build_zip([{'name': f'f{i}', 'data': b'x'} for i in range(5)])
    assert 'more than 4 entries' in expect_error(staging, data, max_entries=4)
    assert len(run(staging, [data], max_entries=5)) == 5


def test_corrupt_deflate(staging):
    """Given deflate data with an invalid block type, When extracted, Then it fails as corrupt."""
    data = build_zip([{'name': 'ok', 'data': b'fine'}, {'name': 'bad', 'data': b'x' * 100, 'comp': b'\x07' * 20}])
    assert "'bad' is corrupt" in expect_error(staging, data)


def test_crc_mismatch(staging):
    """Given a local header and descriptor CRC that do not match the data, When extracted, Then it fails."""
    for dd in (None, 'sig'):
        data = build_zip([{'name': 'a', 'data': b'abc', 'header_crc': 1234, 'descriptor': dd, 'cd_crc': 1234}])
        assert "the checksum of 'a' does not match" in expect_error(staging, data)


def test_deflate_longer_than_declared(staging):
    """Given a deflate stream that does not end within the declared compressed size, Then it fails."""
    data = build_zip([{'name': 'a', 'data': rand_bytes(500)}])
    comp = len(deflate(b''))
    assert 'ends too early' in expect_error(staging, data.replace(struct.pack('<I', 505), struct.pack('<I', comp)))


def test_truncated_everywhere(staging):
    """Given a descriptor archive cut at every byte offset (local header, data, descriptor, central
    directory, end record), When extracted, Then each fails and leaves the staging folder empty."""
    data = build_zip([{'name': 'a', 'data': b'abc' * 100, 'descriptor': 'sig'},
                      {'name': 's', 'data': b'stored', 'method': 0, 'zip64': True}], comment=b'hi', zip64_end=True)
    for cut in range(len(data)):
        expect_error(staging, data[:cut], chunk=max(1, cut % 13))


def test_truncated_region_messages(staging):
    """Given cuts in named regions, When extracted, Then the message says where the archive ends."""
    data = build_zip([{'name': 'a', 'data': b'abc' * 100}])
    cd = data.index(b'PK\x01\x02')
    assert 'local file header' in expect_error(staging, data[:10])
    assert "data of 'a'" in expect_error(staging, data[:33])
    assert 'central directory' in expect_error(staging, data[:cd + 10])
    assert 'end of central directory' in expect_error(staging, data[:-5])


def test_iterator_failure_cleans_up(staging):
    """Given a stream that raises a network error midway, When extracted, Then the error propagates
    and nothing stays."""
    data = zipfile_bytes(FILES)

    def broken():
        yield data[:len(data) // 2]
        raise ConnectionError('reset')
    with pytest.raises(ConnectionError):
        run(staging, broken())
    assert os.listdir(staging) == []


@pytest.mark.parametrize('override', [{'cd_name': b'other'}, {'cd_size': 4}, {'cd_crc': 7}, {'cd_method': 0},
                                      {'cd_csize': 1}])
def test_central_directory_disagrees(staging, override):
    """Given a central directory entry differing from its local header, When extracted, Then it fails."""
    data = build_zip([{'name': 'a', 'data': b'abc'}, dict({'name': 'b', 'data': b'hello'}, **override)])
    assert 'central directory disagrees' in expect_error(staging, data)


def test_central_directory_count_and_end_record(staging):
    """Given a central directory missing an entry, having an extra one, or an end record with wrong
    values, When extracted, Then each fails."""
    two = build_zip([{'name': 'a', 'data': b'1'}, {'name': 'b', 'data': b'2'}])
    one = build_zip([{'name': 'a', 'data': b'1'}])
    cd_a = one[one.index(b'PK\x01\x02'):one.index(b'PK\x05\x06')]
    missing = two[:two.index(b'PK\x01\x02')] + cd_a + two[two.index(b'PK\x05\x06'):]
    assert 'fewer entries' in expect_error(staging, missing)
    extra = one[:one.index(b'PK\x01\x02')] + cd_a + cd_a + one[one.index(b'PK\x05\x06'):]
    assert 'more entries' in expect_error(staging, extra)
    for eocd in ({'count': 3}, {'cd_size': 1}, {'cd_start': 0}):
        assert 'does not match' in expect_error(staging, build_zip([{'name': 'a', 'data': b'1'}], eocd=eocd))


def test_trailing_garbage(staging):
    """Given bytes after the end record (and comment), When extracted, Then it fails."""
    data = build_zip([{'name': 'a', 'data': b'1'}], comment=b'c', trailing=b'x')
    assert 'after its end record' in expect_error(staging, data)
    assert 'after its end record' in expect_error(staging, zipfile_bytes(FILES) + b'\0')


def test_garbage_between_entries_and_not_a_zip(staging):
    """Given junk instead of a zip, or junk between the last entry and the central directory, Then it fails."""
    assert 'not a zip archive' in expect_error(staging, b'<html>error page</html>')
    assert 'ends too early' in expect_error(staging, b'')
    data = build_zip([{'name': 'a', 'data': b'1'}])
    cd = data.index(b'PK\x01\x02')
    assert 'unexpected data' in expect_error(staging, data[:cd] + b'JUNK' + data[cd:])


def test_new_path_outside_staging(staging, tmp_path):
    """Given a new_path callback pointing outside the staging folder, Then it is refused."""
    with pytest.raises(ValueError):
        StreamingZipExtractor(str(staging), lambda: ('x', str(tmp_path / 'outside')), ZipLimits(1 << 20, 100, 10)).extract(
            [zipfile_bytes(FILES)])
    assert not (tmp_path / 'outside').exists()


def test_error_removes_partial_keep_zip(staging, tmp_path):
    """Given keep_zip_path and a corrupt archive, When extraction fails, Then the partial zip is removed."""
    keep = tmp_path / 'raw.zip'
    data = build_zip([{'name': 'a', 'data': b'x', 'cd_crc': 5}])
    expect_error(staging, data, keep_zip_path=str(keep))
    assert not keep.exists()


# -------------------------------------------------------------------------------------- fallback
def encrypted_zip():
    data = bytearray(zipfile_bytes([('secret', b'top secret' * 10)]))
    data[6] |= 1
    return bytes(data)


@pytest.mark.parametrize('make', [encrypted_zip,
                                  lambda: zipfile_bytes([('s', b'stored')], zipfile.ZIP_STORED, seekable=False),
                                  lambda: zipfile_bytes([('b', b'bz' * 100)], zipfile.ZIP_BZIP2),
                                  lambda: build_zip([{'name': 'aes', 'data': b'', 'method': 99}])])
def test_unsupported_replay(staging, make):
    """Given an encrypted entry, a stored entry with a descriptor, or an unsupported method, When
    extracted, Then ZipStreamUnsupported carries a replay of the complete raw zip."""
    data = make()
    with pytest.raises(ZipStreamUnsupported) as info:
        run(staging, chunked(data, 5))
    assert info.value.zip_path is None
    assert b''.join(info.value.replay) == data
    assert os.listdir(staging) == []
    assert not isinstance(info.value, ZipStreamError)


def test_unsupported_keeps_complete_zip(staging, tmp_path):
    """Given keep_zip_path and an unsupported second entry, When extracted, Then the first staged file is
    removed and the kept zip is complete."""
    files = [('first', rand_bytes(3000)), ('second', b'stored data')]
    first = build_zip([{'name': 'first', 'data': files[0][1]}])
    data = first[:first.index(b'PK\x01\x02')] + zipfile_bytes(files[1:], zipfile.ZIP_STORED, seekable=False)
    keep = tmp_path / 'raw.zip'
    with pytest.raises(ZipStreamUnsupported) as info:
        run(staging, chunked(data, 100), keep_zip_path=str(keep))
    assert info.value.zip_path == str(keep) and keep.read_bytes() == data
    assert info.value.replay is None
    assert os.listdir(staging) == []


def test_unsupported_late_has_no_replay(staging):
    """Given an unsupported entry beyond the replay limit and no keep_zip_path, Then replay is None
    (the caller must download again)."""
    class Small(StreamingZipExtractor):
        REPLAY_LIMIT = 64
    data = build_zip([{'name': 'a', 'data': rand_bytes(500)}, {'name': 'b', 'data': b'', 'method': 12}])
    with pytest.raises(ZipStreamUnsupported) as info:
        Small(str(staging), lambda: ('1', str(staging / 'x')), ZipLimits(1 << 20, 100, 10)).extract(chunked(data, 10))
    assert info.value.replay is None and info.value.zip_path is None
    assert os.listdir(staging) == []


def test_existing_file_is_never_overwritten_or_removed(staging):
    """Given new_path pointing at a file that already exists, When extracted, Then it fails without
    touching that file."""
    existing = staging / 'mine'
    existing.write_bytes(b'keep me')
    with pytest.raises(FileExistsError):
        StreamingZipExtractor(str(staging), lambda: ('x', str(existing)), ZipLimits(1 << 20, 100, 10)).extract(
            [zipfile_bytes(FILES)])
    assert existing.read_bytes() == b'keep me' and os.listdir(staging) == ['mine']


@pytest.mark.parametrize('worker_threads', [0, 1, 2])
def test_subset_of_hashes(staging, worker_threads):
    """Given hashes=('sha256',), When extracted, Then CRC32 and SHA256 are reported and MD5/SHA1 are None."""
    data = zipfile_bytes(FILES)
    counter = itertools.count()
    results = StreamingZipExtractor(str(staging), lambda: ('i', str(staging / str(next(counter)))), ZipLimits(1 << 20, 100, 10),
                                    hashes=('sha256',), worker_threads=worker_threads).extract([data])
    assert results[0]['sha256'] == hashlib.sha256(FILES[0][1]).hexdigest()
    assert results[0]['crc32'] == zlib.crc32(FILES[0][1])
    assert results[0]['md5'] is None and results[0]['sha1'] is None


@pytest.mark.parametrize('worker_threads', [0, 1, 2])
def test_write_failure_on_a_worker_is_raised_and_nothing_is_kept(staging, monkeypatch, worker_threads):
    """Given a disk that fills up while the third piece of a 5 MiB entry is written (inline or on a worker thread),
    When extracted, Then the OSError reaches the caller, no later piece is written and no staged file is left."""
    real_write = StreamingZipExtractor._Output._write_and_crc
    calls = []

    def write_until_full(self, data):
        calls.append(len(data))
        if len(calls) == 3:
            raise OSError(28, 'No space left on device')
        real_write(self, data)
    monkeypatch.setattr(StreamingZipExtractor._Output, '_write_and_crc', write_until_full)
    data = build_zip([{'name': 'big', 'data': os.urandom(5 * MiB), 'method': zipfile.ZIP_STORED},
                      {'name': 'next', 'data': b'x' * 10}])
    with pytest.raises(OSError, match='No space left'):
        run(staging, chunked(data, MiB), worker_threads=worker_threads)
    assert os.listdir(staging) == []
    assert len(calls) == 3


def test_two_pass_total_cap_counts_declared_sizes(staging):
    """
    Given an archive whose entries together declare more than the size cap
    When the two-pass path inspects it
    Then it is refused before anything is extracted
    """
    archive = staging / 'a.zip'
    archive.write_bytes(zipfile_bytes([('a', b'x' * 700000), ('b', b'x' * 700000)], zipfile.ZIP_STORED))
    asked = []

    def new_path():
        asked.append(1)
        return 'x', str(staging / 'x')

    with pytest.raises(ZipStreamError, match='expands to more than'):
        extract_complete_zip(str(archive), ZipLimits(MiB, 100, 10), new_path)
    assert asked == []


@pytest.mark.parametrize('name, problem', [
    pytest.param('C/Users/a.txt', None, id='relative'),
    pytest.param('a/../../b', 'outside the extraction folder', id='parent'),
    pytest.param('\\\\server\\share', 'absolute path', id='unc'),
    pytest.param('..\\x', 'outside the extraction folder', id='parent-backslash'),
    pytest.param('D:x', 'absolute path', id='drive'),
])
def test_one_name_check_for_both_paths(name, problem):
    """
    Given entry names
    When checked by the one name check both extraction paths use
    Then relative names pass and absolute, drive, parent and UNC names are refused
    """
    if problem is None:
        assert check_entry_name(name) == name
    else:
        with pytest.raises(ZipStreamError, match=problem):
            check_entry_name(name)
