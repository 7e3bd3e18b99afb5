"""Reply fuzzing through the public entry of every integration and script.

Each case runs the command in a fresh ``devtools.runner.Session`` (the one fake XSOAR the demo, ``dev.sh run`` and
the playbook tests use: a fresh module from ``<Name>.py``, params, args and the command on ``demistomock``, the
entries processed as the server does), answers every HTTP request with ``requests_mock``, in an empty working
directory. One pytest case per integration command or script, named after it (``test_reply_fuzz[<Integration>-
<command>]``), so ``pytest -k xdr-response-file-retrieve`` runs that command's cases. Only the public contract is
used: ``main()``, the params, the command names and the arguments declared in the YAML; the valid replies follow the
vendors' documented API shapes. (The Session hands a command the server's way: an argument given as None is left
out, as XSOAR never passes one.)

Classes of cases (deterministic: seed ``SEED`` and the command's name; bounded: a fixed number of cases, about 25 s in
all on an idle 2-core machine):
- ``body``: one reply of an otherwise valid conversation replaced by a malformed body (not JSON, wrong types,
  missing keys, huge, deeply nested, type-mutated copies of the valid reply);
- ``status``: every status code 100-599 on the first request of each integration, and a sample of each status
  class on every later request; error bodies that echo the request (key, digest, JWT, bearer token);
- ``transport``: ConnectionError, ConnectTimeout, ReadTimeout, SSLError, ProxyError, ChunkedEncodingError, ...
  on every request;
- ``archive``: hostile archives for the XDR file download (zip-slip, absolute and drive names, bombs, many
  entries, corrupt deflate, truncated, encrypted, empty body, not a zip, gzip Content-Encoding, wrong
  Content-Length) and short/empty/encoded bodies for the installer and package downloads;
- ``args``: every argument in the YAML set to hostile values (None, lists, numbers, huge and unicode strings,
  nested objects), one at a time.

Checked for every case: no traceback text and no Python type or exception class name in any entry or any
``demisto.debug/info/error`` line; no secret (API key, computed Advanced digest, app secret, tenant id, signed
JWT, bearer token) anywhere; no file entry for a failed download; nothing written outside the working directory;
no exception escaping ``main()``.

Any finding fails the test, listing the distinct findings (the full list goes to ``$FUZZ_REPORT`` when set).
"""
import copy
import gzip
import io
import json
import os
import random
import re
import struct
import sys
import tempfile
import time
import zipfile
import zlib
from functools import lru_cache

import pytest
import requests
import requests_mock as requests_mock_module
import yaml

from devtools.paths import ROOT
from devtools.runner import ERROR_ENTRY, FILE_ENTRY_TYPES, MISSING_FILE, PackIndex, Session

SEED = 20261201
TIME_BUDGET_SECONDS = 240  # a safety stop per command: the whole fixed case list takes about 25 s, 80 s on a loaded box

XDR_URL = 'https://api-fuzz.xdr.us.paloaltonetworks.com'
XDR_KEY = 'xdrKEY' + 'k3y' * 20 + 'Z9'
XDR_KEY_ID = '17'
CY_URL = 'https://protectapi.cylance.com'
CY_APP_ID = 'a1b2c3d4-0000-4000-8000-00000000app1'
CY_SECRET = 'cySECRET-' + 's3cr3t' * 6
CY_TENANT = 'cyTENANT-' + 't3n4nt' * 5
CY_TOKEN = 'eyJBearerTokenFromTheServer.' + 'b34r3r' * 10
ENDPOINT = 'aaf1e2b3c4d5e6f7a8b9c0d1e2f3a4b5'
PACKAGE_ID = 'e378dacb-9324-453a-b8c6-5a8406952195'
S3_URL = f'https://cylance-optics-packages.s3.amazonaws.com/t/{PACKAGE_ID}/pkg.zip?X-Amz-Signature=abc'
INSTALLER_URL = 'https://storage.example-cdn.com/dist/2c74c11b/x64?Signature=abc'

