"""Local stand-in for XSOAR's ``CommonServerPython``.

Our own code, written from the documented contract and the observable behaviour of the newest public
``Packs/Base/Scripts/CommonServerPython/CommonServerPython.py`` (demisto/content) for every name the pack's
integrations and scripts use. Inside XSOAR the platform's module is used instead; the suite also runs
against the real file (``XSOAR_RUNTIME_DIR``) and ``tests/test_runtime_contract.py`` compares the two, so
nothing here may behave differently from the real module for what the pack calls, and nothing in the pack
may depend on anything that exists only here.

Behaviour worth knowing (all as in the real module):
- ``return_error`` logs the message and, when an exception is being handled, its traceback through the
  integration logger (one ``demisto.info`` line "Full Integration Log: ..."); in debug mode the traceback is
  also appended to the war-room message. Messages over 50,000 characters are cut in the middle.
- ``argToBoolean`` accepts booleans and, in any case, the strings true/yes/y/t/on/1 and false/no/n/f/off/0, as
  the newest public runtime does (older copies, such as content-ci-cd-template's, take only true/yes/false/no;
  the pack never depends on the difference and tests/test_runtime_contract.py accepts both from a real runtime).
- ``arg_to_number`` accepts int (and bool, an int subclass) and numeric strings; a float given as a number
  is rejected.
- ``BaseClient._http_request`` uses the client's default headers whenever ``headers`` is falsy ({} included).
"""
import json
import logging
import os
import re
import sys
import traceback
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Union  # noqa: F401  (re-exported like the real module)
from urllib import parse as urllib_parse

import requests
from requests.adapters import HTTPAdapter
from urllib3 import disable_warnings
from urllib3.util import Retry

import demistomock as demisto

disable_warnings()

IS_PY3 = True
PY_VER_MINOR = sys.version_info[1]
STRING_TYPES = (str, bytes)
STRING_OBJ_TYPES = (str,)
MASK = '<XX_REPLACED>'
MAX_ERROR_MESSAGE_LENGTH = 50000
_TRUNCATION_NOTE = '...This error body was truncated...'
_SERVER_HANDLED_COMMANDS = ('fetch-incidents', 'fetch-credentials', 'long-running-execution', 'fetch-indicators')

entryTypes = {'note': 1, 'downloadAgent': 2, 'file': 3, 'error': 4, 'pinned': 5, 'userManagement': 6, 'image': 7,
              'playgroundError': 8, 'entryInfoFile': 9, 'warning': 11, 'map': 15, 'debug': 16, 'widget': 17}
formats = {'html': 'html', 'table': 'table', 'json': 'json', 'text': 'text', 'dbotResponse': 'dbotCommandResponse',
           'markdown': 'markdown'}


class EntryType(object):
    NOTE = 1
    DOWNLOAD_AGENT = 2
    FILE = 3
    ERROR = 4
    PINNED = 5
    USER_MANAGEMENT = 6
    IMAGE = 7
    PLAYGROUND_ERROR = 8
    ENTRY_INFO_FILE = 9
    VIDEO_FILE = 10
    WARNING = 11
    STATIC_VIDEO_FILE = 12
    MAP_ENTRY_TYPE = 15
    WIDGET = 17
    EXECUTION_METRICS = 19


class EntryFormat(object):
    HTML = 'html'
    TABLE = 'table'
    JSON = 'json'
    TEXT = 'text'
    DBOT_RESPONSE = 'dbotCommandResponse'
    MARKDOWN = 'markdown'

    @classmethod
    def is_valid_type(cls, _type):
        return _type in (cls.HTML, cls.TABLE, cls.JSON, cls.TEXT, cls.MARKDOWN, cls.DBOT_RESPONSE)


class DemistoException(Exception):
    def __init__(self, message, exception=None, res=None, error_type=None, *args):
        self.res = res
        self.message = message
        self.exception = exception
        self.error_type = error_type
        super(DemistoException, self).__init__(message, exception, error_type, *args)

    def __str__(self):
        return str(self.message)


# ---------------------------------------------------------------- logging

def is_debug_mode():
    """True when the command runs with debug-mode=true (the platform sets ``demisto.is_debug``)."""
    return bool(getattr(demisto, 'is_debug', False))


