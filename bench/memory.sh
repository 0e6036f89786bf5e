#!/usr/bin/env bash
# The memory of swim-protocol-sync processes: starts N members of each given binary on
# loopback (in a private network namespace, as bench/cluster.sh does; one cluster at a time,
# binaries in the order given, each --rounds times, alternating), waits until every member
# lists all others in .online, waits --settle seconds more, and prints the means over the N
# processes of /proc/PID/smaps_rollup (Rss, Pss, private = Private_Clean + Private_Dirty)
# and of each mapping's Rss from /proc/PID/smaps, grouped: the binary, each shared library,
# [heap], [stack] (the main thread's), other named ([vdso], [vvar]) and anonymous mappings
# (the other threads' stacks, which glibc does not name, and the allocator's other arenas).
#
#   [TMPDIR=/dev/shm] nice bench/memory.sh [-n N] [--settle S] [--rounds R] BIN [BIN ...]
#
# Prints one block per binary and round; the last line of each block, `summary`, has the
# figures on one line.
#
# Each binary runs from a fresh copy in the cluster's directory (under TMPDIR): how much of a
# mapped file becomes resident depends on how its pages sit in the page cache. A fault maps
# the cached pages around it (64 KiB, the kernel's fault-around) or the whole large folio it
# falls in: one byte read from a binary just written by the linker or `cp` on ext4 makes
# 2 MiB resident on kernel 6.18, while from tmpfs (no huge pages) or after the page cache was
# filled by faults (a binary read from disk) it makes 56-64 KiB. The same file can thus
# measure 0.2 MB apart from one run to the next; a copy on tmpfs is the same for every binary.
set -euo pipefail

n=40
settle=8
rounds=1
base_port=24000
timeout=180
bins=()
while [[ $# -gt 0 ]]; do
    case $1 in
        -n) n=$2; shift 2 ;;
        --settle) settle=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --port) base_port=$2; shift 2 ;;
        --timeout) timeout=$2; shift 2 ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        -*) echo "unknown argument: $1" >&2; exit 2 ;;
        *) bins+=("$(realpath "$1")"); shift ;;
    esac
done
[[ $n =~ ^[0-9]+$ && $n -ge 3 ]] || { echo "-n must be at least 3" >&2; exit 2; }
(( ${#bins[@]} > 0 )) || { echo "give at least one binary" >&2; exit 2; }
for bin in "${bins[@]}"; do [[ -x $bin ]] || { echo "no executable $bin" >&2; exit 1; }; done

here=$(cd "$(dirname "$0")" && pwd)
limit=$(cat /proc/sys/fs/inotify/max_user_instances 2>/dev/null || echo 0)
if (( limit < n + 32 )) && [[ $(id -u) -eq 0 ]]; then
    sysctl -q -w fs.inotify.max_user_instances=$((n + 256)) || true
fi
if [[ -z ${SWIM_BENCH_IN_NETNS:-} ]]; then
    if [[ $(id -u) -eq 0 ]]; then ns=(unshare -n); else ns=(unshare -rn); fi
    exec env SWIM_BENCH_IN_NETNS=1 "${ns[@]}" "$0" -n "$n" --settle "$settle" \
        --rounds "$rounds" --port "$base_port" --timeout "$timeout" "${bins[@]}"
fi
ip link set lo up

shopt -s nullglob dotglob
. "$here/wait-online.sh"
name() { echo "127.0.0.1:$((base_port + $1))"; }
work=
pids=()
stop_all() {
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    done
    pids=()
    [[ -n $work ]] && rm -rf "$work"
    work=
}
trap stop_all EXIT
check_deadline() {
    if (( $(date +%s) > deadline )); then
        echo "timed out waiting for: $1" >&2; tail -n 3 "$work"/node0.log >&2; exit 1
    fi
}

# The means over the processes of smaps_rollup and of the grouped mappings of smaps.
measure() {
    local bin=$1 pid
    for pid in "${pids[@]}"; do
        echo "== $pid"
        cat "/proc/$pid/smaps_rollup"
        cat "/proc/$pid/smaps"
    done | awk -v bin="$bin" -v n="${#pids[@]}" '
        /^== / { next }
        /^[0-9a-f]+-[0-9a-f]+ / {
            # A mapping: its name is the 6th field (none for anonymous ones); smaps_rollup
            # has one line like it, named [rollup], before the totals of the process.
            name = $6
            if (name == "[rollup]") { rollup = 1; next }
            if (name == bin) group = "binary"
            else if (name ~ /^\//) { k = split(name, parts, "/"); group = parts[k] }
            else if (name == "[heap]" || name == "[stack]") group = name
            else if (name ~ /^\[/) group = "other named"
            else group = "anon"
            rollup = 0
            next
        }
        /^Rss:/ {
            if (rollup) rss += $2; else by[group] += $2
            next
        }
        /^Pss:/ { if (rollup) pss += $2; next }
        /^Private_(Clean|Dirty):/ {
            if (rollup) priv += $2; else if (group == "binary") binpriv += $2
            next
        }
        END {
            printf "%-28s %8.0f KiB\n", "Rss (mean)", rss / n
            printf "%-28s %8.0f KiB\n", "Pss (mean)", pss / n
            printf "%-28s %8.0f KiB\n", "private (mean)", priv / n
            for (g in by) printf "  %-26s %8.0f KiB\n", g, by[g] / n
            printf "  %-26s %8.0f KiB\n", "binary private", binpriv / n
            printf "summary rss=%.0f pss=%.0f private=%.0f binary=%.0f", rss / n, pss / n, priv / n, by["binary"] / n
            libs = by["libc.so.6"] + by["libm.so.6"] + by["ld-linux-x86-64.so.2"] + by["libgcc_s.so.1"]
            printf " libs=%.0f heap=%.0f anon=%.0f\n", libs / n, by["[heap]"] / n, by["anon"] / n
        }'
}

for ((round = 1; round <= rounds; round++)); do
    for bin in "${bins[@]}"; do
        work=$(mktemp -d --tmpdir swim-mem.XXXXXX)
        deadline=$(( $(date +%s) + timeout ))
        cp "$bin" "$work/$(basename "$bin")"
        run=$work/$(basename "$bin")
        for ((i = 0; i < n; i++)); do
            mkdir -p "$work/node$i/$(name "$i")"
            echo "node $i" > "$work/node$i/$(name "$i")/id"
        done
        for ((i = 0; i < n; i++)); do
            peer=$(name $(( i == 0 ? 1 : 0 )))
            "$run" --name "$(name "$i")" --peer "$peer" --secret bench \
                "$work/node$i" > "$work/node$i.log" 2>&1 &
            pids+=($!)
            disown
        done
        wait_all_online
        sleep "$settle"
        echo "### $bin (round $round, $n members, $(stat -c %s "$bin") B, load $(cut -d' ' -f1-3 /proc/loadavg))"
        measure "$run"
        stop_all
    done
done
