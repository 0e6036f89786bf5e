"""A member in a process of its own, for the cross-process tests: the seed's Getting
Started shape. Prints ``SEES NAME VALUE`` each time a member's ``name`` metadata is seen
ONLINE and ``LEFT NAME`` when one goes OFFLINE, then runs until SIGINT (Ctrl-C)."""

from __future__ import annotations

import asyncio
import sys
from contextlib import AsyncExitStack

from swimprotocol.members import Member, Members
from swimprotocol.udp import UdpConfig, UdpTransport
from swimprotocol.worker import Worker


def main() -> None:
    name, label, *peers = sys.argv[1:]
    config = UdpConfig(local_name=name, local_metadata={'name': label.encode()},
                       peers=peers, secret='test secret', profile='local')
    members = Members(config)
    worker = Worker(config, members)
    transport = UdpTransport(config, worker)

    def on_member_change(member: Member) -> None:
        if member.status.name == 'ONLINE' and 'name' in member.metadata:
            print('SEES', member.name, member.metadata['name'].decode(), flush=True)
        elif member.status.name == 'OFFLINE':
            print('LEFT', member.name, flush=True)

    async def run() -> None:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(transport)
            await stack.enter_async_context(worker)
            await stack.enter_async_context(members.listener.on_notify(on_member_change))
            print('READY', members.local.name, flush=True)
            await asyncio.Event().wait()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        print('STOPPED', flush=True)


if __name__ == '__main__':
    main()
