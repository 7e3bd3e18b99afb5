"""Turn incident file paths (and each endpoint's OS, when known) into the per-OS lists Retrieve File needs."""
import demistomock as demisto  # noqa: F401
from CommonServerPython import *  # noqa: F401

import re
from typing import Any, Dict, List, Optional

OS_NAMES = {'windows': 'windows', 'win': 'windows', 'linux': 'linux', 'macos': 'macos', 'mac': 'macos',
            'darwin': 'macos', 'osx': 'macos'}


def normalize_os(value: Any) -> Optional[str]:
    text = str(value or '').strip().lower()
    if not text:
        return None
    for key, name in OS_NAMES.items():
        if text == key or text.startswith(key):
            return name
    raise DemistoException('Unknown endpoint OS "{}": use windows, linux or macos.'.format(value))


def path_os(path: str) -> List[str]:
    """The OSes a path can belong to, from its shape."""
    if re.match(r'^[A-Za-z]:[\\/]', path) or path.startswith('\\\\'):
        return ['windows']
    if path.startswith('/'):
        return ['linux', 'macos']
    raise DemistoException('Cannot tell the OS of "{}": give a full path (C:\\... or /...).'.format(path))


def build_paths(file_paths: List[str], endpoint_os: List[str]) -> Dict[str, List[str]]:
    """Per-OS path lists. endpoint_os may be empty (infer), one value (all paths) or one value per path."""
    if endpoint_os and len(endpoint_os) not in (1, len(file_paths)):
        raise DemistoException('endpoint_os must have one value, or one value per file path ({} paths, {} OS values).'
                               .format(len(file_paths), len(endpoint_os)))
    result: Dict[str, List[str]] = {'windows': [], 'linux': [], 'macos': []}
    for index, path in enumerate(p.strip() for p in file_paths):
        if not path:
            continue
        candidates = path_os(path)
        wanted = normalize_os(endpoint_os[index if len(endpoint_os) > 1 else 0]) if endpoint_os else None
        if wanted and wanted not in candidates:
            raise DemistoException('"{}" is not a {} path.'.format(path, wanted))
        for os_name in ([wanted] if wanted else candidates):
            if path not in result[os_name]:
                result[os_name].append(path)
    return result


def main():
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
    except Exception as error:
        return_error('XDRBuildRetrievePaths failed: {}'.format(error))


if __name__ in ('__main__', '__builtin__', 'builtins'):
    main()
