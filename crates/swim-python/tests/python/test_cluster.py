"""Running members: a 3-member cluster in one process and across processes, the seed's
semantics while members join, change and leave, and clean stops."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from swimprotocol.config import TransientConfigError
from swimprotocol.members import Member
from swimprotocol.status import Status

from conftest import PYTHON, Lines, Node, config, free_name, process, running, until

HERE = Path(__file__).parent


async def test_three_members_in_one_process() -> None:
    names = [free_name() for _ in range(3)]
    labels = [b'one', b'two', b'three']
    changes: dict[str, list[tuple[str, str, dict[str, bytes]]]] = {n: [] for n in names}

    def record(member: Member, observer: str) -> None:
        changes[observer].append((member.name, member.status.name, dict(member.metadata)))

    async with running(config(names[0], [names[1]], {'name': labels[0]})) as a, \
            a.members.listener.on_notify(record, names[0]), \
            running(config(names[1], [names[0]], {'name': labels[1]})) as b, \
            b.members.listener.on_notify(record, names[1]), \
            running(config(names[2], [names[0]], {'name': labels[2]})) as c, \
            c.members.listener.on_notify(record, names[2]):
        nodes = [a, b, c]
        for node in nodes:
            for name, label in zip(names, labels):
                if name != node.name:
                    await until(lambda: node.sees(name, 'ONLINE', {'name': label}),
                                what=f'{node.name} to see {name}')
        # One Member object per name, for the life of the cluster.
        held = {m.name: m for m in a.members.non_local}
        assert set(held) == {names[1], names[2]}
        assert all(m.status == Status.ONLINE for m in held.values())
        assert a.members.get(names[1]) is held[names[1]]
        assert set(a.members.get_status(Status.AVAILABLE)) == set(held.values())
        assert a.members.find(1, status=Status.ONLINE) <= set(held.values())
        assert len(a.members) == 3

        # A metadata change spreads; the callback runs once per change.
        before = len([c for c in changes[names[0]] if c[0] == names[1]])
        b.members.update(b.members.local, new_metadata={'name': b'two', 'v': b'2'})
        await until(lambda: a.sees(names[1], 'ONLINE', {'name': b'two', 'v': b'2'}),
                    what='the new metadata')
        member_b = held[names[1]]
        assert a.members.get(names[1]) is member_b
        assert dict(member_b.previous.metadata) == {'name': b'two'}
        assert member_b.previous.status == Status.ONLINE
        await until(lambda: c.sees(names[1], 'ONLINE', {'name': b'two', 'v': b'2'}))
        after = [c for c in changes[names[0]] if c[0] == names[1]]
        assert len(after) == before + 1, after
        assert a.worker.stats()['udp_packets_sent'] > 0
        assert 'swim_' in a.worker.metrics()

        # Leaving the transport is a graceful leave: the others see OFFLINE at once.
        await c.transport.__aexit__(None, None, None)
        assert not c.worker.running
        await until(lambda: a.sees(names[2], 'OFFLINE') and b.sees(names[2], 'OFFLINE'),
                    timeout=3.0, what='the leave to be seen without waiting for suspicion')
        assert held[names[2]].left
        assert held[names[2]].previous.status == Status.ONLINE
        assert held[names[2]] in a.members.get_status(Status.UNAVAILABLE)
        assert held[names[2]] not in a.members.get_status(Status.AVAILABLE)


async def test_a_name_ending_in_port_zero_takes_the_bound_port() -> None:
    async with running(config('127.0.0.1:0', [])) as node:
        host, _, port = node.name.rpartition(':')
        assert host == '127.0.0.1' and int(port) > 0
        assert node.transport.bind_port == int(port)
        assert node.name in node.members


async def test_a_port_in_use_is_an_os_error() -> None:
    name = free_name()
    async with running(config(name, [])):
        node = Node(config(name, []))
        with pytest.raises(OSError):
            await node.transport.__aenter__()
        assert not node.worker.running


async def test_a_name_that_does_not_resolve_is_a_transient_error() -> None:
    node = Node(config('no-such-host.invalid:2001', []))
    try:
        with pytest.raises(TransientConfigError) as error:
            await node.transport.__aenter__()
        assert error.value.wait_hint > 0
        assert not node.worker.running
    finally:
        await node.worker.stop()


def threads() -> tuple[int, int]:
    """The process's threads (all, and Python's), less the event loop's executor
    threads (a pool that asyncio grows on demand and joins when the loop closes)."""
    executor = sum(1 for t in threading.enumerate() if t.name.startswith('asyncio_'))
    everything = sum(1 for _ in Path('/proc/self/task').iterdir())
    return everything - executor, threading.active_count() - executor


async def test_stopping_leaks_no_thread_and_no_task() -> None:
    # The first start creates the engine's runtime (its worker threads, shared by every
    # member of the process); later members add none and leave none behind.
    async with running(config(free_name(), [])):
        pass
    before = threads()
    tasks = len(asyncio.all_tasks())
    for _ in range(5):
        first, second = free_name(), free_name()
        async with running(config(first, [second])) as a, \
                running(config(second, [first])):
            await until(lambda: a.sees(second))
    # Threads for blocking work (name lookups) end 2 s after their last job.
    await until(lambda: threads() <= before, timeout=10.0,
                what=f'threads {threads()} to go back to {before}')
    assert len(asyncio.all_tasks()) == tasks


async def test_members_in_other_processes_and_ctrl_c() -> None:
    names = [free_name() for _ in range(3)]
    script = HERE / 'member_process.py'
    with process(PYTHON, script, names[1], 'two', names[0]) as two, \
            process(PYTHON, script, names[2], 'three', names[0]) as three:
        out_two, out_three = Lines(two.stdout), Lines(three.stdout)
        async with running(config(names[0], [names[1]], {'name': b'one'})) as one:
            await until(lambda: one.sees(names[1], 'ONLINE', {'name': b'two'})
                        and one.sees(names[2], 'ONLINE', {'name': b'three'}),
                        what='the other processes')
            await until(lambda: out_two.has(f'SEES {names[0]} one')
                        and out_two.has(f'SEES {names[2]} three')
                        and out_three.has(f'SEES {names[0]} one'),
                        what='the other processes to see us and each other')
            # Ctrl-C in one process: asyncio.run's shutdown leaves the cluster.
            two.send_signal(signal.SIGINT)
            await asyncio.to_thread(two.wait, 15)
            assert two.returncode == 0, two.stderr.read() if two.stderr else ''
            await until(lambda: out_two.has('STOPPED'), what='STOPPED')
            await until(lambda: one.sees(names[1], 'OFFLINE'), timeout=3.0,
                        what='the Ctrl-C leave')
            assert one.members.get(names[1]).left
        # Leaving our transport: the third process sees us leave at once.
        await until(lambda: out_three.has(f'LEFT {names[0]}')
                    and out_three.has(f'LEFT {names[1]}'), timeout=3.0,
                    what=f'the third process to see both leave: {out_three.text()}')
        three.send_signal(signal.SIGINT)
        await asyncio.to_thread(three.wait, 15)
        assert three.returncode == 0


def test_a_fresh_interpreter_imports_the_udp_module() -> None:
    done = subprocess.run([PYTHON, '-c', 'import swimprotocol.udp; print("ok")'],
                          capture_output=True, text=True, timeout=30,
                          env={**os.environ, 'PYTHONPATH': ''})
    assert done.stdout.strip() == 'ok', done.stderr


async def test_changes_before_on_notify_reach_the_first_callback() -> None:
    # The engine runs from the moment the transport is entered, so members can join
    # before the application enters on_notify: the first callback still gets them.
    first, second = free_name(), free_name()
    async with running(config(second, [])):
        node = Node(config(first, [second]))
        async with node.transport, node.worker:
            await until(lambda: node.sees(second), what='the join')
            seen: list[tuple[str, str]] = []
            async with node.members.listener.on_notify(
                    lambda m: seen.append((m.name, m.status.name))):
                await until(lambda: (second, 'ONLINE') in seen,
                            what='the held change to reach the callback')
            assert seen.count((second, 'ONLINE')) == 1


async def test_cancelling_the_start_stops_the_engine() -> None:
    name = free_name()
    node = Node(config(name, []))
    entering = asyncio.ensure_future(node.transport.__aenter__())
    await asyncio.sleep(0)
    entering.cancel()
    with pytest.raises(asyncio.CancelledError):
        await entering
    # The engine that started anyway was stopped before the cancellation came through.
    assert port_free(name)
    async with running(config(name, [])) as again:
        assert again.name == name


def port_free(name: str) -> bool:
    host, _, port = name.rpartition(':')
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind((host, int(port)))
            except OSError:
                return False
    return True


async def test_the_metrics_and_status_server() -> None:
    import json
    import urllib.request

    def get(url: str) -> str:
        with urllib.request.urlopen(url, timeout=10) as response:
            body: bytes = response.read()
            return body.decode()

    first, second = free_name(), free_name()
    async with running(config(first, [second], metrics_addr='127.0.0.1:0')) as a, \
            running(config(second, [first])):
        await until(lambda: a.sees(second))
        addr = a.worker.metrics_addr
        assert addr is not None and addr.startswith('127.0.0.1:')
        metrics = await asyncio.to_thread(get, f'http://{addr}/metrics')
        assert 'swim_' in metrics and metrics.rstrip().endswith('# EOF')
        members = await asyncio.to_thread(get, f'http://{addr}/members')
        assert second in json.dumps(json.loads(members))
    # Stopped with the member: nothing listens there any more.
    host, _, port = addr.rpartition(':')
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), timeout=5).close()


async def test_a_metrics_address_in_use_is_an_os_error() -> None:
    taken = free_name()
    async with running(config(taken, [])):
        node = Node(config(free_name(), [], metrics_addr=taken))
        with pytest.raises(OSError, match='metrics'):
            await node.transport.__aenter__()
        assert not node.worker.running
