//! The Markdown report of a run, as bench/RESULTS.md holds it.

use std::{fmt::Write as _, path::Path};

use crate::{Function, Results, percentile};

/// The report; `zips` is where `make package` left the deployment zips.
pub fn render(results: &Results, zips: &Path) -> String {
    let rollout = &results.rollout;
    let mut out = String::from("# Benchmark results\n\n");
    let _ = writeln!(out, "Measured by `make bench` on {}.\n", machine());
    out.push_str(
        "## The functions, as processes (x86_64 release builds, through the Runtime API stand-in)\n\n",
    );
    out.push_str("| Function | Cold start (median of runs) | Warm event p50 | Warm event p99 | Answer arrived (p50) | Peak RSS | Deployment zip (arm64) |\n| --- | --- | --- | --- | --- | --- | --- |\n");
    for (name, f) in &results.functions {
        let _ = writeln!(
            out,
            "| `{name}` | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {} | {} |",
            f.cold_start_median(),
            f.warm(50.0),
            f.warm(99.0),
            f.answered(50.0),
            f.peak_rss_kib
                .map_or("n/a".to_owned(), |k| format!("{:.1} MB", k as f64 / 1024.0)),
            zip_size(&zips.join(format!("{name}.zip"))),
        );
    }
    let _ = writeln!(
        out,
        "\nCold start: process start to its first poll of the Runtime API, {} runs. Warm event: a Create from the Runtime API to the function's \
         answer, its PUT to a local ResponseURL stand-in included, {} events after one unmeasured first event (which logs in). The configurator's \
         events go to the appliance simulator over TLS on loopback, with no added latency.\n",
        results.cold_runs, results.warm_events
    );
    let per_registration = rollout.appliance_requests as f64 / rollout.registrations.max(1) as f64;
    out.push_str("## A rollout\n\n| What | Result |\n| --- | --- |\n");
    let rows = [
        ("Accounts (stacks)", rollout.accounts.to_string()),
        ("Registrations", rollout.registrations.to_string()),
        ("Concurrency (stacks in flight)", results.concurrency.to_string()),
        ("Configurator sandboxes", results.sandboxes.to_string()),
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
        (
            "Calls to confirm events (STS, CloudFormation)",
            format!(
                "{}, {}",
                rollout.confirmation_calls.0, rollout.confirmation_calls.1
            ),
        ),
        ("FAILED answers", rollout.failed.to_string()),
    ];
    for (what, value) in rows {
        let _ = writeln!(out, "| {what} | {value} |");
    }
    out.push_str(&reconciliation_section(&results.reconciliation));
    if let Some(chaos) = &results.chaos {
        out.push_str(&chaos_section(chaos));
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
    let figures = |function: Function| {
        results
            .functions
            .iter()
            .find(|(f, _)| *f == function)
            .map(|(_, figures)| figures)
    };
    let (Some(ext), Some(cfg)) = (figures(Function::RandomExtId), figures(Function::Configurator)) else {
        out.push_str("- MISSED: both functions measured\n");
        return out;
    };
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
        (
            "the reconciliation finds exactly the planted drift",
            results.reconciliation.found == results.reconciliation.planted,
        ),
        (
            "the reconciliation reads the appliance in pages (under one request per 10 accounts)",
            results.reconciliation.appliance_requests * 10 < results.reconciliation.accounts.max(1),
        ),
    ];
    let chaos_checks = results.chaos.iter().flat_map(|c| {
        [
            ("under fire: no FAILED answer", c.failed == 0),
            (
                "under fire: no stack waits past its ServiceTimeout",
                c.late == 0 && c.unanswered == 0,
            ),
            ("under fire: no duplicate registration", c.duplicates == 0),
            (
                "under fire: an event delivered twice is answered alike",
                c.disagreements.is_empty(),
            ),
        ]
    });
    for (target, met) in checks.into_iter().chain(chaos_checks) {
        let _ = writeln!(out, "- {} {target}", if met { "met:" } else { "MISSED:" });
    }
    out
}

fn reconciliation_section(r: &crate::Reconciliation) -> String {
    let mut out = String::from("\n## A reconciliation\n\n| What | Result |\n| --- | --- |\n");
    let drift = |d: &vbaws_reconcile::Drift| {
        format!(
            "{} orphaned, {} missing, {} foreign, in {} accounts",
            d.orphaned, d.missing, d.foreign, d.accounts
        )
    };
    let total: u64 = r.aws_calls.values().sum();
    let calls: Vec<String> = r.aws_calls.iter().map(|(op, n)| format!("{op} {n}")).collect();
    let rows = [
        ("Accounts (in 10 OUs below the target OU)", r.accounts.to_string()),
        ("Registrations in the appliance", r.registrations.to_string()),
        ("Drift planted", drift(&r.planted)),
        ("Drift found", drift(&r.found)),
        (
            "Reading (appliance, Organization, StackSet at once)",
            format!("{:.2} s", r.read.as_secs_f64()),
        ),
        ("Comparing", format!("{:.1} ms", r.compare.as_secs_f64() * 1000.0)),
        (
            "Appliance requests (listing pages among them)",
            format!("{} ({})", r.appliance_requests, r.appliance_pages),
        ),
        ("AWS API calls", format!("{total}: {}", calls.join(", "))),
        (
            "--fix: orphans removed, time, appliance requests",
            format!("{}, {:.2} s, {}", r.removed, r.fix.as_secs_f64(), r.fix_requests),
        ),
    ];
    for (what, value) in rows {
        let _ = writeln!(out, "| {what} | {value} |");
    }
    out.push_str(
        "\nThe Organization and the StackSet are moto's, the appliance the simulator's (at most 100 registrations a \
         page); none throttles. Page sizes differ from AWS's: moto answers `ListAccounts` 100 accounts a page and \
         `ListStackInstances` all at once, where AWS gives at most 20 accounts and 100 instances a page. Against AWS the \
         same Organization takes about 50 `ListAccounts`, the same `ListAccountsForParent` and `ListChildren`, and 10 \
         `ListStackInstances` calls, and Organizations throttles its calls, so the reading takes seconds more.\n",
    );
    out
}

