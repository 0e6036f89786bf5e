//! The application's messages on real loopback sockets: an event reaches every member of
//! 20 once, a query with a metadata filter is answered (and acknowledged) by exactly the
//! members it selects, direct messages arrive, and a reliable one to a stopped member fails.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use support::{shutdown_all, start_online};
use swim_protocol::messaging::{
    AppMessage, Delivery, EventOptions, Messages, MessagingError, QueryOptions,
};
use swim_protocol::{AppError, KeyTest, QueryFilter, ReplyKind, WireKind};

const SECRET: &[u8] = b"test secret";

/// The next message within `within`, if any.
async fn next(messages: &mut Messages, within: Duration) -> Option<AppMessage> {
    tokio::time::timeout(within, messages.recv())
        .await
        .ok()
        .flatten()
}

#[tokio::test]
async fn an_event_reaches_each_of_twenty_members_once() {
    let members = start_online(20, SECRET, WireKind::Native).await;
    let mut readers: Vec<Messages> = members.iter().map(|m| m.messages()).collect();
    members[3]
        .publish("reload", b"v42".to_vec(), EventOptions::default())
        .await
        .unwrap();
    for (i, reader) in readers.iter_mut().enumerate() {
        match next(reader, Duration::from_secs(10)).await {
            Some(AppMessage::Event {
                name,
                origin,
                payload,
            }) => {
                assert_eq!(name, "reload");
                assert_eq!(&origin, members[3].name());
                assert_eq!(&payload[..], b"v42");
            }
            other => panic!("member {i}: {other:?}"),
        }
    }
    // Gossip keeps retransmitting for a while: still no second copy anywhere.
    for (i, reader) in readers.iter_mut().enumerate() {
        let again = next(
            reader,
            Duration::from_millis(if i == 0 { 1500 } else { 50 }),
        )
        .await;
        assert_eq!(again, None, "member {i}");
    }
    shutdown_all(members).await;
}

#[tokio::test]
async fn a_query_is_answered_by_exactly_the_members_its_filter_selects() {
    let members = start_online(20, SECRET, WireKind::Native).await;
    for member in &members {
        let name = member.local().metadata_or_empty().get("name").cloned();
        member.on_query("who", move |_| name.clone()).await;
    }
    // Metadata "name" is member0 .. member19: "member1*" selects member1 and member10-19.
    let filter = QueryFilter {
        names: vec![],
        metadata: vec![("name".to_owned(), KeyTest::Matches("member1*".to_owned()))],
    };
    let options = QueryOptions {
        filter,
        ack: true,
        relay: 2,
        timeout: Some(Duration::from_secs(3)),
    };
    let mut replies = members[0]
        .query("who", b"?".to_vec(), options)
        .await
        .unwrap();
    let (mut acks, mut responses) = (Vec::new(), Vec::new());
    while let Some(reply) = replies.next().await {
        match reply.kind {
            ReplyKind::Ack => acks.push(reply.from),
            ReplyKind::Response(payload) => {
                responses.push(String::from_utf8(payload.to_vec()).unwrap());
            }
        }
    }
    let mut expected: Vec<String> = std::iter::once(1)
        .chain(10..20)
        .map(|i| format!("member{i}"))
        .collect();
    expected.sort();
    responses.sort();
    assert_eq!(responses, expected, "each selected member answered once");
    let acked: BTreeSet<_> = acks.iter().collect();
    assert_eq!(acks.len(), 11, "{acks:?}");
    assert_eq!(acked.len(), 11);
    shutdown_all(members).await;
}

#[tokio::test]
async fn direct_messages_arrive_and_a_stopped_member_does_not_acknowledge() {
    let mut members = start_online(3, SECRET, WireKind::Native).await;
    let mut reader = members[1].messages();
    let to = members[1].name().to_string();
    members[0]
        .send(&to, b"hello".to_vec(), Delivery::BestEffort)
        .await
        .unwrap();
    members[0]
        .send(&to, b"sure".to_vec(), Delivery::Reliable)
        .await
        .unwrap();
    let mut got = Vec::new();
    for _ in 0..2 {
        match next(&mut reader, Duration::from_secs(5)).await {
            Some(AppMessage::Direct { from, payload }) => {
                assert_eq!(&from, members[0].name());
                got.push(payload.to_vec());
            }
            other => panic!("{other:?}"),
        }
    }
    got.sort();
    assert_eq!(got, [b"hello".to_vec(), b"sure".to_vec()]);
    // Limits are checked before anything is sent.
    let big = vec![0u8; 9 * 1024];
    assert!(matches!(
        members[0].send(&to, big, Delivery::BestEffort).await,
        Err(MessagingError::Refused(AppError::PayloadTooLarge { .. }))
    ));
    assert!(matches!(
        members[0]
            .publish("no spaces", Vec::new(), EventOptions::default())
            .await,
        Err(MessagingError::Refused(AppError::InvalidName(_)))
    ));
    let stopped = members.pop().unwrap();
    let gone = stopped.name().to_string();
    stopped.shutdown().await;
    let result = members[0]
        .send(&gone, b"anyone?".to_vec(), Delivery::Reliable)
        .await;
    assert!(
        matches!(result, Err(MessagingError::NotAcknowledged(ref m)) if m.as_str() == gone),
        "{result:?}"
    );
    shutdown_all(members).await;
}
