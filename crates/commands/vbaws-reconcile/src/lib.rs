//! Reconciliation: what the appliance holds against what the Organization is. StackSets keep
//! registrations right only while every event arrives and succeeds; in a real Organization they
//! drift (a closed account's stack instance turns INOPERABLE and its registration stays; a failed
//! instance leaves an account without its registration; someone removes one by hand). This crate
//! compares the three sources and says exactly what is wrong and why.
//!
//! - [`gather`] reads the facts ([`read`]: the appliance's registrations, the Organization's
//!   accounts, the roles StackSet's instances and template), concurrently.
//! - [`reconcile`] compares them into a [`Report`]: orphans with their reason, missing purposes
//!   with the stack instance's status, registrations this project did not make (a name that
//!   looks like this project's is not enough: it must carry the note the configurator writes,
//!   [`vbaws_client::MadeBy`]).
//! - [`fix`] removes, of the orphans this project made, those AWS itself says are gone (the
//!   account closed, suspended or out of the Organization, or its stack instance deleted);
//!   the others wait for the operator's word (`--remove`).
//!
//! - [`wire`] is how the report reads as JSON: the published schema's shape and reason slugs.
//!
//! Two faces use it: the `vbaws-reconcile` command for operators, and the scheduled
//! `vbaws-reconciler` function.

pub mod fix;
mod gather;
pub mod read;
mod render;
mod report;
pub mod wire;

pub use gather::{Progress, Sources, StackSet, gather, gather_tracked};
pub use render::{RetryTarget, retry_commands};
pub use report::{AccountReport, Drift, Foreign, Problem, Report};

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use vbaws_client::MadeBy;

/// A registration in the appliance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Registration {
    pub id: String,
    pub name: String,
    /// The AWS account of the role it registers; `None` for the appliance's own role.
    pub account: Option<String>,
    pub role_name: Option<String>,
    pub description: Option<String>,
}

impl Registration {
    /// The stack that made it, as the configurator noted in its description.
    pub fn made_by(&self) -> Option<MadeBy> {
        self.description.as_deref().and_then(MadeBy::read)
    }
}

/// A production worker configuration in the appliance (it carries no note of who made it: this
/// project's are known by the registration they name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkerConfiguration {
    pub id: String,
    pub account: String,
    /// The registration of the role that lists the account's network.
    pub role_id: String,
}

/// An account's standing in the Organization. Organizations reports `Status` (`ACTIVE`,
/// `SUSPENDED`, `PENDING_CLOSURE`) and, more recently, `State` (which adds `CLOSED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Standing {
    Active,
    Suspended,
    PendingClosure,
    Closed,
    /// Any other state (`PENDING_ACTIVATION`, or one added later): not active.
    Other,
}

impl Standing {
    /// Reads Organizations' `State`, else its `Status`.
    pub fn from_organizations(state: Option<&str>, status: Option<&str>) -> Self {
        match state.or(status).unwrap_or_default() {
            "ACTIVE" => Self::Active,
            "SUSPENDED" => Self::Suspended,
            "PENDING_CLOSURE" => Self::PendingClosure,
            "CLOSED" => Self::Closed,
            _ => Self::Other,
        }
    }
}

impl std::fmt::Display for Standing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::PendingClosure => "pending closure",
            Self::Closed => "closed",
            Self::Other => "not active",
        })
    }
}

/// An account of the Organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub standing: Standing,
    /// In one of the OUs the roles StackSet targets (or below one).
    pub in_target: bool,
    /// In the part of the Organization this comparison looks at: below the OUs the operator
    /// named, or anywhere when none were named. Others are not compared at all.
    pub in_scope: bool,
}

/// A stack instance of the roles StackSet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackInstance {
    pub account: String,
    pub region: String,
    /// `CURRENT`, `OUTDATED` or `INOPERABLE`, with the detailed status when there is one.
    pub status: String,
    pub reason: Option<String>,
    /// Parameter values set for this instance alone (`ParameterOverrides`), read for the
    /// accounts whose comparison depends on them.
    #[serde(serialize_with = "crate::wire::pairs")]
    pub overrides: Vec<(String, String)>,
}

