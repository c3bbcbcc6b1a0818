//! `vbaws-netcheck`: checks a private-network plan for Veeam Backup for AWS worker instances.

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, ValueEnum};

/// Checks a network plan (a topology YAML file) against the rules of Veeam's guide for worker
/// instances in a private environment. Exits 0 when no error was found, 1 when one was, and 2
/// when the file cannot be read.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The topology file.
    topology: PathBuf,
    /// Print only the AWS CLI commands that add what is missing.
    #[arg(long)]
    plan: bool,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let topology = match std::fs::read_to_string(&args.topology)
        .map_err(|e| e.to_string())
        .and_then(|t| vbaws_netcheck::load(&t).map_err(|e| e.to_string()))
    {
        Ok(topology) => topology,
        Err(error) => {
            eprintln!("{}: {error}", args.topology.display());
            return ExitCode::from(2);
        }
    };
    let findings = vbaws_netcheck::check(&topology);
    let output = match (args.format, args.plan) {
        (Format::Json, _) => serde_json::to_string_pretty(&findings).unwrap_or_default() + "\n",
        (Format::Text, true) => vbaws_netcheck::render_plan(&findings),
        (Format::Text, false) => vbaws_netcheck::render_text(&findings),
    };
    print!("{output}");
    if vbaws_netcheck::has_errors(&findings) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
