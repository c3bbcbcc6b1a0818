//! The function's configuration, read once from its environment: how it reaches the appliance
//! ([`vbaws_appliance::Appliance`]) and how it confirms events with CloudFormation.
//!
//! Reading is a pure function of a lookup, so tests pass values instead of changing the
//! process's environment.

use crate::confirm::{Confirmation, Mode};

pub use vbaws_appliance::{LEGACY_VARIABLES, VARIABLES};

/// The roles StackSet's and the event reader role's names with the Lambdas stack's default
/// prefix, `vbaws`.
const DEFAULT_STACK_SET_NAME: &str = "vbaws-veeam-roles";
const DEFAULT_EVENT_READER_ROLE_NAME: &str = "vbaws-event-reader";

/// Everything the function needs to know before its first event.
#[derive(Debug, Clone)]
pub struct Settings {
    pub appliance: vbaws_appliance::Appliance,
    /// How events are confirmed with CloudFormation before the appliance is changed.
    pub confirmation: Confirmation,
}

/// A setting that is missing or wrong. Each message names the variable and what it should hold.
#[derive(Debug, thiserror::Error)]
#[error(
    "the function is misconfigured: {0}; fix the function's environment (the Lambdas stack's parameters)"
)]
pub struct ConfigError(pub Misconfiguration);

/// What exactly is wrong.
#[derive(Debug, thiserror::Error)]
pub enum Misconfiguration {
    #[error(transparent)]
    Appliance(#[from] vbaws_appliance::Misconfiguration),
    #[error(
        "EVENT_CONFIRMATION is {0:?}; it must be Report (log and count the events CloudFormation does not \
         confirm, and handle them) or Enforce (change nothing for them)"
    )]
    NotAMode(String),
    #[error("AWS_REGION is not set; Lambda sets it to the function's Region")]
    NoRegion,
}

impl<T: Into<Misconfiguration>> From<T> for ConfigError {
    fn from(problem: T) -> Self {
        Self(problem.into())
    }
}

impl Settings {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let appliance = vbaws_appliance::Appliance::from_lookup(&lookup)?;
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        // Report unless set: the safe first step of an upgrade.
        let mode = match get("EVENT_CONFIRMATION") {
            None => Mode::Report,
            Some(v) if v.eq_ignore_ascii_case("report") => Mode::Report,
            Some(v) if v.eq_ignore_ascii_case("enforce") => Mode::Enforce,
            Some(other) => return Err(Misconfiguration::NotAMode(other).into()),
        };
        let confirmation = Confirmation {
            mode,
            stack_set_name: get("STACK_SET_NAME").unwrap_or_else(|| DEFAULT_STACK_SET_NAME.to_owned()),
            reader_role_name: get("EVENT_READER_ROLE_NAME")
                .unwrap_or_else(|| DEFAULT_EVENT_READER_ROLE_NAME.to_owned()),
            region: get("AWS_REGION").ok_or(Misconfiguration::NoRegion)?,
        };
        Ok(Self {
            appliance,
            confirmation,
        })
    }
}

/// The variables read to confirm events; [`VARIABLES`] are the appliance's.
pub const CONFIRMATION_VARIABLES: &[&str] =
    &["EVENT_CONFIRMATION", "STACK_SET_NAME", "EVENT_READER_ROLE_NAME"];

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const PIN: &str =
        "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";

    fn read(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let env: HashMap<String, String> = pairs
            .iter()
            .chain(&[
                ("VEEAM_API_URL", "https://h:1"),
                ("SECRET_ID", "s"),
                ("VEEAM_CERT_SHA256", PIN),
            ])
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|name| env.get(name).cloned())
    }

    #[test]
    fn confirmation_is_report_by_default_and_each_problem_names_its_variable() {
        let settings = read(&[("AWS_REGION", "eu-west-1")]).expect("valid");
        assert_eq!(
            settings.confirmation,
            Confirmation {
                mode: Mode::Report,
                stack_set_name: "vbaws-veeam-roles".into(),
                reader_role_name: "vbaws-event-reader".into(),
                region: "eu-west-1".into(),
            }
        );
        assert_eq!(settings.appliance.api_url, "https://h:1");
        for (env, expected) in [
            (
                &[("AWS_REGION", "eu-west-1"), ("EVENT_CONFIRMATION", "strict")][..],
                "EVENT_CONFIRMATION is \"strict\"; it must be Report",
            ),
            (&[], "AWS_REGION is not set"),
        ] {
            let error = read(env).expect_err(expected).to_string();
            assert!(
                error.contains(expected) && error.contains("the function is misconfigured"),
                "{expected}: {error}"
            );
        }
        let appliance = Settings::from_lookup(|_| None)
            .expect_err("nothing set")
            .to_string();
        assert!(appliance.contains("VEEAM_API_URL is not set"), "{appliance}");
    }
}
