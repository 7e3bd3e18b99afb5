"""TLS: certificate verification is on by default; `insecure` is the only way to turn it off."""
import subprocess

import pytest

from devtools import instances
from devtools.emulator import Emulator
from devtools.runner import Session


@pytest.fixture(scope='module')
def tls_emulator(tmp_path_factory):
    folder = tmp_path_factory.mktemp('tls')
    cert, key = str(folder / 'cert.pem'), str(folder / 'key.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
                    '-days', '1', '-subj', '/CN=127.0.0.1'], check=True, capture_output=True)
    with Emulator(tls_cert=cert, tls_key=key) as emu:
        yield emu


@pytest.mark.parametrize('integration', ['CortexXDRResponse', 'CylanceOpticsPackages'])
def test_self_signed_certificate_is_refused_by_default(tls_emulator, tmp_path, integration):
    params = instances.emulator_params(tls_emulator)[integration]
    assert params['url'].startswith('https://')
    session = Session(instances={integration: params}, workdir=str(tmp_path / 'a'))
    entries = session.execute('test-module', using=integration)
    assert entries[0]['Type'] == 4 and 'certificate' in entries[0]['Contents'].lower()

    session = Session(instances={integration: dict(params, insecure=True)}, workdir=str(tmp_path / 'b'))
    assert [e['Contents'] for e in session.execute('test-module', using=integration)] == ['ok']
