"""The emulator: the HTTP core (core.py) serving the Cortex XDR (xdr.py) and Cylance Optics (cylance.py) APIs.

Behaviour follows the API pages and the documented contract; everything is generated in memory or streamed,
nothing is written to disk. ``Emulator(**options)`` takes the fields of ``Options``.
"""
import dataclasses
from dataclasses import dataclass
from typing import Any

from .core import EmulatorCore, ServerOptions
from .cylance import CylanceApi
from .xdr import XdrApi


@dataclass
class Options(ServerOptions):
    """Server options plus how the emulated APIs behave."""
    action_steps: int = 2  # status calls before a retrieval action is final
    distribution_steps: int = 2  # status calls before a distribution is ready
    large_file_size: int | None = None  # serve each retrieval's first file with this many bytes, streamed
    # how that zip is made: 'stream' (zipfile, sizes in data descriptors, the action's other files too),
    # 'stored' or 'deflated' (one file, whole MiB, sizes and CRC32 in the local header)
    large_file_format: str = 'stream'
    failing_endpoints: tuple[str, ...] = ('fail',)  # endpoint id prefixes whose retrievals fail
    quarantine_batch_limit: int = 1000  # files per quarantine/status call (the real limit is not documented)


class Emulator(EmulatorCore):
    """The Cortex XDR + Cylance emulator on 127.0.0.1; start()/stop() or use as a context manager."""

    options: Options

    def __init__(self, options: Options | None = None, **overrides: Any):
        options = dataclasses.replace(options or Options(), **overrides)
        options.failing_endpoints = tuple(options.failing_endpoints)
        super().__init__(options, [XdrApi, CylanceApi])

    def start(self) -> 'Emulator':
        super().start()
        return self

    def __enter__(self) -> 'Emulator':
        return self.start()