class IntegrationLogger(object):
    """Buffers log records and writes them as one ``demisto.info`` line on ``print_log()``.

    Values of parameters whose name contains a sensitive word are masked, as the real logger does.
    With debug logging each record also goes to ``demisto.debug`` at once (and ``print_log`` stays quiet).
    """
    _SENSITIVE_WORDS = ('key', 'private', 'password', 'secret', 'token', 'credentials', 'service_account')

    def __init__(self, debug_logging=False):
        self.messages = []
        self.replace_strs = []
        self.buffering = True
        self.debug_logging = debug_logging
        if not os.getenv('COMMON_SERVER_NO_AUTO_REPLACE_STRS'):
            try:
                params = demisto.params()
            except Exception:  # noqa: broad-except - a runtime without params simply masks nothing
                params = {}
            if isinstance(params, dict):
                self._collect_sensitive(params)

    def _collect_sensitive(self, values):
        for name, value in values.items():
            if isinstance(value, dict):
                self._collect_sensitive(value)
                if value.get('identifier') and value.get('password'):
                    basic = '{}:{}'.format(value['identifier'], value['password'])
                    self.add_replace_strs(_b64(basic))
            elif isinstance(value, str) and any(word in name.lower() for word in self._SENSITIVE_WORDS):
                self.add_replace_strs(value, _b64(value))

    def add_replace_strs(self, *values):
        for value in values:
            if not value:
                continue
            text = str(value)
            quoted = json.dumps(text)[1:-1]
            self.replace_strs.extend([text, quoted, urllib_parse.quote_plus(text)])

    def encode(self, message):
        text = str(message)
        for secret in self.replace_strs:
            if secret:
                text = text.replace(secret, MASK)
        return text

    def __call__(self, message):
        text = self.encode(message)
        if self.buffering:
            self.messages.append(text)
            if self.debug_logging:
                demisto.debug(text)
        else:
            demisto.info(text)
        return text

    def set_buffering(self, state):
        self.buffering = state

    def print_log(self, verbose=False):
        if self.messages:
            text = 'Full Integration Log:\n' + '\n'.join(self.messages)
            if verbose:
                demisto.log(text)
            if not self.debug_logging:
                demisto.info(text)
            self.messages = []


def _b64(text):
    import base64
    return base64.b64encode(text.encode('utf-8')).decode('utf-8')


LOG = IntegrationLogger(debug_logging=is_debug_mode())


def fix_traceback_line_numbers(trace_str):
    """The platform maps line numbers of unified scripts back to their modules; local files need nothing."""
    return trace_str


def register_module_line(module_name, start_end, line, wrapper=0):
    """Unified (built) scripts mark where each module starts and ends; used only for traceback line numbers."""
    return None


def __line__():
    """The caller's line number (used by unified scripts with register_module_line)."""
    import inspect
    frame = inspect.currentframe()
    return frame.f_back.f_lineno if frame and frame.f_back else 0


# ---------------------------------------------------------------- argument helpers

def encode_string_results(text):
    if not isinstance(text, STRING_OBJ_TYPES):
        return text
    return str(text)


def argToList(arg, separator=',', transform=None):
    """A list from a list, a JSON list string or a separated string; empty for falsy values.

    A string in brackets that is not valid JSON is split like any other string (and a debug line says so).
    """
    if not arg:
        return []
    if isinstance(arg, list):
        items = arg
    elif isinstance(arg, STRING_TYPES):
        items = None
        if arg[0] == '[' and arg[-1] == ']':
            try:
                items = json.loads(arg)
            except Exception:  # noqa: broad-except - the real helper falls back to splitting on any failure
                demisto.debug('Failed to load {} as JSON, trying to split'.format(arg))
        if items is None:
            items = [part.strip() for part in arg.split(separator)]
    else:
        items = [arg]
    return [transform(item) for item in items] if transform else items


_TRUE_WORDS = ('true', 'yes', 'y', 't', 'on', '1')
_FALSE_WORDS = ('false', 'no', 'n', 'f', 'off', '0')


def argToBoolean(value):
    """True/False from a bool or a boolean word (any case): true/yes/y/t/on/1, false/no/n/f/off/0; anything else
    is a ValueError."""
    if isinstance(value, bool):
        return value
    if isinstance(value, STRING_OBJ_TYPES):
        lowered = value.lower()
        if lowered in _TRUE_WORDS:
            return True
        if lowered in _FALSE_WORDS:
            return False
        raise ValueError('Argument does not contain a valid boolean-like value')
    raise ValueError('Argument is neither a string nor a boolean')


def _invalid_number(arg, arg_name):
    if arg_name:
        return ValueError('Invalid number: "{}"="{}"'.format(arg_name, arg))
    return ValueError('"{}" is not a valid number'.format(arg))


def arg_to_number(arg, arg_name=None, required=False):
    """int from an int or a numeric string ("12", "1.9" -> 1); None when empty unless required.

    A float passed as a number is not accepted (only strings are parsed as floats).
    """
    if arg is None or arg == '':
        if required is True:
            raise ValueError('Missing "{}"'.format(arg_name) if arg_name else 'Missing required argument')
        return None
    arg = encode_string_results(arg)
    if isinstance(arg, str):
        if arg.isdigit():
            return int(arg)
        try:
            return int(float(arg))
        except Exception:  # noqa: broad-except - overflow and value errors read the same to the user
            raise _invalid_number(arg, arg_name)
    if isinstance(arg, int):
        return arg
    raise _invalid_number(arg, arg_name)


_RELATIVE = re.compile(r'^\s*(\d+)\s*(second|minute|hour|day|week)s?(\s+ago)?\s*$', re.IGNORECASE)


