#!/usr/bin/env bash
# The steady-fault run (not in CI): 3 hosts, 6 members, PERCENT% loss on every packet between
# hosts (an iptables `statistic` rule on each host's incoming VXLAN traffic) and, with a third
# argument MS:JITTER, MS ± JITTER ms of delay on each (an NFQUEUE rule on each host's
# outgoing VXLAN traffic, held by swim-netdelay), for MINUTES minutes, with the metadata
# workload; no member may ever be seen OFFLINE. The report goes to
# crates/swim-e2e/reports/steady-loss$PERCENT[-delay$MS].md.
#
#   crates/swim-e2e/scripts/steady.sh [PERCENT] [MINUTES] [MS:JITTER]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../../.." && pwd)
percent=${1:-10}
minutes=${2:-10}
delay=${3:-}
cd "$repo"
nice -n 10 cargo build --quiet -p swim-e2e --bin swim-multihost --bin swim-netdelay
mkdir -p crates/swim-e2e/reports
if [ -n "$delay" ]; then
  exec target/debug/swim-multihost --hosts 3 --steady-loss "$percent" --steady-delay "$delay" \
    --length $((minutes * 60)) --write-every 2 \
    --name "steady fault: $percent% loss and ${delay/:/ ± } ms delay between every two hosts for $minutes minutes, 3 hosts, 6 members" \
    --report "crates/swim-e2e/reports/steady-loss$percent-delay${delay%%:*}.md"
fi
exec target/debug/swim-multihost --hosts 3 --steady-loss "$percent" --length $((minutes * 60)) \
  --write-every 2 \
  --name "steady fault: $percent% loss between every two hosts for $minutes minutes, 3 hosts, 6 members" \
  --report "crates/swim-e2e/reports/steady-loss$percent.md"
