//! Many hosts, real faults: 3 Docker engines in their own network namespaces form one Swarm,
//! the stack of `deploy/swarm/stack.yml` runs 6 members over them, and a short schedule of
//! the seed below (duplication, a partition, a kill, a scale-up, delay and reordering) runs
//! while the checker reads every member's view 4 times a second. Every invariant must
//! hold, and nothing of the harness may be left afterwards.

use std::time::Duration;

use swim_e2e::docker::require_docker;
use swim_e2e::multihost::hosts::{check_prerequisites, leftovers};
use swim_e2e::multihost::nemesis::{schedule, Fault, ScheduleSpec, Scheduled};
use swim_e2e::multihost::run::{run, RunSpec};
use swim_e2e::multihost::stack::PER_HOST;

/// The short schedule's seed, chosen for its mix: 27% of one host's packets duplicated, a
/// partition, a kill, a scale-up by 3 (and back), one host's packets delayed 83 ± 7 ms
/// (`swim-multihost --print-schedule --seed 357 --length 300 --settle 40 --longest 20`
/// prints it).
const SEED: u64 = 357;
/// The short schedule's length.
const LENGTH: Duration = Duration::from_secs(300);
const HOSTS: usize = 3;

fn short_schedule() -> Vec<Scheduled> {
    schedule(
        SEED,
        &ScheduleSpec {
            hosts: HOSTS,
            per_host: PER_HOST,
            length: LENGTH,
            // 40 s of quiet after each fault: shorter than the convergence bound (79.6 s),
            // to fit the CI budget; when the views take longer, the next fault waits for
            // them up to the bound.
            settle: Duration::from_secs(40),
            longest: Duration::from_secs(20),
        },
    )
}

/// Docker, root and the network tools, or a notice (a failure with `SWIM_REQUIRE_DOCKER=1`).
fn can_run(test: &str) -> bool {
    if !require_docker(test) {
        return false;
    }
    match check_prerequisites() {
        Ok(()) => true,
        Err(why) if std::env::var("SWIM_REQUIRE_DOCKER").is_ok_and(|v| v == "1") => {
            panic!("{test}: {why}, and SWIM_REQUIRE_DOCKER=1")
        }
        Err(why) => {
            eprintln!("notice: {test} skipped: {why}");
            false
        }
    }
}

#[test]
fn the_short_schedule_is_the_seeds_and_mixes_faults() {
    let s = short_schedule();
    assert_eq!(s, short_schedule());
    for (i, f) in s.iter().enumerate() {
        eprintln!("#{i} at {:?} for {:?}: {}", f.at, f.duration, f.fault);
    }
    assert_eq!(s.len(), 5, "{s:?}");
    assert!(
        s.iter().any(|f| !f.fault.cut_hosts(HOSTS).is_empty()),
        "a network cut"
    );
    assert!(
        s.iter().any(|f| matches!(
            f.fault,
            Fault::Kill { .. } | Fault::KillHost { .. } | Fault::Pause { .. }
        )),
        "a member fault"
    );
    for kind in ["delay on a host", "duplication on a host", "scale up"] {
        assert!(s.iter().any(|f| f.fault.kind() == kind), "{kind}");
    }
}

#[test]
fn a_short_seeded_fault_schedule_on_three_hosts_keeps_every_invariant() {
    if !can_run("a_short_seeded_fault_schedule_on_three_hosts_keeps_every_invariant") {
        return;
    }
    let spec = RunSpec {
        name: format!("short schedule, seed {SEED} (cargo test)"),
        hosts: HOSTS,
        seed: SEED,
        faults: short_schedule(),
        length: LENGTH,
        write_every: Duration::from_secs(2),
        netdelay: Some(env!("CARGO_BIN_EXE_swim-netdelay").into()),
    };
    let report = run(&spec).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{}", report.text);
    let me = std::process::id();
    let left: Vec<_> = leftovers()
        .into_iter()
        .filter(|(_, pid)| *pid == me)
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(report.violations.is_empty(), "{:#?}", report.violations);
}
