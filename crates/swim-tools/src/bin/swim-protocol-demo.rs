//! The swim-protocol-demo command: runs one cluster member and shows every member live.
use std::process::ExitCode;

use clap::Parser;
use swim_protocol::{ConfigError, StartError};
use swim_tools::demo::{self, DemoArgs};

fn main() -> ExitCode {
    let args = DemoArgs::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("swim-protocol-demo: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(demo::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("swim-protocol-demo: {err:#}");
            // A configuration that cannot work is a usage error, as in the seed.
            let usage = err.is::<ConfigError>()
                || matches!(err.downcast_ref(), Some(StartError::Config(_)));
            if usage {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
