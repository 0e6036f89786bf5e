//! The application's messages as a simulated workload: user events published by random live
//! members at a steady rate, and a query to everyone now and then; what every member's
//! application was handed is tallied into delivery, duplicates and latency figures.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;
use swim_core::{Event, ReplyKind};

use crate::names::member_index;

/// What to publish, and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    /// User events per second, cluster-wide.
    pub events_per_s: f64,
    /// Payload bytes of each event.
    pub event_size: usize,
    /// Publishing stops this long after it started (the run goes on: late deliveries count).
    pub length: Duration,
    /// A query to every member from a random live member this often (`None`: no queries).
    pub query_every: Option<Duration>,
}

/// Identifies a published event: its origin member and the origin's sequence number.
type EventKey = (usize, u64);

/// What the members' applications were handed.
#[derive(Debug, Default, Clone)]
pub struct AppTally {
    /// Per event: when it was published.
    published: HashMap<EventKey, Duration>,
    /// Per event and member: when it was first handed over, and how many times.
    delivered: HashMap<(EventKey, usize), (Duration, u32)>,
    /// Per query (querier, seq): when it was asked, the answers' delays.
    queries: HashMap<(usize, u64), (Duration, Vec<Duration>)>,
}

impl AppTally {
    /// Member `observer`'s application was handed `event` at `now`.
    pub fn handed(&mut self, now: Duration, observer: usize, event: &Event) {
        match event {
            Event::UserEvent { id, .. } => {
                let Some(origin) = member_index(&id.origin.name) else {
                    return;
                };
                let key = (origin, id.seq);
                if origin == observer {
                    // A member hands its own event to its application as it publishes it.
                    self.published.entry(key).or_insert(now);
                }
                let entry = self.delivered.entry((key, observer)).or_insert((now, 0));
                entry.1 += 1;
            }
            Event::Query { id, .. } if member_index(&id.origin.name) == Some(observer) => {
                self.queries.insert((observer, id.seq), (now, Vec::new()));
            }
            Event::QueryReply {
                seq,
                reply: ReplyKind::Response(_),
                ..
            } => {
                if let Some((asked, delays)) = self.queries.get_mut(&(observer, *seq)) {
                    delays.push(now.saturating_sub(*asked));
                }
            }
            _ => {}
        }
    }

    /// The figures over the members `live` (running to the end, not left), counting only
    /// events and queries they could have received (published by a live member, or at
    /// least reaching one).
    pub fn figures(&self, live: &[bool]) -> AppFigures {
        let live_count = live.iter().filter(|l| **l).count();
        let mut pairs = 0u64;
        let mut delivered = 0u64;
        let mut duplicates = 0u64;
        let mut latencies = Vec::new();
        for (&key, &published) in &self.published {
            for (member, _) in live.iter().enumerate().filter(|(_, l)| **l) {
                pairs += 1;
                if let Some(&(at, times)) = self.delivered.get(&(key, member)) {
                    delivered += 1;
                    duplicates += u64::from(times.saturating_sub(1));
                    latencies.push(at.saturating_sub(published).as_secs_f64());
                }
            }
        }
        latencies.sort_by(f64::total_cmp);
        let pct = |p: f64| {
            latencies
                .get(((latencies.len() as f64 - 1.0) * p).round() as usize)
                .map(|s| (s * 1000.0).round() / 1000.0)
        };
        let mut answers = 0usize;
        let mut answer_delays: Vec<f64> = Vec::new();
        for (_, delays) in self.queries.values() {
            answers += delays.len();
            answer_delays.extend(delays.iter().map(Duration::as_secs_f64));
        }
        answer_delays.sort_by(f64::total_cmp);
        let expected = self.queries.len() * live_count;
        AppFigures {
            events: self.published.len(),
            delivery_ratio: if pairs == 0 {
                None
            } else {
                Some(delivered as f64 / pairs as f64)
            },
            undelivered_pairs: pairs - delivered,
            duplicates,
            latency_p50_s: pct(0.5),
            latency_p99_s: pct(0.99),
            latency_max_s: latencies.last().map(|s| (s * 1000.0).round() / 1000.0),
            queries: self.queries.len(),
            query_response_ratio: (expected > 0).then(|| answers as f64 / expected as f64),
            query_p99_s: answer_delays
                .get(((answer_delays.len() as f64 - 1.0) * 0.99).round() as usize)
                .map(|s| (s * 1000.0).round() / 1000.0),
        }
    }
}

/// The application's messages' figures of a run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AppFigures {
    /// User events published.
    pub events: usize,
    /// Of the (event, live member) pairs, the share handed to the member's application.
    pub delivery_ratio: Option<f64>,
    /// (event, live member) pairs never handed over.
    pub undelivered_pairs: u64,
    /// Events handed to an application more than once (expected 0).
    pub duplicates: u64,
    /// Publish to hand-over, median over the pairs delivered.
    pub latency_p50_s: Option<f64>,
    /// Its 99th percentile.
    pub latency_p99_s: Option<f64>,
    /// Its largest value.
    pub latency_max_s: Option<f64>,
    /// Queries asked (to every member).
    pub queries: usize,
    /// Responses received over (queries × live members).
    pub query_response_ratio: Option<f64>,
    /// Ask to response, 99th percentile.
    pub query_p99_s: Option<f64>,
}
