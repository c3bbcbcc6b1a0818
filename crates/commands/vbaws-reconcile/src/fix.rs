//! `--fix`: removes the orphaned registrations this project made whose reason to exist AWS says
//! is gone, and nothing else; `--remove <ID>` removes orphans the operator names. Missing
//! registrations are the StackSet's to make (see [`crate::retry_commands`]); foreign ones are
//! never touched.
//!
//! Worker configurations go with the registration they name, just before it, and only then: a
//! configuration carries no note of who made it, but the registration does.
//!
//! Each removal reads the registration again first, so one that changed since the report (a
//! new owner, a new name) is left alone, and asks the appliance whether it may go: a role a
//! backup policy or repository uses is kept and reported.

use serde::Serialize;
use tokio::time::Instant;
use vbaws_client::Deleted;

use crate::{Problem, Registration, Report, WorkerConfiguration};

/// A registration `--fix` would remove, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    pub registration: Registration,
    pub problem: Problem,
    /// The orphaned worker configurations that name this registration: removed first, since
    /// a configuration holds on to its role (and is this project's by that role's note).
    pub workers: Vec<WorkerConfiguration>,
}

impl Serialize for Removal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::wire::Finding(&self.registration, &self.problem).serialize(serializer)
    }
}

/// The removals `--fix` makes: the orphans (this project's, by its note) of accounts closed,
/// suspended or out of the Organization, or without their stack instance.
pub fn plan(report: &Report) -> Vec<Removal> {
    orphans(report)
        .filter(|removal| removal.problem.is_evidence_of_absence())
        .collect()
}

/// The orphans only the operator can decide about: AWS does not say they are gone (a purpose
/// the StackSet's parameters do not declare, an account outside the OUs given).
pub fn undecided(report: &Report) -> Vec<Removal> {
    orphans(report)
        .filter(|removal| !removal.problem.is_evidence_of_absence())
        .collect()
}

/// The removals the operator asked for by ID: each must be an orphan of this report.
pub fn chosen(report: &Report, ids: &[String]) -> Result<Vec<Removal>, String> {
    ids.iter()
        .map(|id| {
            orphans(report)
                .find(|removal| removal.registration.id == *id)
                .ok_or_else(|| {
                    format!("{id} is not an orphaned registration of this project in this report; nothing was removed")
                })
        })
        .collect()
}

fn orphans(report: &Report) -> impl Iterator<Item = Removal> + '_ {
    report
        .accounts
        .iter()
        .flat_map(|a| a.orphans.iter().map(move |orphan| (a, orphan)))
        .map(|(account, (registration, problem))| Removal {
            registration: registration.clone(),
            problem: *problem,
            workers: account
                .orphan_workers
                .iter()
                .filter(|(w, _)| w.role_id == registration.id)
                .map(|(w, _)| w.clone())
                .collect(),
        })
}

/// What happened to each planned removal.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Fixed {
    pub removed: Vec<Registration>,
    /// Kept because the appliance says something uses it, with its words.
    #[serde(serialize_with = "crate::wire::details")]
    pub in_use: Vec<(Registration, String)>,
    /// Left alone because it changed since it was read (or is already gone).
    #[serde(serialize_with = "crate::wire::details")]
    pub changed: Vec<(Registration, String)>,
    /// The appliance refused or could not be reached.
    #[serde(serialize_with = "crate::wire::details")]
    pub failed: Vec<(Registration, String)>,
    /// Worker configurations removed before the registration they name.
    pub removed_workers: Vec<WorkerConfiguration>,
    /// Worker configurations the appliance did not remove, with its words.
    #[serde(serialize_with = "crate::wire::details")]
    pub failed_workers: Vec<(WorkerConfiguration, String)>,
}

impl Fixed {
    /// True when some removal failed: the operator must look.
    pub fn has_failures(&self) -> bool {
        !self.failed.is_empty() || !self.failed_workers.is_empty()
    }
}

/// Carries out `plan`, one registration at a time (the appliance serialises its own writes;
/// a burst gains nothing and loads it).
pub async fn apply(client: &vbaws_client::Client, plan: &[Removal], deadline: Instant) -> Fixed {
    let mut fixed = Fixed::default();
    for removal in plan {
        for worker in &removal.workers {
            match client.until(deadline).workers().delete(&worker.id).await {
                Ok(_) => fixed.removed_workers.push(worker.clone()),
                Err(error) => fixed.failed_workers.push((worker.clone(), error.to_string())),
            }
        }
        let registration = removal.registration.clone();
        match remove(client, &registration, deadline).await {
            Ok(Outcome::Removed) => fixed.removed.push(registration),
            Ok(Outcome::InUse(why)) => fixed.in_use.push((registration, why)),
            Ok(Outcome::Changed(why)) => fixed.changed.push((registration, why)),
            Err(error) => fixed.failed.push((registration, error.to_string())),
        }
    }
    fixed
}

enum Outcome {
    Removed,
    InUse(String),
    Changed(String),
}

async fn remove(
    client: &vbaws_client::Client,
    registration: &Registration,
    deadline: Instant,
) -> Result<Outcome, vbaws_client::Error> {
    let roles = || client.until(deadline).roles();
    let Some(current) = roles().get(&registration.id).await? else {
        return Ok(Outcome::Changed("it is already gone".to_owned()));
    };
    let account = current.cross_account_role.as_ref().map(|r| r.account_id.as_str());
    if current.name != registration.name || account != registration.account.as_deref() {
        return Ok(Outcome::Changed(format!(
            "it is now {:?} of account {}",
            current.name,
            account.unwrap_or("(the appliance's own)")
        )));
    }
    let blockers: Vec<String> = roles()
        .validate_delete(&current.id)
        .await?
        .into_iter()
        .filter(|m| m.is_error())
        .map(|m| m.message)
        .collect();
    if !blockers.is_empty() {
        return Ok(Outcome::InUse(blockers.join("; ")));
    }
    match roles().delete(&current).await {
        Ok(Deleted::Removed) => Ok(Outcome::Removed),
        Ok(Deleted::AlreadyGone) => Ok(Outcome::Changed("it is already gone".to_owned())),
        Err(vbaws_client::Error::Api(api)) if api.is_in_use() => Ok(Outcome::InUse(
            api.details.clone().unwrap_or_else(|| api.summary()),
        )),
        Err(error) => Err(error),
    }
}
