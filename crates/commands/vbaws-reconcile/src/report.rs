//! What the comparison found, per account.

use serde::Serialize;

use crate::{Registration, StackInstance, Standing, WorkerConfiguration};

/// Why a registration should not be there. As JSON, its slug (see [`crate::wire::Reason`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Its account is not in the Organization (it left, or never was).
    OutsideOrganization,
    /// Its account is suspended, closing or closed.
    Inactive(Standing),
    /// Its account is active and outside the OUs the roles StackSet targets, and the StackSet
    /// has no stack instance there (any more).
    NoStackInstance,
    /// Its account is active but outside the OUs given, and no StackSet was read to tell
    /// whether it still has a stack instance.
    OutsideTarget,
    /// Its purpose is not one its account's stack declares, as far as the StackSet's parameters
    /// (and the instance's overrides, when read) tell.
    UndeclaredPurpose,
}

impl Problem {
    /// Whether AWS itself says the registration's reason to exist is gone: the account closed,
    /// suspended or out of the Organization, or its stack instance deleted. Only these are
    /// removed without the operator's word.
    pub fn is_evidence_of_absence(self) -> bool {
        matches!(
            self,
            Self::OutsideOrganization | Self::Inactive(_) | Self::NoStackInstance
        )
    }
}

/// Why a registration is not this project's to touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Foreign {
    /// Not named `<account>-<purpose>`.
    NotOurName,
    /// Named like this project's registrations, without the note the configurator writes into
    /// their description.
    Unmarked,
}

impl std::fmt::Display for Foreign {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NotOurName => "not named <account>-<purpose>: not made by this project, never touched",
            Self::Unmarked => {
                "no note of this project in its description (made by hand, another tool, or an earlier release): never touched"
            }
        })
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::OutsideOrganization => f.write_str("the account is not in the organization"),
            Self::Inactive(Standing::Suspended) => f.write_str("the account is suspended"),
            Self::Inactive(Standing::PendingClosure) => f.write_str("the account is being closed"),
            Self::Inactive(Standing::Closed) => f.write_str("the account is closed"),
            Self::Inactive(_) => f.write_str("the account is not active"),
            Self::NoStackInstance => f.write_str("the roles StackSet has no stack instance in the account"),
            Self::OutsideTarget => f.write_str("the account is outside the target OUs"),
            Self::UndeclaredPurpose => f.write_str("the roles template declares no such purpose"),
        }
    }
}

/// One account's drift.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AccountReport {
    pub account: String,
    /// Registrations that should not be there, and why.
    #[serde(serialize_with = "crate::wire::findings")]
    pub orphans: Vec<(Registration, Problem)>,
    /// Purposes the account should have registered and does not.
    pub missing: Vec<String>,
    /// Worker configurations of an account that is gone, and why.
    #[serde(serialize_with = "crate::wire::findings")]
    pub orphan_workers: Vec<(WorkerConfiguration, Problem)>,
    /// The account should have a production worker configuration and has none.
    pub missing_workers: bool,
    /// The account's stack instance, when registrations are missing: its status reason often
    /// says why.
    pub instance: Option<StackInstance>,
}

/// The whole comparison.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Active accounts of the target OUs, each expected to have every purpose registered.
    pub checked: usize,
    /// The accounts with drift.
    pub accounts: Vec<AccountReport>,
    /// Registrations this project did not make, and why that is said: listed, never touched.
    #[serde(serialize_with = "crate::wire::findings")]
    pub foreign: Vec<(Registration, Foreign)>,
    /// Accounts of the target OUs that a StackSet can never protect: the management account.
    pub not_deployable: Vec<String>,
}

impl Report {
    pub(crate) fn account(&mut self, account: &str) -> &mut AccountReport {
        let at = match self.accounts.iter().position(|a| a.account == account) {
            Some(at) => at,
            None => {
                self.accounts.push(AccountReport {
                    account: account.to_owned(),
                    ..AccountReport::default()
                });
                self.accounts.len() - 1
            }
        };
        &mut self.accounts[at]
    }

    /// True when the appliance and the Organization disagree.
    pub fn has_drift(&self) -> bool {
        !self.accounts.is_empty()
    }

    /// The counts the scheduled function publishes as metrics.
    pub fn drift(&self) -> Drift {
        Drift {
            accounts: self.accounts.len(),
            orphaned: self
                .accounts
                .iter()
                .map(|a| a.orphans.len() + a.orphan_workers.len())
                .sum(),
            missing: self
                .accounts
                .iter()
                .map(|a| a.missing.len() + usize::from(a.missing_workers))
                .sum(),
            foreign: self.foreign.len(),
        }
    }
}

/// How much drift, in numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// Accounts with any drift.
    pub accounts: usize,
    /// Registrations (and worker configurations) that should not be there.
    pub orphaned: usize,
    /// Registrations (and worker configurations) that should be there and are not.
    pub missing: usize,
    /// Registrations this project did not make (not drift; listed).
    pub foreign: usize,
}
