#!/usr/bin/env bash
# Proves that the README's test command (`cargo test --workspace`) needs no system library:
# every `*-sys` crate in the workspace's build graph (normal, build and dev dependencies, on
# this platform, default features) must be one known to need only Rust and libc. A new one
# fails this check until it is reviewed and added below with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."

# name: why it needs no system library
allowed=(
  inotify-sys    # declarations of libc's inotify functions
  linux-raw-sys  # Linux syscall numbers and types, no C at all
)

found=$(cargo tree --workspace --locked -e normal,build,dev --prefix none --format '{p}' \
  | awk '{print $1}' | grep -- '-sys$' | sort -u)
bad=""
for crate in $found; do
  ok=""
  for a in "${allowed[@]}"; do [ "$crate" = "$a" ] && ok=1; done
  [ -n "$ok" ] || bad="$bad $crate"
done
if [ -n "$bad" ]; then
  echo "the workspace build now depends on system-library bindings:$bad" >&2
  echo "(the README promises that cargo test --workspace needs only Rust; see scripts/check-no-system-libs.sh)" >&2
  exit 1
fi
echo "no system library needed: -sys crates in the workspace build: $(echo $found)"
