//! Command line and environment: the seed's flags, precedence flag > env > default, the
//! `*_FILE` variables and a custom prefix. The environment is a map: the process's is untouched.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use swim_protocol::{Args, Config, ConfigError, WireKind};

#[derive(Parser, Debug)]
struct Cli {
    #[command(flatten)]
    swim: Args,
}

fn args(flags: &[&str]) -> Args {
    let argv = std::iter::once("test").chain(flags.iter().copied());
    Cli::try_parse_from(argv).unwrap().swim
}

fn config(flags: &[&str], env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    config_with_prefix("SWIM", flags, env)
}

fn config_with_prefix(
    prefix: &str,
    flags: &[&str],
    env: &[(&str, &str)],
) -> Result<Config, ConfigError> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    args(flags).into_config_with_env(prefix, |var| env.get(var).cloned())
}

/// A file in this test binary's scratch directory, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &[u8]) -> Self {
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("config-cli-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn the_options_are_well_formed() {
    use clap::CommandFactory;
    Cli::command().debug_assert();
    let help = Cli::command().render_long_help().to_string();
    for flag in [
        "--secret",
        "--name",
        "--peer",
        "--udp-bind",
        "--udp-discovery",
        "--wire",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}

#[test]
fn the_seeds_flags() {
    let c = config(
        &[
            "--secret",
            "s3",
            "--name",
            "10.0.0.1:2001",
            "--peer",
            "10.0.0.2:2001",
            "--peer",
            "10.0.0.3",
            "--udp-bind",
            "0.0.0.0",
            "--udp-bind-port",
            "3001",
            "--udp-host",
            "10.0.0.9",
            "--udp-port",
            "2001",
            "--udp-discovery",
        ],
        &[],
    )
    .unwrap();
    assert_eq!(c.security.secret.as_deref(), Some(&b"s3"[..]));
    assert_eq!(c.local_name, "10.0.0.1:2001");
    assert_eq!(c.peers, ["10.0.0.2:2001", "10.0.0.3"]);
    assert_eq!(c.bind_host, Some("0.0.0.0".parse().unwrap()));
    assert_eq!(c.bind_port, Some(3001));
    assert_eq!(c.default_host, "10.0.0.9");
    assert_eq!(c.default_port, 2001);
    assert!(c.discovery);
}

#[test]
fn defaults_when_nothing_is_given() {
    let c = config(&["--name", "127.0.0.1:2001"], &[]).unwrap();
    let d = Config::new("127.0.0.1:2001");
    assert_eq!(c.security.secret, None);
    assert!(c.peers.is_empty());
    assert_eq!((c.bind_host, c.bind_port), (None, None));
    assert_eq!(
        (c.default_host, c.default_port),
        (d.default_host, d.default_port)
    );
    assert!(!c.discovery);
    assert_eq!(c.mtu_size, 1500);
    assert_eq!(c.protocol.wire, WireKind::Native);
    assert_eq!(c.protocol, d.protocol);
}

#[test]
fn timing_size_and_wire_flags() {
    let c = config(
        &[
            "--name",
            "127.0.0.1:2001",
            "--ping-interval",
            "0.25",
            "--ping-timeout",
            "0.05",
            "--ping-req-count",
            "3",
            "--ping-req-timeout",
            "0.2",
            "--suspect-timeout",
            "2",
            "--sync-interval",
            "0.1",
            "--offline-retention",
            "90",
            "--mtu-size",
            "9000",
            "--wire",
            "python",
        ],
        &[],
    )
    .unwrap();
    assert_eq!(c.protocol.ping_interval, Duration::from_millis(250));
    assert_eq!(c.protocol.ping_timeout, Duration::from_millis(50));
    assert_eq!(c.protocol.ping_req_count, 3);
    assert_eq!(c.protocol.ping_req_timeout, Duration::from_millis(200));
    assert_eq!(c.protocol.suspect_timeout, Duration::from_secs(2));
    assert_eq!(c.protocol.sync_interval, Duration::from_millis(100));
    assert_eq!(c.protocol.offline_retention, Duration::from_secs(90));
    assert_eq!(c.mtu_size, 9000);
    assert_eq!(c.protocol.wire, WireKind::Python);
}

#[test]
fn bad_flag_values_are_rejected_by_clap() {
    for flags in [
        &["--ping-interval", "-1"][..],
        &["--ping-interval", "soon"],
        &["--ping-interval", "NaN"],
        &["--ping-interval", "inf"],
        &["--udp-port", "65536"],
        &["--udp-bind", "not-an-ip"],
        &["--wire", "json"],
    ] {
        let argv = std::iter::once("test").chain(flags.iter().copied());
        assert!(Cli::try_parse_from(argv).is_err(), "{flags:?}");
    }
}

#[test]
fn environment_fills_what_flags_leave_out() {
    let c = config(
        &[],
        &[
            ("SWIM_NAME", "127.0.0.1:2001"),
            ("SWIM_SECRET", "env secret"),
            ("SWIM_PEERS", "127.0.0.1:2002, 127.0.0.1:2003,,"),
            ("SWIM_WIRE", "Python"),
        ],
    )
    .unwrap();
    assert_eq!(c.local_name, "127.0.0.1:2001");
    assert_eq!(c.security.secret.as_deref(), Some(&b"env secret"[..]));
    assert_eq!(c.peers, ["127.0.0.1:2002", "127.0.0.1:2003"]);
    assert_eq!(c.protocol.wire, WireKind::Python);
}

#[test]
fn flags_beat_environment() {
    let env = [
        ("SWIM_NAME", "127.0.0.1:2001"),
        ("SWIM_SECRET", "env secret"),
        ("SWIM_PEERS", "127.0.0.1:2002,127.0.0.1:2003"),
        ("SWIM_WIRE", "python"),
    ];
    let c = config(
        &[
            "--name",
            "127.0.0.1:3001",
            "--secret",
            "flag secret",
            "--peer",
            "127.0.0.1:3002",
            "--wire",
            "native",
        ],
        &env,
    )
    .unwrap();
    assert_eq!(c.local_name, "127.0.0.1:3001");
    assert_eq!(c.security.secret.as_deref(), Some(&b"flag secret"[..]));
    // --peer replaces the environment's list, as in the seed.
    assert_eq!(c.peers, ["127.0.0.1:3002"]);
    assert_eq!(c.protocol.wire, WireKind::Native);
}

#[test]
fn empty_values_count_as_unset() {
    let c = config(
        &["--name", "", "--secret", ""],
        &[("SWIM_NAME", "127.0.0.1:2001"), ("SWIM_SECRET", "e")],
    )
    .unwrap();
    assert_eq!(c.local_name, "127.0.0.1:2001");
    assert_eq!(c.security.secret.as_deref(), Some(&b"e"[..]));
    let c = config(&["--name", "127.0.0.1:2001"], &[("SWIM_SECRET", "")]).unwrap();
    assert_eq!(c.security.secret, None);
}

#[test]
fn secret_file_is_read_without_trailing_newlines() {
    let file = TempFile::new("secret", b"file secret\r\n\n");
    let c = config(
        &["--name", "127.0.0.1:2001"],
        &[("SWIM_SECRET_FILE", file.path())],
    )
    .unwrap();
    assert_eq!(c.security.secret.as_deref(), Some(&b"file secret"[..]));
}

#[test]
fn secret_precedence_flag_then_file_then_variable() {
    let file = TempFile::new("precedence", b"file secret\n");
    let both = [
        ("SWIM_NAME", "127.0.0.1:2001"),
        ("SWIM_SECRET", "env secret"),
        ("SWIM_SECRET_FILE", file.path()),
    ];
    // The file wins over the plain variable, as in the seed.
    let c = config(&[], &both).unwrap();
    assert_eq!(c.security.secret.as_deref(), Some(&b"file secret"[..]));
    // The flag wins over both.
    let c = config(&["--secret", "flag secret"], &both).unwrap();
    assert_eq!(c.security.secret.as_deref(), Some(&b"flag secret"[..]));
}

#[test]
fn secret_file_with_home() {
    let file = TempFile::new("home", b"home secret");
    let dir = file.0.parent().unwrap().to_str().unwrap();
    let name = file.0.file_name().unwrap().to_str().unwrap();
    let tilde = format!("~/{name}");
    let c = config(
        &["--name", "127.0.0.1:2001"],
        &[("HOME", dir), ("SWIM_SECRET_FILE", &tilde)],
    )
    .unwrap();
    assert_eq!(c.security.secret.as_deref(), Some(&b"home secret"[..]));
}

#[test]
fn unusable_secret_files_are_errors() {
    let missing = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no-such-secret-file");
    let err = config(
        &["--name", "127.0.0.1:2001"],
        &[("SWIM_SECRET_FILE", missing.to_str().unwrap())],
    )
    .unwrap_err();
    assert!(matches!(err, ConfigError::SecretFile { .. }), "{err:?}");
    assert!(err.to_string().contains("no-such-secret-file"), "{err}");

    let empty = TempFile::new("empty", b"\n");
    let err = config(
        &["--name", "127.0.0.1:2001"],
        &[("SWIM_SECRET_FILE", empty.path())],
    )
    .unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");

    let huge = TempFile::new("huge", &vec![b'x'; 70_000]);
    let err = config(
        &["--name", "127.0.0.1:2001"],
        &[("SWIM_SECRET_FILE", huge.path())],
    )
    .unwrap_err();
    assert!(err.to_string().contains("longer than"), "{err}");
}

#[test]
fn name_and_peers_files_like_the_seed() {
    let name = TempFile::new("name", b"127.0.0.1:2001\n");
    let peers = TempFile::new("peers", b"127.0.0.1:2002,127.0.0.1:2003\n");
    let c = config(
        &[],
        &[
            ("SWIM_NAME_FILE", name.path()),
            ("SWIM_PEERS_FILE", peers.path()),
        ],
    )
    .unwrap();
    assert_eq!(c.local_name, "127.0.0.1:2001");
    assert_eq!(c.peers, ["127.0.0.1:2002", "127.0.0.1:2003"]);
}

#[test]
fn custom_prefix() {
    let file = TempFile::new("prefix", b"app secret\n");
    let env = [
        ("SWIM_NAME", "127.0.0.1:1111"),
        ("SWIM_SECRET", "wrong"),
        ("APP_NAME", "127.0.0.1:2001"),
        ("APP_PEERS", "127.0.0.1:2002"),
        ("APP_SECRET_FILE", file.path()),
        ("APP_WIRE", "python"),
    ];
    let c = config_with_prefix("APP", &[], &env).unwrap();
    assert_eq!(c.local_name, "127.0.0.1:2001");
    assert_eq!(c.peers, ["127.0.0.1:2002"]);
    assert_eq!(c.security.secret.as_deref(), Some(&b"app secret"[..]));
    assert_eq!(c.protocol.wire, WireKind::Python);
}

#[test]
fn missing_name_names_the_variable() {
    let err = config_with_prefix("APP", &[], &[("SWIM_NAME", "127.0.0.1:1")]).unwrap_err();
    assert!(matches!(err, ConfigError::MissingName { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("--name") && message.contains("APP_NAME"),
        "{message}"
    );
}

/// The options and variables, read and then validated, as `Cluster::start` does.
fn checked(args: &[&str], env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let config = config(args, env)?;
    config.validate()?;
    Ok(config)
}

#[test]
fn bad_environment_values_are_errors() {
    let err = config(&[], &[("SWIM_NAME", "127.0.0.1:1"), ("SWIM_WIRE", "xml")]).unwrap_err();
    assert!(err.to_string().contains("SWIM_WIRE"), "{err}");
    let err = checked(&[], &[("SWIM_NAME", "::1:2001")]).unwrap_err();
    assert!(err.to_string().contains("brackets"), "{err}");
    let err = checked(&["--name", "127.0.0.1:1"], &[("SWIM_PEERS", "a,host:")]).unwrap_err();
    assert!(err.to_string().contains("host:"), "{err}");
}

#[test]
fn the_result_is_validated_once_where_it_is_used() {
    let config = config(&["--name", "127.0.0.1:1", "--mtu-size", "100"], &[]).unwrap();
    let err = config.validate().unwrap_err();
    assert!(err.to_string().contains("mtu_size"), "{err}");
    let err = checked(&["--name", "127.0.0.1:1", "--ping-interval", "0"], &[]).unwrap_err();
    assert!(err.to_string().contains("ping_interval"), "{err}");
}

/// Each thing is said once, however the error is printed: the message alone, or the whole
/// chain of sources as `anyhow`'s `{:#}` prints it.
#[test]
fn error_messages_say_each_thing_once() {
    use std::error::Error;
    let err = checked(&["--name", "127.0.0.1:1", "--peer", "127.0.0.1:99999"], &[]).unwrap_err();
    let err = swim_protocol::StartError::from(err);
    let mut chain = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        chain.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    assert_eq!(
        chain,
        "invalid configuration: peer \"127.0.0.1:99999\": port \"99999\" is not a number from 0 \
         to 65535"
    );
}

#[tokio::test]
async fn wire_auto_by_flag_or_environment_runs_the_per_member_rules() {
    let by_flag = config(&["--name", "127.0.0.1:2001", "--wire", "auto"], &[]).unwrap();
    let by_env = config(&["--name", "127.0.0.1:2001"], &[("SWIM_WIRE", "AUTO")]).unwrap();
    for c in [by_flag, by_env] {
        assert_eq!(c.protocol.wire, WireKind::Auto);
        // The package's timings, as with --wire python, while Python members may remain.
        assert_eq!(c.protocol.ping_interval, std::time::Duration::from_secs(1));
        let resolved = c.with_secret("s").resolve().await.unwrap();
        assert_eq!(resolved.protocol().wire, WireKind::Auto);
    }
}
