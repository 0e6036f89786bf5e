//! Profiles: `lan` by default, `seed` with the Python wire, `--profile` / `SWIM_PROFILE` /
//! `Config::with_profile`, and single timing options over the profile's values.

use std::collections::HashMap;
use std::time::Duration;

use clap::Parser;
use swim_protocol::{Args, Config, ConfigError, Profile, ProtocolConfig, WireKind};

#[derive(Parser, Debug)]
struct Cli {
    #[command(flatten)]
    swim: Args,
}

fn config(flags: &[&str], env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let argv = ["test", "--name", "127.0.0.1:2001"].into_iter();
    let args = Cli::try_parse_from(argv.chain(flags.iter().copied()))
        .unwrap()
        .swim;
    let env: HashMap<&str, &str> = env.iter().copied().collect();
    args.into_config_with_env("SWIM", |var| env.get(var).map(|v| v.to_string()))
}

fn profile(p: Profile) -> ProtocolConfig {
    ProtocolConfig::default().with_profile(p)
}

/// The profile's timings on the Python wire.
fn python(p: Profile) -> ProtocolConfig {
    ProtocolConfig {
        wire: WireKind::Python,
        ..profile(p)
    }
}

#[test]
fn lan_for_the_native_wire_and_seed_for_the_python_wire() {
    assert_eq!(config(&[], &[]).unwrap().protocol, profile(Profile::Lan));
    assert_eq!(Config::new("a:1").protocol, profile(Profile::Lan));
    let on_python = config(&["--wire", "python"], &[]).unwrap();
    assert_eq!(on_python.protocol, python(Profile::Seed));
    assert_eq!(on_python.protocol.fanout, 0);
    let on_python = Config::new("a:1").with_wire(WireKind::Python);
    assert_eq!(on_python.protocol, python(Profile::Seed));
}

#[test]
fn the_flag_the_variable_and_the_builder_choose_a_profile() {
    let wan = profile(Profile::Wan);
    assert_eq!(config(&["--profile", "wan"], &[]).unwrap().protocol, wan);
    assert_eq!(
        config(&[], &[("SWIM_PROFILE", "wan")]).unwrap().protocol,
        wan
    );
    let flag_wins = config(&["--profile", "local"], &[("SWIM_PROFILE", "wan")]).unwrap();
    assert_eq!(flag_wins.protocol, profile(Profile::Local));
    assert_eq!(Config::new("a:1").with_profile(Profile::Wan).protocol, wan);
    // An explicit profile beats the one the Python wire implies.
    let python_lan = config(&["--wire", "python", "--profile", "lan"], &[]).unwrap();
    assert_eq!(python_lan.protocol, python(Profile::Lan));
}

#[test]
fn a_single_timing_flag_overrides_its_profiles_value() {
    let c = config(&["--profile", "wan", "--ping-interval", "2.5"], &[]).unwrap();
    let wan = profile(Profile::Wan);
    assert_eq!(c.protocol.ping_interval, Duration::from_millis(2500));
    assert_eq!(
        ProtocolConfig {
            ping_interval: wan.ping_interval,
            ..c.protocol
        },
        wan
    );
    let c = config(&["--wire", "python", "--suspect-timeout", "9"], &[]).unwrap();
    assert_eq!(c.protocol.suspect_timeout, Duration::from_secs(9));
    assert_eq!(c.protocol.ping_timeout, profile(Profile::Seed).ping_timeout);
}

#[test]
fn an_unknown_profile_is_explained() {
    let err = config(&[], &[("SWIM_PROFILE", "fast")])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("SWIM_PROFILE") && err.contains("fast"),
        "{err}"
    );
    let argv = ["test", "--name", "a:1", "--profile", "fast"];
    let err = Cli::try_parse_from(argv).unwrap_err().to_string();
    assert!(err.contains("lan, wan, local or seed"), "{err}");
}
