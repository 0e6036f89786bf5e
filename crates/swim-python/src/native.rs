//! The extension module `swimprotocol._native`: configuration, start, snapshots, changes.
//!
//! The Python classes call [`make_config`] when a `UdpConfig` is built (every check that
//! needs no network runs there, so bad input fails at once with `ConfigError`), and
//! [`start`] when the transport is entered. The [`Engine`] it returns wraps the running
//! [`Cluster`]; a task of the engine's runtime forwards each batch of changes to the event
//! loop with `loop.call_soon_threadsafe`.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, UNIX_EPOCH};

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use swim_protocol::address::AddressParser;
use swim_protocol::admission::cidr::Cidr;
use swim_protocol::{
    Cluster, Config, Events, MemberSnapshot, Metadata, Profile, ProtocolConfig, StartError, Status,
    WireKind,
};
use swim_tools::ops::{Endpoint, OpsArgs};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The Python exceptions of `swimprotocol.config`, raised from here.
mod errors {
    pyo3::import_exception!(swimprotocol.config, ConfigError);
    pyo3::import_exception!(swimprotocol.config, TransientConfigError);
}

/// Most changes handed to the event loop in one call.
const BATCH: usize = 256;

/// A `ConfigError` with `message`.
fn config_error(message: impl std::fmt::Display) -> PyErr {
    errors::ConfigError::new_err(message.to_string())
}

/// The Python exception for a start failure: `ConfigError`, `TransientConfigError` (with the
/// suggested wait as `wait_hint`) or `OSError`.
fn start_error(error: StartError) -> PyErr {
    match error {
        StartError::Config(error) => config_error(error),
        StartError::Transient {
            reason,
            retry_after,
        } => Python::attach(|py| {
            let class = py.get_type::<errors::TransientConfigError>();
            let kwargs = PyDict::new(py);
            let made = kwargs
                .set_item("wait_hint", retry_after.as_secs_f64())
                .and_then(|()| class.call((reason.clone(),), Some(&kwargs)));
            match made {
                Ok(instance) => PyErr::from_value(instance),
                Err(error) => error,
            }
        }),
        StartError::Io(error) => PyOSError::new_err(format!("cannot open sockets: {error}")),
    }
}

/// Seconds from Python as a duration: finite and not negative.
fn seconds(what: &str, value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        config_error(format!(
            "{what} is {value}, expected a number of seconds >= 0"
        ))
    })
}

/// A metadata mapping from Python: `str` keys, `bytes` values; anything else is a
/// `TypeError`, as the seed's packing would raise.
fn metadata_from_py(mapping: &Bound<'_, PyAny>) -> PyResult<Metadata> {
    let items = mapping.call_method0("items").map_err(|_| {
        PyTypeError::new_err(format!(
            "metadata must be a mapping of str to bytes, not {}",
            type_name(mapping)
        ))
    })?;
    let mut pairs = Vec::new();
    for item in items.try_iter()? {
        let (key, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
        let key = key.cast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!(
                "metadata keys must be str, not {}",
                type_name(&key)
            ))
        })?;
        let key = key.to_str()?.to_owned();
        let value = value.cast::<PyBytes>().map_err(|_| {
            PyTypeError::new_err(format!(
                "metadata value of {key:?} must be bytes, not {}",
                type_name(&value)
            ))
        })?;
        pairs.push((key, value.as_bytes().to_vec()));
    }
    Ok(pairs.into_iter().collect())
}

/// The name of `value`'s type, for messages.
fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map(|name| name.to_string())
        .unwrap_or_else(|_| "?".to_owned())
}

/// A metadata map as a Python `dict` of `str` to `bytes`.
fn metadata_to_py<'py>(py: Python<'py>, metadata: &Metadata) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (key, value) in metadata.iter() {
        dict.set_item(key, PyBytes::new(py, value))?;
    }
    Ok(dict)
}

/// The seed's name of a status.
fn status_name(status: Status) -> &'static str {
    match status {
        Status::Online => "ONLINE",
        Status::Suspect => "SUSPECT",
        Status::Offline => "OFFLINE",
    }
}

