//! grace: a PID-1 init and signal-forwarding supervisor for containers.
//!
//! `main` only parses, sets up logging and maps a failure to an exit code;
//! the work is in `supervisor`, which ends grace itself after a run. Exit
//! codes: the child's own (128+N for a death by signal N), 125 for grace's
//! own failures and usage errors, 126 when the command cannot be run, 127
//! when it is not found.

mod cli;
mod config;
mod error;
mod exit;
mod logging;
mod machine;
mod reaper;
mod report;
mod signals;
mod spawn;
mod supervisor;
mod sys;
mod terminal;
mod tree;

use std::io::Write as _;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match cli::Cli::from_env() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version: clap's own output, to stdout, exit 0.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            // Logging is not set up yet (the log flags may be the bad ones).
            let _ = writeln!(std::io::stderr(), "grace: {}", cli::one_line(&e));
            return ExitCode::from(125);
        }
    };
    logging::init(cli.log_level(), cli.log_format());
    // A run that supervised ends grace itself, with the app's code.
    let Err(err) = cli
        .into_config()
        .map_err(error::Error::Usage)
        .and_then(|cfg| supervisor::run(&cfg));
    tracing::error!("{err}");
    // Straight to the kernel: see sys::exit_now.
    sys::exit_now(err.exit_code())
}
