//! The security features on real sockets: key rotation on a live cluster, encryption that
//! hides metadata from a wiretap, replays refused (same member, another member, after a
//! restart of either), cluster labels and the source allow-list.

mod support;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::{eventually, fast_protocol, sees, shutdown_all, wait_all_online_within};
use swim_protocol::frame::keyring::{Key, Keyring, KeyringEntry};
use swim_protocol::security::Security;
use swim_protocol::{Cluster, Config, MemberName, Metadata, Status};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;

const SECRET: &[u8] = b"security test secret";

/// Longest wait for anything in these tests: traffic to flow between two steps of a
/// rotation, a change to reach every member, a cluster to form, a drop to be counted. Generous, as each wait ends as soon as
/// its condition holds: a machine busy with other work can give the members a sliver of CPU
/// (seen with 16 busy loops on 2 cores: 5 members took over 10 s to try 3 joins).
const TIMEOUT: Duration = Duration::from_secs(90);

fn config(peers: &[MemberName], metadata: Metadata, security: Security) -> Config {
    Config::new("127.0.0.1:0")
        .with_peers(peers.iter().map(MemberName::to_string))
        .with_metadata(metadata)
        .with_secret(SECRET)
        .with_protocol(fast_protocol())
        .with_security(security)
}

/// Starts `n` members with `security`, each knowing the first, and waits until all see all.
async fn start_cluster(n: usize, security: &Security) -> Vec<Cluster> {
    let mut members: Vec<Cluster> = Vec::new();
    for i in 0..n {
        let peers: Vec<MemberName> = members
            .first()
            .map(|m| m.name().clone())
            .into_iter()
            .collect();
        let metadata = Metadata::empty().with("name", format!("member{i}"));
        members.push(
            Cluster::start(config(&peers, metadata, security.clone()))
                .await
                .unwrap(),
        );
    }
    wait_all_online_within(&members, TIMEOUT).await;
    members
}