/// A member snapshot as the tuple the Python side reads: `(name, local, clock, status,
/// status_time, metadata, left)`, `status_time` in seconds since the UNIX epoch and
/// `metadata` `None` while unknown.
fn snapshot_to_py<'py>(
    py: Python<'py>,
    cluster: &Cluster,
    member: &MemberSnapshot,
) -> PyResult<Bound<'py, PyTuple>> {
    let status_time = cluster
        .wall_time(member.status_time)
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let metadata = match &member.metadata {
        Some(metadata) => metadata_to_py(py, metadata)?.into_any(),
        None => py.None().into_bound(py),
    };
    PyTuple::new(
        py,
        [
            PyString::new(py, member.name.as_str()).into_any(),
            member.local.into_pyobject(py)?.to_owned().into_any(),
            member.clock.into_pyobject(py)?.into_any(),
            PyString::new(py, status_name(member.status)).into_any(),
            status_time.into_pyobject(py)?.into_any(),
            metadata,
            member.left.into_pyobject(py)?.to_owned().into_any(),
        ],
    )
}

/// A validated configuration, made by [`make_config`].
#[pyclass(frozen, module = "swimprotocol._native")]
struct NativeConfig {
    config: Config,
    /// Where to serve the tools' metrics and status page, if anywhere.
    metrics_addr: Option<String>,
}

#[pymethods]
impl NativeConfig {
    /// The local member's name as configured.
    #[getter]
    fn local_name(&self) -> &str {
        &self.config.local_name
    }

    /// The effective protocol timings, in seconds (counts as integers), after the profile
    /// and the explicit values: a `dict`.
    fn timings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let p = &self.config.protocol;
        let dict = PyDict::new(py);
        dict.set_item("ping_interval", p.ping_interval.as_secs_f64())?;
        dict.set_item("ping_timeout", p.ping_timeout.as_secs_f64())?;
        dict.set_item("ping_req_count", p.ping_req_count)?;
        dict.set_item("ping_req_timeout", p.ping_req_timeout.as_secs_f64())?;
        dict.set_item("suspect_timeout", p.suspect_timeout.as_secs_f64())?;
        dict.set_item("sync_interval", p.sync_interval.as_secs_f64())?;
        dict.set_item("offline_retention", p.offline_retention.as_secs_f64())?;
        dict.set_item("lifeguard", p.lifeguard)?;
        dict.set_item("wire", self.config.protocol.wire.to_string())?;
        Ok(dict)
    }

    /// `name` as the engine spells member names (`host:port`), with this config's default
    /// host and port; `ConfigError` if it is not a valid name.
    fn canonical_name(&self, name: &str) -> PyResult<String> {
        let parser = self.config.address_parser().map_err(config_error)?;
        let address = parser
            .parse(name)
            .map_err(|error| config_error(format!("member name {name:?}: {error}")))?;
        Ok(address.to_member_name().as_str().to_owned())
    }
}