def arg_to_datetime(arg, arg_name=None, is_utc=True, required=False, settings=None):
    """ISO-8601, epoch seconds/ms, or '<n> <unit>[s] [ago]' -> datetime (the real one uses dateparser)."""
    if arg is None:
        if required is True:
            raise ValueError('Missing "{}"'.format(arg_name) if arg_name else 'Missing required argument')
        return None
    if isinstance(arg, str) and arg.isdigit() or isinstance(arg, (int, float)):
        seconds = float(arg)
        if seconds > 2000000000.0:
            seconds = seconds / 1000.0
        return datetime.fromtimestamp(seconds, tz=timezone.utc) if is_utc else datetime.fromtimestamp(seconds)
    if isinstance(arg, str):
        match = _RELATIVE.match(arg)
        if match:
            delta = timedelta(**{match.group(2).lower() + 's': int(match.group(1))})
            return datetime.now(timezone.utc) - delta
        try:
            return datetime.fromisoformat(arg.replace('Z', '+00:00'))
        except ValueError:
            pass
        raise ValueError('Invalid date: "{}"="{}"'.format(arg_name, arg) if arg_name
                         else '"{}" is not a valid date'.format(arg))
    raise ValueError('Invalid date: "{}"="{}"'.format(arg_name, arg) if arg_name
                     else '"{}" is not a valid date'.format(arg))


def assign_params(keys_to_ignore=None, values_to_ignore=None, **kwargs):
    if values_to_ignore is None:
        values_to_ignore = (None, '', [], {}, ())
    if keys_to_ignore is None:
        keys_to_ignore = tuple()
    return {key: value for key, value in kwargs.items()
            if value not in values_to_ignore and key not in keys_to_ignore}


def remove_empty_elements(d):
    def empty(x):
        return x is None or x == {} or x == [] or x == ''

    if not isinstance(d, (dict, list)):
        return d
    if isinstance(d, list):
        return [v for v in (remove_empty_elements(v) for v in d) if not empty(v)]
    return {k: v for k, v in ((k, remove_empty_elements(v)) for k, v in d.items()) if not empty(v)}


def dict_safe_get(dict_object, keys, default_return_value=None, return_type=None, raise_return_type=True):
    value = dict_object
    for key in keys:
        try:
            value = value[key]
        except (KeyError, TypeError, IndexError, AttributeError):
            value = default_return_value
            break
    if return_type and not isinstance(value, return_type):
        if raise_return_type:
            raise TypeError('Safe get Error:\nDetails: Return Type Error Excepted return type {0},'
                            ' but actual type from nested dict/list is {1} with value {2}.\n'
                            'Query: {3}\nQueried object: {4}'.format(return_type, type(value), value, keys,
                                                                    dict_object))
        value = default_return_value
    return value


def batch(iterable, batch_size=1):
    """Slices of ``batch_size`` items, in order."""
    rest = iterable
    while True:
        current, rest = rest[:batch_size], rest[batch_size:]
        if not current:
            return
        yield current


def urljoin(url, suffix=''):
    if not url.endswith('/'):
        url += '/'
    if suffix.startswith('/'):
        suffix = suffix[1:]
    return url + suffix


def string_to_table_header(string):
    if isinstance(string, STRING_OBJ_TYPES):
        return ' '.join(word.capitalize() for word in string.replace('_', ' ').split())
    raise Exception('The key is not a string: {}'.format(string))


# ---------------------------------------------------------------- server version and integration context

class GetDemistoVersion(object):
    """``demisto.demistoVersion()``, read once and cached (like the real callable)."""

    def __init__(self):
        self._version = None

    def __call__(self):
        if self._version is None:
            if not hasattr(demisto, 'demistoVersion'):
                raise AttributeError('demistoVersion attribute not found.')
            self._version = demisto.demistoVersion()
        return self._version


get_demisto_version = GetDemistoVersion()


def is_demisto_version_ge(version, build_number=''):
    def padded(v):
        return tuple(part.zfill(8) for part in v.split('.'))

    server = get_demisto_version()
    server_parts, wanted = padded(server.get('version')), padded(version)
    if server_parts != wanted:
        return server_parts > wanted
    if build_number:
        return int(server.get('buildNumber')) >= int(build_number)
    return True


def is_versioned_context_available():
    return is_demisto_version_ge('6.0.0')


def get_integration_context(sync=True, with_version=False):
    if is_versioned_context_available():
        versioned = demisto.getIntegrationContextVersioned(sync)
        return versioned if with_version else versioned.get('context', {})
    return demisto.getIntegrationContext()


def set_integration_context(context, sync=True, version=-1):
    demisto.debug('Setting integration context')
    if is_versioned_context_available():
        demisto.debug('Updating integration context with version {}. Sync: {}'.format(version, sync))
        return demisto.setIntegrationContextVersioned(context, version, sync)
    return demisto.setIntegrationContext(context)


def get_integration_name():
    return demisto.callingContext.get('context', {}).get('IntegrationBrand', '')


def get_script_name():
    return demisto.callingContext.get('context', {}).get('ScriptName', '')


# ---------------------------------------------------------------- proxy and certificates

_PROXY_VARIABLES = ('HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy')
_PROXY_PREFIXES = ('http://', 'https://', 'socks5://', 'socks5h://', 'socks4://', 'socks4a://')


def add_http_prefix_if_missing(address=''):
    if not address:
        return ''
    return address if address.startswith(_PROXY_PREFIXES) else 'http://' + address


