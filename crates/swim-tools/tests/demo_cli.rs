//! The demo's command line, checked on the built binary.

use std::process::Command;

const DEMO: &str = env!("CARGO_BIN_EXE_swim-protocol-demo");

#[test]
fn help_lists_the_cluster_options_and_token_interval() {
    let out = Command::new(DEMO).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--name",
        "--peer",
        "--secret",
        "--udp-bind",
        "--udp-port",
        "-i, --token-interval",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    assert!(
        help.contains("SWIM_NAME"),
        "environment fallbacks not shown:\n{help}"
    );
}

#[test]
fn bad_token_interval_is_a_usage_error() {
    for bad in ["0", "-1", "soon", "inf"] {
        let out = Command::new(DEMO)
            .args(["--name", "127.0.0.1:1", "--token-interval", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--token-interval {bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("token-interval"), "{err}");
    }
}