/// Builds and checks the engine's configuration from the seed's keyword arguments and
/// ours; `ConfigError` (or `TypeError` for metadata that is not `str` to `bytes`) on bad
/// input. Timings left `None` come from `profile` (the seed's timings when no profile is
/// given).
#[pyfunction]
#[pyo3(signature = (
    *, local_name, peers, local_metadata, secret,
    ping_interval=None, ping_timeout=None, ping_req_count=None, ping_req_timeout=None,
    suspect_timeout=None, sync_interval=None, profile=None, wire="native",
    bind_host=None, bind_port=None, default_host=None, default_port=None, discovery=false,
    mtu_size=1500, label=None, keyring_file=None, allow_cidr=Vec::new(), lifeguard=None,
    offline_retention=None, metrics_addr=None,
))]
#[allow(clippy::too_many_arguments)]
fn make_config(
    local_name: String,
    peers: Vec<String>,
    local_metadata: &Bound<'_, PyAny>,
    secret: Option<Vec<u8>>,
    ping_interval: Option<f64>,
    ping_timeout: Option<f64>,
    ping_req_count: Option<i64>,
    ping_req_timeout: Option<f64>,
    suspect_timeout: Option<f64>,
    sync_interval: Option<f64>,
    profile: Option<String>,
    wire: &str,
    bind_host: Option<String>,
    bind_port: Option<i64>,
    default_host: Option<String>,
    default_port: Option<i64>,
    discovery: bool,
    mtu_size: i64,
    label: Option<String>,
    keyring_file: Option<PathBuf>,
    allow_cidr: Vec<String>,
    lifeguard: Option<bool>,
    offline_retention: Option<f64>,
    metrics_addr: Option<String>,
) -> PyResult<NativeConfig> {
    let mut config = Config::new(local_name)
        .with_peers(peers)
        .with_metadata(metadata_from_py(local_metadata)?)
        .with_discovery(discovery);
    config.security.secret = secret;
    let profile = match profile {
        Some(name) => name.parse::<Profile>().map_err(config_error)?,
        None => Profile::Seed,
    };
    let mut protocol = ProtocolConfig::default().with_profile(profile);
    protocol.wire = wire.parse::<WireKind>().map_err(config_error)?;
    let timings = [
        ("ping_interval", ping_interval, &mut protocol.ping_interval),
        ("ping_timeout", ping_timeout, &mut protocol.ping_timeout),
        (
            "ping_req_timeout",
            ping_req_timeout,
            &mut protocol.ping_req_timeout,
        ),
        (
            "suspect_timeout",
            suspect_timeout,
            &mut protocol.suspect_timeout,
        ),
        ("sync_interval", sync_interval, &mut protocol.sync_interval),
        (
            "offline_retention",
            offline_retention,
            &mut protocol.offline_retention,
        ),
    ];
    for (what, value, field) in timings {
        if let Some(value) = value {
            *field = seconds(what, value)?;
        }
    }
    if let Some(count) = ping_req_count {
        protocol.ping_req_count = usize::try_from(count)
            .map_err(|_| config_error(format!("ping_req_count is {count}, expected >= 0")))?;
    }
    if let Some(lifeguard) = lifeguard {
        protocol.lifeguard = lifeguard;
    }
    config.protocol = protocol;
    if let Some(host) = bind_host {
        config.bind_host = Some(bind_address(&host)?);
    }
    config.bind_port = bind_port
        .map(|port| port_number("bind_port", port))
        .transpose()?;
    if let Some(host) = default_host {
        config.default_host = host;
    }
    if let Some(port) = default_port {
        config.default_port = port_number("default_port", port)?;
    }
    config.mtu_size = usize::try_from(mtu_size)
        .map_err(|_| config_error(format!("mtu_size is {mtu_size}, expected a size in bytes")))?;
    let mut security = config.security.clone();
    if let Some(label) = label {
        security = security.with_label(label);
    }
    if let Some(path) = keyring_file {
        security = security.with_keyring_file(path);
    }
    if !allow_cidr.is_empty() {
        let cidrs = allow_cidr
            .iter()
            .map(|text| {
                text.parse::<Cidr>()
                    .map_err(|error| config_error(format!("allow_cidr {text:?}: {error}")))
            })
            .collect::<PyResult<Vec<_>>>()?;
        security = security.with_allow(cidrs);
    }
    // Reads the keyring file now, so that a bad one fails here rather than at start.
    security.initial_keyring().map_err(config_error)?;
    config.security = security;
    config.validate().map_err(config_error)?;
    Ok(NativeConfig {
        config,
        metrics_addr,
    })
}

/// A port number from Python: 0 to 65535.
fn port_number(what: &str, port: i64) -> PyResult<u16> {
    u16::try_from(port).map_err(|_| {
        config_error(format!(
            "{what} is {port}, expected a port number (0-65535)"
        ))
    })
}

/// The address to bind: an IP address, or a host name resolved now (as the seed's socket
/// calls would).
fn bind_address(host: &str) -> PyResult<IpAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(ip);
    }
    (host, 0)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .map(|addr| addr.ip())
        .ok_or_else(|| {
            config_error(format!(
                "bind_host {host:?} is not an address this host has"
            ))
        })
}

/// A running member. Made by [`start`]; stopped with `shutdown()`.
#[pyclass(frozen, weakref, module = "swimprotocol._native")]
struct Engine {
    cluster: Cluster,
    /// The task handing changes to the event loop; taken by `shutdown`.
    delivery: Mutex<Option<JoinHandle<()>>>,
    /// The metrics/status server's address and task, if it runs; the task is taken by
    /// `shutdown`, which stops it with `stop_server`.
    server: Option<SocketAddr>,
    server_task: Mutex<Option<JoinHandle<()>>>,
    stop_server: watch::Sender<bool>,
}

#[pymethods]
impl Engine {
    /// The local member's name, as the others know it.
    #[getter]
    fn name(&self) -> &str {
        self.cluster.name().as_str()
    }

