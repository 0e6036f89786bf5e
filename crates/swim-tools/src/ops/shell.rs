//! Shell completions and man pages, generated from the clap definitions.

use std::io::Write;

use clap::Command;
use clap_complete::Shell;

/// The `completions` and `man` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ShellCommand {
    /// Print the completion script for SHELL (see docs/operations.md to install it)
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the man page (roff) of this command
    Man,
}

impl ShellCommand {
    /// Writes what was asked for `command` (the binary's whole clap definition) to `out`.
    pub fn run(&self, mut command: Command, out: &mut impl Write) -> std::io::Result<()> {
        match self {
            ShellCommand::Completions { shell } => {
                let name = command.get_name().to_owned();
                // Into memory first: the generator panics on a write error (a closed pipe).
                let mut script = Vec::new();
                clap_complete::generate(*shell, &mut command, name, &mut script);
                out.write_all(&script)
            }
            ShellCommand::Man => clap_mangen::Man::new(command).render(out),
        }
    }
}
