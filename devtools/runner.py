"""Run the pack's integrations and scripts the way XSOAR does, outside XSOAR.

A ``Session`` is one incident: integration instances (brand -> params), the incident context, the
war room (entries, files) and each instance's integration context. ``execute`` loads the integration's
code fresh (as the server does for each command), sets params/args/command on ``demistomock``, calls
``main()``, then processes the entries the way the server would:

- file entries (``Type`` 3 with ``FileID``) become war-room files with ``File.*`` context
  (Name, EntryID, Size, MD5, SHA1, SHA256, SHA512, Extension, Type);
- ``EntryContext`` is merged into the context (``Prefix(val.k && val.k == obj.k)`` keys update matching
  objects, ``path(true)`` replaces, a plain path adds);
- entries carrying ``PollingCommand`` are followed: the command is run again with ``PollingArgs`` after
  ``NextRun`` seconds (scaled by ``poll_sleep_scale``) until no more polling is asked or ``Timeout`` passes.
"""
import copy
import hashlib
import importlib.util
import json
import mimetypes
import os
import re
import shutil
import sys
import tempfile
import time
from typing import Any
from collections.abc import Callable

import yaml

from devtools.paths import ROOT, code_dirs, runtime_dir

# War-room entry types (CommonServerPython's EntryType values)
NOTE_ENTRY, FILE_ENTRY, ERROR_ENTRY, INFO_FILE_ENTRY, WARNING_ENTRY = 1, 3, 4, 9, 11
FILE_ENTRY_TYPES = (FILE_ENTRY, INFO_FILE_ENTRY)
MISSING_FILE = 'File entry {} has no content on disk'  # the error entry a file entry without its file becomes
LOG_LEVELS = ('debug', 'info', 'error', 'log')

_DT_KEY = re.compile(r'^(?P<path>[^(]+)\((?P<selector>.*)\)$')
_KEY_FIELD = re.compile(r'val\.([\w.]+)\s*&&\s*val\.\1\s*={2,3}\s*obj\.\1')
_KEY_FIELD_LOOSE = re.compile(r'val\.([\w.]+)\s*={2,3}\s*obj\.\1')


def prepare_imports() -> None:
    """Put the runtime and the pack's code folders on sys.path (same order as the test suite)."""
    for path in reversed([runtime_dir()] + code_dirs()):
        if path not in sys.path:
            sys.path.insert(0, path)


prepare_imports()
import demistomock as demisto  # noqa: E402


class PackIndex:
    """The pack's integrations (commands -> brand) and scripts, read from their YAML."""

    def __init__(self, root: str = ROOT):
        self.root = root
        self.integrations: dict[str, dict[str, Any]] = {}  # brand -> {folder, yaml, commands}
        self.scripts: dict[str, dict[str, Any]] = {}  # script name -> {folder, yaml}
        for kind in ('Integrations', 'Scripts'):
            base = os.path.join(root, kind)
            if not os.path.isdir(base):
                continue
            for folder in sorted(os.listdir(base)):
                yml_path = os.path.join(base, folder, folder + '.yml')
                if not os.path.isfile(yml_path):
                    continue
                with open(yml_path) as f:
                    data = yaml.safe_load(f)
                entry = {'folder': os.path.join(base, folder), 'module': folder, 'yaml': data}
                if kind == 'Integrations':
                    entry['commands'] = [c['name'] for c in data.get('script', {}).get('commands', [])]
                    self.integrations[data['commonfields']['id']] = entry
                else:
                    self.scripts[data.get('name') or data['commonfields']['id']] = entry

    def defaults(self, brand_or_script: str, command: str) -> dict[str, Any]:
        """The YAML defaultValue of each argument, which the server fills in when an argument is not given."""
        if brand_or_script in self.integrations:
            commands = self.integrations[brand_or_script]['yaml'].get('script', {}).get('commands', [])
            arguments = next((c.get('arguments') or [] for c in commands if c.get('name') == command), [])
        else:
            arguments = (self.scripts.get(brand_or_script) or {}).get('yaml', {}).get('args') or []
        return {a['name']: a['defaultValue'] for a in arguments if a.get('defaultValue') not in (None, '')}

    def brand_of(self, command: str) -> str | None:
        for brand, entry in self.integrations.items():
            if command in entry['commands']:
                return brand
        return None

    def brand_for_folder(self, folder_or_brand: str) -> str:
        if folder_or_brand in self.integrations:
            return folder_or_brand
        for brand, entry in self.integrations.items():
            if entry['module'] == folder_or_brand:
                return brand
        raise KeyError('No integration named {} in the pack (have: {})'.format(
            folder_or_brand, ', '.join(e['module'] for e in self.integrations.values())))


