//! The bodies the simulated appliance reads and writes, typed after the 1.0-rev0 schemas. They
//! are the simulator's own, independent of the client's models, so a client that sends a wrong
//! shape meets a 400 here rather than a simulator that reads what it wants to.

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::state::Problem;

/// `AmazonAccountCreateSpec`, also the body of a PUT.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RoleSpec {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(rename = "IAMRoleFromAnotherAccount")]
    pub cross_account: CrossAccountSpec,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CrossAccountSpec {
    pub account_id: String,
    pub role_name: String,
    #[serde(default)]
    pub external_id: Option<String>,
}

/// The body of `validateName`.
#[derive(Debug, Deserialize)]
pub(crate) struct NameSpec {
    pub name: String,
}

/// `RESTLogin`. The dotted names are part of the JSON.
#[derive(Debug, Serialize)]
pub(crate) struct Login {
    pub access_token: Option<String>,
    pub token_type: Option<&'static str>,
    pub refresh_token: Option<String>,
    pub expires_in: Option<u64>,
    #[serde(rename = ".issued")]
    pub issued: Option<String>,
    #[serde(rename = ".expires")]
    pub expires: Option<String>,
    pub username: String,
    #[serde(rename = "roleName")]
    pub role_name: Option<&'static str>,
    pub mfa_enabled: bool,
    pub mfa_token: Option<String>,
}

/// `AmazonAccount`.
#[derive(Debug, Serialize)]
pub(crate) struct Account {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// Under the name the configuration chooses (`awsid` in 1.0-rev0, or `awsAccountId`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub awsid: Option<String>,
    #[serde(rename = "awsAccountId", skip_serializing_if = "Option::is_none")]
    pub aws_account_id: Option<String>,
    /// Guess: the spec's enum; `Global` for commercial Regions.
    #[serde(rename = "regionType")]
    pub region_type: &'static str,
    #[serde(rename = "IAMRole", skip_serializing_if = "Option::is_none")]
    pub own_role: Option<OwnRole>,
    #[serde(rename = "IAMRoleFromAnotherAccount", skip_serializing_if = "Option::is_none")]
    pub cross_account: Option<CrossAccount>,
    #[serde(rename = "_links")]
    pub links: Vec<Link>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OwnRole {
    pub parent_amazon_account_id: String,
    pub role_name: String,
    pub is_default: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CrossAccount {
    pub parent_amazon_account_id: String,
    pub account_id: String,
    pub role_name: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct Link {
    pub method: &'static str,
    pub rel: &'static str,
    pub href: String,
}

/// `AmazonAccountsPage`.
#[derive(Debug, Serialize)]
pub(crate) struct Page {
    pub results: Vec<Account>,
    #[serde(rename = "totalCount")]
    pub total_count: usize,
    #[serde(rename = "_links")]
    pub links: Vec<Link>,
}

/// `ValidationMessage`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Message {
    pub severity: &'static str,
    pub message: String,
    pub context_id: String,
}

/// Reads a JSON body; a body that is not JSON, or lacks a required field, is a 400 as ASP.NET's
/// model binding answers it (its wording is a guess).
pub(crate) fn read<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    serde_json::from_slice(bytes)
        .map_err(|e| Problem::validation(format!("The request body is invalid: {e}.")))
}
