# The seed README's slip, which mypy --strict must refuse: `on_notify` returns an async
# context manager, not a context manager (test_typing.py).
from contextlib import AsyncExitStack

from swimprotocol.members import Member, Members
from swimprotocol.udp import UdpConfig

members = Members(UdpConfig(local_name='127.0.0.1:2001', peers=[], secret=None))


async def _updated(member: Member) -> None:
    print('updated:', member.name, member.status, member.metadata)


async def listen() -> None:
    async with AsyncExitStack() as stack:
        stack.enter_context(members.listener.on_notify(_updated))
