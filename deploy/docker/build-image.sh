#!/usr/bin/env bash
# Builds the image swim-rs:VERSION (VERSION: the crates' version) from nothing: the binaries
# swim-protocol-sync and swim-protocol-demo of the `dist` profile (stripped, no debug info, glibc
# linked in: `dist_build` of deploy/cargo.sh), the shared libraries they load (none), and a
# static busybox, in an image with no base, run as the unprivileged user swim (uid 10001).
# No registry is involved.
#
#   deploy/docker/build-image.sh [--tag NAME:TAG] [--no-cargo]
#
# --tag       the image name (default swim-rs:VERSION)
# --no-cargo  use the binaries of the last dist build as they are (target/HOST-TRIPLE/dist)
# Prints the tag on standard output; progress goes to standard error.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=rootfs.sh
source "$here/rootfs.sh"

# shellcheck source=../cargo.sh
source "$here/../cargo.sh"
version=$(swim_tools_version)
tag="swim-rs:$version"
cargo_build=1
while [ $# -gt 0 ]; do
  case $1 in
    --tag) tag=$2; shift 2 ;;
    --no-cargo) cargo_build=0; shift ;;
    *) echo "usage: $0 [--tag NAME:TAG] [--no-cargo]" >&2; exit 2 ;;
  esac
done

bins=$(dist_dir)
if [ "$cargo_build" = 1 ]; then
  echo "build: cargo build --locked --profile dist --target $(dist_target) -p swim-tools (crt-static)" >&2
  dist_build --quiet >&2
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
rootfs_init "$root"
for bin in swim-protocol-sync swim-protocol-demo; do
  # The dist profile strips them already; strip again in case a build did not.
  rootfs_add_elf "$root" "$bins/$bin" "usr/local/bin/$bin"
  strip "$root/usr/local/bin/$bin"
done
rootfs_add_busybox "$root"
rootfs_image "$root" "$tag" "$version" swim-rs \
  '["/usr/local/bin/swim-protocol-sync"]' '["/data"]'
echo "build: $tag, $(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.1f MB", $1/1e6}')" >&2
echo "$tag"
