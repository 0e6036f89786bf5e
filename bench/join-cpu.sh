#!/usr/bin/env bash
# The CPU a mass join costs the members: starts N swim-protocol-sync processes on loopback (in
# a private network namespace, as bench/cluster.sh does), waits until every member lists all
# others in .online, and sums the members' user + system CPU time (/proc/PID/stat, all
# threads) at that moment. CPU-seconds, unlike wall time, hardly change with other load on
# the host. With --lib, the members are the library alone: N processes of the example
# bench_member (one member each, no mirror, no log; it keeps a file while it sees all
# others ONLINE), SWIM_MEMBER_BIN (default target/release/examples/bench_member).
#
#   [TMPDIR=/dev/shm] nice bench/join-cpu.sh [--lib] [-n N] [--idle S] [--perf FILE] [--timeout S]
#       [-- EXTRA ARGS]
#
# With --idle S (cgroup only), the members' CPU in the S seconds after all are ONLINE too: what
# the cluster costs at rest, which a join pays for as long as it lasts.
#
# Prints the last start, all ONLINE (s from the first start), the members' CPU (user, system,
# total) and the CPU per member learned = total / (N * (N - 1)). As root, each member runs in
# a cpuacct cgroup of its own run (cgroup v1 at /sys/fs/cgroup/cpuacct), which counts in
# nanoseconds from the exec on, threads that ended included; otherwise the sum of
# /proc/PID/stat, in clock ticks, which misses bursts shorter than a tick (a process start). With --perf FILE,
# `perf record -a` samples the host from the first start until all are ONLINE
# (read it with `perf report -i FILE --no-children --sort dso,sym --comm swim-protocol-sy`).
# SWIM_SYNC_BIN as for bench/cluster.sh (default target/release/swim-protocol-sync).
set -euo pipefail

