#!/usr/bin/env bash
# Builds an image of the Python reference, swim-protocol 0.6.3, the same way as ours: from
# nothing, out of a venv on this machine (`python3 -m venv V && V/bin/pip install
# swim-protocol==0.6.3`). The image holds the venv's interpreter with its shared libraries
# and standard library, the venv's packages (without pip and setuptools) at /opt/venv, and a
# static busybox; it runs /opt/venv/bin/swim-protocol-sync as the user swim (uid 10001).
#
#   deploy/docker/build-python-image.sh VENV [--tag NAME:TAG]
#
# Prints the tag (default swim-py:VERSION, the package's version) on standard output.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=rootfs.sh
source "$here/rootfs.sh"

[ $# -ge 1 ] || { echo "usage: $0 VENV [--tag NAME:TAG]" >&2; exit 2; }
venv=$(cd "$1" && pwd)
shift
python="$venv/bin/python3"
version=$("$python" -c 'import importlib.metadata as m; print(m.version("swim-protocol"))')
tag="swim-py:$version"
while [ $# -gt 0 ]; do
  case $1 in
    --tag) tag=$2; shift 2 ;;
    *) echo "usage: $0 VENV [--tag NAME:TAG]" >&2; exit 2 ;;
  esac
done

# The interpreter the venv was made from, and where its standard library is.
read -r exe stdlib dynload pyver < <("$python" -c '
import sys, sysconfig
base = {"base": sys.base_prefix, "installed_base": sys.base_prefix, "platbase": sys.base_exec_prefix, "installed_platbase": sys.base_exec_prefix}
print(sys._base_executable, sysconfig.get_path("stdlib", vars=base), sysconfig.get_path("platstdlib", vars=base) + "/lib-dynload", "%d.%d" % sys.version_info[:2])')
site=$("$python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
rootfs_init "$root"
# The interpreter lives at /usr/local (prefix), so it finds /usr/local/lib/pythonX.Y.
rootfs_add_elf "$root" "$exe" "usr/local/bin/python$pyver"
lib="$root/usr/local/lib/python$pyver"
mkdir -p "$lib"
# The standard library without what a member never imports.
tar -C "$stdlib" --exclude=./site-packages --exclude=./test --exclude=./idlelib \
  --exclude=./tkinter --exclude=./turtledemo --exclude=./ensurepip --exclude=./lib2to3 \
  --exclude='./config-*' --exclude='*/tests' --exclude=./pydoc_data --exclude=./distutils \
  --exclude='./lib-dynload/_tkinter*' --exclude='./lib-dynload/_test*' -cf - . | tar -C "$lib" -xf -
if [ "$dynload" != "$stdlib/lib-dynload" ]; then
  mkdir -p "$lib/lib-dynload" && cp -a "$dynload/." "$lib/lib-dynload/"
fi
for ext in "$lib"/lib-dynload/*.so; do
  rootfs_add_libs "$root" "$ext"
done
# The venv: interpreter link, pyvenv.cfg, and its packages without the installers.
mkdir -p "$root/opt/venv/bin" "$root/opt/venv/lib/python$pyver"
ln -s "/usr/local/bin/python$pyver" "$root/opt/venv/bin/python3"
printf 'home = /usr/local/bin\ninclude-system-site-packages = false\nversion = %s\n' \
  "$("$python" -c 'import platform; print(platform.python_version())')" >"$root/opt/venv/pyvenv.cfg"
tar -C "$site" --exclude='./pip' --exclude='./pip-*' --exclude='./setuptools' \
  --exclude='./setuptools-*' --exclude='./pkg_resources' --exclude='./_distutils_hack' \
  --exclude='./distutils-precedence.pth' -cf - . |
  (mkdir -p "$root/opt/venv/lib/python$pyver/site-packages" &&
    tar -C "$root/opt/venv/lib/python$pyver/site-packages" -xf -)
for script in swim-protocol-sync swim-protocol-demo; do
  # The console scripts, with their first line pointing at the image's venv.
  sed '1s|^#!.*|#!/opt/venv/bin/python3|' "$venv/bin/$script" >"$root/opt/venv/bin/$script"
  chmod 0755 "$root/opt/venv/bin/$script"
done
rootfs_add_busybox "$root"
rootfs_image "$root" "$tag" "$version" swim-protocol-python \
  '["/opt/venv/bin/swim-protocol-sync"]' '["/data"]'
echo "build: $tag, $(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.1f MB", $1/1e6}')" >&2
echo "$tag"
