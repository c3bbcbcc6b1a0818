//! An AWS Organization built in moto through the real SDK calls, for the tests that read one
//! (the preflight, the reconciler): the SDK configuration pointed at moto, OUs and accounts,
//! and a roles StackSet with its instances.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_organizations::{Client, Error, types::OrganizationFeatureSet};

use crate::Moto;

/// The Region the tests use.
pub const REGION: &str = "us-east-1";

/// The SDK's configuration for moto: its endpoint, test credentials, rustls on ring.
pub async fn sdk_config(moto: &Moto) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(vbaws_sdk::https_client())
        .region(Region::new(REGION))
        .endpoint_url(moto.endpoint())
        .credentials_provider(aws_sdk_organizations::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await
}

/// An Organization with all features, created by the caller's (the management) account. Calls
/// fail with the service's error (what moto answered), which tests `expect` and the demo reports.
#[derive(Debug, Clone)]
pub struct Organization {
    pub client: Client,
    pub root: String,
}

impl Organization {
    pub async fn create(config: &SdkConfig) -> Result<Self, Error> {
        let client = Client::new(config);
        client
            .create_organization()
            .feature_set(OrganizationFeatureSet::All)
            .send()
            .await?;
        let root = client
            .list_roots()
            .send()
            .await?
            .roots()
            .first()
            .and_then(|r| r.id())
            .unwrap_or_default()
            .to_owned();
        Ok(Self { client, root })
    }

    /// A new OU under `parent`.
    pub async fn ou(&self, parent: &str, name: &str) -> Result<String, Error> {
        Ok(self
            .client
            .create_organizational_unit()
            .parent_id(parent)
            .name(name)
            .send()
            .await?
            .organizational_unit()
            .and_then(|u| u.id())
            .unwrap_or_default()
            .to_owned())
    }

    /// A new account, moved under `parent` (the root or an OU).
    pub async fn account(&self, name: &str, parent: &str) -> Result<String, Error> {
        let id = self
            .client
            .create_account()
            .account_name(name)
            .email(format!("{name}@example.com"))
            .send()
            .await?
            .create_account_status()
            .and_then(|s| s.account_id())
            .unwrap_or_default()
            .to_owned();
        if parent != self.root {
            self.move_account(&id, &self.root, parent).await?;
        }
        Ok(id)
    }

    /// Moves `account` from `from` to `to` (an account leaving or joining an OU).
    pub async fn move_account(&self, account: &str, from: &str, to: &str) -> Result<(), Error> {
        self.client
            .move_account()
            .account_id(account)
            .source_parent_id(from)
            .destination_parent_id(to)
            .send()
            .await?;
        Ok(())
    }
}

/// A template that deploys nothing, for a StackSet whose instances moto must create (moto's
/// CloudFormation cannot run roles.yaml's custom resources).
pub const EMPTY_TEMPLATE: &str =
    "Resources:\n  Nothing:\n    Type: AWS::CloudFormation::WaitConditionHandle\n";

/// A self-managed StackSet named `name` with `template`, and an instance in each of `accounts`
/// in [`REGION`] (none when `accounts` is empty).
pub async fn stack_set(
    config: &SdkConfig,
    name: &str,
    template: &str,
    accounts: &[String],
) -> Result<(), aws_sdk_cloudformation::Error> {
    let cloudformation = aws_sdk_cloudformation::Client::new(config);
    cloudformation
        .create_stack_set()
        .stack_set_name(name)
        .template_body(template)
        .send()
        .await?;
    if !accounts.is_empty() {
        cloudformation
            .create_stack_instances()
            .stack_set_name(name)
            .set_accounts(Some(accounts.to_vec()))
            .regions(REGION)
            .send()
            .await?;
    }
    Ok(())
}
