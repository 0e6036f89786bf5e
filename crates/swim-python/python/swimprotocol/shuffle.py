"""Sets of members that a random one can be picked from: :class:`Shuffle`."""

from __future__ import annotations

import random
from abc import ABCMeta, abstractmethod
from collections.abc import Iterable, Iterator, Set
from typing import TypeVar

__all__ = ['ShuffleT', 'ShuffleT_co', 'Shuffle', 'IndexedShuffle']

ShuffleT = TypeVar('ShuffleT')
ShuffleT_co = TypeVar('ShuffleT_co', covariant=True)


class Shuffle(Set[ShuffleT_co], metaclass=ABCMeta):
    """A set whose :meth:`choice` picks an element at random in constant time."""

    @abstractmethod
    def choice(self) -> ShuffleT_co:
        """A random element, left in the set.

        Raises:
            KeyError: The set is empty.
        """


class IndexedShuffle(Shuffle[ShuffleT]):
    """A :class:`Shuffle` kept as a list plus an index of positions (strong references:
    members are never dropped while the cluster lives)."""

    def __init__(self, init: Iterable[ShuffleT] = ()) -> None:
        super().__init__()
        self._values: list[ShuffleT] = []
        self._positions: dict[ShuffleT, int] = {}
        for value in init:
            self.add(value)

    def __contains__(self, value: object) -> bool:
        return value in self._positions

    def __iter__(self) -> Iterator[ShuffleT]:
        return iter(list(self._values))

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self._values!r})'

    def add(self, value: ShuffleT) -> None:
        """Adds ``value`` if missing."""
        if value not in self._positions:
            self._positions[value] = len(self._values)
            self._values.append(value)

    def discard(self, value: ShuffleT) -> None:
        """Removes ``value`` if present."""
        position = self._positions.pop(value, None)
        if position is None:
            return
        last = self._values.pop()
        if position < len(self._values):
            self._values[position] = last
            self._positions[last] = position

    def choice(self) -> ShuffleT:
        if not self._values:
            raise KeyError('choice from an empty set')
        return random.choice(self._values)
