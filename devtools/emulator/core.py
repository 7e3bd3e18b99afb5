"""The emulator's HTTP core: server and TLS, routing to the vendor APIs, fault injection, streaming, control API.

Each vendor module (xdr.py, cylance.py) holds a ``Vendor`` subclass that owns its paths, state and error shape.
The core knows none of them: it routes a request to the first vendor whose ``owns(path)`` is true, serves
``/_storage/<kind>/<item>/<name>`` (pre-signed style, no auth) from the vendors' ``storage`` and answers the
control API under ``/_emulator/`` (faults, request log, reset).

Fault rules (``{"path": substring or "*", "kind": ..., "count": N or null, ...}``, optionally ``"method"`` and
``"exact": true`` for an exact path), per run or added per request: status (``status``, optional ``body``,
``retry_after``), latency (``seconds``), reset (connection closed part-way through the body), non_json,
missing_keys, and the download kinds a vendor applies itself (truncated_zip, zip_slip, zip_bomb, many_entries,
large_file). The hostile kinds (a server on the other side of a trust boundary) are described in HOSTILE_KINDS.
"""
import itertools
import json
import socket
import ssl
import struct
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import ParseResult, parse_qs, urlparse

from .wan import RequestGate, ThrottledWriter

MAX_BODY = 16 * 1024 * 1024
MAX_LOG = 20000
STORAGE_PREFIX = '/_storage/'
CONTROL_PREFIX = '/_emulator/'
STORAGE_PATH_PARTS = 5  # '', '_storage', kind, item, name
HUGE_PIECE = 64 * 1024
REDIRECT_COOKIE = 'emu_lb=sticky-{}; Path=/'

# Hostile fault kinds (enable per test with add_fault, or per run in ServerOptions.faults):
HOSTILE_KINDS = {
    'redirect': 'answer `status` (default 302) with Location `location` ({self} = this origin, {path} = the request '
                'path and query); `cookie: true` also sets a cookie, as a load balancer would',
    'reply': 'answer `status` (default 200) with the JSON `body` instead of the API (e.g. a crafted distribution_url)',
    'after_commit': 'carry the request out (the action is committed), then `then`: status (`status`, default 504), '
                    'reset (connection closed, no reply) or stall (`seconds` of silence, then closed)',
    'trickle': 'send the reply body `bytes_per_step` (default 1) bytes every `interval` seconds (default 0.3); the '
               'server gives up and resets after `max_seconds` (default 9)',
    'length': 'lie about the body size: `announce` more (Content-Length `extra` bytes too large, then close), '
              'fewer (half the size) or none (no Content-Length, the body ends when the connection closes)',
    'huge': 'answer 200 with a generated body of `mb` MiB (default 50), streamed in 64 KiB pieces; `announce` '
            'exact (Content-Length), none (ends at close) or chunked',
    'package': 'Cylance: the package(s) in the reply get `fields` set and `remove` keys removed (size, downloadUrl)',
}
SHAPING_KINDS = ('after_commit', 'trickle', 'length')  # kinds that change how the real reply is sent


