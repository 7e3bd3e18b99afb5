"""Bounded transfers: a slow, oversized or lying reply ends within a wall-clock deadline and a byte cap.

A trickled reply never trips requests' per-read timeout, so the integration needs its own deadline; a download
without a trustworthy size needs its own cap; nothing of a failed download stays behind.
"""
import re
import time

import pytest

from devtools.emulator import content
from tests.hostile.conftest import (CYLANCE, HTTP_TIMEOUT_SECONDS, MIB, XDR, assert_plain_error, file_entries,
                                    leftovers, xdr_completed_action)

READY_PACKAGE = content.package_id(0)
DEADLINE_SECONDS = 2 * HTTP_TIMEOUT_SECONDS + 3
# the server gives up (and resets) one second after the deadline, so a client without a deadline fails in time too
TRICKLE = {'bytes_per_step': 1, 'interval': 0.3, 'max_seconds': DEADLINE_SECONDS + 1}
LIMIT = re.compile(r'max_size_mb|limit', re.IGNORECASE)


def timed(session, command, args, integration):
    started = time.monotonic()
    entries = session.execute(command, args, using=integration)
    return entries, time.monotonic() - started


@pytest.mark.parametrize('integration, command, args, path', [
    pytest.param(XDR, 'xdr-response-get-distribution-versions', {}, '/public_api/v1/distributions/get_versions',
                 id='xdr-json-reply'),
    pytest.param(CYLANCE, 'cylance-optics-list-packages', {'page_size': '5'}, '/packages/v2', id='cylance-json-reply'),
])
def test_trickled_json_reply_ends_at_the_deadline(hostile, integration, command, args, path):
    """Given a JSON reply sent one byte every 0.3 s (each read is quick, the whole is not)
    When the command runs with timeout 2 s
    Then it ends within 2 x timeout + 3 s with a plain error."""
    hostile.emulator.add_fault(path, 'trickle', exact=True, **TRICKLE)
    session = hostile.session(integration)
    entries, elapsed = timed(session, command, args, integration)
    assert elapsed <= DEADLINE_SECONDS, f'the command took {elapsed:.1f} s for a trickled reply'
    assert_plain_error(entries)


def xdr_download_link(hostile, session):
    return 'xdr-response-retrieve-file-details', {'action_id': xdr_completed_action(session)}, '/public_api/v1/download/'


def xdr_distribution(hostile, session):
    """A distribution URL on the storage host serving real bytes (the storage is shared: a package file)."""
    storage_url = f'{hostile.emulator.alt_url}/_storage/packages/{READY_PACKAGE}/agent.deb?sig=abc'
    hostile.emulator.add_fault('distributions/get_dist_url', 'reply', body={'reply': {'distribution_url': storage_url}})
    return ('xdr-response-get-distribution-url', {'distribution_id': 'd1', 'package_type': 'deb', 'download': 'true'},
            '/_storage/packages/')


def cylance_download(hostile, session):
    return 'cylance-optics-download-package', {'package_id': READY_PACKAGE}, '/_storage/packages/'


DOWNLOADS = [pytest.param(XDR, xdr_download_link, id='xdr-download-link'),
             pytest.param(XDR, xdr_distribution, id='xdr-distribution'),
             pytest.param(CYLANCE, cylance_download, id='cylance-package')]


@pytest.mark.parametrize('integration, download', DOWNLOADS)
def test_trickled_download_ends_at_the_deadline(hostile, integration, download):
    """Given a download sent one byte every 0.3 s
    When the command runs with timeout 2 s
    Then it ends within 2 x timeout + 3 s with a plain error, no file entry and no partial file left."""
    session = hostile.session(integration)
    command, args, path = download(hostile, session)
    hostile.emulator.add_fault(path, 'trickle', **TRICKLE)
    entries, elapsed = timed(session, command, args, integration)
    assert elapsed <= DEADLINE_SECONDS, f'the download took {elapsed:.1f} s'
    assert_plain_error(entries)
    assert not file_entries(entries), 'a file entry for a download that never finished'
    assert not leftovers(session)


SIZES = [pytest.param({'remove': ['size']}, id='size-absent'),
         pytest.param({'fields': {'size': 'twelve'}}, id='size-not-a-number'),
         pytest.param({'fields': {'size': -5}}, id='size-negative'),
         pytest.param({'fields': {'size': 1234.5}}, id='size-float')]


@pytest.mark.parametrize('announce', ['exact', 'none'])
@pytest.mark.parametrize('size', SIZES)
def test_cylance_download_without_a_usable_size_stops_at_max_size_mb(hostile, byte_meter, size, announce):
    """Given a package whose size is absent, not a number, negative or a float, and a 50 MiB body (with or without
    Content-Length)
    When cylance-optics-download-package runs with max_size_mb=1
    Then it stops after about 1 MiB + one chunk with an error naming the limit, and keeps no file."""
    hostile.emulator.add_fault(f'/packages/v2/{READY_PACKAGE}', 'package', exact=True, **size)
    hostile.emulator.add_fault('/_storage/packages/', 'huge', mb=50, announce=announce)
    session = hostile.session(CYLANCE)
    entries, elapsed = timed(session, 'cylance-optics-download-package',
                             {'package_id': READY_PACKAGE, 'max_size_mb': '1'}, CYLANCE)
    received = byte_meter.received_from(hostile.emulator.port)
    assert not file_entries(entries), f'a file entry after receiving {received} bytes'
    assert received <= 2 * MIB + 256 * 1024, f'{received} bytes received for a 1 MB limit'
    text = assert_plain_error(entries)
    assert LIMIT.search(text), f'the error does not name the limit: {text[:500]}'
    assert not leftovers(session)
    assert elapsed <= DEADLINE_SECONDS


def test_xdr_distribution_download_stops_at_max_total_size_mb(hostile, byte_meter):
    """Given a distribution URL serving 50 MiB
    When the package is downloaded with max_total_size_mb=1
    Then it stops after about 1 MiB + one chunk with an error naming the limit, and keeps no file."""
    session = hostile.session(XDR)
    command, args, path = xdr_distribution(hostile, session)
    hostile.emulator.add_fault(path, 'huge', mb=50, announce='none')
    entries, _ = timed(session, command, dict(args, max_total_size_mb='1'), XDR)
    assert not file_entries(entries)
    assert byte_meter.received_from(hostile.emulator.port) <= 2 * MIB + 256 * 1024
    assert LIMIT.search(assert_plain_error(entries))
    assert not leftovers(session)


@pytest.mark.parametrize('integration, download', DOWNLOADS)
def test_download_shorter_than_its_content_length_is_refused(hostile, integration, download):
    """Given a download whose Content-Length announces more bytes than are sent
    When the command runs
    Then it ends in a plain error, no file entry and no partial file."""
    session = hostile.session(integration)
    command, args, path = download(hostile, session)
    hostile.emulator.add_fault(path, 'length', announce='more', extra=1000)
    entries = session.execute(command, args, using=integration)
    assert_plain_error(entries)
    assert not file_entries(entries), 'a file entry for a download that ended early'
    assert not leftovers(session)