def skip_proxy():
    for name in _PROXY_VARIABLES:
        os.environ.pop(name, None)


def ensure_proxy_has_http_prefix():
    for name in _PROXY_VARIABLES:
        if os.environ.get(name):
            os.environ[name] = add_http_prefix_if_missing(os.environ[name])


def skip_cert_verification():
    for name in ('REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'):
        os.environ.pop(name, None)


def handle_proxy(proxy_param_name='proxy', checkbox_default_value=False, handle_insecure=True,
                 insecure_param_name=None):
    """With the proxy box checked: the proxies dict from the environment; unchecked: drop the proxy variables."""
    proxies = {}
    if demisto.params().get(proxy_param_name, checkbox_default_value):
        ensure_proxy_has_http_prefix()
        proxies = {'http': os.environ.get('HTTP_PROXY') or os.environ.get('http_proxy', ''),
                   'https': os.environ.get('HTTPS_PROXY') or os.environ.get('https_proxy', '')}
    else:
        skip_proxy()
    if handle_insecure:
        names = (insecure_param_name,) if insecure_param_name is not None else ('insecure', 'unsecure')
        if any(demisto.params().get(name, False) for name in names):
            skip_cert_verification()
    return proxies


# ---------------------------------------------------------------- markdown

def stringEscapeMD(st, minimal_escaping=False, escape_multiline=False):
    if escape_multiline:
        st = st.replace('\r\n', '<br>').replace('\r', '<br>').replace('\n', '<br>')
    if minimal_escaping:
        return st.replace('|', '\\|').replace('`', '\\`')
    return ''.join('\\' + c if c in '\\`*_{}[]()#+-!|' else c for c in st)


def flattenCell(data, is_pretty=True):
    """A cell value as text: strings as they are, lists one item per line, anything else as JSON."""
    if isinstance(data, STRING_TYPES):
        return data
    if isinstance(data, list):
        return ',\n'.join(item.decode('utf-8') if isinstance(item, bytes) else str(item) for item in data)
    return json.dumps(data, indent=4 if is_pretty else None, ensure_ascii=False, default=str)


class JsonTransformer(object):
    """How a complex cell is rendered; only the flat mode (the default of ``tableToMarkdown``) is provided."""

    def __init__(self, flatten=False, keys=None, is_nested=False, func=None):
        self.keys = set(keys or [])
        self.is_nested = is_nested
        self.func = func
        self.flatten = flatten

    def json_to_str(self, json_input, is_pretty=True):
        if self.func:
            return self.func(json_input)
        if isinstance(json_input, STRING_TYPES):
            return json_input
        if not self.flatten:
            raise NotImplementedError('the local runtime renders tables in the flat mode only')
        if not isinstance(json_input, dict):
            return flattenCell(json_input, is_pretty)
        return '\n'.join('{}: {}'.format(k, flattenCell(v, is_pretty)) for k, v in json_input.items())


def formatCell(data, is_pretty=True, json_transform=None):
    return (json_transform or JsonTransformer(flatten=True)).json_to_str(data, is_pretty)


def url_to_clickable_markdown(data, url_keys):
    if isinstance(data, list):
        return [url_to_clickable_markdown(item, url_keys) for item in data]
    if isinstance(data, dict):
        return {key: create_clickable_url(value) if key in url_keys else url_to_clickable_markdown(value, url_keys)
                for key, value in data.items()}
    return data


def create_clickable_url(url, text=None):
    if not url:
        return None
    if isinstance(url, list):
        if isinstance(text, list):
            return ['[{}]({})'.format(t, u) for t, u in zip(text, url)]
        return ['[{}]({})'.format(u, u) for u in url]
    return '[{}]({})'.format(text or url, url)


def tableToMarkdown(name, t, headers=None, headerTransform=None, removeNull=False, metadata=None, url_keys=None,
                    date_fields=None, json_transform_mapping=None, is_auto_json_transform=False, sort_headers=True):
    """``### name`` then a markdown table of a dict or a list of dicts; ``**No entries.**`` when empty.

    Cells: strings as they are; None empty; booleans and numbers as JSON (``true``, ``1``); a dict as
    ``key: value`` lines; a list one item per line (``str()`` of each item, so a dict item shows as a Python
    dict). ``|`` and backticks are escaped, line breaks become ``<br>``. Without ``headers`` the keys of the
    first row, sorted unless ``sort_headers`` is False.
    """
    if url_keys:
        t = url_to_clickable_markdown(t, url_keys)
    result = '### ' + name + '\n' if name else ''
    if metadata:
        result += metadata + '\n'
    if not t:
        return result + '**No entries.**\n'
    if not headers and isinstance(t, dict) and len(t.keys()) == 1:
        headers = list(t.keys())
        t = list(t.values())[0]
    if not isinstance(t, list):
        t = [t]
    if headers and isinstance(headers, STRING_TYPES):
        headers = [headers]
    if not isinstance(t[0], dict):
        if not headers:
            raise Exception("Missing headers param for tableToMarkdown. Example: headers=['Some Header']")
        t = [{headers[0]: item} for item in t]
    if not headers:
        headers = list(t[0].keys())
        if sort_headers:
            headers.sort()
    if removeNull:
        headers = [h for h in headers if not all(row.get(h) in ('', None, [], {}) for row in t)]
    if not json_transform_mapping:
        json_transform_mapping = {h: JsonTransformer(flatten=not is_auto_json_transform) for h in headers}
    if not headers:
        return result + '**No entries.**\n'
    transform = headerTransform or (lambda header: stringEscapeMD(header, True, True))
    lines = ['|' + '|'.join(transform(h) for h in headers) + '|', '|' + '|'.join(['---'] * len(headers)) + '|']
    for row in t:
        row = dict(row)
        for field in date_fields or []:
            try:
                row[field] = datetime.fromtimestamp(int(row[field]) / 1000).strftime('%Y-%m-%d %H:%M:%S')
            except Exception:  # noqa: broad-except - a field that is not a timestamp stays as it is
                pass
        cells = [stringEscapeMD(formatCell(row.get(h, ''), False, json_transform_mapping.get(h))
                                if row.get(h) is not None else '', True, True) for h in headers]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return result + '\n'.join(lines) + '\n'


