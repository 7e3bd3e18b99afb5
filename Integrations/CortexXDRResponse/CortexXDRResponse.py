"""Cortex XDR - Response Actions.

Agent installation packages, Retrieve File (with safe download and unzip) and quarantine status
through the Cortex XDR public API (`POST <url>/public_api/v1/<path>`, `{"request_data": ...}` in,
`{"reply": ...}` out).
"""
import demistomock as demisto  # noqa: F401
from CommonServerPython import *  # noqa: F401

import hashlib
import json
import os
import re
import secrets
import string
import time
import zipfile
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple
from urllib.parse import urlparse

import requests

INTEGRATION_NAME = 'Cortex XDR - Response Actions'
CONTEXT_PREFIX = 'PaloAltoNetworksXDR'
API_PATH = '/public_api/v1'

AUTH_STANDARD = 'Standard'
AUTH_ADVANCED = 'Advanced'
NONCE_LENGTH = 64
NONCE_ALPHABET = string.ascii_letters + string.digits

RETRYABLE_STATUSES = (429, 502, 503, 504)
DEFAULT_MAX_RETRIES = 3
MAX_RETRY_WAIT_SECONDS = 60
DEFAULT_TIMEOUT_SECONDS = 120
CHUNK_SIZE = 1024 * 1024

MAX_FILES_PER_RETRIEVAL = 20
MAX_ENDPOINTS_PER_RETRIEVAL = 10
QUARANTINE_BATCH_SIZE = 100
QUARANTINE_TABLE_ROWS = 1000  # a war-room table longer than this helps nobody; context has all rows

DEFAULT_POLLING_INTERVAL = 60
DEFAULT_POLLING_TIMEOUT = 600

DEFAULT_MAX_TOTAL_SIZE_MB = 2048
DEFAULT_MAX_COMPRESSION_RATIO = 100
DEFAULT_MAX_ENTRIES = 1000
RATIO_CHECK_MIN_BYTES = 1024 * 1024  # tiny files compress absurdly well without being bombs

PLATFORMS = ('windows', 'linux', 'macos', 'android')
PACKAGE_TYPES = ('standalone', 'upgrade')
DIST_URL_PACKAGE_TYPES = {
    'x86': 'windows', 'x64': 'windows', 'sh': 'linux', 'rpm': 'linux', 'deb': 'linux', 'pkg': 'macos',
    'upgrade': None,
}
DIST_FILE_EXTENSIONS = {'x86': 'msi', 'x64': 'msi', 'sh': 'sh', 'rpm': 'rpm', 'deb': 'deb', 'pkg': 'pkg',
                        'upgrade': 'zip'}

ACTION_PENDING_STATUSES = ('PENDING', 'IN_PROGRESS', 'PENDING_ABORT')
ACTION_SUCCESS_STATUS = 'COMPLETED_SUCCESSFULLY'
DISTRIBUTION_PENDING_STATUSES = ('in progress', 'pending', 'created', 'queued', 'in_progress')

SHA256_RE = re.compile(r'^[A-Fa-f0-9]{64}$')
DOWNLOAD_PATH_RE = re.compile(r'/public_api/v1/download/([^/?#]+)$')

STATUS_MEANINGS = {
    400: 'Bad request - Cortex XDR rejected the request as invalid JSON or invalid parameters. '
         'Check the command arguments.',
    401: 'Unauthorized - authentication failed. Check the API key ID, the API key and the key type '
         '(Standard or Advanced) in the instance settings.',
    402: 'License required - the tenant does not have the license this API needs '
         '(Cortex XDR Prevent, Pro per Endpoint or Pro per GB).',
    403: 'Forbidden - the API key does not have the RBAC permissions this API needs. '
         'Check the role assigned to the API key.',
    404: 'Not found - the API path or object does not exist. Check the server URL and the IDs you gave.',
    429: 'Too many requests - Cortex XDR rate limited the API key. Try again later.',
    500: 'Internal server error - Cortex XDR reported an API communication error. Try again later; '
         'if it persists, check the arguments and contact Palo Alto Networks support.',
    502: 'Bad gateway - Cortex XDR is temporarily unavailable. Try again later.',
    503: 'Service unavailable - Cortex XDR is temporarily unavailable. Try again later.',
    504: 'Gateway timeout - Cortex XDR did not answer in time. Try again later.',
}


