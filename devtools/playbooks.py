"""Run a pack playbook offline, the way the XSOAR server would, against the session's integrations.

Supported: start, title, regular (integration commands `brand|||command`, pack scripts, the built-ins in
BUILTINS), condition (built-in `conditions`, condition scripts, and manual conditions: no `conditions` and no
script, the analyst picks a branch - answered from PlaybookRun.answers or its `ask` callback, never guessed),
playbook (sub-playbooks with inputs, `separatecontext` and declared outputs) tasks; `simple` arguments with
`${...}` references and `complex` arguments (root, accessor, filters, transformers in FILTERS / TRANSFORMERS);
playbook inputs (simple or complex defaults); `continueonerror`; command polling (followed by Session.execute).
Anything else raises PlaybookError naming the task and the construct: nothing is skipped silently.
"""
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from devtools.paths import ROOT
from devtools.runner import Session, errors_of, get_context_path, merge_context

REF = re.compile(r'\$\{([^}]+)\}')
PLAYBOOK_FOLDERS = ('Playbooks', 'TestPlaybooks')
MAX_SUB_PLAYBOOK_DEPTH = 5


class PlaybookError(Exception):
    pass


@dataclass
class Question:
    """What a manual condition task asks the analyst: the task, the question as shown, the branches to pick."""
    task: str
    text: str
    options: list[str]
    where: str
    answer: str | None = None


class ManualTaskError(PlaybookError):
    """A manual task has no answer to take (a non-interactive run), or the answer is not one of its branches."""

    def __init__(self, message: str, question: Question):
        super().__init__(message)
        self.question = question


class PlaybookRun:
    """One run: the task path, the error entries tasks continued past, the War Room entries each task wrote
    (task name, entry), and the manual tasks' questions with the answers given (from `answers` in order, then
    from `ask`, which returns None when it has no answer)."""

    def __init__(self, name: str, answers: list[str] | None = None,
                 ask: Callable[[Question], str | None] | None = None):
        self.name = name
        self.task_path: list[str] = []
        self.errors: list[str] = []
        self.context: dict[str, Any] = {}
        self.entries: list[tuple[str, dict[str, Any]]] = []
        self.answers: list[str] = list(answers or [])
        self.ask = ask
        self.questions: list[Question] = []


def playbook_files(root: str = ROOT) -> list[tuple[str, dict[str, Any]]]:
    """(folder, parsed YAML) of every playbook and test playbook of the pack."""
    found = []
    for folder in PLAYBOOK_FOLDERS:
        base = os.path.join(root, folder)
        for file_name in sorted(os.listdir(base)) if os.path.isdir(base) else []:
            if file_name.endswith('.yml'):
                with open(os.path.join(base, file_name)) as f:
                    found.append((folder, yaml.safe_load(f) or {}))
    return found


def find_playbook(name_or_path: str, root: str = ROOT) -> dict[str, Any]:
    if os.path.isfile(name_or_path):
        with open(name_or_path) as f:
            return yaml.safe_load(f)
    books = playbook_files(root)
    for _, data in books:
        if name_or_path in (data.get('name'), data.get('id')):
            return data
    listed = '; '.join('{}: {}'.format(title, ', '.join('"{}"'.format(d.get('name')) for f, d in books if f == folder))
                       for folder, title in (('Playbooks', 'playbooks'), ('TestPlaybooks', 'test playbooks'))
                       if any(f == folder for f, _ in books))
    raise PlaybookError(f'No playbook named "{name_or_path}" in the pack (give a name or a YAML path); {listed}')


def input_names(playbook: dict[str, Any]) -> list[str]:
    return [item['key'] for item in playbook.get('inputs') or [] if item.get('key')]


def check_inputs(playbook: dict[str, Any], given: dict[str, Any]) -> None:
    """PlaybookError naming the unknown inputs and listing the playbook's inputs."""
    unknown = sorted(set(given) - set(input_names(playbook)))
    if unknown:
        raise PlaybookError('{}: unknown input(s) {}; its inputs: {}'.format(
            playbook.get('name'), ', '.join(unknown), ', '.join(input_names(playbook)) or '(none)'))


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def is_empty(value: Any) -> bool:
    return value is None or value in ('', [], {})


# ---------------------------------------------------------------- values

