//! The Organization: trusted access for StackSets, and the OUs the roles roll out to.

use std::collections::BTreeMap;

use crate::{Aws, Check, Plan, aws::describe};

/// The service principal that `aws cloudformation activate-organizations-access` enables.
const STACKSETS_PRINCIPAL: &str = "member.org.stacksets.cloudformation.amazonaws.com";

pub(crate) async fn checks(aws: &Aws, plan: &Plan) -> Vec<Check> {
    let mut checks = vec![trusted_access(aws).await];
    if plan.organizational_units.is_empty() {
        checks.push(Check::skip("organizational-unit", "no --ou given"));
    }
    for ou in &plan.organizational_units {
        checks.push(organizational_unit(aws, ou).await);
    }
    checks
}

async fn trusted_access(aws: &Aws) -> Check {
    const NAME: &str = "trusted-access";
    let mut enabled = Vec::new();
    let mut pages = aws
        .organizations
        .list_aws_service_access_for_organization()
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => enabled.extend(
                page.enabled_service_principals()
                    .iter()
                    .filter_map(|p| p.service_principal().map(str::to_owned)),
            ),
            Err(error) => {
                return Check::skip(
                    NAME,
                    format!(
                        "cannot list the Organization's trusted services ({}); run the preflight with --org-profile of the management account",
                        describe(&error)
                    ),
                );
            }
        }
    }
    if enabled.iter().any(|p| p == STACKSETS_PRINCIPAL) {
        Check::pass(
            NAME,
            "StackSets may deploy to the Organization (service-managed permissions)",
        )
    } else {
        Check::fail(
            NAME,
            "trusted access for CloudFormation StackSets is off: service-managed StackSets cannot deploy",
            "from the management account: make trusted-access (aws cloudformation activate-organizations-access)",
        )
    }
}

/// The advice follows the cause: only a missing or malformed OU calls for another ID.
fn ou_advice(code: Option<&str>) -> &'static str {
    match code {
        Some("OrganizationalUnitNotFoundException" | "InvalidInputException") => {
            "give the ID of an OU of this Organization, ou-xxxx-xxxxxxxx (aws organizations list-organizational-units-for-parent)"
        }
        Some("AccessDeniedException") => {
            "run from the management account or the delegated administrator, with organizations:DescribeOrganizationalUnit and organizations:ListAccountsForParent"
        }
        Some("AWSOrganizationsNotInUseException") => {
            "this account belongs to no Organization: run from the Organization's management account"
        }
        Some(_) => "check the Organizations permissions of the profile",
        None => "check the network path and credentials to AWS Organizations (the cause above)",
    }
}

async fn organizational_unit(aws: &Aws, ou: &str) -> Check {
    const NAME: &str = "organizational-unit";
    let found = aws
        .organizations
        .describe_organizational_unit()
        .organizational_unit_id(ou)
        .send()
        .await;
    let name = match found {
        Ok(found) => found
            .organizational_unit()
            .and_then(|u| u.name())
            .unwrap_or_default()
            .to_owned(),
        Err(error) => {
            use aws_sdk_organizations::error::ProvideErrorMetadata;
            return Check::fail(
                NAME,
                format!("{ou}: {}", describe(&error)),
                ou_advice(error.code()),
            );
        }
    };
    match accounts_by_status(aws, ou).await {
        Ok(by_status) if by_status.is_empty() => Check::fail(
            NAME,
            format!("{ou} ({name}) holds no account, in it or below it"),
            "target the OU that holds the member accounts",
        ),
        Ok(by_status) => {
            let counts: Vec<String> = by_status.iter().map(|(s, n)| format!("{n} {s}")).collect();
            let inactive: usize = by_status
                .iter()
                .filter(|(s, _)| s.as_str() != "active")
                .map(|(_, n)| n)
                .sum();
            let note = if inactive > 0 {
                "; suspended and closed accounts get INOPERABLE stack instances and keep their registrations until removed"
            } else {
                ""
            };
            Check::pass(NAME, format!("{ou} ({name}): {}{note}", counts.join(", ")))
        }
        Err(detail) => Check::fail(
            NAME,
            format!("{ou}: {detail}"),
            "check the Organizations permissions of the profile",
        ),
    }
}

/// The accounts of `ou` and of every OU below it, counted by standing.
async fn accounts_by_status(aws: &Aws, ou: &str) -> Result<BTreeMap<String, usize>, String> {
    let accounts = vbaws_reconcile::read::accounts_below(&aws.organizations, ou)
        .await
        .map_err(|e| e.to_string())?;
    let mut counts = BTreeMap::new();
    for (_, standing) in accounts {
        *counts.entry(standing.to_string()).or_insert(0) += 1;
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::ou_advice;

    #[test]
    fn only_a_missing_ou_calls_for_another_id() {
        assert!(ou_advice(Some("OrganizationalUnitNotFoundException")).contains("give the ID"));
        for cause in [Some("AccessDeniedException"), Some("ThrottlingException"), None] {
            assert!(!ou_advice(cause).contains("give the ID"), "{cause:?}");
        }
        assert!(ou_advice(None).contains("network path"));
    }
}
