//! The images of `deploy/docker/`, built under a tag unique to the test and removed with it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::docker::{run_for, unique_name, CommandError};
use crate::resources::Resources;

/// Longest image build: the first one compiles the `dist` binaries (`.ci/run` builds them
/// beforehand, so there it takes seconds).
const BUILD_TIMEOUT: Duration = Duration::from_secs(1800);

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file of the repository, as a string for command lines.
pub fn repo_file(relative: &str) -> String {
    repo_root().join(relative).to_string_lossy().into_owned()
}

/// Builds our image with `deploy/docker/build-image.sh` (which builds the `dist` binaries
/// first) as `swim-e2e-…:VERSION`, registered for removal.
pub fn build_ours(resources: &mut Resources) -> Result<String, CommandError> {
    let tag = format!("{}:{}", unique_name("rs"), env!("CARGO_PKG_VERSION"));
    resources.image(&tag);
    let script = repo_file("deploy/docker/build-image.sh");
    run_for(BUILD_TIMEOUT, "bash", &[&script, "--tag", &tag], &[])?;
    Ok(tag)
}

/// The venv of the Python reference (`SWIM_PY_VENV`), if it has the package's tool. Without
/// it: `None` and a notice, or a panic with `SWIM_REQUIRE_PY=1`.
pub fn python_venv() -> Option<PathBuf> {
    let tool = swim_test_support::python_venv_file("bin/swim-protocol-sync")?;
    tool.parent().and_then(Path::parent).map(Path::to_owned)
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
    run_for(BUILD_TIMEOUT, "bash", &[&script, &venv, "--tag", &tag], &[])?;
    Ok(tag)
}
