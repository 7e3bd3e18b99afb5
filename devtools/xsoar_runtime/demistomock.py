"""Local stand-in for the XSOAR ``demistomock`` module.

Written from the public documented contract of the platform's ``demisto`` object. Inside XSOAR the
platform provides the real module; outside it this one lets integrations and scripts run. It keeps
its state in module globals so that a runner (or a test) can set params/args/command and collect the
entries an integration sends, the same way the public content repo's tests patch the real mock.
"""
import json
import logging
import uuid

_LOG = logging.getLogger('demisto')

_params = {}
_args = {}
_command = ''
_entries = []
_context = {}
_integration_context = {}
_integration_context_version = 0
_last_run = {}
_investigation = {'id': '1'}
_incident = {'id': '1', 'name': 'Local incident', 'CustomFields': {}, 'labels': []}
_instance = {'brand': '', 'name': 'local', 'engine': ''}
_version = {'version': '8.9.0', 'buildNumber': '0', 'platform': 'xsoar'}
_files = {}
_execute_command_handler = None

callingContext = {'context': {'IntegrationBrand': '', 'IntegrationInstance': 'local'}}
is_debug = False


def params():
    """Instance configuration of the integration."""
    return _params


def args():
    """Arguments of the command or script being run."""
    return _args


def command():
    """Name of the command being run."""
    return _command


def getParam(param):
    return params().get(param)


def getArg(arg):
    return args().get(arg)


def log(msg):
    _LOG.info(msg)


def debug(msg, *args):
    _LOG.debug(msg, *args)


def info(msg, *args):
    _LOG.info(msg, *args)


def error(msg, *args):
    _LOG.error(msg, *args)


def results(results):
    """Send one entry or a list of entries to the war room."""
    if isinstance(results, list):
        _entries.extend(results)
    else:
        _entries.append(results)


def investigation():
    return _investigation


def incident():
    return _incident


def incidents(incidents=None):
    return [_incident]


def context():
    return _context


def setContext(contextPath, value):
    _context[contextPath] = value
    return {}


def uniqueFile():
    return str(uuid.uuid4())


def getFilePath(id):
    """Path and name of a war-room file, by entry id."""
    if id not in _files:
        raise ValueError('Entry {} is not a file entry'.format(id))
    return dict(_files[id], id=id)


def getIntegrationContext():
    return _integration_context


def setIntegrationContext(context):
    global _integration_context
    _integration_context = context


def getIntegrationContextVersioned(refresh=False):
    return {'context': _integration_context, 'version': _integration_context_version}


def setIntegrationContextVersioned(context, version=-1, sync=False):
    global _integration_context, _integration_context_version
    _integration_context = context
    _integration_context_version += 1


def getLastRun():
    return _last_run


def setLastRun(obj):
    global _last_run
    _last_run = obj


def executeCommand(command, args):
    """Run a command or script; the local runner installs the handler that does it."""
    if _execute_command_handler is None:
        return [{'Type': 4, 'ContentsFormat': 'text', 'Contents': 'Unsupported Command : {}'.format(command)}]
    return _execute_command_handler(command, args)


def demistoVersion():
    return _version


def integrationInstance():
    return _instance.get('name')


def demistoUrls():
    return {'server': 'https://localhost'}


def getAllSupportedCommands():
    return {}


def getModules():
    return {}


def dt(obj=None, trnsfrm=None):
    return None


def get(obj, field):
    parts = field.split('.')
    for part in parts:
        if obj and isinstance(obj, dict) and part in obj:
            obj = obj[part]
        else:
            return None
    return obj


def gets(obj, field):
    return str(get(obj, field))


def addEntry(id, entry, username=None, email=None, footer=None):
    _entries.append({'Type': 1, 'ContentsFormat': 'text', 'Contents': entry})


def updateModuleHealth(error):
    _LOG.info('module health: %s', error)


def credentials(credentials):
    _LOG.info('credentials updated (%d)', len(credentials or []))


def mapObject(obj, mapper, mapper_type):
    return obj


def dumps(obj):
    return json.dumps(obj)
