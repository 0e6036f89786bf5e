//! One host's CPU, shared by every member: what `bench/cluster.sh` runs, hundreds of real
//! processes on one machine. Without it the simulator gives every member free, instant
//! processing, so it cannot show a join that collapses because the members' own work
//! starves the machine (issue 11, item 3).
//!
//! The model is a queue in front of a few cores. Every packet a member receives costs
//! `per_packet` plus `per_kib` per KiB, every packet it sends `per_send`, every membership
//! change it reports `per_change` (the sync tool mirrors each one into files), and starting a
//! member process costs the launcher `start`. Work runs first come, first served on the
//! earliest free core, so a packet is handled once the work queued before it is done. A
//! datagram arriving while its member already has `socket_buffer` bytes waiting is dropped,
//! as a full socket buffer drops it (TCP is never dropped: the sender waits). The launcher starts members one
//! after the other, each when its own work got through the queue: a busy cluster delays the
//! start of the rest, as on the real host.

use std::time::Duration;

/// The costs of one shared host (see the module docs). Figures measured on the 2-core
/// benchmark host are in `docs/benchmarks.md`.
#[derive(Debug, Clone, PartialEq)]
pub struct HostCpu {
    /// Cores shared by all members and the launcher.
    pub cores: usize,
    /// Receiving, verifying, decoding and handling one packet.
    pub per_packet: Duration,
    /// Each KiB of a received payload on top of `per_packet`.
    pub per_kib: Duration,
    /// Building, signing and sending one packet.
    pub per_send: Duration,
    /// One membership change reported to the application.
    pub per_change: Duration,
    /// Starting one member process (the launcher's work, one start after the other).
    pub start: Duration,
    /// Bytes of datagrams a member may have waiting for the CPU; more are dropped (the
    /// receive buffer of its UDP socket, Linux's default 212,992).
    pub socket_buffer: usize,
}

impl Default for HostCpu {
    /// The 2-core benchmark host running `swim-protocol-sync` on ext4 (see
    /// `docs/benchmarks.md`, join section).
    fn default() -> Self {
        HostCpu {
            cores: 2,
            per_packet: Duration::from_micros(60),
            per_kib: Duration::from_micros(10),
            per_send: Duration::from_micros(20),
            per_change: Duration::from_micros(300),
            start: Duration::from_micros(6400),
            socket_buffer: 212_992,
        }
    }
}

/// The shared cores: when each is next free, and what was dropped.
#[derive(Debug, Clone)]
pub(crate) struct Cpu {
    pub(crate) config: HostCpu,
    free_at: Vec<Duration>,
    /// Bytes waiting for the CPU, by member.
    waiting: Vec<usize>,
    /// Datagrams dropped because their member's socket buffer was full.
    pub(crate) dropped: u64,
}

impl Cpu {
    pub(crate) fn new(config: HostCpu) -> Cpu {
        let cores = config.cores.max(1);
        Cpu {
            config,
            free_at: vec![Duration::ZERO; cores],
            waiting: Vec::new(),
            dropped: 0,
        }
    }

    /// How long work queued at `now` waits for a core.
    #[cfg(test)]
    fn wait(&self, now: Duration) -> Duration {
        let free = self.free_at.iter().min().copied().unwrap_or_default();
        free.saturating_sub(now)
    }

    /// A payload of `len` bytes reaches `member`: whether it is queued (a datagram is
    /// dropped when the member's buffer is full; `tcp` is never dropped).
    pub(crate) fn arrive(&mut self, member: usize, len: usize, tcp: bool) -> bool {
        if self.waiting.len() <= member {
            self.waiting.resize(member + 1, 0);
        }
        if !tcp && self.waiting[member] + len > self.config.socket_buffer {
            self.dropped += 1;
            return false;
        }
        self.waiting[member] += len;
        true
    }

    /// `member` takes a payload of `len` bytes off its queue to handle it.
    pub(crate) fn handled(&mut self, member: usize, len: usize) {
        if let Some(waiting) = self.waiting.get_mut(member) {
            *waiting = waiting.saturating_sub(len);
        }
    }

    /// Queues `cost` of work at `now` on the earliest free core; returns when it is done.
    pub(crate) fn run(&mut self, now: Duration, cost: Duration) -> Duration {
        let Some(core) = self.free_at.iter_mut().min() else {
            return now + cost;
        };
        *core = (*core).max(now) + cost;
        *core
    }

    /// What receiving a payload of `len` bytes costs.
    pub(crate) fn receive_cost(&self, len: usize) -> Duration {
        self.config.per_packet + self.config.per_kib.mul_f64(len as f64 / 1024.0)
    }

    /// What the output of one input costs: `sends` packets, `changes` reported.
    pub(crate) fn output_cost(&self, sends: usize, changes: usize) -> Duration {
        self.config.per_send * u32::try_from(sends).unwrap_or(u32::MAX)
            + self.config.per_change * u32::try_from(changes).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_socket_buffer_drops_datagrams_not_tcp() {
        let mut cpu = Cpu::new(HostCpu {
            socket_buffer: 1000,
            ..HostCpu::default()
        });
        assert!(cpu.arrive(3, 600, false));
        assert!(!cpu.arrive(3, 600, false), "over the buffer");
        assert!(cpu.arrive(3, 5000, true), "TCP waits instead");
        assert!(cpu.arrive(1, 600, false), "each member has its own buffer");
        cpu.handled(3, 5600);
        assert!(cpu.arrive(3, 600, false));
        assert_eq!(cpu.dropped, 1);
    }

    #[test]
    fn work_waits_for_the_earliest_free_core() {
        let ms = Duration::from_millis;
        let mut cpu = Cpu::new(HostCpu {
            cores: 2,
            ..HostCpu::default()
        });
        assert_eq!(cpu.run(ms(0), ms(10)), ms(10));
        assert_eq!(cpu.run(ms(0), ms(10)), ms(10));
        assert_eq!(cpu.wait(ms(4)), ms(6));
        assert_eq!(cpu.run(ms(4), ms(10)), ms(20));
        assert_eq!(
            cpu.run(ms(30), ms(1)),
            ms(31),
            "an idle core starts at once"
        );
        assert_eq!(cpu.wait(ms(40)), Duration::ZERO);
    }
}
