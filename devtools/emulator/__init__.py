"""Embedded emulator of the Cortex XDR and Cylance Optics APIs (developer tooling, never in the pack)."""
from . import content, credentials  # noqa: F401
from .server import Emulator  # noqa: F401
