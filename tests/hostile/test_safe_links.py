"""Safe links: a URL from the API becomes a Markdown link in the War Room only when it is https."""
import re

import pytest

from devtools.runner import errors_of
from tests.hostile.conftest import XDR, readable_text

LINK = re.compile(r'\]\(\s*<?\s*([^)\s>]+)')


@pytest.mark.parametrize('url, linked', [
    pytest.param('javascript:alert(1)', False, id='javascript'),
    pytest.param('JaVaScRiPt:alert(document.domain)', False, id='javascript-mixed-case'),
    pytest.param('http://other.example/agent.msi', False, id='http-other-host'),
    pytest.param('https://storage.example/agent.msi?sig=abc', True, id='https'),
])
def test_distribution_url_is_a_link_only_when_https(hostile, url, linked):
    """Given get_dist_url answering distribution_url with a javascript:, http:// or https:// URL
    When xdr-response-get-distribution-url runs (no download)
    Then only the https URL is rendered as a Markdown link."""
    hostile.emulator.add_fault('distributions/get_dist_url', 'reply', body={'reply': {'distribution_url': url}})
    session = hostile.session(XDR)
    entries = session.execute('xdr-response-get-distribution-url', {'distribution_id': 'd1', 'package_type': 'x64'},
                              using=XDR)
    assert not errors_of(entries), errors_of(entries)
    targets = LINK.findall(readable_text(entries))
    if linked:
        assert url in targets, f'the https URL is not a link: {readable_text(entries)[:400]}'
    else:
        assert not [t for t in targets if t.lower().startswith(('javascript:', 'http:'))], \
            f'an unsafe URL is rendered as a link: {readable_text(entries)[:400]}'
