//! Many hosts, real faults: H Docker engines, each in its own network namespace, joined into
//! one Swarm over a bridge; the stack of `deploy/swarm/` spread over them; a nemesis that
//! injects reversible faults on a seeded schedule; and a checker of the membership's
//! invariants over the whole history of every member's view.
//!
//! - [`hosts`]: the engines, the namespaces, the bridge, the Swarm, and their teardown;
//! - [`stack`]: the stack, and the members' containers on each host;
//! - [`observe`]: the readers of every member's `/members` and cgroup;
//! - [`delay`]: the packet delayer behind the delay faults (`swim-netdelay`);
//! - [`nemesis`]: the faults and the schedules;
//! - [`check`]: the invariants;
//! - [`run`]: a whole run and its report.

pub mod check;
pub mod delay;
pub mod hosts;
pub mod nemesis;
pub mod observe;
pub mod run;
pub mod splitmix;
pub mod stack;
