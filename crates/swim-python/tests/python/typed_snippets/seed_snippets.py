# The "Getting Started" and "Checking Members" code of the swim-protocol 0.6.3 README, as
# an application types it, for `mypy --strict` (test_typing.py). Placeholders are filled,
# and two slips of that README are fixed: `swimprotocol.member` is `swimprotocol.members`,
# and `on_notify` returns an async context manager (`enter_async_context`).
import asyncio
from contextlib import AsyncExitStack

from swimprotocol.members import Member, Members
from swimprotocol.status import Status
from swimprotocol.udp import UdpConfig, UdpTransport
from swimprotocol.worker import Worker

config = UdpConfig(local_name='127.0.0.1:2001',
                   local_metadata={'name': b'one'},
                   peers=['127.0.0.1:2002'],
                   secret='my secret')

members = Members(config)
worker = Worker(config, members)
transport = UdpTransport(config, worker)


async def run() -> None:
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(transport)
        await stack.enter_async_context(worker)
        await stack.enter_async_context(
            members.listener.on_notify(on_member_change))
        await asyncio.sleep(1.0)  # run your application


async def on_member_change(member: Member) -> None:
    name: str = member.name
    status: Status = member.status
    value: bytes = member.metadata.get('name', b'')
    print(name, status, value)


def check_members() -> None:
    for member in members.non_local:
        # all other known cluster members
        print(member.name, member.status, member.metadata)

    for member in members.get_status(Status.AVAILABLE):
        # all cluster members except offline
        print(member.name, member.status, member.metadata)


async def _updated(member: Member) -> None:
    print('updated:', member.name, member.status, member.metadata)


async def listen() -> None:
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(members.listener.on_notify(_updated))
        members.update(members.local, new_metadata={'name': b'two'})
