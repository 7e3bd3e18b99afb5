"""Run a pack playbook offline, the way the XSOAR server would, against the session's integrations.

Supported: start, title, regular (integration commands `brand|||command`, pack scripts, the built-ins in
BUILTINS), condition (built-in `conditions` and condition scripts), playbook (sub-playbooks with inputs,
`separatecontext` and declared outputs) tasks; `simple` arguments with `${...}` references and `complex`
arguments (root, accessor, filters, transformers in FILTERS / TRANSFORMERS); playbook inputs (simple or
complex defaults); `continueonerror`; command polling (followed by Session.execute). Anything else raises
PlaybookError naming the task and the construct: nothing is skipped silently.
"""
import json
import os
import re
from typing import Any, Callable, Dict, List, Optional

import yaml

from devtools.paths import ROOT
from devtools.runner import Session, errors_of, get_context_path, merge_context

REF = re.compile(r'\$\{([^}]+)\}')
PLAYBOOK_FOLDERS = ('Playbooks', 'TestPlaybooks')


class PlaybookError(Exception):
    pass


class PlaybookRun(object):
    def __init__(self, name: str):
        self.name = name
        self.task_path: List[str] = []
        self.errors: List[str] = []
        self.context: Dict[str, Any] = {}


def find_playbook(name_or_path: str, root: str = ROOT) -> Dict[str, Any]:
    if os.path.isfile(name_or_path):
        with open(name_or_path) as f:
            return yaml.safe_load(f)
    for folder in PLAYBOOK_FOLDERS:
        base = os.path.join(root, folder)
        for file_name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
            if file_name.endswith('.yml'):
                with open(os.path.join(base, file_name)) as f:
                    data = yaml.safe_load(f)
                if name_or_path in (data.get('name'), data.get('id')):
                    return data
    raise PlaybookError('No playbook named "{}" in the pack'.format(name_or_path))


