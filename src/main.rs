//! The `kubestack-ai` binary: parse the command line, run, exit with the command's code.

use std::process::ExitCode;

use clap::Parser;
use kubestack_ai::cli::{Cli, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(report) => {
            eprintln!("Error: {report:?}");
            ExitCode::from(1)
        }
    }
}
