"""The cluster configuration: :class:`BaseConfig` and its errors."""

from __future__ import annotations

import os
from argparse import ArgumentParser, Namespace
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final, Optional, TypeVar, Union, final

__all__ = ['ConfigT_co', 'ConfigError', 'TransientConfigError', 'BaseConfig']

#: Covariant type variable for :class:`BaseConfig` sub-classes.
ConfigT_co = TypeVar('ConfigT_co', bound='BaseConfig', covariant=True)


class ConfigError(Exception):
    """The configuration cannot run a cluster; the message says why."""


class TransientConfigError(ConfigError):
    """The configuration failed for a reason that may pass (a name that does not resolve
    yet, discovery finding no peers yet): retry after ``wait_hint`` seconds.
    """

    def __init__(self, msg: Optional[str] = None, *,
                 wait_hint: float = 60.0) -> None:
        super().__init__(msg)
        #: A suggested wait, in seconds, before trying again.
        self.wait_hint: Final = wait_hint


class _Default(float):
    """A timing left at its default: the profile's value applies (see ``profile``)."""


class _DefaultCount(int):
    """A count left at its default: the profile's value applies (see ``profile``)."""


def _explicit(value: Any) -> Any:
    """``value``, or ``None`` when it is a default left to the profile."""
    return None if isinstance(value, (_Default, _DefaultCount)) else value


def _check_metadata(metadata: Any) -> dict[str, bytes]:
    """``metadata`` as a new ``dict``; ``TypeError`` unless it maps ``str`` to ``bytes``."""
    if not isinstance(metadata, Mapping):
        raise TypeError(
            f'metadata must be a mapping of str to bytes, not {type(metadata).__name__}')
    checked: dict[str, bytes] = {}
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise TypeError(f'metadata keys must be str, not {type(key).__name__}')
        if not isinstance(value, bytes):
            raise TypeError(f'metadata value of {key!r} must be bytes, '
                            f'not {type(value).__name__}')
        checked[key] = value
    return checked


