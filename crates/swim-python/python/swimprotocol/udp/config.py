"""The UDP transport's configuration, :class:`UdpConfig`."""

from __future__ import annotations

import os
from argparse import ArgumentParser, Namespace
from collections.abc import Sequence
from typing import Any, Final, Optional

from .. import _native
from ..config import BaseConfig, ConfigError

__all__ = ['UdpConfig']

#: The wire formats: ``'native'`` (ours: signed or encrypted, compact), ``'python'`` (the
#: seed's, to join a cluster of swim-protocol 0.6.3 members) and ``'auto'`` (both, to
#: migrate a live cluster).
WIRES: Final = ('native', 'python', 'auto')


class UdpConfig(BaseConfig):
    """:class:`~swimprotocol.config.BaseConfig` plus the UDP transport's settings. Every
    check that needs no network runs here: a bad name, peer, timing, label, keyring file
    or allow-list entry raises :class:`~swimprotocol.config.ConfigError` at once.

    Args:
        bind_host: The address to bind (the name's host by default).
        bind_port: The port to bind (the name's port by default).
        default_host: The host of names given as ``:port``.
        default_port: The port of names given without one.
        discovery: Find the peers by resolving the host of ``local_name`` to all its
            addresses (a Docker or Kubernetes headless service); done at start.
        mtu_size: Packets larger than this many bytes go over TCP.
        wire: ``'native'`` (default), ``'python'`` or ``'auto'``; see ``docs/python.md``.
        profile: ``'lan'``, ``'wan'``, ``'local'`` or ``'seed'``: the profile's timings
            instead of the seed's defaults.
        label: The cluster label bound into every frame (native wire).
        keyring_file: A keyring file (base64 keys, one a line): encryption.
        allow_cidr: Source networks allowed to talk to this member (all by default).
        lifeguard: Lifeguard's local health and suspicion confirmations (on by default).
        offline_retention: Seconds a member stays listed OFFLINE before it is forgotten.
        leave_timeout: Seconds leaving the cluster waits for an acknowledgement.
        metrics_addr: ``host:port`` to serve our tools' metrics (``/metrics``), members
            (``/members``) and status page (``/``) on while the member runs.
        kwargs: The :class:`~swimprotocol.config.BaseConfig` arguments.
    """

    def __init__(self, *, bind_host: Optional[str] = None,
                 bind_port: Optional[int] = None,
                 default_host: Optional[str] = None,
                 default_port: Optional[int] = None,
                 discovery: bool = False,
                 mtu_size: int = 1500,
                 wire: str = 'native',
                 profile: Optional[str] = None,
                 label: Optional[str] = None,
                 keyring_file: Optional[str] = None,
                 allow_cidr: Sequence[str] = (),
                 lifeguard: Optional[bool] = None,
                 offline_retention: Optional[float] = None,
                 leave_timeout: float = 2.0,
                 metrics_addr: Optional[str] = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if bind_port is not None:
            bind_port = _port('bind_port', bind_port)
        if default_port is not None:
            default_port = _port('default_port', default_port)
        if isinstance(allow_cidr, str):
            allow_cidr = [allow_cidr]
        try:
            peers = [str(peer) for peer in self.peers]
            self._native: Final = _native.make_config(
                local_name=self.local_name, peers=peers,
                local_metadata=self.local_metadata, secret=self._secret,
                profile=profile, wire=wire, bind_host=bind_host,
                bind_port=bind_port, default_host=default_host,
                default_port=default_port, discovery=bool(discovery),
                mtu_size=int(mtu_size), label=label,
                keyring_file=keyring_file, allow_cidr=list(allow_cidr),
                lifeguard=lifeguard, offline_retention=offline_retention,
                metrics_addr=metrics_addr, **self._timing_kwargs())
        except (ValueError, OverflowError) as exc:
            raise ConfigError(str(exc)) from exc
        timings = self._native.timings()
        self.ping_interval = timings['ping_interval']
        self.ping_timeout = timings['ping_timeout']
        self.ping_req_count = timings['ping_req_count']
        self.ping_req_timeout = timings['ping_req_timeout']
        self.suspect_timeout = timings['suspect_timeout']
        self.sync_interval = timings['sync_interval']
        self.bind_host: Final = bind_host
        self.bind_port: Final = bind_port
        self.default_host: Final = default_host
        self.default_port: Final = default_port
        self.discovery: Final = discovery
        self.mtu_size: Final = mtu_size
        #: The wire format in use.
        self.wire: Final[str] = timings['wire']
        self.profile: Final = profile
        self.label: Final = label
        self.keyring_file: Final = keyring_file
        self.allow_cidr: Final = tuple(allow_cidr)
        self.lifeguard: Final[bool] = timings['lifeguard']
        self.offline_retention: Final[float] = timings['offline_retention']
        self.leave_timeout: Final = float(leave_timeout)
        self.metrics_addr: Final = metrics_addr

    @classmethod
    def add_arguments(cls, parser: ArgumentParser, *,
                      prefix: str = '--') -> None:
        """The seed's options (``--udp-bind``, ``--udp-bind-port``, ``--udp-host``,
        ``--udp-port``, ``--udp-discovery``) and ours (``--wire``, ``--profile``,
        ``--label``, ``--keyring-file``, ``--allow-cidr``, ``--metrics-addr``), as the Rust
        tools name them."""
        super().add_arguments(parser, prefix=prefix)
        group = parser.add_argument_group('swim udp options')
        group.add_argument(f'{prefix}udp-bind', metavar='INTERFACE',
                           dest='swim_udp_bind',
                           help='The bind IP address.')
        group.add_argument(f'{prefix}udp-bind-port', metavar='NUM', type=int,
                           dest='swim_udp_bind_port',
                           help='The bind port.')
        group.add_argument(f'{prefix}udp-host', metavar='NAME',
                           dest='swim_udp_host',
                           help='The default remote hostname.')
        group.add_argument(f'{prefix}udp-port', metavar='NUM', type=int,
                           dest='swim_udp_port',
                           help='The default port number.')
        group.add_argument(f'{prefix}udp-discovery', action='store_true',
                           dest='swim_udp_discovery',
                           help='Find cluster with DNS discovery.')
        group.add_argument(f'{prefix}wire', choices=WIRES, dest='swim_wire',
                           help='The wire format (default: native).')
        group.add_argument(f'{prefix}profile', metavar='NAME',
                           dest='swim_profile',
                           help='Timings: lan, wan, local or seed.')
        group.add_argument(f'{prefix}label', metavar='LABEL',
                           dest='swim_label', help='The cluster label.')
        group.add_argument(f'{prefix}keyring-file', metavar='PATH',
                           dest='swim_keyring_file',
                           help='Keyring file (base64 keys): encryption.')
        group.add_argument(f'{prefix}metrics-addr', metavar='HOST:PORT',
                           dest='swim_metrics_addr',
                           help='Serve metrics and a status page here.')
        group.add_argument(f'{prefix}allow-cidr', metavar='CIDR',
                           dest='swim_allow_cidr', action='append',
                           default=[], help='Allowed source network.')

    @classmethod
    def parse_args(cls, args: Namespace, *, env_prefix: str = 'SWIM') \
            -> dict[str, Any]:
        """The seed's keyword arguments and ours from ``args``; ours also fall back to
        ``SWIM_WIRE``, ``SWIM_PROFILE``, ``SWIM_LABEL``, ``SWIM_KEYRING_FILE`` and
        ``SWIM_METRICS_ADDR``."""
        kwargs = super().parse_args(args, env_prefix=env_prefix)
        kwargs |= {
            'bind_host': args.swim_udp_bind,
            'bind_port': args.swim_udp_bind_port,
            'default_host': args.swim_udp_host,
            'default_port': args.swim_udp_port,
            'discovery': args.swim_udp_discovery}
        extras = {
            'wire': (getattr(args, 'swim_wire', None), 'WIRE'),
            'profile': (getattr(args, 'swim_profile', None), 'PROFILE'),
            'label': (getattr(args, 'swim_label', None), 'LABEL'),
            'keyring_file': (getattr(args, 'swim_keyring_file', None),
                             'KEYRING_FILE'),
            'metrics_addr': (getattr(args, 'swim_metrics_addr', None),
                             'METRICS_ADDR'),
        }
        for key, (value, env) in extras.items():
            value = value or cls._env_value(env_prefix, env)
            if value is not None:
                kwargs[key] = value
        allow = getattr(args, 'swim_allow_cidr', None)
        if allow:
            kwargs['allow_cidr'] = allow
        return kwargs

    @classmethod
    def _env_value(cls, env_prefix: str, env: str) -> Optional[str]:
        return os.getenv(f'{env_prefix}_{env}')


def _port(what: str, value: Any) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f'{what} must be a port number, not {value!r}') from exc
    if not 0 <= port <= 65535:
        raise ConfigError(f'{what} is {port}, expected 0 to 65535')
    return port
