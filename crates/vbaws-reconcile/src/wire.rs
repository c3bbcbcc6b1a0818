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

/// `{"registration": …, "reason": <slug>, "why": <sentence>}`.
pub(crate) struct Finding<'a, R>(pub(crate) &'a Registration, pub(crate) &'a R);

impl<R: Reason> Serialize for Finding<'_, R> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("registration", self.0)?;
        map.serialize_entry("reason", self.1.slug())?;
        map.serialize_entry("why", &self.1.to_string())?;
        map.end()
    }
}

pub(crate) fn findings<S: Serializer, R: Reason>(
    items: &[(Registration, R)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut seq = serializer.serialize_seq(Some(items.len()))?;
    for (registration, reason) in items {
        seq.serialize_element(&Finding(registration, reason))?;
    }
    seq.end()
}

/// `[{"worker_configuration": …, "reason": <slug>, "why": <sentence>}]`.
pub(crate) fn worker_findings<S: Serializer>(
    items: &[(WorkerConfiguration, Problem)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct WorkerFinding<'a> {
        worker_configuration: &'a WorkerConfiguration,
        reason: &'static str,
        why: String,
    }
    serializer.collect_seq(items.iter().map(|(configuration, problem)| WorkerFinding {
        worker_configuration: configuration,
        reason: problem.slug(),
        why: problem.to_string(),
    }))
}

/// `[{"worker_configuration": …, "detail": <what the appliance said>}]`.
pub(crate) fn worker_details<S: Serializer>(
    items: &[(WorkerConfiguration, String)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Detailed<'a> {
        worker_configuration: &'a WorkerConfiguration,
        detail: &'a str,
    }
    serializer.collect_seq(items.iter().map(|(worker_configuration, detail)| Detailed {
        worker_configuration,
        detail,
    }))
}

/// `[{"registration": …, "detail": <what the appliance said>}]`.
pub(crate) fn details<S: Serializer>(
    items: &[(Registration, String)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Detailed<'a> {
        registration: &'a Registration,
        detail: &'a str,
    }
    serializer.collect_seq(
        items
            .iter()
            .map(|(registration, detail)| Detailed { registration, detail }),
    )
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
