"""The members of the cluster: :class:`Members`, :class:`Member`, :class:`MemberSnapshot`.

The engine decides every status and spreads every metadata change; this module keeps the
seed's objects up to date with what it reports: one :class:`Member` per name for the life
of the cluster, updated in place, and one notification per change of status or metadata.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping, Set
from dataclasses import dataclass
from functools import total_ordering
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Optional

from .config import BaseConfig, ConfigError, _check_metadata
from .listener import Listener
from .shuffle import IndexedShuffle, Shuffle
from .status import Status

if TYPE_CHECKING:
    from ._native import Engine, Snapshot

__all__ = ['MemberSnapshot', 'Member', 'Members']


@dataclass(frozen=True)
class MemberSnapshot:
    """A member as it was at one moment (:attr:`Member.previous`).

    Args:
        name: The member's name.
        clock: Its :attr:`~Member.clock` then.
        status: Its :attr:`~Member.status` then.
        status_time: Its :attr:`~Member.status_time` then.
        metadata: Its :attr:`~Member.metadata` then.
    """

    name: str
    clock: int
    status: Status
    status_time: float
    metadata: Mapping[str, bytes]


@total_ordering
class Member:
    """A member of the cluster. There is one object per name for the life of the
    :class:`Members`; it is hashable, compares by name and is updated in place."""

    #: The metadata of a member whose metadata is not known yet (compare with ``is``).
    METADATA_UNKNOWN: Mapping[str, bytes] = MappingProxyType({})

    def __init__(self, name: str, local: bool) -> None:
        super().__init__()
        self._name = name
        self.local: Final = local
        self._clock = 0
        self._status = Status.OFFLINE
        self._status_time = time.time()
        self._metadata: Mapping[str, bytes] = self.METADATA_UNKNOWN
        self._left = False
        self._previous = self._snapshot()

    @property
    def name(self) -> str:
        """The member's unique name, ``host:port``."""
        return self._name

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, Member):
            return self._name == other._name
        return NotImplemented

    def __lt__(self, other: Any) -> bool:
        if isinstance(other, Member):
            return self._name < other._name
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._name)

    def __repr__(self) -> str:
        return f'<Member {self._name!r} {self._status.name}>'

    @property
    def clock(self) -> int:
        """The logical clock of the member's latest change; it only grows."""
        return self._clock

    @property
    def status(self) -> Status:
        """The last known status."""
        return self._status

    @property
    def status_time(self) -> float:
        """When the status last changed (``time.time()`` seconds)."""
        return self._status_time

    @property
    def metadata(self) -> Mapping[str, bytes]:
        """The last known metadata; :attr:`METADATA_UNKNOWN` until known."""
        return self._metadata

    @property
    def previous(self) -> MemberSnapshot:
        """The member before its latest change."""
        return self._previous

    @property
    def left(self) -> bool:
        """Whether the member is OFFLINE because it left the cluster (it said so)."""
        return self._left

    def _snapshot(self) -> MemberSnapshot:
        return MemberSnapshot(name=self._name, clock=self._clock,
                              status=self._status,
                              status_time=self._status_time,
                              metadata=self._metadata)


