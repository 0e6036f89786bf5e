#!/usr/bin/env bash
# Writes deploy/hot-code.ld, the linker script fragment that places the code a member runs
# at the start of the shipped binary's text (`.text.hot`), so that the kernel's fault-around
# (64 KiB windows of a mapped file) makes that code resident and not the cold code around
# it (docs/benchmarks.md, "Where a sync process's memory goes"). The code a member runs is
# what callgrind saw one member of 10 on loopback (in a private network namespace) run:
#
#   tier 1: start, join, metadata changes (its own, SIGHUP'd and seen by inotify, and
#           others'), a peer killed, detected and restarted, idle (dumped before it stops);
#   tier 2: then leaving on SIGTERM, and a second run with --metrics-addr scraped, the
#           on-update/on-event/on-query scripts, and event, query and send through the
#           control socket: code only some members run, placed after tier 1.
#
#   CARGO_PROFILE_DIST_STRIP=false CARGO_TARGET_DIR=target/syms dist_build  (deploy/cargo.sh)
#   bench/hot-code.sh target/syms/x86_64-unknown-linux-gnu/dist/swim-protocol-sync [OUT.ld]
#
# SYMBOLS must be an unstripped build (callgrind names functions by its symbols). Needs
# valgrind (callgrind_control) and curl. The names are matched with the crates' build hashes
# left out (bench/hot-code.py), so the script stays valid across builds and toolchains; a
# function renamed or added since falls back to the default place, after `.text.hot`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [[ -z ${SWIM_BENCH_IN_NETNS:-} ]]; then
    if [[ $(id -u) -eq 0 ]]; then ns=(unshare -n); else ns=(unshare -rn); fi
    exec env SWIM_BENCH_IN_NETNS=1 "${ns[@]}" "$0" "$@"
fi
ip link set lo up
(( $# >= 1 )) || { sed -n '2,22p' "$0"; exit 2; }
bin=$(realpath "$1")
out=$(realpath -m "${2:-$here/../deploy/hot-code.ld}")
n=10 v=5 base_port=26000
name() { echo "127.0.0.1:$((base_port + $1))"; }
profiles=$(mktemp -d --tmpdir swim-hot.XXXXXX)
work=
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    [[ -n $work ]] && rm -rf "$work"
    rm -rf "$profiles"
}
trap cleanup EXIT

start_member() {
    local i=$1 mode=$2 peer cmd=("$bin")
    peer=$(name $(( i == 0 ? 1 : 0 )))
    local extra=()
    if (( i == v )); then
        cmd=(valgrind --tool=callgrind --demangle=no
             "--callgrind-out-file=$profiles/$mode.%p" "$bin")
        [[ $mode == features ]] && extra=(--metrics-addr "127.0.0.1:$((base_port + 100))")
    fi
    "${cmd[@]}" --name "$(name "$i")" --peer "$peer" --secret bench "${extra[@]}" \
        "$work/node$i" > "$work/node$i.log" 2>&1 &
    pids[i]=$!
}

wait_for() {  # wait_for WHAT CONDITION...: up to 120 s
    local what=$1; shift
    for _ in $(seq 600); do "$@" && return 0; sleep 0.2; done
    echo "timed out waiting for $what" >&2; tail -n 3 "$work/node$v.log" >&2; exit 1
}
sees_all() { local e=("$work/node$v/.online"/*); (( ${#e[@]} == n - 1 )); }
sees_offline() { [[ -L $work/node$v/.offline/$(name 9) ]]; }

run() {
    local mode=$1 i h
    work=$(mktemp -d --tmpdir swim-hot-run.XXXXXX)
    shopt -s nullglob
    for ((i = 0; i < n; i++)); do
        mkdir -p "$work/node$i/$(name "$i")"
        echo "node $i" > "$work/node$i/$(name "$i")/id"
    done
    if [[ $mode == features ]]; then
        for i in 0 $v; do
            for h in on-update on-event on-query; do
                printf '#!/bin/sh\necho answer\n' > "$work/node$i/$h"
                chmod +x "$work/node$i/$h"
            done
        done
    fi
    for ((i = 0; i < n; i++)); do start_member "$i" "$mode"; done
    wait_for "node $v to see all ONLINE" sees_all
    sleep 3
    echo x > "$work/node0/$(name 0)/k"; kill -HUP "${pids[0]}"
    echo y > "$work/node$v/$(name $v)/k"; kill -HUP "${pids[v]}"
    sleep 3
    echo z > "$work/node$v/$(name $v)/k2"  # seen by inotify
    sleep 3
    kill -KILL "${pids[9]}"
    wait_for "node 9 OFFLINE at node $v" sees_offline
    start_member 9 "$mode"
    sleep 8
    rm "$work/node0/$(name 0)/k"; kill -HUP "${pids[0]}"
    sleep 5
    if [[ $mode == features ]]; then
        local addr=127.0.0.1:$((base_port + 100)) path
        for path in / /metrics /members; do curl -fsS -o /dev/null "http://$addr$path"; done
        "$bin" members --addr "$addr" > /dev/null
        "$bin" event --control "$work/node0/.control" ev payload
        "$bin" event --control "$work/node$v/.control" ev payload
        "$bin" query --control "$work/node0/.control" q payload > /dev/null
        "$bin" send --control "$work/node0/.control" "$(name $v)" hello
        sleep 5
        curl -fsS -o /dev/null "http://$addr/metrics"
    else
        sleep 10
        callgrind_control -d "${pids[v]}" > /dev/null  # tier 1 ends here
    fi
    kill -TERM "${pids[v]}"
    wait "${pids[v]}" || true
    for ((i = 0; i < n; i++)); do kill -KILL "${pids[i]}" 2>/dev/null || true; done
    for ((i = 0; i < n; i++)); do wait "${pids[i]}" 2>/dev/null || true; done
    pids=()
    rm -rf "$work"; work=
}
run base
run features
tier1=("$profiles"/base.*.1)
rest=()
for f in "$profiles"/*; do [[ $f == *.1 ]] || rest+=("$f"); done
python3 "$here/hot-code.py" "$bin" "${tier1[@]}" -- "${rest[@]}" > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out"