def _load_module(folder: str, name: str, compiled: dict[tuple[str, int], Any] | None = None):
    """A fresh module of folder/name.py, run from the top as the server runs a script for every command.

    With `compiled` (a benchmark's cache), the source is compiled once per file version instead of every time."""
    path = os.path.join(folder, name + '.py')
    spec = importlib.util.spec_from_file_location('_xsoar_run_' + name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f'cannot load {name} from {folder}')
    module = importlib.util.module_from_spec(spec)
    if compiled is None:
        spec.loader.exec_module(module)
        return module
    key = (path, os.stat(path).st_mtime_ns)
    if key not in compiled:
        with open(path, 'rb') as f:
            compiled[key] = compile(f.read(), path, 'exec')
    exec(compiled[key], module.__dict__)  # noqa: S102 - the pack's own integration code, as _load_module runs it
    return module


def _file_context(name: str, path: str, entry_id: str) -> dict[str, Any]:
    hashes = {'MD5': hashlib.md5(), 'SHA1': hashlib.sha1(), 'SHA256': hashlib.sha256(), 'SHA512': hashlib.sha512()}
    size = 0
    with open(path, 'rb') as f:
        while True:
            chunk = f.read(1024 * 1024)
            if not chunk:
                break
            size += len(chunk)
            for digest in hashes.values():
                digest.update(chunk)
    extension = name.rsplit('.', 1)[1].lower() if '.' in name else ''
    return dict({k: v.hexdigest() for k, v in hashes.items()}, Name=name, EntryID=entry_id, Size=size,
                Extension=extension, Type=mimetypes.guess_type(name)[0] or 'data')


def _key_fields(selector: str) -> list[str]:
    fields = _KEY_FIELD.findall(selector)
    return fields or _KEY_FIELD_LOOSE.findall(selector)


def _get_field(obj: Any, dotted: str) -> Any:
    for part in dotted.split('.'):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _parent(context: dict[str, Any], path: str) -> tuple[dict[str, Any], str]:
    """(the dict that holds the path's last key, creating the dicts on the way; that key)."""
    parts = path.split('.')
    node = context
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    return node, parts[-1]


def _set_path(context: dict[str, Any], path: str, value: Any, replace: bool = False) -> None:
    node, last = _parent(context, path)
    if replace or last not in node:
        node[last] = copy.deepcopy(value)
        return
    existing = node[last]
    existing = existing if isinstance(existing, list) else [existing]
    node[last] = existing + (copy.deepcopy(value) if isinstance(value, list) else [copy.deepcopy(value)])


def _merge_keyed(context: dict[str, Any], path: str, fields: list[str], value: Any) -> None:
    node, last = _parent(context, path)
    current = node.get(last)
    items = [] if current is None else (current if isinstance(current, list) else [current])

    def key_of(obj):
        if not isinstance(obj, dict):
            return None
        key = tuple(_get_field(obj, f) for f in fields)
        if any(part is None for part in key):
            return None
        return tuple(repr(part) for part in key)

    index: dict[Any, Any] = {}
    for old in items:
        index.setdefault(key_of(old), old)
    index.pop(None, None)
    for new in (value if isinstance(value, list) else [value]):
        key = key_of(new)
        # shallow copies: merging replaces top-level fields only, and entries are never mutated afterwards
        if key is not None and key in index:
            index[key].update(new)
        else:
            added = dict(new) if isinstance(new, dict) else copy.deepcopy(new)
            items.append(added)
            if key is not None:
                index[key] = added
    node[last] = items[0] if len(items) == 1 else items