class BaseConfig:
    """What every transport's configuration holds: the member's name, its peers, its
    metadata, the shared secret and the protocol timings. The timings' defaults are the
    seed's; with ``profile`` (``'lan'``, ``'wan'``, ``'local'`` or ``'seed'``) the
    profile's timings apply instead, and only the timings passed explicitly override them.

    Args:
        secret: The shared secret signing every packet; ``None`` derives one from this
            machine (enough on loopback only).
        local_name: The local member's name, ``host:port``.
        peers: Names of members to contact at start.
        local_metadata: The local member's metadata at start, ``str`` to ``bytes``.
        ping_interval: Seconds between two probes.
        ping_timeout: Seconds to wait for a direct ack.
        ping_req_count: How many members are asked to probe indirectly.
        ping_req_timeout: Seconds to wait for an indirect ack.
        suspect_timeout: Seconds a suspect member has to refute before it is offline.
        sync_interval: Seconds between two gossip packets while news is pending.

    Raises:
        ConfigError: The configuration is invalid.
    """

    _empty: Mapping[str, bytes] = {}

    def __init__(self, *, secret: Union[None, str, bytes],
                 local_name: str,
                 peers: Sequence[str],
                 local_metadata: Mapping[str, bytes] = _empty,
                 ping_interval: float = _Default(1.0),
                 ping_timeout: float = _Default(0.3),
                 ping_req_count: int = _DefaultCount(1),
                 ping_req_timeout: float = _Default(0.9),
                 suspect_timeout: float = _Default(5.0),
                 sync_interval: float = _Default(0.5)) -> None:
        super().__init__()
        if isinstance(secret, str):
            secret = secret.encode('utf-8')
        elif secret is not None and not isinstance(secret, bytes):
            raise ConfigError(
                f'the secret must be str or bytes, not {type(secret).__name__}')
        _check_metadata(local_metadata)
        if isinstance(peers, str):
            raise ConfigError('peers must be a sequence of names, not one str')
        self._secret: Final = secret
        self.local_name: Final = local_name
        self.peers: Final = peers
        self.local_metadata: Final = local_metadata
        self.ping_interval: float = ping_interval
        self.ping_timeout: float = ping_timeout
        self.ping_req_count: int = ping_req_count
        self.ping_req_timeout: float = ping_req_timeout
        self.suspect_timeout: float = suspect_timeout
        self.sync_interval: float = sync_interval
        self._validate()

    def _validate(self) -> None:
        if not self.local_name:
            raise ConfigError('This cluster instance needs a local name.')
        if not isinstance(self.local_name, str):
            raise ConfigError(
                f'local_name must be a str, not {type(self.local_name).__name__}')

    def _timing_kwargs(self) -> dict[str, Any]:
        """The timings passed explicitly, for the engine (the others come from the
        profile)."""
        return {
            'ping_interval': _explicit(self.ping_interval),
            'ping_timeout': _explicit(self.ping_timeout),
            'ping_req_count': _explicit(self.ping_req_count),
            'ping_req_timeout': _explicit(self.ping_req_timeout),
            'suspect_timeout': _explicit(self.suspect_timeout),
            'sync_interval': _explicit(self.sync_interval),
        }

    @classmethod
    def add_arguments(cls, parser: ArgumentParser, *,
                      prefix: str = '--') -> None:
        """Adds the seed's options (``--secret``, ``--name``, ``--peer``) to ``parser``,
        each under ``prefix`` and with a ``swim_`` destination."""
        group = parser.add_argument_group('swim options')
        group.add_argument(f'{prefix}secret', dest='swim_secret',
                           metavar='STRING',
                           help='The secret string used to verify messages.')
        group.add_argument(f'{prefix}name', dest='swim_name',
                           metavar='localname',
                           help='External name or address for this node.')
        group.add_argument(f'{prefix}peer', dest='swim_peers',
                           metavar='peername', action='append', default=[],
                           help='At least one name or address of '
                                'a known peer.')

    @classmethod
    def _get_env(cls, env_prefix: str, env: str) -> Optional[str]:
        """``{env_prefix}_{env}``, or the content of the file named by
        ``{env_prefix}_{env}_FILE`` (which wins); a file that cannot be read is a
        :class:`ConfigError` (the seed ignored it silently)."""
        file_var = f'{env_prefix}_{env}_FILE'
        file_name = os.getenv(file_var)
        if file_name is not None:
            path = Path(file_name).expanduser()
            try:
                with open(path, 'r', encoding='utf-8') as env_file:
                    return env_file.read().rstrip('\r\n')
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(
                    f'cannot read {file_var} ({str(path)!r}): {exc}') from exc
        return os.getenv(f'{env_prefix}_{env}')

    @classmethod
    def _get_env_list(cls, env_prefix: str, env: str) -> Sequence[str]:
        value = cls._get_env(env_prefix, env)
        return value.split(',') if value else []

    @classmethod
    def parse_args(cls, args: Namespace, *, env_prefix: str = 'SWIM') \
            -> dict[str, Any]:
        """The constructor's keyword arguments from ``args``, falling back to the
        environment: ``SWIM_SECRET`` (or the file ``SWIM_SECRET_FILE``), ``SWIM_NAME``,
        ``SWIM_PEERS`` (comma-separated)."""
        secret = args.swim_secret or cls._get_env(env_prefix, 'SECRET')
        local_name = args.swim_name or cls._get_env(env_prefix, 'NAME')
        peers = args.swim_peers or cls._get_env_list(env_prefix, 'PEERS')
        return {'secret': secret,
                'local_name': local_name,
                'peers': peers}

    @final
    @classmethod
    def from_args(cls: type[ConfigT_co], args: Namespace,
                  **overrides: Any) -> ConfigT_co:
        """A config from the command line: :meth:`parse_args`, then ``overrides``."""
        kwargs = cls.parse_args(args)
        kwargs |= overrides
        return cls(**kwargs)
