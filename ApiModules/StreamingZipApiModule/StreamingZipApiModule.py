"""Safe zip extraction for the Endpoint Response integrations (inlined into each that uses it by `dev.sh sync`).

One entry point, extract_zip: entries are parsed from their local headers, inflated, checked and hashed while
the body streams in, written to the working directory, and accepted only when the central directory agrees
with what was extracted. An archive that cannot be read front to back (encrypted entries, other methods, a
stored entry sized only in its data descriptor) is completed on disk and goes through the two-pass extraction
of zipfile instead, under the same rules: one ZipLimits, one name check, one ratio floor, one chunk size.
Standard library only.
"""
import demistomock as demisto  # noqa: F401
from CommonServerPython import *  # noqa: F401

import hashlib
import itertools
import os
import queue
import re
import struct
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

ZIP_CHUNK_SIZE = 1 << 20  # bytes inflated, copied or read per step
RATIO_FLOOR = 1 << 20  # an entry is held to max_ratio once it has produced this much (tiny files compress absurdly)
ZIP_RESULT_FIELDS = ('name', 'file_id', 'path', 'size', 'crc32', 'sha256', 'md5', 'sha1', 'compressed_size')


class ZipLimits(NamedTuple):
    """What an archive must stay within: bytes produced in all, expansion per entry, number of entries."""
    max_total_bytes: int
    max_ratio: float
    max_entries: int


class ZipStreamError(Exception):
    """The archive is invalid, hostile or over a limit; nothing of it was kept."""


class ZipStreamUnsupported(Exception):
    """The archive cannot be extracted in one pass; extract_zip then uses the two-pass path."""

    def __init__(self, message: str, zip_path: str | None = None,
                 replay: Iterator[bytes] | None = None) -> None:
        super().__init__(message)
        self.zip_path = zip_path
        self.replay = replay


def zip_decode_name(raw: bytes, flags: int) -> str:
    """Decode an entry name: UTF-8 when general-purpose flag bit 11 is set, cp437 otherwise."""
    if flags & 0x800:
        try:
            return raw.decode('utf-8')
        except UnicodeDecodeError:
            raise ZipStreamError('an entry name is not valid UTF-8') from None
    return raw.decode('cp437')


def check_entry_name(name: str) -> str:
    """The normalised key of a safe entry name; ZipStreamError for an empty, absolute, NUL or parent path."""
    if not name or '\x00' in name:
        raise ZipStreamError(f'the archive has an empty entry name or one with a NUL character: {name!r}')
    if name[0] in '/\\' or re.match(r'[A-Za-z]:', name):
        raise ZipStreamError(f'the archive entry {name!r} has an absolute path')
    parts = re.split(r'[/\\]', name)
    if '..' in parts:
        raise ZipStreamError(f'the archive entry {name!r} points outside the extraction folder')
    return '/'.join(p for p in parts if p not in ('', '.')) + ('/' if name[-1] in '/\\' else '')


def remove_files(paths: Iterable[str | None]) -> None:
    """Remove files we wrote, ignoring the ones already gone."""
    for path in paths:
        if path:
            try:
                os.remove(path)
            except OSError:
                pass


def extract_zip(chunks: Iterable[bytes], limits: ZipLimits, new_path: Callable[[], tuple[str, str]],
                keep_zip_path: str | None = None, reopen: Callable[[], Iterable[bytes]] | None = None,
                hashes: tuple[str, ...] = ('sha256',), worker_threads: int = 2) -> list[dict[str, Any]]:
    """Every file of the zip arriving in chunks, written where new_path() says (in the working directory).

    All or nothing: ZipStreamError (nothing kept) when the archive is invalid, hostile or over a limit.
    keep_zip_path also keeps the raw zip; reopen() streams the zip again when the two-pass path needs it and
    the bytes read so far were too many to keep. Results: name, file_id, path, size, crc32, the hashes asked
    for (others None) and compressed_size, in archive order.
    """
    extractor = StreamingZipExtractor(os.getcwd(), new_path, limits, keep_zip_path=keep_zip_path, hashes=hashes,
                                      worker_threads=worker_threads)
    try:
        return extractor.extract(chunks)
    except ZipStreamUnsupported as unsupported:
        demisto.debug(f'single-pass extraction not possible ({unsupported}); using the two-pass path')
        zip_path = unsupported.zip_path or keep_zip_path or new_path()[1]
        try:
            if not unsupported.zip_path:
                source = unsupported.replay if unsupported.replay is not None else reopen() if reopen else None
                if source is None:
                    raise ZipStreamError(f'{unsupported}, and the archive cannot be read again') from None
                with open(zip_path, 'wb') as target:
                    for chunk in source:
                        target.write(chunk)
            return extract_complete_zip(zip_path, limits, new_path, hashes)
        finally:
            if zip_path != keep_zip_path:
                remove_files([zip_path])


