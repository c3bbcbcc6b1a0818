//! `--collect`: the same facts the `--aws` input reads, fetched with the AWS SDK.

use serde::Deserialize;

/// An account to collect from, and how to reach it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The folder its outputs are saved in.
    pub name: String,
    /// The Regions its VPCs are in.
    pub regions: Vec<String>,
    /// A named profile to read it with.
    #[serde(default)]
    pub profile: Option<String>,
    /// A role to assume in it (from the default credentials, or from `profile`).
    #[serde(default)]
    pub role_arn: Option<String>,
}
