"""Where things live: the pack root, its code folders and the XSOAR runtime to import."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OWN_RUNTIME = os.path.join(ROOT, 'devtools', 'xsoar_runtime')
PACK_CODE_FOLDERS = ('Integrations', 'Scripts')
API_MODULES_FOLDER = 'ApiModules'  # shared sources, inlined into the integrations by devtools/sync.py, never shipped


def runtime_dir():
    """The folder with demistomock.py and CommonServerPython.py: XSOAR_RUNTIME_DIR, else our stand-ins."""
    chosen = os.environ.get('XSOAR_RUNTIME_DIR')
    if not chosen:
        return OWN_RUNTIME
    chosen = os.path.abspath(chosen)
    for name in ('CommonServerPython.py', 'demistomock.py'):
        if not os.path.isfile(os.path.join(chosen, name)):
            raise SystemExit(f'XSOAR_RUNTIME_DIR={chosen} has no {name}')
    return chosen


def code_dirs() -> list[str]:
    """Every integration and script folder of the pack (each holds <Name>.py), and every ApiModule folder."""
    found: list[str] = []
    for folder in PACK_CODE_FOLDERS + (API_MODULES_FOLDER,):
        base = os.path.join(ROOT, folder)
        if os.path.isdir(base):
            found.extend(os.path.join(base, name) for name in sorted(os.listdir(base))
                         if os.path.isfile(os.path.join(base, name, name + '.py')))
    return found


def using_real_runtime():
    return runtime_dir() != OWN_RUNTIME