def merge_context(context: dict[str, Any], entry_context: dict[str, Any]) -> None:
    """Merge one entry's EntryContext into the incident context, the way the server does."""
    for key, value in (entry_context or {}).items():
        if value is None:
            continue
        match = _DT_KEY.match(key)
        if match:
            path, selector = match.group('path'), match.group('selector').strip()
            if selector == 'true':
                _set_path(context, path, value, replace=True)
                continue
            fields = _key_fields(selector)
            if fields:
                _merge_keyed(context, path, fields, value)
                continue
            _set_path(context, path, value)  # an unsupported selector: keep the data, append
        else:
            _set_path(context, key, value)


def get_context_path(context: dict[str, Any], path: str) -> Any:
    """Value at a dotted context path; lists along the way are flattened (XSOAR DT style)."""
    nodes: list[Any] = [context]
    for part in path.split('.'):
        next_nodes: list[Any] = []
        for node in nodes:
            for item in (node if isinstance(node, list) else [node]):
                if isinstance(item, dict) and part in item:
                    next_nodes.append(item[part])
        nodes = next_nodes
        if not nodes:
            return None
    flat: list[Any] = []
    for node in nodes:
        flat.extend(node if isinstance(node, list) else [node])
    if len(flat) == 1 and not isinstance(nodes[0], list):
        return flat[0]
    return flat


