//! The `kubestack-ai` binary: parse the command line, run, exit with the command's code.

use std::process::ExitCode;

// See Cargo.toml: decoding large lists is allocation-bound.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use kubestack_ai::cli::{Cli, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        // A reader that stopped reading (`kubestack-ai man | head`) is not an error.
        Err(report)
            if report.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(report) => {
            eprintln!("Error: {report:?}");
            ExitCode::from(1)
        }
    }
}
