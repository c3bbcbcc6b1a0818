//! What the comparison found, per account.

use serde::Serialize;

use crate::{Registration, StackInstance, Standing};

/// Why a registration should not be there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "standing")]
pub enum Problem {
    /// Its account is not in the Organization (it left, or never was).
    OutsideOrganization,
    /// Its account is suspended, closing or closed.
    Inactive(Standing),
    /// Its account is active but outside the OUs the StackSet targets.
    OutsideTarget,
    /// Its purpose is not one the roles template declares (any more).
    UndeclaredPurpose,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::OutsideOrganization => f.write_str("the account is not in the organization"),
            Self::Inactive(Standing::Suspended) => f.write_str("the account is suspended"),
            Self::Inactive(Standing::PendingClosure) => f.write_str("the account is being closed"),
            Self::Inactive(Standing::Closed) => f.write_str("the account is closed"),
            Self::Inactive(_) => f.write_str("the account is not active"),
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
    pub orphans: Vec<(Registration, Problem)>,
    /// Purposes the account should have registered and does not.
    pub missing: Vec<String>,
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
    /// Registrations this project did not make: listed, never touched.
    pub foreign: Vec<Registration>,
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
            orphaned: self.accounts.iter().map(|a| a.orphans.len()).sum(),
            missing: self.accounts.iter().map(|a| a.missing.len()).sum(),
            foreign: self.foreign.len(),
        }
    }
}

/// How much drift, in numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// Accounts with any drift.
    pub accounts: usize,
    /// Registrations that should not be there.
    pub orphaned: usize,
    /// Registrations that should be there and are not.
    pub missing: usize,
    /// Registrations this project did not make (not drift; listed).
    pub foreign: usize,
}
