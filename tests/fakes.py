"""Test doubles the unit tests of the integrations and scripts share."""
from collections.abc import Callable
from typing import Any

import demistomock as demisto


class FakeTime:
    """A clock that only moves when the code sleeps; every sleep is recorded (in sleeps, also named waits)."""

    def __init__(self, sleeps: list[float] | None = None):
        self.now = 1000.0
        self.sleeps = sleeps if sleeps is not None else []
        self.waits = self.sleeps

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now

    clock = monotonic


def run_entry_point(monkeypatch: Any, main: Callable[[], None], command: str | None = None,
                    args: dict[str, Any] | None = None, params: dict[str, Any] | None = None) -> list[Any]:
    """The entries main() sends for command with args and params, as XSOAR would run it (return_error exits)."""
    entries: list[Any] = []
    if params is not None:
        monkeypatch.setattr(demisto, 'params', lambda: params)
    if command is not None:
        monkeypatch.setattr(demisto, 'command', lambda: command)
    monkeypatch.setattr(demisto, 'args', lambda: args or {})
    monkeypatch.setattr(demisto, 'results', lambda r: entries.extend(r if isinstance(r, list) else [r]))
    try:
        main()
    except SystemExit:
        pass
    return entries
