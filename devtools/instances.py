"""Instance parameters for the pack's integrations: the embedded emulator by default, a real tenant on request.

Real tenants come from environment variables (never from files in the repository):
  XDR_URL, XDR_API_KEY_ID, XDR_API_KEY, XDR_AUTH_TYPE (Standard|Advanced), XDR_INSECURE
  CYLANCE_URL, CYLANCE_APP_ID, CYLANCE_APP_SECRET, CYLANCE_TENANT_ID, CYLANCE_INSECURE
or from a JSON params file: {"CortexXDRResponse": {...params...}, "CylanceOpticsPackages": {...}}.
"""
import json
import os
from typing import Any

from devtools.emulator import credentials
from devtools.paths import ROOT

XDR = 'CortexXDRResponse'
CYLANCE = 'CylanceOpticsPackages'


def emulator_params(emulator: Any, auth_type: str = 'Standard',
                    xdr_settings: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Instance params of each integration for an emulator (an object with .url, or its URL) and its test
    credentials; xdr_settings: more Cortex XDR instance settings (e.g. {'max_concurrency': '8'})."""
    url = emulator if isinstance(emulator, str) else emulator.url
    key = credentials.XDR_ADVANCED if auth_type.lower() == 'advanced' else credentials.XDR_STANDARD
    app = credentials.CYLANCE_APP
    params = {
        XDR: {'url': url, 'credentials': {'identifier': key['key_id'], 'password': key['key']},
              'auth_type': 'Advanced' if auth_type.lower() == 'advanced' else 'Standard', 'timeout': '30',
              **(xdr_settings or {})},
        CYLANCE: {'url': url, 'credentials': {'identifier': app['app_id'], 'password': app['app_secret']},
                  'tenant_id': app['tenant_id']},
    }
    # only the integrations the pack has (a partial checkout or a pack built without one)
    return {name: value for name, value in params.items() if os.path.isdir(os.path.join(ROOT, 'Integrations', name))}


def tenant_params_from_env(env: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    env = dict(os.environ if env is None else env)
    found: dict[str, dict[str, Any]] = {}
    if env.get('XDR_URL'):
        found[XDR] = {'url': env['XDR_URL'],
                      'credentials': {'identifier': env.get('XDR_API_KEY_ID', ''), 'password': env.get('XDR_API_KEY', '')},
                      'auth_type': env.get('XDR_AUTH_TYPE', 'Standard'),
                      'insecure': env.get('XDR_INSECURE', 'false').lower() == 'true'}
    if env.get('CYLANCE_URL'):
        found[CYLANCE] = {'url': env['CYLANCE_URL'],
                          'credentials': {'identifier': env.get('CYLANCE_APP_ID', ''),
                                          'password': env.get('CYLANCE_APP_SECRET', '')},
                          'tenant_id': env.get('CYLANCE_TENANT_ID', ''),
                          'insecure': env.get('CYLANCE_INSECURE', 'false').lower() == 'true'}
    return found


def integration_names(root: str = ROOT) -> list[str]:
    """The pack's integration folder names (the keys a params file may use)."""
    base = os.path.join(root, 'Integrations')
    return sorted(name for name in (os.listdir(base) if os.path.isdir(base) else [])
                  if os.path.isfile(os.path.join(base, name, name + '.yml')))


def params_from_file(path: str) -> dict[str, dict[str, Any]]:
    """{"<Integration>": {...params...}} from a JSON file; OSError when unreadable, ValueError (one line naming the
    valid integrations where that helps) when it is not JSON of that shape or names an integration the pack lacks."""
    with open(path) as f:
        try:
            data = json.load(f)
        except ValueError as error:
            raise ValueError(f'not valid JSON ({error})') from None
    valid = integration_names()
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ValueError('must hold {{"<Integration>": {{...params...}}}} with <Integration> one of: {}'.format(
            ', '.join(valid)))
    unknown = sorted(set(data) - set(valid))
    if unknown:
        raise ValueError('unknown integration {}; the pack has: {}'.format(
            ', '.join(f'"{name}"' for name in unknown), ', '.join(valid)))
    return data
