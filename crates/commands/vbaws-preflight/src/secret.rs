//! The Lambdas stack's secret: it exists and holds a username and a password. Values are never
//! printed.

use crate::{Aws, Check, aws::describe};

/// What the deployed Lambdas stack says about itself; empty before it is deployed.
#[derive(Debug, Clone, Default)]
pub(crate) struct LambdasStack {
    pub name: String,
    pub secret_arn: Option<String>,
    pub configurator_security_group: Option<String>,
}

impl LambdasStack {
    /// The stack's outputs; a stack that does not exist yet has none. Any other error (no
    /// permission, a wrong Region) is the caller's to report: it is not "not deployed".
    pub(crate) async fn read(aws: &Aws, name: &str) -> Result<Self, String> {
        let mut stack = Self {
            name: name.to_owned(),
            ..Self::default()
        };
        let found = match aws.cloudformation.describe_stacks().stack_name(name).send().await {
            Ok(found) => found,
            // CloudFormation answers a missing stack with ValidationError "… does not exist".
            Err(error) if describe(&error).contains("does not exist") => return Ok(stack),
            Err(error) => return Err(format!("cannot read the stack {name}: {}", describe(&error))),
        };
        if let Some(described) = found.stacks().first() {
            let output = |key: &str| {
                described
                    .outputs()
                    .iter()
                    .find(|o| o.output_key() == Some(key))
                    .and_then(|o| o.output_value())
                    .map(str::to_owned)
            };
            stack.secret_arn = output("ApplianceCredentialsSecretArn");
            stack.configurator_security_group = output("ConfiguratorSecurityGroupId");
        }
        Ok(stack)
    }
}

pub(crate) async fn credentials(aws: &Aws, stack: &LambdasStack) -> Check {
    const NAME: &str = "appliance-secret";
    let Some(secret) = &stack.secret_arn else {
        return Check::skip(
            NAME,
            format!(
                "the stack {} is not deployed yet (or has no ApplianceCredentialsSecretArn output); run the preflight again before deploy-stackset",
                stack.name
            ),
        );
    };
    let value = match aws.secrets.get_secret_value().secret_id(secret).send().await {
        Ok(value) => value,
        Err(error) => {
            return Check::fail(
                NAME,
                format!("cannot read the secret {secret}: {}", describe(&error)),
                "the profile needs secretsmanager:GetSecretValue on it (and kms:Decrypt for a customer managed key)",
            );
        }
    };
    let fields: Option<serde_json::Map<String, serde_json::Value>> =
        value.secret_string().and_then(|s| serde_json::from_str(s).ok());
    let filled = |key: &str| {
        fields
            .as_ref()
            .and_then(|f| f.get(key))
            .and_then(serde_json::Value::as_str)
            .is_some_and(|v| !v.is_empty())
    };
    let missing: Vec<&str> = ["username", "password"]
        .into_iter()
        .filter(|k| !filled(k))
        .collect();
    if missing.is_empty() {
        Check::pass(NAME, format!("{secret} holds a username and a password"))
    } else {
        Check::fail(
            NAME,
            format!(
                "{secret} has no {} (a JSON object with both is expected)",
                missing.join(" and ")
            ),
            "put {\"username\": …, \"password\": …} in the secret, with the appliance user's values",
        )
    }
}
