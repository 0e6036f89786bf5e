#!/usr/bin/env bash
# Builds the Debian package of the tools, swim-tools_VERSION_ARCH.deb, with dpkg-deb: the
# binaries swim-protocol-sync and swim-protocol-demo (the `dist` profile: stripped, no debug
# information, glibc linked in: `dist_build` of deploy/cargo.sh), their man pages and bash completions, and the systemd unit
# swim-protocol-sync@.service (one member per instance, see the unit's comments).
#
#   deploy/debian/build-deb.sh [--profile dist|release] [--no-cargo] [--out DIR] [--fast]
#
# --profile   the Cargo profile whose binaries are packaged (default dist)
# --no-cargo  package target/PROFILE as it is instead of running `cargo build`
# --out       where the .deb goes (default target/debian)
# --fast      compress with gzip -1 instead of xz (for tests)
# Prints the path of the package on standard output; progress goes to standard error.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

profile=dist
cargo_build=1
out=""
compression=(-Zxz)
while [ $# -gt 0 ]; do
  case $1 in
    --profile) profile=$2; shift 2 ;;
    --no-cargo) cargo_build=0; shift ;;
    --out) out=$2; shift 2 ;;
    --fast) compression=(-Zgzip -z1); shift ;;
    *) echo "usage: $0 [--profile dist|release] [--no-cargo] [--out DIR] [--fast]" >&2; exit 2 ;;
  esac
done

# shellcheck source=../cargo.sh
source "$here/../cargo.sh"
version=$(swim_tools_version)
target_dir=$(cargo_target_dir)
[ -n "$version" ] && [ -n "$target_dir" ] || { echo "build: cargo gave no version or target directory" >&2; exit 1; }
out=${out:-$target_dir/debian}
arch=$(dpkg --print-architecture)
if [ "$profile" = dist ]; then
  bins=$(dist_dir)
  if [ "$cargo_build" = 1 ]; then
    echo "build: cargo build --locked --profile dist --target $(dist_target) -p swim-tools (crt-static)" >&2
    dist_build --quiet >&2
  fi
else
  bins="$target_dir/$profile"
  if [ "$cargo_build" = 1 ]; then
    echo "build: cargo build --locked --profile $profile -p swim-tools" >&2
    cargo build --quiet --locked --profile "$profile" -p swim-tools --manifest-path "$repo/Cargo.toml" >&2
  fi
fi
for bin in swim-protocol-sync swim-protocol-demo; do
  [ -x "$bins/$bin" ] || { echo "build: $bins/$bin is missing" >&2; exit 1; }
done

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
chmod 0755 "$root"
install -d "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" \
  "$root/usr/share/man/man1" "$root/usr/share/bash-completion/completions" \
  "$root/usr/share/doc/swim-tools" "$root/etc/swim"
for bin in swim-protocol-sync swim-protocol-demo; do
  install -m 0755 "$bins/$bin" "$root/usr/bin/$bin"
  strip --strip-unneeded "$root/usr/bin/$bin" 2>/dev/null || true
  "$bins/$bin" man | gzip -9n > "$root/usr/share/man/man1/$bin.1.gz"
  "$bins/$bin" completions bash > "$root/usr/share/bash-completion/completions/$bin"
done
install -m 0644 "$here/swim-protocol-sync@.service" "$root/lib/systemd/system/"
install -m 0644 "$here/example.env" "$root/usr/share/doc/swim-tools/example.env"
cat > "$root/usr/share/doc/swim-tools/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: swim-rs
Source: https://example.invalid/swim-rs

Files: *
License: MIT
COPYRIGHT
chmod 0755 "$root/etc/swim"

# The shared libraries the binaries load: none for the dist build (glibc linked in); else
# glibc (at least the newest symbol version they use) and libgcc_s.
depends=""
if readelf -d "$root"/usr/bin/* | grep '(NEEDED)' >/dev/null; then
  glibc=$(objdump -T "$root"/usr/bin/* | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -Vu | tail -1)
  depends="Depends: libc6 (>= $glibc), libgcc-s1"
fi
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: swim-tools
Version: $version
Architecture: $arch
Maintainer: swim-rs <swim-rs@example.invalid>
Installed-Size: $size${depends:+
$depends}
Recommends: systemd
Section: net
Priority: optional
Homepage: https://example.invalid/swim-rs
Description: SWIM cluster membership: the cluster as files, and a live view
 swim-protocol-sync runs a cluster member and mirrors the cluster into a
 directory (one sub-directory per member, the local member's files being its
 metadata); swim-protocol-demo shows the cluster live in a terminal.
 .
 The unit swim-protocol-sync@.service runs one member per instance with the
 settings of /etc/swim/INSTANCE.env and the secret of /etc/swim/INSTANCE.secret,
 as a user of its own, with no capabilities and a read-only system.
CONTROL
# The unit's instances are enabled by the administrator, so the scripts handle them by
# pattern: an upgrade restarts the running ones, a removal stops them (their enablement
# stays, as Debian keeps it for a reinstall), a purge forgets them and their state. The
# administrator's files in /etc/swim are left alone.
cat > "$root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null || true
  if [ -n "$2" ]; then
    systemctl try-restart 'swim-protocol-sync@*.service' >/dev/null || true
  fi
fi
POSTINST
cat > "$root/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
  systemctl stop 'swim-protocol-sync@*.service' >/dev/null || true
fi
PRERM
cat > "$root/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
set -e
if [ "$1" = purge ]; then
  find /etc/systemd/system -name 'swim-protocol-sync@*.service' -type l -delete
  rm -rf /var/lib/swim /var/lib/private/swim
fi
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null || true
  systemctl reset-failed 'swim-protocol-sync@*.service' >/dev/null 2>&1 || true
fi
POSTRM
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

mkdir -p "$out"
deb="$out/swim-tools_${version}_${arch}.deb"
dpkg-deb --root-owner-group "${compression[@]}" --build "$root" "$deb" >&2
echo "build: $deb, $(du -k "$deb" | cut -f1) KiB" >&2
echo "$deb"