def extract_complete_zip(zip_path: str, limits: ZipLimits, new_path: Callable[[], tuple[str, str]],
                         hashes: tuple[str, ...] = ('sha256',)) -> list[dict[str, Any]]:
    """The two-pass path on a zip on disk: every entry checked from the central directory first, then extracted."""
    written: list[str] = []
    try:
        with zipfile.ZipFile(zip_path) as archive:
            budget = limits.max_total_bytes
            results = []
            for info in inspect_zip(archive, limits):
                file_id, path = new_path()
                written.append(path)
                result = extract_member(archive, info, path, budget, hashes)
                budget -= result['size']
                results.append(dict(result, name=info.filename, file_id=file_id, path=path,
                                    compressed_size=info.compress_size))
            return results
    except ZipStreamError:
        remove_files(written)
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError, zlib.error,
            ValueError, KeyError, struct.error):
        remove_files(written)
        raise ZipStreamError('the archive is truncated, corrupt, encrypted or not a zip') from None
    except BaseException:
        remove_files(written)
        raise


def inspect_zip(archive: zipfile.ZipFile, limits: ZipLimits) -> list[zipfile.ZipInfo]:
    """The file entries of the archive after every safety check, before anything is extracted."""
    infos = archive.infolist()
    if len(infos) > limits.max_entries:
        raise ZipStreamError(f'the archive has more than {limits.max_entries} entries (max_entries)')
    total = 0
    files = []
    seen: set[str] = set()
    for info in infos:
        key = check_entry_name(info.filename)
        if key in seen:
            raise ZipStreamError(f'the archive has the entry {info.filename!r} more than once')
        seen.add(key)
        if info.flag_bits & 0x1:
            raise ZipStreamError(f'the archive entry {info.filename!r} is encrypted')
        if info.is_dir():
            continue
        total += info.file_size
        if total > limits.max_total_bytes:
            raise ZipStreamError(f'the archive expands to more than {limits.max_total_bytes} bytes (max_total_size_mb)')
        if info.file_size >= RATIO_FLOOR and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise ZipStreamError(f'the entry {info.filename!r} expands over {limits.max_ratio} times '
                                 '(max_compression_ratio; a zip bomb?)')
        files.append(info)
    return files


def extract_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, dest_path: str, budget: int,
                   hashes: tuple[str, ...]) -> dict[str, Any]:
    """Stream one entry to dest_path with its checksums; stops when the entry is larger than it claims."""
    digests = [hashlib.new(name, usedforsecurity=False) for name in hashes]
    size, crc = 0, 0
    limit = min(info.file_size, budget)
    with archive.open(info) as source, open(dest_path, 'xb') as target:
        while chunk := source.read(ZIP_CHUNK_SIZE):
            size += len(chunk)
            if size > limit:
                raise ZipStreamError(f'the entry {info.filename!r} expands beyond its declared size')
            crc = zlib.crc32(chunk, crc)
            for digest in digests:
                digest.update(chunk)
            target.write(chunk)
    found = {name: digest.hexdigest() for name, digest in zip(hashes, digests, strict=True)}
    return {'size': size, 'crc32': crc, **{name: found.get(name) for name in ('sha256', 'md5', 'sha1')}}


