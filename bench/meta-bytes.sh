#!/usr/bin/env bash
# Bytes on the wire for one small metadata change in a large map, on a cluster of N
# swim-protocol-sync processes on loopback in a private network namespace (only `lo`, so its
# counters are exactly the cluster's traffic, UDP and TCP, headers included).
#
#   bench/meta-bytes.sh [-n N] [--keys K] [--value-bytes B] [--changed-bytes C] [--same-length]
#                       [--window SECONDS] [--idle SECONDS] [--port BASE] [BIN ...]
#
# Member 0 holds K files of B bytes each (default 100 × 655: a 64 KiB map); the others hold one
# small file. Once every member holds member 0's map, `lo`'s transmitted bytes are counted for
# --idle seconds (the idle rate), then one of member 0's files is rewritten with C new bytes
# (default 10; with --same-length its first C bytes only), member 0 is sent SIGHUP, and the bytes are counted for --window
# seconds from the change (it must reach everyone within it), then the idle rate again for
# --idle seconds. Reported: the time until every member holds the new value, both idle rates,
# the window's bytes, and the change's bytes: the window's bytes minus the lower idle rate
# over the window (so the change is never credited with idle traffic it saved). Each BIN (default target/release/swim-protocol-sync) is run in
# turn with the same settings, so several binaries are compared in one run.
set -euo pipefail

n=80
keys=100
value_bytes=655
changed_bytes=10
same_length=0
window=20
idle=20
base_port=23000
timeout=180
bins=()
while [[ $# -gt 0 ]]; do
    case $1 in
        -n) n=$2; shift 2 ;;
        --keys) keys=$2; shift 2 ;;
        --value-bytes) value_bytes=$2; shift 2 ;;
        --changed-bytes) changed_bytes=$2; shift 2 ;;
        --same-length) same_length=1; shift ;;
        --window) window=$2; shift 2 ;;
        --idle) idle=$2; shift 2 ;;
        --port) base_port=$2; shift 2 ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        -*) echo "unknown argument: $1" >&2; exit 2 ;;
        *) bins+=("$1"); shift ;;
    esac
