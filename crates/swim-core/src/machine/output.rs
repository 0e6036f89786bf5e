//! What the machine hands its driver: packets to send, membership events, and counters.

use std::collections::VecDeque;

use crate::counters::Tally;
use crate::{Event, Transmit};

/// Room for events kept once they are drained: a full sync reports every member at once,
/// and keeping that room would cost each member about 112 bytes per member for good.
const EVENTS_KEPT: usize = 64;

/// The driver's queues and the counters.
#[derive(Debug, Default)]
pub(super) struct Output {
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    /// Counts of protocol events, and the round trips being timed.
    tally: Tally,
}

impl Output {
    /// The counters, to count something.
    pub(super) fn tally(&mut self) -> &mut Tally {
        &mut self.tally
    }

    /// The counters as they are.
    pub(super) fn counters(&self) -> crate::Counters {
        self.tally.counters
    }

    /// Queues a packet to send.
    pub(super) fn send(&mut self, transmit: Transmit) {
        self.transmits.push_back(transmit);
    }

    /// Queues an event.
    pub(super) fn event(&mut self, event: Event) {
        self.events.push_back(event);
    }

    /// How many events wait (to tell whether handling something reported a change).
    pub(super) fn events_queued(&self) -> usize {
        self.events.len()
    }

    /// The next packet to send.
    pub(super) fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event; the queue's room is given back once it is drained.
    pub(super) fn poll_event(&mut self) -> Option<Event> {
        let event = self.events.pop_front();
        if event.is_none() && self.events.capacity() > EVENTS_KEPT {
            self.events.shrink_to(EVENTS_KEPT);
        }
        event
    }
}
