"""Zip archives the emulator serves: small ones built in memory, large ones generated as a stream."""
import hashlib
import io
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import IO, cast

from . import content

ZIP_DATE = (2026, 1, 1, 0, 0, 0)  # fixed, so the same request always yields the same bytes


def make_zip(files: dict[str, bytes] | Iterable[tuple[str, bytes]], compression: int = zipfile.ZIP_DEFLATED,
             force_zip64: bool = False, seekable: bool = True) -> bytes:
    """A zip holding each name -> bytes (the one zip builder of the emulator and the tests).

    A name ending in / is a directory entry. seekable=False writes as to a pipe, so every entry gets a data
    descriptor (its sizes follow its data), as a streaming server's zips do.
    """
    items = files.items() if isinstance(files, dict) else files
    target = io.BytesIO() if seekable else _Pipe()
    with zipfile.ZipFile(cast(IO[bytes], target), 'w', compression) as archive:
        for name, data in items:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = compression
            if name.endswith('/'):
                archive.writestr(info, b'')
                continue
            with archive.open(info, 'w', force_zip64=force_zip64) as entry:
                entry.write(data)
    return target.getvalue() if isinstance(target, io.BytesIO) else target.drain()


class _Pipe:
    """An unseekable sink for zipfile: collects bytes for a generator to hand out."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.offset = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self.offset

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data, self.parts = b''.join(self.parts), []
        return data

    def as_file(self) -> IO[bytes]:
        return cast(IO[bytes], self)  # zipfile needs only write, tell and flush of a file


def stream_zip(endpoint_id: str, paths: Iterable[str], large_size: int) -> Iterator[bytes]:
    """A stored zip of an action's files, the first one `large_size` bytes, generated as a stream."""
    pipe = _Pipe()
    with zipfile.ZipFile(pipe.as_file(), 'w', zipfile.ZIP_STORED, allowZip64=True) as archive:
        for index, path in enumerate(paths):
            info = zipfile.ZipInfo(content.zip_entry_name(path), date_time=ZIP_DATE)
            size = large_size if index == 0 else None
            with archive.open(info, 'w', force_zip64=True) as entry:
                for piece in content.iter_retrieved_file(endpoint_id, path, size):
                    entry.write(piece)
                    yield pipe.drain()
        archive.close()
        yield pipe.drain()
    yield pipe.drain()


def zip_bomb(uncompressed_mb: int) -> Iterator[bytes]:
    """One deflated entry of `uncompressed_mb` MiB of zeros (a tiny download that inflates enormously)."""
    pipe = _Pipe()
    zeros = bytes(1024 * 1024)
    with zipfile.ZipFile(pipe.as_file(), 'w', zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo('huge.bin', date_time=ZIP_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, 'w', force_zip64=True) as entry:
            for _ in range(uncompressed_mb):
                entry.write(zeros)
                yield pipe.drain()
    yield pipe.drain()


LOCAL_HEADER = struct.Struct('<IHHHHHIIIHH')
CENTRAL_HEADER = struct.Struct('<IHHHHHHIIIHHHHHII')
END_OF_CENTRAL_DIRECTORY = struct.Struct('<IHHHHIIH')
DOS_DATE, DOS_TIME = (2026 - 1980) << 9 | 1 << 5 | 1, 0
VERSION = 20
MIB = 1024 * 1024
HALF_PAGE = 2048
LOG_LINE = '2026-01-01T00:{:02d}:{:02d}Z host-{} sshd[{}]: Accepted publickey for analyst from 10.0.{}.{} port {} ssh2: {}\n'
EMPTY_LAST_DEFLATE_BLOCK = b'\x03\x00'


@lru_cache(maxsize=2)
def _repeated_block(compression: int) -> tuple[bytes, bytes]:
    """(1 MiB of content, what the zip holds for it: its raw deflate ending at a full flush, or itself when stored).

    A full flush resets the compressor, so the same compressed bytes can follow each other: N copies inflate to N
    copies of the block, and a large deflated file costs the emulator nothing to produce. Stored content is the usual
    pseudo-random bytes.
    """
    if compression == zipfile.ZIP_DEFLATED:
        text = ''.join(LOG_LINE.format(i // 60 % 60, i % 60, i % 97, 4000 + i % 3000, i % 256, i * 7 % 256,
                                       40000 + i % 20000, hashlib.sha256(str(i).encode()).hexdigest()[:24])
                       for i in range(MIB // 64)).encode()
        noise = b''.join(hashlib.sha256(b'noise%d' % i).digest() for i in range(MIB // 2 // 32))
        # half log text, half random bytes, page by page: it deflates about 3:2, like binaries and memory dumps
        block = b''.join(noise[i:i + HALF_PAGE] + text[i:i + HALF_PAGE] for i in range(0, MIB // 2, HALF_PAGE))
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        return block, compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = content.retrieved_file_bytes('benchmark', 'block', MIB)
    return block, block


@lru_cache(maxsize=8)
def _crc_of_copies(compression: int, copies: int) -> int:
    block, _ = _repeated_block(compression)
    crc = 0
    for _ in range(copies):
        crc = zlib.crc32(block, crc)
    return crc


def sized_zip(name: str, size_mb: int, compression: int) -> tuple[int, Iterator[bytes]]:
    """(length, body) of a zip holding one file of size_mb MiB, stored or deflated, with its sizes and CRC32 in the
    local header (as a server zipping files it has on disk writes them), generated as a stream."""
    _, packed = _repeated_block(compression)
    final = EMPTY_LAST_DEFLATE_BLOCK if compression == zipfile.ZIP_DEFLATED else b''
    crc, compressed, size = _crc_of_copies(compression, size_mb), len(packed) * size_mb + len(final), MIB * size_mb
    encoded = name.encode()
    local = LOCAL_HEADER.pack(0x04034B50, VERSION, 0, compression, DOS_TIME, DOS_DATE, crc, compressed, size,
                              len(encoded), 0) + encoded
    central = CENTRAL_HEADER.pack(0x02014B50, VERSION, VERSION, 0, compression, DOS_TIME, DOS_DATE, crc, compressed,
                                  size, len(encoded), 0, 0, 0, 0, 0, 0) + encoded
    directory_offset = len(local) + compressed
    end = END_OF_CENTRAL_DIRECTORY.pack(0x06054B50, 0, 0, 1, 1, len(central), directory_offset, 0)

    def body() -> Iterator[bytes]:
        yield local
        for _ in range(size_mb):
            yield packed
        yield final + central + end
    return directory_offset + len(central) + len(end), body()
