"""Turn incident file paths (and each endpoint's OS, when known) into the per-OS lists Retrieve File needs."""
import demistomock as demisto  # noqa: F401
from CommonServerPython import *  # noqa: F401

import re
from typing import Any

import requests

OS_NAMES = {'windows': 'windows', 'win': 'windows', 'linux': 'linux', 'macos': 'macos', 'mac': 'macos',
            'darwin': 'macos', 'osx': 'macos'}


def normalize_os(value: Any) -> str | None:
    text = str(value or '').strip().lower()
    if not text:
        return None
    for key, name in OS_NAMES.items():
        if text == key or text.startswith(key):
            return name
    raise DemistoException(f'Unknown endpoint OS "{value}": use windows, linux or macos.')


def path_os(path: str) -> list[str]:
    """The OSes a path can belong to, from its shape."""
    if re.match(r'^[A-Za-z]:[\\/]', path) or path.startswith('\\\\'):
        return ['windows']
    if path.startswith('/'):
        return ['linux', 'macos']
    raise DemistoException(f'Cannot tell the OS of "{path}": give a full path (C:\\... or /...).')


def build_paths(file_paths: list[str], endpoint_os: list[str]) -> dict[str, list[str]]:
    """Per-OS path lists. endpoint_os may be empty (infer), one value (all paths) or one value per path."""
    if endpoint_os and len(endpoint_os) not in (1, len(file_paths)):
        raise DemistoException(f'endpoint_os must have one value, or one value per file path ({len(file_paths)} paths, '
                               f'{len(endpoint_os)} OS values).'
                               )
    result: dict[str, list[str]] = {'windows': [], 'linux': [], 'macos': []}
    for index, path in enumerate(p.strip() for p in file_paths):
        if not path:
            continue
        candidates = path_os(path)
        wanted = normalize_os(endpoint_os[index if len(endpoint_os) > 1 else 0]) if endpoint_os else None
        if wanted and wanted not in candidates:
            raise DemistoException(f'"{path}" is not a {wanted} path.')
        for os_name in ([wanted] if wanted else candidates):
            if path not in result[os_name]:
                result[os_name].append(path)
    return result


# region error path (the same shape in every integration and script)

FAILURE_KINDS: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...] = (
    (requests.exceptions.Timeout, 'the server did not answer in time. Check the network and the timeout setting.'),
    (requests.exceptions.RequestException,
     'the connection to the server failed. Check the server URL, the proxy and the network.'),
    (OSError, 'a file could not be written or read in the working directory (disk full or not writable?).'),
    (MemoryError, 'the reply was too large to process.'),
    ((LookupError, TypeError, AttributeError, ValueError),
     'an unexpected internal error occurred while processing the reply or the arguments.'),
)


def describe_failure(error: BaseException) -> str:
    """What went wrong, in words: our own messages as they are, anything else by kind, never a type name."""
    if isinstance(error, DemistoException):
        return str(error.message if isinstance(error.message, str) else error)
    return next((words for kinds, words in FAILURE_KINDS if isinstance(error, kinds)),
                'an unexpected internal error occurred.')

# endregion


def main() -> None:
    """Run the script; any failure is reported after the except block, in words."""
    failure = ''
    try:
        args = demisto.args()
        result = build_paths(argToList(args.get('file_paths')), argToList(args.get('endpoint_os')))
        for os_name, arg in (('windows', 'windows_file_paths'), ('linux', 'linux_file_paths'),
                             ('macos', 'mac_file_paths')):
            for path in argToList(args.get(arg)):
                if path and path not in result[os_name]:
                    result[os_name].append(path)
        if not any(result.values()):
            raise DemistoException('No file paths were given.')
        rows = [{'OS': os_name, 'Paths': ', '.join(paths)} for os_name, paths in result.items() if paths]
        return_results(CommandResults(outputs_prefix='XDRRetrievePaths', outputs=result,
                                      readable_output=tableToMarkdown('Paths to retrieve', rows, headers=['OS', 'Paths'])))
    except Exception as error:  # every failure becomes one plain error entry
        failure = describe_failure(error)
    if failure:
        return_error('{} failed: {}'.format('XDRBuildRetrievePaths', failure))


if __name__ in ('__main__', '__builtin__', 'builtins'):
    main()
