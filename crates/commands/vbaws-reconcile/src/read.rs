//! Reading the facts: the appliance's registrations (every page, through `vbaws-client`), the
//! Organization's accounts and which of them the target OUs hold (recursively), and the roles
//! StackSet's instances. Read-only calls only.

use std::collections::BTreeSet;

use aws_sdk_cloudformation::types::CallAs;
use aws_sdk_organizations::{error::ProvideErrorMetadata, types::ChildType};
use tokio::time::Instant;

use crate::{Account, Registration, StackInstance, Standing, WorkerConfiguration};

/// A call that failed, and why.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{call} failed: {reason}")]
    Aws { call: &'static str, reason: String },
    #[error("reading the appliance's registrations failed: {0}")]
    Appliance(vbaws_client::Error),
    #[error("the StackSet {stack_set}'s template cannot be read: {problem}")]
    Template { stack_set: String, problem: String },
    #[error(
        "no registration purpose is known: the roles template declares no Custom::VeeamAwsConfigurator, \
         or none was given (name the StackSet, or give the roles template)"
    )]
    NoPurposes,
    /// Each face says how to name another: the command its flags, the function its parameters.
    #[error("the StackSet {stack_set} does not exist for {call_as} (StackSetNotFoundException)")]
    NoStackSet {
        stack_set: String,
        call_as: &'static str,
    },
}

/// Every AWS API action the reads call, as IAM names it: what a role that reconciles (the
/// scheduled function's, an Organization reader) must be allowed. A test below keeps it in step
/// with the calls in this file.
pub const AWS_ACTIONS: &[&str] = &[
    "organizations:ListAccounts",
    "organizations:ListAccountsForParent",
    "organizations:ListChildren",
    "organizations:DescribeOrganization",
    "cloudformation:DescribeStackSet",
    "cloudformation:ListStackInstances",
    "cloudformation:DescribeStackInstance",
];

fn aws<E, R>(call: &'static str) -> impl FnOnce(aws_sdk_organizations::error::SdkError<E, R>) -> ReadError
where
    E: aws_sdk_organizations::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    move |error| {
        let reason = match (error.code(), error.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            _ => aws_sdk_organizations::error::DisplayErrorContext(&error).to_string(),
        };
        ReadError::Aws { call, reason }
    }
}

/// Every registration in the appliance, all pages.
pub async fn registrations(
    client: &vbaws_client::Client,
    deadline: Instant,
) -> Result<Vec<Registration>, ReadError> {
    let roles = client
        .until(deadline)
        .roles()
        .list()
        .await
        .map_err(ReadError::Appliance)?;
    Ok(roles
        .into_iter()
        .map(|role| Registration {
            account: role
                .cross_account_role
                .as_ref()
                .map(|r| r.account_id.clone())
                .or_else(|| {
                    (!role.is_default())
                        .then(|| role.account_id().map(str::to_owned))
                        .flatten()
                }),
            role_name: role.cross_account_role.as_ref().map(|r| r.role_name.clone()),
            id: role.id,
            name: role.name,
            description: role.description,
        })
        .collect())
}

/// Every production worker configuration in the appliance; `None` when the appliance offers no
/// listing of them (404 or 405: the path is the API's usual one, not a documented one).
pub async fn worker_configurations(
    client: &vbaws_client::Client,
    deadline: Instant,
) -> Result<Option<Vec<WorkerConfiguration>>, ReadError> {
    match client.until(deadline).workers().list().await {
        Ok(all) => Ok(Some(
            all.into_iter()
                .map(|c| WorkerConfiguration {
                    id: c.id,
                    account: c.spec.account_id,
                    role_id: c.spec.role_id,
                })
                .collect(),
        )),
        Err(vbaws_client::Error::Api(api)) if matches!(api.status, 404 | 405) => Ok(None),
        Err(error) => Err(ReadError::Appliance(error)),
    }
}