# Text a SOC engineer should never see: tracebacks and Python type / exception class names.
FORBIDDEN = ['Traceback', 'TypeError', 'KeyError', 'NoneType', 'AttributeError', 'IndexError', 'ValueError',
             'zlib.error', 'BadZipFile', 'BadZipfile', 'LargeZipFile', 'JSONDecodeError', 'UnicodeDecodeError',
             'UnicodeEncodeError', 'RecursionError', 'OverflowError', 'NameError', 'UnboundLocalError',
             'ZeroDivisionError', 'MemoryError', 'RuntimeError', 'AssertionError', 'FileNotFoundError',
             'PermissionError', 'IsADirectoryError', 'NotADirectoryError', 'OSError', 'EOFError', 'StopIteration',
             'NotImplementedError', 'DemistoException', 'requests.exceptions', 'urllib3.exceptions', "<class '",
             'ChunkedEncodingError', 'ContentDecodingError', 'ReadTimeout', 'ConnectTimeout', 'ConnectionError',
             'SSLError', 'ProxyError', 'TooManyRedirects', 'MaxRetryError', 'ProtocolError', 'InvalidJSONError',
             'BadGzipFile', 'struct.error', 'binascii.Error', 'decode byte', 'object has no attribute',
             'object is not subscriptable', 'object is not iterable', 'unhashable type', 'not supported between',
             'must be str, not', 'argument of type']

TRANSPORT_FAULTS = [requests.exceptions.ConnectionError, requests.exceptions.ConnectTimeout,
                    requests.exceptions.ReadTimeout, requests.exceptions.Timeout, requests.exceptions.SSLError,
                    requests.exceptions.ProxyError, requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError, requests.exceptions.TooManyRedirects]

HOSTILE_VALUES = [None, ['a', 'b'], [{'x': 1}], {'a': {'b': [1]}}, -1.5, 10 ** 20, 'x' * 100000,
                  '\u202e\U0001F4A5\u00fc\u0000\u200b', '[abc]', '../../etc/passwd']


def _json(obj):
    return json.dumps(obj).encode('utf-8')