class XDRError(DemistoException):
    """An API call that failed, with the HTTP status and the parsed XDR error body."""

    def __init__(self, message: str, status: Optional[int] = None, retry_after: Optional[float] = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


# ---------------------------------------------------------------- pure helpers

def make_advanced_auth(api_key: str, nonce: Optional[str] = None,
                       timestamp_ms: Optional[int] = None) -> Tuple[str, str, str]:
    """(nonce, timestamp, authorization) for an Advanced key: sha256(key + nonce + timestamp) in hex."""
    nonce = nonce or ''.join(secrets.choice(NONCE_ALPHABET) for _ in range(NONCE_LENGTH))
    timestamp = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    digest = hashlib.sha256((api_key + nonce + timestamp).encode('utf-8')).hexdigest()
    return nonce, timestamp, digest


def parse_retry_after(value: Optional[str]) -> Optional[float]:
    """Seconds from a Retry-After header (delta-seconds only; HTTP dates fall back to backoff)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def describe_error_body(body: Any) -> str:
    """The human part of an XDR error body: err_msg (itself JSON sometimes) and err_extra."""
    if isinstance(body, dict) and isinstance(body.get('reply'), dict) and 'err_msg' in body['reply']:
        body = body['reply']
    if not isinstance(body, dict):
        return ''
    parts = []
    err_msg = body.get('err_msg')
    if isinstance(err_msg, str):
        try:
            err_msg = json.loads(err_msg)
        except ValueError:
            pass
    if isinstance(err_msg, dict):
        message = err_msg.get('message') or err_msg.get('err_msg') or json.dumps(err_msg, sort_keys=True)
        location = ['{} {}'.format(k, err_msg[k]) for k in ('line', 'column') if k in err_msg]
        parts.append(str(message) + (' ({})'.format(', '.join(location)) if location else ''))
    elif err_msg not in (None, ''):
        parts.append(str(err_msg))
    err_extra = body.get('err_extra')
    if err_extra not in (None, '', {}, []):
        parts.append('Details: {}'.format(err_extra if isinstance(err_extra, str) else json.dumps(err_extra)))
    return ' '.join(parts)


def build_error_message(status: int, endpoint: str, body: Any) -> str:
    meaning = STATUS_MEANINGS.get(status, 'Unexpected HTTP status from Cortex XDR.')
    detail = describe_error_body(body)
    message = 'Cortex XDR API call {} failed with status {}. {}'.format(endpoint, status, meaning)
    if detail:
        message += ' Server message: {}'.format(detail)
    return message


def chunked(items: List[Any], size: int) -> Iterable[List[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def to_list(value: Any) -> List[str]:
    """argToList that also strips blanks and de-duplicates while keeping order."""
    seen, result = set(), []
    for item in argToList(value):
        item = str(item).strip()
        if item and item not in seen:
            seen.add(item)
            result.append(item)
    return result


def single_arg(args: Dict[str, Any], name: str) -> str:
    """One text value; a playbook may pass a one-item list, more than one value is an error."""
    value = args.get(name)
    if isinstance(value, list):
        values = [str(v).strip() for v in value if str(v).strip()]
        if len(values) > 1:
            raise DemistoException('{} takes one value, got {}.'.format(name, len(values)))
        value = values[0] if values else ''
    return str(value if value is not None else '').strip()


def positive_number(args: Dict[str, Any], name: str, default: int) -> int:
    value = arg_to_number(args.get(name), arg_name=name)
    if value is None:
        return default
    if value <= 0:
        raise DemistoException('{} must be a positive number, got {}.'.format(name, args.get(name)))
    return value


def safe_file_name(name: str) -> str:
    """A file name without folders or characters that break war-room file names."""
    name = re.split(r'[\\/]', name)[-1]
    name = re.sub(r'[\x00-\x1f<>:"|?*]', '_', name).strip(' .')
    return name or 'file'


def new_war_room_file_path() -> Tuple[str, str]:
    """(file id, path) where XSOAR expects a file entry's content: <investigation id>_<unique id> in the cwd."""
    file_id = demisto.uniqueFile()
    return file_id, '{}_{}'.format(demisto.investigation()['id'], file_id)


def file_entry(file_name: str, file_id: str) -> Dict[str, Any]:
    """The war-room file entry for content already written at new_war_room_file_path()."""
    return {'Contents': '', 'ContentsFormat': formats['text'], 'Type': entryTypes['file'],
            'File': file_name, 'FileID': file_id}


def remove_quietly(path: Optional[str]) -> None:
    if path and os.path.exists(path):
        try:
            os.remove(path)
        except OSError:
            demisto.debug('could not remove {}'.format(path))


# ---------------------------------------------------------------- validation

def build_distribution_request(args: Dict[str, Any]) -> Dict[str, Any]:
    """request_data for distributions/create, enforcing the API rules before any request is made."""
    name = single_arg(args, 'name')
    package_type = single_arg(args, 'package_type').lower()
    platform = single_arg(args, 'platform').lower()
    agent_version = single_arg(args, 'agent_version')
    description = single_arg(args, 'description')
    if not name:
        raise DemistoException('name is required: give the installation package a name.')
    if package_type not in PACKAGE_TYPES:
        raise DemistoException('package_type must be "standalone" (a new agent) or "upgrade" (an upgrade from '
                               'ESM), got "{}".'.format(args.get('package_type') or ''))
    if platform and platform not in PLATFORMS:
        raise DemistoException('platform must be one of {}, got "{}".'.format(', '.join(PLATFORMS), platform))
    request_data: Dict[str, Any] = {'name': name, 'package_type': package_type}
    if package_type == 'standalone':
        if not platform:
            raise DemistoException('A standalone package needs platform: one of windows, linux, macos, android.')
        if platform == 'android':
            if agent_version:
                raise DemistoException('Android packages take no agent_version: remove agent_version.')
        elif not agent_version:
            raise DemistoException('A standalone {} package needs agent_version; run xdr-response-get-distribution-versions '
                                   'to list the available versions.'.format(platform))
        request_data['platform'] = platform
    else:
        if not agent_version:
            raise DemistoException('An upgrade package needs agent_version; run xdr-response-get-distribution-versions to '
                                   'list the available versions.')
        if platform == 'android':
            raise DemistoException('Upgrade packages exist for windows, linux and macos only, not android.')
        if platform:
            request_data['platform'] = platform
            # The API reads the upgrade version from <platform>_version.
            request_data['{}_version'.format(platform)] = agent_version
    if agent_version:
        request_data['agent_version'] = agent_version
    if description:
        request_data['description'] = description
    return request_data


def build_retrieval_files(args: Dict[str, Any]) -> Dict[str, List[str]]:
    """Per-OS path lists from windows/linux/mac paths and generic paths (whose OS is read off the path)."""
    files = {'windows': to_list(args.get('windows_file_paths')),
             'linux': to_list(args.get('linux_file_paths')),
             'macos': to_list(args.get('mac_file_paths'))}
    for path in to_list(args.get('generic_file_path')):
        if re.match(r'^[A-Za-z]:[\\/]', path) or path.startswith('\\\\'):
            files['windows'].append(path)
        elif path.startswith('/'):
            # A Unix path may live on Linux or macOS endpoints; XDR applies each list to endpoints of that OS.
            files['linux'].append(path)
            files['macos'].append(path)
        else:
            raise DemistoException('generic_file_path "{}" is neither a Windows path (C:\\...) nor an absolute '
                                   'Unix path (/...).'.format(path))
    files = {os_name: list(dict.fromkeys(paths)) for os_name, paths in files.items() if paths}
    if not files:
        raise DemistoException('Give at least one file path: windows_file_paths, linux_file_paths, '
                               'mac_file_paths or generic_file_path.')
    return files


def split_retrieval(endpoint_ids: List[str], files: Dict[str, List[str]]) -> List[Tuple[List[str], Dict[str, List[str]]]]:
    """Batches within the API limits: at most 10 endpoints and 20 files per Retrieve File call."""
    flat = [(os_name, path) for os_name, paths in files.items() for path in paths]
    file_batches = []
    for group in chunked(flat, MAX_FILES_PER_RETRIEVAL):
        batch: Dict[str, List[str]] = {}
        for os_name, path in group:
            batch.setdefault(os_name, []).append(path)
        file_batches.append(batch)
    return [(endpoints, batch) for endpoints in chunked(endpoint_ids, MAX_ENDPOINTS_PER_RETRIEVAL)
            for batch in file_batches]


def build_quarantine_files(args: Dict[str, Any]) -> List[Dict[str, str]]:
    """Quarantine query rows from parallel endpoint_id/file_path/file_hash lists or a JSON `files` list."""
    rows: List[Dict[str, str]] = []
    if args.get('files'):
        raw = args['files']
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raise DemistoException('files must be a JSON list of {"endpoint_id", "file_path", "file_hash"} '
                                       'objects.')
        if isinstance(raw, dict):
            raw = [raw]
        if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
            raise DemistoException('files must be a JSON list of {"endpoint_id", "file_path", "file_hash"} objects.')
        for item in raw:
            rows.append({'endpoint_id': str(item.get('endpoint_id') or '').strip(),
                         'file_path': str(item.get('file_path') or '').strip(),
                         'file_hash': str(item.get('file_hash') or '').strip()})
    endpoint_ids = argToList(args.get('endpoint_id'))
    paths = argToList(args.get('file_path'))
    hashes = argToList(args.get('file_hash'))
    if endpoint_ids or paths or hashes:
        count = max(len(endpoint_ids), len(paths), len(hashes))
        lists = {'endpoint_id': endpoint_ids, 'file_path': paths, 'file_hash': hashes}
        for name, values in lists.items():
            if len(values) not in (1, count):
                raise DemistoException('endpoint_id, file_path and file_hash must have the same number of values '
                                       '(or one value to use for all); {} has {} of {}.'.format(name, len(values),
                                                                                                 count))
        for index in range(count):
            rows.append({name: str(values[index if len(values) > 1 else 0]).strip()
                         for name, values in lists.items()})
    if not rows:
        raise DemistoException('Give the files to check: endpoint_id, file_path and file_hash, or files (JSON).')
    problems = []
    for index, row in enumerate(rows):
        missing = [name for name in ('endpoint_id', 'file_path', 'file_hash') if not row[name]]
        if missing:
            problems.append('file #{} is missing {}'.format(index + 1, ', '.join(missing)))
        elif not SHA256_RE.match(row['file_hash']):
            problems.append('file #{} hash "{}" is not a SHA256 (64 hex characters)'.format(index + 1,
                                                                                           row['file_hash']))
    if problems:
        shown = problems[:10] + (['... and {} more'.format(len(problems) - 10)] if len(problems) > 10 else [])
        raise DemistoException('Invalid quarantine query: ' + '; '.join(shown) + '.')
    for row in rows:
        row['file_hash'] = row['file_hash'].lower()
    return rows


# ---------------------------------------------------------------- zip handling

class ZipLimits(object):
    def __init__(self, max_total_bytes: int, max_ratio: int, max_entries: int):
        self.max_total_bytes = max_total_bytes
        self.max_ratio = max_ratio
        self.max_entries = max_entries


def check_entry_name(name: str) -> Optional[str]:
    """Why an archive entry name is unsafe to extract, or None when it is fine."""
    normalized = name.replace('\\', '/')
    if normalized.startswith('/') or re.match(r'^[A-Za-z]:', normalized):
        return 'absolute path "{}"'.format(name)
    if '..' in normalized.split('/'):
        return 'parent-directory path "{}"'.format(name)
    if '\x00' in name:
        return 'NUL character in "{}"'.format(name)
    return None


def inspect_zip(archive: zipfile.ZipFile, limits: ZipLimits) -> List[zipfile.ZipInfo]:
    """The file entries of the archive after every safety check, before anything is extracted."""
    infos = archive.infolist()
    if len(infos) > limits.max_entries:
        raise DemistoException('the archive has {} entries, more than max_entries={}'.format(len(infos),
                                                                                             limits.max_entries))
    total = 0
    files = []
    for info in infos:
        problem = check_entry_name(info.filename)
        if problem:
            raise DemistoException('the archive holds an unsafe entry: {}; nothing was extracted'.format(problem))
        if info.is_dir():
            continue
        total += info.file_size
        if total > limits.max_total_bytes:
            raise DemistoException('the archive expands to more than max_total_size_mb={} MB'.format(
                limits.max_total_bytes // (1024 * 1024)))
        if info.file_size >= RATIO_CHECK_MIN_BYTES and \
                info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise DemistoException('entry "{}" has a compression ratio above max_compression_ratio={} '
                                   '(a zip bomb?)'.format(info.filename, limits.max_ratio))
        files.append(info)
    return files


def extract_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, dest_path: str,
                   budget: int) -> Tuple[int, str]:
    """Stream one entry to dest_path: (size, sha256). Stops when the entry is larger than it claims."""
    digest = hashlib.sha256()
    size = 0
    limit = min(info.file_size, budget)
    with archive.open(info) as source, open(dest_path, 'wb') as target:
        while True:
            chunk = source.read(CHUNK_SIZE)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise DemistoException('entry "{}" expands beyond its declared size'.format(info.filename))
            digest.update(chunk)
            target.write(chunk)
    return size, digest.hexdigest()


def extract_zip_to_war_room(zip_path: str, limits: ZipLimits) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """(file rows, war-room file entries) for every file in the archive; all or nothing."""
    rows: List[Dict[str, Any]] = []
    entries: List[Dict[str, Any]] = []
    written: List[str] = []
    try:
        with zipfile.ZipFile(zip_path) as archive:
            budget = limits.max_total_bytes
            for info in inspect_zip(archive, limits):
                file_id, path = new_war_room_file_path()
                written.append(path)
                size, sha256 = extract_member(archive, info, path, budget)
                budget -= size
                name = safe_file_name(info.filename)
                rows.append({'name': name, 'archive_path': info.filename, 'size': size, 'sha256': sha256})
                entries.append(file_entry(name, file_id))
    except zipfile.BadZipFile as exc:
        for path in written:
            remove_quietly(path)
        raise DemistoException('the downloaded archive is not a valid zip (truncated or corrupt): {}'.format(exc))
    except (zipfile.LargeZipFile, EOFError, OSError, RuntimeError, NotImplementedError, ValueError,
            DemistoException) as exc:
        for path in written:
            remove_quietly(path)
        if isinstance(exc, DemistoException):
            raise
        raise DemistoException('the downloaded archive could not be extracted: {}'.format(exc))
    return rows, entries


# ---------------------------------------------------------------- client

class Client(BaseClient):
    """One method per Cortex XDR endpoint; each returns the parsed `reply`."""

    def __init__(self, base_url: str, api_key_id: str, api_key: str, auth_type: str = AUTH_STANDARD,
                 verify: bool = True, proxy: bool = False, timeout: int = DEFAULT_TIMEOUT_SECONDS,
                 max_retries: int = DEFAULT_MAX_RETRIES, sleep: Optional[Callable[[float], None]] = None):
        self.server_url = base_url.rstrip('/')
        super().__init__(base_url=self.server_url + API_PATH, verify=verify, proxy=proxy)
        self._api_key_id = str(api_key_id)
        self._api_key = api_key
        self._auth_type = auth_type
        self._request_timeout = timeout
        self._max_retries = max_retries
        self._sleep = sleep or time.sleep

    # -- plumbing

    def _auth_headers(self) -> Dict[str, str]:
        """Fresh headers for every request: an Advanced key needs a new nonce and timestamp each time."""
        headers = {'x-xdr-auth-id': self._api_key_id, 'Content-Type': 'application/json',
                   'Accept': 'application/json'}
        if self._auth_type == AUTH_ADVANCED:
            nonce, timestamp, authorization = make_advanced_auth(self._api_key)
            headers.update({'x-xdr-nonce': nonce, 'x-xdr-timestamp': timestamp, 'Authorization': authorization})
        else:
            headers['Authorization'] = self._api_key
        return headers

    @staticmethod
    def _error_handler(endpoint: str) -> Callable[[requests.Response], None]:
        def handle(res: requests.Response) -> None:
            try:
                body = res.json()
            except ValueError:
                body = None
            message = build_error_message(res.status_code, endpoint, body)
            if body is None and res.status_code not in STATUS_MEANINGS:
                message += ' (the reply was not JSON)'
            raise XDRError(message, status=res.status_code,
                           retry_after=parse_retry_after(res.headers.get('Retry-After')))
        return handle

    def _send(self, endpoint: str, **kwargs: Any) -> requests.Response:
        """POST with fresh auth, retrying 429/502/503/504 with backoff (Retry-After honoured), bounded."""
        attempt = 0
        while True:
            try:
                return self._http_request('POST', headers=self._auth_headers(), resp_type='response',
                                          timeout=self._request_timeout, error_handler=self._error_handler(endpoint),
                                          **kwargs)
            except XDRError as error:
                if error.status not in RETRYABLE_STATUSES or attempt >= self._max_retries:
                    if error.status in RETRYABLE_STATUSES:
                        raise XDRError('{} Gave up after {} attempts.'.format(error.message, attempt + 1),
                                       status=error.status)
                    raise
                wait = error.retry_after if error.retry_after is not None else 2 ** attempt
                wait = min(wait, MAX_RETRY_WAIT_SECONDS)
                demisto.debug('{} answered {}, retry {} in {}s'.format(endpoint, error.status, attempt + 1, wait))
                self._sleep(wait)
                attempt += 1
            except requests.exceptions.RequestException as exc:
                # Read timeouts and broken bodies are not wrapped by BaseClient.
                raise DemistoException('Cortex XDR API call {} failed: {} ({}). Check the server URL, the network '
                                       'and the timeout setting.'.format(endpoint, type(exc).__name__,
                                                                         'no reply in time' if isinstance(
                                                                             exc, requests.exceptions.Timeout)
                                                                         else 'connection problem'))

    def _post(self, endpoint: str, request_data: Dict[str, Any]) -> Any:
        """The `reply` of a JSON API call, or a clear error naming the endpoint."""
        res = self._send(endpoint, url_suffix='/' + endpoint, json_data={'request_data': request_data})
        try:
            body = res.json()
        except ValueError:
            raise DemistoException('Cortex XDR API call {} returned a reply that is not JSON (status {}, '
                                   'Content-Type "{}").'.format(endpoint, res.status_code,
                                                                res.headers.get('Content-Type', '')))
        except requests.exceptions.RequestException as exc:
            raise DemistoException('Cortex XDR API call {} failed while reading the reply: {}.'.format(
                endpoint, type(exc).__name__))
        if not isinstance(body, dict) or 'reply' not in body:
            raise DemistoException('Cortex XDR API call {} returned JSON without a "reply" field.'.format(endpoint))
        return body['reply']

    def _download(self, endpoint: str, dest_path: str, max_bytes: int, **kwargs: Any) -> int:
        """Stream a reply body to dest_path (bounded by max_bytes); removes the partial file on any failure."""
        res = self._send(endpoint, stream=True, **kwargs)
        size = 0
        try:
            expected = res.headers.get('Content-Length')
            with open(dest_path, 'wb') as target:
                for chunk in res.iter_content(CHUNK_SIZE):
                    size += len(chunk)
                    if size > max_bytes:
                        raise DemistoException('{} is larger than the {} MB limit (max_total_size_mb).'.format(
                            endpoint, max_bytes // (1024 * 1024)))
                    target.write(chunk)
            if expected and expected.isdigit() and int(expected) != size:
                raise DemistoException('{}: the connection closed after {} of {} bytes.'.format(endpoint, size,
                                                                                               expected))
            return size
        except requests.exceptions.RequestException as exc:
            remove_quietly(dest_path)
            raise DemistoException('{}: the download broke off after {} bytes ({}).'.format(
                endpoint, size, type(exc).__name__))
        except Exception:
            remove_quietly(dest_path)
            raise
        finally:
            res.close()

    # -- endpoints

    def create_distribution(self, request_data: Dict[str, Any]) -> Any:
        return self._post('distributions/create', request_data)

    def get_distribution_status(self, distribution_id: str) -> Any:
        return self._post('distributions/get_status', {'distribution_id': distribution_id})

    def get_distribution_url(self, distribution_id: str, package_type: str) -> Any:
        return self._post('distributions/get_dist_url', {'distribution_id': distribution_id,
                                                          'package_type': package_type})

    def get_distribution_versions(self) -> Any:
        return self._post('distributions/get_versions', {})

    def retrieve_file(self, endpoint_ids: List[str], files: Dict[str, List[str]],
                      incident_id: Optional[int] = None) -> Any:
        request_data: Dict[str, Any] = {
            'filters': [{'field': 'endpoint_id_list', 'operator': 'in', 'value': endpoint_ids}],
            'files': files,
        }
        if incident_id is not None:
            request_data['incident_id'] = incident_id
        return self._post('endpoints/file_retrieval', request_data)

    def get_action_status(self, action_id: str) -> Any:
        return self._post('actions/get_action_status', {'group_action_id': action_id_value(action_id)})

    def get_file_retrieval_details(self, action_id: str) -> Any:
        return self._post('actions/file_retrieval_details', {'group_action_id': action_id_value(action_id)})

    def get_quarantine_status(self, files: List[Dict[str, str]]) -> Any:
        return self._post('quarantine/status', {'files': files})

    def download_retrieved_file(self, file_link: str, dest_path: str, max_bytes: int) -> int:
        """The zip of one endpoint, always from this instance's own host (credentials go nowhere else)."""
        match = DOWNLOAD_PATH_RE.search(urlparse_path(file_link))
        if not match:
            raise DemistoException('unexpected download link "{}": it is not a /public_api/v1/download/ '
                                   'link, so it was not followed'.format(file_link))
        return self._download('download', dest_path, max_bytes, url_suffix='/download/' + match.group(1))

    def download_distribution(self, url: str, dest_path: str, max_bytes: int) -> Tuple[int, Optional[str]]:
        """The installation package from its (pre-signed) URL; no XDR credentials are sent there."""
        size = 0
        try:
            res = self._http_request('GET', full_url=url, headers={}, resp_type='response', stream=True,
                                     timeout=self._request_timeout,
                                     error_handler=self._error_handler('distribution package download'))
        except requests.exceptions.RequestException as exc:
            raise DemistoException('distribution package download failed: {}'.format(type(exc).__name__))
        try:
            with open(dest_path, 'wb') as target:
                for chunk in res.iter_content(CHUNK_SIZE):
                    size += len(chunk)
                    if size > max_bytes:
                        raise DemistoException('the installation package is larger than {} MB.'.format(
                            max_bytes // (1024 * 1024)))
                    target.write(chunk)
            expected = res.headers.get('Content-Length')
            if expected and expected.isdigit() and int(expected) != size:
                raise DemistoException('the package download closed after {} of {} bytes.'.format(size, expected))
            return size, content_disposition_name(res.headers.get('Content-Disposition'))
        except requests.exceptions.RequestException as exc:
            remove_quietly(dest_path)
            raise DemistoException('the package download broke off after {} bytes ({}).'.format(
                size, type(exc).__name__))
        except Exception:
            remove_quietly(dest_path)
            raise
        finally:
            res.close()


def action_id_value(action_id: Any) -> Any:
    """Action IDs are numbers in the API; keep any other form as given."""
    text = str(action_id).strip()
    return int(text) if text.isdigit() else text


def urlparse_path(url: str) -> str:
    return urlparse(url).path if '://' in url else url.split('?')[0]


def content_disposition_name(header: Optional[str]) -> Optional[str]:
    if not header:
        return None
    match = re.search(r'filename\*?=(?:UTF-8\'\')?"?([^";]+)"?', header)
    return safe_file_name(match.group(1)) if match else None


# ---------------------------------------------------------------- reply parsing

def require_dict(reply: Any, endpoint: str, *keys: str) -> Dict[str, Any]:
    if not isinstance(reply, dict):
        raise DemistoException('Cortex XDR API call {} returned an unexpected reply: expected an object, got {}.'
                               .format(endpoint, type(reply).__name__))
    missing = [key for key in keys if reply.get(key) in (None, '')]
    if missing:
        raise DemistoException('Cortex XDR API call {} returned a reply without {}.'.format(endpoint,
                                                                                          ', '.join(missing)))
    return reply


def parse_action_status(reply: Any, action_id: str) -> List[Dict[str, Any]]:
    """Rows {action_id, endpoint_id, status, error_description} from a get_action_status reply."""
    reply = require_dict(reply, 'actions/get_action_status')
    data = reply.get('data')
    if not isinstance(data, dict):
        raise DemistoException('Cortex XDR API call actions/get_action_status returned no "data" for action {}.'
                               .format(action_id))
    reasons = reply.get('errorReasons') if isinstance(reply.get('errorReasons'), dict) else {}
    rows = []
    for endpoint_id, status in data.items():
        row = {'action_id': action_id_value(action_id), 'endpoint_id': endpoint_id, 'status': str(status)}
        reason = reasons.get(endpoint_id)
        if reason:
            row['error_description'] = describe_error_reason(reason)
        rows.append(row)
    return rows


def describe_error_reason(reason: Any) -> str:
    if isinstance(reason, dict):
        text = reason.get('errorDescription') or reason.get('error_description') or ''
        missing = reason.get('missing_files')
        if missing:
            text = (text + ' ' if text else '') + 'Missing files: {}'.format(
                ', '.join(str(m) for m in missing) if isinstance(missing, list) else missing)
        return text or json.dumps(reason, sort_keys=True)
    return str(reason)


def is_action_pending(status: str) -> bool:
    return str(status).upper() in ACTION_PENDING_STATUSES


def is_distribution_pending(status: str) -> bool:
    return str(status).strip().lower() in DISTRIBUTION_PENDING_STATUSES


def zip_limits_from_args(args: Dict[str, Any]) -> ZipLimits:
    return ZipLimits(max_total_bytes=positive_number(args, 'max_total_size_mb', DEFAULT_MAX_TOTAL_SIZE_MB)
                     * 1024 * 1024,
                     max_ratio=positive_number(args, 'max_compression_ratio', DEFAULT_MAX_COMPRESSION_RATIO),
                     max_entries=positive_number(args, 'max_entries', DEFAULT_MAX_ENTRIES))


def polling_schedule(command: str, args: Dict[str, Any], next_args: Dict[str, Any]) -> ScheduledCommand:
    interval = positive_number(args, 'interval_in_seconds', DEFAULT_POLLING_INTERVAL)
    timeout = positive_number(args, 'timeout_in_seconds', DEFAULT_POLLING_TIMEOUT)
    polling_args = dict(next_args)
    polling_args.update({'polling': 'true', 'interval_in_seconds': interval, 'timeout_in_seconds': timeout})
    polling_args.setdefault('polling_started', int(time.time()))
    return ScheduledCommand(command=command, next_run_in_seconds=interval, args=polling_args,
                            timeout_in_seconds=timeout)


def polling_timed_out(args: Dict[str, Any]) -> bool:
    started = arg_to_number(args.get('polling_started'))
    timeout = positive_number(args, 'timeout_in_seconds', DEFAULT_POLLING_TIMEOUT)
    return started is not None and time.time() - started > timeout


# ---------------------------------------------------------------- commands

def test_module(client: Client) -> str:
    """A real authenticated call: the key ID, key and key type must all be right."""
    try:
        client.get_distribution_versions()
    except XDRError as error:
        if error.status in (401, 402, 403):
            return error.message
        raise
    return 'ok'


def create_distribution_command(client: Client, args: Dict[str, Any]) -> CommandResults:
    request_data = build_distribution_request(args)
    reply = require_dict(client.create_distribution(request_data), 'distributions/create', 'distribution_id')
    distribution = {'id': reply['distribution_id'], 'name': request_data['name'],
                    'platform': request_data.get('platform'), 'package_type': request_data['package_type'],
                    'agent_version': request_data.get('agent_version'),
                    'description': request_data.get('description')}
    distribution = {k: v for k, v in distribution.items() if v is not None}
    return CommandResults(
        outputs_prefix=CONTEXT_PREFIX + '.Distribution', outputs_key_field='id', outputs=distribution,
        readable_output='Distribution {} created. Run xdr-response-get-create-distribution-status to follow it.'.format(
            distribution['id']),
        raw_response=reply)


def get_distribution_status_command(client: Client, args: Dict[str, Any]) -> CommandResults:
    distribution_ids = to_list(args.get('distribution_ids'))
    if not distribution_ids:
        raise DemistoException('distribution_ids is required.')
    rows = []
    for distribution_id in distribution_ids:
        reply = require_dict(client.get_distribution_status(distribution_id), 'distributions/get_status', 'status')
        rows.append({'id': distribution_id, 'status': reply['status']})
    pending = [row['id'] for row in rows if is_distribution_pending(row['status'])]
    readable = tableToMarkdown('Installation package status', rows, headers=['id', 'status'],
                               headerTransform=string_to_table_header)
    result = CommandResults(outputs_prefix=CONTEXT_PREFIX + '.Distribution', outputs_key_field='id', outputs=rows,
                            readable_output=readable, raw_response=rows)
    if pending and argToBoolean(args.get('polling', False)):
        if polling_timed_out(args):
            raise DemistoException('Timed out waiting for installation package(s) {} to finish.'.format(
                ', '.join(pending)))
        result.scheduled_command = polling_schedule('xdr-response-get-create-distribution-status', args,
                                                    {'distribution_ids': ','.join(distribution_ids),
                                                     'polling_started': args.get('polling_started')
                                                     or int(time.time())})
        result.readable_output = readable + '\nWaiting for {} package(s) to finish: {}'.format(
            len(pending), ', '.join(pending))
    return result


def get_distribution_url_command(client: Client, args: Dict[str, Any]) -> List[Any]:
    distribution_id = single_arg(args, 'distribution_id')
    package_type = single_arg(args, 'package_type').lower()
    if not distribution_id:
        raise DemistoException('distribution_id is required.')
    if package_type not in DIST_URL_PACKAGE_TYPES:
        raise DemistoException('package_type must be one of {} (sh/rpm/deb for Linux, pkg for macOS, x86/x64 for '
                               'Windows, upgrade for upgrade packages), got "{}".'.format(
                                   ', '.join(DIST_URL_PACKAGE_TYPES), args.get('package_type') or ''))
    reply = require_dict(client.get_distribution_url(distribution_id, package_type), 'distributions/get_dist_url',
                         'distribution_url')
    url = reply['distribution_url']
    output = {'id': distribution_id, 'url': url, 'package_type': package_type}
    results: List[Any] = [CommandResults(
        outputs_prefix=CONTEXT_PREFIX + '.Distribution', outputs_key_field='id', outputs=output,
        readable_output='[Distribution URL]({})'.format(url), raw_response=reply)]
    if argToBoolean(args.get('download', False)):
        file_id, path = new_war_room_file_path()
        max_bytes = positive_number(args, 'max_total_size_mb', DEFAULT_MAX_TOTAL_SIZE_MB) * 1024 * 1024
        _, served_name = client.download_distribution(url, path, max_bytes)
        name = served_name or '{}_{}.{}'.format(safe_file_name(args.get('file_name') or distribution_id),
                                                package_type, DIST_FILE_EXTENSIONS[package_type])
        if '.' not in name:
            name += '.' + DIST_FILE_EXTENSIONS[package_type]
        results.append(file_entry(name, file_id))
    return results


def get_distribution_versions_command(client: Client, args: Dict[str, Any]) -> CommandResults:
    reply = require_dict(client.get_distribution_versions(), 'distributions/get_versions')
    versions = {platform: reply.get(platform) or [] for platform in reply}
    rows = [{'platform': platform, 'versions': ', '.join(str(v) for v in values) if isinstance(values, list)
             else str(values)} for platform, values in versions.items()]
    return CommandResults(outputs_prefix=CONTEXT_PREFIX + '.DistributionVersions', outputs=versions,
                          readable_output=tableToMarkdown('Agent versions', rows, headers=['platform', 'versions'],
                                                          headerTransform=string_to_table_header),
                          raw_response=reply)


def action_status_command(client: Client, args: Dict[str, Any]) -> CommandResults:
    action_ids = to_list(args.get('action_id'))
    if not action_ids:
        raise DemistoException('action_id is required.')
    rows = []
    for action_id in action_ids:
        rows.extend(parse_action_status(client.get_action_status(action_id), action_id))
    return CommandResults(
        outputs_prefix=CONTEXT_PREFIX + '.GetActionStatus', outputs_key_field=['action_id', 'endpoint_id'],
        outputs=rows, raw_response=rows,
        readable_output=tableToMarkdown('Action status', rows,
                                        headers=['action_id', 'endpoint_id', 'status', 'error_description'],
                                        headerTransform=string_to_table_header, removeNull=True))


def retrieve_action_files(client: Client, action_id: str, limits: ZipLimits,
                          return_zip: bool) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """(RetrievedFiles rows, war-room file entries) of one action: failed endpoints included, with reasons."""
    status_rows = parse_action_status(client.get_action_status(action_id), action_id)
    details = require_dict(client.get_file_retrieval_details(action_id), 'actions/file_retrieval_details')
    links = details.get('data')
    if not isinstance(links, dict):
        raise DemistoException('Cortex XDR API call actions/file_retrieval_details returned no "data" for action {}.'
                               .format(action_id))
    statuses = {row['endpoint_id']: row for row in status_rows}
    rows: List[Dict[str, Any]] = []
    entries: List[Dict[str, Any]] = []
    for endpoint_id in list(dict.fromkeys(list(statuses) + list(links))):
        status_row = statuses.get(endpoint_id, {})
        row = {'action_id': action_id_value(action_id), 'endpoint_id': endpoint_id,
               'status': status_row.get('status', ACTION_SUCCESS_STATUS if endpoint_id in links else 'UNKNOWN'),
               'file_link': links.get(endpoint_id)}
        if not row['file_link']:
            row['error'] = status_row.get('error_description') or 'No file was retrieved (status {}).'.format(
                row['status'])
            rows.append(row)
            continue
        zip_id, zip_path = new_war_room_file_path()
        try:
            client.download_retrieved_file(str(row['file_link']), zip_path, limits.max_total_bytes)
            file_rows, file_entries = extract_zip_to_war_room(zip_path, limits)
        except DemistoException as error:
            remove_quietly(zip_path)
            row['error'] = 'Download of the retrieved files failed: {}'.format(error.message)
            rows.append(row)
            continue
        row['files'] = file_rows
        row['file_names'] = [f['name'] for f in file_rows]
        row['sha256'] = [f['sha256'] for f in file_rows]
        rows.append(row)
        entries.extend(file_entries)
        if return_zip:
            entries.append(file_entry('xdr_action_{}_{}.zip'.format(action_id, endpoint_id), zip_id))
        else:
            remove_quietly(zip_path)
    return rows, entries


def retrieval_results(rows: List[Dict[str, Any]], entries: List[Dict[str, Any]]) -> List[Any]:
    """Context rows and readable summary, the file entries, and an error entry naming every failure."""
    table = []
    for row in rows:
        if row.get('files'):
            for f in row['files']:
                table.append({'Endpoint': row['endpoint_id'], 'Action': row['action_id'], 'Status': row['status'],
                              'File': f['name'], 'Size': f['size'], 'SHA256': f['sha256']})
        else:
            table.append({'Endpoint': row['endpoint_id'], 'Action': row['action_id'], 'Status': row['status'],
                          'Error': row.get('error', 'The archive held no files.')})
    results: List[Any] = [CommandResults(
        outputs_prefix=CONTEXT_PREFIX + '.RetrievedFiles', outputs_key_field=['action_id', 'endpoint_id'],
        outputs=rows, raw_response=rows,
        readable_output=tableToMarkdown('Retrieved files', table,
                                        headers=['Endpoint', 'Action', 'Status', 'File', 'Size', 'SHA256', 'Error'],
                                        removeNull=True))]
    results.extend(entries)
    failures = [row for row in rows if row.get('error')]
    if failures:
        message = 'Files could not be retrieved from {} endpoint(s):\n{}'.format(
            len(failures), '\n'.join('- {} (action {}): {}'.format(row['endpoint_id'], row['action_id'], row['error'])
                                     for row in failures))
        results.append(CommandResults(entry_type=EntryType.ERROR, content_format=EntryFormat.MARKDOWN,
                                      readable_output=message, raw_response=message))
    return results


def retrieve_file_details_command(client: Client, args: Dict[str, Any]) -> List[Any]:
    action_ids = to_list(args.get('action_id'))
    if not action_ids:
        raise DemistoException('action_id is required.')
    limits = zip_limits_from_args(args)
    return_zip = argToBoolean(args.get('return_zip', False))
    rows: List[Dict[str, Any]] = []
    entries: List[Dict[str, Any]] = []
    for action_id in action_ids:
        action_rows, action_entries = retrieve_action_files(client, action_id, limits, return_zip)
        rows.extend(action_rows)
        entries.extend(action_entries)
    return retrieval_results(rows, entries)


def file_retrieve_command(client: Client, args: Dict[str, Any]) -> Any:
    """Start Retrieve File (split to the API limits); with polling, wait for every endpoint, then download once."""
    if args.get('action_ids'):
        return file_retrieve_poll(client, args)
    endpoint_ids = to_list(args.get('endpoint_ids'))
    if not endpoint_ids:
        raise DemistoException('endpoint_ids is required.')
    files = build_retrieval_files(args)
    incident_id = arg_to_number(args.get('incident_id'), arg_name='incident_id')
    zip_limits_from_args(args)  # reject bad limits now, not after the action ran
    action_rows = []
    for endpoints, batch in split_retrieval(endpoint_ids, files):
        reply = require_dict(client.retrieve_file(endpoints, batch, incident_id), 'endpoints/file_retrieval',
                             'action_id')
        for endpoint_id in endpoints:
            action_rows.append({'action_id': action_id_value(reply['action_id']), 'endpoint_id': endpoint_id,
                                'status': 'PENDING'})
    action_ids = list(dict.fromkeys(str(row['action_id']) for row in action_rows))
    readable = tableToMarkdown('Retrieve File started ({} action(s))'.format(len(action_ids)), action_rows,
                               headers=['action_id', 'endpoint_id', 'status'],
                               headerTransform=string_to_table_header)
    result = CommandResults(outputs_prefix=CONTEXT_PREFIX + '.RetrievedFiles',
                            outputs_key_field=['action_id', 'endpoint_id'], outputs=action_rows,
                            readable_output=readable, raw_response=action_rows)
    if argToBoolean(args.get('polling', False)):
        next_args = {k: v for k, v in args.items() if k in ('max_total_size_mb', 'max_compression_ratio',
                                                            'max_entries', 'return_zip')}
        next_args['action_ids'] = ','.join(action_ids)
        result.scheduled_command = polling_schedule('xdr-response-file-retrieve', args, next_args)
    return result


def file_retrieve_poll(client: Client, args: Dict[str, Any]) -> Any:
    action_ids = to_list(args.get('action_ids'))
    status_rows = []
    for action_id in action_ids:
        status_rows.extend(parse_action_status(client.get_action_status(action_id), action_id))
    pending = [row for row in status_rows if is_action_pending(row['status'])]
    if pending:
        if polling_timed_out(args):
            raise DemistoException('Timed out waiting for Retrieve File on endpoint(s) {}; run '
                                   'xdr-response-retrieve-file-details action_id={} later.'.format(
                                       ', '.join(row['endpoint_id'] for row in pending), ','.join(action_ids)))
        return CommandResults(
            readable_output='Waiting for {} of {} endpoint(s) to finish Retrieve File (action(s) {}).'.format(
                len(pending), len(status_rows), ', '.join(action_ids)),
            scheduled_command=polling_schedule('xdr-response-file-retrieve', args, dict(args)))
    return retrieve_file_details_command(client, dict(args, action_id=','.join(action_ids)))


def quarantine_status_command(client: Client, args: Dict[str, Any]) -> CommandResults:
    files = build_quarantine_files(args)
    rows: List[Dict[str, Any]] = []
    for batch in chunked(files, QUARANTINE_BATCH_SIZE):
        reply = client.get_quarantine_status(batch)
        if not isinstance(reply, list):
            raise DemistoException('Cortex XDR API call quarantine/status returned an unexpected reply: expected a '
                                   'list of file statuses.')
        by_key = {}
        for item in reply:
            if isinstance(item, dict):
                by_key[(str(item.get('endpoint_id')), str(item.get('file_hash', '')).lower(),
                        str(item.get('file_path')))] = item
        for index, query in enumerate(batch):
            item = by_key.get((query['endpoint_id'], query['file_hash'], query['file_path']))
            if item is None and len(reply) == len(batch) and isinstance(reply[index], dict):
                item = reply[index]  # same order, differently normalised fields
            status = item.get('status') if item else None
            # camelCase keys: the official integration's context, which existing playbooks read.
            rows.append({'endpointId': query['endpoint_id'], 'filePath': query['file_path'],
                         'fileHash': query['file_hash'],
                         'status': bool(status) if isinstance(status, bool) else None})
    table = [{'Endpoint': row['endpointId'], 'File Path': row['filePath'], 'SHA256': row['fileHash'],
              'Quarantined': {True: 'Quarantined', False: 'Not quarantined'}.get(row['status'], 'Unknown')}
             for row in rows]
    quarantined = sum(1 for row in rows if row['status'] is True)
    readable = tableToMarkdown('Quarantine status: {} of {} file(s) quarantined'.format(quarantined, len(rows)),
                               table[:QUARANTINE_TABLE_ROWS], headers=['Endpoint', 'File Path', 'SHA256', 'Quarantined'])
    if len(table) > QUARANTINE_TABLE_ROWS:
        readable += '\n{} more file(s) are in the context (PaloAltoNetworksXDR.quarantineFiles.status).'.format(
            len(table) - QUARANTINE_TABLE_ROWS)
    return CommandResults(
        outputs_prefix=CONTEXT_PREFIX + '.quarantineFiles.status',
        outputs_key_field=['fileHash', 'endpointId', 'filePath'], outputs=rows, raw_response=rows,
        readable_output=readable)


COMMANDS: Dict[str, Callable[[Client, Dict[str, Any]], Any]] = {
    'xdr-response-create-distribution': create_distribution_command,
    'xdr-response-get-create-distribution-status': get_distribution_status_command,
    'xdr-response-get-distribution-url': get_distribution_url_command,
    'xdr-response-get-distribution-versions': get_distribution_versions_command,
    'xdr-response-file-retrieve': file_retrieve_command,
    'xdr-response-action-status-get': action_status_command,
    'xdr-response-retrieve-file-details': retrieve_file_details_command,
    'xdr-response-get-quarantine-status': quarantine_status_command,
}


def redact(text: str, secrets_to_hide: Iterable[str]) -> str:
    for value in secrets_to_hide:
        if value and len(value) >= 4:
            text = text.replace(value, '<redacted>')
    return text


def client_from_params(params: Dict[str, Any]) -> Client:
    url = (params.get('url') or '').strip()
    if not url.lower().startswith(('https://', 'http://')):
        raise DemistoException('Server URL must start with https:// (for example https://api-yourfqdn).')
    credentials = params.get('credentials') or {}
    api_key_id = str(credentials.get('identifier') or '').strip()
    api_key = str(credentials.get('password') or '').strip()
    if not api_key_id or not api_key:
        raise DemistoException('API key ID and API key are required (instance setting "API Key").')
    auth_type = params.get('auth_type') or AUTH_STANDARD
    if auth_type not in (AUTH_STANDARD, AUTH_ADVANCED):
        raise DemistoException('auth_type must be Standard or Advanced.')
    timeout = arg_to_number(params.get('timeout'), arg_name='timeout') or DEFAULT_TIMEOUT_SECONDS
    return Client(base_url=url, api_key_id=api_key_id, api_key=api_key, auth_type=auth_type,
                  verify=not argToBoolean(params.get('insecure', False)),
                  proxy=argToBoolean(params.get('proxy', False)), timeout=timeout)


def main() -> None:  # pragma: no cover - exercised through the runner and the end-to-end tests
    params = demisto.params()
    command = demisto.command()
    api_key = str((params.get('credentials') or {}).get('password') or '')
    demisto.debug('Command being called is {}'.format(command))
    try:
        client = client_from_params(params)
        if command == 'test-module':
            return_results(test_module(client))
        elif command in COMMANDS:
            return_results(COMMANDS[command](client, demisto.args()))
        else:
            raise NotImplementedError('Command {} is not implemented.'.format(command))
    except Exception as error:
        text = str(error) if isinstance(error, (DemistoException, NotImplementedError, ValueError)) \
            else '{}: {}'.format(type(error).__name__, error)  # an unexpected failure: say what kind
        message = redact(text, [api_key])
        return_error('Failed to execute {} command.\nError:\n{}'.format(command, message))


if __name__ in ('__main__', '__builtin__', 'builtins'):
    main()
