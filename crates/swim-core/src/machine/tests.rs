//! Unit tests of the orchestrator's own rules (the parts test theirs beside them; the
//! protocol as a whole is tested in `tests/` and in the simulator).

use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::*;
use crate::Wire;

#[test]
fn a_nack_is_never_sent_in_the_python_format() {
    let config = ProtocolConfig {
        wire: Wire::Auto,
        ..ProtocolConfig::default()
    };
    let rng = StdRng::seed_from_u64(1);
    let peers = ["p:1".into()];
    let mut a = Swim::new(
        config,
        "a:1".into(),
        Metadata::empty(),
        peers,
        rng,
        Duration::ZERO,
    )
    .unwrap();
    while a.poll_transmit().is_some() {}
    assert!(!a.send_on(1, PeerWire::Python, Message::Nack { seq: 1 }, false));
    assert!(a.poll_transmit().is_none());
    assert!(a.send_on(1, PeerWire::Native, Message::Nack { seq: 1 }, false));
    assert_eq!(a.poll_transmit().map(|t| t.wire), Some(PeerWire::Native));
}

#[test]
fn every_timer_is_read_by_poll_timeout() {
    let rng = StdRng::seed_from_u64(2);
    let a = Swim::new(
        ProtocolConfig::default(),
        "a:1".into(),
        Metadata::empty(),
        ["p:1".into()],
        rng,
        Duration::ZERO,
    )
    .unwrap();
    // At start a join is due at once: the earliest of the armed timers.
    assert_eq!(a.poll_timeout(), Some(Duration::ZERO));
    for timer in Timer::ALL {
        if let Some(at) = a.timer_due(timer) {
            assert!(a.poll_timeout().is_some_and(|next| next <= at), "{timer:?}");
        }
    }
}