fn chaos_section(c: &vbaws_demo::chaos::ChaosReport) -> String {
    let ms = |d: &std::time::Duration| d.as_secs_f64() * 1000.0;
    let times: Vec<f64> = c.stack_times.iter().map(ms).collect();
    let mut out = String::from(
        "\n## A rollout under fire (`make bench CHAOS=1`)\n\n| What | Result |\n| --- | --- |\n",
    );
    let rows = [
        ("Accounts (stacks)", c.accounts.to_string()),
        ("Faults", "appliance: 5% 503, 1% dropped, 0.2% never answered, 200 ms a request, 2 s logins, 8 s IAM propagation; S3: 2% 503; a sandbox killed every 100 events".to_owned()),
        ("Registrations", c.registrations.to_string()),
        ("Custom-resource events", c.events.to_string()),
        ("FAILED answers (goal 0)", c.failed.to_string()),
        ("Stacks past their ServiceTimeout, or unanswered (goal 0)", (c.late + c.unanswered).to_string()),
        ("Duplicate registrations (goal 0)", c.duplicates.to_string()),
        ("Events answered twice that disagree (goal 0)", c.disagreements.len().to_string()),
        ("Sandboxes killed mid-event", c.kills.to_string()),
        ("S3 PUTs answered 503 (and retried)", c.s3_refusals.to_string()),
        ("Extra appliance requests per registration", format!("{:.2}", c.extra_requests_per_registration())),
        (
            "Calls to confirm events (STS, CloudFormation)",
            format!("{}, {}", c.confirmation_calls.0, c.confirmation_calls.1),
        ),
        ("Stack time p50 / p99", format!("{:.1} s / {:.1} s", percentile(&times, 50.0) / 1000.0, percentile(&times, 99.0) / 1000.0)),
        ("Wall time", format!("{:.0} s", c.elapsed.as_secs_f64())),
    ];
    for (what, value) in rows {
        let _ = writeln!(out, "| {what} | {value} |");
    }
    out
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{FunctionFigures, Rollout};

    fn results(failed: u64) -> Results {
        let fast = || FunctionFigures {
            cold_start_ms: vec![2.0],
            warm_ms: vec![0.5, 0.6],
            answered_ms: vec![0.4],
            peak_rss_kib: Some(8 * 1024),
        };
        Results {
            functions: vec![(Function::RandomExtId, fast()), (Function::Configurator, fast())],
            rollout: Rollout {
                accounts: 10,
                registrations: 20,
                events: 40,
                failed,
                elapsed: Duration::from_secs(2),
                appliance_requests: 21,
                logins: 2,
                confirmation_calls: (10, 20),
            },
            reconciliation: crate::Reconciliation {
                accounts: 100,
                registrations: 200,
                appliance_requests: 4,
                ..crate::Reconciliation::default()
            },
            chaos: None,
            cold_runs: 1,
            warm_events: 2,
            concurrency: 5,
            sandboxes: 2,
        }
    }

    #[test]
    fn the_report_says_which_targets_were_met() {
        let report = render(&results(0), Path::new("nowhere"));
        assert!(report.contains("| `veeam-configurator` | 2.00 ms |"), "{report}");
        assert!(
            report.contains("| Appliance requests per registration | 1.050 |"),
            "{report}"
        );
        assert!(!report.contains("MISSED"), "{report}");
        let report = render(&results(3), Path::new("nowhere"));
        assert!(report.contains("- MISSED: zero failures"), "{report}");
    }

    #[test]
    fn the_rollout_under_fire_is_reported_against_its_goals() {
        let mut with_chaos = results(0);
        with_chaos.chaos = Some(vbaws_demo::chaos::ChaosReport {
            accounts: 2,
            registrations: 4,
            appliance_requests: 6,
            stack_times: vec![Duration::from_secs(10), Duration::from_secs(30)],
            ..Default::default()
        });
        let report = render(&with_chaos, Path::new("nowhere"));
        assert!(report.contains("## A rollout under fire"), "{report}");
        assert!(
            report.contains("| Extra appliance requests per registration | 0.50 |"),
            "{report}"
        );
        assert!(
            report.contains("| Stack time p50 / p99 | 30.0 s / 30.0 s |"),
            "{report}"
        );
        assert!(!report.contains("MISSED"), "{report}");
        if let Some(chaos) = with_chaos.chaos.as_mut() {
            chaos.failed = 1;
            chaos.duplicates = 1;
        }
        let report = render(&with_chaos, Path::new("nowhere"));
        assert!(
            report.contains("- MISSED: under fire: no FAILED answer"),
            "{report}"
        );
        assert!(
            report.contains("- MISSED: under fire: no duplicate registration"),
            "{report}"
        );
    }
}
