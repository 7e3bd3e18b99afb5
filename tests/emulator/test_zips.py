"""The large zips the emulator streams for benchmarks: valid, sizes and CRC32 in the local header, as announced."""
import io
import struct
import zipfile

import pytest
import requests

from devtools.emulator import Emulator, credentials
from devtools.emulator.zips import MIB, sized_zip

HEADERS = {'x-xdr-auth-id': credentials.XDR_STANDARD['key_id'], 'Authorization': credentials.XDR_STANDARD['key']}
ENDPOINT = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'


@pytest.mark.parametrize('compression, ratio_range', [(zipfile.ZIP_STORED, (1, 1)),
                                                      (zipfile.ZIP_DEFLATED, (1.2, 10))])
def test_sized_zip_is_valid_with_sizes_in_the_local_header(compression, ratio_range):
    """Given a 3 MiB file, When the sized zip is generated, Then its length is as announced, zipfile reads it with
    a correct CRC32, the local header carries the real sizes (no data descriptor), and a deflated one compresses
    like text (well under the integration's ratio cap of 100)."""
    length, body = sized_zip('C/evidence/memory.dmp', 3, compression)
    data = b''.join(body)
    assert len(data) == length
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    info = archive.getinfo('C/evidence/memory.dmp')
    assert info.file_size == 3 * MIB and info.compress_type == compression
    flags, _, _, _, crc, compressed, size = struct.unpack('<HHHHIII', data[6:26])
    assert flags & 0x08 == 0 and (crc, compressed, size) == (info.CRC, info.compress_size, info.file_size)
    low, high = ratio_range
    assert low <= info.file_size / info.compress_size <= high


def test_the_emulator_serves_a_sized_zip_with_its_content_length():
    with Emulator(action_steps=1, large_file_size=2 * MIB, large_file_format='deflated') as emu:
        api = emu.url + '/public_api/v1/'
        action_id = requests.post(api + 'endpoints/file_retrieval', headers=HEADERS, timeout=30, json={'request_data': {
            'filters': [{'field': 'endpoint_id_list', 'operator': 'in', 'value': [ENDPOINT]}],
            'files': {'windows': ['C:\\evidence\\memory.dmp']}}}).json()['reply']['action_id']
        requests.post(api + 'actions/get_action_status', headers=HEADERS, timeout=30,
                      json={'request_data': {'group_action_id': action_id}})
        link = requests.post(api + 'actions/file_retrieval_details', headers=HEADERS, timeout=30,
                             json={'request_data': {'group_action_id': action_id}}).json()['reply']['data'][ENDPOINT]
        reply = requests.post(link, headers=HEADERS, timeout=30)
    assert int(reply.headers['Content-Length']) == len(reply.content)
    archive = zipfile.ZipFile(io.BytesIO(reply.content))
    assert archive.namelist() == ['C/evidence/memory.dmp'] and archive.testzip() is None
