#!/usr/bin/env bash
# A clean Debian image with systemd as PID 1, for the Debian package test
# (crates/swim-e2e/tests/debian_package.rs). No registry is needed: the root file system is
# built from Debian's packages with mmdebstrap (minbase, plus systemd) and `docker import`ed.
# The image is built once per machine: its tag is a hash of this script and the
# architecture, so an edit here builds a new one. Prints the tag; progress goes to stderr.
#
#   crates/swim-e2e/scripts/debian-systemd-image.sh [--print-tag]
#
# --print-tag  only print the tag this script builds (and whether it exists: exit 0 or 1)
#
# Run it with (systemd in a container needs all three; tested on Docker 20.10, cgroup v1
# hybrid hierarchy, default seccomp profile):
#   docker run -d --cap-add SYS_ADMIN -v /sys/fs/cgroup:/sys/fs/cgroup:ro TAG
# - CAP_SYS_ADMIN: the unit's sandbox (ProtectSystem=, PrivateTmp=, DynamicUser=, ...) is
#   made of mount namespaces; without it every start fails with status 226/NAMESPACE.
#   (--privileged is not needed, and fails on an engine without CAP_SYS_RESOURCE.)
# - /sys/fs/cgroup from the host: on a cgroup v1 engine, systemd exits at once without it
#   ("Failed to allocate manager object").
# - the command below makes / a shared mount before systemd starts: systemd does not do
#   that itself in a container, and without it LoadCredential= hands the service an empty
#   directory (the credential mount made in a helper namespace never reaches the service).
set -euo pipefail
script=${BASH_SOURCE[0]}
suite=bookworm
mirror=${SWIM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
arch=$(dpkg --print-architecture)
tag="swim-e2e-debian-systemd:$suite-$arch-$(cat "$script" | sha256sum | cut -c1-12)"

exists() { docker image inspect "$tag" >/dev/null 2>&1; }
if [ "${1:-}" = --print-tag ]; then
  echo "$tag"
  exists
  exit
fi
[ $# -eq 0 ] || { echo "usage: $0 [--print-tag]" >&2; exit 2; }

# One build at a time on this machine; the others wait, then find the image.
exec 9>"${TMPDIR:-/tmp}/swim-e2e-debian-systemd-image.lock"
flock 9
if ! exists; then
  command -v mmdebstrap >/dev/null || { echo "image: mmdebstrap is missing (Debian package mmdebstrap)" >&2; exit 1; }
  tarball=$(mktemp --suffix=.tar)
  trap 'rm -f "$tarball"' EXIT
  echo "image: building $tag from $mirror (a minute or two, once per machine)" >&2
  mmdebstrap --quiet --variant=minbase --include=systemd,systemd-sysv \
    --architectures="$arch" "$suite" "$tarball" "$mirror" >&2
  docker import \
    --change 'ENV container=docker' \
    --change 'CMD ["/bin/sh", "-c", "mount --make-rshared / && exec /sbin/init"]' \
    --message "Debian $suite minbase with systemd, from $script" \
    "$tarball" "$tag" >/dev/null
  echo "image: built $tag" >&2
fi
echo "$tag"