    /// The bound address, `host:port`.
    #[getter]
    fn addr(&self) -> String {
        self.cluster.addr().to_string()
    }

    /// The address of the metrics/status server (`host:port`), or `None`.
    #[getter]
    fn metrics_addr(&self) -> Option<String> {
        self.server.map(|addr| addr.to_string())
    }

    /// Every member (the local one included), sorted by name, as snapshot tuples.
    fn members<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let members = self.cluster.members();
        let items = members
            .iter()
            .map(|member| snapshot_to_py(py, &self.cluster, member))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    /// Replaces the local metadata; the change spreads to every member.
    fn set_local_metadata(&self, metadata: &Bound<'_, PyAny>) -> PyResult<()> {
        self.cluster.set_local_metadata(metadata_from_py(metadata)?);
        Ok(())
    }

    /// Adds a peer to contact; `ConfigError` for a name that is not `host:port` (port 0
    /// included). The member asks it shortly after.
    fn add_peer(&self, peer: String) -> PyResult<()> {
        let address = AddressParser::new()
            .parse(&peer)
            .map_err(|error| config_error(format!("peer {peer:?}: {error}")))?;
        if address.port == 0 {
            return Err(config_error(format!("peer {peer:?}: the port is 0")));
        }
        let cluster = self.cluster.clone();
        runtime().spawn(async move {
            // Checked above; it fails only once the member has stopped.
            let _ = cluster.add_peer(&peer).await;
        });
        Ok(())
    }

    /// Leaves the cluster gracefully, blocking (without the GIL): `True` once a member
    /// acknowledged the leave, `False` after `timeout` seconds. The Python side runs it
    /// on the event loop's executor.
    fn leave(&self, py: Python<'_>, timeout: f64) -> PyResult<bool> {
        let timeout = seconds("timeout", timeout)?;
        let cluster = self.cluster.clone();
        Ok(py.detach(|| runtime().block_on(cluster.leave(timeout))))
    }

    /// Stops the member and the delivery of changes, blocking (without the GIL) until
    /// every task of the member has ended, the last delivery included. Calling it again
    /// does nothing.
    fn shutdown(&self, py: Python<'_>) -> PyResult<()> {
        let delivery = self
            .delivery
            .lock()
            .map_err(|_| PyRuntimeError::new_err("engine state poisoned"))?
            .take();
        let Some(delivery) = delivery else {
            return Ok(());
        };
        let server = self
            .server_task
            .lock()
            .map_err(|_| PyRuntimeError::new_err("engine state poisoned"))?
            .take();
        self.stop_server.send_replace(true);
        let cluster = self.cluster.clone();
        py.detach(|| {
            runtime().block_on(async move {
                if let Some(server) = server {
                    let _ = server.await;
                }
                cluster.shutdown().await;
                // The stream ends with the member, so the task ends on its own.
                let _ = delivery.await;
            })
        });
        Ok(())
    }

    /// The traffic counters so far, as a `dict` of `str` to `int`.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.cluster.stats();
        let dict = PyDict::new(py);
        let counters = [
            ("udp_packets_sent", s.udp_packets_sent),
            ("udp_bytes_sent", s.udp_bytes_sent),
            ("udp_packets_received", s.udp_packets_received),
            ("udp_bytes_received", s.udp_bytes_received),
            ("tcp_packets_sent", s.tcp_packets_sent),
            ("tcp_bytes_sent", s.tcp_bytes_sent),
            ("tcp_packets_received", s.tcp_packets_received),
            ("tcp_bytes_received", s.tcp_bytes_received),
            ("dropped_bad_signature", s.dropped_bad_signature),
            ("dropped_malformed", s.dropped_malformed),
            ("dropped_wrong_label", s.dropped_wrong_label),
            ("dropped_unknown_key", s.dropped_unknown_key),
            ("dropped_replayed", s.dropped_replayed),
            ("dropped_source_not_allowed", s.dropped_source_not_allowed),
            ("dropped_rate_limited", s.dropped_rate_limited),
            ("send_failures", s.send_failures),
            ("probes_started", s.protocol.probes_started),
            ("probes_failed", s.protocol.probes_failed),
            ("suspicions_raised", s.protocol.suspicions_raised),
            ("offline_declared", s.protocol.offline_declared),
            ("pending_gossip", s.pending_gossip),
        ];
        for (key, value) in counters {
            dict.set_item(key, value)?;
        }
        Ok(dict)
    }

    /// The member's metrics as OpenMetrics text (what the tools' `/metrics` serves).
    fn metrics(&self) -> String {
        swim_protocol::metrics::encode(&self.cluster)
    }
}