class Members(Set[Member]):
    """The members of the cluster, the local one included: a set of :class:`Member`.

    Args:
        config: The cluster config object.
    """

    def __init__(self, config: BaseConfig) -> None:
        super().__init__()
        #: Notified with a :class:`Member` after each change of its status or metadata.
        self.listener: Listener[Member] = Listener()
        self._config = config
        self._engine: Optional[Engine] = None
        self._local = Member(config.local_name, True)
        self._members: dict[str, Member] = {self._local.name: self._local}
        self._non_local: set[Member] = set()
        self._statuses: dict[Status, IndexedShuffle[Member]] = {
            status: IndexedShuffle() for status in Status.all_statuses()}
        for peer in config.peers:
            self.get(self._canonical(peer))
        self.update(self._local, new_status=Status.ONLINE,
                    new_metadata=config.local_metadata)

    def _canonical(self, name: str) -> str:
        native = getattr(self._config, '_native', None)
        if native is None:
            return name
        try:
            canonical: str = native.canonical_name(name)
        except Exception:
            return name
        return canonical

    def __contains__(self, value: object) -> bool:
        if isinstance(value, Member):
            return self._members.get(value.name) is value
        return value in self._members

    def __iter__(self) -> Iterator[Member]:
        return iter(list(self._members.values()))

    def __len__(self) -> int:
        return len(self._members)

    def __repr__(self) -> str:
        return f'<Members {sorted(self._members.values())!r}>'

    @property
    def local(self) -> Member:
        """The local member."""
        return self._local

    @property
    def non_local(self) -> Set[Member]:
        """Every other member."""
        return self._non_local

    def get_status(self, status: Status) -> Shuffle[Member]:
        """The non-local members whose status is in ``status`` (a status, or an aggregate
        such as ``Status.AVAILABLE``): a live set, kept up to date."""
        return self._statuses[status]

    def find(self, count: int, *, status: Status = Status.ALL,
             exclude: Set[Member] = frozenset()) -> frozenset[Member]:
        """At most ``count`` non-local members in ``status``, not in ``exclude``, chosen at
        random."""
        candidates = [member for member in self._statuses[status]
                      if member not in exclude]
        return frozenset(random.sample(candidates, min(count, len(candidates))))

    def get(self, name: str, validity: Optional[bytes] = None) -> Member:
        """The member named ``name``, created (OFFLINE, metadata unknown) if it is not
        known yet; a member created while the cluster runs is also contacted as a peer.
        ``validity`` is accepted for the seed's signature and ignored: the engine tracks
        restarts itself."""
        member = self._members.get(name)
        if member is None:
            member = Member(name, False)
            self._members[name] = member
            self._non_local.add(member)
            self._refresh_statuses(member)
            if self._engine is not None:
                self._add_peer(name)
        return member

    def _add_peer(self, name: str) -> None:
        engine = self._engine
        if engine is None:
            return
        try:
            engine.add_peer(name)
        except ConfigError:
            # Not an address: known to the application, never contacted.
            pass

    def update(self, member: Member, *,
               new_status: Optional[Status] = None,
               new_metadata: Optional[Mapping[str, bytes]] = None) -> None:
        """Changes the local member's metadata (the change spreads to every member and
        the listener is notified at once). Statuses are the engine's to decide: only
        ``new_status=Status.ONLINE`` is accepted, for the local member.

        Raises:
            TypeError: ``new_metadata`` does not map ``str`` to ``bytes``.
            ValueError: ``member`` is not the local member, or ``new_status`` is not
                ``ONLINE``.
        """
        if member is not self._local:
            raise ValueError(
                f'only the local member can be updated, not {member.name!r}: '
                'the engine decides the others\' statuses and metadata')
        if new_status is not None and new_status != Status.ONLINE:
            raise ValueError(f'the local member is ONLINE, not {new_status.name}')
        metadata = None if new_metadata is None else _check_metadata(new_metadata)
        previous = member._snapshot()
        changed = False
        if new_status is not None and member._status != new_status:
            member._status = new_status
            member._status_time = time.time()
            changed = True
        if metadata is not None and (member._metadata is Member.METADATA_UNKNOWN
                                     or dict(member._metadata) != metadata):
            member._metadata = MappingProxyType(metadata)
            changed = True
            if self._engine is not None:
                self._engine.set_local_metadata(metadata)
        if changed:
            member._clock += 1
            member._previous = previous
            self.listener.notify(member)

    def _refresh_statuses(self, member: Member) -> None:
        if member.local:
            return
        for status, shuffle in self._statuses.items():
            if member._status & status:
                shuffle.add(member)
            else:
                shuffle.discard(member)

    # The engine's side: attach a started engine and apply what it reports.

    def _attach(self, engine: Engine) -> None:
        """Called by the transport once the engine runs: takes the engine's name for the
        local member (a name ending in ``:0`` takes the bound port), pushes metadata
        changed before start, and applies the engine's current member list."""
        self._engine = engine
        local = self._local
        if engine.name != local.name:
            del self._members[local.name]
            local._name = engine.name
            self._members[local.name] = local
        if dict(local.metadata) != dict(self._config.local_metadata):
            engine.set_local_metadata(dict(local.metadata))
        self._deliver(engine.members())

    def _detach(self) -> None:
        self._engine = None

    def _deliver(self, snapshots: list[Snapshot]) -> None:
        """Applies a batch of the engine's snapshots (called in the event loop by
        ``call_soon_threadsafe``), notifying once per change of status or metadata."""
        for name, local, clock, status_name, status_time, metadata, left in snapshots:
            if local:
                # The application's word is the local metadata; take only the clock.
                if clock > self._local._clock:
                    self._local._clock = clock
                continue
            member = self._members.get(name) or self._new(name)
            status = Status[status_name]
            new_metadata = (Member.METADATA_UNKNOWN if metadata is None
                            else MappingProxyType(metadata))
            status_changed = status != member._status
            metadata_changed = new_metadata != member._metadata or (
                metadata is not None
                and member._metadata is Member.METADATA_UNKNOWN)
            if clock > member._clock:
                member._clock = clock
            member._left = left
            if not (status_changed or metadata_changed):
                continue
            member._previous = member._snapshot()
            if status_changed:
                member._status = status
                member._status_time = status_time
                self._refresh_statuses(member)
            if metadata_changed:
                member._metadata = new_metadata
            self.listener.notify(member)

    def _new(self, name: str) -> Member:
        member = Member(name, False)
        self._members[name] = member
        self._non_local.add(member)
        self._refresh_statuses(member)
        return member

