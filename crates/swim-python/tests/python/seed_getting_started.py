# The "Getting Started" code of the swim-protocol 0.6.3 README, as it is there, with its
# placeholders filled (marked "placeholder") and a main block to run it. The test
# (test_interop.py) replaces the two addresses with free ports before running it.
import asyncio
from typing import NoReturn

from swimprotocol.udp import UdpConfig

config = UdpConfig(local_name='127.0.0.1:2001',
                   local_metadata={'name': b'one'},
                   peers=['127.0.0.1:2002'],
                   secret='my secret')

from contextlib import AsyncExitStack
from swimprotocol.members import Member, Members
from swimprotocol.udp import UdpTransport
from swimprotocol.worker import Worker

members = Members(config)
worker = Worker(config, members)
transport = UdpTransport(config, worker)


async def application() -> NoReturn:  # placeholder: "run your application"
    while True:
        await asyncio.sleep(3600)


async def run() -> None:
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(transport)
        await stack.enter_async_context(worker)
        await stack.enter_async_context(
            members.listener.on_notify(on_member_change))
        await application()  # placeholder: "await ...  # run your application"


async def on_member_change(member: Member) -> None:
    # placeholder: "...  # handle a change in member status or metadata"
    print(member.name, member.status.name, dict(sorted(member.metadata.items())),
          flush=True)


if __name__ == '__main__':
    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