/// Starts a member with `config`, blocking (without the GIL) until its sockets are open;
/// the Python side runs it on the event loop's executor. Each batch of changes is then
/// passed as a list of snapshot tuples to `deliver`, called in `event_loop` with
/// `call_soon_threadsafe`.
///
/// Why blocking calls on the executor rather than `future_into_py`: the awaitable's
/// completion runs Python code on a runtime thread, and when the application exits right
/// after (Ctrl-C, a failed start) the interpreter may be finalizing before that thread
/// has let go of it, which aborts the process. Executor threads are Python's own, and
/// `asyncio.run` joins them before the interpreter exits.
#[pyfunction]
fn start(
    py: Python<'_>,
    config: &NativeConfig,
    deliver: Py<PyAny>,
    event_loop: Py<PyAny>,
) -> PyResult<Engine> {
    let metrics_addr = config.metrics_addr.clone();
    let config = config.config.clone();
    let (stop_server, stop_rx) = watch::channel(false);
    let (cluster, server) = py.detach(|| {
        runtime().block_on(async move {
            // Bound before the member starts, so that a taken port fails at once.
            let endpoint = match metrics_addr {
                Some(addr) => {
                    let args = OpsArgs {
                        metrics_addr: Some(addr),
                        ..OpsArgs::default()
                    };
                    Endpoint::bind(&args)
                        .await
                        .map_err(|error| PyOSError::new_err(format!("{error:#}")))?
                }
                None => None,
            };
            let cluster = Cluster::start(config).await.map_err(start_error)?;
            let server = match endpoint {
                Some(endpoint) => {
                    let addr = endpoint.local_addr().ok();
                    Some((addr, endpoint.spawn(cluster.clone(), &stop_rx)))
                }
                None => None,
            };
            Ok::<_, PyErr>((cluster, server))
        })
    })?;
    let (server, server_task) = match server {
        Some((addr, task)) => (addr, Some(task)),
        None => (None, None),
    };
    let events = cluster.subscribe();
    let task = runtime().spawn(deliver_changes(
        cluster.clone(),
        events,
        deliver,
        event_loop,
    ));
    Ok(Engine {
        cluster,
        delivery: Mutex::new(Some(task)),
        server,
        server_task: Mutex::new(server_task),
        stop_server,
    })
}

/// The engine's runtime (two worker threads, see the module's init), which
/// pyo3-async-runtimes holds.
fn runtime() -> &'static tokio::runtime::Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
}

/// Hands every change to the event loop, in batches, until the member stops or the loop
/// is closed. The GIL is taken only to build each batch and schedule it.
async fn deliver_changes(
    cluster: Cluster,
    mut events: Events,
    deliver: Py<PyAny>,
    event_loop: Py<PyAny>,
) {
    while let Some(first) = events.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match events.try_recv() {
                Some(change) => batch.push(change),
                None => break,
            }
        }
        let delivered = Python::attach(|py| -> PyResult<()> {
            let items = batch
                .iter()
                .map(|change| snapshot_to_py(py, &cluster, &change.member))
                .collect::<PyResult<Vec<_>>>()?;
            let list = PyList::new(py, items)?;
            event_loop.call_method1(py, "call_soon_threadsafe", (deliver.clone_ref(py), list))?;
            Ok(())
        });
        if delivered.is_err() {
            // The loop is closed: nobody is left to tell.
            break;
        }
    }
}

/// The extension module.
#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder
        .worker_threads(2)
        // Blocking work (name lookups, keyring files) runs on a few threads that end soon
        // after, so that a stopped member leaves no thread behind for long.
        .max_blocking_threads(8)
        .thread_keep_alive(Duration::from_secs(2))
        .thread_name("swim-engine")
        .enable_all();
    pyo3_async_runtimes::tokio::init(builder);
    module.add_class::<NativeConfig>()?;
    module.add_class::<Engine>()?;
    module.add_function(wrap_pyfunction!(make_config, module)?)?;
    module.add_function(wrap_pyfunction!(start, module)?)?;
    Ok(())
}
