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