/// The accounts in `ou` and in every OU below it, with their standing.
pub async fn accounts_below(
    organizations: &aws_sdk_organizations::Client,
    ou: &str,
) -> Result<Vec<(String, Standing)>, ReadError> {
    let mut found = Vec::new();
    let mut parents = vec![ou.to_owned()];
    while let Some(parent) = parents.pop() {
        let mut pages = organizations
            .list_accounts_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for account in page.map_err(aws("ListAccountsForParent"))?.accounts() {
                if let Some(id) = account.id() {
                    found.push((id.to_owned(), standing(account)));
                }
            }
        }
        let mut pages = organizations
            .list_children()
            .parent_id(&parent)
            .child_type(ChildType::OrganizationalUnit)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let children = page.map_err(aws("ListChildren"))?;
            parents.extend(
                children
                    .children()
                    .iter()
                    .filter_map(|c| c.id().map(str::to_owned)),
            );
        }
    }
    Ok(found)
}

/// Every account of the Organization, each marked whether one of `target_ous` (or an OU below
/// one) holds it, and whether one of `scope_ous` does (every account is in scope when none are
/// given).
pub async fn accounts(
    organizations: &aws_sdk_organizations::Client,
    target_ous: &[String],
    scope_ous: &[String],
) -> Result<Vec<Account>, ReadError> {
    let below = |ous: &[String]| {
        let ous = ous.to_vec();
        async move {
            let mut found = BTreeSet::new();
            for ou in &ous {
                found.extend(
                    accounts_below(organizations, ou)
                        .await?
                        .into_iter()
                        .map(|(id, _)| id),
                );
            }
            Ok::<_, ReadError>(found)
        }
    };
    let in_target = below(target_ous).await?;
    let in_scope = if scope_ous == target_ous {
        in_target.clone()
    } else {
        below(scope_ous).await?
    };
    let mut pages = organizations.list_accounts().into_paginator().send();
    let mut accounts = Vec::new();
    while let Some(page) = pages.next().await {
        for account in page.map_err(aws("ListAccounts"))?.accounts() {
            if let Some(id) = account.id() {
                accounts.push(Account {
                    id: id.to_owned(),
                    standing: standing(account),
                    in_target: in_target.contains(id),
                    in_scope: scope_ous.is_empty() || in_scope.contains(id),
                });
            }
        }
    }
    Ok(accounts)
}

/// The Organization's management account, where StackSets never deploy stack instances.
pub async fn management_account(
    organizations: &aws_sdk_organizations::Client,
) -> Result<Option<String>, ReadError> {
    let described = organizations
        .describe_organization()
        .send()
        .await
        .map_err(aws("DescribeOrganization"))?;
    Ok(described
        .organization()
        .and_then(|o| o.master_account_id())
        .map(str::to_owned))
}

fn standing(account: &aws_sdk_organizations::types::Account) -> Standing {
    Standing::from_organizations(
        account.state().map(|s| s.as_str()),
        account.status().map(|s| s.as_str()),
    )
}

fn call_as(delegated_admin: bool) -> CallAs {
    if delegated_admin {
        CallAs::DelegatedAdmin
    } else {
        CallAs::SelfValue
    }
}

/// The roles StackSet's template, parameter values and deployment targets, as
/// `DescribeStackSet` returns them (or a template and parameters the operator gives).
#[derive(Debug, Clone)]
pub struct DeclaredStackSet {
    pub template: vbaws_template::Template,
    pub parameters: Vec<(String, String)>,
    /// The OUs it deploys to (`OrganizationalUnitIds`); empty when not reported.
    pub organizational_units: Vec<String>,
}

impl DeclaredStackSet {
    /// The purposes its stacks register.
    pub fn purposes(&self) -> Vec<String> {
        self.purposes_with(&[])
    }

    /// The purposes a stack instance with these parameter overrides registers.
    pub fn purposes_with(&self, overrides: &[(String, String)]) -> Vec<String> {
        let parameters: Vec<(&str, &str)> = self
            .parameters
            .iter()
            .chain(overrides)
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        crate::declared_purposes(&self.template, &parameters)
    }

    /// Whether the template, with the StackSet's parameters, registers worker configurations.
    pub fn workers(&self) -> bool {
        let parameters: Vec<(&str, &str)> = self
            .parameters
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        crate::declared_workers(&self.template, &parameters)
    }
}