class Session:
    """One incident's war room and context, with the integration instances it may use."""

    def __init__(self, instances: dict[str, dict[str, Any]] | None = None, workdir: str | None = None, *,
                 files_dir: str | None = None, poll_sleep_scale: float = 0.0,
                 on_event: Callable[[str], None] | None = None, index: PackIndex | None = None, max_polls: int = 500,
                 file_context: bool = True):
        """workdir: where the integration runs (a temporary folder, removed by close(), when not given);
        files_dir: where war-room files are kept, each moved there once (default workdir/files)."""
        self.index = index or PackIndex()
        self.instances: dict[str, dict[str, Any]] = {}
        for name, params in (instances or {}).items():
            self.instances[self.index.brand_for_folder(name)] = params
        self._own_workdir = workdir is None
        self.workdir = workdir or tempfile.mkdtemp(prefix='xsoar-run-')
        self.files_dir = files_dir or os.path.join(self.workdir, 'files')
        os.makedirs(self.files_dir, exist_ok=True)
        self.context: dict[str, Any] = {}
        self.entries: list[dict[str, Any]] = []
        self.files: dict[str, dict[str, Any]] = {}  # entry id -> {name, path}
        self.integration_contexts: dict[str, dict[str, Any]] = {}
        self.poll_sleep_scale = poll_sleep_scale
        self.on_event = on_event or (lambda message: None)
        self.max_polls = max_polls
        self.file_context = file_context  # the server hashes war-room files; benchmarks of the integration skip it
        # a list: also collect the code's demisto.debug/info/error/log lines here as (level, text); the server writes
        # them to its log, never to the War Room, and they still reach the runtime's own functions
        self.logs: list[tuple[str, str]] | None = None
        self.merge_entry_context = True  # the server merges entry context; a benchmark may switch it off too
        # None: compile the code for every command (as the server does); a dict: compile once (benchmarks time
        # the command's work from loaded code, as their bare baselines are timed after their imports)
        self.compiled_code: dict[tuple[str, int], Any] | None = None
        self._entry_counter = 0
        self.incident: dict[str, Any] = {'id': '1', 'name': 'Local incident', 'CustomFields': {}, 'labels': []}

    def close(self) -> None:
        """Remove the temporary working folder this session created (files kept elsewhere stay)."""
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> 'Session':
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the demistomock patching

    def _patched(self, params: dict[str, Any], args: dict[str, Any], command: str, brand: str,
                 sink: list[Any]) -> dict[str, Any]:
        store = self.integration_contexts.setdefault(brand, {})

        def set_ctx(value, *rest, **kw):
            store.clear()
            store.update(value or {})

        def set_context(path, value):
            _set_path(self.context, path, value, replace=True)
            return {}

        patches = {
            'params': lambda: params,
            'args': lambda: args,
            'command': lambda: command,
            'results': lambda results: sink.extend(results if isinstance(results, list) else [results]),
            'investigation': lambda: {'id': '1'},
            'incident': lambda: self.incident,
            'incidents': lambda *a: [self.incident],
            'context': lambda: self.context,
            'setContext': set_context,
            'getIntegrationContext': lambda: store,
            'setIntegrationContext': set_ctx,
            'getIntegrationContextVersioned': lambda *a, **k: {'context': store, 'version': 1},
            'setIntegrationContextVersioned': set_ctx,
            'getFilePath': self._get_file_path,
            'executeCommand': self._execute_from_script,
            'demistoVersion': lambda: {'version': '8.9.0', 'buildNumber': '0'},
            'integrationInstance': lambda: brand,
            'callingContext': {'context': {'IntegrationBrand': brand, 'IntegrationInstance': brand}},
        }
        if self.logs is not None:
            for level in LOG_LEVELS:
                patches[level] = self._log_to(level)
        return patches

    def _log_to(self, level: str) -> Callable[..., None]:
        original = getattr(demisto, level, None)
        while hasattr(original, '__wrapped__'):  # a script's executeCommand run inside this session's own patch
            original = original.__wrapped__  # type: ignore[union-attr]
        logs = self.logs if self.logs is not None else []

        def log(message: Any, *args: Any) -> None:
            logs.append((level, str(message)))
            if callable(original):
                original(message, *args)
        log.__wrapped__ = original  # type: ignore[attr-defined]
        return log

    def _get_file_path(self, entry_id: str) -> dict[str, str]:
        if entry_id not in self.files:
            raise ValueError(f'No file entry {entry_id}')
        f = self.files[entry_id]
        return {'id': entry_id, 'path': f['path'], 'name': f['name']}

    def _run_code(self, folder: str, module_name: str, patches: dict[str, Any]) -> None:
        saved = {name: getattr(demisto, name, None) for name in patches}
        cwd = os.getcwd()
        try:
            for name, value in patches.items():
                setattr(demisto, name, value)
            os.chdir(self.workdir)
            module = _load_module(folder, module_name, self.compiled_code)
            try:
                module.main()
            except SystemExit:
                pass  # return_error ends the run the way the server sees it
        finally:
            os.chdir(cwd)
            for name, value in saved.items():
                setattr(demisto, name, value)

    # -- entries

    def _store_entries(self, raw_entries: list[Any], source: str) -> list[dict[str, Any]]:
        stored = []
        for raw in raw_entries:
            if raw is None:
                continue
            entry: dict[str, Any] = ({'Type': NOTE_ENTRY, 'ContentsFormat': 'text', 'Contents': raw}
                                     if isinstance(raw, str) else dict(raw))
            self._entry_counter += 1
            entry['ID'] = f'{self._entry_counter}@1'
            entry['Source'] = source
            if entry.get('Type') in FILE_ENTRY_TYPES and entry.get('FileID'):
                produced = os.path.join(self.workdir, '1_' + entry['FileID'])
                if not os.path.exists(produced):
                    entry = {'Type': ERROR_ENTRY, 'ContentsFormat': 'text', 'ID': entry['ID'], 'Source': source,
                             'Contents': MISSING_FILE.format(entry.get('File'))}
                else:
                    name = entry.get('File') or 'file'
                    dest = unused_path(self.files_dir, f'{self._entry_counter}_{os.path.basename(name)}')
                    shutil.move(produced, dest)
                    self.files[entry['ID']] = {'name': name, 'path': dest}
                    file_ctx = _file_context(name, dest, entry['ID']) if self.file_context else {
                        'Name': name, 'EntryID': entry['ID'], 'Size': os.path.getsize(dest)}
                    entry['FileContext'] = file_ctx
                    merge_context(self.context, {'File(val.EntryID && val.EntryID == obj.EntryID)': file_ctx})
            if entry.get('EntryContext') and self.merge_entry_context:
                merge_context(self.context, entry['EntryContext'])
            self.entries.append(entry)
            stored.append(entry)
        return stored

    # -- public API

    def execute(self, command: str, args: dict[str, Any] | None = None, using: str | None = None,
                follow_polling: bool = True) -> list[dict[str, Any]]:
        """Run an integration command; returns every entry it (and its polling runs) produced."""
        brand = self.index.brand_for_folder(using) if using else self.index.brand_of(command)
        if brand is None:
            raise KeyError(f'No integration in the pack has the command {command}')
        if brand not in self.instances:
            raise KeyError(f'No enabled instance of {brand} in this session')
        entry = self.index.integrations[brand]
        args = dict(self.index.defaults(brand, command), **{k: v for k, v in (args or {}).items() if v is not None})
        produced: list[dict[str, Any]] = []
        polls, waited = 0, 0.0
        while True:
            sink: list[Any] = []
            self.on_event('run {} {}'.format(command, ' '.join(f'{k}={v}' for k, v in args.items()
                                                               if k not in ('polling_started',))).strip())
            self._run_code(entry['folder'], entry['module'],
                           self._patched(self.instances[brand], args, command, brand, sink))
            stored = self._store_entries(sink, brand)
            produced.extend(stored)
            polling = [e for e in stored if e.get('PollingCommand')]
            if not polling or not follow_polling:
                return produced
            poll = polling[-1]
            polls += 1
            next_run = float(poll.get('NextRun') or 10)
            timeout = float(poll.get('Timeout') or 600)
            waited += next_run
            if waited > timeout or polls > self.max_polls:
                timeout_entry = {'Type': ERROR_ENTRY, 'ContentsFormat': 'text',
                                 'Contents': f'Polling of {command} timed out after {timeout:.0f} s'}
                produced.extend(self._store_entries([timeout_entry], brand))
                return produced
            self.on_event('wait {:.0f} s before {} polls again (poll {}{})'.format(
                next_run, poll['PollingCommand'], polls,
                ', scheduled by the server; not slept here' if not self.poll_sleep_scale else ''))
            if self.poll_sleep_scale:
                time.sleep(next_run * self.poll_sleep_scale)
            command = poll['PollingCommand']
            args = dict(poll.get('PollingArgs') or {})

    def attach_file(self, path: str, name: str | None = None) -> str:
        """Put a local file into the War Room (as a user's upload): its entry id, for a command's entry_id argument.

        The copy goes through the same path as a file an integration returns (kept in files_dir, File context)."""
        file_id = f'attached-{self._entry_counter + 1}'
        shutil.copyfile(path, os.path.join(self.workdir, '1_' + file_id))
        stored = self._store_entries([{'Type': FILE_ENTRY, 'ContentsFormat': 'text', 'Contents': '',
                                       'File': name or os.path.basename(path), 'FileID': file_id}], 'local file')
        return stored[0]['ID']

    def run_script(self, name: str, args: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run one of the pack's scripts with args; its executeCommand calls go to this session."""
        if name not in self.index.scripts:
            raise KeyError(f'No script {name} in the pack')
        entry = self.index.scripts[name]
        sink: list[Any] = []
        self.on_event(f'script {name}')
        args = dict(self.index.defaults(name, name), **{k: v for k, v in (args or {}).items() if v is not None})
        self._run_code(entry['folder'], entry['module'], self._patched({}, args, name, name, sink))
        return self._store_entries(sink, name)

    def _execute_from_script(self, command: str, args: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            if command in self.index.scripts:
                return self.run_script(command, args)
            return self.execute(command, args)
        except KeyError as error:
            return [{'Type': ERROR_ENTRY, 'ContentsFormat': 'text', 'Contents': str(error)}]

    def file_path(self, entry_id: str) -> str:
        return self.files[entry_id]['path']


def unused_path(folder: str, name: str) -> str:
    """folder/name, or folder/<stem>-2<ext> (-3, ...) when that exists already: earlier runs' files are kept."""
    path = os.path.join(folder, name)
    stem, extension = os.path.splitext(name)
    copy = 1
    while os.path.exists(path):
        copy += 1
        path = os.path.join(folder, f'{stem}-{copy}{extension}')
    return path


def errors_of(entries: list[dict[str, Any]]) -> list[str]:
    return [str(e.get('Contents') if e.get('Contents') not in (None, '') else e.get('HumanReadable'))
            for e in entries if e.get('Type') == ERROR_ENTRY]


def readable_of(entry: dict[str, Any]) -> str:
    if entry.get('HumanReadable'):
        return str(entry['HumanReadable'])
    if entry.get('Type') in FILE_ENTRY_TYPES:
        ctx = entry.get('FileContext') or {}
        return 'File: {} ({} bytes, SHA256 {})'.format(entry.get('File'), ctx.get('Size'), ctx.get('SHA256'))
    contents = entry.get('Contents')
    return contents if isinstance(contents, str) else json.dumps(contents, indent=2, default=str)
