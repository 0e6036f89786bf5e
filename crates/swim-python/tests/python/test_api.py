"""The seed's API without a network: names, signatures, config errors, argparse, the
Members set before start, Status and Listener."""

from __future__ import annotations

import argparse
import asyncio
import base64
import inspect
import math
from pathlib import Path

import pytest

from swimprotocol.config import BaseConfig, ConfigError, TransientConfigError
from swimprotocol.listener import Listener
from swimprotocol.members import Member, Members, MemberSnapshot
from swimprotocol.status import Status
from swimprotocol.transport import Transport, load_transport
from swimprotocol.udp import UdpConfig, UdpTransport
from swimprotocol.worker import Worker

from conftest import config, free_name


def test_the_seed_module_layout_and_exports() -> None:
    import swimprotocol.udp
    assert swimprotocol.udp.__all__ == ['UdpConfig', 'UdpTransport']
    from swimprotocol.udp.config import UdpConfig as Same
    assert Same is UdpConfig
    assert issubclass(UdpConfig, BaseConfig)
    assert issubclass(UdpTransport, Transport)
    assert issubclass(TransientConfigError, ConfigError)
    assert load_transport('udp') is UdpTransport
    assert load_transport() is UdpTransport
    with pytest.raises(KeyError):
        load_transport('carrier-pigeon')


def test_the_seed_signatures_and_defaults() -> None:
    params = inspect.signature(BaseConfig.__init__).parameters
    defaults = {name: p.default for name, p in params.items()
                if p.default is not inspect.Parameter.empty}
    assert defaults['local_metadata'] == {}
    assert (defaults['ping_interval'], defaults['ping_timeout'],
            defaults['ping_req_count'], defaults['ping_req_timeout'],
            defaults['suspect_timeout'], defaults['sync_interval']) \
        == (1.0, 0.3, 1, 0.9, 5.0, 0.5)
    udp = inspect.signature(UdpConfig.__init__).parameters
    for name, default in [('bind_host', None), ('bind_port', None), ('default_host', None),
                          ('default_port', None), ('discovery', False), ('mtu_size', 1500)]:
        assert udp[name].default == default, name
        assert udp[name].kind is inspect.Parameter.KEYWORD_ONLY
    assert list(inspect.signature(Members).parameters) == ['config']
    assert list(inspect.signature(Worker).parameters) == ['config', 'members']
    assert list(inspect.signature(UdpTransport).parameters) == ['config', 'worker']


def test_timings_default_to_the_seed_and_a_profile_replaces_them() -> None:
    seed = config(free_name(), [], profile=None)
    assert (seed.ping_interval, seed.ping_timeout, seed.ping_req_count,
            seed.ping_req_timeout, seed.suspect_timeout, seed.sync_interval) \
        == (1.0, 0.3, 1, 0.9, 5.0, 0.5)
    lan = config(free_name(), [], profile='lan')
    assert (lan.ping_timeout, lan.ping_req_count, lan.suspect_timeout) == (0.2, 3, 4.0)
    # A timing passed explicitly wins over the profile, even when it equals the seed's.
    mixed = config(free_name(), [], profile='lan', ping_timeout=0.3, suspect_timeout=7)
    assert (mixed.ping_timeout, mixed.suspect_timeout, mixed.ping_req_count) \
        == (0.3, 7.0, 3)
    assert seed.wire == 'native' and seed.lifeguard


@pytest.mark.parametrize('kwargs, message', [
    ({'local_name': ''}, 'needs a local name'),
    ({'local_name': 'host:notaport'}, 'local name'),
    ({'local_name': '127.0.0.1:70000'}, 'local name'),
    ({'peers': ['127.0.0.1:0']}, 'peer'),
    ({'peers': ['bad name:1:2:x']}, 'peer'),
    ({'peers': '127.0.0.1:2002'}, 'sequence'),
    ({'mtu_size': 100}, 'mtu_size'),
    ({'secret': b''}, 'secret'),
    ({'secret': 42}, 'secret'),
    ({'wire': 'carrier-pigeon'}, 'wire'),
    ({'profile': 'fastest'}, 'profile'),
    ({'ping_interval': -1.0}, 'ping_interval'),
    ({'suspect_timeout': math.nan}, 'suspect_timeout'),
    ({'ping_interval': 0.0}, 'ping_interval'),
    ({'ping_req_count': -1}, 'ping_req_count'),
    ({'bind_port': 65536}, 'bind_port'),
    ({'bind_port': 'eighty'}, 'bind_port'),
    ({'bind_host': 'no-such-host.invalid'}, 'bind_host'),
    ({'label': 'x' * 256}, 'label'),
    ({'allow_cidr': ['10.0.0.0/33']}, 'allow_cidr'),
    ({'keyring_file': '/nonexistent/swim-keyring'}, '/nonexistent/swim-keyring'),
    ({'mtu_size': 2 ** 70}, '.+'),
    ({'ping_req_count': 2 ** 70}, '.+'),
    ({'default_port': -1}, 'default_port'),
    ({'peers': ['127.0.0.1:2002', '']}, 'peer'),
    ({'local_name': 'x' * 300 + ':1'}, 'local name'),
])
def test_bad_configuration_raises_config_error(kwargs: dict[str, object],
                                               message: str) -> None:
    args: dict[str, object] = {'local_name': free_name(), 'peers': [],
                               'secret': 's'}
    args.update(kwargs)
    with pytest.raises(ConfigError, match=message):
        UdpConfig(**args)  # type: ignore[arg-type]


