"""The benchmark of docs/python.md: N members of app.py (a small sync-like application
written against the seed's API), once on our package and once on the original
swim-protocol 0.6.3, on this machine, one after the other in the same run.

    python3 bench.py --ours target/pywheel --original target/pyswim --members 20

Each member is a process of its own. Measured per package: join time (from the start of
the processes until every member sees every other ONLINE), metadata spread (from one
member's change until every other member sees it), then, over an idle window, CPU per
member (% of one core), datagrams sent per member per second, and RSS per member.
Prints a table and, with --json, the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional

APP = Path(__file__).with_name('app.py')
TICKS = os.sysconf('SC_CLK_TCK')


def free_port() -> int:
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


class Member:
    def __init__(self, python: Path, name: str, peers: list[str]) -> None:
        self.name = name
        self.process = subprocess.Popen(
            [str(python), str(APP), name, *peers], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.lines: list[list[str]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.split())

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + '\n')
        self.process.stdin.flush()

    def first(self, kind: str, *rest: str) -> Optional[float]:
        for line in list(self.lines):
            if line[0] == kind and tuple(line[2:2 + len(rest)]) == rest:
                return float(line[1])
        return None

    def last(self, kind: str) -> Optional[list[str]]:
        found = [line for line in list(self.lines) if line[0] == kind]
        return found[-1] if found else None

    def cpu_seconds(self) -> float:
        fields = Path(f'/proc/{self.process.pid}/stat').read_text().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def rss_mib(self) -> float:
        for line in Path(f'/proc/{self.process.pid}/status').read_text().splitlines():
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
        return 0.0

    def quit(self) -> None:
        """Asks the member to leave (without waiting)."""
        try:
            self.send('quit')
        except OSError:
            pass

    def stop(self) -> None:
        """Waits for the member to exit, killing it after 10 s."""
        if self.process.poll() is None:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_for(predicate: Any, timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def run(python: Path, count: int, idle: float, join_timeout: float) -> dict[str, Any]:
    names = [f'127.0.0.1:{free_port()}' for _ in range(count)]
    started = time.time()
    members = [Member(python, names[0], [names[1]])]
    members += [Member(python, name, [names[0]]) for name in names[1:]]
    result: dict[str, Any] = {'members': count}
    try:
        wait_for(lambda: all(m.first('READY') for m in members), 60)
        result['start_s'] = round(max(m.first('READY') or 0 for m in members) - started, 2)
        joined = wait_for(lambda: all(m.first('JOINED', str(count - 1)) for m in members),
                          join_timeout)
        if joined:
            result['join_s'] = round(
                max(m.first('JOINED', str(count - 1)) or 0 for m in members) - started, 2)
        else:
            seen = [int((m.last('JOINED') or ['', '', '0'])[2]) for m in members]
            result['join_s'] = None
            result['not_joined'] = (f'after {join_timeout:.0f} s: each member saw '
                                    f'{min(seen)} to {max(seen)} of {count - 1} ONLINE')
        changed = time.time()
        members[0].send('set 1')
        spread = wait_for(lambda: all(m.first('META', names[0], '1') for m in members[1:]),
                          60)
        result['metadata_spread_s'] = round(
            max(m.first('META', names[0], '1') or 0 for m in members[1:]) - changed, 2) \
            if spread else None
        time.sleep(2)
        for m in members:
            m.send('stats')
        wait_for(lambda: all(m.last('STATS') for m in members), 10)
        before = [(m.cpu_seconds(), int((m.last('STATS') or [0, 0, 0])[2]))
                  for m in members]
        count_before = [len([l for l in m.lines if l[0] == 'STATS']) for m in members]
        window = time.time()
        time.sleep(idle)
        for m in members:
            m.send('stats')
        wait_for(lambda: all(len([l for l in m.lines if l[0] == 'STATS']) > c
                             for m, c in zip(members, count_before)), 10)
        elapsed = time.time() - window
        after = [(m.cpu_seconds(), int((m.last('STATS') or [0, 0, 0])[2])) for m in members]
        cpu = [(a[0] - b[0]) / elapsed * 100 for a, b in zip(after, before)]
        sent = [(a[1] - b[1]) / elapsed for a, b in zip(after, before)]
        result['idle_cpu_pct_per_member'] = round(statistics.mean(cpu), 3)
        result['datagrams_per_s_per_member'] = round(statistics.mean(sent), 2)
        result['rss_mib_per_member'] = round(statistics.mean(m.rss_mib() for m in members), 1)
        result['idle_window_s'] = round(elapsed, 1)
    finally:
        for m in members:
            m.quit()
        for m in members:
            m.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--ours', type=Path, required=True,
                        help='venv with swim-protocol-rs installed')
    parser.add_argument('--original', type=Path,
                        help='venv with swim-protocol==0.6.3 installed')
    parser.add_argument('--members', type=int, default=20)
    parser.add_argument('--idle', type=float, default=20.0,
                        help='seconds of the idle window')
    parser.add_argument('--join-timeout', type=float, default=90.0)
    parser.add_argument('--json', action='store_true')
    args = parser.parse_args()
    results = {'ours': run(args.ours / 'bin' / 'python', args.members, args.idle,
                           args.join_timeout)}
    if args.original:
        results['original'] = run(args.original / 'bin' / 'python', args.members,
                                  args.idle, args.join_timeout)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    keys = [k for k in results['ours'] if k != 'members']
    print(f'{args.members} members, one process each; {os.cpu_count()} CPUs')
    print(f'{"":32}' + ''.join(f'{label:>14}' for label in results))
    for key in keys:
        print(f'{key:32}' + ''.join(f'{str(r.get(key)):>14}' for r in results.values()))
    for label, r in results.items():
        if r.get('not_joined'):
            print(f'{label}: {r["not_joined"]}')


if __name__ == '__main__':
    sys.exit(main())
