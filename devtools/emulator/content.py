"""Deterministic content served by the emulator, so tests can compute the bytes and hashes they expect."""
import hashlib
import io
import uuid
import zipfile
from functools import lru_cache

PACKAGE_NAMESPACE = uuid.UUID('5f0c8a2e-3b1d-4c7e-9a60-2d4f6b8e1c3a')


def _seed(*parts):
    return hashlib.sha256('|'.join(parts).encode('utf-8')).digest()


@lru_cache(maxsize=64)
def _block(seed):
    """A 1 MiB block made from a seed (repeated to make files of any size quickly)."""
    kib = b''.join(hashlib.sha256(seed + i.to_bytes(4, 'big')).digest() for i in range(32))
    return kib * 1024


def default_size(endpoint_id, path):
    return 512 + _seed(endpoint_id, path)[0] * 8


def iter_retrieved_file(endpoint_id, path, size=None):
    size = default_size(endpoint_id, path) if size is None else size
    block = _block(_seed(endpoint_id, path))
    remaining = size
    while remaining > 0:
        piece = block[:min(remaining, len(block))]
        remaining -= len(piece)
        yield piece


def retrieved_file_bytes(endpoint_id, path, size=None):
    return b''.join(iter_retrieved_file(endpoint_id, path, size))


def retrieved_file_sha256(endpoint_id, path, size=None):
    digest = hashlib.sha256()
    for piece in iter_retrieved_file(endpoint_id, path, size):
        digest.update(piece)
    return digest.hexdigest()


def zip_entry_name(path):
    """C:\\Users\\bob\\evil.exe -> C/Users/bob/evil.exe; /tmp/x.sh -> tmp/x.sh."""
    name = path.replace('\\', '/')
    if len(name) > 1 and name[1] == ':':
        name = name[0] + name[2:]
    return name.lstrip('/')


def distribution_file_bytes(distribution_id, package_type):
    seed = _seed('distribution', distribution_id, package_type)
    return _block(seed)[:4096 + seed[0] * 16]


def package_id(index):
    return str(uuid.uuid5(PACKAGE_NAMESPACE, f'package-{index}'))


def package_file_bytes(pkg_id):
    """A real Optics package: a zip holding its Python entry point (main.py) and some data, the same every run."""
    seed = _seed('package', pkg_id)
    members = {'main.py': f'import sys\n\nprint("Optics package {pkg_id}", sys.argv[1:])\n'.encode(),
               'data.bin': _block(seed)[:1024 + int.from_bytes(seed[:2], 'big') % 4096]}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w') as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


def is_quarantined(file_hash):
    return int(file_hash[-1], 16) % 2 == 0