def test_a_bad_keyring_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / 'keyring'
    bad.write_text('this is not base64!\n')
    with pytest.raises(ConfigError, match='keyring'):
        config(free_name(), [], keyring_file=str(bad))
    good = tmp_path / 'good'
    good.write_text(base64.b64encode(bytes(range(32))).decode() + '\n')
    assert config(free_name(), [], keyring_file=str(good)).keyring_file == str(good)


@pytest.mark.parametrize('metadata, message', [
    ({'name': 'one'}, "value of 'name' must be bytes, not str"),
    ({'n': 1}, 'must be bytes, not int'),
    ({1: b'x'}, 'keys must be str'),
    (['name', b'one'], 'mapping'),
])
def test_metadata_must_map_str_to_bytes(metadata: object, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        config(free_name(), [], metadata=metadata)  # type: ignore[arg-type]


def test_add_arguments_and_from_args_take_the_seed_flags() -> None:
    parser = argparse.ArgumentParser()
    UdpConfig.add_arguments(parser)
    args = parser.parse_args([
        '--name', '127.0.0.1:2001', '--peer', '127.0.0.1:2002', '--peer',
        '127.0.0.1:2003', '--secret', 'shh', '--udp-bind', '127.0.0.1',
        '--udp-bind-port', '2001', '--udp-port', '9000', '--wire', 'auto',
        '--profile', 'wan', '--label', 'prod'])
    made = UdpConfig.from_args(args, local_metadata={'k': b'v'})
    assert made.local_name == '127.0.0.1:2001'
    assert list(made.peers) == ['127.0.0.1:2002', '127.0.0.1:2003']
    assert (made.bind_host, made.bind_port, made.default_port) == ('127.0.0.1', 2001, 9000)
    assert (made.wire, made.profile, made.label) == ('auto', 'wan', 'prod')
    assert made.ping_interval == 3.0
    assert made.local_metadata == {'k': b'v'}
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(['--name', 'x:1', '--no-such-flag'])
    assert exit_info.value.code == 2


def test_a_prefix_keeps_the_destinations() -> None:
    parser = argparse.ArgumentParser()
    UdpConfig.add_arguments(parser, prefix='--cluster-')
    args = parser.parse_args(['--cluster-name', '127.0.0.1:2001', '--cluster-secret', 's'])
    assert UdpConfig.from_args(args).local_name == '127.0.0.1:2001'


def test_environment_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    UdpConfig.add_arguments(parser)
    secret_file = tmp_path / 'secret'
    secret_file.write_text('from a file\n')
    monkeypatch.setenv('SWIM_NAME', '127.0.0.1:2001')
    monkeypatch.setenv('SWIM_PEERS', '127.0.0.1:2002,127.0.0.1:2003')
    monkeypatch.setenv('SWIM_SECRET_FILE', str(secret_file))
    monkeypatch.setenv('SWIM_WIRE', 'python')
    kwargs = UdpConfig.parse_args(parser.parse_args([]))
    assert kwargs['local_name'] == '127.0.0.1:2001'
    assert kwargs['peers'] == ['127.0.0.1:2002', '127.0.0.1:2003']
    assert kwargs['secret'] == 'from a file'
    assert UdpConfig.from_args(parser.parse_args([])).wire == 'python'
    # A flag wins over the environment.
    assert UdpConfig.parse_args(parser.parse_args(['--name', '127.0.0.1:9']))[
        'local_name'] == '127.0.0.1:9'
    # A secret file that cannot be read is an error, not a silently missing secret.
    monkeypatch.setenv('SWIM_SECRET_FILE', str(tmp_path / 'missing'))
    with pytest.raises(ConfigError, match='SWIM_SECRET_FILE'):
        UdpConfig.from_args(parser.parse_args([]))
    monkeypatch.delenv('SWIM_SECRET_FILE')
    monkeypatch.delenv('SWIM_NAME')
    with pytest.raises(ConfigError, match='local name'):
        UdpConfig.from_args(parser.parse_args([]))


def test_status_is_the_seed_flag_enum() -> None:
    assert Status.AVAILABLE == Status.ONLINE | Status.SUSPECT
    assert Status.UNAVAILABLE == Status.OFFLINE | Status.SUSPECT
    assert Status.ALL == Status.AVAILABLE | Status.UNAVAILABLE
    assert Status.SUSPECT & Status.AVAILABLE and Status.SUSPECT & Status.UNAVAILABLE
    assert not Status.OFFLINE & Status.AVAILABLE
    assert Status.OFFLINE.transition(Status.SUSPECT) == Status.OFFLINE
    assert Status.ONLINE.transition(Status.OFFLINE) == Status.SUSPECT
    assert Status.SUSPECT.transition(Status.ONLINE) == Status.ONLINE
    with pytest.raises(ValueError):
        Status.ONLINE.transition(Status.AVAILABLE)
    assert {s.name for s in Status.all_statuses()} == {
        'ONLINE', 'OFFLINE', 'SUSPECT', 'AVAILABLE', 'UNAVAILABLE', 'ALL'}


async def test_members_before_start_is_a_set_of_stable_members() -> None:
    local, peer = free_name(), free_name()
    members = Members(config(local, [peer], {'name': b'one'}))
    assert len(members) == 2
    assert members.local.name == local and members.local.local
    assert members.local.status == Status.ONLINE
    assert dict(members.local.metadata) == {'name': b'one'}
    (other,) = members.non_local
    assert other.name == peer and not other.local
    assert other.status == Status.OFFLINE
    assert other.metadata is Member.METADATA_UNKNOWN
    assert members.get(peer) is other
    assert other in members and local in members and 'nobody' not in members
    assert set(members.get_status(Status.OFFLINE)) == {other}
    assert not members.get_status(Status.AVAILABLE)
    assert members.find(5, status=Status.OFFLINE) == frozenset({other})
    assert members.find(5, status=Status.OFFLINE, exclude={other}) == frozenset()
    assert sorted(members) == sorted([members.local, other])
    assert hash(other) == hash(Member(peer, False)) and other == Member(peer, False)
    third = members.get('127.0.0.1:1')
    assert third in members.non_local and len(members) == 3
    assert isinstance(other.previous, MemberSnapshot)


async def test_update_of_the_local_metadata_notifies_once() -> None:
    members = Members(config(free_name(), [], {'name': b'one'}))
    seen: list[tuple[str, dict[str, bytes], dict[str, bytes]]] = []

    def record(member: Member, tag: str) -> None:
        seen.append((tag, dict(member.metadata), dict(member.previous.metadata)))

    async with members.listener.on_notify(record, 'changed'):
        clock = members.local.clock
        members.update(members.local, new_metadata={'name': b'two'})
        members.update(members.local, new_metadata={'name': b'two'})  # no change
        await asyncio.sleep(0.05)
    assert seen == [('changed', {'name': b'two'}, {'name': b'one'})]
    assert members.local.clock > clock
    with pytest.raises(TypeError, match='bytes'):
        members.update(members.local, new_metadata={'name': 'three'})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match='local'):
        members.update(members.get('127.0.0.1:1'), new_metadata={})
    with pytest.raises(ValueError, match='ONLINE'):
        members.update(members.local, new_status=Status.OFFLINE)


