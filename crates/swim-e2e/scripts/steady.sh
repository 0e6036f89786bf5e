#!/usr/bin/env bash
# The steady-fault run (not in CI): 3 hosts, 6 members, 10% loss on every packet between
# hosts (an iptables `statistic` rule on each host's incoming VXLAN traffic) for 10 minutes,
# with the metadata workload; no member may ever be seen OFFLINE. The report goes to
# crates/swim-e2e/reports/steady-loss$PERCENT.md. No delay: this kernel has no netem.
#
#   crates/swim-e2e/scripts/steady.sh [PERCENT] [MINUTES]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../../.." && pwd)
percent=${1:-10}
minutes=${2:-10}
cd "$repo"
nice -n 10 cargo build --quiet --release -p swim-tools
nice -n 10 cargo build --quiet -p swim-e2e --bin swim-multihost
mkdir -p crates/swim-e2e/reports
exec target/debug/swim-multihost --hosts 3 --steady-loss "$percent" --length $((minutes * 60)) \
  --write-every 2 \
  --name "steady fault: $percent% loss between every two hosts for $minutes minutes, 3 hosts, 6 members" \
  --report "crates/swim-e2e/reports/steady-loss$percent.md"
