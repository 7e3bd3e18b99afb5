"""Local stand-in for XSOAR's ``CommonServerPython``.

Written from the public documented contract (see the developer docs and CONVENTIONS §3): only what the
pack's integrations and scripts use, with the same names, signatures and observable behaviour. Inside
XSOAR the platform's own module is used instead; the test suite can also run against the real file
(``XSOAR_RUNTIME_DIR``), so nothing in the pack may depend on anything that exists only here.
"""
import json
import logging
import os
import re
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Union  # noqa: F401  (re-exported like the real module)

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

import demistomock as demisto

IS_PY3 = True
STRING_TYPES = (str, bytes)
STRING_OBJ_TYPES = (str,)

entryTypes = {'note': 1, 'downloadAgent': 2, 'file': 3, 'error': 4, 'pinned': 5, 'userManagement': 6, 'image': 7,
              'playgroundError': 8, 'entryInfoFile': 9, 'warning': 11, 'map': 15, 'widget': 17}
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
    WARNING = 11
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


class DemistoException(Exception):
    def __init__(self, message, exception=None, res=None, *args):
        self.res = res
        self.message = message
        self.exception = exception
        super(DemistoException, self).__init__(message, exception, *args)

    def __str__(self):
        return str(self.message)


# ---------------------------------------------------------------- argument helpers

def argToList(arg, separator=',', transform=None):
    """A list from a list, a JSON list string or a separated string; empty for None/''."""
    if not arg:
        return []
    result = []
    if isinstance(arg, list):
        result = arg
    elif isinstance(arg, str):
        if arg[0] == '[' and arg[-1] == ']':
            result = json.loads(arg)
        else:
            result = [s.strip() for s in arg.split(separator)]
    else:
        result = [arg]
    if transform:
        return [transform(s) for s in result]
    return result


