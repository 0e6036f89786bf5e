"""One member of the benchmark's small sync-like application, written against the seed's
API only (it runs unchanged on swim-protocol 0.6.3 and on swim-protocol-rs).

    python app.py NAME PEER... < commands

It keeps the cluster's metadata in a dict, as the sync tool keeps it in files, and prints
one line per event on standard output, with ``time.time()``:

    READY t                  the member runs
    JOINED t n               it sees n other members ONLINE (each time n grows)
    META t name value        it sees member name's 'v' metadata become value
    STATS t sent             datagrams this member sent so far (on request)

Commands on standard input: ``set VALUE`` (change the local 'v' metadata), ``stats``,
``quit``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from contextlib import AsyncExitStack
from typing import Any

from swimprotocol.members import Member, Members
from swimprotocol.status import Status
from swimprotocol.udp import UdpConfig, UdpTransport
from swimprotocol.worker import Worker

SENT = 0


def count_datagrams() -> None:
    """For the original package, which has no counters: count its sendto calls."""
    from asyncio import selector_events

    transport_type: Any = selector_events._SelectorDatagramTransport
    original = transport_type.sendto

    def sendto(self: Any, data: Any, addr: Any = None) -> None:
        global SENT
        SENT += 1
        original(self, data, addr)

    transport_type.sendto = sendto


def say(*words: object) -> None:
    print(*words, flush=True)


async def main(name: str, peers: list[str]) -> None:
    config = UdpConfig(local_name=name, peers=peers, secret='bench',
                       local_metadata={'name': name.encode(), 'v': b'0'})
    members = Members(config)
    worker = Worker(config, members)
    transport = UdpTransport(config, worker)
    mirror: dict[str, dict[str, bytes]] = {}
    joined = 0

    async def on_change(member: Member) -> None:
        nonlocal joined
        previous = mirror.get(member.name, {}).get('v')
        mirror[member.name] = dict(member.metadata)
        if mirror[member.name].get('v') != previous and 'v' in mirror[member.name]:
            say('META', time.time(), member.name, mirror[member.name]['v'].decode())
        online = len(members.get_status(Status.ONLINE))
        if online > joined:
            joined = online
            say('JOINED', time.time(), online)

    loop = asyncio.get_running_loop()
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(transport)
        await stack.enter_async_context(worker)
        await stack.enter_async_context(members.listener.on_notify(on_change))
        say('READY', time.time())
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            command = line.split()
            if not command or command[0] == 'quit':
                break
            if command[0] == 'set':
                members.update(members.local, new_metadata={
                    'name': name.encode(), 'v': command[1].encode()})
            elif command[0] == 'stats':
                stats = getattr(worker, 'stats', None)
                sent = stats()['udp_packets_sent'] if stats else SENT
                say('STATS', time.time(), sent)


if __name__ == '__main__':
    if not hasattr(Worker, 'stats'):
        count_datagrams()
    asyncio.run(main(sys.argv[1], sys.argv[2:]))