/// The purposes each account's stack registers (`ec2`, `worker`, …): the StackSet's, or an
/// instance's own where its parameter overrides change them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Purposes {
    pub default: Vec<String>,
    pub accounts: BTreeMap<String, Vec<String>>,
}

impl Purposes {
    /// The same purposes for every account.
    pub fn same(default: Vec<String>) -> Self {
        Self {
            default,
            accounts: BTreeMap::new(),
        }
    }

    pub fn of(&self, account: &str) -> &[String] {
        self.accounts.get(account).unwrap_or(&self.default)
    }
}

/// Everything the comparison needs, already read.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub registrations: Vec<Registration>,
    /// Every account of the Organization.
    pub accounts: Vec<Account>,
    /// The roles StackSet's instances; `None` when no StackSet was read, so that whether an
    /// account's instance exists is unknown.
    pub instances: Option<Vec<StackInstance>>,
    pub purposes: Purposes,
    /// The OUs the StackSet targets: its own, when it reports them, else the ones given.
    pub target_ous: Vec<String>,
    /// The Organization's management account: StackSets never deploy to it, so it is never
    /// missing its registrations.
    pub management_account: Option<String>,
    /// The appliance's production worker configurations; `None` when it offers no listing of
    /// them (the path is not confirmed), so that they are not compared.
    pub worker_configurations: Option<Vec<WorkerConfiguration>>,
    /// Whether the roles template, with the StackSet's parameters, registers a worker
    /// configuration in each account (`WorkerNetwork: Parameters`).
    pub workers_declared: bool,
}

/// What the operator decided beyond the facts.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Registrations named like this project's but without its note are this project's too
    /// (made before the configurator noted its registrations). Otherwise they are foreign.
    pub adopt_unmarked: bool,
}

/// `<12-digit account>-<purpose>`, the names this project gives registrations.
pub fn parse_name(name: &str) -> Option<(&str, &str)> {
    let (account, purpose) = name.split_once('-')?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) && !purpose.is_empty())
        .then_some((account, purpose))
}

/// Compares the appliance with the Organization and the StackSet.
pub fn reconcile(facts: &Facts, options: Options) -> Report {
    let mut report = Report::default();
    let mut registered: BTreeSet<(&str, &str)> = BTreeSet::new();
    let instance = |account: &str| {
        facts
            .instances
            .as_ref()
            .map(|all| all.iter().find(|i| i.account == account))
    };
    for registration in &facts.registrations {
        let Some((account, purpose)) = parse_name(&registration.name) else {
            if registration.account.is_some() {
                report.foreign.push((registration.clone(), Foreign::NotOurName));
            }
            continue;
        };
        // Registered, for the missing ones; ours only with the note (or the operator's word).
        registered.insert((account, purpose));
        if registration.made_by().is_none() && !options.adopt_unmarked {
            report.foreign.push((registration.clone(), Foreign::Unmarked));
            continue;
        }
        let problem = match standing(facts, account) {
            Verdict::OutOfScope => continue,
            Verdict::Orphaned(problem) => problem,
            Verdict::Expected if !facts.purposes.of(account).iter().any(|p| p == purpose) => {
                Problem::UndeclaredPurpose
            }
            Verdict::Expected => continue,
        };
        registered.remove(&(account, purpose));
        report
            .account(account)
            .orphans
            .push((registration.clone(), problem));
    }
    for account in facts.accounts.iter().filter(|a| {
        a.in_scope
            && a.standing == Standing::Active
            && (a.in_target || matches!(instance(&a.id), Some(Some(_))))
    }) {
        // StackSets never deploy to the management account (DeploymentTargets, CloudFormation
        // API reference), even when a target OU holds it.
        if facts.management_account.as_deref() == Some(account.id.as_str()) {
            report.not_deployable.push(account.id.clone());
            continue;
        }
        report.checked += 1;
        let missing: Vec<String> = facts
            .purposes
            .of(&account.id)
            .iter()
            .filter(|p| !registered.contains(&(account.id.as_str(), p.as_str())))
            .cloned()
            .collect();
        let no_workers = facts.workers_declared
            && facts
                .worker_configurations
                .as_ref()
                .is_some_and(|all| !all.iter().any(|c| c.account == account.id));
        if !missing.is_empty() || no_workers {
            let entry = report.account(&account.id);
            entry.missing = missing;
            entry.missing_workers = no_workers;
            entry.instance = instance(&account.id).flatten().cloned();
        }
    }
    // A worker configuration is orphaned only when AWS says its account is gone; one of an
    // account the StackSet still covers may be the wizard's, and is not this comparison's.
    for configuration in facts.worker_configurations.iter().flatten() {
        if let Verdict::Orphaned(problem) = standing(facts, &configuration.account)
            && problem.is_evidence_of_absence()
        {
            report
                .account(&configuration.account)
                .orphan_workers
                .push((configuration.clone(), problem));
        }
    }
    report.accounts.sort_by(|a, b| a.account.cmp(&b.account));
    report
}

