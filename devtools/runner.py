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
from typing import Any, Callable, Dict, List, Optional, Tuple

import yaml

from devtools.paths import ROOT, code_dirs, runtime_dir

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


class CommandError(Exception):
    """A command ended with an error entry (the message is the entry's text)."""


class PackIndex(object):
    """The pack's integrations (commands -> brand) and scripts, read from their YAML."""

    def __init__(self, root: str = ROOT):
        self.root = root
        self.integrations: Dict[str, Dict[str, Any]] = {}  # brand -> {folder, yaml, commands}
        self.scripts: Dict[str, Dict[str, Any]] = {}  # script name -> {folder, yaml}
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

    def defaults(self, brand_or_script: str, command: str) -> Dict[str, Any]:
        """The YAML defaultValue of each argument, which the server fills in when an argument is not given."""
        if brand_or_script in self.integrations:
            commands = self.integrations[brand_or_script]['yaml'].get('script', {}).get('commands', [])
            arguments = next((c.get('arguments') or [] for c in commands if c.get('name') == command), [])
        else:
            arguments = (self.scripts.get(brand_or_script) or {}).get('yaml', {}).get('args') or []
        return {a['name']: a['defaultValue'] for a in arguments if a.get('defaultValue') not in (None, '')}

    def brand_of(self, command: str) -> Optional[str]:
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


