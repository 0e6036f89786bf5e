//! The security options on the command line and in the environment: `--label` /
//! `SWIM_LABEL`, `--keyring-file` / `SWIM_KEYRING_FILE`, `--allow-cidr` / `SWIM_ALLOW_CIDRS`.

use std::collections::HashMap;
use std::path::PathBuf;

use clap::Parser;
use swim_protocol::{Args, Config, ConfigError};

#[derive(Parser, Debug)]
struct Cli {
    #[command(flatten)]
    swim: Args,
}

fn config(flags: &[&str], env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let argv = ["test", "--name", "127.0.0.1:2001"]
        .into_iter()
        .chain(flags.iter().copied());
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Cli::try_parse_from(argv)
        .unwrap()
        .swim
        .into_config_with_env("SWIM", |var| env.get(var).cloned())
}

#[test]
fn flags_win_over_the_environment() {
    let env = [
        ("SWIM_LABEL", "from-env"),
        ("SWIM_KEYRING_FILE", "/env/keyring"),
        ("SWIM_ALLOW_CIDRS", "10.0.0.0/8, fd00::/8"),
    ];
    let from_env = config(&[], &env).unwrap().security;
    assert_eq!(from_env.label, "from-env");
    assert_eq!(from_env.keyring_file, Some(PathBuf::from("/env/keyring")));
    let blocks: Vec<String> = from_env
        .limits
        .allow
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(blocks, ["10.0.0.0/8", "fd00::/8"]);
    let flags = [
        "--label",
        "prod",
        "--keyring-file",
        "/flag/keyring",
        "--allow-cidr",
        "192.168.1.0/24",
    ];
    let from_flags = config(&flags, &env).unwrap().security;
    assert_eq!(from_flags.label, "prod");
    assert_eq!(
        from_flags.keyring_file,
        Some(PathBuf::from("/flag/keyring"))
    );
    assert_eq!(from_flags.limits.allow.len(), 1);
    let none = config(&[], &[]).unwrap().security;
    assert_eq!(
        (
            none.label.as_str(),
            none.keyring_file,
            none.limits.allow.len()
        ),
        ("", None, 0)
    );
}

#[test]
fn bad_values_are_refused_with_their_source() {
    let err = config(&[], &[("SWIM_ALLOW_CIDRS", "10.0.0.0/40")]).unwrap_err();
    assert!(err.to_string().contains("SWIM_ALLOW_CIDRS"), "{err}");
    assert!(Cli::try_parse_from(["test", "--allow-cidr", "nonsense"]).is_err());
    let long = "x".repeat(300);
    let err = config(&["--label", &long], &[])
        .unwrap()
        .validate()
        .unwrap_err();
    assert!(err.to_string().contains("label"), "{err}");
}

#[tokio::test]
async fn a_missing_keyring_file_stops_the_start() {
    let config = config(
        &[
            "--keyring-file",
            "/nonexistent/swim-keyring",
            "--secret",
            "s",
        ],
        &[],
    )
    .unwrap();
    let err = swim_protocol::Cluster::start(config).await.unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/swim-keyring"),
        "{err}"
    );
}