tblToMd = tableToMarkdown


# ---------------------------------------------------------------- results

class ScheduledCommand(object):
    """Ask the server to run ``command`` again with ``args`` after ``next_run_in_seconds`` (minimum 10)."""
    VERSION_MISMATCH_ERROR = ('This command is not supported by this XSOAR server version. Please update your '
                              'server version to 6.2.0 or later.')
    MINIMUM_INTERVAL_SECONDS = 10

    def __init__(self, command, next_run_in_seconds, args=None, timeout_in_seconds=None, items_remaining=0):
        self.raise_error_if_not_supported()
        self._command = command
        if next_run_in_seconds < self.MINIMUM_INTERVAL_SECONDS:
            demisto.info('ScheduledCommandConfiguration provided value for next_run_in_seconds: {} is too low - '
                         'minimum interval is 10 seconds. next_run_in_seconds was set to 10 seconds.'
                         .format(next_run_in_seconds))
            next_run_in_seconds = self.MINIMUM_INTERVAL_SECONDS
        self._next_run = str(next_run_in_seconds)
        self._args = args
        self._timeout = str(timeout_in_seconds) if timeout_in_seconds else None
        self._items_remaining = items_remaining

    @staticmethod
    def raise_error_if_not_supported():
        """Every supported server (6.2.0+) runs scheduled commands; the real check no longer refuses."""
        return True

    @staticmethod
    def supports_polling():
        return True

    def to_results(self):
        return assign_params(PollingCommand=self._command, NextRun=self._next_run, PollingArgs=self._args,
                             Timeout=self._timeout, PollingItemsRemaining=self._items_remaining)


class CommandResults(object):
    def __init__(self, outputs_prefix=None, outputs_key_field=None, outputs=None, indicators=None,
                 readable_output=None, raw_response=None, indicators_timeline=None, indicator=None,
                 ignore_auto_extract=False, mark_as_note=False, tags=None, scheduled_command=None,
                 relationships=None, entry_type=None, content_format=None, execution_metrics=None,
                 replace_existing=False):
        if raw_response is None:
            raw_response = outputs
        if outputs is not None:
            if not isinstance(outputs, dict) and not outputs_prefix:
                raise ValueError('outputs_prefix is missing')
            if outputs_prefix == '.':
                raise ValueError('outputs_prefix cannot be a period.')
        if indicators and indicator:
            raise ValueError('indicators is DEPRECATED, use only indicator')
        self.indicators = indicators
        self.indicator = indicator
        self.entry_type = EntryType.NOTE if entry_type is None else entry_type
        self.outputs_prefix = outputs_prefix
        self.outputs_key_field = outputs_key_field
        if not outputs_key_field:
            self._outputs_key_field = None
        elif isinstance(outputs_key_field, STRING_TYPES):
            self._outputs_key_field = [outputs_key_field]
        elif isinstance(outputs_key_field, list):
            self._outputs_key_field = outputs_key_field
        else:
            raise TypeError('outputs_key_field must be of type str or list')
        self.outputs = outputs
        self.raw_response = raw_response
        self.readable_output = readable_output
        self.indicators_timeline = indicators_timeline
        self.ignore_auto_extract = ignore_auto_extract
        self.mark_as_note = mark_as_note
        self.tags = tags
        self.scheduled_command = scheduled_command
        self.relationships = relationships
        self.execution_metrics = execution_metrics
        self.replace_existing = replace_existing
        if content_format is not None and not EntryFormat.is_valid_type(content_format):
            raise TypeError('content_format {} is invalid, see CommonServerPython.EntryFormat'.format(content_format))
        self.content_format = content_format

    def _context_outputs(self):
        outputs = {}
        if self.outputs_prefix and self.replace_existing:
            path, _, key = self.outputs_prefix.rpartition('.')
            if not path:
                raise DemistoException('outputs_prefix must be a nested path to replace an existing key.')
            outputs[path + '(true)'] = {key: self.outputs}
        elif self.outputs_prefix and self._outputs_key_field:
            selector = ' && '.join('val.{0} && val.{0} == obj.{0}'.format(k) for k in self._outputs_key_field)
            outputs['{0}({1})'.format(self.outputs_prefix, selector)] = self.outputs
        elif self.outputs_prefix:
            outputs[str(self.outputs_prefix)] = self.outputs
        else:
            outputs.update(self.outputs)
        return outputs

    def to_context(self):
        outputs = {}
        human_readable = self.readable_output or None
        raw_response = self.raw_response
        for indicator in ([self.indicator] if self.indicator else self.indicators) or []:
            for key, value in indicator.to_context().items():
                outputs.setdefault(key, []).append(value)
        if self.outputs is not None and self.outputs != []:
            if not self.readable_output:
                human_readable = tableToMarkdown('Results', self.outputs) \
                    if isinstance(self.outputs, (dict, list)) else self.outputs
            outputs.update(self._context_outputs())
        relationships = [r.to_entry() for r in self.relationships or [] if r.to_entry()]
        content_format = self.content_format
        if content_format is None:
            content_format = EntryFormat.TEXT if isinstance(raw_response, STRING_TYPES + (int,)) \
                else EntryFormat.JSON
        if self.execution_metrics:
            self.entry_type = EntryType.EXECUTION_METRICS
            raw_response = 'Metrics reported successfully.'
            content_format = EntryFormat.TEXT
        entry = {
            'Type': self.entry_type,
            'ContentsFormat': content_format,
            'Contents': raw_response,
            'HumanReadable': human_readable,
            'EntryContext': outputs,
            'IndicatorTimeline': self.indicators_timeline.indicators_timeline if self.indicators_timeline else [],
            'IgnoreAutoExtract': bool(self.ignore_auto_extract),
            'Note': bool(self.mark_as_note),
            'Relationships': relationships,
        }
        if self.tags:
            entry['Tags'] = self.tags
        if self.scheduled_command:
            entry.update(self.scheduled_command.to_results())
        if self.execution_metrics:
            entry['APIExecutionMetrics'] = self.execution_metrics
        return entry


