//! Reading every fact at once: the appliance, the Organization and the StackSet are independent,
//! so they are read concurrently and the slowest sets the pace.

use tokio::time::Instant;

use crate::{Facts, read, read::ReadError};

/// The roles StackSet, read for its instances and (unless purposes are given) its template.
#[derive(Debug, Clone, Copy)]
pub struct StackSet<'a> {
    pub client: &'a aws_sdk_cloudformation::Client,
    pub name: &'a str,
    /// Called from the Organization's delegated administrator for StackSets, not its
    /// management account.
    pub delegated_admin: bool,
}

/// Where the facts come from.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    pub appliance: &'a vbaws_client::Client,
    pub organizations: &'a aws_sdk_organizations::Client,
    /// The OUs the StackSet targets; accounts below them count as well.
    pub target_ous: &'a [String],
    pub stack_set: Option<StackSet<'a>>,
    /// The purposes each account registers; `None` to read them from the StackSet's template.
    pub purposes: Option<&'a [String]>,
}

/// Reads every fact the comparison needs.
pub async fn gather(sources: Sources<'_>, deadline: Instant) -> Result<Facts, ReadError> {
    let instances = async {
        match sources.stack_set {
            Some(set) => read::stack_instances(set.client, set.name, set.delegated_admin).await,
            None => Ok(Vec::new()),
        }
    };
    let purposes = async {
        match (sources.purposes, sources.stack_set) {
            (Some(purposes), _) => Ok(purposes.to_vec()),
            (None, Some(set)) => read::declared_stack_set(set.client, set.name, set.delegated_admin)
                .await
                .map(|declared| declared.purposes()),
            (None, None) => Err(ReadError::NoPurposes),
        }
    };
    let (registrations, accounts, instances, purposes) = tokio::try_join!(
        read::registrations(sources.appliance, deadline),
        read::accounts(sources.organizations, sources.target_ous),
        instances,
        purposes,
    )?;
    if purposes.is_empty() {
        return Err(ReadError::NoPurposes);
    }
    Ok(Facts {
        registrations,
        accounts,
        instances,
        purposes,
    })
}
