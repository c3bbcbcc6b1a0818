//! `make demo`: an Organization rollout end to end on one machine.

use std::{path::PathBuf, process::ExitCode, sync::Arc};

use clap::Parser;
use vbaws_demo::{
    World,
    story::{self, Story},
};
use vbaws_template::Template;

/// Plays a StackSet rollout of template/roles.yaml against the real functions and a simulated
/// Veeam Backup for AWS appliance.
#[derive(Debug, Parser)]
struct Args {
    /// The story: `rollout` (join, leave, rotate), `migrate` (from the Python solution),
    /// `confirm` (event confirmation turned on in a running Organization) or `upgrade` (the
    /// second day: new releases, re-runs, a failed update rolled back).
    #[arg(long, value_enum, default_value_t = Story::Rollout)]
    story: Story,
    /// Accounts in the OU at first.
    #[arg(long, default_value_t = 20)]
    accounts: usize,
    /// Accounts that join the OU later.
    #[arg(long, default_value_t = 3)]
    joiners: usize,
    /// Accounts that leave the OU.
    #[arg(long, default_value_t = 2)]
    leavers: usize,
    /// Stacks in flight at once (the StackSet's maximum concurrency).
    #[arg(long, default_value_t = 5)]
    concurrency: usize,
    /// Configurator sandboxes (processes).
    #[arg(long, default_value_t = 4)]
    sandboxes: usize,
    /// Where the function binaries are (default: beside this one).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// The roles template.
    #[arg(long, default_value = "template/roles.yaml")]
    template: PathBuf,
    /// The OU's account IDs (comma-separated), instead of made-up ones.
    #[arg(long, value_delimiter = ',')]
    account_ids: Option<Vec<String>>,
    /// Stop after the first rollout.
    #[arg(long)]
    rollout_only: bool,
    /// Accounts closed at the end, whose orphaned registrations vbaws-reconcile then removes.
    #[arg(long, default_value_t = 1)]
    closures: usize,
    /// The roles template's Services (comma-separated); with several, the last is added to the
    /// running OU after the others' rollout.
    #[arg(long, value_delimiter = ',', default_value = "ec2")]
    services: Vec<String>,
    /// Register each account's production worker configuration too (the roles StackSet's
    /// `WorkerNetwork: Parameters`, from the network each account publishes in SSM).
    #[arg(long)]
    workers: bool,
    /// Write each account's AWS resources (IAM roles, policies, instance profile) as JSON here.
    #[arg(long)]
    aws_resources_out: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let bin_dir = args
        .bin_dir
        .clone()
        .or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(PathBuf::from))
        })
        .unwrap_or_default();
    let template = match std::fs::read_to_string(&args.template)
        .map_err(|e| e.to_string())
        .and_then(|t| Template::from_yaml(&t).map_err(|e| e.to_string()))
    {
        Ok(template) => Arc::new(template),
        Err(error) => {
            eprintln!("cannot read {}: {error}", args.template.display());
            return ExitCode::from(2);
        }
    };
    let plan = story::Plan {
        story: args.story,
        accounts: args.account_ids.as_ref().map_or(args.accounts, Vec::len),
        joiners: args.joiners,
        leavers: args.leavers.min(args.accounts),
        concurrency: args.concurrency,
        account_ids: args.account_ids.clone(),
        rollout_only: args.rollout_only,
        closures: args.closures,
        services: args.services.clone(),
        workers: args.workers,
        bin_dir: bin_dir.clone(),
        template_path: args.template.clone(),
    };
    let world = match World::start(&bin_dir, args.sandboxes).await {
        Ok(world) => Arc::new(world),
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "Appliance simulator on {} (certificate {}…), functions from {}",
        world.appliance.url(),
        &world.appliance.identity.fingerprint[..23],
        bin_dir.display()
    );
    match story::run(Arc::clone(&world), template, &plan).await {
        Ok(report) => {
            println!("{}", report.table());
            if let Some(path) = &args.aws_resources_out {
                let json = serde_json::to_string_pretty(&report.aws_resources).unwrap_or_default();
                if let Err(error) = std::fs::write(path, json) {
                    eprintln!("cannot write {}: {error}", path.display());
                    return ExitCode::FAILURE;
                }
            }
            if report.problems.is_empty() {
                println!(
                    "Consistent: every account of the OU is registered with the external IDs its roles trust, and no other."
                );
                ExitCode::SUCCESS
            } else {
                eprintln!("Inconsistent:");
                report.problems.iter().for_each(|p| eprintln!("  - {p}"));
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("\nThe rollout stopped: {error}");
            ExitCode::FAILURE
        }
    }
}