async def test_listener_poll_and_callbacks_plain_and_async() -> None:
    listener: Listener[int] = Listener()
    poll = asyncio.ensure_future(listener.poll())
    await asyncio.sleep(0)
    listener.notify(1)
    listener.notify(2)
    assert list(await poll) == [1, 2]
    plain: list[int] = []
    from_coroutine: list[tuple[int, str]] = []

    async def slow(item: int, tag: str) -> None:
        await asyncio.sleep(0.01)
        from_coroutine.append((item, tag))

    async with listener.on_notify(plain.append), listener.on_notify(slow, 'x'):
        for i in range(5):
            listener.notify(i)
            if i % 2:
                await asyncio.sleep(0)
        await asyncio.sleep(0.1)
    assert plain == [0, 1, 2, 3, 4]
    assert sorted(from_coroutine) == [(i, 'x') for i in range(5)]
    listener.notify(99)  # nobody listens any more
    await asyncio.sleep(0.01)
    assert plain == [0, 1, 2, 3, 4]


def test_the_console_scripts_are_our_rust_tools() -> None:
    import subprocess
    import sys

    from conftest import rust_tool
    for tool in ('swim-protocol-sync', 'swim-protocol-demo'):
        script = Path(sys.executable).parent / tool
        assert script.exists(), f'{script} is not installed with the wheel'
        done = subprocess.run([script, '--help'], capture_output=True, text=True,
                              timeout=30)
        assert done.returncode == 0, done.stderr
        assert '--name' in done.stdout and '--wire' in done.stdout
        built = subprocess.run([rust_tool(tool), '--help'], capture_output=True,
                               text=True, timeout=30)
        assert done.stdout == built.stdout
