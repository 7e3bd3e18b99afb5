"""Embedded emulator of the Cortex XDR and Cylance Optics APIs (developer tooling, never in the pack)."""
from . import content, credentials
from .hostile import OtherOrigin
from .server import Emulator, Options

__all__ = ['Emulator', 'OtherOrigin', 'Options', 'content', 'credentials']