def argToBoolean(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value.lower() in ('true', 'yes'):
            return True
        if value.lower() in ('false', 'no'):
            return False
        raise ValueError('Argument does not contain a valid boolean-like value')
    raise ValueError('Argument is neither a string nor a boolean')


def arg_to_number(arg, arg_name=None, required=False):
    if arg is None or arg == '':
        if required:
            if arg_name:
                raise ValueError('Missing "{}"'.format(arg_name))
            raise ValueError('Missing required argument')
        return None
    if isinstance(arg, str):
        if arg.isdigit():
            return int(arg)
        try:
            return int(float(arg))
        except Exception:
            if arg_name:
                raise ValueError('Invalid number: "{}"="{}"'.format(arg_name, arg))
            raise ValueError('"{}" is not a valid number'.format(arg))
    if isinstance(arg, int):
        return arg
    if isinstance(arg, float):
        return int(arg)
    if arg_name:
        raise ValueError('Invalid number: "{}"="{}"'.format(arg_name, arg))
    raise ValueError('"{}" is not a valid number'.format(arg))


_RELATIVE = re.compile(r'^\s*(\d+)\s*(second|minute|hour|day|week)s?(\s+ago)?\s*$', re.IGNORECASE)


def arg_to_datetime(arg, arg_name=None, is_utc=True, required=False, settings=None):
    """ISO-8601, epoch seconds/ms, or '<n> <unit>[s] [ago]' -> datetime."""
    if arg is None or arg == '':
        if required:
            raise ValueError('Missing "{}"'.format(arg_name) if arg_name else 'Missing required argument')
        return None
    if isinstance(arg, (int, float)) or (isinstance(arg, str) and arg.isdigit()):
        number = float(arg)
        if number > 2000000000:
            number = number / 1000
        return datetime.fromtimestamp(number, tz=timezone.utc)
    if isinstance(arg, str):
        match = _RELATIVE.match(arg)
        if match:
            delta = timedelta(**{match.group(2).lower() + 's': int(match.group(1))})
            return datetime.now(timezone.utc) - delta
        try:
            return datetime.fromisoformat(arg.replace('Z', '+00:00'))
        except ValueError:
            pass
    raise ValueError('"{}" is not a valid date'.format(arg) if not arg_name else
                     'Invalid date: "{}"="{}"'.format(arg_name, arg))


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


def urljoin(url, suffix=''):
    if url[-1:] != '/':
        url = url + '/'
    if suffix.startswith('/'):
        suffix = suffix[1:]
        return url + suffix
    return url + suffix


def string_to_table_header(string):
    if isinstance(string, STRING_OBJ_TYPES):
        return ' '.join(w.capitalize() for w in string.replace('_', ' ').split())
    raise Exception('The key is not a string: {}'.format(string))


def is_demisto_version_ge(version, build_number=''):
    def parts(v):
        return [int(p) for p in re.findall(r'\d+', v)[:3]]

    server = demisto.demistoVersion().get('version', '0.0.0')
    return parts(server) >= parts(version)


def handle_proxy(proxy_param_name='proxy', checkbox_default_value=False, handle_insecure=True,
                 insecure_param_name=None):
    """With the proxy box unchecked, drop proxy variables from the environment; return the proxies dict."""
    proxies = {}
    if demisto.params().get(proxy_param_name, checkbox_default_value):
        proxies = {'http': os.environ.get('http_proxy') or os.environ.get('HTTP_PROXY', ''),
                   'https': os.environ.get('https_proxy') or os.environ.get('HTTPS_PROXY', '')}
    else:
        for name in ('HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'):
            os.environ.pop(name, None)
    if handle_insecure:
        names = [insecure_param_name] if insecure_param_name else ['insecure', 'unsecure']
        if any(demisto.params().get(n) for n in names):
            for name in ('REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'):
                os.environ.pop(name, None)
    return proxies


def skip_proxy():
    for name in ('HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy'):
        os.environ.pop(name, None)


# ---------------------------------------------------------------- integration context

def get_integration_context(sync=True, with_version=False):
    if is_demisto_version_ge('6.0.0'):
        versioned = demisto.getIntegrationContextVersioned(sync)
        if with_version:
            return versioned
        return versioned.get('context', {})
    return demisto.getIntegrationContext()


def set_integration_context(context, sync=True, version=-1):
    if is_demisto_version_ge('6.0.0'):
        return demisto.setIntegrationContextVersioned(context, version, sync)
    return demisto.setIntegrationContext(context)


# ---------------------------------------------------------------- markdown

def tableToMarkdown(name, t, headers=None, headerTransform=None, removeNull=False, metadata=None, url_keys=None,
                    date_fields=None, json_transform_mapping=None, is_auto_json_transform=False, sort_headers=True):
    """``### name`` then a markdown table of a dict or list of dicts; ``**No entries.**`` when empty.

    Header row ``|a|b|``, separator ``|---|---|``, rows ``| 1 | 2 |``; without ``headers`` the keys of the first
    row, sorted when ``sort_headers``.
    """
    result = '### ' + name + '\n' if name else ''
    if metadata:
        result += metadata + '\n'
    if not t:
        return result + '**No entries.**\n'
    if not headers and isinstance(t, dict) and len(t) == 1:
        headers = list(t.keys())
        t = list(t.values())[0]
    if not isinstance(t, list):
        t = [t]
    if headers and isinstance(headers, str):
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
    if not headers:
        return result + '**No entries.**\n'
    shown = [headerTransform(h) if headerTransform else _escape_md(str(h)) for h in headers]
    lines = [result + '|' + '|'.join(shown) + '|', '|' + '|'.join(['---'] * len(headers)) + '|']
    for row in t:
        cells = [_escape_md(_cell(row.get(h))) if row.get(h) is not None else '' for h in headers]
        lines.append('| ' + ' | '.join(cells) + ' |')
    result = '\n'.join(lines) + '\n'
    return result


def _escape_md(text):
    return text.replace('|', '\\|').replace('\r\n', '<br>').replace('\n', '<br>')


def _cell(value):
    if isinstance(value, list) and not any(isinstance(v, (dict, list)) for v in value):
        return ',\n'.join(str(v) for v in value)
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


# ---------------------------------------------------------------- results

class ScheduledCommand(object):
    """Ask the server to run ``command`` again with ``args`` after ``next_run_in_seconds`` (minimum 10)."""

    def __init__(self, command, next_run_in_seconds, args=None, timeout_in_seconds=None, items_remaining=0):
        self._command = command
        if next_run_in_seconds < 10:
            demisto.info('ScheduledCommand next_run_in_seconds {} is too low - minimum interval is 10 seconds.'
                         .format(next_run_in_seconds))
            next_run_in_seconds = 10
        self._next_run = str(next_run_in_seconds)
        self._args = args
        self._timeout = str(timeout_in_seconds) if timeout_in_seconds else None
        self._items_remaining = items_remaining

    @staticmethod
    def raise_error_if_not_supported():
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
                 ignore_auto_extract=False, mark_as_note=False, scheduled_command=None, relationships=None,
                 entry_type=None, content_format=None, execution_metrics=None, replace_existing=False):
        if raw_response is None:
            raw_response = outputs
        if outputs is not None and not isinstance(outputs, (dict, list)) and outputs_prefix:
            raise ValueError('outputs must be a dict or a list when outputs_prefix is given')
        self.indicators = indicators
        self.indicator = indicator
        self.outputs_prefix = outputs_prefix
        if isinstance(outputs_key_field, str):
            self._outputs_key_field = [outputs_key_field] if outputs_key_field else []
        elif outputs_key_field is None:
            self._outputs_key_field = []
        else:
            self._outputs_key_field = list(outputs_key_field)
        self.outputs = outputs
        self.raw_response = raw_response
        self.readable_output = readable_output
        self.indicators_timeline = indicators_timeline
        self.ignore_auto_extract = ignore_auto_extract
        self.mark_as_note = mark_as_note
        self.scheduled_command = scheduled_command
        self.relationships = relationships
        self.entry_type = entry_type if entry_type is not None else EntryType.NOTE
        self.content_format = content_format
        self.execution_metrics = execution_metrics
        self.replace_existing = replace_existing
        self.tags = None

    @property
    def outputs_key_field(self):
        return self._outputs_key_field

    def to_context(self):
        outputs = {}
        human_readable = self.readable_output or None
        if self.outputs is not None and self.outputs != []:
            if not self.readable_output:
                human_readable = tableToMarkdown('Results', self.outputs) \
                    if isinstance(self.outputs, (dict, list)) else self.outputs
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
        content_format = self.content_format
        if content_format is None:
            content_format = EntryFormat.TEXT if isinstance(self.raw_response, STRING_TYPES + (int,)) \
                else EntryFormat.JSON
        entry = {
            'Type': self.entry_type,
            'ContentsFormat': content_format,
            'Contents': self.raw_response,
            'HumanReadable': human_readable,
            'EntryContext': outputs,
            'IndicatorTimeline': [],
            'IgnoreAutoExtract': bool(self.ignore_auto_extract),
            'Note': bool(self.mark_as_note),
            'Relationships': [],
        }
        if self.scheduled_command:
            entry.update(self.scheduled_command.to_results())
        return entry