def fileResult(filename, data, file_type=None):
    """Write ``data`` as a war-room file ``<investigation id>_<unique id>`` in the working directory."""
    if file_type is None:
        file_type = entryTypes['file']
    temp = demisto.uniqueFile()
    if isinstance(data, str):
        data = data.encode('utf-8')
    with open(demisto.investigation()['id'] + '_' + temp, 'wb') as f:
        f.write(data)
    if isinstance(filename, str) and '../' in filename:
        filename = filename.replace('../', '')
        demisto.debug('replaced {} with new file name {}'.format(filename, filename))
    return {'Contents': '', 'ContentsFormat': formats['text'], 'Type': file_type, 'File': filename, 'FileID': temp}


def is_integration_command_execution():
    """False when a script (not an integration command) is running, as the calling context tells."""
    context = getattr(demisto, 'callingContext', None) or {}
    try:
        return context['context']['ExecutedCommands'][0]['moduleBrand'] != 'Scripts'
    except (KeyError, IndexError, TypeError):
        try:
            return context['context']['ScriptName'] == ''
        except (KeyError, IndexError, TypeError):
            return True


_METRICS_SKIPPED = ("returning results with Type=EntryType.EXECUTION_METRICS isn't fully supported for scripts. "
                    "dropping result.")


def return_results(results):
    """Send results to the war room: CommandResults, entries (dicts), strings, lists of these, or objects with
    ``to_entry``. Execution-metrics entries of scripts are dropped (with a debug line)."""
    is_integration = is_integration_command_execution()

    def send_entry(entry):
        if is_integration or entry.get('Type') != EntryType.EXECUTION_METRICS:
            demisto.results(entry)
        else:
            demisto.debug(_METRICS_SKIPPED)

    if results is None:
        demisto.results(None)
    elif results and isinstance(results, list):
        plain = []
        for result in results:
            if isinstance(result, dict):
                if is_integration or result.get('Type') != EntryType.EXECUTION_METRICS:
                    plain.append(result)
                else:
                    demisto.debug(_METRICS_SKIPPED)
            elif isinstance(result, str):
                plain.append(result)
            else:
                return_results(result)
        if plain:
            demisto.results(plain)
    elif isinstance(results, CommandResults):
        send_entry(results.to_context())
    elif hasattr(results, 'to_entry'):
        send_entry(results.to_entry())
    elif not is_integration and isinstance(results, dict) and results.get('Type') == EntryType.EXECUTION_METRICS:
        demisto.debug(_METRICS_SKIPPED)
    else:
        demisto.results(results)


