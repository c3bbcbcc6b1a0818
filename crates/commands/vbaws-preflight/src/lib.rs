//! `vbaws-preflight`: read-only checks that an AWS account and Organization can run the
//! Lambdas stack and the roles StackSet, before anything is deployed. Each check answers pass,
//! fail or skip, with what to do; nothing is created or changed, and no secret value is printed.

mod aws;
mod certificate;
mod lambda;
mod network;
mod organization;
mod report;
mod secret;

pub use aws::Aws;
pub use report::{Check, Report, SCHEMA, Status};

/// What stops the preflight before it can check anything.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {problem}")]
    Template { path: String, problem: std::io::Error },
    #[error("{path} is not a template the preflight can read: {problem}")]
    TemplateFormat {
        path: String,
        problem: vbaws_template::Error,
    },
}

/// How the configurator reaches S3 (the `S3Path` parameter of lambdas.yaml).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "PascalCase")]
pub enum S3Path {
    CreateGatewayEndpoint,
    ExistingGatewayEndpoint,
    Nat,
}

/// How the configurator reaches a service with an interface endpoint: Secrets Manager, STS,
/// CloudFormation (the `SecretsManagerPath`, `StsPath` and `CloudFormationPath` parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "PascalCase")]
pub enum InterfacePath {
    CreateEndpoint,
    ExistingEndpoint,
    Nat,
}

/// What is about to be deployed: the parameters the Lambdas stack and the StackSet will get.
#[derive(Debug, Clone)]
pub struct Plan {
    pub region: String,
    pub organizational_units: Vec<String>,
    pub vpc: Option<String>,
    pub subnets: Vec<String>,
    pub s3_path: Option<S3Path>,
    pub secrets_path: Option<InterfacePath>,
    /// The existing Secrets Manager endpoint's group (`SecretsManagerEndpointSecurityGroupId`),
    /// to which the Lambdas stack adds the configurator.
    pub secrets_endpoint_security_group: Option<String>,
    pub sts_path: Option<InterfacePath>,
    pub cloudformation_path: Option<InterfacePath>,
    /// The existing STS and CloudFormation endpoints' group (`ExistingEndpointsSecurityGroupId`).
    pub endpoints_security_group: Option<String>,
    /// How the reconciler reaches Organizations (`OrganizationsPath`), when it is deployed.
    pub organizations_path: Option<InterfacePath>,
    pub appliance_security_group: Option<String>,
    /// The appliance's private IP (`ApplianceAddress`) and the pin the configurator trusts it by
    /// (`ApplianceCertSha256`).
    pub appliance_address: Option<String>,
    pub cert_sha256: Option<String>,
    pub api_port: i32,
    /// The layer the configurator loads: `ExtensionLayerArn`, or the mapping's for the Region.
    pub layer_arn: Option<String>,
    pub reserved_concurrency: i32,
    /// The Lambdas stack, once deployed: its secret and the configurator's security group.
    pub lambdas_stack: String,
}

/// Runs every check. Checks that need an input the plan lacks, or an answer an account cannot
/// give, are skipped with the reason.
pub async fn run(aws: &Aws, plan: &Plan) -> Report {
    let mut checks = Vec::new();
    let stack = secret::LambdasStack::read(aws, &plan.lambdas_stack)
        .await
        .unwrap_or_else(|detail| {
            checks.push(Check::fail(
                "lambdas-stack",
                detail,
                "run the preflight with the backup account's profile, in the stack's Region",
            ));
            secret::LambdasStack {
                name: plan.lambdas_stack.clone(),
                ..secret::LambdasStack::default()
            }
        });
    checks.extend(organization::checks(aws, plan).await);
    checks.extend(network::checks(aws, plan, &stack).await);
    checks.push(certificate::check(plan).await);
    checks.push(lambda::layer(aws, plan).await);
    checks.push(lambda::concurrency(aws, plan).await);
    checks.push(secret::credentials(aws, &stack).await);
    Report { checks }
}

/// The Lambdas template this build was made with: its layer mapping is the default, so the
/// command works from any folder.
pub const LAMBDAS_TEMPLATE: &str = include_str!("../../../../template/lambdas.yaml");

/// The extension layer the Lambdas template's mapping names for `region`: the one table of
/// layers. `template_path` reads another template than the built-in one.
pub fn mapped_layer(template_path: Option<&str>, region: &str) -> Result<Option<String>, Error> {
    let (path, text) = match template_path {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|problem| Error::Template {
                path: path.to_owned(),
                problem,
            })?;
            (path, std::borrow::Cow::Owned(text))
        }
        None => (
            "the built-in lambdas.yaml",
            std::borrow::Cow::Borrowed(LAMBDAS_TEMPLATE),
        ),
    };
    let template = vbaws_template::Template::from_yaml(&text).map_err(|problem| Error::TemplateFormat {
        path: path.to_owned(),
        problem,
    })?;
    Ok(template.body["Mappings"]["ExtensionLayer"][region]["Arn"]
        .as_str()
        .map(str::to_owned))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_built_in_template_maps_a_layer_for_a_common_region() {
        let arn = super::mapped_layer(None, "eu-west-1")
            .expect("reads")
            .expect("mapped");
        assert!(arn.starts_with("arn:aws:lambda:eu-west-1:"), "{arn}");
        assert_eq!(super::mapped_layer(None, "xx-nowhere-1").expect("reads"), None);
    }
}