def fileResult(filename, data, file_type=None):
    """Write ``data`` as a war-room file: ``<investigation id>_<unique id>`` in the working directory."""
    if file_type is None:
        file_type = entryTypes['file']
    temp = demisto.uniqueFile()
    if isinstance(data, str):
        data = data.encode('utf-8')
    with open(demisto.investigation()['id'] + '_' + temp, 'wb') as f:
        f.write(data)
    if isinstance(filename, str):
        filename = filename.replace('../', '')
    return {'Contents': '', 'ContentsFormat': formats['text'], 'Type': file_type, 'File': filename,
            'FileID': temp}


def return_results(results):
    if results is None:
        demisto.results(None)
        return
    if isinstance(results, list):
        plain = []
        for result in results:
            if isinstance(result, (dict, str)):
                plain.append(result)
            else:
                return_results(result)
        if plain:
            demisto.results(plain)
        return
    if isinstance(results, CommandResults):
        demisto.results(results.to_context())
        return
    if hasattr(results, 'to_entry'):
        demisto.results(results.to_entry())
        return
    demisto.results(results)


def return_outputs(readable_output, outputs=None, raw_response=None, timeline=None, ignore_auto_extract=False):
    demisto.results({'Type': entryTypes['note'], 'HumanReadable': readable_output,
                     'ContentsFormat': formats['json'] if isinstance(raw_response, (dict, list)) else formats['text'],
                     'Contents': raw_response if raw_response is not None else outputs,
                     'EntryContext': outputs or {}, 'IgnoreAutoExtract': ignore_auto_extract})


def return_error(message, error='', outputs=None):
    """Send an error entry and stop the run (the server sees a normal exit)."""
    if error:
        demisto.debug(str(error))
    demisto.results({'Type': entryTypes['error'], 'ContentsFormat': formats['text'], 'Contents': str(message),
                     'EntryContext': outputs})
    sys.exit(0)


def return_warning(message, exit=False, warning='', outputs=None, ignore_auto_extract=False):
    demisto.results({'Type': entryTypes['warning'], 'ContentsFormat': formats['text'], 'Contents': str(message),
                     'IgnoreAutoExtract': ignore_auto_extract, 'EntryContext': outputs})
    if exit:
        sys.exit(0)


# ---------------------------------------------------------------- polling helpers

class PollResult(object):
    def __init__(self, response, continue_to_poll=False, args_for_next_run=None, partial_result=None):
        self.response = response
        self.continue_to_poll = continue_to_poll
        self.args_for_next_run = args_for_next_run
        self.partial_result = partial_result


def polling_function(name, interval=30, timeout=600, poll_message='Fetching Results:', polling_arg_name='polling',
                     requires_polling_arg=True):
    """Decorator: a command returning ``PollResult`` becomes a scheduled-polling command."""
    def dec(func):
        def inner(args, *arguments, **kwargs):
            if requires_polling_arg and not argToBoolean(args.get(polling_arg_name, False)):
                return func(args, *arguments, **kwargs).response
            poll = func(args, *arguments, **kwargs)
            if not poll.continue_to_poll:
                return poll.response
            next_args = dict(poll.args_for_next_run or args)
            next_args[polling_arg_name] = True
            interval_s = arg_to_number(args.get('interval_in_seconds', interval)) or interval
            timeout_s = arg_to_number(args.get('timeout_in_seconds', timeout)) or timeout
            scheduled = ScheduledCommand(command=name, next_run_in_seconds=interval_s, args=next_args,
                                         timeout_in_seconds=timeout_s)
            result = poll.partial_result or CommandResults(readable_output=poll_message)
            result.scheduled_command = scheduled
            return result
        return inner
    return dec


