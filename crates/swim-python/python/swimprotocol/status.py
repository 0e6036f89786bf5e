"""Member statuses, as the seed's :class:`Status` flag enum."""

from __future__ import annotations

from collections.abc import Collection
from enum import Flag

__all__ = ['Status']


class Status(Flag):
    """The status of a cluster member. ``ONLINE``, ``SUSPECT`` and ``OFFLINE`` are what a
    member is; ``AVAILABLE``, ``UNAVAILABLE`` and ``ALL`` are aggregates for bitwise tests
    (``member.status & Status.AVAILABLE``) and :meth:`Members.get_status`.
    """

    #: The member answers probes.
    ONLINE = 1
    #: The member stopped answering for long enough, or left the cluster.
    OFFLINE = 2
    #: The member failed a probe and is not yet declared offline.
    SUSPECT = 4
    #: ``ONLINE`` or ``SUSPECT``: every member not known to be gone.
    AVAILABLE = ONLINE | SUSPECT
    #: ``OFFLINE`` or ``SUSPECT``: every member not known to answer.
    UNAVAILABLE = OFFLINE | SUSPECT
    #: Every status.
    ALL = ONLINE | OFFLINE | SUSPECT

    @property
    def name(self) -> str:
        """The status's name, such as ``'ONLINE'``."""
        name = super().name
        assert name is not None
        return name

    def transition(self, to: Status) -> Status:
        """The status a member in this status takes when told ``to``: an ``OFFLINE`` member
        stays ``OFFLINE`` rather than become ``SUSPECT``, an ``ONLINE`` one becomes
        ``SUSPECT`` rather than ``OFFLINE``.

        Raises:
            ValueError: ``to`` is an aggregate status.
        """
        if to in (Status.AVAILABLE, Status.UNAVAILABLE, Status.ALL):
            raise ValueError(to)
        if to == Status.SUSPECT and self == Status.OFFLINE:
            return self
        if to == Status.OFFLINE and self == Status.ONLINE:
            return Status.SUSPECT
        return to

    @classmethod
    def all_statuses(cls) -> Collection[Status]:
        """Every status, the aggregates included."""
        return cls.__members__.values()