class StreamingZipExtractor:
    """Extract a zip archive from an iterable of byte chunks in one pass (see module docstring).

    Entries are written to the paths handed out by ``new_path() -> (file_id, path)`` (which must lie
    inside ``staging_dir``). Limits apply to the bytes actually produced: ``max_total_bytes`` over all
    entries, ``max_ratio`` (uncompressed / compressed, per entry once it has produced 1 MiB) and
    ``max_entries``. ``hashes`` picks the hashlib digests reported besides CRC32 (the others are None);
    ``worker_threads`` threads write the entries and compute CRC32 and the digests (0: inline). One instance
    extracts one archive.
    """

    REPLAY_LIMIT = 4 << 20
    METHOD_AES = 99  # WinZip AES: encrypted
    SIZE_FIELDS = 2  # uncompressed and compressed size
    ZIP64_END_MIN_LENGTH = 44
    U32 = 0xFFFFFFFF
    SIG_LOCAL, SIG_CENTRAL, SIG_DESCRIPTOR = b'PK\x03\x04', b'PK\x01\x02', b'PK\x07\x08'
    SIG_END, SIG_END64, SIG_LOCATOR64 = b'PK\x05\x06', b'PK\x06\x06', b'PK\x06\x07'

    def __init__(self, staging_dir: str, new_path: Callable[[], tuple[str, str]], limits: 'ZipLimits',
                 keep_zip_path: str | None = None, hashes: tuple[str, ...] = ('sha256', 'md5', 'sha1'),
                 worker_threads: int = 2) -> None:
        self.staging_dir, self.new_path = os.path.realpath(staging_dir), new_path
        self.max_total_bytes, self.max_ratio, self.max_entries = limits
        self.keep_zip_path, self.hashes, self.worker_threads = keep_zip_path, hashes, worker_threads
        self._written: list[str] = []
        self._records: list[dict[str, Any]] = []
        self._total = 0

    def extract(self, chunks: Iterable[bytes]) -> list[dict[str, Any]]:
        """Extract the archive; return its files in archive order (directories produce nothing).

        Each result has name, file_id, path, size, crc32 (int), sha256, md5, sha1 (hex) and
        compressed_size.
        """
        keep = open(self.keep_zip_path, 'wb') if self.keep_zip_path else None
        reader = StreamingZipExtractor._Reader(iter(chunks), keep, self.REPLAY_LIMIT)
        failed = True
        try:
            output = StreamingZipExtractor._Output(self.hashes, self.worker_threads)
            try:
                self._read_entries(reader, output)
                self._read_central_directory(reader)
            finally:
                output.close()
            failed = False
        except ZipStreamUnsupported as exc:
            remove_files(self._written)
            self._written = []
            exc.replay = reader.replay() if keep is None else None
            exc.zip_path = reader.drain() if keep is not None else None
            failed = False
            raise
        except zlib.error:
            raise ZipStreamError(f'the compressed data of {self._records[-1]["name"]!r} is corrupt') from None
        finally:
            if keep is not None:
                keep.close()
            if failed:
                remove_files(self._written + [self.keep_zip_path])
        return [{k: r[k] for k in ZIP_RESULT_FIELDS} for r in self._records if not r['is_dir']]

    def _read_entries(self, reader: '_Reader', output: '_Output') -> None:
        """Extract local entries until the first record that is not a local header."""
        seen = set()
        while True:
            offset = reader.offset
            sig = reader.read_exact(4, 'the next record')
            if sig != self.SIG_LOCAL:
                reader.unread(sig)
                return
            rec = self._read_local_header(reader, offset)
            if len(self._records) >= self.max_entries:
                raise ZipStreamError(f'the archive has more than {self.max_entries} entries (max_entries)')
            key = check_entry_name(rec['name'])
            if key in seen:
                raise ZipStreamError(f'the archive has the entry {rec["name"]!r} more than once')
            seen.add(key)
            self._records.append(rec)
            self._extract_entry(reader, output, rec)

    def _read_local_header(self, reader: '_Reader', offset: int) -> dict[str, Any]:
        """Parse a local file header (after its signature) into an entry record."""
        where = 'a local file header'
        (_, flags, method, _, _, crc, csize, usize, nlen, xlen) = struct.unpack(
            '<HHHHHIIIHH', reader.read_exact(26, where))
        name = zip_decode_name(reader.read_exact(nlen, where), flags)
        extra = reader.read_exact(xlen, where)
        zip64 = self._zip64_fields(extra, [usize, csize], always=True)
        if zip64 is not None:
            usize, csize = zip64[0], zip64[1]
        if flags & 0x41 or method == self.METHOD_AES:
            raise ZipStreamUnsupported(f'the archive entry {name!r} is encrypted')
        if method not in (0, 8):
            raise ZipStreamUnsupported(f'the archive entry {name!r} uses compression method {method}')
        descriptor = bool(flags & 0x08)
        if method == 0 and descriptor and csize == 0:
            raise ZipStreamUnsupported(f'the size of the stored entry {name!r} is not in its local header')
        if method == 0 and not descriptor and csize != usize:
            raise ZipStreamError(f'the stored entry {name!r} declares two different sizes')
        return {'name': name, 'flags': flags, 'method': method, 'offset': offset, 'crc_declared': crc,
                'declared': (csize, usize), 'known_csize': None if descriptor and method else csize,
                'zip64': zip64 is not None, 'is_dir': name.endswith(('/', '\\')),
                'file_id': None, 'path': None, 'size': 0, 'compressed_size': 0}

    @staticmethod
    def _zip64_fields(extra: bytes, values: list[int], always: bool = False) -> list[int] | None:
        """Return ``values`` with the 0xFFFFFFFF ones replaced from the zip64 extra field.

        In a local header the field holds both sizes (``always``); returns None without the field.
        """
        pos = 0
        while pos + 4 <= len(extra):
            tag, size = struct.unpack_from('<HH', extra, pos)
            body = extra[pos + 4:pos + 4 + size]
            pos += 4 + size
            if tag != 1:
                continue
            nums = [struct.unpack_from('<Q', body, i)[0] for i in range(0, len(body) - 7, 8)]
            out, both_sizes = list(values), always and len(nums) >= StreamingZipExtractor.SIZE_FIELDS
            for i, value in enumerate(values):
                if (both_sizes and i < StreamingZipExtractor.SIZE_FIELDS) or value == StreamingZipExtractor.U32:
                    if not nums:
                        raise ZipStreamError('a zip64 extra field is too short')
                    out[i] = nums.pop(0)
            return out
        return None

    def _extract_entry(self, reader: '_Reader', output: '_Output', rec: dict[str, Any]) -> None:
        """Write one entry's data to a staged file while checking and hashing it."""
        out = None
        if not rec['is_dir']:
            rec['file_id'], rec['path'] = self.new_path()
            if not os.path.realpath(rec['path']).startswith(self.staging_dir + os.sep):
                raise ValueError('new_path() returned a path outside the staging folder')
            out = open(rec['path'], 'xb')  # never overwrite (or later delete) a file we did not create
            self._written.append(rec['path'])
        output.begin(out)
        try:
            if rec['method'] == 0:
                self._copy_stored(reader, output, rec)
            else:
                self._inflate(reader, output, rec)
            rec.update(output.finish())
        finally:
            output.settle()  # no worker may still write when the file is closed (or removed after a failure)
            if out is not None:
                out.close()
        if rec['flags'] & 0x08:
            self._read_descriptor(reader, rec)
        if (rec['compressed_size'], rec['size']) != rec['declared']:
            raise ZipStreamError(f'the sizes of {rec["name"]!r} do not match its header')
        if rec['crc32'] != rec['crc_declared']:
            raise ZipStreamError(f'the checksum of {rec["name"]!r} does not match (the data is damaged)')

    def _read_descriptor(self, reader: '_Reader', rec: dict[str, Any]) -> None:
        """Consume the data descriptor after an entry (optional signature, 32- or 64-bit sizes).

        The layout is told apart by the sizes, which must equal what the entry actually produced.
        """
        data = reader.peek(24)
        skips = (4, 0) if data[:4] == self.SIG_DESCRIPTOR else (0,)
        layouts = ('<IQQ', '<III') if rec['zip64'] else ('<III', '<IQQ')
        for skip, fmt in itertools.product(skips, layouts):
            size = struct.calcsize(fmt)
            if len(data) >= skip + size:
                crc, csize, usize = struct.unpack_from(fmt, data, skip)
                if (csize, usize) == (rec['compressed_size'], rec['size']):
                    reader.read_exact(skip + size, 'a data descriptor')
                    rec['crc_declared'], rec['declared'] = crc, (csize, usize)
                    return
        raise ZipStreamError(f'the data descriptor of {rec["name"]!r} is missing, cut short or wrong')

    def _emit(self, output: '_Output', rec: dict[str, Any], data: Any, consumed: int) -> None:
        """Account, check and write one piece of produced data."""
        if not len(data):
            return
        if rec['is_dir']:
            raise ZipStreamError(f'the directory entry {rec["name"]!r} has content')
        self._total += len(data)
        rec['size'] += len(data)
        if self._total > self.max_total_bytes:
            raise ZipStreamError(f'the archive expands to more than {self.max_total_bytes} bytes (max_total_size_mb)')
        if rec['size'] >= RATIO_FLOOR and rec['size'] > self.max_ratio * max(consumed, 1):
            raise ZipStreamError(f'the entry {rec["name"]!r} expands over {self.max_ratio} times '
                                 '(max_compression_ratio; a zip bomb?)')
        output.update(data)

    def _copy_stored(self, reader: '_Reader', output: '_Output', rec: dict[str, Any]) -> None:
        """Copy a stored entry of known size."""
        remaining = rec['known_csize']
        while remaining:
            data = reader.read_some(remaining, f'the data of {rec["name"]!r}')
            remaining -= len(data)
            rec['compressed_size'] += len(data)
            self._emit(output, rec, data, rec['compressed_size'])

    def _inflate(self, reader: '_Reader', output: '_Output', rec: dict[str, Any]) -> None:
        """Inflate a deflated entry up to the end of its deflate stream."""
        inflater = zlib.decompressobj(-15)
        known = rec['known_csize']
        fed = 0
        while not inflater.eof:
            if known is not None and fed >= known:
                raise ZipStreamError(f'the compressed data of {rec["name"]!r} ends too early')
            want = ZIP_CHUNK_SIZE if known is None else known - fed
            data = reader.read_some(want, f'the data of {rec["name"]!r}')
            fed += len(data)
            while True:
                piece = inflater.decompress(data, ZIP_CHUNK_SIZE)
                data = inflater.unconsumed_tail
                self._emit(output, rec, piece, fed - len(data))
                if inflater.eof or (not data and len(piece) < ZIP_CHUNK_SIZE):
                    break
        if inflater.unused_data:
            reader.unread(inflater.unused_data)
            fed -= len(inflater.unused_data)
        rec['compressed_size'] = fed

    def _read_central_directory(self, reader: '_Reader') -> None:
        """Check the central directory and end records against the extracted entries."""
        cd_start, index = reader.offset, 0
        sig = reader.read_exact(4, 'the central directory')
        while sig == self.SIG_CENTRAL:
            self._check_central_entry(reader, index)
            index += 1
            sig = reader.read_exact(4, 'the central directory')
        cd_size = reader.offset - 4 - cd_start
        if sig not in (self.SIG_END, self.SIG_END64):
            what = 'is not a zip archive' if cd_start == 0 else 'has unexpected data after its last entry'
            raise ZipStreamError(f'the download {what}')
        if index != len(self._records):
            raise ZipStreamError('the central directory lists fewer entries than the archive contains')
        end64 = self._read_end64(reader) if sig == self.SIG_END64 else None
        if end64 is not None:
            sig = reader.read_exact(4, 'the end of central directory record')
        if sig != self.SIG_END:
            raise ZipStreamError('the end of central directory record is missing')
        disk, cd_disk, on_disk, total, size, offset, clen = struct.unpack(
            '<HHHHIIH', reader.read_exact(18, 'the end of central directory record'))
        reader.read_exact(clen, 'the archive comment')
        if not reader.at_eof():
            raise ZipStreamError('the archive has unexpected data after its end record')
        found = [disk, cd_disk, on_disk, total, size, offset]
        if end64 is not None:
            found = [e if f in (0xFFFF, self.U32) else f for f, e in zip(found, end64, strict=True)]
        if found != [0, 0, len(self._records), len(self._records), cd_size, cd_start]:
            raise ZipStreamError('the end of central directory record does not match the archive')

    def _check_central_entry(self, reader: '_Reader', index: int) -> None:
        """Compare one central directory entry with the entry extracted at the same position."""
        where = 'the central directory'
        (_, _, flags, method, _, _, crc, csize, usize, nlen, xlen, clen, _, _, _, offset) = struct.unpack(
            '<HHHHHHIIIHHHHHII', reader.read_exact(42, where))
        name = zip_decode_name(reader.read_exact(nlen, where), flags)
        extra = reader.read_exact(xlen, where)
        reader.read_exact(clen, where)
        usize, csize, offset = self._zip64_fields(extra, [usize, csize, offset]) or [usize, csize, offset]
        if index >= len(self._records):
            raise ZipStreamError('the central directory lists more entries than the archive contains')
        rec = self._records[index]
        expected = (rec['name'], rec['method'], rec['crc32'], rec['compressed_size'], rec['size'], rec['offset'])
        if (name, method, crc, csize, usize, offset) != expected:
            raise ZipStreamError(f'the central directory disagrees with the entry {rec["name"]!r} '
                                 f'(name, method, size, checksum or position)')

    def _read_end64(self, reader: '_Reader') -> list[int]:
        """Parse the zip64 end record and its locator; return the end record fields (as in EOCD)."""
        where = 'the zip64 end of central directory record'
        start = reader.offset - 4
        (length,) = struct.unpack('<Q', reader.read_exact(8, where))
        if not self.ZIP64_END_MIN_LENGTH <= length <= 1 << 16:
            raise ZipStreamError('the zip64 end of central directory record is invalid')
        body = reader.read_exact(length, where)
        disk, cd_disk, on_disk, total, size, offset = struct.unpack_from('<IIQQQQ', body, 4)
        sig, _, end64_at, _ = struct.unpack('<4sIQI', reader.read_exact(20, 'the zip64 locator'))
        if sig != self.SIG_LOCATOR64 or end64_at != start:
            raise ZipStreamError('the zip64 end of central directory locator is missing or wrong')
        return [disk, cd_disk, on_disk, total, size, offset]

    class _Reader:
        """Serve exact byte counts from the chunk iterator, with push-back and the raw-byte copy."""

        def __init__(self, chunks: Iterator[bytes], keep: Any, replay_limit: int) -> None:
            self._chunks, self._keep, self._buf, self._pos = chunks, keep, memoryview(b''), 0
            self._pending: list[Any] = []
            self._history: list[bytes] | None = [] if keep is None else None
            self._history_room, self.offset = replay_limit, 0

        def _fill(self) -> bool:
            """Make the next buffer current; False at the end of the stream."""
            if self._pending:
                self._buf, self._pos = self._pending.pop(), 0
                return True
            for chunk in self._chunks:
                if not chunk:
                    continue
                data = bytes(chunk)  # no copy for bytes; makes it immutable otherwise
                if self._keep is not None:
                    self._keep.write(data)
                if self._history is not None:
                    self._history_room -= len(data)
                    self._history.append(data)
                    if self._history_room < 0:
                        self._history = None
                self._buf, self._pos = memoryview(data), 0
                return True
            return False

        def read_some(self, n: int, what: str) -> Any:
            """Return between 1 and n bytes (a read-only view); the stream must not end."""
            if self._pos >= len(self._buf) and not self._fill():
                raise ZipStreamError(f'the archive ends too early (in {what})')
            data = self._buf[self._pos:self._pos + n]
            self._pos += len(data)
            self.offset += len(data)
            return data

        def read_exact(self, n: int, what: str) -> bytes:
            """Return exactly n bytes."""
            parts = []
            while n > 0:
                parts.append(self.read_some(n, what))
                n -= len(parts[-1])
            return b''.join(parts)

        def peek(self, n: int) -> bytes:
            """Return up to n next bytes (fewer only at the end of the stream) without consuming them."""
            parts: list[Any] = []
            while n > 0 and (self._pos < len(self._buf) or self._fill()):
                parts.append(self.read_some(n, ''))
                n -= len(parts[-1])
            data = b''.join(parts)
            self.unread(data)
            return data

        def unread(self, data: bytes) -> None:
            """Push bytes back in front of the stream."""
            if data:
                if self._pos < len(self._buf):
                    self._pending.append(self._buf[self._pos:])
                self._buf, self._pos = memoryview(bytes(data)), 0
                self.offset -= len(data)

        def at_eof(self) -> bool:
            """True when no byte is left."""
            return self._pos >= len(self._buf) and not self._fill()

        def replay(self) -> Iterator[bytes] | None:
            """All raw bytes (kept ones, then the rest of the stream), if they were all kept."""
            return None if self._history is None else itertools.chain(self._history, self._chunks)

        def drain(self) -> str:
            """Write the rest of the stream to the raw-zip copy; return its path."""
            for chunk in self._chunks:
                self._keep.write(chunk)
            return self._keep.name

    class _Output:
        """Where an entry's produced bytes go: its staged file, CRC32 and the digests, inline or on worker threads.

        Writing plus CRC32 is one task and each digest another; the tasks are spread round robin over the threads,
        each fed by a bounded queue in order. zlib, hashlib and file writes release the GIL, so the workers run
        beside the thread that receives and inflates. A worker's failure is raised in the extracting thread.
        """

        def __init__(self, names: tuple[str, ...], threads: int) -> None:
            self._names = names
            self._error: Exception | None = None
            self._queues: list[Any] = [queue.Queue(maxsize=8) for _ in range(min(threads, len(names) + 1))]
            self._spread = max(len(self._queues), 1)
            self._threads = [threading.Thread(target=self._work, args=(q,), daemon=True) for q in self._queues]
            for thread in self._threads:
                thread.start()
            self.begin(None)

        def begin(self, out: Any) -> None:
            """Start a new entry written to `out` (None for a directory)."""
            self._out, self._crc = out, 0
            self._digests = [hashlib.new(name, usedforsecurity=False) for name in self._names]
            tasks = [self._write_and_crc] + [digest.update for digest in self._digests]
            self._groups = [tasks[k::self._spread] for k in range(self._spread)]

        def update(self, data: Any) -> None:
            """Hand on produced bytes (must not be modified afterwards)."""
            if self._error is not None:
                raise self._error
            if not self._queues:
                for task in self._groups[0]:
                    task(data)
                return
            for work, group in zip(self._queues, self._groups, strict=True):
                work.put((group, data))

        def settle(self) -> None:
            """Wait until the workers have done everything handed on (also after a failure)."""
            for work in self._queues:
                work.join()

        def finish(self) -> dict[str, Any]:
            """Settle, then return the entry's checksums (None for digests not asked for)."""
            self.settle()
            if self._error is not None:
                raise self._error
            found = {name: d.hexdigest() for name, d in zip(self._names, self._digests, strict=True)}
            return {'crc32': self._crc, **{name: found.get(name) for name in ('sha256', 'md5', 'sha1')}}

        def _write_and_crc(self, data: Any) -> None:
            self._crc = zlib.crc32(data, self._crc)
            if self._out is not None:
                self._out.write(data)

        def _work(self, work: 'queue.Queue[Any]') -> None:
            """Worker loop until the None sentinel; after a failure it only drains its queue."""
            while True:
                item = work.get()
                try:
                    if item is None:
                        return
                    if self._error is None:
                        for task in item[0]:
                            task(item[1])
                except Exception as error:  # handed to the extracting thread, which reports it
                    self._error = error
                finally:
                    work.task_done()

        def close(self) -> None:
            """Stop the workers."""
            for work in self._queues:
                work.put(None)
            for thread in self._threads:
                thread.join()
