#!/usr/bin/env bash
# Builds the wheel swim-protocol-rs into target/wheels with maturin (first argument: the
# maturin command, default `maturin`; the rest goes to `maturin build`). The wheel carries
# our Rust tools, swim-protocol-sync and swim-protocol-demo, as its console scripts: they
# are built here as the image and the Debian package ship them (`dist_build` of
# deploy/cargo.sh: the `dist` profile, stripped, glibc linked in) and put into the wheel's
# data directory.
set -euo pipefail
maturin="${1:-maturin}"
# A relative path to maturin (or to --interpreter) is taken from the repository's root.
cd "$(dirname "$0")/../.."
shift || true
repo=$PWD
# shellcheck source=../../deploy/cargo.sh
source deploy/cargo.sh
dist_build --quiet
bins=$(dist_dir)
data=target/swim-python-data
rm -rf "$data"
mkdir -p "$data/scripts"
for tool in swim-protocol-sync swim-protocol-demo; do
  cp "$bins/$tool" "$data/scripts/$tool"
done
rm -rf target/wheels
"$maturin" build --release --quiet --manifest-path crates/swim-python/Cargo.toml \
  --out target/wheels "$@"
