"""The SWIM protocol's asyncio API (the import package of swim-protocol 0.6.3) on the
swim-rs engine: the protocol runs in Rust, on threads of its own, and changes reach the
event loop with ``loop.call_soon_threadsafe``.

See ``docs/python.md`` for what differs from swim-protocol 0.6.3.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ['__version__']

try:
    __version__: str = version('swim-protocol-rs')
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = '0.0.0'
