"""Our package with the others: the seed README's Getting Started code joining our Rust
tools, and a cluster mixing our package, the original swim-protocol 0.6.3 package (its own
venv, Python wire) and our Rust tools."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from conftest import (PYTHON, Lines, config, free_name, process, running,
                      rust_tool, seed_venv_file, until)

HERE = Path(__file__).parent


def mirror(directory: Path, name: str, files: dict[str, str]) -> Path:
    """A sync tool's directory, with the local member's metadata files."""
    (directory / name).mkdir(parents=True)
    for key, value in files.items():
        (directory / name / key).write_text(value)
    return directory


def mirrored(directory: Path, name: str, key: str) -> bytes | None:
    path = directory / name / key
    return path.read_bytes() if path.exists() else None


def online(directory: Path, name: str) -> bool:
    return os.path.islink(directory / '.online' / name)


def offline(directory: Path, name: str) -> bool:
    return os.path.islink(directory / '.offline' / name)


async def test_the_seed_getting_started_code_joins_our_rust_tools(tmp_path: Path) -> None:
    sync = rust_tool('swim-protocol-sync')
    one, two, three = free_name(), free_name(), free_name()
    code = (HERE / 'seed_getting_started.py').read_text()
    assert code.count("'127.0.0.1:2001'") == 1 and code.count("'127.0.0.1:2002'") == 1
    script = tmp_path / 'getting_started.py'
    script.write_text(code.replace("'127.0.0.1:2001'", repr(one))
                      .replace("'127.0.0.1:2002'", repr(two)))
    dir_two = mirror(tmp_path / 'two', two, {'file-two.txt': 'two'})
    dir_three = mirror(tmp_path / 'three', three, {'file-three.txt': 'three'})
    # The tools with their default flags (and the snippet's secret).
    with process(sync, '--name', two, '--peer', one, '--secret', 'my secret', dir_two), \
            process(sync, '--name', three, '--peer', two, '--secret', 'my secret',
                    dir_three), \
            process(PYTHON, script) as app:
        lines = Lines(app.stdout)
        await until(lambda: lines.has(f"{two} ONLINE {{'file-two.txt': b'two'}}")
                    and lines.has(f"{three} ONLINE {{'file-three.txt': b'three'}}"),
                    timeout=30.0, what=f'the callback to see the tools: {lines.text()}')
        await until(lambda: mirrored(dir_two, one, 'name') == b'one'
                    and mirrored(dir_three, one, 'name') == b'one'
                    and online(dir_two, one) and online(dir_three, one),
                    timeout=30.0, what='the tools to see the snippet\'s metadata')
        app.send_signal(signal.SIGINT)
        await asyncio.to_thread(app.wait, 15)
        assert app.returncode == 0
        # It left: the tools mark it OFFLINE at once, without suspecting it first.
        await until(lambda: offline(dir_two, one) and offline(dir_three, one),
                    timeout=4.0, what='the tools to see the snippet leave')


async def test_a_mixed_cluster_with_the_original_package_and_our_tools(
        tmp_path: Path) -> None:
    seed_sync = seed_venv_file('bin/swim-protocol-sync')
    rust_sync = rust_tool('swim-protocol-sync')
    original, ours, tool = free_name(), free_name(), free_name()
    dir_original = mirror(tmp_path / 'original', original, {'file-one.txt': 'one'})
    dir_tool = mirror(tmp_path / 'tool', tool, {'file-three.txt': 'three'})
    with process(seed_sync, '--name', original, '--peer', ours, '--secret', 's',
                 dir_original) as seed, \
            process(rust_sync, '--wire', 'python', '--name', tool, '--peer', original,
                    '--secret', 's', dir_tool):
        async with running(config(ours, [original], {'name': b'two'}, secret='s',
                                  wire='python', profile=None)) as node:
            assert seed.poll() is None
            await until(lambda: node.sees(original, 'ONLINE', {'file-one.txt': b'one'})
                        and node.sees(tool, 'ONLINE', {'file-three.txt': b'three'}),
                        timeout=40.0, what='our member to see the original and the tool')
            await until(lambda: mirrored(dir_original, ours, 'name') == b'two'
                        and online(dir_original, ours)
                        and mirrored(dir_original, tool, 'file-three.txt') == b'three'
                        and mirrored(dir_tool, ours, 'name') == b'two'
                        and mirrored(dir_tool, original, 'file-one.txt') == b'one',
                        timeout=40.0, what='the original and the tool to see everyone')
            # A metadata change from Python reaches the original package.
            node.members.update(node.members.local, new_metadata={'name': b'2'})
            await until(lambda: mirrored(dir_original, ours, 'name') == b'2',
                        timeout=40.0, what='the original to see the new metadata')