class Resolver:
    def __init__(self, session: Session, inputs: dict[str, Any]):
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

    def complex(self, spec: dict[str, Any], where: str) -> Any:
        unknown = set(spec) - {'root', 'accessor', 'filters', 'transformers'}
        if unknown:
            raise PlaybookError(f'{where}: complex value keys {sorted(unknown)} are not supported')
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
        raise PlaybookError(f'{where}: argument form {json.dumps(spec)[:80]} is not supported')

    def operand(self, side: dict[str, Any] | None, item: Any = None) -> Any:
        if not side:
            return None
        value = side.get('value') or {}
        simple: Any = value.get('simple') if isinstance(value, dict) else value
        if isinstance(value, dict) and 'complex' in value:
            return self.complex(value['complex'], 'operand')
        if side.get('iscontext'):
            if item is not None and isinstance(item, dict) and isinstance(simple, str) and simple in item:
                return item[simple]
            return self.path(simple)
        return self.simple(simple)

    def compare(self, condition: dict[str, Any], where: str, item: Any = None) -> bool:
        operator = condition.get('operator')
        if operator not in OPERATORS:
            raise PlaybookError(f'{where}: condition operator "{operator}" is not supported')
        left = item if (item is not None and not condition.get('left')) else self.operand(condition.get('left'), item)
        right = self.operand(condition.get('right'), item)
        return OPERATORS[operator](left, right)

    def filter(self, condition: dict[str, Any], item: Any, where: str, root: str = '') -> bool:
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
            raise PlaybookError(f'{where}: filter operator "{operator}" is not supported')
        return OPERATORS[operator](subject, self.operand(condition.get('right')))

    def transform(self, transformer: dict[str, Any], value: Any, where: str) -> Any:
        operator = transformer.get('operator')
        if operator not in TRANSFORMERS:
            raise PlaybookError(f'{where}: transformer "{operator}" is not supported')
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
    return any(_text(item).lower() in rights for item in (as_list(left) or [None]))


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
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
    'containsString': lambda left, right: any(_text(right).lower() in _text(item).lower() for item in as_list(left)),
}

