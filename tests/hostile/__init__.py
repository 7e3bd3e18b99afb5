"""Hostile tests: the integrations against a server on the other side of a trust boundary (issue 22 item 6).

Acceptance tests of the trust-boundary policy, run through devtools.runner.Session against the in-process emulator
(its hostile fault kinds, core.HOSTILE_KINDS) and the recording other origins (devtools.emulator.OtherOrigin:
another host name, or the same IP on another port). One file per class:

- test_redirects: every credential-bearing call x 301/302/303/307/308 to another origin (XDR with Standard and
  Advanced keys): no Authorization, x-xdr-auth-id, x-xdr-nonce, x-xdr-timestamp, Cookie or body reaches it; API
  calls never follow and the error mentions "redirect"; downloads may follow by hand only as a bare GET, never
  https -> http, and a loop ends after a few hops with an error mentioning "redirect".
- test_crafted_urls: download URLs with userinfo, a backslash, javascript:, ftp: or an unparseable host are refused
  with a plain error naming the URL, no Python type name, and nothing reaching the other origin.
- test_at_most_once: an action committed and then answered 504/502/reset/stall is received exactly once and the
  analyst reads "may have" with a hint how to check; Cylance run-package finds its execution by listing instead;
  reads are retried on 502/503/504; an action refused with 429/503 + Retry-After is retried and committed once.
- test_bounded_transfers: trickled JSON replies and downloads end within 2 x timeout + 3 s; Cylance downloads
  without a usable size stop at max_size_mb (bytes received measured at the socket); a Content-Length larger than
  the body is an error; no file entry and no partial file after a failed download.
- test_token_ownership: a changed secret, app ID, tenant ID or URL gets a new token and the old one is never sent;
  test-module always asks for a fresh token (not ok with a wrong secret); the context never holds the secret.
- test_safe_links: a distribution_url is a Markdown link only when it is https.
"""
