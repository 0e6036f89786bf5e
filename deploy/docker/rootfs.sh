# Helpers for building an image from nothing: a root file system assembled from files of this
# machine (binaries, the shared libraries `ldd` says they load, busybox), made into an image
# by `docker build` from `scratch`, which needs no registry. Sourced by the build scripts.

# The unprivileged user the members run as.
SWIM_UID=10001

# rootfs_init DIR: an empty root with /etc files for the unprivileged user, /tmp and /data.
rootfs_init() {
  local root=$1
  rm -rf "$root"
  mkdir -p "$root"/{etc,tmp,data,usr/local/bin,bin}
  chmod 1777 "$root/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nswim:x:%d:%d:swim:/data:/sbin/nologin\n' \
    "$SWIM_UID" "$SWIM_UID" >"$root/etc/passwd"
  printf 'root:x:0:\nswim:x:%d:\n' "$SWIM_UID" >"$root/etc/group"
  # glibc's name lookup: /etc/hosts first, then the DNS server Docker puts in resolv.conf.
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
  chown "$SWIM_UID:$SWIM_UID" "$root/data"
  chmod 0755 "$root/data"
}

# rootfs_add_elf ROOT FILE DEST: copies an executable or library to DEST inside ROOT, with
# every shared library it loads, at the path the loader finds them on this machine.
rootfs_add_elf() {
  local root=$1 file=$2 dest=$3
  mkdir -p "$root/$(dirname "$dest")"
  cp -L "$file" "$root/$dest"
  rootfs_add_libs "$root" "$file"
}

# rootfs_add_libs ROOT FILE: the shared libraries FILE loads (per ldd), copied into ROOT.
rootfs_add_libs() {
  local root=$1 file=$2 lib
  for lib in $(ldd "$file" 2>/dev/null | grep -o '/[^ ]*' || true); do
    [ -e "$root/$lib" ] && continue
    mkdir -p "$root/$(dirname "$lib")"
    cp -L "$lib" "$root/$lib"
  done
}

# rootfs_add_busybox ROOT: a static busybox with links for a shell and the usual commands,
# so that `docker exec CONTAINER ls /data/.online` works and the health check has `test`.
rootfs_add_busybox() {
  local root=$1 applet
  local busybox
  busybox=$(command -v busybox || true)
  if [ -z "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
    echo "build: a static busybox is needed (apt-get install busybox-static)" >&2
    return 1
  fi
  cp -L "$busybox" "$root/bin/busybox"
  for applet in sh ls cat test find stat readlink id ps kill ip hostname nslookup sleep; do
    ln -sf busybox "$root/bin/$applet"
  done
}

# rootfs_image ROOT TAG VERSION TITLE ENTRYPOINT-JSON CMD-JSON: builds the image TAG from
# ROOT: no base image, user swim. No HEALTHCHECK: the right one depends on the platform
# (Swarm lists a task in DNS only once healthy), so the deployment files set it.
rootfs_image() {
  local root=$1 tag=$2 version=$3 title=$4 entrypoint=$5 cmd=$6
  local context
  context=$(mktemp -d)
  # A tar keeps the ownership of /data; ADD of a local tar unpacks it as it is.
  tar -C "$root" --numeric-owner -cf "$context/rootfs.tar" .
  cat >"$context/Dockerfile" <<DOCKERFILE
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/local/bin:/bin
USER $SWIM_UID:$SWIM_UID
WORKDIR /data
EXPOSE 9000/udp 9000/tcp
LABEL org.opencontainers.image.title="$title" org.opencontainers.image.version="$version"
ENTRYPOINT $entrypoint
CMD $cmd
DOCKERFILE
  local status=0
  # The classic builder: it needs no plugin, and `FROM scratch` pulls nothing. Its
  # deprecation notice is shown only if the build fails.
  DOCKER_BUILDKIT=0 docker build --quiet --tag "$tag" "$context" >/dev/null 2>"$context/log" ||
    status=$?
  [ "$status" = 0 ] || cat "$context/log" >&2
  rm -rf "$context"
  return $status
}
