"""WAN behaviour for the emulator: what a real tenant across the internet adds to every call.

- latency: each API request waits this long before it is answered (time to first byte);
- bandwidth: each connection sends at most this many bytes per second;
- a concurrent-request limit: requests beyond it are answered 429 with Retry-After at once.
Control requests (/_emulator/...) are exempt. Selected per run: Options fields (Python), `serve`/`start` flags, or
the EMULATOR_* environment variables the flags default to.
"""
import re
import threading
import time
from typing import IO

WRITE_PIECE = 16 * 1024  # throttled writes go out in pieces this size, so the rate holds within a body
SIZE = re.compile(r'^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?\s*$', re.IGNORECASE)
SIZE_UNITS = {'': 1, 'k': 1024, 'm': 1024 ** 2, 'g': 1024 ** 3}


def parse_size(text: str) -> int:
    """'2M', '512KiB', '1000' -> bytes (binary units)."""
    match = SIZE.match(str(text))
    if not match:
        raise ValueError(f'not a size: {text!r} (examples: 1000, 512K, 2M)')
    return int(float(match.group(1)) * SIZE_UNITS[match.group(2).lower()])


class ThrottledWriter:
    """A connection's output stream sending at most `rate` bytes per second, measured from restart()."""

    def __init__(self, raw: IO[bytes], rate: int):
        self.raw, self.rate = raw, rate
        self.restart()

    def restart(self) -> None:
        """A new reply: an idle connection does not save up allowance for a burst."""
        self.started, self.sent = time.monotonic(), 0

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        for offset in range(0, len(view), WRITE_PIECE):
            piece = view[offset:offset + WRITE_PIECE]
            self.raw.write(piece)
            self.raw.flush()
            self.sent += len(piece)
            ahead = self.sent / self.rate - (time.monotonic() - self.started)
            if ahead > 0:
                time.sleep(ahead)
        return len(view)

    def flush(self) -> None:
        self.raw.flush()

    def close(self) -> None:
        self.raw.close()

    @property
    def closed(self) -> bool:
        return self.raw.closed


class RequestGate:
    """Admits API requests up to the concurrent limit (the rest get 429 + Retry-After) and adds the latency."""

    def __init__(self, latency_ms: float, concurrent_limit: int | None, retry_after_seconds: int):
        self.latency = latency_ms / 1000
        self.limit = concurrent_limit
        self.retry_after = retry_after_seconds
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0  # most requests in flight at once since start (what a client's pool really did)

    def admit(self) -> str | None:
        """None when admitted (call release() after the reply), else the message of the 429 to answer."""
        with self.lock:
            if self.limit is not None and self.active >= self.limit:
                return f'Too many concurrent requests (limit {self.limit}); retry after {self.retry_after} s'
            self.active += 1
            self.peak = max(self.peak, self.active)
        if self.latency:
            time.sleep(self.latency)
        return None

    def release(self) -> None:
        with self.lock:
            self.active -= 1
