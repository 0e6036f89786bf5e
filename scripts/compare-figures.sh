#!/usr/bin/env bash
# Proves that a change meant to keep behaviour leaves the simulator's protocol figures
# identical by seed: runs a fixed set of scenarios with two swim-sim binaries and compares
# every field of their JSON reports and their per-member samples, wall time, RSS and the
# phases' wall times aside.
#
#   scripts/compare-figures.sh BASE_REV            # builds BASE_REV (e.g. main~3) and this tree
#   scripts/compare-figures.sh OLD_BIN NEW_BIN     # two swim-sim binaries already built
#
# Exits 0 when every scenario matches field for field, 1 when one differs (the differing
# fields are printed).
set -euo pipefail
cd "$(dirname "$0")/.."

build() { # REV DIR: a release swim-sim of REV, built in a throwaway worktree
  local rev=$1 dir=$2
  git worktree add -q --detach "$dir" "$rev"
  (cd "$dir" && CARGO_TARGET_DIR="$dir/target" cargo build -q --release -p swim-sim)
}

work=$(mktemp -d)
cleanup() {
  if [ -d "$work/base" ]; then git worktree remove --force "$work/base" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

if [ $# -eq 1 ]; then
  build "$1" "$work/base"
  old="$work/base/target/release/swim-sim"
  cargo build -q --release -p swim-sim
  new="target/release/swim-sim"
elif [ $# -eq 2 ]; then
  old=$1 new=$2
else
  sed -n '2,12p' "$0" >&2
  exit 2
fi

# The scenarios: seeds 1-5 at 100 members and 1-2 at 1,000 (5% loss), slow members, a
# partition, plain SWIM, the byte path with signing, and the seed where a leave stalled.
scenarios=(
  "--members 100 --loss 0.05 --seed 1"
  "--members 100 --loss 0.05 --seed 2"
  "--members 100 --loss 0.05 --seed 3"
  "--members 100 --loss 0.05 --seed 4"
  "--members 100 --loss 0.05 --seed 5"
  "--members 1000 --loss 0.05 --seed 1"
  "--members 1000 --loss 0.05 --seed 2"
  "--members 100 --loss 0.05 --seed 1 --slow 5"
  "--members 100 --loss 0.05 --seed 2 --slow 5 --slow-delay-ms 2000"
  "--members 100 --loss 0.05 --seed 1 --partition-s 30"
  "--members 200 --loss 0.05 --seed 4 --partition-s 60"
  "--members 200 --loss 0.01 --seed 4"
  "--members 100 --loss 0.05 --seed 3 --lifeguard off"
  "--members 50 --loss 0.02 --seed 6 --secret s3cret"
  "--members 100 --loss 0.05 --seed 7 --start-spread 5 --profile wan"
)

# Every field but the ones that measure the host, not the protocol.
status=0
for args in "${scenarios[@]}"; do
  # shellcheck disable=SC2086
  "$old" $args --json --samples "$work/old.csv" > "$work/old.json"
  # shellcheck disable=SC2086
  "$new" $args --json --samples "$work/new.csv" > "$work/new.json"
  if python3 - "$work/old.json" "$work/new.json" <<'PY'
import json, sys
skip = {"wall_s", "wall_phases_s", "peak_rss_kib"}
old, new = (json.load(open(p)) for p in sys.argv[1:3])
diff = [(k, old.get(k), new.get(k)) for k in sorted(set(old) | set(new))
        if k not in skip and old.get(k) != new.get(k)]
for k, a, b in diff:
    print(f"    {k}: {a} -> {b}")
sys.exit(1 if diff else 0)
PY
  then
    if cmp -s "$work/old.csv" "$work/new.csv"; then
      echo "same      $args"
    else
      echo "DIFFERENT $args (per-member samples differ)"
      status=1
    fi
  else
    echo "DIFFERENT $args"
    status=1
  fi
done
exit $status
