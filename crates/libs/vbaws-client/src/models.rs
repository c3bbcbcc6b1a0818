//! The JSON the appliance sends and receives for IAM roles ("Amazon accounts" in the API).
//!
//! Every response field is optional or defaulted where the published schema is old (1.0-rev0)
//! and later revisions may differ; unknown fields are ignored.

use serde::{Deserialize, Serialize};

use crate::Secret;

/// An IAM role registered in the appliance.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AmazonAccount {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The AWS account the role lives in. Revision 1.0 calls it `awsid`; newer clients have been
    /// seen reading `awsAccountId`, so both are accepted.
    #[serde(default, rename = "awsid", alias = "awsAccountId")]
    pub aws_account_id: Option<String>,
    /// A role of the appliance's own account.
    #[serde(default, rename = "IAMRole", skip_serializing_if = "Option::is_none")]
    pub own_role: Option<OwnRole>,
    /// A role in another account, assumed with an external ID.
    #[serde(
        default,
        rename = "IAMRoleFromAnotherAccount",
        skip_serializing_if = "Option::is_none"
    )]
    pub cross_account_role: Option<CrossAccountRole>,
}

impl AmazonAccount {
    /// The appliance's built-in role ("Default Backup Restore"), which must never be deleted.
    pub fn is_default(&self) -> bool {
        self.own_role.as_ref().is_some_and(|role| role.is_default)
    }

    /// The account the role lives in: `awsid`, or the cross-account role's account.
    pub fn account_id(&self) -> Option<&str> {
        self.aws_account_id.as_deref().or_else(|| {
            self.cross_account_role
                .as_ref()
                .map(|role| role.account_id.as_str())
        })
    }

    /// True when this is the cross-account role `role_name` of `account_id`. IAM role names are
    /// unique regardless of letter case, and the appliance accepts names with a path.
    pub fn is_cross_account(&self, account_id: &str, role_name: &str) -> bool {
        self.cross_account_role
            .as_ref()
            .is_some_and(|role| role.account_id == account_id && same_role_name(&role.role_name, role_name))
    }
}

fn same_role_name(a: &str, b: &str) -> bool {
    a.trim_start_matches('/')
        .eq_ignore_ascii_case(b.trim_start_matches('/'))
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnRole {
    pub role_name: String,
    #[serde(default)]
    pub is_default: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CrossAccountRole {
    pub account_id: String,
    pub role_name: String,
}

/// One page of `GET /accounts/amazon`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AmazonAccountsPage {
    #[serde(default)]
    pub results: Vec<AmazonAccount>,
    #[serde(default)]
    pub total_count: u64,
}

/// The body of a create (POST) or an update (PUT). An update replaces the whole role, so it
/// always carries the name, the description and the external ID: the appliance never returns
/// the stored external ID, so leaving it out would erase it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleSpec {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "IAMRoleFromAnotherAccount")]
    pub role: CrossAccountSpec,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CrossAccountSpec {
    pub account_id: String,
    pub role_name: String,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "expose")]
    pub external_id: Option<Secret>,
}

fn expose<S: serde::Serializer>(secret: &Option<Secret>, serializer: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => serializer.serialize_str(secret.expose()),
        None => serializer.serialize_none(),
    }
}

/// An item of a `validateName` or `validateDelete` answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidationMessage {
    #[serde(default)]
    pub severity: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_id: Option<String>,
}

impl ValidationMessage {
    pub fn is_error(&self) -> bool {
        self.severity.eq_ignore_ascii_case("error")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_spellings_of_the_account_field_are_read() {
        for key in ["awsid", "awsAccountId"] {
            let account: AmazonAccount = serde_json::from_value(json!({
                "id": "d98f4d37", "name": "n", key: "123456789012",
                "IAMRoleFromAnotherAccount": {"parentAmazonAccountId": "x", "accountId": "123456789012", "roleName": "/ops/Veeam"},
                "_links": []
            }))
            .expect("parses");
            assert_eq!(account.account_id(), Some("123456789012"), "{key}");
            assert!(account.is_cross_account("123456789012", "ops/veeam"));
            assert!(!account.is_cross_account("123456789013", "ops/veeam"));
        }
    }

    #[test]
    fn the_spec_has_the_exact_casing_and_carries_the_external_id() {
        let spec = RoleSpec {
            name: "123456789012-ec2".into(),
            description: None,
            role: CrossAccountSpec {
                account_id: "123456789012".into(),
                role_name: "VeeamEc2".into(),
                external_id: Some(Secret::new("abc")),
            },
        };
        assert_eq!(
            serde_json::to_value(&spec).expect("json"),
            json!({"name": "123456789012-ec2", "IAMRoleFromAnotherAccount":
                {"accountId": "123456789012", "roleName": "VeeamEc2", "externalId": "abc"}})
        );
        assert!(!format!("{spec:?}").contains("abc"));
    }
}