class Reply(Exception):
    """Short-circuit a request with a status and a JSON body."""

    def __init__(self, status: int, body: Any, headers: dict[str, Any] | None = None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def api_error(status: int, message: str, extra: Any = None, headers: dict[str, Any] | None = None) -> Reply:
    """An error in the shape the XDR public API uses (also for paths no vendor owns)."""
    return Reply(status, {'err_code': status, 'err_msg': message, 'err_extra': extra}, headers)


class Vendor:
    """One emulated API: the paths it owns, its state, its error shape and its stored files."""

    def __init__(self, emulator: 'EmulatorCore'):
        self.emulator = emulator
        self.lock = threading.Lock()

    def owns(self, path: str) -> bool:
        raise NotImplementedError

    def handle(self, http: 'Handler', method: str, path: str, query: dict[str, list[str]], body: bytes,
               fault: dict[str, Any] | None) -> None:
        """Answer one request (through http.send / http.send_stream) or raise Reply."""
        raise NotImplementedError

    def error_body(self, status: int, message: str) -> Any:
        return {'err_code': status, 'err_msg': message, 'err_extra': None}

    def missing_keys_body(self) -> Any:
        return {}

    def storage(self, kind: str, item: str, name: str) -> tuple[bytes, str] | None:
        """(bytes, content type) of a stored file, or None when this vendor has no such file."""
        return None

    def reset(self) -> None:
        """Forget everything created since the start (called under no lock)."""


@dataclass
class ServerOptions:
    """How the HTTP core runs. Fault rules given here apply from the start and again after each reset."""
    port: int = 0
    host: str = '127.0.0.1'
    faults: list[dict[str, Any]] = field(default_factory=list)
    max_concurrency: int = 64  # requests served at once; more are answered 503 (emulator busy)
    verbose: bool = False
    tls_cert: str | None = None
    tls_key: str | None = None
    # WAN behaviour (wan.py): per-request latency, per-connection bandwidth, concurrent-request limit (429)
    latency_ms: float = 0.0
    bandwidth_bytes_per_second: int | None = None
    concurrent_request_limit: int | None = None
    retry_after_seconds: int = 1


class State:
    """Fault rules and the request log, shared by every request."""

    def __init__(self, initial_faults: list[dict[str, Any]]):
        self.initial_faults = initial_faults
        self.lock = threading.Lock()
        self.faults: list[dict[str, Any]] = []
        self.log: list[dict[str, Any]] = []
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.faults = [dict(rule) for rule in self.initial_faults]
            self.log = []

    def take_fault(self, path: str, method: str | None = None) -> dict[str, Any] | None:
        with self.lock:
            for rule in self.faults:
                if rule.get('method') and method and str(rule['method']).upper() != method:
                    continue
                if rule.get('exact') and rule.get('path') != path:
                    continue
                if rule.get('path', '*') in ('*', '') or rule['path'] in path:
                    if rule.get('count') is not None:
                        if rule['count'] <= 0:
                            continue
                        rule['count'] -= 1
                    return dict(rule)
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'EndpointResponseEmulator/1.0'
    disable_nagle_algorithm = True  # headers and body leave at once: no delayed-ACK stalls on keep-alive
    wbufsize = 256 * 1024
    server: '_Server'
    _status: int | str | None = None
    _shape: dict[str, Any] | None = None  # a SHAPING_KINDS fault applied to this request's reply
    _sent = 0  # body bytes written for this request

    # ------------------------------------------------------------ plumbing

    def setup(self) -> None:
        super().setup()
        if self.emu.options.bandwidth_bytes_per_second:
            self.wfile = ThrottledWriter(self.wfile, self.emu.options.bandwidth_bytes_per_second)  # type: ignore

    def log_message(self, format: str, *args: Any) -> None:
        if self.emu.options.verbose:
            BaseHTTPRequestHandler.log_message(self, format, *args)

    @property
    def emu(self) -> 'EmulatorCore':
        return self.server.emulator

    def do_GET(self) -> None:
        self.dispatch('GET')

    def do_POST(self) -> None:
        self.dispatch('POST')

    def do_DELETE(self) -> None:
        self.dispatch('DELETE')

    def do_PUT(self) -> None:  # pre-signed style uploads (Cylance package files)
        self.dispatch('PUT')

    def base_url(self) -> str:
        """The URL the client used to reach us (its Host header)."""
        return '{}://{}'.format(self.emu.scheme, self.headers.get('Host') or f'127.0.0.1:{self.emu.port}')

    def read_body(self) -> bytes:
        length = int(self.headers.get('Content-Length') or 0)
        if length > MAX_BODY:
            raise api_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, 'request body too large')
        return self.rfile.read(length) if length else b''

    def send(self, status: int, body: Any = b'', content_type: str = 'application/json',
             headers: dict[str, Any] | None = None, reset: bool = False) -> None:
        """Send a whole reply; dicts and lists go as JSON. reset: close the connection half-way through the body."""
        if isinstance(body, dict | list):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        if self.ambiguous_instead(status):
            return
        shape = self._shape or {}
        announce: str | None = str(len(body))
        if shape.get('kind') == 'length':
            mode = shape.get('announce', 'more')
            announce = None if mode == 'none' else str(len(body) // 2) if mode == 'fewer' else \
                str(len(body) + int(shape.get('extra', 1000)))
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        if announce is not None:
            self.send_header('Content-Length', announce)
        if shape.get('kind') == 'length':
            self.send_header('Connection', 'close')
            self.close_connection = True
        for name, value in (headers or {}).items():
            self.send_header(name, str(value))
        self.end_headers()
        if reset:
            self.wfile.write(body[:max(1, len(body) // 2)])
            self.abort()
            return
        if not self.write_body(body):
            return
        self._status = status

    def ambiguous_instead(self, status: int) -> bool:
        """After a committed action (a 2xx about to be sent) under an after_commit fault: answer ambiguously."""
        shape = self._shape
        if not shape or shape.get('kind') != 'after_commit' or status >= HTTPStatus.BAD_REQUEST:
            return False
        self._shape = None
        then = shape.get('then', 'status')
        if then == 'status':
            code = int(shape.get('status', HTTPStatus.GATEWAY_TIMEOUT))
            self.send(code, {'err_code': code, 'err_msg': f'Injected {code} after the action was carried out',
                             'message': f'Injected {code} after the action was carried out'})
            self._status = f'{code}-after-commit'
            return True
        if then == 'stall':
            self.emu.wait(float(shape.get('seconds', 5)))
        self.abort()
        self._status = f'{then}-after-commit'
        return True

    def write_body(self, data: bytes) -> bool:
        """Write body bytes (slowly under a trickle fault); False when the trickle gave up and reset."""
        shape = self._shape or {}
        if shape.get('kind') != 'trickle':
            self.wfile.write(data)
            self._sent += len(data)
            return True
        step = max(1, int(shape.get('bytes_per_step', 1)))
        interval = float(shape.get('interval', 0.3))
        deadline = shape.setdefault('_deadline', time.monotonic() + float(shape.get('max_seconds', 9)))
        for offset in range(0, len(data), step):
            if time.monotonic() >= deadline:
                self.abort()
                return False
            self.wfile.write(data[offset:offset + step])
            self.wfile.flush()
            self._sent += len(data[offset:offset + step])
            self.emu.wait(interval)
        return True

    def abort(self) -> None:
        """Close the connection abruptly (RST), part-way through a body."""
        try:
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True
        self._status = 'reset'

    def send_stream(self, status: int, chunks: Iterable[bytes], content_type: str = 'application/zip',
                    length: int | None = None, reset: bool = False) -> None:
        """Send a body generated piece by piece (chunked unless the length is known)."""
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        if length is not None:
            self.send_header('Content-Length', str(length))
        else:
            self.send_header('Transfer-Encoding', 'chunked')
        self.end_headers()
        self.wfile.flush()  # headers now: a body that is slow to generate must not look like a server that never answers
        sent = 0
        for chunk in chunks:
            if not chunk:
                continue
            if reset and sent > 0:
                self.abort()
                return
            if length is None:
                self.wfile.write(b'%x\r\n' % len(chunk))
                if not self.write_body(chunk):
                    return
                self.wfile.write(b'\r\n')
            elif not self.write_body(chunk):
                return
            sent += len(chunk)
        if reset:
            self.abort()
            return
        if length is None:
            self.wfile.write(b'0\r\n\r\n')
        self._status = status

    def dispatch(self, method: str) -> None:
        parsed = urlparse(self.path)
        self._status, self._shape, self._sent = None, None, 0
        entry = self.record(method, parsed)
        if isinstance(self.wfile, ThrottledWriter):
            self.wfile.restart()
        acquired = self.emu.slots.acquire(blocking=False)
        admitted = False
        try:
            if not acquired:
                raise api_error(HTTPStatus.SERVICE_UNAVAILABLE, 'emulator busy', headers={'Retry-After': 1})
            body = self.read_body()
            if entry is not None:
                entry['body_length'] = len(body)
            if not parsed.path.startswith(CONTROL_PREFIX):
                self.admit(parsed.path)
                admitted = True
            self.route(method, parsed.path, parse_qs(parsed.query), body)
        except Reply as reply:
            self.send(reply.status, reply.body, headers=reply.headers)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            if admitted:
                self.emu.gate.release()
            if acquired:
                self.emu.slots.release()
            if entry is not None:
                entry.update(status=self._status, bytes_sent=self._sent)

    def admit(self, path: str) -> None:
        """Pass the WAN gate (waiting the latency) or raise the 429 of a full concurrent-request limit."""
        refused = self.emu.gate.admit()
        if refused is not None:
            vendor = self.emu.vendor_for(path)
            status = HTTPStatus.TOO_MANY_REQUESTS
            body = vendor.error_body(status, refused) if vendor else api_error(status, refused).body
            raise Reply(status, body, {'Retry-After': self.emu.gate.retry_after})

    def route(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> None:
        if path.startswith(CONTROL_PREFIX):
            self.control(method, path, body)
            return
        fault = self.emu.state.take_fault(path, method)
        if fault and fault['kind'] == 'latency':
            time.sleep(float(fault.get('seconds', 1)))
            fault = None
        if fault and fault['kind'] in SHAPING_KINDS:
            self._shape, fault = fault, None
        vendor = self.emu.vendor_for(path)
        if fault:
            self.apply_fault(fault, vendor)
            if self._status is not None:
                return
        if path.startswith(STORAGE_PREFIX):
            self.storage(method, path, fault)
        elif vendor is not None:
            vendor.handle(self, method, path, query, body, fault)
        else:
            raise api_error(HTTPStatus.NOT_FOUND, f'Unknown path {path}')

    def record(self, method: str, parsed: ParseResult) -> dict[str, Any] | None:
        """The request's log entry, logged when it arrives (a stalled request is in the log while it stalls);
        status, body_length and bytes_sent are filled in as they become known. Header names only, no values."""
        if parsed.path.startswith(CONTROL_PREFIX):
            return None
        entry = {'method': method, 'path': parsed.path, 'query': parsed.query, 'status': None,
                 'host': self.headers.get('Host'), 'had_authorization': 'Authorization' in self.headers,
                 'header_names': sorted({name.lower() for name in self.headers.keys()}), 'body_length': None,
                 'bytes_sent': 0, 'client': '{}:{}'.format(*self.client_address[:2]), 'ts': time.time()}
        with self.emu.state.lock:
            self.emu.state.log.append(entry)
            del self.emu.state.log[:-MAX_LOG]
        return entry

    # ------------------------------------------------------------ control API and faults

    def control(self, method: str, path: str, body: bytes) -> None:
        state = self.emu.state
        if path == '/_emulator/faults' and method == 'POST':
            rules = json.loads(body or b'[]')
            with state.lock:
                state.faults.extend(rules if isinstance(rules, list) else [rules])
            self.send(HTTPStatus.OK, {'faults': len(state.faults)})
        elif path == '/_emulator/faults' and method == 'DELETE':
            with state.lock:
                state.faults = []
            self.send(HTTPStatus.OK, {'faults': 0})
        elif path == '/_emulator/status' and method == 'GET':
            with state.lock:
                served = len(state.log)
            self.send(HTTPStatus.OK, {'running': True, 'requests_logged': served,
                                      'concurrent_peak': self.emu.gate.peak})
        elif path == '/_emulator/log' and method == 'GET':
            with state.lock:
                log = list(state.log)
            self.send(HTTPStatus.OK, log)
        elif path == '/_emulator/reset' and method == 'POST':
            self.emu.reset()
            self.send(HTTPStatus.OK, {'reset': True})
        else:
            raise Reply(HTTPStatus.NOT_FOUND, {'message': 'unknown control path'})

    def apply_fault(self, fault: dict[str, Any], vendor: Vendor | None) -> None:
        """Answer with the fault if it replaces the reply; reset and the zip kinds are left to the vendor."""
        kind = fault['kind']
        if kind == 'status':
            status = int(fault.get('status', HTTPStatus.INTERNAL_SERVER_ERROR))
            body = fault.get('body')
            if body is None:
                message = f'Injected error {status}'
                body = vendor.error_body(status, message) if vendor else api_error(status, message).body
            headers = {'Retry-After': fault['retry_after']} if fault.get('retry_after') is not None else {}
            self.send(status, body, headers=headers)
        elif kind == 'non_json':
            self.send(HTTPStatus.OK, '<html><body>Service temporarily unavailable</body></html>',
                      content_type='text/html')
        elif kind == 'missing_keys':
            self.send(HTTPStatus.OK, fault.get('body', vendor.missing_keys_body() if vendor else {}))
        elif kind == 'reply':
            self.send(int(fault.get('status', HTTPStatus.OK)), fault.get('body', {}))
        elif kind == 'redirect':
            location = str(fault.get('location', '{self}{path}')).replace('{self}', self.base_url()).replace(
                '{path}', self.path)
            headers = {'Location': location}
            if fault.get('cookie'):
                headers['Set-Cookie'] = REDIRECT_COOKIE.format(next(self.emu.cookie_counter))
            self.send(int(fault.get('status', HTTPStatus.FOUND)), b'', content_type='text/plain', headers=headers)
        elif kind == 'huge':
            self.send_huge(int(float(fault.get('mb', 50)) * 1024 * 1024), str(fault.get('announce', 'exact')))

    def send_huge(self, size: int, announce: str) -> None:
        """A generated body of size bytes in HUGE_PIECE pieces (memory stays flat), until the client hangs up."""
        self.send_response(HTTPStatus.OK)
        self.send_header('Content-Type', 'application/octet-stream')
        if announce == 'exact':
            self.send_header('Content-Length', str(size))
        elif announce == 'chunked':
            self.send_header('Transfer-Encoding', 'chunked')
        else:
            self.send_header('Connection', 'close')
            self.close_connection = True
        self.end_headers()
        piece = bytes(range(256)) * (HUGE_PIECE // 256)
        left = size
        while left > 0:
            part = piece[:min(left, HUGE_PIECE)]
            self.wfile.write(b'%x\r\n%s\r\n' % (len(part), part) if announce == 'chunked' else part)
            self._sent += len(part)
            left -= len(part)
        if announce == 'chunked':
            self.wfile.write(b'0\r\n\r\n')
        self._status = HTTPStatus.OK

    # ------------------------------------------------------------ storage (pre-signed style, no auth)

    def storage(self, method: str, path: str, fault: dict[str, Any] | None) -> None:
        parts = path.split('/')
        if method != 'GET' or len(parts) != STORAGE_PATH_PARTS:
            raise Reply(HTTPStatus.NOT_FOUND, {'message': 'not found'})
        _, _, kind, item, name = parts
        for vendor in self.emu.vendors:
            found = vendor.storage(kind, item, name)
            if found is not None:
                data, content_type = found
                self.send(HTTPStatus.OK, data, content_type, reset=bool(fault and fault['kind'] == 'reset'))
                return
        raise Reply(HTTPStatus.NOT_FOUND, {'message': 'not found'})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    emulator: 'EmulatorCore'


class ServedOnThread:
    """A ThreadingHTTPServer served on a daemon thread: serve(), shut() and the port; `with` starts and stops it."""

    what = 'the server'
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def start(self) -> Any:
        raise NotImplementedError

    def stop(self) -> None:
        self.shut()

    def serve(self, server: ThreadingHTTPServer, name: str) -> None:
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
        self._thread.start()

    def shut(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f'{self.what} is not running')
        return int(self._server.server_address[1])


class EmulatorCore(ServedOnThread):
    """The HTTP server on host:port with the given vendor APIs; start()/stop() or use as a context manager."""

    what = 'the emulator'

    def __init__(self, options: ServerOptions, vendor_classes: Iterable[type[Vendor]]):
        self.options = options
        self.slots = threading.BoundedSemaphore(options.max_concurrency)
        self.state = State(list(options.faults))
        self.gate = RequestGate(options.latency_ms, options.concurrent_request_limit, options.retry_after_seconds)
        self.vendors = [vendor_class(self) for vendor_class in vendor_classes]
        self.cookie_counter = itertools.count(1)
        self._stopping = threading.Event()  # wakes stalled and trickling replies when the server stops

    def vendor_for(self, path: str) -> Vendor | None:
        return next((vendor for vendor in self.vendors if vendor.owns(path)), None)

    def vendor(self, vendor_class: type[Vendor]) -> Any:
        """The running instance of one vendor API (its state: actions, executions, token requests...)."""
        return next(vendor for vendor in self.vendors if isinstance(vendor, vendor_class))

    def wait(self, seconds: float) -> None:
        """Sleep for a hostile reply (not time.sleep, which tests may patch); cut short when the server stops."""
        self._stopping.wait(max(0.0, seconds))

    def start(self) -> 'EmulatorCore':
        self._stopping.clear()
        server = _Server((self.options.host, self.options.port), Handler)
        server.emulator = self
        if self.options.tls_cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.options.tls_cert, self.options.tls_key)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self.serve(server, 'api-emulator')
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.shut()

    @property
    def scheme(self) -> str:
        return 'https' if self.options.tls_cert else 'http'

    @property
    def url(self) -> str:
        return f'{self.scheme}://{self.options.host}:{self.port}'

    @property
    def alt_url(self) -> str:
        """A second origin for the same server (pre-signed storage links live on another host in the real APIs)."""
        return f'{self.scheme}://localhost:{self.port}'

    def add_fault(self, path: str, kind: str, count: int | None = None, **params: Any) -> None:
        rule = dict(params, path=path, kind=kind, count=count)
        with self.state.lock:
            self.state.faults.append(rule)

    def clear_faults(self) -> None:
        with self.state.lock:
            self.state.faults = []

    def request_log(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return list(self.state.log)

    def reset(self) -> None:
        """Back to the state at start: the initial fault rules, an empty log, no objects created by requests."""
        self.state.reset()
        self.gate.peak = 0
        for vendor in self.vendors:
            vendor.reset()
