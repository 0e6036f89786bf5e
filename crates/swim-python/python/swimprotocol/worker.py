"""The protocol's worker: :class:`Worker`.

In the seed the worker ran failure detection and dissemination in the event loop. Here
the engine does both, in Rust, on threads of its own; the worker is the handle an
application enters and leaves: leaving it (or the transport) makes the member leave the
cluster gracefully and stops the engine.
"""

from __future__ import annotations

import asyncio
import atexit
import weakref
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Final, Optional

from .config import BaseConfig
from .members import Members
from .status import Status

if TYPE_CHECKING:
    from ._native import Engine

__all__ = ['Worker']

#: Engines started and not stopped yet, stopped at interpreter exit (before it finalizes,
#: so that no engine thread delivers a change to an interpreter that is going away).
_RUNNING: weakref.WeakSet[Engine] = weakref.WeakSet()


@atexit.register
def _stop_engines_at_exit() -> None:
    for engine in list(_RUNNING):
        engine.shutdown()


class Worker(AbstractAsyncContextManager['asyncio.Task[None]']):
    """The member's protocol worker, entered with ``async with`` (the transport starts
    the engine; whichever of the two is left first stops it).

    Args:
        config: The cluster config object.
        members: The cluster's members.
    """

    def __init__(self, config: BaseConfig, members: Members) -> None:
        super().__init__()
        self.config: Final = config
        self.members: Final = members
        self._engine: Optional[Engine] = None
        self._stopping: Optional[asyncio.Future[None]] = None
        self._done = asyncio.Event()
        self._task: Optional[asyncio.Task[None]] = None

    @property
    def engine(self) -> Optional[Engine]:
        """The running engine, once the transport has started it."""
        return self._engine

    @property
    def running(self) -> bool:
        """Whether the member runs (started and not stopped yet)."""
        return self._engine is not None and self._stopping is None

    async def __aenter__(self) -> asyncio.Task[None]:
        self._task = task = asyncio.create_task(self._wait_done())
        return task

    async def _wait_done(self) -> None:
        await self._done.wait()

    async def __aexit__(self, exc_type: Optional[type[BaseException]],
                        exc_value: Optional[BaseException],
                        traceback: Optional[TracebackType]) -> None:
        await self.stop()
        task, self._task = self._task, None
        if task is not None:
            await asyncio.wait([task])

    def _attach(self, engine: Engine) -> None:
        _RUNNING.add(engine)
        self._engine = engine
        self._stopping = None
        self._done.clear()

    async def leave(self) -> bool:
        """Leaves the cluster gracefully: a few members are told, and mark this one
        OFFLINE at once. ``True`` once one acknowledged, ``False`` after
        ``config.leave_timeout`` seconds (or if no member is available to tell). The
        member then stays silent until stopped."""
        engine = self._engine
        if engine is None or not self.members.get_status(Status.AVAILABLE):
            return False
        timeout = float(getattr(self.config, 'leave_timeout', 2.0))
        loop = asyncio.get_running_loop()
        left: bool = await loop.run_in_executor(None, engine.leave, timeout)
        return left

    def stats(self) -> dict[str, int]:
        """The engine's traffic and protocol counters (empty before start)."""
        engine = self._engine
        return {} if engine is None else engine.stats()

    @property
    def metrics_addr(self) -> Optional[str]:
        """Where the metrics/status server listens (``host:port``), if it runs."""
        engine = self._engine
        return None if engine is None else engine.metrics_addr

    def metrics(self) -> str:
        """The engine's metrics as OpenMetrics text (empty before start)."""
        engine = self._engine
        return '' if engine is None else engine.metrics()

    async def stop(self) -> None:
        """Leaves the cluster gracefully and stops the engine; once done, no task or
        socket of this member is left. Calling it again waits for the first call."""
        if self._stopping is not None:
            await asyncio.shield(self._stopping)
            return
        engine = self._engine
        if engine is None:
            self._done.set()
            return
        self._stopping = stopping = asyncio.get_running_loop().create_future()
        try:
            try:
                await self.leave()
            finally:
                await asyncio.get_running_loop().run_in_executor(None, engine.shutdown)
        finally:
            _RUNNING.discard(engine)
            self.members._detach()
            self._done.set()
            stopping.set_result(None)

    def __repr__(self) -> str:
        state = 'running' if self.running else 'idle'
        return f'<Worker {self.members.local.name!r} {state}>'
