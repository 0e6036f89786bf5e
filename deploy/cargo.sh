# Sourced by the build scripts of deploy/: what they need to know from cargo, with only cargo
# and Debian's base tools (no python3 or jq on a fresh machine). $repo is the repository.

# The tools' version, from the package id (`…/swim-tools#0.1.0` or `…#swim-tools@0.1.0`).
swim_tools_version() {
  local pkgid
  pkgid=$(cargo pkgid --manifest-path "$repo/crates/swim-tools/Cargo.toml")
  echo "${pkgid##*[#@]}"
}

# The workspace's target directory (CARGO_TARGET_DIR or the configuration's, if set).
cargo_target_dir() {
  cargo metadata --manifest-path "$repo/Cargo.toml" --no-deps --format-version 1 |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p'
}

# The target the shipped binaries are built for: this machine's (`rustc -vV`'s host). An
# explicit --target keeps the static-linking flag below off the build scripts and
# procedural macros, which cannot be linked statically.
dist_target() {
  rustc -vV | sed -n 's/^host: //p'
}

# Builds the binaries as they are shipped (the image, the Debian package, the wheel's
# scripts): the `dist` profile, with the C library linked in (`+crt-static`), so that no
# shared library is mapped at run time: a member's resident memory is mostly its mapped
# code, and glibc's, libm's and the loader's shared objects cost ~2.1 MB of it per process,
# their static parts ~0.8 MB (docs/benchmarks.md, "Where a sync process's memory goes").
# Two link options keep that mapped code and data small: relative relocations packed
# (`-z pack-relative-relocs`, DT_RELR: glibc 2.36 applies them in a static binary too) make
# the table the start-up reads 3 KiB instead of 188, and deploy/hot-code.ld places the code a
# member runs first (written by bench/hot-code.sh from a profile), so that the kernel's
# 64 KiB fault-around windows map it and not the cold code it was spread among.
# Cargo does not watch a linker script: the build links a copy named by its contents, so
# that a new hot-code.ld is a new flag, and cargo builds again.
# Extra arguments go to `cargo build`; the binaries land in "$(dist_dir)".
dist_build() {
  local target_dir hot
  target_dir=$(cargo_target_dir)
  hot="$target_dir/hot-code-$(sha256sum < "$repo/deploy/hot-code.ld" | cut -c1-16).ld"
  mkdir -p "$target_dir" && cp "$repo/deploy/hot-code.ld" "$hot"
  RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C target-feature=+crt-static -C link-arg=-Wl,-z,pack-relative-relocs -C link-arg=-Wl,-T,$hot" \
    cargo build --locked --profile dist --target "$(dist_target)" -p swim-tools \
    --manifest-path "$repo/Cargo.toml" "$@"
}

# Where dist_build puts the binaries.
dist_dir() {
  echo "$(cargo_target_dir)/$(dist_target)/dist"
}
