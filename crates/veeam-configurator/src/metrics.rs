//! CloudWatch metrics in Embedded Metric Format: one JSON line per event on stdout, which Lambda
//! sends to the function's log group and CloudWatch turns into metrics, with no API call and no
//! permission beyond writing logs.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;

/// The namespace of the project's metrics.
pub const METRICS_NAMESPACE: &str = "VeeamBackupForAws/Onboarding";

/// What an event did to the appliance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// A new registration.
    Created,
    /// An existing registration of the account, taken over (a duplicate event, an earlier tool's).
    Adopted,
    /// A registration updated in place.
    Updated,
    Removed,
    /// A Delete that left the registration in place: in use, `OnDelete: Retain`, another
    /// account's, or another role's by now.
    Retained,
    /// Answered FAILED.
    Failed,
    /// Nothing to do (a Delete of what is already gone).
    Unchanged,
}

impl Effect {
    /// The metric this effect counts in; none for [`Effect::Unchanged`].
    pub fn metric(self) -> Option<&'static str> {
        Some(match self {
            Self::Created => "RegistrationsCreated",
            Self::Adopted => "RegistrationsAdopted",
            Self::Updated => "RegistrationsUpdated",
            Self::Removed => "RegistrationsRemoved",
            Self::Retained => "RegistrationsRetained",
            Self::Failed => "RegistrationsFailed",
            Self::Unchanged => return None,
        })
    }
}

/// Prints the EMF line that counts `effect` (a count of 1 in its metric).
pub(crate) fn emit(effect: Effect) {
    let Some(metric) = effect.metric() else {
        return;
    };
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let line = json!({
        "_aws": {
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": METRICS_NAMESPACE,
                "Dimensions": [["Function"]],
                "Metrics": [{"Name": metric, "Unit": "Count"}],
            }],
        },
        "Function": "veeam-configurator",
        metric: 1,
    });
    println!("{line}");
}
