"""The other origin: a tiny HTTP server on loopback that records everything it receives.

Trust-boundary tests point the emulator's redirects and crafted URLs at it and then assert what reached it:
method, path, every header (names and values) and the body length. ``OtherOrigin(host='localhost')`` is another
host; ``OtherOrigin(host='127.0.0.1')`` is the same IP as the emulator on another port, which is another origin
too (and where cookies, which ignore ports, would follow). It answers 200 with a small JSON body by default;
``answer(...)`` changes that, ``answer_redirect(location)`` makes it redirect (e.g. to itself: a loop).
"""
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .core import ServedOnThread

MAX_BODY = 1024 * 1024
DEFAULT_BODY = b'{"other_origin": true}'


@dataclass
class Received:
    """One request as the other origin saw it."""
    method: str
    path: str
    headers: dict[str, str]
    body_length: int
    body_sample: bytes = b''

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers.items() if key.lower() == name.lower()), None)


@dataclass
class _Answer:
    status: int = 200
    body: bytes = DEFAULT_BODY
    headers: dict[str, str] = field(default_factory=lambda: {'Content-Type': 'application/json'})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server: '_Server'

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def read_body(self) -> bytes:
        if 'chunked' in (self.headers.get('Transfer-Encoding') or '').lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b';')[0].strip() or b'0', 16)
                if size == 0:
                    self.rfile.readline()
                    return b''.join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(min(length, MAX_BODY)) if length else b''

    def handle_any(self) -> None:
        body = self.read_body()
        origin = self.server.origin
        with origin.lock:
            origin.received.append(Received(self.command, self.path, dict(self.headers.items()), len(body),
                                            body[:200]))
            answer = origin.current
        location = answer.headers.get('Location', '').replace('{self}', origin.url)
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, location if name == 'Location' else value)
        self.send_header('Content-Length', str(len(answer.body)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(answer.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    origin: 'OtherOrigin'


class OtherOrigin(ServedOnThread):
    """A recording HTTP server on 127.0.0.1, addressed as http://<host>:<its port>; start()/stop() or `with`."""

    def __init__(self, host: str = 'localhost'):
        self.what = 'the other origin'
        self.host = host
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.current = _Answer()

    def start(self) -> 'OtherOrigin':
        server = _Server(('127.0.0.1', 0), _Handler)
        server.origin = self
        self.serve(server, 'other-origin')
        return self

    @property
    def url(self) -> str:
        return f'http://{self.host}:{self.port}'

    def reset(self) -> None:
        """Forget what was received and answer 200 with the default body again."""
        with self.lock:
            self.received = []
            self.current = _Answer()

    def answer(self, status: int = 200, body: bytes | dict[str, Any] = DEFAULT_BODY,
               headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        with self.lock:
            self.current = _Answer(status, data, dict(headers or {'Content-Type': 'application/octet-stream'}))

    def answer_redirect(self, location: str = '{self}/loop', status: int = 302) -> None:
        """Redirect every request to location ({self} = this origin's URL): a loop by default."""
        self.answer(status, b'', {'Location': location})

    def requests(self) -> list[Received]:
        with self.lock:
            return list(self.received)
