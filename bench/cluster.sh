#!/usr/bin/env bash
# Benchmark a cluster of N swim-protocol-sync processes on loopback, in a private network
# namespace (only `lo`), so that /proc/net/snmp counts exactly the cluster's datagrams.
#
#   bench/cluster.sh [-n N] [--impl rust|python|memberlist] [--idle SECONDS] [--settle SECONDS]
#                    [--port BASE] [-- EXTRA ARGS]
#
# Reports: time until every member sees all others ONLINE (from the first start; the time the
# last one started is printed too); time for a file change on one
# member, signalled with SIGHUP, to reach all others; after SIGKILL of one member, the time
# until the first member lists it as SUSPECT and until all list it as OFFLINE; idle UDP
# datagrams sent per member per second, counted for --idle seconds from --settle seconds
# (default 10) after all see all ONLINE, once the join's follow-up syncs are over (ours: at
# most 4, one ping_interval apart); idle CPU and RSS per process; as root, the members'
# CPU until all were ONLINE, in all and per member learned (n·(n−1)).
#
# Environment: SWIM_SYNC_BIN (our binary; default target/release/swim-protocol-sync, built
# if missing), SWIM_PY_VENV (the Python reference's venv; default /tmp/pyswim),
# MEMBERLIST_SYNC_BIN (hashicorp/memberlist behind the same command line; default
# target/memberlist-sync, built by ../shared/memberlist-sync/build.sh if missing).
# memberlist has no on-update hook and no SUSPECT in its view: its "first SUSPECT" is its
# first OFFLINE, and its false alarms are not counted ("-").
set -euo pipefail

n=10
impl=rust
idle=10
settle=10
base_port=21000
timeout=120
extra=()
while [[ $# -gt 0 ]]; do
    case $1 in
        -n) n=$2; shift 2 ;;
        --impl) impl=$2; shift 2 ;;
        --idle) idle=$2; shift 2 ;;
        --settle) settle=$2; shift 2 ;;
        --port) base_port=$2; shift 2 ;;
        --timeout) timeout=$2; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
[[ $n =~ ^[0-9]+$ && $n -ge 3 ]] || { echo "-n must be at least 3" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
case $impl in
    rust)
        bin=${SWIM_SYNC_BIN:-${CARGO_TARGET_DIR:-$repo/target}/release/swim-protocol-sync}
        if [[ ! -x $bin ]]; then
            (cd "$repo" && cargo build --release -p swim-tools --bin swim-protocol-sync) >&2
        fi ;;
    python) bin=${SWIM_PY_VENV:-/tmp/pyswim}/bin/swim-protocol-sync ;;
    memberlist)
        bin=${MEMBERLIST_SYNC_BIN:-${CARGO_TARGET_DIR:-$repo/target}/memberlist-sync}
        if [[ ! -x $bin ]]; then
            bash "${MEMBERLIST_SYNC_DIR:-$repo/../shared/memberlist-sync}/build.sh" "$bin" >&2
        fi ;;
    *) echo "--impl is rust, python or memberlist" >&2; exit 2 ;;
esac
[[ -x $bin ]] || { echo "no executable $bin" >&2; exit 1; }
# Each sync process holds an inotify instance (memberlist's does not); the default limit of
# 128 per user stops a larger cluster from starting. Raise it when we may.
limit=$(cat /proc/sys/fs/inotify/max_user_instances 2>/dev/null || echo 0)
if (( limit < n + 32 )) && [[ $(id -u) -eq 0 ]]; then
    sysctl -q -w fs.inotify.max_user_instances=$((n + 256)) || true
fi

# Re-run inside a private network namespace holding only loopback.
if [[ -z ${SWIM_BENCH_IN_NETNS:-} ]]; then
    if [[ $(id -u) -eq 0 ]]; then ns=(unshare -n); else ns=(unshare -rn); fi
    exec env SWIM_BENCH_IN_NETNS=1 SWIM_SYNC_BIN="$bin" "${ns[@]}" "$0" -n "$n" --impl "$impl" \
        --idle "$idle" --settle "$settle" --port "$base_port" --timeout "$timeout" -- "${extra[@]}"
fi
ip link set lo up

