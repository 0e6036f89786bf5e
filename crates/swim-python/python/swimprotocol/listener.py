"""Change notification: :class:`Listener`."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import (Any, Callable, Concatenate, Generic, Optional, ParamSpec,
                    TypeAlias, TypeVar)

__all__ = ['ListenerCallback', 'CallbackPoll', 'Listener']

ListenT = TypeVar('ListenT')
ListenT_contra = TypeVar('ListenT_contra', contravariant=True)
ListenP = ParamSpec('ListenP')

#: A callable that takes the notified item (then the extra arguments): a plain function,
#: or a coroutine function whose coroutine is run as a task.
ListenerCallback: TypeAlias = Callable[Concatenate[ListenT_contra, ListenP], Any]


class CallbackPoll(Generic[ListenT, ListenP],
                   AbstractAsyncContextManager['asyncio.Task[None]']):
    """While entered (``async with``), calls the callback once per notified item, in the
    event loop. Coroutines the callback returns run as tasks of their own."""

    def __init__(self, listener: Listener[ListenT],
                 callback: ListenerCallback[ListenT, ListenP],
                 *args: ListenP.args, **kwargs: ListenP.kwargs) -> None:
        super().__init__()
        self._listener = listener
        self._callback = callback
        self._args = args
        self._kwargs = kwargs
        self._task: Optional[asyncio.Task[None]] = None
        self._running: set[asyncio.Task[Any]] = set()

    async def __aenter__(self) -> asyncio.Task[None]:
        self._task = task = asyncio.create_task(self._run())
        # Let the task register its first poll, so no item notified from now on is missed.
        await asyncio.sleep(0)
        return task

    async def __aexit__(self, exc_type: Optional[type[BaseException]],
                        exc_value: Optional[BaseException],
                        traceback: Optional[TracebackType]) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            # Waits for the task without taking its CancelledError as ours.
            await asyncio.wait([task])

    async def _run(self) -> None:
        while True:
            for item in await self._listener.poll():
                result = self._callback(item, *self._args, **self._kwargs)
                if inspect.isawaitable(result):
                    sub = asyncio.ensure_future(result)
                    self._running.add(sub)
                    sub.add_done_callback(self._running.discard)


class _Waiter(Generic[ListenT]):
    __slots__ = ('event', 'items')

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.items: list[ListenT] = []


class Listener(Generic[ListenT]):
    """Producers call :meth:`notify`; consumers wait with :meth:`poll` or register a
    callback with :meth:`on_notify`."""

    def __init__(self) -> None:
        super().__init__()
        self._waiters: set[_Waiter[ListenT]] = set()
        # Items notified while held and before anyone listened: the last notification of
        # each item, by identity, in order (see `_hold`).
        self._backlog: Optional[dict[int, ListenT]] = None

    def _hold(self) -> None:
        """Until the first :meth:`poll` (or callback), keeps what is notified instead of
        dropping it, and hands it to that first consumer. The members' listener holds
        from the moment the engine runs: the engine works on threads of its own, and
        members can join between entering the transport and entering ``on_notify``."""
        if not self._waiters:
            self._backlog = {}

    def on_notify(self, callback: ListenerCallback[ListenT, ListenP],
                  *args: ListenP.args, **kwargs: ListenP.kwargs) \
            -> CallbackPoll[ListenT, ListenP]:
        """An async context manager that, while entered, calls
        ``callback(item, *args, **kwargs)`` for each notified item."""
        return CallbackPoll(self, callback, *args, **kwargs)

    def _release(self) -> None:
        """Stops holding (see :meth:`_hold`) and drops what was kept."""
        self._backlog = None

    async def poll(self) -> Sequence[ListenT]:
        """Waits for the next :meth:`notify` and returns every item notified until this
        coroutine resumed (one or more)."""
        backlog, self._backlog = self._backlog, None
        if backlog:
            return list(backlog.values())
        waiter: _Waiter[ListenT] = _Waiter()
        self._waiters.add(waiter)
        try:
            await waiter.event.wait()
        finally:
            self._waiters.discard(waiter)
        return waiter.items

    def notify(self, item: ListenT) -> None:
        """Hands ``item`` to every waiting :meth:`poll` and callback."""
        backlog = self._backlog
        if backlog is not None and not self._waiters:
            backlog.pop(id(item), None)
            backlog[id(item)] = item
            return
        for waiter in self._waiters:
            waiter.items.append(item)
            waiter.event.set()