/// The roles StackSet's template and parameters.
pub async fn declared_stack_set(
    cloudformation: &aws_sdk_cloudformation::Client,
    stack_set: &str,
    delegated_admin: bool,
) -> Result<DeclaredStackSet, ReadError> {
    let described = cloudformation
        .describe_stack_set()
        .stack_set_name(stack_set)
        .call_as(call_as(delegated_admin))
        .send()
        .await
        .map_err(|error| {
            use aws_sdk_cloudformation::error::ProvideErrorMetadata;
            if error.code() == Some("StackSetNotFoundException") {
                ReadError::NoStackSet {
                    stack_set: stack_set.to_owned(),
                    call_as: if delegated_admin {
                        "DELEGATED_ADMIN"
                    } else {
                        "SELF"
                    },
                }
            } else {
                aws("DescribeStackSet")(error)
            }
        })?;
    let set = described.stack_set();
    let body = set.and_then(|s| s.template_body()).unwrap_or_default();
    let template = vbaws_template::Template::from_yaml(body).map_err(|e| ReadError::Template {
        stack_set: stack_set.to_owned(),
        problem: e.to_string(),
    })?;
    let parameters = set
        .map(|s| s.parameters())
        .unwrap_or_default()
        .iter()
        .filter_map(|p| {
            let value = p.resolved_value().or(p.parameter_value())?;
            Some((p.parameter_key()?.to_owned(), value.to_owned()))
        })
        .collect();
    let organizational_units = set
        .map(|s| s.organizational_unit_ids().to_vec())
        .unwrap_or_default();
    Ok(DeclaredStackSet {
        template,
        parameters,
        organizational_units,
    })
}

/// A stack instance's own parameter values (`DescribeStackInstance`'s `ParameterOverrides`).
pub async fn instance_overrides(
    cloudformation: &aws_sdk_cloudformation::Client,
    stack_set: &str,
    instance: &StackInstance,
    delegated_admin: bool,
) -> Result<Vec<(String, String)>, ReadError> {
    let described = cloudformation
        .describe_stack_instance()
        .stack_set_name(stack_set)
        .stack_instance_account(&instance.account)
        .stack_instance_region(&instance.region)
        .call_as(call_as(delegated_admin))
        .send()
        .await
        .map_err(aws("DescribeStackInstance"))?;
    Ok(described
        .stack_instance()
        .map(|i| i.parameter_overrides())
        .unwrap_or_default()
        .iter()
        .filter_map(|p| Some((p.parameter_key()?.to_owned(), p.parameter_value()?.to_owned())))
        .collect())
}

/// The roles StackSet's instances. `delegated_admin` when the caller is the Organization's
/// delegated administrator for StackSets rather than its management account.
pub async fn stack_instances(
    cloudformation: &aws_sdk_cloudformation::Client,
    stack_set: &str,
    delegated_admin: bool,
) -> Result<Vec<StackInstance>, ReadError> {
    let mut pages = cloudformation
        .list_stack_instances()
        .stack_set_name(stack_set)
        .call_as(call_as(delegated_admin))
        .into_paginator()
        .items()
        .send();
    let mut instances = Vec::new();
    while let Some(summary) = pages.next().await {
        let summary = summary.map_err(aws("ListStackInstances"))?;
        let detailed = summary
            .stack_instance_status()
            .and_then(|s| s.detailed_status())
            .map(|d| d.as_str().to_owned());
        let status = summary
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        instances.push(StackInstance {
            account: summary.account().unwrap_or_default().to_owned(),
            region: summary.region().unwrap_or_default().to_owned(),
            status: match detailed {
                Some(detailed) if detailed != status => format!("{status} ({detailed})"),
                _ => status,
            },
            reason: summary.status_reason().map(str::to_owned),
            overrides: Vec::new(),
        });
    }
    Ok(instances)
}

#[cfg(test)]
mod tests {
    /// Each call in this file names its operation for its error (`aws("ListChildren")`): every
    /// one is in AWS_ACTIONS, and AWS_ACTIONS lists nothing that is not called.
    #[test]
    fn the_listed_actions_are_the_calls_made() {
        let source = include_str!("read.rs");
        let called: std::collections::BTreeSet<&str> = source
            .split("aws(\"")
            .skip(1)
            .filter_map(|rest| rest.split_once('"').map(|(name, _)| name))
            .filter(|name| !name.is_empty() && name.chars().all(char::is_alphanumeric))
            .collect();
        let listed: std::collections::BTreeSet<&str> = super::AWS_ACTIONS
            .iter()
            .filter_map(|action| action.split_once(':').map(|(_, name)| name))
            .collect();
        assert_eq!(called, listed);
    }
}