def return_outputs(readable_output, outputs=None, raw_response=None, timeline=None, ignore_auto_extract=False):
    timeline_list = [timeline] if isinstance(timeline, dict) else timeline
    for item in timeline_list or []:
        item.setdefault('Category', 'Integration Update')
    entry = {'Type': entryTypes['note'], 'HumanReadable': readable_output,
             'ContentsFormat': formats['text'] if isinstance(raw_response, STRING_TYPES) else formats['json'],
             'Contents': raw_response, 'EntryContext': outputs, 'IgnoreAutoExtract': ignore_auto_extract,
             'IndicatorTimeline': timeline_list}
    if readable_output and not outputs and not raw_response:
        entry['Contents'] = readable_output
        entry['ContentsFormat'] = formats['text']
    elif outputs and raw_response is None:
        entry['Contents'] = outputs
    demisto.results(entry)


def return_error(message, error='', outputs=None):
    """Send an error entry and end the run with exit code 0.

    The message (and ``error``) go to the integration log; when called while an exception is being handled
    its traceback is logged too, and in debug mode appended to the message. Over 50,000 characters the middle
    is cut out. For fetch-incidents and the other server-run commands an Exception is raised instead.
    """
    try:
        server_handled = demisto.command() in _SERVER_HANDLED_COMMANDS
    except Exception:  # noqa: broad-except - scripts have no command
        server_handled = False
    message = LOG(message)
    if error:
        LOG(str(error))
    if any(sys.exc_info()):
        trace = fix_traceback_line_numbers(traceback.format_exc())
        LOG('\n{}'.format(trace))
        if is_debug_mode():
            message = '{}\n\n{}'.format(message, trace)
    LOG.print_log()
    if not isinstance(message, str):
        message = str(message)
    if demisto.command() == 'get-modified-remote-data':
        if (error and not isinstance(error, NotImplementedError)) or sys.exc_info()[0] != NotImplementedError:
            message = 'skip update. error: ' + message
    if server_handled:
        raise Exception(message)
    if len(message) > MAX_ERROR_MESSAGE_LENGTH:
        half = MAX_ERROR_MESSAGE_LENGTH // 2
        message = message[:half] + _TRUNCATION_NOTE + message[-half:]
    demisto.results({'Type': entryTypes['error'], 'ContentsFormat': formats['text'], 'Contents': message,
                     'EntryContext': outputs})
    sys.exit(0)


def return_warning(message, exit=False, warning='', outputs=None, ignore_auto_extract=False):
    LOG(message)
    if warning:
        LOG(warning)
    LOG.print_log()
    demisto.results({'Type': entryTypes['warning'], 'ContentsFormat': formats['text'],
                     'IgnoreAutoExtract': ignore_auto_extract, 'Contents': str(message), 'EntryContext': outputs})
    if exit:
        sys.exit(0)


# ---------------------------------------------------------------- polling

class PollResult(object):
    """What a polling command returns: the final ``response``, or ``continue_to_poll`` (a bool or a callable)
    with optional ``args_for_next_run`` and a ``partial_result`` to show meanwhile."""

    def __init__(self, response, continue_to_poll=False, args_for_next_run=None, partial_result=None):
        self.response = response
        self.continue_to_poll = continue_to_poll
        self.args_for_next_run = args_for_next_run
        self.partial_result = partial_result


def polling_function(name, interval=30, timeout=600, poll_message='Fetching Results:', polling_arg_name='polling',
                     requires_polling_arg=True):
    """Decorator: a command ``func(args, ...)`` returning ``PollResult`` becomes a scheduled-polling command.

    Without the polling argument (when it is required) the command runs once and its response is returned.
    Otherwise, while it asks to continue, a ScheduledCommand for ``name`` is attached to ``partial_result`` (or a
    result saying ``poll_message``, shown on the first run only) with the decorator's ``interval`` and
    ``timeout``; the next run gets ``args_for_next_run`` (or the same args dict) plus
    ``hide_polling_output=True``. The args of the next run are not given the polling argument: the caller's
    args must already carry it.
    """
    def dec(func):
        def inner(args, *arguments, **kwargs):
            if requires_polling_arg and not argToBoolean(args.get(polling_arg_name, False)):
                return func(args, *arguments, **kwargs).response
            ScheduledCommand.raise_error_if_not_supported()
            poll = func(args, *arguments, **kwargs)
            again = poll.continue_to_poll if isinstance(poll.continue_to_poll, bool) else poll.continue_to_poll()
            if not again:
                return poll.response
            readable = poll_message if not args.get('hide_polling_output') else None
            next_args = poll.args_for_next_run or args
            next_args['hide_polling_output'] = True
            result = poll.partial_result or CommandResults(readable_output=readable)
            result.scheduled_command = ScheduledCommand(command=name, next_run_in_seconds=interval, args=next_args,
                                                        timeout_in_seconds=timeout)
            return result
        return inner
    return dec


# ---------------------------------------------------------------- HTTP client

