"""Embedded emulator of the Cortex XDR and Cylance Optics APIs (developer tooling, never in the pack)."""
from . import content, credentials
from .server import Emulator, Options

__all__ = ['Emulator', 'Options', 'content', 'credentials']
