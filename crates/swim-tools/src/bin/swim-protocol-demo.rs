//! The swim-protocol-demo command: runs one cluster member and shows every member live.
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use swim_tools::cmd;
use swim_tools::control::path;
use swim_tools::demo::cli::DemoCommand;
use swim_tools::demo::{self, DemoArgs};

fn main() -> ExitCode {
    let mut args = DemoArgs::parse();
    let name = "swim-protocol-demo";
    match args.command.take() {
        Some(DemoCommand::Shell(shell)) => cmd::run_main(name, 0, async move {
            Ok(shell.run(DemoArgs::command(), &mut std::io::stdout().lock())?)
        }),
        Some(DemoCommand::Messaging(request)) => cmd::run_main(name, 0, async move {
            // The only member's socket in the demo directory, when there is one.
            let default = || path::only_socket(&path::demo_dir_here());
            let stdin = std::io::stdin().lock();
            Ok(request
                .run(default, stdin, &mut std::io::stdout().lock())
                .await?)
        }),
        None => cmd::run_main(name, 2, demo::run(args)),
    }
}
