"""Helpers of the swimprotocol test suite: free ports, polling with a deadline, members
started and stopped around a test, and the external programs some tests run."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, Optional

import pytest

from swimprotocol.members import Members
from swimprotocol.udp import UdpConfig, UdpTransport
from swimprotocol.worker import Worker

REPO = Path(__file__).resolve().parents[4]


def free_port() -> int:
    """A port free on 127.0.0.1 for both UDP and TCP at the time of asking."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(('127.0.0.1', 0))
            port: int = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(('127.0.0.1', port))
                except OSError:
                    continue
            return port


def free_name() -> str:
    return f'127.0.0.1:{free_port()}'


async def until(predicate: Callable[[], Any], timeout: float = 20.0,
                what: str = 'condition') -> Any:
    """Polls ``predicate`` every 50 ms until it is truthy; fails after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f'timed out after {timeout} s waiting for {what}')
        await asyncio.sleep(0.05)


class Node:
    """One member: its config, members, worker and transport."""

    def __init__(self, config: UdpConfig) -> None:
        self.config = config
        self.members = Members(config)
        self.worker = Worker(config, self.members)
        self.transport = UdpTransport(config, self.worker)

    @property
    def name(self) -> str:
        return self.members.local.name

    def sees(self, name: str, status: str = 'ONLINE',
             metadata: Optional[dict[str, bytes]] = None) -> bool:
        member = next((m for m in self.members.non_local if m.name == name), None)
        if member is None or member.status.name != status:
            return False
        return metadata is None or dict(member.metadata) == metadata


@asynccontextmanager
async def running(config: UdpConfig) -> AsyncIterator[Node]:
    node = Node(config)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(node.transport)
        await stack.enter_async_context(node.worker)
        yield node


def config(name: str, peers: list[str], metadata: Optional[dict[str, bytes]] = None,
           **kwargs: Any) -> UdpConfig:
    kwargs.setdefault('profile', 'local')
    kwargs.setdefault('secret', 'test secret')
    return UdpConfig(local_name=name, peers=peers,
                     local_metadata=metadata or {}, **kwargs)


def required(var: str) -> bool:
    return os.environ.get(var) == '1'


def need_file(path: Optional[Path], what: str, require_var: str) -> Path:
    """``path`` if it exists; else skip with a notice, or fail when ``require_var=1``."""
    if path is not None and path.exists():
        return path
    message = f'{what} not found ({path})'
    if required(require_var):
        pytest.fail(f'{require_var}=1 but {message}')
    pytest.skip(message)


def rust_tool(name: str) -> Path:
    """A binary of crates/swim-tools: in ``$SWIM_TOOLS_DIR``, else the first found of
    target/*/dist (the shipped build .ci/run makes, deploy/cargo.sh) and target/dist (what
    the README installs)."""
    if 'SWIM_TOOLS_DIR' in os.environ:
        directory = Path(os.environ['SWIM_TOOLS_DIR'])
    else:
        shipped = sorted((REPO / 'target').glob(f'*/dist/{name}'))
        directory = shipped[0].parent if shipped else REPO / 'target' / 'dist'
    return need_file(directory / name, f'the Rust tool {name}', 'SWIM_REQUIRE_PYTHON_WHEEL')


def seed_venv_file(relative: str) -> Path:
    """A file of the original package's venv (``$SWIM_PY_VENV``)."""
    venv = os.environ.get('SWIM_PY_VENV')
    path = Path(venv) / relative if venv else None
    return need_file(path, 'the swim-protocol 0.6.3 venv (SWIM_PY_VENV)', 'SWIM_REQUIRE_PY')


@contextmanager
def process(*args: Any, **kwargs: Any) -> Iterator[subprocess.Popen[str]]:
    """A child process, killed and reaped on the way out, even on failure."""
    kwargs.setdefault('stdout', subprocess.PIPE)
    kwargs.setdefault('stderr', subprocess.PIPE)
    kwargs.setdefault('text', True)
    child = subprocess.Popen([str(a) for a in args], **kwargs)
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        try:
            child.communicate(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass


PYTHON = sys.executable


class Lines:
    """The lines a child process writes to ``stream``, collected by a thread as they come,
    so that a test can poll for one (:func:`until`) while the process runs."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.lines.append(line.rstrip('\n'))

    def has(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def text(self) -> str:
        return '\n'.join(self.lines)