# ---------------------------------------------------------------- HTTP client

class BaseClient(object):
    """Thin wrapper over one ``requests.Session`` (see the documented ``_http_request`` contract)."""

    def __init__(self, base_url, verify=True, proxy=False, ok_codes=tuple(), headers=None, auth=None, timeout=60):
        self._base_url = base_url
        self._verify = verify
        self._ok_codes = ok_codes
        self._headers = headers
        self._auth = auth
        self._session = requests.Session()
        self.timeout = timeout
        if proxy:
            self._proxies = handle_proxy()
        else:
            self._proxies = {}
            skip_proxy()
        if not verify:
            urllib3.disable_warnings()

    def __del__(self):
        try:
            self._session.close()
        except Exception:  # noqa: broad-except - best effort on interpreter shutdown
            pass

    def _implement_retry(self, retries=0, status_list_to_retry=None, backoff_factor=5, raise_on_redirect=False,
                         raise_on_status=False):
        retry = Retry(total=retries, read=retries, connect=retries, backoff_factor=backoff_factor,
                      status=retries, status_forcelist=status_list_to_retry,
                      allowed_methods=frozenset(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
                      raise_on_status=raise_on_status, raise_on_redirect=raise_on_redirect)
        adapter = HTTPAdapter(max_retries=retry)
        self._session.mount('http://', adapter)
        self._session.mount('https://', adapter)

    def _is_status_code_valid(self, response, ok_codes=None):
        status_codes = ok_codes or self._ok_codes
        if status_codes:
            return response.status_code in status_codes
        return response.ok

    def client_error_handler(self, res):
        err_msg = 'Error in API call [{}] - {}'.format(res.status_code, res.reason)
        try:
            err_msg += '\n{}'.format(res.json())
        except ValueError:
            err_msg += '\n{}'.format(res.text)
        raise DemistoException(err_msg, res=res)

    def _http_request(self, method, url_suffix='', full_url=None, headers=None, auth=None, json_data=None,
                      params=None, data=None, files=None, timeout=None, resp_type='json', ok_codes=None,
                      return_empty_response=False, retries=0, status_list_to_retry=None, backoff_factor=5,
                      raise_on_redirect=False, raise_on_status=False, error_handler=None, empty_valid_codes=None,
                      params_parser=None, with_metrics=False, **kwargs):
        try:
            address = full_url if full_url else urljoin(self._base_url, url_suffix)
            headers = headers if headers is not None else self._headers
            auth = auth if auth else self._auth
            if retries:
                self._implement_retry(retries, status_list_to_retry, backoff_factor, raise_on_redirect,
                                      raise_on_status)
            if not timeout:
                timeout = self.timeout
            res = self._session.request(method, address, verify=self._verify, params=params, data=data,
                                        json=json_data, files=files, headers=headers, auth=auth, timeout=timeout,
                                        proxies=self._proxies or None, **kwargs)
            if not self._is_status_code_valid(res, ok_codes):
                if error_handler:
                    error_handler(res)
                else:
                    self.client_error_handler(res)
            if return_empty_response and res.status_code in (empty_valid_codes or [204]):
                return res
            return self._cast_response(res, resp_type)
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
            raise DemistoException('Verify that the server URL parameter is correct and that you have access to '
                                   'the server from your host.\nError Type: {}\n{}'.format(err_type, exception),
                                   exception)
        except requests.exceptions.RetryError as exception:
            raise DemistoException('Max Retries Error- Request attempts with {} retries failed.'.format(retries),
                                   exception)

    @staticmethod
    def _cast_response(res, resp_type):
        resp_type = (resp_type or 'json').lower()
        try:
            if resp_type == 'json':
                return res.json()
            if resp_type == 'text':
                return res.text
            if resp_type == 'content':
                return res.content
            return res
        except ValueError as exception:
            raise DemistoException('Failed to parse {} object from response: {}'.format(resp_type, res.content),
                                   exception, res)


def is_integration_command_execution():
    return True


logging.getLogger('urllib3').setLevel(logging.WARNING)


def register_module_line(module_name, start_end, line, wrapper=0):
    """Unified (built) scripts mark where each module starts and ends; the platform uses it for tracebacks."""
    return None


def __line__():
    """The caller's line number (used by unified scripts with register_module_line)."""
    import inspect
    frame = inspect.currentframe()
    return frame.f_back.f_lineno if frame and frame.f_back else 0
