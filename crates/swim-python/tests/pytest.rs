//! Runs the Python test suite (`tests/python`, pytest with asyncio) against the wheel that
//! `.ci/run` builds with maturin and installs into the venv `$SWIM_PYTHON_VENV`, so that
//! `cargo test --workspace` covers the Python package too.
//!
//! Without `SWIM_PYTHON_VENV` the test prints a notice and passes; with
//! `SWIM_REQUIRE_PYTHON_WHEEL=1` (as `.ci/run` sets) it fails instead. The suite's own
//! optional parts (the original package in `$SWIM_PY_VENV`, the Rust tools in
//! `target/HOST-TRIPLE/dist` or `target/dist`) follow `SWIM_REQUIRE_PY` and `SWIM_REQUIRE_PYTHON_WHEEL` the same way.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The venv's Python, or `None` (with a notice) when the suite cannot run here.
fn venv_python() -> Option<PathBuf> {
    let required = std::env::var("SWIM_REQUIRE_PYTHON_WHEEL").is_ok_and(|v| v == "1");
    let python = std::env::var_os("SWIM_PYTHON_VENV")
        .map(|venv| Path::new(&venv).join("bin").join("python"));
    match python {
        Some(python) if python.exists() => Some(python),
        other => {
            let why = match other {
                Some(python) => format!("{} does not exist", python.display()),
                None => "SWIM_PYTHON_VENV is not set".to_owned(),
            };
            assert!(
                !required,
                "SWIM_REQUIRE_PYTHON_WHEEL=1 but {why} (.ci/run prepares the venv)"
            );
            eprintln!("NOTICE: skipping the Python suite: {why} (see docs/python.md)");
            None
        }
    }
}

#[test]
fn the_python_suite_passes_against_the_installed_wheel() {
    let Some(python) = venv_python() else {
        return;
    };
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python");
    let status = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(&suite)
        .current_dir(&suite)
        .status()
        .expect("run pytest from the venv");
    assert!(status.success(), "the Python suite failed: {status}");
}
