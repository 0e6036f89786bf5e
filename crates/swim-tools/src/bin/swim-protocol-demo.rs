//! The swim-protocol-demo command: runs one cluster member and shows every member live.
use std::process::ExitCode;

use clap::Parser;
use swim_tools::cmd;
use swim_tools::demo::{self, DemoArgs};

fn main() -> ExitCode {
    let args = DemoArgs::parse();
    cmd::run_main("swim-protocol-demo", 2, demo::run(args))
}