# $TMPDIR (default /tmp) holds the members' directories; tmpfs takes the file system's cost out.
work=$(mktemp -d --tmpdir swim-bench.XXXXXX)
pids=()
# As root, the members run in a cpuacct cgroup of their own (see bench/join-cpu.sh), so that
# their CPU until all are ONLINE is counted in nanoseconds, process starts included.
cg=/sys/fs/cgroup/cpuacct/swim-bench-$$
if [[ -w /sys/fs/cgroup/cpuacct/cgroup.procs ]] && mkdir "$cg" 2>/dev/null; then :; else cg=; fi
cleanup() {
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    # The members were disowned, so `wait` does not see them: wait until they are gone, or a
    # dying one may still write into the directory being removed.
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
udp_out() { awk '/^Udp:/ { if (++seen == 2) print $5 }' /proc/net/snmp; }
tcp_out() { awk '/^Tcp:/ { if (++seen == 2) print $12 }' /proc/net/snmp; }
deadline=$(( $(date +%s) + timeout ))
check_deadline() {
    if (( $(date +%s) > deadline )); then
        echo "timed out while waiting for: $1" >&2
        tail -n 5 "$work"/*.log >&2 || true
        exit 1
    fi
}

echo "impl=$impl n=$n bin=$bin ${extra[*]:+extra=${extra[*]}}"
# The directories first, so that the clock times the members, not `mkdir`.
for ((i = 0; i < n; i++)); do
    mkdir -p "$work/node$i/$(name "$i")"
    echo "node $i" > "$work/node$i/$(name "$i")/id"
done
# The members run at a lower priority than this script (nice 5, inherited by nothing else):
# otherwise hundreds of members already joining starve the loop that starts the rest, and
# the join would time the shell's forks (600 members took a minute to start).
start=$(now)
for ((i = 0; i < n; i++)); do
    peer=$(name $(( i == 0 ? 1 : 0 )))
    dir=$work/node$i
    (
        [[ -n $cg ]] && echo "$BASHPID" > "$cg/cgroup.procs"
        exec nice -n 5 "$bin" --name "$(name "$i")" --peer "$peer" --secret bench "${extra[@]}" \
            "$dir" > "$work/node$i.log" 2>&1
    ) &
    pids+=($!)
    disown  # no "Killed" notice when a member is killed on purpose
done
t_started=$(elapsed "$start" "$(now)")

# 1. Everyone sees everyone else ONLINE.
wait_all_online
t_online=$(elapsed "$start" "$(now)")
join_cpu=-; join_cpu_each=-
if [[ -n $cg ]]; then
    read -r ns < "$cg/cpuacct.usage"
    join_cpu=$(awk -v t="$ns" 'BEGIN { printf "%.2f", t / 1e9 }')
    join_cpu_each=$(awk -v t="$ns" -v n="$n" 'BEGIN { printf "%.1f", t / 1e3 / (n * (n - 1)) }')
fi

# From here on, an `on-update` hook in every directory logs each change that member sees (both
# implementations look for the hook at every change); installed only now so that thousands of
# hook runs do not slow the join being timed.
for ((i = 0; i < n; i++)); do
    printf '#!/bin/sh\necho "$1 $2" >> "%s/changes-%s.log"\n' "$work" "$i" > "$work/node$i/on-update.tmp"
    chmod +x "$work/node$i/on-update.tmp"
    mv "$work/node$i/on-update.tmp" "$work/node$i/on-update"
done

# 2. Idle cost, once the join's follow-ups are over.
sleep "$settle"
ticks() { local total=0 pid stat; for pid in "${pids[@]}"; do
    read -r stat < "/proc/$pid/stat"; stat=${stat##*) }; set -- $stat
    total=$(( total + ${12} + ${13} )); done; echo "$total"; }
out0=$(udp_out); tcp0=$(tcp_out); cpu0=$(ticks); idle_start=$(now)
sleep "$idle"
out1=$(udp_out); tcp1=$(tcp_out); cpu1=$(ticks); idle_end=$(now)
span=$(elapsed "$idle_start" "$idle_end")
hz=$(getconf CLK_TCK)
rss_total=0; rss_max=0
for pid in "${pids[@]}"; do
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
    rss_total=$((rss_total + rss)); (( rss > rss_max )) && rss_max=$rss
done
dgrams=$(awk -v d=$((out1 - out0)) -v n="$n" -v s="$span" 'BEGIN { printf "%.3f", d / n / s }')
# memberlist's push-pull goes over TCP (a connection each time): count every packet too.
packets=$(awk -v d=$((out1 - out0 + tcp1 - tcp0)) -v n="$n" -v s="$span" 'BEGIN { printf "%.3f", d / n / s }')
cpu=$(awk -v t=$((cpu1 - cpu0)) -v hz="$hz" -v n="$n" -v s="$span" \
    'BEGIN { printf "%.3f", 100 * t / hz / n / s }')

# 3. A SIGHUP'd change on node 0 reaches every other member, timed with the hooks switched
# off (memberlist runs none; with one per member, the change costs n forks of /bin/sh on this
# host at once and its time measures them, not the spread) and on again after it.
hooks() { for ((i = 0; i < n; i++)); do chmod "$1" "$work/node$i/on-update"; done; }
hooks a-x
token="change-$RANDOM-$RANDOM"
echo "$token" > "$work/node0/$(name 0)/bench.tmp"
mv "$work/node0/$(name 0)/bench.tmp" "$work/node0/$(name 0)/bench"
t0=$(now)
# The poll forks nothing (a `$(name 0)` per file was a fork each, 80 per round, beside the
# members on their CPU) and looks again only at the members not yet seen to hold the change.
origin=$(name 0)
kill -HUP "${pids[0]}"
seen=1
while :; do
    for ((; seen < n; seen++)); do
        line=
        [[ -f $work/node$seen/$origin/bench ]] && read -r line < "$work/node$seen/$origin/bench"
        [[ $line == "$token" ]] || break
    done
    (( seen == n )) && break
    check_deadline "the SIGHUP'd change"; sleep 0.005
done
t_sighup=$(elapsed "$t0" "$(now)")
hooks a+x

# 4. Kill the last member: first SUSPECT anywhere, then OFFLINE everywhere.
victim=$(name $((n - 1)))
for ((i = 0; i < n; i++)); do echo "- KILL" >> "$work/changes-$i.log"; done
t0=$(now)
kill -KILL "${pids[n - 1]}"
t_suspect=
while :; do
    offline=0
    for ((i = 0; i < n - 1; i++)); do
        if [[ -z $t_suspect && ( -L $work/node$i/.suspect/$victim || -L $work/node$i/.offline/$victim ) ]]; then
            t_suspect=$(elapsed "$t0" "$(now)")
        fi
        [[ -L $work/node$i/.offline/$victim ]] && offline=$((offline + 1))
    done
    (( offline == n - 1 )) && break
    check_deadline "OFFLINE everywhere"; sleep 0.02
done
t_offline=$(elapsed "$t0" "$(now)")

# 5. False alarms after the join: a member reported SUSPECT or OFFLINE while it was alive (the
# victim only before its kill). Each log is one member's view; all start ONLINE.
false_alarms=0
[[ $impl == memberlist ]] && false_alarms=-
for log in "$work"/changes-*.log; do
    alarms=$(awk -v victim="$victim" '
        $2 == "KILL" { killed = 1; next }
        ($2 == "SUSPECT" || $2 == "OFFLINE") && last[$1] != $2 && ($1 != victim || !killed) {
            n++; if (ENVIRON["BENCH_DEBUG"]) print FILENAME ": " $0 > "/dev/stderr" }
        { last[$1] = $2 }
        END { print n + 0 }' "$log")
    [[ $false_alarms == - ]] || false_alarms=$((false_alarms + alarms))
done

printf '%-44s %s\n' \
    "all see all ONLINE (s)" "$t_online" \
    "SIGHUP'd change reaches all (s)" "$t_sighup" \
    "kill -> first SUSPECT (s)" "$t_suspect" \
    "kill -> OFFLINE everywhere (s)" "$t_offline" \
    "idle UDP datagrams sent /member/s" "$dgrams" \
    "idle packets sent, UDP + TCP /member/s" "$packets" \
    "idle CPU /process (% of one core)" "$cpu" \
    "RSS /process, mean / max (KiB)" "$((rss_total / n)) / $rss_max" \
    "live members reported SUSPECT/OFFLINE" "$false_alarms" \
    "last member started (s)" "$t_started" \
    "members' CPU until all ONLINE (s)" "$join_cpu" \
    "... per member learned (us)" "$join_cpu_each"
