"""A member of the Python package, for interoperation tests.

Usage: py_member.py NAME PEER SECRET
Prints its view of the cluster as one JSON line every 50 ms:
{"name": [status, {key: value hex}], ...}. Reads commands on stdin, one per line:
"meta KEY SIZE" sets local metadata KEY to SIZE bytes of 0x2a. Exits when stdin closes.
$SWIM_PY_TIMINGS, if set, replaces the timings: "PING,PING_TIMEOUT,PING_REQ_TIMEOUT,
SUSPECT_TIMEOUT,SYNC_INTERVAL" in seconds.
"""
import os
import asyncio
import json
import sys
from contextlib import AsyncExitStack

from swimprotocol.members import Members
from swimprotocol.udp import UdpConfig, UdpTransport
from swimprotocol.worker import Worker


def view(members):
    return {m.name: [m.status.name, {k: v.hex() for k, v in m.metadata.items()}]
            for m in members}


async def main(name, peer, secret):
    timings = [0.1, 0.04, 0.09, 1.0, 0.05]
    if os.environ.get('SWIM_PY_TIMINGS'):
        timings = [float(t) for t in os.environ['SWIM_PY_TIMINGS'].split(',')]
    ping, ping_timeout, ping_req_timeout, suspect, sync = timings
    config = UdpConfig(local_name=name, local_metadata={'name': b'python'},
                       peers=[peer], secret=secret, ping_interval=ping,
                       ping_timeout=ping_timeout, ping_req_timeout=ping_req_timeout,
                       suspect_timeout=suspect, sync_interval=sync)
    members = Members(config)
    worker = Worker(config, members)
    transport = UdpTransport(config, worker)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(transport)
        await stack.enter_async_context(worker)

        async def commands():
            while line := await reader.readline():
                words = line.decode().split()
                if len(words) == 3 and words[0] == 'meta':
                    metadata = dict(members.local.metadata)
                    metadata[words[1]] = b'\x2a' * int(words[2])
                    members.update(members.local, new_metadata=metadata)

        command_task = asyncio.create_task(commands())
        while not command_task.done():
            print(json.dumps(view(members)), flush=True)
            await asyncio.sleep(0.05)


if __name__ == '__main__':
    asyncio.run(main(*sys.argv[1:4]))