/// Every change that makes one of the cluster's members anything but ONLINE, as seen by any
/// of them, with the step of the rotation in which it came.
struct Suspicions {
    step: Arc<Mutex<String>>,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Suspicions {
    fn watch(members: &[Cluster]) -> Suspicions {
        let names: Vec<MemberName> = members.iter().map(|m| m.name().clone()).collect();
        let suspicions = Suspicions {
            step: Arc::new(Mutex::new("start".to_owned())),
            seen: Arc::default(),
        };
        let started = std::time::Instant::now();
        for member in members {
            let (step, seen, names) = (
                suspicions.step.clone(),
                suspicions.seen.clone(),
                names.clone(),
            );
            let observer = member.name().clone();
            member.on_change(move |change| {
                if names.contains(&change.member.name) && change.member.status != Status::Online {
                    let step = step.lock().unwrap().clone();
                    seen.lock().unwrap().push(format!(
                        "{:?} during {step:?}: {observer} sees {} {}",
                        started.elapsed(),
                        change.member.name,
                        change.member.status
                    ));
                }
            });
        }
        suspicions
    }

    /// The rotation goes on to step `what`.
    fn step(&self, what: impl Into<String>) {
        *self.step.lock().unwrap() = what.into();
    }

    /// Fails if any member was suspected, with what each member counted: frames refused
    /// for their key would make it the rotation's fault, a local health above zero a slow
    /// member's.
    fn assert_none(&self, members: &[Cluster]) {
        let seen = self.seen.lock().unwrap();
        if seen.is_empty() {
            return;
        }
        let stats: Vec<String> = members
            .iter()
            .map(|m| {
                let s = m.stats();
                format!(
                    "{}: dropped unknown key {}, bad signature {}, replayed {}; probes failed \
                     {}, local health {}",
                    m.name(),
                    s.dropped_unknown_key,
                    s.dropped_bad_signature,
                    s.dropped_replayed,
                    s.protocol.probes_failed,
                    s.protocol.local_health
                )
            })
            .collect();
        panic!(
            "members were suspected:\n{}\n{}",
            seen.join("\n"),
            stats.join("\n")
        );
    }
}

/// Waits until every member has received `packets` more datagrams than now: traffic has
/// flowed under the current keyrings.
async fn traffic_flows(members: &[Cluster], packets: u64, what: &str) {
    let before: Vec<u64> = members
        .iter()
        .map(|m| m.stats().udp_packets_received)
        .collect();
    eventually(TIMEOUT, what, || async {
        members
            .iter()
            .zip(&before)
            .all(|(m, b)| m.stats().udp_packets_received >= b + packets)
    })
    .await;
}

#[tokio::test]
async fn signed_to_encrypted_then_key_rotation_on_a_live_cluster_suspects_nobody() {
    let members = start_cluster(5, &Security::default()).await;
    let suspicions = Suspicions::watch(&members);
    let (k1, k2) = (
        KeyringEntry::Key(Key::generate()),
        KeyringEntry::Key(Key::generate()),
    );
    // From signed frames to k1, then from k1 to k2: install everywhere, use everywhere,
    // remove the old one everywhere, with traffic flowing between the steps.
    for (old, new) in [(KeyringEntry::Signed, k1.clone()), (k1, k2.clone())] {
        suspicions.step(format!("install {new}"));
        for member in &members {
            member.keyring().install(new.clone()).unwrap();
        }
        traffic_flows(&members, 20, "traffic after install").await;
        suspicions.step(format!("use {new}"));
        for member in &members {
            member.keyring().use_primary(&new).unwrap();
            // Members switch one by one while the others still send with the old entry.
            traffic_flows(&members[..1], 5, "traffic while switching").await;
        }
        traffic_flows(&members, 20, "traffic after use").await;
        suspicions.step(format!("remove {old}"));
        for member in &members {
            member.keyring().remove(&old).unwrap();
        }
        traffic_flows(&members, 20, "traffic after remove").await;
    }
    suspicions.assert_none(&members);
    for member in &members {
        let stats = member.stats();
        assert_eq!(stats.dropped_unknown_key, 0, "{stats:?}");
        assert_eq!(stats.dropped_bad_signature, 0, "{stats:?}");
        assert_eq!(
            *member.keyring().get(),
            Keyring::new(vec![k2.clone()]).unwrap()
        );
    }
    // A member still on the retired key cannot join any more.
    let stale = Security::default().with_keyring(Keyring::with_key(Key::generate()));
    let outsider = Cluster::start(config(
        &[members[0].name().clone()],
        Metadata::empty(),
        stale,
    ))
    .await
    .unwrap();
    eventually(TIMEOUT, "outsider refused", || async {
        members[0].stats().dropped_unknown_key >= 3
    })
    .await;
    assert!(!sees(&outsider, members[0].name(), Status::Online));
    outsider.shutdown().await;
    shutdown_all(members).await;
}

/// Replaces `path`'s text at once, as `docs/SECURITY.md` says to (a file written in
/// place may be read half-written, and a half that parses is a keyring).
fn replace_file(path: &std::path::Path, text: &str) {
    let new = path.with_extension("new");
    std::fs::write(&new, text).unwrap();
    std::fs::rename(&new, path).unwrap();
}

#[tokio::test]
async fn a_keyring_file_change_rotates_the_running_members() {
    let dir = std::env::temp_dir().join(format!("swim-keyring-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (k1, k2) = (Key::generate(), Key::generate());
    let files: Vec<_> = (0..3).map(|i| dir.join(format!("member{i}"))).collect();
    for file in &files {
        std::fs::write(file, format!("{}\n", k1.to_base64())).unwrap();
    }
    let mut members: Vec<Cluster> = Vec::new();
    for file in &files {
        let peers: Vec<MemberName> = members
            .first()
            .map(|m| m.name().clone())
            .into_iter()
            .collect();
        let security = Security::default().with_keyring_file(file);
        members.push(
            Cluster::start(config(&peers, Metadata::empty(), security))
                .await
                .unwrap(),
        );
    }
    wait_all_online_within(&members, TIMEOUT).await;
    let suspicions = Suspicions::watch(&members);
    let steps = [
        (
            "install k2",
            format!("{}\n{}\n", k1.to_base64(), k2.to_base64()),
        ),
        (
            "use k2",
            format!("{}\n{}\n", k2.to_base64(), k1.to_base64()),
        ),
        ("remove k1", format!("# rotated\n{}\n", k2.to_base64())),
    ];
    for (step, text) in steps {
        suspicions.step(step);
        let expected = Keyring::parse(&text).unwrap();
        for file in &files {
            replace_file(file, &text);
        }
        eventually(TIMEOUT, "keyring files applied", || async {
            members.iter().all(|m| *m.keyring().get() == expected)
        })
        .await;
        traffic_flows(&members, 20, "traffic after a keyring file change").await;
    }
    // A broken file changes nothing.
    suspicions.step("a broken file");
    replace_file(&files[0], "not a key\n");
    traffic_flows(&members, 20, "traffic after a bad keyring file").await;
    assert_eq!(*members[0].keyring().get(), Keyring::with_key(k2));
    suspicions.assert_none(&members);
    for member in &members {
        assert_eq!(member.stats().dropped_unknown_key, 0);
    }
    shutdown_all(members).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Everything sent to one member, as a wiretap on its address sees it: UDP datagrams and
/// TCP streams to the tap's address are recorded and forwarded to the member's real
/// address (which changes when the member restarts).
struct Tap {
    addr: SocketAddr,
    target: Arc<Mutex<Option<SocketAddr>>>,
    datagrams: Arc<Mutex<Vec<Vec<u8>>>>,
    streams: Arc<Mutex<Vec<Vec<u8>>>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Tap {
    async fn new() -> Tap {
        // A port free for UDP may be taken for TCP: try others until both bind.
        let (udp, tcp) = loop {
            let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            if let Ok(tcp) = TcpListener::bind(udp.local_addr().unwrap()).await {
                break (udp, tcp);
            }
        };
        let addr = udp.local_addr().unwrap();
        let target: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
        let datagrams: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let streams: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let (to, seen) = (target.clone(), datagrams.clone());
        let udp_task = tokio::spawn(async move {
            let mut buf = vec![0u8; 65_536];
            while let Ok((n, _)) = udp.recv_from(&mut buf).await {
                seen.lock().unwrap().push(buf[..n].to_vec());
                let to = *to.lock().unwrap();
                if let Some(to) = to {
                    let _ = udp.send_to(&buf[..n], to).await;
                }
            }
        });
        let (to, seen) = (target.clone(), streams.clone());
        let tcp_task = tokio::spawn(async move {
            while let Ok((mut client, _)) = tcp.accept().await {
                let (to, seen) = (to.clone(), seen.clone());
                tokio::spawn(async move {
                    let mut bytes = Vec::new();
                    if client.read_to_end(&mut bytes).await.is_ok() {
                        let to = *to.lock().unwrap();
                        if let Some(Ok(mut server)) = match to {
                            Some(to) => Some(TcpStream::connect(to).await),
                            None => None,
                        } {
                            let _ = server.write_all(&bytes).await;
                            let _ = server.shutdown().await;
                        }
                        seen.lock().unwrap().push(bytes);
                    }
                });
            }
        });
        Tap {
            addr,
            target,
            datagrams,
            streams,
            tasks: vec![udp_task, tcp_task],
        }
    }

    /// Forwards to `to` from now on.
    fn forward(&self, to: SocketAddr) {
        *self.target.lock().unwrap() = Some(to);
    }

    fn captured(&self) -> Vec<u8> {
        let mut all = self.datagrams.lock().unwrap().concat();
        all.extend(self.streams.lock().unwrap().concat());
        all
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A member reachable (by name) only through a tap: its name is the tap's address.
async fn tapped_member(
    tap: &Tap,
    peers: &[MemberName],
    metadata: Metadata,
    security: Security,
) -> Cluster {
    let config = Config::new(tap.addr.to_string())
        .with_bind(IpAddr::from([127, 0, 0, 1]), Some(0))
        .with_peers(peers.iter().map(MemberName::to_string))
        .with_metadata(metadata)
        .with_secret(SECRET)
        .with_protocol(fast_protocol())
        .with_security(security);
    let member = Cluster::start(config).await.unwrap();
    tap.forward(member.addr());
    member
}

/// Runs a 3-member cluster in which member 1 is tapped; members carry recognisable metadata,
/// one of them larger than the MTU (so it also crosses over TCP). Returns what the tap saw.
async fn wiretap(security: Security) -> (Vec<u8>, Vec<Vec<u8>>) {
    let secret_value = "s3cr3t-metadata-value";
    let big = "large-metadata-value-".repeat(100);
    let first = Cluster::start(config(
        &[],
        Metadata::empty().with("password", secret_value),
        security.clone(),
    ))
    .await
    .unwrap();
    let tap = Tap::new().await;
    let seed = [first.name().clone()];
    let tapped = tapped_member(
        &tap,
        &seed,
        Metadata::empty().with("role", "tapped"),
        security.clone(),
    )
    .await;
    let third = Cluster::start(config(
        &seed,
        Metadata::empty().with("blob", big.clone()),
        security,
    ))
    .await
    .unwrap();
    let members = vec![first, tapped, third];
    wait_all_online_within(&members, TIMEOUT).await;
    traffic_flows(&members, 20, "traffic through the tap").await;
    assert!(
        !tap.streams.lock().unwrap().is_empty(),
        "the large record crossed over TCP"
    );
    let captured = tap.captured();
    let datagrams = tap.datagrams.lock().unwrap().clone();
    shutdown_all(members).await;
    (captured, datagrams)
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn a_wiretap_on_an_encrypted_cluster_sees_no_metadata() {
    // The control: with signed frames only, the tap does see the metadata in clear.
    let (signed, _) = wiretap(Security::default()).await;
    assert!(contains(&signed, "s3cr3t-metadata-value"));
    assert!(contains(&signed, "large-metadata-value-"));
    let key = Keyring::with_key(Key::generate());
    let (encrypted, _) = wiretap(Security::default().with_keyring(key)).await;
    assert!(
        encrypted.len() > 10_000,
        "{} bytes captured",
        encrypted.len()
    );
    for needle in [
        "s3cr3t-metadata-value",
        "large-metadata-value-",
        "password",
        "role",
        "tapped",
        "member",
        "127.0.0.1",
    ] {
        assert!(
            !contains(&encrypted, needle),
            "{needle:?} crossed the wire in clear"
        );
    }
}

/// A frame that was bound to its recipient (header bytes 10..14 not zero).
fn bound_frame(datagrams: &[Vec<u8>]) -> Vec<u8> {
    datagrams
        .iter()
        .rev()
        .find(|d| d.len() > 38 && d[0] == 2 && d[10..14] != [0; 4])
        .expect("a bound frame was captured")
        .clone()
}

#[tokio::test]
async fn replayed_frames_are_refused_everywhere_and_after_restarts() {
    let key = Keyring::with_key(Key::generate());
    // Frames older than a member's start are refused by it: clocks here are one clock.
    let security = Security::default()
        .with_keyring(key)
        .with_max_clock_skew(Duration::ZERO);
    let first = Cluster::start(config(&[], Metadata::empty(), security.clone()))
        .await
        .unwrap();
    let tap = Tap::new().await;
    let seed = [first.name().clone()];
    let tapped = tapped_member(&tap, &seed, Metadata::empty(), security.clone()).await;
    let third = Cluster::start(config(&seed, Metadata::empty(), security.clone()))
        .await
        .unwrap();
    let members = vec![first, tapped, third];
    wait_all_online_within(&members, TIMEOUT).await;
    traffic_flows(&members, 10, "traffic through the tap").await;
    let frame = bound_frame(&tap.datagrams.lock().unwrap());
    let attacker = UdpSocket::bind("127.0.0.1:0").await.unwrap();

    // Sent again to the member it was for, and to another member.
    for target in [1, 2] {
        let before = members[target].stats().dropped_replayed;
        attacker
            .send_to(&frame, members[target].addr())
            .await
            .unwrap();
        eventually(TIMEOUT, "replay counted", || async {
            members[target].stats().dropped_replayed > before
        })
        .await;
    }

    // After the recipient restarts (same name, new process).
    let [first, tapped, third] = <[Cluster; 3]>::try_from(members).unwrap();
    tapped.shutdown().await;
    let restarted = tapped_member(&tap, &seed, Metadata::empty(), security.clone()).await;
    let members = vec![first, restarted, third];
    wait_all_online_within(&members, TIMEOUT).await;
    let before = members[1].stats().dropped_replayed;
    attacker.send_to(&frame, members[1].addr()).await.unwrap();
    eventually(TIMEOUT, "replay after restart counted", || async {
        members[1].stats().dropped_replayed > before
    })
    .await;

    // After the sender restarts (same names, new processes): its old frames stay refused
    // by the member that saw them.
    let sender_frame = bound_frame(&tap.datagrams.lock().unwrap());
    let [first, tapped, third] = <[Cluster; 3]>::try_from(members).unwrap();
    let mut restarted = Vec::new();
    for sender in [first, third] {
        let name = sender.name().clone();
        sender.shutdown().await;
        let again = Config::new(name.to_string())
            .with_peers([tapped.name().to_string()])
            .with_secret(SECRET)
            .with_protocol(fast_protocol())
            .with_security(security.clone());
        restarted.push(Cluster::start(again).await.unwrap());
    }
    let before = tapped.stats().dropped_replayed;
    attacker
        .send_to(&sender_frame, tapped.addr())
        .await
        .unwrap();
    eventually(TIMEOUT, "replay of a restarted sender counted", || async {
        tapped.stats().dropped_replayed > before
    })
    .await;
    restarted.push(tapped);
    wait_all_online_within(&restarted, TIMEOUT).await;
    shutdown_all(restarted).await;
}

#[tokio::test]
async fn clusters_with_other_labels_ignore_each_other() {
    for keyring in [
        Keyring::signed_only(),
        Keyring::with_key(Key::from_bytes([9; 32])),
    ] {
        let blue = Security::default()
            .with_label("blue")
            .with_keyring(keyring.clone());
        let green = Security::default()
            .with_label("green")
            .with_keyring(keyring);
        let blues = start_cluster(2, &blue).await;
        let seed = [blues[0].name().clone()];
        let intruder = Cluster::start(config(&seed, Metadata::empty(), green))
            .await
            .unwrap();
        eventually(TIMEOUT, "other label counted", || async {
            blues[0].stats().dropped_wrong_label >= 3
        })
        .await;
        assert!(!sees(&intruder, blues[0].name(), Status::Online));
        for member in &blues {
            assert!(member.members().iter().all(|m| &m.name != intruder.name()));
            assert_eq!(member.stats().dropped_bad_signature, 0);
        }
        intruder.shutdown().await;
        shutdown_all(blues).await;
    }
}

#[tokio::test]
async fn sources_outside_the_allow_list_are_dropped_unread() {
    let only_local = Security::default().with_allow(vec!["127.0.0.1/32".parse().unwrap()]);
    let members = start_cluster(2, &only_local).await;
    // A member on another loopback address is outside the list.
    let outside = Config::new("127.0.0.2:0")
        .with_peers([members[0].name().to_string()])
        .with_secret(SECRET)
        .with_protocol(fast_protocol());
    let outsider = Cluster::start(outside).await.unwrap();
    eventually(TIMEOUT, "outside source counted", || async {
        members[0].stats().dropped_source_not_allowed >= 3
    })
    .await;
    assert!(!sees(&outsider, members[0].name(), Status::Online));
    assert!(members[0]
        .members()
        .iter()
        .all(|m| &m.name != outsider.name()));
    assert_eq!(
        members[0].stats().dropped_bad_signature,
        0,
        "dropped before any check"
    );
    outsider.shutdown().await;
    shutdown_all(members).await;
}