def _load_module(folder: str, name: str):
    spec = importlib.util.spec_from_file_location('_xsoar_run_' + name, os.path.join(folder, name + '.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _file_context(name: str, path: str, entry_id: str) -> Dict[str, Any]:
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


def _key_fields(selector: str) -> List[str]:
    fields = _KEY_FIELD.findall(selector)
    return fields or _KEY_FIELD_LOOSE.findall(selector)


def _get_field(obj: Any, dotted: str) -> Any:
    for part in dotted.split('.'):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _parent(context: Dict[str, Any], path: str) -> Tuple[Dict[str, Any], str]:
    """(the dict that holds the path's last key, creating the dicts on the way; that key)."""
    parts = path.split('.')
    node = context
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    return node, parts[-1]


def _set_path(context: Dict[str, Any], path: str, value: Any, replace: bool = False) -> None:
    node, last = _parent(context, path)
    if replace or last not in node:
        node[last] = copy.deepcopy(value)
        return
    existing = node[last]
    existing = existing if isinstance(existing, list) else [existing]
    node[last] = existing + (copy.deepcopy(value) if isinstance(value, list) else [copy.deepcopy(value)])


def _merge_keyed(context: Dict[str, Any], path: str, fields: List[str], value: Any) -> None:
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

    index = {}
    for old in items:
        index.setdefault(key_of(old), old)
    index.pop(None, None)
    for new in (value if isinstance(value, list) else [value]):
        key = key_of(new)
        # shallow copies: merging replaces top-level fields only, and entries are never mutated afterwards
        if key is not None and key in index:
            index[key].update(new)
        else:
            new = dict(new) if isinstance(new, dict) else copy.deepcopy(new)
            items.append(new)
            if key is not None:
                index[key] = new
    node[last] = items[0] if len(items) == 1 else items


def merge_context(context: Dict[str, Any], entry_context: Dict[str, Any]) -> None:
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
            path = path  # an unsupported selector: keep the data, append
        else:
            path = key
        _set_path(context, path, value)


def get_context_path(context: Dict[str, Any], path: str) -> Any:
    """Value at a dotted context path; lists along the way are flattened (XSOAR DT style)."""
    nodes: List[Any] = [context]
    for part in path.split('.'):
        next_nodes: List[Any] = []
        for node in nodes:
            for item in (node if isinstance(node, list) else [node]):
                if isinstance(item, dict) and part in item:
                    next_nodes.append(item[part])
        nodes = next_nodes
        if not nodes:
            return None
    flat: List[Any] = []
    for node in nodes:
        flat.extend(node if isinstance(node, list) else [node])
    if len(flat) == 1 and not isinstance(nodes[0], list):
        return flat[0]
    return flat


class Session(object):
    """One incident's war room and context, with the integration instances it may use."""

    def __init__(self, instances: Optional[Dict[str, Dict[str, Any]]] = None, workdir: Optional[str] = None,
                 poll_sleep_scale: float = 0.0, on_event: Optional[Callable[[str], None]] = None,
                 index: Optional[PackIndex] = None, max_polls: int = 500, file_context: bool = True):
        self.index = index or PackIndex()
        self.instances: Dict[str, Dict[str, Any]] = {}
        for name, params in (instances or {}).items():
            self.instances[self.index.brand_for_folder(name)] = params
        self.workdir = workdir or tempfile.mkdtemp(prefix='xsoar-run-')
        self.files_dir = os.path.join(self.workdir, 'files')
        os.makedirs(self.files_dir, exist_ok=True)
        self.context: Dict[str, Any] = {}
        self.entries: List[Dict[str, Any]] = []
        self.files: Dict[str, Dict[str, Any]] = {}  # entry id -> {name, path}
        self.integration_contexts: Dict[str, Dict[str, Any]] = {}
        self.poll_sleep_scale = poll_sleep_scale
        self.on_event = on_event or (lambda message: None)
        self.max_polls = max_polls
        self.file_context = file_context  # the server hashes war-room files; benchmarks of the integration skip it
        self._entry_counter = 0
        self.incident: Dict[str, Any] = {'id': '1', 'name': 'Local incident', 'CustomFields': {}, 'labels': []}

    # -- the demistomock patching

    def _patched(self, params: Dict[str, Any], args: Dict[str, Any], command: str, brand: str,
                 sink: List[Any]) -> Dict[str, Any]:
        store = self.integration_contexts.setdefault(brand, {})

        def set_ctx(value, *rest, **kw):
            store.clear()
            store.update(value or {})

        def set_context(path, value):
            _set_path(self.context, path, value, replace=True)
            return {}

        return {
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

    def _get_file_path(self, entry_id: str) -> Dict[str, str]:
        if entry_id not in self.files:
            raise ValueError('No file entry {}'.format(entry_id))
        f = self.files[entry_id]
        return {'id': entry_id, 'path': f['path'], 'name': f['name']}

    def _run_code(self, folder: str, module_name: str, patches: Dict[str, Any]) -> None:
        saved = {name: getattr(demisto, name, None) for name in patches}
        cwd = os.getcwd()
        try:
            for name, value in patches.items():
                setattr(demisto, name, value)
            os.chdir(self.workdir)
            module = _load_module(folder, module_name)
            try:
                module.main()
            except SystemExit:
                pass  # return_error ends the run the way the server sees it
        finally:
            os.chdir(cwd)
            for name, value in saved.items():
                setattr(demisto, name, value)

    # -- entries

    def _store_entries(self, raw_entries: List[Any], source: str) -> List[Dict[str, Any]]:
        stored = []
        for raw in raw_entries:
            if raw is None:
                continue
            entry = {'Type': 1, 'ContentsFormat': 'text', 'Contents': raw} if isinstance(raw, str) else dict(raw)
            self._entry_counter += 1
            entry['ID'] = '{}@1'.format(self._entry_counter)
            entry['Source'] = source
            if entry.get('Type') in (3, 9) and entry.get('FileID'):
                produced = os.path.join(self.workdir, '1_' + entry['FileID'])
                if not os.path.exists(produced):
                    entry = {'Type': 4, 'ContentsFormat': 'text', 'ID': entry['ID'], 'Source': source,
                             'Contents': 'File entry {} has no content on disk'.format(entry.get('File'))}
                else:
                    name = entry.get('File') or 'file'
                    dest = os.path.join(self.files_dir, '{}_{}'.format(self._entry_counter, os.path.basename(name)))
                    shutil.move(produced, dest)
                    self.files[entry['ID']] = {'name': name, 'path': dest}
                    file_ctx = _file_context(name, dest, entry['ID']) if self.file_context else {
                        'Name': name, 'EntryID': entry['ID'], 'Size': os.path.getsize(dest)}
                    entry['FileContext'] = file_ctx
                    merge_context(self.context, {'File(val.EntryID && val.EntryID == obj.EntryID)': file_ctx})
            if entry.get('EntryContext'):
                merge_context(self.context, entry['EntryContext'])
            self.entries.append(entry)
            stored.append(entry)
        return stored

    # -- public API

    def execute(self, command: str, args: Optional[Dict[str, Any]] = None, using: Optional[str] = None,
                follow_polling: bool = True) -> List[Dict[str, Any]]:
        """Run an integration command; returns every entry it (and its polling runs) produced."""
        brand = self.index.brand_for_folder(using) if using else self.index.brand_of(command)
        if brand is None:
            raise KeyError('No integration in the pack has the command {}'.format(command))
        if brand not in self.instances:
            raise KeyError('No enabled instance of {} in this session'.format(brand))
        entry = self.index.integrations[brand]
        args = dict(self.index.defaults(brand, command), **{k: v for k, v in (args or {}).items() if v is not None})
        produced: List[Dict[str, Any]] = []
        polls, waited = 0, 0.0
        while True:
            sink: List[Any] = []
            self.on_event('run {} {}'.format(command, ' '.join('{}={}'.format(k, v) for k, v in args.items()
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
                timeout_entry = {'Type': 4, 'ContentsFormat': 'text',
                                 'Contents': 'Polling of {} timed out after {:.0f} s'.format(command, timeout)}
                produced.extend(self._store_entries([timeout_entry], brand))
                return produced
            self.on_event('wait {:.0f} s before {} polls again (poll {}{})'.format(
                next_run, poll['PollingCommand'], polls,
                ', scheduled by the server; not slept here' if not self.poll_sleep_scale else ''))
            if self.poll_sleep_scale:
                time.sleep(next_run * self.poll_sleep_scale)
            command = poll['PollingCommand']
            args = dict(poll.get('PollingArgs') or {})

    def run_script(self, name: str, args: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
        """Run one of the pack's scripts with args; its executeCommand calls go to this session."""
        if name not in self.index.scripts:
            raise KeyError('No script {} in the pack'.format(name))
        entry = self.index.scripts[name]
        sink: List[Any] = []
        self.on_event('script {}'.format(name))
        args = dict(self.index.defaults(name, name), **{k: v for k, v in (args or {}).items() if v is not None})
        self._run_code(entry['folder'], entry['module'], self._patched({}, args, name, name, sink))
        return self._store_entries(sink, name)

    def _execute_from_script(self, command: str, args: Dict[str, Any]) -> List[Dict[str, Any]]:
        try:
            if command in self.index.scripts:
                return self.run_script(command, args)
            return self.execute(command, args)
        except KeyError as error:
            return [{'Type': 4, 'ContentsFormat': 'text', 'Contents': str(error)}]

    def file_path(self, entry_id: str) -> str:
        return self.files[entry_id]['path']


def errors_of(entries: List[Dict[str, Any]]) -> List[str]:
    return [str(e.get('Contents') if e.get('Contents') not in (None, '') else e.get('HumanReadable'))
            for e in entries if e.get('Type') == 4]


def readable_of(entry: Dict[str, Any]) -> str:
    if entry.get('HumanReadable'):
        return str(entry['HumanReadable'])
    if entry.get('Type') in (3, 9):
        ctx = entry.get('FileContext') or {}
        return 'File: {} ({} bytes, SHA256 {})'.format(entry.get('File'), ctx.get('Size'), ctx.get('SHA256'))
    contents = entry.get('Contents')
    return contents if isinstance(contents, str) else json.dumps(contents, indent=2, default=str)