/// What an account's standing says of what the appliance holds for it.
enum Verdict {
    /// Outside the OUs the operator named: not compared.
    OutOfScope,
    /// Nothing of it should be there, for this reason.
    Orphaned(Problem),
    /// Its stack declares what it should hold.
    Expected,
}

fn standing(facts: &Facts, account: &str) -> Verdict {
    let instance = facts
        .instances
        .as_ref()
        .map(|all| all.iter().find(|i| i.account == account));
    match facts.accounts.iter().find(|a| a.id == account) {
        None => Verdict::Orphaned(Problem::OutsideOrganization),
        Some(a) if !a.in_scope => Verdict::OutOfScope,
        Some(a) if a.standing != Standing::Active => Verdict::Orphaned(Problem::Inactive(a.standing)),
        // An account the StackSet targets but has no instance in yet is missing its instance,
        // not gone.
        Some(a) => match instance {
            Some(None) if !a.in_target => Verdict::Orphaned(Problem::NoStackInstance),
            None if !a.in_target => Verdict::Orphaned(Problem::OutsideTarget),
            _ => Verdict::Expected,
        },
    }
}

/// Whether a stack of the roles template creates a `Custom::VeeamWorkerConfiguration` with
/// `parameters` (a condition the player cannot evaluate counts as holding).
pub fn declared_workers(template: &vbaws_template::Template, parameters: &[(&str, &str)]) -> bool {
    let context =
        vbaws_template::Context::for_stack(template, "000000000000", "us-east-1", "roles", parameters);
    template
        .resources()
        .filter(|r| r.resource_type == "Custom::VeeamWorkerConfiguration")
        .any(|r| context.creates(template, r.condition).unwrap_or(true))
}

/// The `Purpose` of every `Custom::VeeamAwsConfigurator` a stack of the roles template creates
/// with `parameters` (the StackSet's; the template's defaults for the others): a registration
/// whose `Condition` does not hold is not expected.
pub fn declared_purposes(template: &vbaws_template::Template, parameters: &[(&str, &str)]) -> Vec<String> {
    let context =
        vbaws_template::Context::for_stack(template, "000000000000", "us-east-1", "roles", parameters);
    let mut purposes: Vec<String> = template
        .resources()
        .filter(|r| r.resource_type == "Custom::VeeamAwsConfigurator")
        // A condition the player cannot evaluate counts as holding: better a purpose reported
        // missing than a registration removed as undeclared.
        .filter(|r| context.creates(template, r.condition).unwrap_or(true))
        .filter_map(|r| r.properties["Purpose"].as_str().map(str::to_owned))
        .collect();
    purposes.sort();
    purposes.dedup();
    purposes
}
