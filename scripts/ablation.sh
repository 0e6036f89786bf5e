#!/usr/bin/env bash
# Lifeguard ablation in the simulator: slow members, Lifeguard on and off.
#
#   scripts/ablation.sh [OUT.tsv]
#
# Cells: N = 100 and 1,000 members; K = 1% and 5% of N slow members; D = 500, 1,500 and
# 3,000 ms (each slow member handles every packet and timer D late, jittered ±50%);
# Lifeguard on and off; 5% loss; the standard run (join, metadata change, slow members for
# a fixed 60 s plus the 20 s quiet period, then a crash). One line per cell:
# false_suspect_healthy, false_offline_healthy, first_detect_s, all_offline_s.
#
# Environment: SIZES (default "100 1000"), DELAYS (default "500 1500 3000"), SEEDS (default
# "1"; several seeds print one line each), JOBS (parallel runs, default 2), SIM (a swim-sim
# binary to use instead of building one), SIM_ARGS (more swim-sim flags, e.g. --direct, which
# gives the same report for less CPU). A 1,000-member cell takes minutes of CPU; the whole
# table about an hour on two free cores.
set -euo pipefail

cd "$(dirname "$0")/.."
out=${1:-/dev/stdout}
sizes=${SIZES:-100 1000}
delays=${DELAYS:-500 1500 3000}
seeds=${SEEDS:-1}
jobs=${JOBS:-2}

if [[ -z ${SIM:-} ]]; then
  cargo build --release -q -p swim-sim
fi
sim=${SIM:-target/release/swim-sim}
export SIM_ARGS=${SIM_ARGS:-}

cells=()
for n in $sizes; do
  for pct in 1 5; do
    k=$(( n * pct / 100 ))
    for d in $delays; do
      for lg in off on; do
        for seed in $seeds; do
          cells+=("$n $k $d $lg $seed")
        done
      done
    done
  done
done

run_cell() {
  read -r n k d lg seed <<<"$1"
  "$2" --members "$n" --loss 0.05 --slow "$k" --slow-delay-ms "$d" --lifeguard "$lg" \
    --seed "$seed" --duration 240 $SIM_ARGS --json |
    python3 -c '
import json, sys
r = json.load(sys.stdin)
f = lambda v: "-" if v is None else v
print("\t".join(str(x) for x in [r["members"], r["slow"], r["slow_delay_ms"],
      "on" if r["lifeguard"] else "off", r["seed"], r["false_suspect_healthy"],
      r["false_offline_healthy"], f(r["first_detect_s"]), f(r["all_offline_s"]),
      r["false_suspect"], r["false_offline"], r["wall_s"]]))'
}
export -f run_cell

{
  printf 'members\tslow\tdelay_ms\tlifeguard\tseed\tfalse_suspect_healthy\tfalse_offline_healthy\tfirst_detect_s\tall_offline_s\tfalse_suspect\tfalse_offline\twall_s\n'
  printf '%s\n' "${cells[@]}" | xargs -P "$jobs" -I{} bash -c 'run_cell "$1" "$2"' _ {} "$sim" |
    sort -t$'\t' -k1,1n -k2,2n -k3,3n -k4,4 -k5,5n
} >"$out"
