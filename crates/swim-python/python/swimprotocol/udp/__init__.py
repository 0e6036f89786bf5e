"""The UDP transport (TCP for packets above ``mtu_size``): :class:`UdpConfig` and
:class:`UdpTransport`, run by the swim-rs engine."""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Optional

from .. import _native
from ..transport import Transport
from ..worker import Worker
from .config import UdpConfig

__all__ = ['UdpConfig', 'UdpTransport']


class UdpTransport(Transport[UdpConfig]):
    """Runs the member: entering it opens the UDP socket and the TCP listener and starts
    the engine (failure detection and dissemination, in Rust); leaving it makes the
    member leave the cluster gracefully and stops the engine.

    Raises (on entering):
        ConfigError: The configuration cannot start (a keyring that cannot be used...).
        TransientConfigError: A failure that may pass (discovery found no peers yet).
        OSError: The sockets cannot be opened (the address is in use...).
    """

    config_type = UdpConfig

    def __init__(self, config: UdpConfig, worker: Worker) -> None:
        super().__init__(config, worker)

    @property
    def bind_host(self) -> str:
        """The host the sockets bind (known once started: the engine's address)."""
        engine = self.worker.engine
        if engine is not None:
            return engine.addr.rpartition(':')[0].strip('[]')
        return self.config.bind_host or \
            self.config.local_name.rpartition(':')[0].strip('[]')

    @property
    def bind_port(self) -> int:
        """The port the sockets bind (known once started: the engine's port)."""
        engine = self.worker.engine
        if engine is not None:
            return int(engine.addr.rpartition(':')[2])
        if self.config.bind_port is not None:
            return self.config.bind_port
        port = self.config.local_name.rpartition(':')[2]
        return int(port) if port.isdigit() else 0

    async def __aenter__(self) -> None:
        if self.worker.running:
            raise RuntimeError('this member is already running')
        loop = asyncio.get_running_loop()
        members = self.worker.members
        # Changes can come before the application listens: keep them (see Listener._hold).
        members.listener._hold()
        # A blocking call, on the loop's executor: see `_native.start`.
        starting = loop.run_in_executor(
            None, _native.start, self.config._native, members._deliver, loop)
        try:
            engine = await asyncio.shield(starting)
        except asyncio.CancelledError:
            # Cancelled (Ctrl-C) while the engine starts: stop it once started, then give
            # the cancellation its way.
            with contextlib.suppress(Exception):
                started = await starting
                await loop.run_in_executor(None, started.shutdown)
            members.listener._release()
            raise
        except BaseException:
            members.listener._release()
            raise
        try:
            self.worker._attach(engine)
            members._attach(engine)
        except BaseException:
            await self.worker.stop()
            raise

    async def __aexit__(self, exc_type: Optional[type[BaseException]],
                        exc_value: Optional[BaseException],
                        traceback: Optional[TracebackType]) -> None:
        await self.worker.stop()

