//! The chaos rollout, small: 20 accounts with the bench's fault mix and a fixed seed. Every
//! event is answered SUCCESS, once per role, and where a killed sandbox answered too, the two
//! answers agree.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use vbaws_demo::chaos::{ChaosPlan, run};

/// Where cargo put the function binaries: beside this test's own directory. They are not this
/// crate's (cargo builds them for `cargo test --workspace`, not for `cargo test -p vbaws-demo`),
/// so each must also be newer than every source file cargo's dep-info says it was built from.
fn bin_dir() -> PathBuf {
    let dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(PathBuf::from))
        .expect("target directory");
    for binary in ["random-ext-id", "veeam-configurator"] {
        let path = dir.join(binary);
        assert!(
            path.exists(),
            "{binary} is not built in {}: run the tests with `cargo test --workspace` (or make test)",
            dir.display()
        );
        let stale = changed_since_built(&path);
        assert!(
            stale.is_empty(),
            "{binary} is older than {} of its sources ({}): run `cargo build -p {binary}`, or the \
             tests with `cargo test --workspace` (or make test)",
            stale.len(),
            stale[0].display()
        );
    }
    dir
}

/// The sources listed in the dep-info file cargo writes beside a binary (`<binary>.d`:
/// `target: source source ...`, spaces in paths escaped) that changed after the binary was built.
fn changed_since_built(binary: &Path) -> Vec<PathBuf> {
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let built = modified(binary).expect("the binary's modification time");
    let dep_info = std::fs::read_to_string(binary.with_extension("d")).expect("cargo's dep-info file");
    let first_line = dep_info.lines().next().unwrap_or_default();
    let (_, sources) = first_line.split_once(": ").unwrap_or_default();
    sources
        .replace("\\ ", "\u{0}")
        .split(' ')
        .filter(|source| !source.is_empty())
        .map(|source| PathBuf::from(source.replace('\u{0}', " ")))
        .filter(|source| modified(source).is_some_and(|time| time > built))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_under_fire_fails_no_stack_and_registers_each_role_once() {
    let template = crate::support::template("roles.yaml");
    // The bench kills one sandbox every 100 events; 40 configurator events here.
    let plan = ChaosPlan::under_fire(20, 20, 10, 17, bin_dir());
    let report = run(Arc::new(template), &plan).await.expect("ran");
    assert_eq!(
        (report.failed, report.unanswered, report.late),
        (0, 0, 0),
        "FAILED, unanswered, late: {:?}",
        report.reasons
    );
    assert_eq!(report.registrations, 40, "two roles per account: {report:#?}");
    assert_eq!(report.duplicates, 0);
    assert!(report.disagreements.is_empty(), "{:#?}", report.disagreements);
    assert_eq!(report.kills, 4, "sandboxes were killed mid-event");
    assert!(
        report.appliance_requests > report.registrations,
        "faults cost extra requests: {report:#?}"
    );
}
