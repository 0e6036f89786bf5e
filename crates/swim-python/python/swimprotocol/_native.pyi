"""Types of the extension module (the engine side, in Rust)."""

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Optional, TypeAlias

#: ``(name, local, clock, status, status_time, metadata, left)``: ``status`` is a
#: :class:`~swimprotocol.status.Status` name, ``status_time`` seconds since the epoch,
#: ``metadata`` ``None`` while unknown.
Snapshot: TypeAlias = tuple[str, bool, int, str, float, Optional[dict[str, bytes]], bool]

class NativeConfig:
    @property
    def local_name(self) -> str: ...
    def timings(self) -> dict[str, Any]: ...
    def canonical_name(self, name: str) -> str: ...

class Engine:
    @property
    def name(self) -> str: ...
    @property
    def addr(self) -> str: ...
    @property
    def metrics_addr(self) -> Optional[str]: ...
    def members(self) -> list[Snapshot]: ...
    def set_local_metadata(self, metadata: Mapping[str, bytes]) -> None: ...
    def add_peer(self, peer: str) -> None: ...
    def leave(self, timeout: float) -> bool: ...
    def shutdown(self) -> None: ...
    def stats(self) -> dict[str, int]: ...
    def metrics(self) -> str: ...

def make_config(
    *,
    local_name: str,
    peers: Sequence[str],
    local_metadata: Mapping[str, bytes],
    secret: Optional[bytes],
    ping_interval: Optional[float] = None,
    ping_timeout: Optional[float] = None,
    ping_req_count: Optional[int] = None,
    ping_req_timeout: Optional[float] = None,
    suspect_timeout: Optional[float] = None,
    sync_interval: Optional[float] = None,
    profile: Optional[str] = None,
    wire: str = "native",
    bind_host: Optional[str] = None,
    bind_port: Optional[int] = None,
    default_host: Optional[str] = None,
    default_port: Optional[int] = None,
    discovery: bool = False,
    mtu_size: int = 1500,
    label: Optional[str] = None,
    keyring_file: Optional[str] = None,
    allow_cidr: Sequence[str] = ...,
    lifeguard: Optional[bool] = None,
    offline_retention: Optional[float] = None,
    metrics_addr: Optional[str] = None,
) -> NativeConfig: ...

def start(
    config: NativeConfig,
    deliver: Callable[[list[Snapshot]], None],
    event_loop: asyncio.AbstractEventLoop,
) -> Engine: ...
