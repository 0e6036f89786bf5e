"""The transport interface: :class:`Transport` and :func:`load_transport`."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from importlib.metadata import entry_points
from typing import ClassVar, Final, Generic, TypeVar

from .config import BaseConfig, ConfigT_co
from .worker import Worker

__all__ = ['TransportT', 'load_transport', 'Transport']

#: Type variable for :class:`Transport` implementations.
TransportT = TypeVar('TransportT', bound='Transport[BaseConfig]')


def load_transport(name: str = 'udp', *, group: str = __name__) \
        -> type[Transport[BaseConfig]]:
    """The transport class registered as ``name`` in the entry-point ``group``
    (``swimprotocol.transport``; this package registers ``udp``).

    Raises:
        KeyError: No such entry point.
    """
    for entry_point in entry_points(group=group, name=name):
        transport_type: type[Transport[BaseConfig]] = entry_point.load()
        return transport_type
    raise KeyError(f'{name!r} entry point not found in {group!r}')


class Transport(Generic[ConfigT_co], AbstractAsyncContextManager[None]):
    """What carries the protocol's packets, entered with ``async with``.

    Args:
        config: The cluster config object.
        worker: The member's worker.
    """

    #: The config class this transport takes.
    config_type: ClassVar[type[BaseConfig]]

    def __init__(self, config: ConfigT_co, worker: Worker) -> None:
        super().__init__()
        self.config: Final = config
        self.worker: Final = worker
