//! Command-line options, with environment variable fallbacks under a configurable prefix.

use std::env::VarError;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::seconds::parse_seconds;
use super::secret::read_value_file;
use super::{Config, WireKind};
use crate::admission::cidr::Cidr;
use crate::error::ConfigError;
use swim_core::Profile;

/// The library's command-line options, the seed's (`--secret`, `--name`, `--peer`, `--udp-*`)
/// plus timings, `--mtu-size` and `--wire`. Binaries include them with
/// `#[command(flatten)]` and turn them into a [`Config`] with [`Args::into_config`].
///
/// Options not given fall back to environment variables, then to defaults:
///
/// | option     | variable                                  |
/// |------------|-------------------------------------------|
/// | `--secret` | `SWIM_SECRET_FILE` (path), `SWIM_SECRET`  |
/// | `--name`   | `SWIM_NAME_FILE` (path), `SWIM_NAME`      |
/// | `--peer`   | `SWIM_PEERS_FILE` (path), `SWIM_PEERS`    |
/// | `--wire`   | `SWIM_WIRE_FILE` (path), `SWIM_WIRE`      |
/// | `--label`  | `SWIM_LABEL_FILE` (path), `SWIM_LABEL`    |
/// | `--keyring-file` | `SWIM_KEYRING_FILE` (the path itself) |
/// | `--allow-cidr` | `SWIM_ALLOW_CIDRS` (comma-separated) |
/// | `--profile`| `SWIM_PROFILE_FILE` (path), `SWIM_PROFILE`|
///
/// As in the seed, a `*_FILE` variable names a file holding the value (trailing newlines
/// removed) and wins over the plain variable: a deployment that sets both, such as a
/// Docker secret mounted over a default, gets the same secret as with the seed. Unlike the
/// seed, an unreadable file is an error rather than silently ignored. `SWIM_PEERS` is
/// comma-separated; a `--peer` option replaces it entirely. Empty values count as unset.
///
/// ```
/// use clap::Parser;
/// use swim_protocol::Args;
///
/// #[derive(Parser)]
/// struct Cli {
///     #[command(flatten)]
///     swim: Args,
/// }
///
/// let cli = Cli::parse_from(["app", "--name", "127.0.0.1:2001", "--peer", "127.0.0.1:2002"]);
/// let config = cli.swim.into_config_with_env("SWIM", |_| None).unwrap();
/// assert_eq!(config.peers, ["127.0.0.1:2002"]);
/// ```
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "swim options")]
pub struct Args {
    /// The secret string used to verify messages [env: SWIM_SECRET_FILE, SWIM_SECRET]
    #[arg(long = "secret", value_name = "STRING")]
    pub secret: Option<String>,
    /// External name or address for this node [env: SWIM_NAME]
    #[arg(long = "name", value_name = "localname")]
    pub name: Option<String>,
    /// At least one name or address of a known peer, or dns+HOST:PORT (every address of
    /// HOST) or dnssrv+NAME (SRV records), looked up again while running; repeatable
    /// [env: SWIM_PEERS]
    #[arg(long = "peer", value_name = "peername")]
    pub peers: Vec<String>,
    /// The bind IP address
    #[arg(long = "udp-bind", value_name = "INTERFACE")]
    pub udp_bind: Option<IpAddr>,
    /// The bind port
    #[arg(long = "udp-bind-port", value_name = "NUM")]
    pub udp_bind_port: Option<u16>,
    /// The default remote hostname
    #[arg(long = "udp-host", value_name = "NAME")]
    pub udp_host: Option<String>,
    /// The default port number
    #[arg(long = "udp-port", value_name = "NUM")]
    pub udp_port: Option<u16>,
    /// Find cluster with DNS discovery
    #[arg(long = "udp-discovery")]
    pub udp_discovery: bool,
    /// Packets larger than this go over TCP (576 to 65507)
    #[arg(long = "mtu-size", value_name = "BYTES")]
    pub mtu_size: Option<usize>,
    /// Wire format: native (default), python (swim-protocol 0.6.3's), or auto (both, to
    /// migrate a live cluster: see docs/migration.md) [env: SWIM_WIRE]
    #[arg(long = "wire", value_enum, value_name = "FORMAT")]
    pub wire: Option<WireKind>,
    /// Timings: lan (default), wan, local, or seed (swim-protocol 0.6.3's, the default with
    /// `--wire python` and `--wire auto`); each timing option below overrides its value [env: SWIM_PROFILE]
    #[arg(long = "profile", value_name = "NAME")]
    pub profile: Option<Profile>,
    /// Time between pings, in seconds
    #[arg(long = "ping-interval", value_name = "SECONDS", value_parser = parse_seconds)]
    pub ping_interval: Option<Duration>,
    /// Time to wait for an ack, in seconds
    #[arg(long = "ping-timeout", value_name = "SECONDS", value_parser = parse_seconds)]
    pub ping_timeout: Option<Duration>,
    /// Members asked to ping an unresponsive one
    #[arg(long = "ping-req-count", value_name = "NUM")]
    pub ping_req_count: Option<usize>,
    /// Time to wait for an indirect ack, in seconds
    #[arg(long = "ping-req-timeout", value_name = "SECONDS", value_parser = parse_seconds)]
    pub ping_req_timeout: Option<Duration>,
    /// Time before a suspect member is offline, in seconds
    #[arg(long = "suspect-timeout", value_name = "SECONDS", value_parser = parse_seconds)]
    pub suspect_timeout: Option<Duration>,
    /// Time between gossip packets, in seconds
    #[arg(long = "sync-interval", value_name = "SECONDS", value_parser = parse_seconds)]
    pub sync_interval: Option<Duration>,
    /// Time an offline member stays listed before it is forgotten, in seconds (default 600)
    #[arg(long = "offline-retention", value_name = "SECONDS", value_parser = parse_seconds)]
    pub offline_retention: Option<Duration>,
    /// Cluster label: clusters with another label ignore this member [env: SWIM_LABEL]
    #[arg(long = "label", value_name = "LABEL")]
    pub label: Option<String>,
    /// Keyring file (one base64 key per line, or `signed`; the first is used to send),
    /// re-read when it changes and on SIGHUP [env: SWIM_KEYRING_FILE]
    #[arg(long = "keyring-file", value_name = "PATH")]
    pub keyring_file: Option<PathBuf>,
    /// Accept packets only from this CIDR block; repeatable [env: SWIM_ALLOW_CIDRS]
    #[arg(long = "allow-cidr", value_name = "CIDR")]
    pub allow_cidrs: Vec<Cidr>,
}

