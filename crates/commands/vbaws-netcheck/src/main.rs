//! `vbaws-netcheck`: checks a private-network plan for Veeam Backup for AWS worker instances.

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, ValueEnum};

/// Checks a network plan against the rules of Veeam's guide for worker instances in a private
/// environment. Exits 0 when no error was found, 1 when one was, and 2 when the input cannot be
/// read.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The topology file (YAML). Or give --aws (or --collect) and --roles instead.
    #[arg(required_unless_present_any = ["aws", "collect"])]
    topology: Option<PathBuf>,
    /// A folder of `aws ec2 describe-vpcs`, `describe-subnets`, `describe-route-tables`,
    /// `describe-security-groups`, `describe-vpc-endpoints`, `describe-vpc-peering-connections`
    /// (and optionally `describe-vpc-attribute` and `get-managed-prefix-list-entries`) outputs
    /// (*.json, one folder per account allowed), instead of a topology file.
    #[arg(long, requires = "roles", conflicts_with = "topology")]
    aws: Option<PathBuf>,
    /// Read the same outputs with the AWS SDK (read-only Describe calls) for every account and
    /// Region the roles file lists, save them in this new folder, then check them.
    #[arg(long, requires = "roles", conflicts_with_all = ["topology", "aws"])]
    collect: Option<PathBuf>,
    /// With --aws or --collect: which VPC plays which role, the operations, the appliance's
    /// address (and, for --collect, the accounts to read).
    #[arg(long)]
    roles: Option<PathBuf>,
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
    let topology = match read(&args) {
        Ok(topology) => topology,
        Err(error) => {
            eprintln!("{error}");
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

fn read(args: &Args) -> Result<vbaws_netcheck::Topology, String> {
    let text = |path: &PathBuf| std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()));
    match (&args.topology, &args.aws, &args.roles) {
        (Some(path), _, _) => {
            vbaws_netcheck::load(&text(path)?).map_err(|e| format!("{}: {e}", path.display()))
        }
        (None, Some(dir), Some(roles)) => {
            let roles: vbaws_netcheck::aws::Roles =
                serde_norway::from_str(&text(roles)?).map_err(|e| format!("{}: {e}", roles.display()))?;
            vbaws_netcheck::aws::load(dir, &roles).map_err(|e| e.to_string())
        }
        (None, None, Some(roles)) if args.collect.is_some() => {
            let dir = args.collect.as_deref().unwrap_or(std::path::Path::new("."));
            let roles: vbaws_netcheck::aws::Roles =
                serde_norway::from_str(&text(roles)?).map_err(|e| format!("{}: {e}", roles.display()))?;
            let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
            runtime
                .block_on(vbaws_netcheck::collect::collect(
                    &roles.accounts,
                    &roles.worker_parameters,
                    dir,
                    |line| {
                        eprintln!("{line}");
                    },
                ))
                .map_err(|e| e.to_string())?;
            eprintln!("saved in {}; checking it", dir.display());
            vbaws_netcheck::aws::load(dir, &roles).map_err(|e| e.to_string())
        }
        _ => Err("give a topology file, or --aws (or --collect) and --roles".to_owned()),
    }
}
