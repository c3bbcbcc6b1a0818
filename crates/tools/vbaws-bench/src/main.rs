//! `vbaws-bench`: measures, prints the report and writes it to bench/RESULTS.md.

use std::{path::PathBuf, process::ExitCode, sync::Arc};

use clap::Parser;
use vbaws_bench::{Error, Function, Results, measure, report};

#[derive(Debug, Parser)]
struct Args {
    /// Where the release binaries are.
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
    /// Where make package left the zips.
    #[arg(long, default_value = "dist")]
    zips: PathBuf,
    #[arg(long, default_value_t = 20)]
    cold_runs: usize,
    #[arg(long, default_value_t = 500)]
    warm_events: usize,
    #[arg(long, default_value_t = 1000)]
    rollout_accounts: usize,
    #[arg(long, default_value_t = 50)]
    concurrency: usize,
    /// Configurator sandboxes for the rollout.
    #[arg(long, default_value_t = 10)]
    sandboxes: usize,
    #[arg(long, default_value = "bench/RESULTS.md")]
    out: PathBuf,
    /// Also roll out under fire (fault rates, slow logins, IAM propagation, S3 503s, killed
    /// sandboxes), with the mix of issue 17.
    #[arg(long)]
    chaos: bool,
    #[arg(long, default_value_t = 1000)]
    chaos_accounts: usize,
}

/// The heading of the section scripts/measure-build.sh writes.
const BUILD_SECTION: &str = "## The build";

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let results = match run(&args).await {
        Ok(results) => results,
        Err(error) => {
            eprintln!("the benchmark failed: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut report = report::render(&results, &args.zips);
    println!("{report}");
    // The build's figures are measured by scripts/measure-build.sh, not here: kept as they are.
    let earlier = std::fs::read_to_string(&args.out).unwrap_or_default();
    if let Some(start) = earlier.find(BUILD_SECTION) {
        let rest = &earlier[start..];
        let end = rest[BUILD_SECTION.len()..]
            .find("\n## ")
            .map_or(rest.len(), |i| i + BUILD_SECTION.len() + 1);
        report = format!("{}\n\n{}", report.trim_end(), rest[..end].trim_end()) + "\n";
    }
    if let Some(dir) = args.out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::write(&args.out, &report) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cannot write {}: {error}", args.out.display());
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> Result<Results, Error> {
    let mut functions = Vec::new();
    for function in Function::ALL {
        eprintln!(
            "measuring {function}: {} cold starts, {} warm events",
            args.cold_runs, args.warm_events
        );
        let figures =
            measure::measure_function(&args.bin_dir, function, args.cold_runs, args.warm_events).await?;
        functions.push((function, figures));
    }
    eprintln!(
        "rollout: {} accounts at concurrency {}",
        args.rollout_accounts, args.concurrency
    );
    let text = std::fs::read_to_string("template/roles.yaml").map_err(Error::TemplateFile)?;
    let template = vbaws_template::Template::from_yaml(&text).map_err(Error::Template)?;
    let rollout = measure::rollout(
        &args.bin_dir,
        Arc::new(template),
        args.rollout_accounts,
        args.concurrency,
        args.sandboxes,
    )
    .await?;
    eprintln!(
        "reconciliation: {} accounts, {} registrations",
        args.rollout_accounts,
        2 * args.rollout_accounts
    );
    let reconciliation = vbaws_bench::reconciliation::measure(args.rollout_accounts).await?;
    let chaos = if args.chaos {
        eprintln!(
            "chaos: {} accounts at concurrency {}",
            args.chaos_accounts, args.concurrency
        );
        let text = std::fs::read_to_string("template/roles.yaml").map_err(Error::TemplateFile)?;
        let template = vbaws_template::Template::from_yaml(&text).map_err(Error::Template)?;
        let plan = vbaws_demo::chaos::ChaosPlan::under_fire(
            args.chaos_accounts,
            args.concurrency,
            100,
            2026,
            args.bin_dir.clone(),
        );
        Some(vbaws_demo::chaos::run(Arc::new(template), &plan).await?)
    } else {
        None
    };
    Ok(Results {
        functions,
        rollout,
        reconciliation,
        chaos,
        cold_runs: args.cold_runs,
        warm_events: args.warm_events,
        concurrency: args.concurrency,
        sandboxes: args.sandboxes,
    })
}
