#!/usr/bin/env bash
# Builds the wheel swim-protocol-rs into target/wheels with maturin (first argument: the
# maturin command, default `maturin`; the rest goes to `maturin build`). The wheel carries
# our Rust tools, swim-protocol-sync and swim-protocol-demo, as its console scripts: they
# are built here (the `dist` profile: stripped, as `cargo install` builds them) and put into
# the wheel's data directory.
set -euo pipefail
maturin="${1:-maturin}"
# A relative path to maturin (or to --interpreter) is taken from the repository's root.
cd "$(dirname "$0")/../.."
shift || true
cargo build --locked --profile dist -p swim-tools --quiet
data=target/swim-python-data
rm -rf "$data"
mkdir -p "$data/scripts"
for tool in swim-protocol-sync swim-protocol-demo; do
  cp "target/dist/$tool" "$data/scripts/$tool"
done
rm -rf target/wheels
"$maturin" build --release --quiet --manifest-path crates/swim-python/Cargo.toml \
  --out target/wheels "$@"
