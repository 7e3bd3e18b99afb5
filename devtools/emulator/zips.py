"""Zip archives the emulator serves: small ones built in memory, large ones generated as a stream."""
import io
import zipfile
from collections.abc import Iterable, Iterator
from typing import IO, cast

from . import content

ZIP_DATE = (2026, 1, 1, 0, 0, 0)  # fixed, so the same request always yields the same bytes


def make_zip(files: dict[str, bytes]) -> bytes:
    """A deflated zip holding each name -> bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


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