class BaseClient(object):
    """Thin wrapper over one ``requests.Session`` (see the documented ``_http_request`` contract)."""
    REQUESTS_TIMEOUT = 60

    def __init__(self, base_url, verify=True, proxy=False, ok_codes=tuple(), headers=None, auth=None,
                 timeout=REQUESTS_TIMEOUT):
        self._base_url = base_url
        self._verify = verify
        self._ok_codes = ok_codes
        self._headers = headers
        self._auth = auth
        self._session = requests.Session()
        if proxy:
            ensure_proxy_has_http_prefix()
        else:
            skip_proxy()
        if not verify:
            skip_cert_verification()
        name = get_integration_name() or get_script_name()
        configured = os.getenv('REQUESTS_TIMEOUT.' + name, '') or os.getenv('REQUESTS_TIMEOUT', '')
        self.timeout = float(configured or timeout)

    def __del__(self):
        try:
            self._session.close()
        except AttributeError:
            pass
        except Exception:  # noqa: broad-except - best effort on interpreter shutdown
            demisto.debug('failed to close BaseClient session')

    def _implement_retry(self, retries=0, status_list_to_retry=None, backoff_factor=5, raise_on_redirect=False,
                         raise_on_status=False):
        retry = Retry(total=retries, read=retries, connect=retries, backoff_factor=backoff_factor,
                      status=retries, status_forcelist=status_list_to_retry,
                      allowed_methods=frozenset(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
                      raise_on_status=raise_on_status, raise_on_redirect=raise_on_redirect)
        self._session.mount('https://', HTTPAdapter(max_retries=retry))

    def _is_status_code_valid(self, response, ok_codes=None):
        status_codes = ok_codes if ok_codes else self._ok_codes
        if status_codes:
            return response.status_code in status_codes
        return response.ok

    def client_error_handler(self, res):
        message = 'Error in API call [{}] - {}'.format(res.status_code, res.reason)
        try:
            message += '\n{}'.format(json.dumps(res.json()))
        except ValueError:
            message += '\n{}'.format(res.text)
        raise DemistoException(message, res=res)

    def _http_request(self, method, url_suffix='', full_url=None, headers=None, auth=None, json_data=None,
                      params=None, data=None, files=None, timeout=None, resp_type='json', ok_codes=None,
                      return_empty_response=False, retries=0, status_list_to_retry=None, backoff_factor=5,
                      raise_on_redirect=False, raise_on_status=False, error_handler=None, empty_valid_codes=None,
                      params_parser=None, with_metrics=False, **kwargs):
        try:
            address = full_url if full_url else urljoin(self._base_url, url_suffix)
            headers = headers if headers else self._headers  # {} means "the client's headers", as in the real one
            auth = auth if auth else self._auth
            if retries:
                self._implement_retry(retries, status_list_to_retry, backoff_factor, raise_on_redirect,
                                      raise_on_status)
            if not timeout:
                timeout = self.timeout
            if params_parser:
                params = urllib_parse.urlencode(params, quote_via=params_parser)
            res = self._session.request(method, address, verify=self._verify, params=params, data=data,
                                        json=json_data, files=files, headers=headers, auth=auth, timeout=timeout,
                                        **kwargs)
            if not self._is_status_code_valid(res, ok_codes):
                if error_handler:
                    error_handler(res)
                else:
                    self.client_error_handler(res)
            if return_empty_response and res.status_code in (empty_valid_codes or [204]):
                return res
            return self.cast_response(res, resp_type)
        except requests.exceptions.ConnectTimeout as exception:
            raise DemistoException('Connection Timeout Error - potential reasons might be that the Server URL '
                                   'parameter is incorrect or that the Server is not accessible from your host.',
                                   exception)
        except requests.exceptions.SSLError as exception:
            if not self._verify:
                raise
            raise DemistoException("SSL Certificate Verification Failed - try selecting 'Trust any certificate' "
                                   "checkbox in the integration configuration.", exception)
        except requests.exceptions.ProxyError as exception:
            raise DemistoException("Proxy Error - if the 'Use system proxy' checkbox in the integration "
                                   "configuration is selected, try clearing the checkbox.", exception)
        except requests.exceptions.ConnectionError as exception:
            error_class = str(exception.__class__)
            err_type = '<' + error_class[error_class.find('\'') + 1: error_class.rfind('\'')] + '>'
            message = ('Verify that the server URL parameter is correct and that you have access to the server '
                       'from your host.\nError Type: {}'.format(err_type))
            if exception.errno and exception.strerror:
                message += '\nError Number: [{}]\nMessage: {}\n'.format(exception.errno, exception.strerror)
            else:
                message += '\n{}'.format(exception)
            raise DemistoException(message, exception)
        except requests.exceptions.RetryError as exception:
            try:
                reason = 'Reason: {}'.format(exception.args[0].reason.args[0])
            except Exception:  # noqa: broad-except - the reason is optional detail
                reason = ''
            raise DemistoException('Max Retries Error- Request attempts with {} retries failed. \n{}'
                                   .format(retries, reason), exception)

    def cast_response(self, res, resp_type, raise_on_error=True):
        resp_type = resp_type.lower()
        try:
            if resp_type == 'json':
                return res.json()
            if resp_type == 'text':
                return res.text
            if resp_type == 'content':
                return res.content
            if resp_type == 'xml':
                import xml.etree.ElementTree as ET
                ET.fromstring(res.text)
            return res
        except ValueError as exception:
            if raise_on_error:
                raise DemistoException('Failed to parse {} object from response: {}'.format(resp_type, res.content),
                                       exception, res)


logging.getLogger('urllib3').setLevel(logging.WARNING)
