//! Checks a network plan for Veeam Backup for AWS worker instances in a private environment,
//! against the rules of Veeam's guide: VPCs that must talk are peered directly (peering does not
//! chain), with routes both ways and no overlapping CIDRs; the repositories' S3 interface
//! endpoints admit HTTPS from the appliance and the workers (and the other repository, for
//! archiving); the worker VPC has every interface endpoint the planned operations need, with
//! private DNS, admitting HTTPS from the VPC; and no S3 gateway endpoint stands in for the
//! interface one. Beyond the guide's examples, where real networks also fail: network ACLs
//! ([`acls`]: stateless, so the answers on ephemeral ports too) and endpoint policies
//! ([`policies`]: the calls workers make, the repository buckets). Each finding says what is
//! missing and gives the AWS CLI command that adds it.
//!
//! The plan comes from a topology file, from saved AWS CLI output ([`aws`]), or from output the
//! checker collects itself with the AWS SDK ([`collect`]).

mod acls;
pub mod aws;
pub mod collect;
pub mod model;
mod policies;
mod rules;

use std::fmt::Write as _;

pub use model::Topology;
pub use rules::{Finding, Rule, Severity, check};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the topology is not valid: {0}")]
    Topology(serde_norway::Error),
}

/// Reads a topology file (YAML).
pub fn load(text: &str) -> Result<Topology, Error> {
    serde_norway::from_str(text).map_err(Error::Topology)
}

/// True when a finding is an error.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

/// One block per finding: severity, rule, message, and the fix when there is one.
pub fn render_text(findings: &[Finding]) -> String {
    let mut out = String::new();
    for finding in findings {
        let severity = match finding.severity {
            Severity::Error => "ERROR",
            Severity::Warning => "warning",
        };
        let _ = writeln!(out, "{severity} [{}] {}", finding.rule, finding.message);
        if let Some(fix) = &finding.fix {
            let _ = writeln!(out, "    fix: {fix}");
        }
    }
    let errors = findings.iter().filter(|f| f.severity == Severity::Error).count();
    let _ = writeln!(out, "{errors} errors, {} warnings", findings.len() - errors);
    out
}

/// The commands still needed, without repeats, in the order to run them: peerings, routes,
/// security-group rules, endpoints, VPC settings.
pub fn render_plan(findings: &[Finding]) -> String {
    let mut out = String::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut fixable: Vec<&Finding> = findings.iter().filter(|f| f.fix.is_some()).collect();
    fixable.sort_by_key(|f| f.rule);
    for fix in fixable.iter().filter_map(|f| f.fix.as_ref()) {
        if seen.insert(fix.clone()) {
            let _ = writeln!(out, "{fix}");
        }
    }
    if out.is_empty() {
        out.push_str("# nothing to add\n");
    }
    out
}