def as_list(value: Any) -> List[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def is_empty(value: Any) -> bool:
    return value is None or value == '' or value == [] or value == {}


# ---------------------------------------------------------------- values

class Resolver(object):
    def __init__(self, session: Session, inputs: Dict[str, Any]):
        self.session = session
        self.inputs = inputs

    def path(self, path: str) -> Any:
        path = path.strip()
        if path == 'inputs' or path.startswith('inputs.'):
            value: Any = self.inputs
            for part in path.split('.')[1:]:
                value = value.get(part) if isinstance(value, dict) else None
            return value
        if path.startswith('incident.'):
            incident = self.session.incident
            key = path[len('incident.'):]
            return incident.get(key, (incident.get('CustomFields') or {}).get(key))
        return get_context_path(self.session.context, path)

    def simple(self, text: Any) -> Any:
        if not isinstance(text, str):
            return text
        whole = REF.fullmatch(text.strip())
        if whole:
            return self.path(whole.group(1))
        return REF.sub(lambda m: _text(self.path(m.group(1))), text)

    def complex(self, spec: Dict[str, Any], where: str) -> Any:
        unknown = set(spec) - {'root', 'accessor', 'filters', 'transformers'}
        if unknown:
            raise PlaybookError('{}: complex value keys {} are not supported'.format(where, sorted(unknown)))
        root = spec.get('root', '')
        value = self.path(root)
        if spec.get('filters'):
            # as the server does: the filters select items of the root, the accessor then reads each selected item
            for group in spec['filters']:
                value = [item for item in as_list(value) if any(self.filter(c, item, where, root) for c in group)]
        if spec.get('accessor'):
            value = get_context_path({'root': value}, 'root.' + spec['accessor']) if spec.get('filters') \
                else self.path(root + '.' + spec['accessor'])
        for transformer in spec.get('transformers') or []:
            value = self.transform(transformer, value, where)
        return value

    def argument(self, spec: Any, where: str) -> Any:
        if isinstance(spec, dict) and 'simple' in spec:
            return self.simple(spec['simple'])
        if isinstance(spec, dict) and 'complex' in spec:
            return self.complex(spec['complex'], where)
        if spec is None or spec == {}:
            return None
        raise PlaybookError('{}: argument form {} is not supported'.format(where, json.dumps(spec)[:80]))

    def operand(self, side: Optional[Dict[str, Any]], item: Any = None) -> Any:
        if not side:
            return None
        value = side.get('value') or {}
        simple = value.get('simple') if isinstance(value, dict) else value
        if isinstance(value, dict) and 'complex' in value:
            return self.complex(value['complex'], 'operand')
        if side.get('iscontext'):
            if item is not None and isinstance(item, dict) and isinstance(simple, str) and simple in item:
                return item[simple]
            return self.path(simple)
        return self.simple(simple)

    def compare(self, condition: Dict[str, Any], where: str, item: Any = None) -> bool:
        operator = condition.get('operator')
        if operator not in OPERATORS:
            raise PlaybookError('{}: condition operator "{}" is not supported'.format(where, operator))
        left = item if (item is not None and not condition.get('left')) else self.operand(condition.get('left'), item)
        right = self.operand(condition.get('right'), item)
        return OPERATORS[operator](left, right)

    def filter(self, condition: Dict[str, Any], item: Any, where: str, root: str = '') -> bool:
        """Whether one item of a complex value's root passes the condition; the left side names a field of the item,
        either plainly (`SHA256`) or by its full path (`File.SHA256`), or the item itself (the root's path)."""
        if condition.get('left') and not condition['left'].get('iscontext'):
            return self.compare(condition, where)
        left_spec = condition.get('left') or {}
        field = (left_spec.get('value') or {}).get('simple') if left_spec else None
        if field and root and field == root:
            field = None
        elif field and root and field.startswith(root + '.'):
            field = field[len(root) + 1:]
        subject = get_context_path(item, field) if isinstance(item, dict) and field else item
        operator = condition.get('operator')
        if operator not in OPERATORS:
            raise PlaybookError('{}: filter operator "{}" is not supported'.format(where, operator))
        return OPERATORS[operator](subject, self.operand(condition.get('right')))

    def transform(self, transformer: Dict[str, Any], value: Any, where: str) -> Any:
        operator = transformer.get('operator')
        if operator not in TRANSFORMERS:
            raise PlaybookError('{}: transformer "{}" is not supported'.format(where, operator))
        args = {name: self.argument(spec.get('value') if isinstance(spec, dict) and 'value' in spec else spec,
                                    where) for name, spec in (transformer.get('args') or {}).items()}
        return TRANSFORMERS[operator](value, args)


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ','.join(_text(v) for v in value)
    return '' if value is None else str(value)


def _equal_string(left: Any, right: Any) -> bool:
    """True when a left value equals a right value (either side may be a list: any pair matching counts)."""
    rights = {_text(r).lower() for r in (as_list(right) or [None])}
    return any(_text(l).lower() in rights for l in (as_list(left) or [None]))


OPERATORS: Dict[str, Callable[[Any, Any], bool]] = {
    'isExists': lambda left, right: not is_empty(left),
    'isNotEmpty': lambda left, right: not is_empty(left),
    'isEmpty': lambda left, right: is_empty(left),
    'isNotExists': lambda left, right: is_empty(left),
    'isEqualString': _equal_string,
    'isNotEqualString': lambda left, right: not _equal_string(left, right),
    'isTrue': lambda left, right: _text(left).lower() == 'true',
    'isFalse': lambda left, right: _text(left).lower() in ('false', ''),
    'isEqualNumber': lambda left, right: float(_text(left) or 'nan') == float(_text(right) or 'nan'),
    'greaterThan': lambda left, right: float(_text(left) or 0) > float(_text(right) or 0),
    'containsString': lambda left, right: any(_text(right).lower() in _text(l).lower() for l in as_list(left)),
}

TRANSFORMERS: Dict[str, Callable[[Any, Dict[str, Any]], Any]] = {
    'uniq': lambda value, args: list(dict.fromkeys(v for v in as_list(value) if not is_empty(v))),
    'join': lambda value, args: (args.get('separator') or ',').join(_text(v) for v in as_list(value)),
    'split': lambda value, args: [p.strip() for p in _text(value).split(args.get('delimiter') or ',') if p.strip()],
    'toLowerCase': lambda value, args: [_text(v).lower() for v in value] if isinstance(value, list)
    else _text(value).lower(),
    'toUpperCase': lambda value, args: [_text(v).upper() for v in value] if isinstance(value, list)
    else _text(value).upper(),
    'count': lambda value, args: len(as_list(value)),
    'FirstArrayElement': lambda value, args: as_list(value)[0] if as_list(value) else None,
    'concat': lambda value, args: _text(args.get('prefix')) + _text(value) + _text(args.get('suffix')),
}


# ---------------------------------------------------------------- built-in scripts

def builtin_is_integration_available(session: Session, args: Dict[str, Any]) -> str:
    return 'yes' if args.get('brandname') in session.instances else 'no'


def builtin_delete_context(session: Session, args: Dict[str, Any]) -> None:
    if _text(args.get('all')).lower() == 'yes':
        session.context.clear()
    elif args.get('key'):
        session.context.pop(_text(args['key']).split('.')[0], None)


def builtin_set(session: Session, args: Dict[str, Any]) -> None:
    value = args.get('value')
    if isinstance(value, str) and value.strip()[:1] in ('{', '[') and _text(args.get('stringify')).lower() != 'true':
        try:
            value = json.loads(value)  # Set stores a JSON value as an object unless stringify=true
        except ValueError:
            pass
    if _text(args.get('append')).lower() == 'true':
        value = as_list(get_context_path(session.context, args['key'])) + as_list(value)
    merge_context(session.context, {'{}(true)'.format(args['key']) if '.' in args['key'] else args['key']: value})


BUILTINS: Dict[str, Callable[[Session, Dict[str, Any]], Any]] = {
    'IsIntegrationAvailable': builtin_is_integration_available,
    'DeleteContext': builtin_delete_context,
    'Set': builtin_set,
    'Print': lambda session, args: session._store_entries([{'Type': 1, 'ContentsFormat': 'text',
                                                            'Contents': _text(args.get('value'))}], 'Print'),
    'PrintErrorEntry': lambda session, args: session._store_entries([{'Type': 4, 'ContentsFormat': 'text',
                                                                      'Contents': _text(args.get('message'))}],
                                                                    'PrintErrorEntry'),
}
ENTRY_BUILTINS = ('Print', 'PrintErrorEntry')  # these answer with war-room entries, the others with a value


def call_builtin(session: Session, name: str, args: Dict[str, Any]):
    result = BUILTINS[name](session, args)
    return (None, result) if name in ENTRY_BUILTINS else (result, [])


# ---------------------------------------------------------------- execution

def resolve_inputs(playbook: Dict[str, Any], given: Dict[str, Any], resolver: Resolver) -> Dict[str, Any]:
    inputs: Dict[str, Any] = {}
    for item in playbook.get('inputs') or []:
        key = item.get('key')
        if not key:
            continue
        if key in given and not is_empty(given[key]):
            inputs[key] = given[key]
        else:
            inputs[key] = resolver.argument(item.get('value') or {}, 'input {}'.format(key))
    unknown = set(given) - set(inputs)
    if unknown:
        raise PlaybookError('{}: unknown input(s) {}'.format(playbook.get('name'), sorted(unknown)))
    return inputs


def run_playbook(session: Session, playbook_or_name: Any, inputs: Optional[Dict[str, Any]] = None,
                 run: Optional[PlaybookRun] = None, depth: int = 0) -> PlaybookRun:
    playbook = playbook_or_name if isinstance(playbook_or_name, dict) else find_playbook(playbook_or_name)
    if depth > 5:
        raise PlaybookError('sub-playbooks nested more than 5 deep')
    run = run or PlaybookRun(playbook.get('name'))
    resolver = Resolver(session, {})
    resolver.inputs = resolve_inputs(playbook, dict(inputs or {}), resolver)
    tasks = playbook.get('tasks') or {}
    queue = [str(playbook.get('starttaskid', '0'))]
    done = set()
    while queue:
        task_id = queue.pop(0)
        if task_id in done:
            continue
        done.add(task_id)
        if task_id not in tasks:
            raise PlaybookError('{}: task {} does not exist'.format(playbook.get('name'), task_id))
        task = tasks[task_id]
        name = (task.get('task') or {}).get('name') or ('Start' if task.get('type') == 'start' else task_id)
        run.task_path.append(('  ' * depth) + name)
        label = execute_task(session, playbook, task, resolver, run, depth)
        nexttasks = task.get('nexttasks') or {}
        following = nexttasks.get(label) if label else nexttasks.get('#none#')
        if label and following is None:
            following = nexttasks.get('#default#')
        queue.extend(str(t) for t in following or [])
    run.context = session.context
    return run


def execute_task(session: Session, playbook: Dict[str, Any], task: Dict[str, Any], resolver: Resolver,
                 run: PlaybookRun, depth: int) -> Optional[str]:
    kind = task.get('type')
    inner = task.get('task') or {}
    where = '{} / task {} "{}"'.format(playbook.get('name'), task.get('id'), inner.get('name'))
    if kind in ('start', 'title'):
        return None
    args = {name: resolver.argument(spec, where) for name, spec in (task.get('scriptarguments') or {}).items()}
    args = {name: value for name, value in args.items() if not is_empty(value)}
    if kind == 'playbook':
        return run_sub_playbook(session, inner, task, args, run, depth, where)
    if kind == 'condition' and not inner.get('script') and not inner.get('scriptName'):
        for option in task.get('conditions') or []:
            groups = option.get('condition') or []
            if all(any(resolver.compare(c, where) for c in group) for group in groups):
                return option.get('label')
        return '#default#'
    if kind not in ('regular', 'condition'):
        raise PlaybookError('{}: task type "{}" is not supported'.format(where, kind))
    result, entries = call(session, inner, args, where)
    errors = errors_of(entries)
    if errors and not task.get('continueonerror'):
        raise PlaybookError('{} failed: {}'.format(where, errors[0]))
    run.errors.extend(errors)
    if kind == 'condition':
        if result is None and entries:
            result = entries[-1].get('Contents')
        return _text(result) or '#default#'
    return None


def call(session: Session, inner: Dict[str, Any], args: Dict[str, Any], where: str):
    """(builtin result, entries) of the task's command or script."""
    command = inner.get('script')
    if command:
        brand, _, name = command.rpartition('|||')
        using = None
        if brand:
            using = session.index.brand_for_folder(brand)
        if session.index.brand_of(name) is None and name not in session.index.scripts and name not in BUILTINS:
            raise PlaybookError('{}: command {} does not exist in the pack'.format(where, name))
        if name in BUILTINS:
            return call_builtin(session, name, args)
        if name in session.index.scripts:
            return None, session.run_script(name, args)
        brand = using or session.index.brand_of(name)
        if brand not in session.instances:
            return None, session._store_entries([{'Type': 4, 'ContentsFormat': 'text', 'Contents':
                                                  'No enabled instance of {} for {}'.format(brand, name)}], 'server')
        return None, session.execute(name, args, using=using)
    script = inner.get('scriptName')
    if script in BUILTINS:
        return call_builtin(session, script, args)
    if script in session.index.scripts:
        return None, session.run_script(script, args)
    raise PlaybookError('{}: script "{}" is neither a pack script nor a supported built-in'.format(where, script))


def run_sub_playbook(session: Session, inner: Dict[str, Any], task: Dict[str, Any], args: Dict[str, Any],
                     run: PlaybookRun, depth: int, where: str) -> None:
    child = find_playbook(inner.get('playbookName') or inner.get('playbookId'))
    if not task.get('separatecontext'):
        run_playbook(session, child, args, run, depth + 1)
        return None
    parent_context = session.context
    session.context = {}
    try:
        run_playbook(session, child, args, run, depth + 1)
        child_context = session.context
    finally:
        session.context = parent_context
    roots = {o.get('contextPath', '').split('.')[0] for o in child.get('outputs') or []}
    for root in sorted(r for r in roots if r and r in child_context):
        session.context[root] = child_context[root]  # declared outputs are copied back to the parent
    return None