def make_zip(files, method=zipfile.ZIP_DEFLATED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', method) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = method
            archive.writestr(info, data)
    return buffer.getvalue()


def corrupt_deflate(data):
    """A zip whose first entry's deflate stream is damaged (the central directory stays intact)."""
    damaged = bytearray(data)
    header_len = 30 + struct.unpack('<H', data[26:28])[0] + struct.unpack('<H', data[28:30])[0]
    for offset in range(header_len, min(header_len + 40, len(damaged))):
        damaged[offset] ^= 0xA5
    return bytes(damaged)


def encrypted_flag(data):
    """A zip whose entries claim to be encrypted (general purpose flag bit 0)."""
    damaged = bytearray(data)
    for signature, flag_offset in ((b'PK\x03\x04', 6), (b'PK\x01\x02', 8)):
        start = 0
        while True:
            found = damaged.find(signature, start)
            if found < 0:
                break
            damaged[found + flag_offset] |= 0x01
            start = found + 4
    return bytes(damaged)


def hostile_archives():
    """(name, body bytes, extra headers, should the download succeed)."""
    good = make_zip({'C/Users/bob/report.txt': b'hello world\n' * 20})
    bomb = make_zip({'C/bomb.bin': b'\0' * (60 * 1024 * 1024)})
    return [
        ('valid-zip', good, {}, True),
        ('gzip-content-encoding', gzip.compress(good), {'Content-Encoding': 'gzip'}, True),
        ('zip-slip', make_zip({'../../evil-fuzz.txt': b'pwned'}), {}, False),
        ('zip-slip-nested', make_zip({'C/a/../../../evil-fuzz.txt': b'pwned'}), {}, False),
        ('absolute-name', make_zip({'/tmp/evil-fuzz-absolute.txt': b'pwned'}), {}, False),
        ('drive-name', make_zip({'C:\\evil-fuzz.txt': b'pwned'}), {}, False),
        ('bomb', bomb, {}, False),
        ('many-entries', make_zip({f'C/f{i}.txt': b'x' for i in range(12000)}), {}, False),
        ('corrupt-deflate', corrupt_deflate(good), {}, False),
        ('truncated', good[:len(good) // 2], {}, False),
        ('encrypted', encrypted_flag(good), {}, False),
        ('empty-body', b'', {}, False),
        ('not-a-zip', b'<html>error page</html>', {}, False),
        ('content-length-short', good, {'Content-Length': str(len(good) + 100)}, False),
        ('nested-zip', make_zip({'C/inner.zip': good}), {}, True),
        ('bad-gzip-encoding', b'\x1f\x8b\x08garbage', {'Content-Encoding': 'gzip'}, False),
    ]


def download_bodies():
    """Bodies for plain file downloads (installer, package): (name, body, headers, should succeed)."""
    payload = b'MZ' + bytes(range(256)) * 40
    return [
        ('valid', payload, {}, True),
        ('gzip-content-encoding', gzip.compress(payload), {'Content-Encoding': 'gzip'}, True),
        ('empty-body', b'', {}, False),
        ('content-length-short', payload[:100], {'Content-Length': str(len(payload))}, False),
        ('bad-gzip-encoding', b'\x1f\x8bnot gzip', {'Content-Encoding': 'gzip'}, False),
        ('deflate-encoding', zlib.compress(payload), {'Content-Encoding': 'deflate'}, True),
    ]


# ---------------------------------------------------------------- targets

def load_yaml(kind, name):
    with open(os.path.join(ROOT, kind, name, name + '.yml')) as f:
        return yaml.safe_load(f)


def guess_value(argument, command):
    """A plausible valid value for a declared argument (by its name and predefined values)."""
    name = argument['name'].lower()
    if argument.get('predefined'):
        options = argument['predefined']
        for preferred in ('x64', 'windows', 'standalone', 'false', 'custom'):
            if preferred in options:
                return preferred
        return options[0]
    if argument.get('defaultValue') not in (None, ''):
        return str(argument['defaultValue'])
    table = [('endpoint', ENDPOINT), ('windows', 'C:\\Users\\bob\\report.txt'), ('linux', '/tmp/report.txt'),
             ('mac', '/Users/bob/report.txt'), ('generic', 'C:\\Users\\bob\\report.txt'),
             ('action', '1773'), ('distribution_id', '2c74c11b63074653aa01d575a82bf52a'),
             ('package_id', PACKAGE_ID), ('file_hash', 'a' * 64), ('file_path', 'C:\\Users\\bob\\report.txt'),
             ('incident', '42'), ('file_name', 'installer.msi'), ('name', 'fuzz distribution'),
             ('agent_version', '8.4.0.12345'), ('description', 'fuzz'), ('page_size', '2'), ('page', '1'),
             ('limit', '3'), ('sort', 'name'), ('interval', '10'), ('timeout', '60'), ('max_', '100'),
             ('retrieved_files', json.dumps([{'action_id': 1773, 'endpoint_id': ENDPOINT, 'status': 'COMPLETED'}])),
             ('file_paths', 'C:\\Users\\bob\\report.txt'), ('endpoint_os', 'windows')]
    for key, value in table:
        if key in name:
            return value
    return 'value'


def valid_args(arguments, command):
    args = {}
    for argument in arguments:
        if argument.get('required') or argument.get('defaultValue') not in (None, '') or argument['name'] in (
                'endpoint_ids', 'windows_file_paths', 'action_id', 'distribution_id', 'package_id',
                'endpoint_id', 'file_path', 'file_hash', 'retrieved_files', 'file_paths', 'endpoint_os'):
            args[argument['name']] = guess_value(argument, command)
    return args


def xdr_reply(request):
    path = request.path
    if '/download/' in path:
        return 200, {}, make_zip({'C/Users/bob/report.txt': b'hello world\n'})
    if request.netloc.startswith('storage.'):
        return 200, {}, b'MZ' + bytes(range(256)) * 40
    table = {
        'distributions/create': {'reply': {'distribution_id': '2c74c11b63074653aa01d575a82bf52a'}},
        'distributions/get_status': {'reply': {'status': 'Completed'}},
        'distributions/get_dist_url': {'reply': {'distribution_url': INSTALLER_URL}},
        'distributions/get_versions': {'reply': {'windows': ['8.4.0.12345'], 'linux': ['8.4.0.12344'],
                                                 'macos': ['8.4.0.12343']}},
        'endpoints/file_retrieval': {'reply': {'action_id': 1773, 'endpoints_count': 1}},
        'actions/get_action_status': {'reply': {'data': {ENDPOINT: 'COMPLETED_SUCCESSFULLY'}}},
        'actions/file_retrieval_details': {'reply': {'data': {
            ENDPOINT: XDR_URL + '/public_api/v1/download/AAAAAbCdEf0123456789'}}},
        'quarantine/status': {'reply': [{'endpoint_id': ENDPOINT, 'file_path': 'C:\\Users\\bob\\report.txt',
                                         'file_hash': 'a' * 64, 'status': True}]},
    }
    for suffix, body in table.items():
        if path.endswith(suffix):
            return 200, {'Content-Type': 'application/json'}, _json(body)
    return 404, {}, _json({'err_code': 404, 'err_msg': 'not found', 'err_extra': None})


def cylance_package():
    return {'category': 'custom', 'downloadUrl': S3_URL, 'packageId': PACKAGE_ID, 'playbookCount': 0,
            'size': None, 'status': 'success', 'uploadedOn': '2026-01-01T00:00:00Z',
            'packageDescriptor': {'name': 'Collect', 'description': 'fuzz', 'version': '1.0',
                                  'packageInfo': {'fileName': 'pkg.zip', 'entryPoint': 'main.py'}}}


def cylance_reply(request):
    path = request.path
    if request.netloc.startswith('cylance-optics-packages'):
        return 200, {}, make_zip({'main.py': b'print(1)\n'})
    if path.endswith('/auth/v2/token'):
        return 200, {'Content-Type': 'application/json'}, _json({'access_token': CY_TOKEN})
    if path.rstrip('/').endswith('/packages/v2'):
        return 200, {'Content-Type': 'application/json'}, _json(
            {'page_number': 1, 'page_size': 2, 'total_pages': 1, 'total_number_of_items': 1,
             'page_items': [cylance_package()]})
    if '/packages/v2/' in path:
        return 200, {'Content-Type': 'application/json'}, _json(cylance_package())
    return 404, {}, _json({'message': 'not found'})


class Target:
    def __init__(self, kind, name, params, replies, static_secrets):
        self.kind, self.name = kind, name
        self.yaml = load_yaml(kind, name)
        self.params = params
        self.replies = replies
        self.static_secrets = static_secrets

    def commands(self):
        """(command name, declared arguments) from the YAML; scripts run under their own name."""
        if self.kind == 'Scripts':
            return [(self.yaml.get('name') or self.name, self.yaml.get('args') or [])]
        found: list[tuple[str, list[dict]]] = [('test-module', [])]
        for command in (self.yaml.get('script') or {}).get('commands') or []:
            found.append((command['name'], command.get('arguments') or []))
        return found


def targets():
    xdr_params = {'url': XDR_URL, 'credentials': {'identifier': XDR_KEY_ID, 'password': XDR_KEY},
                  'auth_type': 'Standard', 'insecure': False, 'proxy': False, 'timeout': '5'}
    cy_params = {'url': CY_URL, 'credentials': {'identifier': CY_APP_ID, 'password': CY_SECRET},
                 'tenant_id': CY_TENANT, 'insecure': False, 'proxy': False, 'timeout': '5'}
    found = []
    for kind in ('Integrations', 'Scripts'):
        base = os.path.join(ROOT, kind)
        for name in sorted(os.listdir(base)):
            if not os.path.isfile(os.path.join(base, name, name + '.yml')):
                continue
            if name.startswith('Cortex') or name.startswith('XDR'):
                found.append(Target(kind, name, xdr_params if kind == 'Integrations' else {}, xdr_reply,
                                    {XDR_KEY: 'API key'}))
            elif name.startswith('Cylance'):
                found.append(Target(kind, name, cy_params, cylance_reply, {CY_SECRET: 'app secret', CY_TENANT: 'tenant id',
                                                                         CY_TOKEN: 'bearer token'}))
    return found


def answer_request(index, answer):
    """A plan that gives ``answer`` (a (status, headers, body) tuple or an exception class) to request ``index``."""
    def plan(number, request):
        return answer if number == index else None
    return plan


def answer_every_request(answer):
    def plan(number, request):
        return answer
    return plan


def answer_host(predicate, answer):
    """A plan that gives ``answer`` to every request ``predicate(request)`` selects (downloads)."""
    def plan(number, request):
        return answer if predicate(request) else None
    return plan


def is_xdr_download(request):
    return '/download/' in request.path


def is_installer_download(request):
    return request.netloc.startswith('storage.')


def is_package_download(request):
    return request.netloc.startswith('cylance-optics-packages')


# ---------------------------------------------------------------- one run

class Outcome:
    """What one run showed: entries, log lines, the requests it made, and what it left behind."""

    def __init__(self):
        self.entries: list = []
        self.logs: list[tuple[str, str]] = []
        self.requests: list = []
        self.escaped: str | None = None
        self.secrets: dict[str, str] = {}  # secret value -> what it is
        self.leftovers: list[str] = []
        self.written_outside: list[str] = []
        self.produced_files: set = set()


def snapshot(paths):
    seen: set[str] = set()
    for path in paths:
        try:
            seen.update(os.path.join(path, name) for name in os.listdir(path))
        except OSError:
            pass
    return seen


class Runner:
    """Runs one case in a fresh devtools.runner.Session (one incident), every HTTP request answered by the plan."""

    def __init__(self, workroot, system_tmp):
        self.workroot = workroot
        self.watched = [system_tmp, ROOT, os.path.dirname(workroot), workroot]
        self.index = PackIndex()
        self.compiled: dict = {}  # the code compiled once per file, run fresh for every case (Session.compiled_code)

    def run(self, target, command, args, plan, params=None):
        """Run ``command`` once; ``plan(index, request)`` answers the index-th request (or None for valid)."""
        result = Outcome()
        case = tempfile.mkdtemp(dir=self.workroot, prefix='case-')
        workdir = os.path.join(case, 'work')
        os.makedirs(workdir)
        before = snapshot(self.watched) - {case}
        instances = {target.name: target.params if params is None else params} if target.kind == 'Integrations' else {}
        session = Session(instances=instances, workdir=workdir, files_dir=os.path.join(case, 'files'), index=self.index)
        session.compiled_code = self.compiled
        session.logs = []
        with requests_mock_module.Mocker() as mocker:
            mocker.register_uri(requests_mock_module.ANY, re.compile('.*'), content=Responder(target, plan, result))
            try:
                if target.kind == 'Scripts':
                    session.run_script(command, args)
                else:
                    session.execute(command, args, using=target.name, follow_polling=False)
            except BaseException as error:  # noqa: BLE001 - an escape from main() is a finding
                result.escaped = f'{type(error).__name__}: {str(error)[:200]}'
        result.entries = session.entries
        result.logs = session.logs or []
        result.leftovers = sorted(os.listdir(workdir))
        result.written_outside = sorted(snapshot(self.watched) - before - {case})
        result.produced_files = {e.get('FileID') for e in result.entries if isinstance(e, dict) and e.get('FileID')}
        return result


class Responder:
    """Answers each request by the plan (or validly), noting the secrets the code sent with it."""

    def __init__(self, target, plan, result):
        self.target, self.plan, self.result, self.count = target, plan, result, 0

    def note_secrets(self, request):
        authorization = request.headers.get('Authorization') or ''
        if authorization.startswith('Bearer '):
            self.result.secrets[authorization[len('Bearer '):]] = 'bearer token'
        elif authorization and authorization not in self.target.static_secrets:
            self.result.secrets[authorization] = 'computed Authorization digest'
        body = request.body.decode('utf-8', 'replace') if isinstance(request.body, bytes) else request.body
        if body and 'auth_token' in body:
            try:
                self.result.secrets[json.loads(body)['auth_token']] = 'signed JWT'
            except (ValueError, KeyError, TypeError):
                pass

    def __call__(self, request, context):
        index = self.count
        self.count += 1
        self.result.requests.append(request)
        self.note_secrets(request)
        answer = self.plan(index, request) if self.plan else None
        if answer is None:
            answer = self.target.replies(request)
        if isinstance(answer, type) and issubclass(answer, BaseException):
            raise answer('injected fault')
        status, headers, content = answer
        context.status_code = status
        context.headers.update(headers)
        context.reason = 'Fuzz'
        return content(request) if callable(content) else content


# ---------------------------------------------------------------- checks

def visible_text(result, debug=True):
    """What the War Room and the logs show; debug=False leaves out debug lines, where an unexpected failure's
    exception class and redacted stack are logged on purpose (issue 21: never in the War Room)."""
    parts = []
    for entry in result.entries:
        parts.append(entry if isinstance(entry, str) else json.dumps(entry, default=str))
    parts.extend(text for level, text in result.logs if debug or level != 'debug')
    return '\n'.join(parts)


def where_seen(result, needle):
    in_entries = any(needle in (e if isinstance(e, str) else json.dumps(e, default=str)) for e in result.entries)
    in_logs = any(needle in text for _, text in result.logs)
    return ' and '.join(place for place, seen in (('entry', in_entries), ('log', in_logs)) if seen)


def findings_of(result, target, expect_failed_download=False, expect_success=False):
    found = []
    text = visible_text(result)
    shown = visible_text(result, debug=False)
    for word in FORBIDDEN:
        if word in shown:
            found.append(f'{where_seen(result, word)} shows "{word}"')
            break
    for secret, label in dict(target.static_secrets, **result.secrets).items():
        if secret and len(secret) >= 8 and secret in text:
            found.append(f'{label} leaked in {where_seen(result, secret)}')
    if result.escaped:
        found.append('exception escaped main(): ' + result.escaped.split(':')[0])
    if result.written_outside:
        found.append(f'wrote outside the working directory: {result.written_outside[:3]}')
    missing = MISSING_FILE.split('{}')
    files = [e for e in result.entries if isinstance(e, dict) and (e.get('Type') in FILE_ENTRY_TYPES or (
        e.get('Type') == ERROR_ENTRY and str(e.get('Contents')).startswith(missing[0]) and
        str(e.get('Contents')).endswith(missing[1])))]
    errors = [e for e in result.entries if isinstance(e, dict) and e.get('Type') == ERROR_ENTRY and e not in files]
    if expect_failed_download and files:
        found.append('file entry for a failed download: {}'.format([f.get('File') for f in files][:3]))
    if expect_failed_download and not errors:
        found.append('failed download not reported as an error')
    if expect_success and errors:
        found.append('correct reply failed: {}'.format(str(errors[0].get('Contents'))[:120]))
    stray = [name for name in result.leftovers if not any(name.endswith(fid) for fid in result.produced_files)]
    if stray and (errors or expect_failed_download):
        found.append(f'left files in the working directory after a failure: {stray[:3]}')
    return found


# ---------------------------------------------------------------- case generation

def body_variants(rng, valid_body):
    variants = [('not-json', b'this is not json'), ('html', b'<html><body>Gateway</body></html>'),
                ('empty', b''), ('null', b'null'), ('list', b'[]'), ('object', b'{}'), ('number', b'42'),
                ('string', b'"reply"'), ('reply-null', b'{"reply": null}'), ('reply-list', b'{"reply": []}'),
                ('reply-string', b'{"reply": "x"}'), ('reply-data-number', b'{"reply": {"data": 5}}'),
                ('truncated-json', b'{"reply": {"data": {'), ('bom', b'\xef\xbb\xbf{"reply": {}}'),
                ('invalid-utf8', b'{"reply": "\xff\xfe"}'),
                ('nested', (b'{"a":' * 3000) + b'1' + (b'}' * 3000)),
                ('huge', _json({'reply': {'data': {'k': 'v' * (1024 * 1024)}}}))]
    try:
        parsed = json.loads(valid_body)
    except ValueError:
        return variants
    paths = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                paths.append(path + [key])
                walk(value, path + [key])
        elif isinstance(node, list):
            for i, value in enumerate(node[:2]):
                paths.append(path + [i])
                walk(value, path + [i])
    walk(parsed, [])
    for path in paths:
        for replacement in rng.sample([None, 123, -1, 'text', [], {}, True, [None], {'x': None}, 1.5], 1):
            mutated = copy.deepcopy(parsed)
            node = mutated
            for step in path[:-1]:
                node = node[step]
            node[path[-1]] = replacement
            variants.append(('mutate-{}={}'.format('.'.join(map(str, path)), json.dumps(replacement)),
                             _json(mutated)))
        mutated = copy.deepcopy(parsed)
        node = mutated
        for step in path[:-1]:
            node = node[step]
        if isinstance(node, dict):
            del node[path[-1]]
            variants.append(('missing-{}'.format('.'.join(map(str, path))), _json(mutated)))
    return variants


# Every status class on every request; the full 100-599 range on the first request of test-module, split between
# the two integrations (even codes for the first, odd for the second) to keep the run short.
STATUS_SAMPLE = [101, 204, 299, 302, 400, 401, 403, 404, 429, 499, 500, 503, 599]


def status_bodies(request):
    """An error body that quotes the request back, like some gateways do."""
    echoed = {'err_code': 'E', 'err_msg': f'request was: {request.method} {request.url}',
              'err_extra': {'headers': dict(request.headers),
                            'body': request.body.decode('utf-8', 'replace') if isinstance(request.body, bytes)
                            else request.body}}
    return _json(echoed)


class Fuzzer:
    def __init__(self, runner, seed=SEED):
        self.runner = runner
        self.seed = seed
        self.rng = random.Random(seed)
        self.counts = {}
        self.findings = []
        self.started = time.monotonic()
        self.seconds = {}
        self._last = self.started
        self.stopped = False

    def record(self, klass, case, target, result, **expect):
        self.counts[klass] = self.counts.get(klass, 0) + 1
        now = time.monotonic()
        self.seconds[klass] = self.seconds.get(klass, 0.0) + now - self._last
        self._last = now
        for finding in findings_of(result, target, **expect):
            self.findings.append(f'{klass} | {case} | {finding}')

    def over_budget(self):
        """A safety stop only: the case list is fixed and normally ends far sooner (a stop fails the test)."""
        self.stopped = self.stopped or time.monotonic() - self.started > TIME_BUDGET_SECONDS
        return self.stopped

    def baseline(self, target, command, args):
        """How many requests the valid conversation makes, and the valid bodies."""
        result = self.runner.run(target, command, args, None)
        return result

    def fuzz_command(self, target, command, arguments, parity=0):
        """Every class of case for one integration command (parity: which half of 100-599 its test-module gets)."""
        args = valid_args(arguments, command)
        base = self.baseline(target, command, args)
        self.record('baseline', f'{target.name} {command}', target, base)
        count = len(base.requests)
        for index in range(count):
            request = base.requests[index]
            valid_body = target.replies(request)[2]
            for name, body in body_variants(self.rng, valid_body):
                if self.over_budget():
                    return
                plan = answer_request(index, (200, {'Content-Type': 'application/json'}, body))
                case = f'{target.name} {command} req#{index} body {name}'
                self.record('body', case, target, self.runner.run(target, command, args, plan))
            codes = STATUS_SAMPLE
            if index == 0 and command == 'test-module':
                codes = sorted(set(STATUS_SAMPLE) | set(range(100 + parity % 2, 600, 2)))
            for code in codes:
                plan = answer_request(index, (code, {}, status_bodies))
                case = f'{target.name} {command} req#{index} status {code}'
                self.record('status', case, target, self.runner.run(target, command, args, plan))
            for fault in TRANSPORT_FAULTS:
                plan = answer_request(index, fault)
                case = f'{target.name} {command} req#{index} {fault.__name__}'
                self.record('transport', case, target, self.runner.run(target, command, args, plan))
        if target.kind == 'Integrations':
            self.fuzz_advanced_key(target, command, args)
        self.fuzz_args(target, command, arguments, args)

    def fuzz_advanced_key(self, target, command, args):
        if 'auth_type' not in target.params:
            return
        params = dict(target.params, auth_type='Advanced')
        for code in (401, 403, 500):
            plan = answer_every_request((code, {}, status_bodies))
            result = self.runner.run(target, command, args, plan, params=params)
            self.record('status', f'{target.name} {command} advanced-key echo {code}', target, result)

    def fuzz_args(self, target, command, arguments, args):
        for argument in arguments:
            for value in HOSTILE_VALUES:
                if self.over_budget():
                    return
                fuzzed = dict(args)
                fuzzed[argument['name']] = value
                case = '{} {} {}={}'.format(target.name, command, argument['name'], repr(value)[:40])
                self.record('args', case, target, self.runner.run(target, command, fuzzed, None))
        for _ in range(3):
            fuzzed = {a['name']: self.rng.choice(HOSTILE_VALUES) for a in arguments}
            case = f'{target.name} {command} random-all-args'
            self.record('args', case, target, self.runner.run(target, command, fuzzed, None))

    def fuzz_downloads(self, target, command, arguments):
        """Hostile download bodies for the command when it downloads (see download_kind); False when it does not."""
        kind = download_kind(target, command)
        if kind == 'xdr-archive':
            for return_zip in ('false', 'true'):
                args = dict(valid_args(arguments, command), return_zip=return_zip)
                for name, body, headers, ok in hostile_archives():
                    if return_zip == 'true' and name in ('zip-slip', 'zip-slip-nested', 'absolute-name',
                                                         'drive-name', 'bomb', 'many-entries', 'corrupt-deflate',
                                                         'encrypted', 'nested-zip'):
                        continue  # handed over unopened: the zip itself is the file
                    plan = answer_host(is_xdr_download, (200, headers, body))
                    result = self.runner.run(target, command, args, plan)
                    self.record('archive', f'xdr {command} return_zip={return_zip} {name}', target,
                                result, expect_failed_download=not ok, expect_success=ok)
        elif kind == 'xdr-installer':
            args = dict(valid_args(arguments, command), download='true')
            for name, body, headers, ok in download_bodies():
                plan = answer_host(is_installer_download, (200, headers, body))
                result = self.runner.run(target, command, args, plan)
                self.record('archive', f'xdr {command} installer {name}', target, result,
                            expect_failed_download=not ok, expect_success=ok)
        elif kind == 'cylance-package':
            args = valid_args(arguments, command)
            for name, body, headers, ok in download_bodies():
                plan = answer_host(is_package_download, (200, headers, body))
                result = self.runner.run(target, command, args, plan)
                self.record('archive', f'cylance {command} {name}', target, result,
                            expect_failed_download=not ok, expect_success=ok)
        return kind is not None

    def distinct_findings(self):
        """One line per (class, target and command, finding) with how many cases showed it and one example."""
        grouped: dict[str, tuple[int, str]] = {}
        for finding in self.findings:
            klass, case, what = finding.split(' | ', 2)
            key = '{} | {} | {}'.format(klass, ' '.join(case.split(' ')[:2]), what)
            count, example = grouped.get(key, (0, case))
            grouped[key] = (count + 1, example)
        return [f'{key} (x{count}, e.g. {example})' for key, (count, example) in sorted(grouped.items())]

    def summary(self):
        per_class = ', '.join(f'{k}={v}' for k, v in sorted(self.counts.items()))
        elapsed = time.monotonic() - self.started
        return (f'reply fuzz: seed {self.seed} | {sum(self.counts.values())} cases ({per_class}) in {elapsed:.1f} s | '
                f'findings: {len(self.distinct_findings())} in {len(self.findings)} cases')


def download_kind(target, command):
    """Which hostile download bodies a command gets: the XDR retrieval archive, the XDR installer, the Cylance package
    (the first command of an integration whose name matches, as the commands are declared in its YAML), or None."""
    names = [name for name, _ in target.commands()]
    for kind, prefix, part in (('xdr-archive', 'Cortex', 'retrieve-file-details'),
                               ('xdr-installer', 'Cortex', 'distribution-url'),
                               ('cylance-package', 'Cylance', 'download')):
        if target.kind == 'Integrations' and target.name.startswith(prefix) and \
                command == next((name for name in names if part in name), None):
            return kind
    return None


@lru_cache(maxsize=1)
def all_targets():
    return {target.name: target for target in targets()}


def fuzz_cases():
    """(target name, command name) of every integration command and script, as pytest ids <Name>-<command>."""
    return [pytest.param(target.name, command, id=f'{target.name}-{command}')
            for target in all_targets().values() for command, _ in target.commands()]


def test_fuzz_targets_cover_the_pack():
    names = set(all_targets())
    assert names >= {'CortexXDRResponse', 'CylanceOpticsPackages', 'XDRBuildRetrievePaths', 'XDRRetrievalSummary'}
    assert any(download_kind(target, command) for target in all_targets().values()
               for command, _ in target.commands()), 'no download command gets hostile archives'


@pytest.fixture
def quiet_sleep(monkeypatch):
    """Retries and backoff sleep in real time; the fuzz run only needs their outcome."""
    monkeypatch.setattr(time, 'sleep', lambda seconds: None)


_REPORTED: list[str] = []  # FUZZ_REPORT is rewritten by the first case of a run, then appended to


@pytest.mark.parametrize('target_name, command', fuzz_cases())
def test_reply_fuzz(target_name, command, tmp_path, quiet_sleep, capsys, monkeypatch):
    """Given hostile replies, faults and arguments, When the integration command or script runs as XSOAR runs it,
    Then nothing leaks (no traceback or type name, no secret), failed downloads leave no file, nothing escapes."""
    workroot = tmp_path / 'base' / 'work'
    workroot.mkdir(parents=True)
    system_tmp = tmp_path / 'system-tmp'  # what the code gets as the temp folder, watched like the rest
    system_tmp.mkdir()
    for name in ('TMPDIR', 'TEMP', 'TMP'):
        monkeypatch.setenv(name, str(system_tmp))
    monkeypatch.setattr(tempfile, 'tempdir', str(system_tmp))
    fuzzer = Fuzzer(Runner(str(workroot), str(system_tmp)), seed=f'{SEED}:{target_name}:{command}')
    target = all_targets()[target_name]
    arguments = dict(target.commands())[command]
    archives = False
    if target.kind == 'Integrations':
        integrations = [name for name, t in all_targets().items() if t.kind == 'Integrations']
        fuzzer.fuzz_command(target, command, arguments, parity=integrations.index(target_name))
        archives = fuzzer.fuzz_downloads(target, command, arguments)
    else:
        args = valid_args(arguments, command)
        fuzzer.record('baseline', f'{target.name} {command}', target, fuzzer.runner.run(target, command, args, None))
        fuzzer.fuzz_args(target, command, arguments, args)
    elapsed = time.monotonic() - fuzzer.started
    line = f'{target_name} {command}: ' + fuzzer.summary()
    if os.environ.get('FUZZ_TIMES'):
        line += ' | seconds ' + ', '.join(f'{k}={v:.1f}' for k, v in sorted(fuzzer.seconds.items()))
    with capsys.disabled():
        sys.stdout.write('\n' + line + '\n')
    report = os.environ.get('FUZZ_REPORT')
    if report:
        with open(report, 'a' if _REPORTED else 'w') as f:
            f.write('\n'.join([line, '', 'distinct:'] + fuzzer.distinct_findings() + ['', 'all cases:'] +
                              fuzzer.findings) + '\n\n')
        _REPORTED.append(line)
    assert not fuzzer.stopped, f'the fuzz run hit its {TIME_BUDGET_SECONDS} s safety stop ({elapsed:.0f} s)'
    assert fuzzer.counts.get('baseline') and fuzzer.counts.get('args')
    assert fuzzer.counts.get('archive') if archives else True
    if fuzzer.findings:
        message = '{}\n{}'.format(line, '\n'.join(fuzzer.distinct_findings()))
        pytest.fail(message)
