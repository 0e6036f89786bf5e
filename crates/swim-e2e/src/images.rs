//! The images of `deploy/docker/`, built under a tag unique to the test and removed with it.

use std::path::PathBuf;

use crate::docker::{run_with_env, unique_name, CommandError};
use crate::resources::Resources;

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file of the repository, as a string for command lines.
pub fn repo_file(relative: &str) -> String {
    repo_root().join(relative).to_string_lossy().into_owned()
}

/// Builds our image with `deploy/docker/build-image.sh` (which builds the release binaries
/// first) as `swim-e2e-…:VERSION`, registered for removal.
pub fn build_ours(resources: &mut Resources) -> Result<String, CommandError> {
    let tag = format!("{}:{}", unique_name("rs"), env!("CARGO_PKG_VERSION"));
    resources.image(&tag);
    let script = repo_file("deploy/docker/build-image.sh");
    run_with_env("bash", &[&script, "--tag", &tag], &[])?;
    Ok(tag)
}

/// The venv of the Python reference (`SWIM_PY_VENV`, else `target/pyswim`), if it has the
/// package's tool. Without it: `None` and a notice, or a panic with `SWIM_REQUIRE_PY=1`.
pub fn python_venv(test: &str) -> Option<PathBuf> {
    let venv = std::env::var_os("SWIM_PY_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/pyswim"));
    if venv.join("bin/swim-protocol-sync").is_file() {
        return Some(venv);
    }
    if std::env::var("SWIM_REQUIRE_PY").is_ok_and(|v| v == "1") {
        panic!(
            "{test}: no swim-protocol venv at {}, and SWIM_REQUIRE_PY=1",
            venv.display()
        );
    }
    eprintln!(
        "notice: {test} skipped: no swim-protocol venv at {} (set SWIM_PY_VENV)",
        venv.display()
    );
    None
}

/// Builds the Python reference's image from `venv` with `deploy/docker/build-python-image.sh`,
/// registered for removal.
pub fn build_python(
    resources: &mut Resources,
    venv: &std::path::Path,
) -> Result<String, CommandError> {
    let tag = format!("{}:0.6.3", unique_name("py"));
    resources.image(&tag);
    let script = repo_file("deploy/docker/build-python-image.sh");
    let venv = venv.to_string_lossy();
    run_with_env("bash", &[&script, &venv, "--tag", &tag], &[])?;
    Ok(tag)
}