TRANSFORMERS: dict[str, Callable[[Any, dict[str, Any]], Any]] = {
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

def builtin_is_integration_available(session: Session, args: dict[str, Any]) -> str:
    return 'yes' if args.get('brandname') in session.instances else 'no'


def builtin_delete_context(session: Session, args: dict[str, Any]) -> None:
    if _text(args.get('all')).lower() == 'yes':
        session.context.clear()
    elif args.get('key'):
        session.context.pop(_text(args['key']).split('.')[0], None)


def builtin_set(session: Session, args: dict[str, Any]) -> None:
    value = args.get('value')
    if isinstance(value, str) and value.strip()[:1] in ('{', '[') and _text(args.get('stringify')).lower() != 'true':
        try:
            value = json.loads(value)  # Set stores a JSON value as an object unless stringify=true
        except ValueError:
            pass
    if _text(args.get('append')).lower() == 'true':
        value = as_list(get_context_path(session.context, args['key'])) + as_list(value)
    merge_context(session.context, {'{}(true)'.format(args['key']) if '.' in args['key'] else args['key']: value})


BUILTINS: dict[str, Callable[[Session, dict[str, Any]], Any]] = {
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


def call_builtin(session: Session, name: str, args: dict[str, Any]):
    result = BUILTINS[name](session, args)
    return (None, result) if name in ENTRY_BUILTINS else (result, [])


# ---------------------------------------------------------------- execution

def resolve_inputs(playbook: dict[str, Any], given: dict[str, Any], resolver: Resolver) -> dict[str, Any]:
    check_inputs(playbook, given)
    inputs: dict[str, Any] = {}
    for item in playbook.get('inputs') or []:
        key = item.get('key')
        if not key:
            continue
        if key in given and not is_empty(given[key]):
            inputs[key] = given[key]
        else:
            inputs[key] = resolver.argument(item.get('value') or {}, f'input {key}')
    return inputs


def run_playbook(session: Session, playbook_or_name: Any, inputs: dict[str, Any] | None = None,
                 run: PlaybookRun | None = None, depth: int = 0, answers: list[str] | None = None) -> PlaybookRun:
    """Run the playbook to its end; answers: the manual tasks' answers in the order they are asked."""
    playbook = playbook_or_name if isinstance(playbook_or_name, dict) else find_playbook(playbook_or_name)
    if depth > MAX_SUB_PLAYBOOK_DEPTH:
        raise PlaybookError(f'sub-playbooks nested more than {MAX_SUB_PLAYBOOK_DEPTH} deep')
    run = run or PlaybookRun(playbook.get('name') or '', answers)
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
        written = len(session.entries)
        try:
            label = execute_task(session, playbook, task, resolver, run, depth)
        finally:
            if task.get('type') != 'playbook':  # a sub-playbook's tasks record their own entries
                run.entries.extend((name, entry) for entry in session.entries[written:])
        nexttasks = task.get('nexttasks') or {}
        following = nexttasks.get(label) if label else nexttasks.get('#none#')
        if label and following is None:
            following = nexttasks.get('#default#')
        queue.extend(str(t) for t in following or [])
    run.context = session.context
    return run


def execute_task(session: Session, playbook: dict[str, Any], task: dict[str, Any], resolver: Resolver,
                 run: PlaybookRun, depth: int) -> str | None:
    kind = task.get('type')
    inner = task.get('task') or {}
    where = '{} / task {} "{}"'.format(playbook.get('name'), task.get('id'), inner.get('name'))
    if kind in ('start', 'title'):
        return None
    args = {name: resolver.argument(spec, where) for name, spec in (task.get('scriptarguments') or {}).items()}
    args = {name: value for name, value in args.items() if not is_empty(value)}
    if kind == 'playbook':
        run_sub_playbook(session, inner, task, args, run, depth, where)
        return None
    if kind == 'condition' and not inner.get('script') and not inner.get('scriptName'):
        return answer_manual_task(task, resolver, run, where) if is_manual(task) else \
            built_in_condition(task, resolver, where)
    if kind not in ('regular', 'condition'):
        raise PlaybookError(f'{where}: task type "{kind}" is not supported')
    result, entries = call(session, inner, args, where)
    errors = errors_of(entries)
    if errors and not task.get('continueonerror'):
        raise PlaybookError(f'{where} failed: {errors[0]}')
    run.errors.extend(errors)
    if kind == 'condition':
        if result is None and entries:
            result = entries[-1].get('Contents')
        return _text(result) or '#default#'
    return None


def built_in_condition(task: dict[str, Any], resolver: Resolver, where: str) -> str:
    """The label of the first option whose groups all hold (each group: any of its conditions), else #default#."""
    for option in task.get('conditions') or []:
        groups = option.get('condition') or []
        if all(any(resolver.compare(c, where) for c in group) for group in groups):
            return option.get('label') or '#default#'
    return '#default#'


def is_manual(task: dict[str, Any]) -> bool:
    """A manual condition: the analyst picks the branch (no built-in conditions, no condition script)."""
    inner = task.get('task') or {}
    return task.get('type') == 'condition' and not task.get('conditions') and not inner.get('script') \
        and not inner.get('scriptName')


def manual_question(task: dict[str, Any], resolver: Resolver, where: str) -> Question:
    inner = task.get('task') or {}
    message = task.get('message') or {}
    nexttasks = task.get('nexttasks') or {}
    branches = [label for label in nexttasks if not label.startswith('#')]
    options = [_text(option) for option in message.get('replyOptions') or []] or branches
    if not options:
        raise PlaybookError(f'{where}: the manual task has no branch to answer with')
    parts = [inner.get('name') or '', inner.get('description') or '']
    if message.get('body'):
        parts.append(_text(resolver.argument(message['body'], where)))
    text = '\n'.join(part.strip() for part in parts if part and part.strip())
    return Question(task=inner.get('name') or str(task.get('id')), text=text, options=options, where=where)


def answer_manual_task(task: dict[str, Any], resolver: Resolver, run: PlaybookRun, where: str) -> str:
    """The branch the analyst picks: the next of run.answers, else run.ask's answer; ManualTaskError without one."""
    question = manual_question(task, resolver, where)
    run.questions.append(question)
    answer = run.answers.pop(0) if run.answers else (run.ask(question) if run.ask else None)
    choices = ' or '.join(question.options)
    if answer is None or not str(answer).strip():
        raise ManualTaskError(f'{where} waits for an answer ({choices}):\n{question.text}', question)
    picked = next((o for o in question.options if o.lower() == str(answer).strip().lower()), None)
    if picked is None:
        raise ManualTaskError(f'{where}: "{answer}" is not an answer to this task; answer {choices}', question)
    question.answer = picked
    nexttasks = task.get('nexttasks') or {}
    return next((label for label in nexttasks if label.lower() == picked.lower()), '#default#')


def call(session: Session, inner: dict[str, Any], args: dict[str, Any], where: str):
    """(builtin result, entries) of the task's command or script."""
    command = inner.get('script')
    if command:
        brand, _, name = command.rpartition('|||')
        using = None
        if brand:
            using = session.index.brand_for_folder(brand)
        if session.index.brand_of(name) is None and name not in session.index.scripts and name not in BUILTINS:
            raise PlaybookError(f'{where}: command {name} does not exist in the pack')
        if name in BUILTINS:
            return call_builtin(session, name, args)
        if name in session.index.scripts:
            return None, session.run_script(name, args)
        brand = using or session.index.brand_of(name)
        if brand not in session.instances:
            return None, session._store_entries([{'Type': 4, 'ContentsFormat': 'text', 'Contents':
                                                  f'No enabled instance of {brand} for {name}'}], 'server')
        return None, session.execute(name, args, using=using)
    script = inner.get('scriptName')
    if script in BUILTINS:
        return call_builtin(session, script, args)
    if script in session.index.scripts:
        return None, session.run_script(script, args)
    raise PlaybookError(f'{where}: script "{script}" is neither a pack script nor a supported built-in')


def run_sub_playbook(session: Session, inner: dict[str, Any], task: dict[str, Any], args: dict[str, Any],
                     run: PlaybookRun, depth: int, where: str) -> None:
    child_name = inner.get('playbookName') or inner.get('playbookId')
    if not child_name:
        raise PlaybookError(f'{where}: the sub-playbook task names no playbook')
    child = find_playbook(child_name)
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