n=100
base_port=23000
timeout=180
perf_out=
lib=
idle=0
extra=()
while [[ $# -gt 0 ]]; do
    case $1 in
        -n) n=$2; shift 2 ;;
        --port) base_port=$2; shift 2 ;;
        --timeout) timeout=$2; shift 2 ;;
        --perf) perf_out=$2; shift 2 ;;
        --lib) lib=1; shift ;;
        --idle) idle=$2; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,/^[^#]/{/^#/p}' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
[[ $n =~ ^[0-9]+$ && $n -ge 3 ]] || { echo "-n must be at least 3" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
if [[ -n $lib ]]; then
    bin=${SWIM_MEMBER_BIN:-${CARGO_TARGET_DIR:-$repo/target}/release/examples/bench_member}
    if [[ ! -x $bin ]]; then
        (cd "$repo" && cargo build --release -p swim-protocol --example bench_member) >&2
    fi
else
    bin=${SWIM_SYNC_BIN:-${CARGO_TARGET_DIR:-$repo/target}/release/swim-protocol-sync}
    if [[ ! -x $bin ]]; then
        (cd "$repo" && cargo build --release -p swim-tools --bin swim-protocol-sync) >&2
    fi
fi
limit=$(cat /proc/sys/fs/inotify/max_user_instances 2>/dev/null || echo 0)
if [[ -z $lib ]] && (( limit < n + 32 )) && [[ $(id -u) -eq 0 ]]; then
    sysctl -q -w fs.inotify.max_user_instances=$((n + 256)) || true
fi
if [[ -z ${SWIM_BENCH_IN_NETNS:-} ]]; then
    if [[ $(id -u) -eq 0 ]]; then ns=(unshare -n); else ns=(unshare -rn); fi
    args=(-n "$n" --port "$base_port" --timeout "$timeout" --idle "$idle")
    [[ -n $perf_out ]] && args+=(--perf "$(realpath -m "$perf_out")")
    [[ -n $lib ]] && args+=(--lib)
    exec env SWIM_BENCH_IN_NETNS=1 SWIM_SYNC_BIN="$bin" SWIM_MEMBER_BIN="$bin" "${ns[@]}" "$0" \
        "${args[@]}" -- "${extra[@]}"
fi
ip link set lo up

work=$(mktemp -d --tmpdir swim-join.XXXXXX)
pids=()
perf_pid=
cg=/sys/fs/cgroup/cpuacct/swim-join-$$
if [[ -w /sys/fs/cgroup/cpuacct/cgroup.procs ]] && mkdir "$cg" 2>/dev/null; then :; else cg=; fi
cleanup() {
    [[ -n $perf_pid ]] && kill -INT "$perf_pid" 2>/dev/null && wait "$perf_pid" 2>/dev/null
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    done
    rm -rf "$work" || true
    [[ -n $cg ]] && rmdir "$cg" 2>/dev/null || true
}
trap cleanup EXIT

shopt -s nullglob dotglob
. "$here/wait-online.sh"
name() { echo "127.0.0.1:$((base_port + $1))"; }
now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
deadline=$(( $(date +%s) + timeout ))
check_deadline() {
    if (( $(date +%s) > deadline )); then
        echo "timed out waiting for: $1" >&2; tail -n 3 "$work"/node0.log >&2; exit 1
    fi
}

if [[ -n $lib ]]; then
    mkdir "$work/done"
    # Every member keeps $work/done/$i while it sees all others ONLINE.
    wait_all_online() {
        local marks
        while :; do
            marks=("$work/done"/*)
            (( ${#marks[@]} == n )) && return 0
            check_deadline "all ONLINE"; sleep 0.02
        done
    }
else
    for ((i = 0; i < n; i++)); do
        mkdir -p "$work/node$i/$(name "$i")"
        echo "node $i" > "$work/node$i/$(name "$i")/id"
    done
fi
if [[ -n $perf_out ]]; then
    perf record -q -a ${SWIM_PERF_ARGS:--F 999} -o "$perf_out" 2>/dev/null &
    perf_pid=$!
    sleep 0.5
fi
start=$(now)
for ((i = 0; i < n; i++)); do
    peer=$(name $(( i == 0 ? 1 : 0 )))
    (
        [[ -n $cg ]] && echo "$BASHPID" > "$cg/cgroup.procs"
        if [[ -n $lib ]]; then
            exec nice -n 5 "$bin" "$(name "$i")" "$peer" "$n" "$work/done/$i" > "$work/node$i.log" 2>&1
        fi
        exec nice -n 5 "$bin" --name "$(name "$i")" --peer "$peer" --secret bench "${extra[@]}" \
            "$work/node$i" > "$work/node$i.log" 2>&1
    ) &
    pids+=($!)
    disown
done
t_started=$(elapsed "$start" "$(now)")

wait_all_online
t_online=$(elapsed "$start" "$(now)")
hz=$(getconf CLK_TCK)
if [[ -n $cg ]]; then
    # Nanoseconds, as "ticks" of a 1e9 Hz clock.
    read -r user < "$cg/cpuacct.usage_user"; read -r sys < "$cg/cpuacct.usage_sys"; hz=1000000000
    how="cgroup cpuacct"
else
    user=0; sys=0
    for pid in "${pids[@]}"; do
        read -r stat < "/proc/$pid/stat"; stat=${stat##*) }; set -- $stat
        user=$(( user + ${12} )); sys=$(( sys + ${13} ))
    done
    how="/proc/PID/stat"
fi
if [[ -n $perf_pid ]]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; perf_pid=; fi
if [[ -n $lib ]]; then
    # After the CPU was read: each member prints its traffic so far.
    for pid in "${pids[@]}"; do kill -USR1 "$pid" 2>/dev/null || true; done
    for _ in $(seq 100); do
        (( $(cat "$work"/node*.log | grep -c '^traffic') >= n )) && break
        sleep 0.05
    done
fi
idle_line=
if [[ -n $cg ]] && awk -v s="$idle" 'BEGIN { exit !(s > 0) }'; then
    read -r before < "$cg/cpuacct.usage"
    sleep "$idle"
    read -r after < "$cg/cpuacct.usage"
    idle_line=$(awk -v b="$before" -v a="$after" -v s="$idle" -v n="$n" 'BEGIN {
        printf "%-36s %.3f ms (%.4f%% of a core)\n", "idle CPU per member per second", (a - b) / 1e6 / s / n, 100 * (a - b) / 1e9 / s / n }')
fi
log_lines=$(cat "$work"/node*.log | grep -vc '^traffic' || true)
awk -v u="$user" -v s="$sys" -v hz="$hz" -v n="$n" -v ts="$t_started" -v to="$t_online" \
    -v logs="$log_lines" -v how="$how" 'BEGIN {
    printf "%-36s %d\n", "members", n
    printf "%-36s %s\n", "last start (s)", ts
    printf "%-36s %s\n", "all see all ONLINE (s)", to
    printf "%-36s %s\n", "CPU measured by", how
    printf "%-36s %.2f\n", "members CPU user (s)", u / hz
    printf "%-36s %.2f\n", "members CPU system (s)", s / hz
    printf "%-36s %.2f\n", "members CPU total (s)", (u + s) / hz
    printf "%-36s %.1f\n", "CPU per member learned (us)", 1e6 * (u + s) / hz / (n * (n - 1))
    printf "%-36s %d\n", "log lines (all members)", logs
}'
[[ -n $idle_line ]] && echo "$idle_line"
if [[ -n $lib ]]; then
    # Frames per member learned, by kind: received (that decoded) and sent.
    cat "$work"/node*.log | grep '^traffic' | awk -v n="$n" '{
        for (i = 2; i <= NF; i++) {
            split($i, kv, "="); split(kv[2], v, "/")
            if (kv[1] ~ /^(udp|tcp)_(in|out)$/) io[kv[1]] += v[1]
            else if (kv[1] == "changes") { changes += v[1]; unseen += v[2] }
            else { rx[kv[1]] += v[1]; tx[kv[1]] += v[2] }
        }
        members++
    } END {
        learned = n * (n - 1)
        printf "%-36s %d\n", "members reporting traffic", members
        printf "%-36s %.2f / %.2f\n", "UDP datagrams in / out per learned", io["udp_in"] / learned, io["udp_out"] / learned
        printf "%-36s %.3f / %.3f\n", "TCP frames in / out per learned", io["tcp_in"] / learned, io["tcp_out"] / learned
        printf "%-36s %.2f (%.2f status, metadata as before)\n", "changes per learned", changes / learned, unseen / learned
        for (k in rx) printf "  %-34s %.3f / %.3f\n", k " in / out per learned", rx[k] / learned, tx[k] / learned
    }'
fi
