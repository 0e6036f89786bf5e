#!/usr/bin/env bash
# Quiet CPU per member with --metrics-addr given but never scraped, versus without it.
# Starts 3 swim-protocol-sync members (release build) on loopback, lets them settle, then
# reads each member's CPU time (utime + stime from /proc/PID/stat) over SECONDS; does this
# ROUNDS times for each mode, alternating, and prints CPU milliseconds per second per member.
#
#   nice bench/metrics-cpu.sh [SECONDS] [ROUNDS]      (defaults: 60 and 2)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_MEASURED="${1:-60}"
ROUNDS="${2:-2}"
SETTLE=5
BIN=target/release/swim-protocol-sync
[ -x "$BIN" ] || cargo build --release -q -p swim-tools
TICK=$(getconf CLK_TCK)
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run_mode() { # $1 = on|off; prints CPU ms per second per member
  local mode=$1 base=$((20000 + RANDOM % 5000)) i
  PIDS=()
  for i in 1 2 3; do
    local args=(--name "127.0.0.1:$((base + i))" --peer "127.0.0.1:$((base + 1))" --secret bench)
    [ "$mode" = on ] && args+=(--metrics-addr "127.0.0.1:$((base + 10 + i))")
    "$BIN" "${args[@]}" -q "$WORK/$mode-$base-$i" &
    PIDS+=($!)
  done
  sleep "$SETTLE"
  local before=() after=() total=0
  for p in "${PIDS[@]}"; do before+=("$(cpu_ticks "$p")"); done
  sleep "$SECONDS_MEASURED"
  for p in "${PIDS[@]}"; do after+=("$(cpu_ticks "$p")"); done
  for i in 0 1 2; do total=$((total + after[i] - before[i])); done
  for p in "${PIDS[@]}"; do kill "$p"; done
  wait 2>/dev/null || true
  PIDS=()
  # ticks -> ms, per member, per second
  awk -v t="$total" -v hz="$TICK" -v s="$SECONDS_MEASURED" 'BEGIN { printf "%.3f\n", t * 1000 / hz / 3 / s }'
}

for round in $(seq "$ROUNDS"); do
  off=$(run_mode off)
  on=$(run_mode on)
  echo "round $round: metrics off ${off} ms CPU/s per member, on (unscraped) ${on} ms CPU/s per member"
done
