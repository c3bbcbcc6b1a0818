//! `make bench`: the functions measured as whole processes, a 1000-account rollout, and the
//! in-process figures criterion left in target/criterion; printed as Markdown and written to
//! bench/RESULTS.md.

use std::{fmt::Write as _, path::PathBuf, process::ExitCode, sync::Arc};

use clap::Parser;
use vbaws_demo::bench;

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
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args).await {
        Ok(report) => {
            println!("{report}");
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
        Err(error) => {
            eprintln!("the benchmark failed: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> Result<String, vbaws_demo::DemoError> {
    let mut functions = Vec::new();
    for name in ["random-ext-id", "veeam-configurator"] {
        eprintln!(
            "measuring {name}: {} cold starts, {} warm events",
            args.cold_runs, args.warm_events
        );
        functions.push((
            name,
            bench::measure_function(&args.bin_dir, name, args.cold_runs, args.warm_events).await?,
        ));
    }
    eprintln!(
        "rollout: {} accounts at concurrency {}",
        args.rollout_accounts, args.concurrency
    );
    let template = std::fs::read_to_string("template/roles.yaml")
        .map_err(|e| vbaws_demo::DemoError::Template(e.to_string()))
        .and_then(|t| {
            vbaws_template::Template::from_yaml(&t)
                .map_err(|e| vbaws_demo::DemoError::Template(e.to_string()))
        })?;
    let rollout = bench::rollout(
        &args.bin_dir,
        Arc::new(template),
        args.rollout_accounts,
        args.concurrency,
        args.sandboxes,
    )
    .await?;

    let mut out = String::from("# Benchmark results\n\n");
    let _ = writeln!(out, "Measured by `make bench` on {}.\n", machine());
    out.push_str(
        "## The functions, as processes (x86_64 release builds, through the Runtime API stand-in)\n\n",
    );
    out.push_str("| Function | Cold start (median of runs) | Warm event p50 | Warm event p99 | Answer arrived (p50) | Peak RSS | Deployment zip (arm64) |\n| --- | --- | --- | --- | --- | --- | --- |\n");
    for (name, f) in &functions {
        let _ = writeln!(
            out,
            "| `{name}` | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {} | {} |",
            f.cold_start_median(),
            f.warm(50.0),
            f.warm(99.0),
            f.answered(50.0),
            f.peak_rss_kib
                .map_or("n/a".to_owned(), |k| format!("{:.1} MB", k as f64 / 1024.0)),
            zip_size(&args.zips.join(format!("{name}.zip"))),
        );
    }
    let _ = writeln!(
        out,
        "\nCold start: process start to its first poll of the Runtime API, {} runs. Warm event: a Create from the Runtime API to the function's \
         answer, its PUT to a local ResponseURL stand-in included, {} events after one unmeasured first event (which logs in). The configurator's \
         events go to the appliance simulator over TLS on loopback, with no added latency.\n",
        args.cold_runs, args.warm_events
    );
    let per_registration = rollout.appliance_requests as f64 / rollout.registrations.max(1) as f64;
    out.push_str("## A rollout\n\n| What | Result |\n| --- | --- |\n");
    let rows = [
        ("Accounts (stacks)", rollout.accounts.to_string()),
        ("Registrations", rollout.registrations.to_string()),
        ("Concurrency (stacks in flight)", args.concurrency.to_string()),
        ("Configurator sandboxes", args.sandboxes.to_string()),
        ("Wall time", format!("{:.1} s", rollout.elapsed.as_secs_f64())),
        ("Custom-resource events", rollout.events.to_string()),
        (
            "Events per second",
            format!("{:.0}", rollout.events as f64 / rollout.elapsed.as_secs_f64()),
        ),
        (
            "Appliance requests per registration",
            format!("{per_registration:.3}"),
        ),
        ("Logins", rollout.logins.to_string()),
        ("FAILED answers", rollout.failed.to_string()),
    ];
    for (what, value) in rows {
        let _ = writeln!(out, "| {what} | {value} |");
    }
    out.push_str("\n## In process (criterion, mean)\n\n| Benchmark | Time |\n| --- | --- |\n");
    for id in [
        "seed_from_os",
        "external_id_32",
        "external_id_1224",
        "routing_from_event",
    ] {
        let _ = writeln!(out, "| `{id}` | {} |", criterion_mean(id));
    }
    out.push_str("\n## Against the targets\n\n");
    let ext = &functions[0].1;
    let cfg = &functions[1].1;
    let checks = [
        (
            "cold start under 10 ms (both)",
            ext.cold_start_median() < 10.0 && cfg.cold_start_median() < 10.0,
        ),
        ("warm external-ID event under 1 ms (p50)", ext.warm(50.0) < 1.0),
        ("warm configurator event under 5 ms (p50)", cfg.warm(50.0) < 5.0),
        (
            "peak RSS under 20 MB (both)",
            [ext, cfg]
                .iter()
                .all(|f| f.peak_rss_kib.is_some_and(|k| k < 20 * 1024)),
        ),
        (
            "at most 1.05 appliance requests per registration",
            per_registration <= 1.05,
        ),
        ("zero failures", rollout.failed == 0),
    ];
    for (target, met) in checks {
        let _ = writeln!(out, "- {} {target}", if met { "met:" } else { "MISSED:" });
    }
    Ok(out)
}

fn zip_size(path: &std::path::Path) -> String {
    std::fs::metadata(path).map_or("not built (make package)".to_owned(), |m| {
        format!("{:.2} MB", m.len() as f64 / 1_000_000.0)
    })
}

fn criterion_mean(id: &str) -> String {
    let path = format!("target/criterion/{id}/new/estimates.json");
    let estimate = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["mean"]["point_estimate"].as_f64());
    match estimate {
        Some(ns) if ns >= 1000.0 => format!("{:.2} µs", ns / 1000.0),
        Some(ns) => format!("{ns:.0} ns"),
        None => "not run (cargo bench)".to_owned(),
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or_default().trim().to_owned())
        })
        .unwrap_or_else(|| "an unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<u64>().ok())
        })
        .map_or("?".to_owned(), |k| {
            format!("{:.0} GiB", k as f64 / 1024.0 / 1024.0)
        });
    format!(
        "{cores} cores of {cpu}, {memory} of memory, {}",
        std::env::consts::OS
    )
}
