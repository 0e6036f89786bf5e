//! The swim-protocol-demo command: runs one cluster member and shows every member live.
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use swim_tools::cmd;
use swim_tools::demo::{self, DemoArgs};

fn main() -> ExitCode {
    let mut args = DemoArgs::parse();
    let name = "swim-protocol-demo";
    match args.command.take() {
        Some(shell) => cmd::run_main(name, 0, async move {
            Ok(shell.run(DemoArgs::command(), &mut std::io::stdout().lock())?)
        }),
        None => cmd::run_main(name, 2, demo::run(args)),
    }
}