impl Args {
    /// The config, with fallbacks from the process's `SWIM_*` variables. Only reading the
    /// options and variables can fail here; the configuration itself is checked when the
    /// member starts ([`Config::validate`] checks it earlier, if wanted).
    pub fn into_config(self) -> Result<Config, ConfigError> {
        self.into_config_with_prefix("SWIM")
    }

    /// The config, with fallbacks from the process's `{prefix}_*` variables.
    pub fn into_config_with_prefix(self, prefix: &str) -> Result<Config, ConfigError> {
        let mut not_unicode = None;
        let config = self.into_config_with_env(prefix, |var| match std::env::var(var) {
            Ok(value) => Some(value),
            Err(VarError::NotPresent) => None,
            Err(VarError::NotUnicode(_)) => {
                not_unicode.get_or_insert_with(|| var.to_owned());
                None
            }
        });
        match not_unicode {
            Some(var) => Err(ConfigError::Env {
                var,
                reason: "the value is not valid UTF-8".to_owned(),
            }),
            None => config,
        }
    }

    /// The config, with fallbacks from `{prefix}_*` variables looked up with `env` (which
    /// returns `None` for unset variables), so tests need not touch the process environment.
    ///
    /// ```
    /// use swim_protocol::Args;
    /// let env = |var: &str| (var == "APP_NAME").then(|| "127.0.0.1:2001".to_owned());
    /// let config = Args::default().into_config_with_env("APP", env).unwrap();
    /// assert_eq!(config.local_name, "127.0.0.1:2001");
    /// ```
    pub fn into_config_with_env(
        self,
        prefix: &str,
        mut env: impl FnMut(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let name = match non_empty(self.name) {
            Some(name) => name,
            None => {
                env_text(prefix, "NAME", &mut env)?.ok_or_else(|| ConfigError::MissingName {
                    env_var: format!("{prefix}_NAME"),
                })?
            }
        };
        let secret = match non_empty(self.secret) {
            Some(secret) => Some(secret.into_bytes()),
            None => env_bytes(prefix, "SECRET", &mut env)?,
        };
        let peers = if self.peers.is_empty() {
            let list = env_text(prefix, "PEERS", &mut env)?.unwrap_or_default();
            list.split(',')
                .map(str::trim)
                .filter(|peer| !peer.is_empty())
                .map(str::to_owned)
                .collect()
        } else {
            self.peers
        };
        let wire = match self.wire {
            Some(wire) => wire,
            None => match env_text(prefix, "WIRE", &mut env)? {
                Some(text) => {
                    text.parse()
                        .map_err(|e: swim_core::UnknownWire| ConfigError::Env {
                            var: format!("{prefix}_WIRE"),
                            reason: e.to_string(),
                        })?
                }
                None => WireKind::default(),
            },
        };
        let profile = match self.profile {
            Some(profile) => Some(profile),
            None => env_text(prefix, "PROFILE", &mut env)?
                .map(|text| text.parse::<Profile>())
                .transpose()
                .map_err(|e| ConfigError::Env {
                    var: format!("{prefix}_PROFILE"),
                    reason: e.to_string(),
                })?,
        };
        let mut config = Config::new(name).with_peers(peers).with_wire(wire);
        if let Some(profile) = profile {
            config = config.with_profile(profile);
        }
        config.security.secret = secret;
        config.bind_host = self.udp_bind;
        config.bind_port = self.udp_bind_port;
        if let Some(host) = non_empty(self.udp_host) {
            config.default_host = host;
        }
        if let Some(port) = self.udp_port {
            config.default_port = port;
        }
        config.discovery = self.udp_discovery;
        if let Some(mtu_size) = self.mtu_size {
            config.mtu_size = mtu_size;
        }
        let protocol = &mut config.protocol;
        let durations = [
            (self.ping_interval, &mut protocol.ping_interval),
            (self.ping_timeout, &mut protocol.ping_timeout),
            (self.ping_req_timeout, &mut protocol.ping_req_timeout),
            (self.suspect_timeout, &mut protocol.suspect_timeout),
            (self.sync_interval, &mut protocol.sync_interval),
            (self.offline_retention, &mut protocol.offline_retention),
        ];
        for (given, field) in durations {
            if let Some(value) = given {
                *field = value;
            }
        }
        if let Some(count) = self.ping_req_count {
            protocol.ping_req_count = count;
        }
        let security = &mut config.security;
        if let Some(label) = non_empty(self.label) {
            security.label = label;
        } else if let Some(label) = env_text(prefix, "LABEL", &mut env)? {
            security.label = label;
        }
        security.keyring_file = match self.keyring_file {
            Some(path) => Some(path),
            None => non_empty(env(&format!("{prefix}_KEYRING_FILE")))
                .map(|path| expand_home(&path, &mut env)),
        };
        security.limits.allow = if self.allow_cidrs.is_empty() {
            let var = format!("{prefix}_ALLOW_CIDRS");
            let list = non_empty(env(&var)).unwrap_or_default();
            list.split(',')
                .map(str::trim)
                .filter(|block| !block.is_empty())
                .map(|block| {
                    block.parse::<Cidr>().map_err(|e| ConfigError::Env {
                        var: var.clone(),
                        reason: e.to_string(),
                    })
                })
                .collect::<Result<_, _>>()?
        } else {
            self.allow_cidrs
        };
        // Validated once, where it is used: by `Config::resolve`.
        Ok(config)
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// `{prefix}_{key}_FILE` (the file's contents), else `{prefix}_{key}`; empty counts as unset.
fn env_bytes(
    prefix: &str,
    key: &str,
    env: &mut impl FnMut(&str) -> Option<String>,
) -> Result<Option<Vec<u8>>, ConfigError> {
    let file_var = format!("{prefix}_{key}_FILE");
    if let Some(path) = non_empty(env(&file_var)) {
        let path = expand_home(&path, env);
        return match read_value_file(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(reason) if key == "SECRET" => Err(ConfigError::SecretFile { path, reason }),
            Err(reason) => Err(ConfigError::Env {
                var: file_var,
                reason: format!("{}: {reason}", path.display()),
            }),
        };
    }
    Ok(non_empty(env(&format!("{prefix}_{key}"))).map(String::into_bytes))
}

/// [`env_bytes`] for a text value.
fn env_text(
    prefix: &str,
    key: &str,
    env: &mut impl FnMut(&str) -> Option<String>,
) -> Result<Option<String>, ConfigError> {
    env_bytes(prefix, key, env)?
        .map(|bytes| {
            String::from_utf8(bytes).map_err(|_| ConfigError::Env {
                var: format!("{prefix}_{key}_FILE"),
                reason: "the file's contents are not valid UTF-8".to_owned(),
            })
        })
        .transpose()
}

/// `~/x` is `$HOME/x`, as the seed's `Path.expanduser()`.
fn expand_home(path: &str, env: &mut impl FnMut(&str) -> Option<String>) -> PathBuf {
    match (path.strip_prefix("~/"), path == "~") {
        (Some(rest), _) => match env("HOME") {
            Some(home) => PathBuf::from(home).join(rest),
            None => PathBuf::from(path),
        },
        (None, true) => env("HOME").map_or_else(|| PathBuf::from(path), PathBuf::from),
        (None, false) => PathBuf::from(path),
    }
}
