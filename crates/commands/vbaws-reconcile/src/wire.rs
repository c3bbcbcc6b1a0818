//! How the report reads as JSON (`--format json`, the scheduled function's result): objects
//! with named fields, reasons as stable slugs beside their sentence. The shape is a published
//! contract, `schemas/vbaws-reconcile.v1.json`; a change that breaks it is a new version.

use serde::{Serialize, Serializer, ser::SerializeMap, ser::SerializeSeq};

use crate::{Foreign, Problem, Registration, WorkerConfiguration};

/// The schema the JSON document follows, named in its `schema` field.
pub const SCHEMA: &str = "vbaws-reconcile.v1";

/// A reason with a slug for scripts and a sentence for people.
pub trait Reason: std::fmt::Display {
    fn slug(&self) -> &'static str;
}

impl Reason for Problem {
    fn slug(&self) -> &'static str {
        use crate::Standing;
        match self {
            Self::OutsideOrganization => "outside-organization",
            Self::Inactive(Standing::Suspended) => "account-suspended",
            Self::Inactive(Standing::PendingClosure) => "account-pending-closure",
            Self::Inactive(Standing::Closed) => "account-closed",
            Self::Inactive(_) => "account-inactive",
            Self::NoStackInstance => "no-stack-instance",
            Self::OutsideTarget => "outside-target",
            Self::UndeclaredPurpose => "undeclared-purpose",
        }
    }
}

impl Reason for Foreign {
    fn slug(&self) -> &'static str {
        match self {
            Self::NotOurName => "not-our-name",
            Self::Unmarked => "unmarked",
        }
    }
}

/// What a finding is about, and its key in the JSON: a registration or a worker configuration.
pub(crate) trait Subject: Serialize {
    const KEY: &'static str;
}

impl Subject for Registration {
    const KEY: &'static str = "registration";
}

impl Subject for WorkerConfiguration {
    const KEY: &'static str = "worker_configuration";
}

/// `{"<subject>": …, "reason": <slug>, "why": <sentence>}`.
pub(crate) struct Finding<'a, T, R>(pub(crate) &'a T, pub(crate) &'a R);

impl<T: Subject, R: Reason> Serialize for Finding<'_, T, R> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry(T::KEY, self.0)?;
        map.serialize_entry("reason", self.1.slug())?;
        map.serialize_entry("why", &self.1.to_string())?;
        map.end()
    }
}

pub(crate) fn findings<S: Serializer, T: Subject, R: Reason>(
    items: &[(T, R)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut seq = serializer.serialize_seq(Some(items.len()))?;
    for (subject, reason) in items {
        seq.serialize_element(&Finding(subject, reason))?;
    }
    seq.end()
}

/// `{"<subject>": …, "detail": <what the appliance said>}`.
struct Detailed<'a, T>(&'a T, &'a str);

impl<T: Subject> Serialize for Detailed<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry(T::KEY, self.0)?;
        map.serialize_entry("detail", self.1)?;
        map.end()
    }
}

pub(crate) fn details<S: Serializer, T: Subject>(
    items: &[(T, String)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(items.iter().map(|(subject, detail)| Detailed(subject, detail)))
}

/// Key-value pairs as one object: `{"Services": "ec2,rds"}`.
pub(crate) fn pairs<S: Serializer>(items: &[(String, String)], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_map(items.iter().map(|(k, v)| (k, v)))
}

/// The command's whole JSON document.
#[derive(Debug, Serialize)]
pub struct Document<'a> {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    pub checked: usize,
    pub drift: crate::Drift,
    pub accounts: &'a [crate::AccountReport],
    #[serde(serialize_with = "findings")]
    pub foreign: &'a [(Registration, Foreign)],
    pub not_deployable: &'a [String],
    /// What `--fix` removes (shown whether or not it was given).
    pub plan: &'a [crate::fix::Removal],
    /// Orphans only `--remove` takes.
    pub undecided: &'a [crate::fix::Removal],
    /// What this run removed, kept or failed to remove; `null` when it removed nothing.
    pub fixed: Option<&'a crate::fix::Fixed>,
    pub retry_commands: &'a [String],
}

impl<'a> Document<'a> {
    /// The document for `report`, with what the run planned and did.
    pub fn new(
        report: &'a crate::Report,
        plan: &'a [crate::fix::Removal],
        undecided: &'a [crate::fix::Removal],
    ) -> Self {
        Self {
            schema: SCHEMA,
            checked: report.checked,
            drift: report.drift(),
            accounts: &report.accounts,
            foreign: &report.foreign,
            not_deployable: &report.not_deployable,
            plan,
            undecided,
            fixed: None,
            retry_commands: &[],
        }
    }
}
