//! The report for people: a table of what is wrong and why, and the commands that retry the
//! stack instances behind missing registrations.

use std::fmt::{self, Write as _};

use serde_json::json;

use crate::{Report, fix::Fixed};

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let drift = self.drift();
        if !self.has_drift() {
            writeln!(
                f,
                "No drift: each of the {} active accounts of the target OUs has its registrations, and no registration is orphaned.",
                self.checked
            )?;
        } else {
            writeln!(
                f,
                "Drift: {} orphaned, {} missing ({} active accounts of the target OUs checked).",
                drift.orphaned, drift.missing, self.checked
            )?;
        }
        let mut rows: Vec<[String; 4]> = Vec::new();
        for account in &self.accounts {
            for (registration, problem) in &account.orphans {
                rows.push([
                    account.account.clone(),
                    registration.name.clone(),
                    "orphaned".into(),
                    problem.to_string(),
                ]);
            }
            for (configuration, problem) in &account.orphan_workers {
                rows.push([
                    account.account.clone(),
                    format!("worker configuration {}", configuration.id),
                    "orphaned".into(),
                    problem.to_string(),
                ]);
            }
            if account.missing_workers {
                rows.push([
                    account.account.clone(),
                    "worker configuration".into(),
                    "missing".into(),
                    "WorkerNetwork is Parameters, and the appliance holds none for the account: check its stack's WorkerConfiguration resource".into(),
                ]);
            }
            if !account.missing.is_empty() {
                let why = match &account.instance {
                    Some(i) => match &i.reason {
                        Some(reason) => format!("stack instance {}: {reason}", i.status),
                        None => format!("stack instance {}", i.status),
                    },
                    None => "no stack instance".to_owned(),
                };
                rows.push([
                    account.account.clone(),
                    account.missing.join(", "),
                    "missing".into(),
                    why,
                ]);
            }
        }
        for account in &self.not_deployable {
            rows.push([
                account.clone(),
                "-".into(),
                "not deployable".into(),
                "the management account: StackSets never deploy stack instances to it; register its roles by hand, or move it out of the target OUs".into(),
            ]);
        }
        for (registration, why) in &self.foreign {
            rows.push([
                registration.account.clone().unwrap_or_default(),
                registration.name.clone(),
                "foreign".into(),
                why.to_string(),
            ]);
        }
        if rows.is_empty() {
            return Ok(());
        }
        let header = ["ACCOUNT", "REGISTRATION", "DRIFT", "WHY"].map(String::from);
        let mut widths = [0; 3];
        for row in std::iter::once(&header).chain(&rows) {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        writeln!(f)?;
        for row in std::iter::once(&header).chain(&rows) {
            writeln!(
                f,
                "{:w0$}  {:w1$}  {:w2$}  {}",
                row[0],
                row[1],
                row[2],
                row[3],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2]
            )?;
        }
        let undecided = crate::fix::undecided(self);
        if !undecided.is_empty() {
            writeln!(
                f,
                "\n--fix leaves these orphans, since AWS does not say their reason to exist is gone; once you have \
                 checked one (an instance's parameter overrides, an OU left out), add --remove <ID> to this command:"
            )?;
            for removal in undecided {
                let r = &removal.registration;
                writeln!(f, "  --remove {}  ({}: {})", r.id, r.name, removal.problem)?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Removed {} orphaned registrations.", self.removed.len())?;
        for r in &self.removed {
            writeln!(f, "  removed  {} ({})", r.name, r.id)?;
        }
        for (r, why) in &self.in_use {
            writeln!(
                f,
                "  kept     {} ({}): in use ({why}); remove it by hand once no policy or repository uses it",
                r.name, r.id
            )?;
        }
        for (r, why) in &self.changed {
            writeln!(f, "  skipped  {} ({}): {why} since it was read", r.name, r.id)?;
        }
        for (r, why) in &self.failed {
            writeln!(f, "  FAILED   {} ({}): {why}", r.name, r.id)?;
        }
        for w in &self.removed_workers {
            writeln!(
                f,
                "  removed  worker configuration {} of account {} (before its role's registration)",
                w.id, w.account
            )?;
        }
        for (w, why) in &self.failed_workers {
            writeln!(
                f,
                "  FAILED   worker configuration {} of account {}: {why}",
                w.id, w.account
            )?;
        }
        Ok(())
    }
}

/// The StackSet and where its instances go, for the retry commands.
#[derive(Debug, Clone, Copy)]
pub struct RetryTarget<'a> {
    pub stack_set: &'a str,
    pub target_ous: &'a [String],
    /// The Region of instances that do not exist yet (the Lambdas stack's Region).
    pub region: &'a str,
    pub delegated_admin: bool,
}

/// The AWS CLI commands that make the StackSet retry the accounts whose registrations are
/// missing: `update-stack-instances` where an instance exists (it failed or is outdated),
/// `create-stack-instances` where none does. Registrations are the StackSet's to make; this
/// tool never makes them itself.
pub fn retry_commands(report: &Report, target: RetryTarget<'_>) -> Vec<String> {
    let mut update: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    let mut create: Vec<&str> = Vec::new();
    for account in report.accounts.iter().filter(|a| !a.missing.is_empty()) {
        match &account.instance {
            Some(instance) if !instance.region.is_empty() => update
                .entry(instance.region.as_str())
                .or_default()
                .push(&account.account),
            Some(_) => update.entry(target.region).or_default().push(&account.account),
            None => create.push(&account.account),
        }
    }
    let command = |verb: &str, region: &str, accounts: &[&str]| {
        let targets = json!({
            "OrganizationalUnitIds": target.target_ous,
            "Accounts": accounts,
            "AccountFilterType": "INTERSECTION",
        });
        let mut line = format!(
            "aws cloudformation {verb}-stack-instances --stack-set-name {} --regions {region} --deployment-targets '{targets}'",
            target.stack_set
        );
        if target.delegated_admin {
            let _ = write!(line, " --call-as DELEGATED_ADMIN");
        }
        line
    };
    let mut commands: Vec<String> = update
        .iter()
        .map(|(region, accounts)| command("update", region, accounts))
        .collect();
    if !create.is_empty() {
        commands.push(command("create", target.region, &create));
    }
    commands
}
