#!/usr/bin/env bash
# Starts a small local cluster of swim-protocol-demo members in tmux, one pane each, for a
# first look. Usage:
#
#   scripts/demo-cluster.sh [MEMBERS] [FIRST_PORT]      (defaults: 4 members from port 2001)
#
# Environment: TOKEN_INTERVAL (seconds, default 10; empty for no token), SWIM_SECRET (default
# "swim-demo"), SESSION (tmux session name, default swim-demo).
# Type in any pane to set its `typed` key; Ctrl-C ends one member; to end them all:
#   tmux kill-session -t swim-demo
set -euo pipefail
cd "$(dirname "$0")/.."

members="${1:-4}"
first_port="${2:-2001}"
session="${SESSION:-swim-demo}"
token_interval="${TOKEN_INTERVAL-10}"
export SWIM_SECRET="${SWIM_SECRET:-swim-demo}"

if ! [[ "$members" =~ ^[0-9]+$ ]] || (( members < 1 || members > 9 )); then
  echo "demo-cluster: MEMBERS must be 1 to 9" >&2
  exit 2
fi
if ! [[ "$first_port" =~ ^[0-9]+$ ]] || (( first_port < 1024 || first_port + members > 65535 )); then
  echo "demo-cluster: FIRST_PORT must be 1024 to $((65535 - members))" >&2
  exit 2
fi
if ! command -v tmux >/dev/null 2>&1; then
  echo "demo-cluster: tmux is needed (e.g. apt-get install tmux)" >&2
  exit 1
fi
if tmux has-session -t "$session" 2>/dev/null; then
  echo "demo-cluster: tmux session $session exists; end it with: tmux kill-session -t $session" >&2
  exit 1
fi

cargo build --quiet -p swim-tools --bin swim-protocol-demo
target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
demo="$target_dir/debug/swim-protocol-demo"

# Member 1 knows member 2; every other member knows member 1.
command_for() {
  local i="$1" port=$((first_port + $1 - 1)) peer
  if (( i == 1 )); then peer=$((first_port + 1)); else peer="$first_port"; fi
  local cmd="exec '$demo' --name 127.0.0.1:$port --peer 127.0.0.1:$peer"
  if [[ -n "$token_interval" ]]; then cmd+=" --token-interval $token_interval"; fi
  printf '%s' "$cmd"
}

tmux new-session -d -s "$session" -x "$(tput cols 2>/dev/null || echo 160)" \
  -y "$(tput lines 2>/dev/null || echo 48)" "$(command_for 1)"
for ((i = 2; i <= members; i++)); do
  tmux split-window -t "$session" "$(command_for "$i")"
  tmux select-layout -t "$session" tiled >/dev/null
done
tmux select-pane -t "$session:.0"

if [[ -n "${TMUX:-}" ]]; then
  tmux switch-client -t "$session"
else
  tmux attach-session -t "$session"
fi
