"""Crafted download URLs: userinfo, backslashes, other schemes and unparseable hosts are refused before any request."""
import pytest

from devtools.emulator import content
from tests.hostile.conftest import CYLANCE, XDR, assert_plain_error, file_entries, leftovers

READY_PACKAGE = content.package_id(0)
CRAFTED = [
    # (id, URL template: {other} = the other origin's host:port, {api} = the emulator's host:port)
    ('backslash-before-userinfo', 'http://{other}\\@{api}/_storage/packages/' + READY_PACKAGE + '/p.zip'),
    ('userinfo-on-the-other-origin', 'http://user:pw@{other}/_storage/packages/' + READY_PACKAGE + '/p.zip'),
    ('userinfo-on-the-api-host', 'http://user:pw@{api}/_storage/packages/' + READY_PACKAGE + '/p.zip'),
    ('javascript-scheme', 'javascript:alert(1)'),
    ('ftp-scheme', 'ftp://{other}/p.zip'),
    ('unparseable-host', 'http://[{other}/p.zip'),
]


@pytest.mark.parametrize('template', [pytest.param(t, id=name) for name, t in CRAFTED])
def test_cylance_crafted_download_url_is_refused(hostile, template):
    """Given a package whose downloadUrl is crafted (userinfo, a backslash, javascript:, ftp:, a broken host)
    When cylance-optics-download-package runs
    Then it is refused with a plain error naming the URL, nothing reaches the other origin or the download path,
    and no file is kept."""
    other = hostile.other_host
    url = template.format(other=f'localhost:{other.port}', api=f'127.0.0.1:{hostile.emulator.port}')
    hostile.emulator.add_fault(f'/packages/v2/{READY_PACKAGE}', 'package', exact=True, fields={'downloadUrl': url})
    session = hostile.session(CYLANCE)
    entries = session.execute('cylance-optics-download-package', {'package_id': READY_PACKAGE}, using=CYLANCE)
    received = [(r.method, r.path, sorted(r.headers)) for r in other.requests()]
    assert received == [], f'the crafted URL reached the other origin: {received}'
    assert hostile.requests_to('/_storage/') == [], 'the crafted URL was requested from the API host'
    text = assert_plain_error(entries)
    assert 'url' in text.lower(), f'the error does not say the download URL was refused: {text[:500]}'
    assert not file_entries(entries) and not leftovers(session)


def test_xdr_javascript_distribution_url_is_not_downloaded(hostile):
    """Given get_dist_url answering distribution_url javascript:alert(1)
    When xdr-response-get-distribution-url runs with download=true
    Then the URL is refused with a plain error naming it, nothing is requested and no file is kept."""
    hostile.emulator.add_fault('distributions/get_dist_url', 'reply',
                               body={'reply': {'distribution_url': 'javascript:alert(1)'}})
    session = hostile.session(XDR)
    entries = session.execute('xdr-response-get-distribution-url', {'distribution_id': 'd1', 'package_type': 'x64',
                                                                    'download': 'true'}, using=XDR)
    text = assert_plain_error(entries)
    assert 'url' in text.lower(), text[:500]
    assert hostile.other_host.requests() == []
    assert not file_entries(entries) and not leftovers(session)
