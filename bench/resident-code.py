#!/usr/bin/env python3
"""Which code of a running process's binary is resident, by crate.

    bench/resident-code.py PID SYMBOLS [TOP]

PID: a running swim-protocol-sync (any build); SYMBOLS: an unstripped binary of the very
same build (strip = false changes no loaded byte: e.g. `CARGO_PROFILE_DIST_STRIP=false
CARGO_TARGET_DIR=target/syms` and the build command of deploy/cargo.sh's dist_build, or the
unstripped file before `strip -o`; the stripped binary itself gives the segments and
sections only). Reads /proc/PID/maps and /proc/PID/pagemap (only the
present bit, which needs no privilege beyond reading the process) and `nm -S -C SYMBOLS`; prints
each segment's and each loaded section's resident and mapped KiB, then the code of each crate (the first path segment
of a symbol's demangled name; "C/asm" for unmangled names: the C library when it is linked
in, compiler builtins) that lies on resident pages, against its size, the TOP (30) largest.
"""
import collections
import os
import struct
import subprocess
import sys

PAGE = os.sysconf('SC_PAGE_SIZE')


def crate_of(name):
    if '::' not in name:
        return 'C/asm'
    n = name.lstrip('<&_[').replace('dyn ', '')
    return n.split('::')[0].split(' ')[0].lstrip('<&*[(')


def main():
    pid, symbols = sys.argv[1], sys.argv[2]
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    exe = os.readlink(f'/proc/{pid}/exe')
    maps = []
    with open(f'/proc/{pid}/maps') as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 6 and fields[5] == exe:
                start, end = (int(x, 16) for x in fields[0].split('-'))
                maps.append((start, end, fields[1], int(fields[2], 16)))
    if not maps:
        sys.exit(f'no mapping of {exe} in process {pid}')
    present = set()
    resident, mapped = collections.Counter(), collections.Counter()
    with open(f'/proc/{pid}/pagemap', 'rb') as pagemap:
        for start, end, perm, _ in maps:
            pagemap.seek(start // PAGE * 8)
            data = pagemap.read((end - start) // PAGE * 8)
            for i in range(0, len(data), 8):
                (entry,) = struct.unpack('<Q', data[i:i + 8])
                mapped[perm] += PAGE // 1024
                if entry >> 63:
                    resident[perm] += PAGE // 1024
                    present.add(start + i // 8 * PAGE)
    # The load bias: the lowest mapping minus its file offset (PIE and static-PIE alike).
    bias = min(start - offset for start, _, _, offset in maps)
    for perm in mapped:
        print(f'segment {perm}: {resident[perm]} KiB resident of {mapped[perm]} KiB')
    # Each loaded section's pages (a page shared by two sections counts for both).
    headers = subprocess.run(['readelf', '-SW', symbols], capture_output=True, text=True,
                             check=True).stdout
    for line in headers.splitlines():
        fields = line.replace('[ ', '[').split()
        if len(fields) < 6 or not fields[0].startswith('[') or not fields[0].endswith(']'):
            continue
        try:
            name, addr, length = fields[1], int(fields[3], 16), int(fields[5], 16)
        except ValueError:
            continue
        if addr == 0 or length < PAGE:
            continue
        pages = range(bias + addr - addr % PAGE, bias + addr + length, PAGE)
        kib = sum(PAGE for page in pages if page in present) // 1024
        print(f'section {name}: {kib} KiB resident of {len(pages) * PAGE // 1024} KiB')
    on, size = collections.Counter(), collections.Counter()
    # A stripped binary has no symbols: then only the segments and sections are printed.
    listing = subprocess.run(['nm', '-S', '-C', symbols], capture_output=True, text=True,
                             errors='replace').stdout
    for line in listing.splitlines():
        parts = line.split(' ', 3)
        if len(parts) < 4 or not parts[0] or parts[2] not in ('t', 'T', 'w', 'W'):
            continue
        addr, length, crate = int(parts[0], 16) + bias, int(parts[1], 16), crate_of(parts[3])
        at = addr
        while at < addr + length:
            page = at - at % PAGE
            upto = min(addr + length, page + PAGE)
            if page in present:
                on[crate] += upto - at
            at = upto
        size[crate] += length
    print(f'code in symbols: {sum(on.values()) // 1024} KiB resident of '
          f'{sum(size.values()) // 1024} KiB')
    for crate, count in on.most_common(top):
        print(f'{count // 1024:7d} / {size[crate] // 1024:6d} KiB  {crate}')


if __name__ == '__main__':
    main()