done
[[ $n =~ ^[0-9]+$ && $n -ge 3 ]] || { echo "-n must be at least 3" >&2; exit 2; }
(( changed_bytes <= value_bytes )) || { echo "--changed-bytes above --value-bytes" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
(( ${#bins[@]} )) || bins=("${CARGO_TARGET_DIR:-$repo/target}/release/swim-protocol-sync")
for bin in "${bins[@]}"; do [[ -x $bin ]] || { echo "no executable $bin" >&2; exit 1; }; done

limit=$(cat /proc/sys/fs/inotify/max_user_instances 2>/dev/null || echo 0)
if (( limit < n + 32 )) && [[ $(id -u) -eq 0 ]]; then
    sysctl -q -w fs.inotify.max_user_instances=$((n + 256)) || true
fi

# Re-run inside a private network namespace holding only loopback.
if [[ -z ${SWIM_BENCH_IN_NETNS:-} ]]; then
    if [[ $(id -u) -eq 0 ]]; then ns=(unshare -n); else ns=(unshare -rn); fi
    exec env SWIM_BENCH_IN_NETNS=1 "${ns[@]}" "$0" -n "$n" --keys "$keys" \
        --value-bytes "$value_bytes" --changed-bytes "$changed_bytes" --window "$window" \
        $( (( same_length )) && echo --same-length) \
        --idle "$idle" --port "$base_port" "${bins[@]}"
fi
ip link set lo up

shopt -s nullglob dotglob
. "$here/wait-online.sh"
name() { echo "127.0.0.1:$((base_port + $1))"; }
now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
tx_bytes() { awk '$1 == "lo:" { print $10 }' /proc/net/dev; }
value() { # KEY-INDEX FILL: a value of $value_bytes bytes
    printf '%s' "$2"; head -c $((value_bytes - ${#2})) /dev/zero | tr '\0' "${3:-x}"; }

pids=()
work=
cleanup() {
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    done
    [[ -n $work ]] && rm -rf "$work" || true
}
trap cleanup EXIT

run() { # BIN: one cluster, one change; prints one row
    local bin=$1 i deadline t0 t_all b0 b1 c0 c1 idle_rate idle_after span change_bytes line all
    work=$(mktemp -d --tmpdir swim-meta-bytes.XXXXXX)
    pids=()
    deadline=$(( $(date +%s) + timeout ))
    check_deadline() {
        if (( $(date +%s) > deadline )); then
            echo "timed out while waiting for: $1" >&2; tail -n 5 "$work"/*.log >&2 || true; exit 1
        fi
    }
    for ((i = 0; i < n; i++)); do
        mkdir -p "$work/node$i/$(name "$i")"
        echo "node $i" > "$work/node$i/$(name "$i")/id"
    done
    for ((k = 0; k < keys; k++)); do
        value "$k" "key $k " > "$work/node0/$(name 0)/key-$(printf %03d "$k")"
    done
    for ((i = 0; i < n; i++)); do
        (exec nice -n 5 "$bin" --name "$(name "$i")" --peer "$(name $(( i == 0 ? 1 : 0 )))" \
            --secret bench "$work/node$i" > "$work/node$i.log" 2>&1) &
        pids+=($!)
        disown
    done
    wait_all_online
    # Every member holds member 0's whole map.
    local last=$work/node0/$(name 0)/key-$(printf %03d $((keys - 1)))
    for ((i = 1; i < n; i++)); do
        local files=("$work/node$i/$(name 0)"/key-*)
        while (( ${#files[@]} < keys )) || ! cmp -s "$last" "$work/node$i/$(name 0)/${last##*/}"; do
            check_deadline "member 0's map everywhere"; sleep 0.1
            files=("$work/node$i/$(name 0)"/key-*)
        done
    done
    sleep 5
    b0=$(tx_bytes); t0=$(now); sleep "$idle"; b1=$(tx_bytes)
    idle_rate=$(awk -v b=$((b1 - b0)) -v s="$(elapsed "$t0" "$(now)")" 'BEGIN { printf "%.0f", b / s }')
    # Rewrite C bytes of key 042 (the same length), then SIGHUP member 0.
    local key=key-042 token
    token=$(head -c 64 /dev/urandom | tr -dc 'a-z0-9' | head -c "$changed_bytes")
    while (( ${#token} < changed_bytes )); do token+=z; done
    if (( same_length )); then
        { printf '%s' "$token"; tail -c +$((changed_bytes + 1)) "$work/node0/$(name 0)/$key"; } \
            > "$work/node0/$(name 0)/.$key.tmp"
    else
        printf '%s' "$token" > "$work/node0/$(name 0)/.$key.tmp"
    fi
    mv "$work/node0/$(name 0)/.$key.tmp" "$work/node0/$(name 0)/$key"
    c0=$(tx_bytes); t0=$(now)
    kill -HUP "${pids[0]}"
    while :; do
        all=1
        for ((i = 1; i < n; i++)); do
            line=
            read -r -N "$changed_bytes" line < "$work/node$i/$(name 0)/$key" 2>/dev/null || true
            [[ $line == "$token" ]] || { all=0; break; }
        done
        (( all )) && break
        check_deadline "the change everywhere"; sleep 0.02
    done
    t_all=$(elapsed "$t0" "$(now)")
    while awk -v a="$t0" -v b="$(now)" -v w="$window" 'BEGIN { exit !(b - a < w) }'; do sleep 0.1; done
    c1=$(tx_bytes); span=$(elapsed "$t0" "$(now)")
    # The idle rate again, after the change: a change can make the idle traffic cheaper (a
    # record carrying a delta instead of its map in push-pull windows).
    b0=$(tx_bytes); t0=$(now); sleep "$idle"; b1=$(tx_bytes)
    idle_after=$(awk -v b=$((b1 - b0)) -v s="$(elapsed "$t0" "$(now)")" 'BEGIN { printf "%.0f", b / s }')
    change_bytes=$(awk -v c=$((c1 - c0)) -v r="$idle_rate" -v q="$idle_after" -v s="$span" \
        'BEGIN { r = (r < q ? r : q); printf "%.0f", c - r * s }')
    printf '%-46s %10s %18s %16s %16s\n' "$bin" "$t_all" "$idle_rate / $idle_after" "$((c1 - c0))" "$change_bytes"
    cleanup
    pids=(); work=
}

echo "n=$n keys=$keys value_bytes=$value_bytes changed_bytes=$changed_bytes same_length=$same_length window=${window}s idle=${idle}s"
printf '%-46s %10s %18s %16s %16s\n' binary "to all (s)" "idle B/s bef/aft" "window (B)" "change (B)"
for bin in "${bins[@]}"; do run "$bin"; done
