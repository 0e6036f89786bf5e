//! Runs a multi-host fault schedule (see `swim_e2e::multihost`) and writes its report.
//!
//! ```text
//! swim-multihost [--hosts 3] [--seed 1] [--length 1800] [--settle 90] [--longest 30]
//!                [--write-every 2] [--steady-loss PERCENT] [--steady-delay MS:JITTER]
//!                [--report FILE] [--name TEXT]
//! swim-multihost --cleanup        # removes what killed runs left behind, and says what is left
//! swim-multihost --print-schedule # prints the seed's schedule and exits
//! ```
//!
//! `--steady-loss P` and/or `--steady-delay MS:JITTER`: instead of a random schedule, P% loss
//! into every host and MS ± JITTER ms delay out of every host for the whole `--length`.
//! Delays run `swim-netdelay`, found beside this program. Exit status: 0 with no invariant violation, 1 with some, 2 on a usage error or
//! when the harness itself failed.
#![forbid(unsafe_code)]

use std::time::Duration;

use swim_e2e::multihost::delay::netdelay_beside_current_exe;
use swim_e2e::multihost::hosts::{clean_leftovers, leftovers};
use swim_e2e::multihost::nemesis::{schedule, Fault, ScheduleSpec, Scheduled};
use swim_e2e::multihost::run::{replicas, run, RunSpec};
use swim_e2e::multihost::stack::PER_HOST;

fn usage(problem: &str) -> ! {
    eprintln!("swim-multihost: {problem}\nsee the source's header for the options");
    std::process::exit(2)
}

fn main() {
    let mut hosts = 3usize;
    let mut seed = 1u64;
    let mut length = 1800u64;
    let mut settle = 90u64;
    let mut longest = 30u64;
    let mut write_every = 2.0f64;
    let mut steady: Option<u32> = None;
    let mut steady_delay: Option<(u32, u32)> = None;
    let mut report: Option<String> = None;
    let mut name: Option<String> = None;
    let mut print_only = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        fn num<T: std::str::FromStr>(flag: &str, v: String) -> T {
            v.parse()
                .unwrap_or_else(|_| usage(&format!("{flag}: not a number: {v:?}")))
        }
        match arg.as_str() {
            "--hosts" => hosts = num(&arg, value()),
            "--seed" => seed = num(&arg, value()),
            "--length" => length = num(&arg, value()),
            "--settle" => settle = num(&arg, value()),
            "--longest" => longest = num(&arg, value()),
            "--write-every" => write_every = num(&arg, value()),
            "--steady-loss" => steady = Some(num(&arg, value())),
            "--steady-delay" => {
                let v = value();
                let (ms, jitter) = v.split_once(':').unwrap_or((&v, "0"));
                steady_delay = Some((num(&arg, ms.to_owned()), num(&arg, jitter.to_owned())));
            }
            "--report" => report = Some(value()),
            "--name" => name = Some(value()),
            "--print-schedule" => print_only = true,
            "--cleanup" => {
                let result = clean_leftovers();
                for (what, pid) in leftovers() {
                    println!("left: {what} (process {pid})");
                }
                match result {
                    Ok(()) => std::process::exit(0),
                    Err(e) => {
                        eprintln!("{e}");
                        std::process::exit(1)
                    }
                }
            }
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    if !(1..=5).contains(&hosts)
        || write_every.is_nan()
        || write_every <= 0.0
        || write_every > 3600.0
    {
        usage("--hosts must be 1 to 5 and --write-every between 0 and 3600 s");
    }
    let length = Duration::from_secs(length);
    let faults: Vec<Scheduled> = match (steady, steady_delay) {
        (Some(percent), _) if percent > 100 => usage("--steady-loss is a percentage"),
        (_, Some((ms, jitter))) if ms > 10_000 || jitter > ms => {
            usage("--steady-delay: at most 10000 ms, jitter at most the delay")
        }
        (None, None) => schedule(
            seed,
            &ScheduleSpec {
                hosts,
                per_host: PER_HOST,
                length,
                settle: Duration::from_secs(settle),
                longest: Duration::from_secs(longest),
            },
        ),
        (loss, delay) => vec![Scheduled {
            at: Duration::ZERO,
            duration: length,
            fault: Fault::Everywhere {
                loss_percent: loss.unwrap_or(0),
                delay_ms: delay.map_or(0, |d| d.0),
                jitter_ms: delay.map_or(0, |d| d.1),
            },
        }],
    };
    for f in &faults {
        println!(
            "at {:6.0} s for {:3.0} s: {}",
            f.at.as_secs_f64(),
            f.duration.as_secs_f64(),
            f.fault
        );
    }
    if print_only {
        return;
    }
    let spec = RunSpec {
        name: name
            .unwrap_or_else(|| format!("seed {seed}, {hosts} hosts, {} members", replicas(hosts))),
        hosts,
        seed,
        faults,
        length: length.max(Duration::from_secs(1)),
        write_every: Duration::from_secs_f64(write_every),
        netdelay: netdelay_beside_current_exe(),
    };
    match run(&spec) {
        Ok(outcome) => {
            println!("{}", outcome.text);
            if let Some(path) = report {
                if let Err(e) = std::fs::write(&path, &outcome.text) {
                    eprintln!("{path}: {e}");
                    std::process::exit(2);
                }
            }
            std::process::exit(i32::from(!outcome.violations.is_empty()));
        }
        Err(e) => {
            eprintln!("swim-multihost: {e}");
            std::process::exit(2);
        }
    }
}
