//! What each event did to the appliance, counted in CloudWatch through one Embedded Metric
//! Format line per event (see [`vbaws_lambda::metrics`]).

/// The namespace of the project's metrics.
pub const METRICS_NAMESPACE: &str = vbaws_lambda::metrics::NAMESPACE;

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
    if let Some(metric) = effect.metric() {
        println!(
            "{}",
            vbaws_lambda::metrics::emf_line("veeam-configurator", &[(metric, 1)])
        );
    }
}

/// Counts an event CloudFormation did not confirm (`EventsUnconfirmed`), or one that could not
/// be confirmed because AWS could not be asked (`ConfirmationsUnavailable`).
pub(crate) fn emit_unconfirmed(error: &crate::confirm::ConfirmError) {
    let metric = match error {
        crate::confirm::ConfirmError::Unconfirmed(_) => "EventsUnconfirmed",
        crate::confirm::ConfirmError::Unreachable { .. } | crate::confirm::ConfirmError::Refused { .. } => {
            "ConfirmationsUnavailable"
        }
    };
    println!(
        "{}",
        vbaws_lambda::metrics::emf_line("veeam-configurator", &[(metric, 1)])
    );
}
