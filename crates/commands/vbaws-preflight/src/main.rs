//! `vbaws-preflight`: prove the path before deploying. Read-only.

use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use vbaws_preflight::{Aws, InterfacePath, Plan, S3Path};

/// Checks, read-only, that the backup account and the Organization can run the Lambdas stack
/// and the roles StackSet. Exit 0: nothing failed; 1: a check failed; 2: bad input.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The Region of the Lambdas stack (and of the StackSet).
    #[arg(long, env = "AWS_REGION")]
    region: String,
    /// Profile of the backup account (default: the default credential chain).
    #[arg(long)]
    profile: Option<String>,
    /// Profile of the management or delegated-administrator account, for the Organization checks.
    #[arg(long)]
    org_profile: Option<String>,
    /// OU the roles roll out to (repeat, or comma-separated).
    #[arg(long = "ou", value_delimiter = ',')]
    organizational_units: Vec<String>,
    /// VPC of the configurator.
    #[arg(long)]
    vpc: Option<String>,
    /// Private subnets of the configurator (comma-separated).
    #[arg(long, value_delimiter = ',')]
    subnets: Vec<String>,
    /// How the configurator will reach S3 (the S3Path parameter).
    #[arg(long, value_enum)]
    s3_path: Option<S3Path>,
    /// How the configurator will reach Secrets Manager (the SecretsManagerPath parameter).
    #[arg(long, value_enum)]
    secrets_path: Option<InterfacePath>,
    /// With --secrets-path ExistingEndpoint: the endpoint's security group, which the Lambdas
    /// stack will open to the configurator (SECRETS_ENDPOINT_SG).
    #[arg(long)]
    secrets_endpoint_sg: Option<String>,
    /// How the configurator will reach STS to confirm events (the StsPath parameter).
    #[arg(long, value_enum)]
    sts_path: Option<InterfacePath>,
    /// How the configurator will reach CloudFormation to confirm events (CloudFormationPath).
    #[arg(long, value_enum)]
    cloudformation_path: Option<InterfacePath>,
    /// With an ExistingEndpoint for STS or CloudFormation: their security group, which the
    /// Lambdas stack will open to the configurator (ENDPOINTS_SG).
    #[arg(long)]
    endpoints_sg: Option<String>,
    /// How the reconciler will reach AWS Organizations (OrganizationsPath), with Reconciler on:
    /// Nat, or ExistingEndpoint in us-east-1.
    #[arg(long, value_enum)]
    organizations_path: Option<InterfacePath>,
    /// The appliance's security group.
    #[arg(long)]
    appliance_sg: Option<String>,
    /// The appliance's private IP address (APPLIANCE_IP), to check its certificate.
    #[arg(long)]
    appliance_ip: Option<String>,
    /// The SHA-256 fingerprint the configurator will pin (CERT_SHA256).
    #[arg(long)]
    cert_sha256: Option<String>,
    /// The appliance's REST API port.
    #[arg(long, default_value_t = 11005)]
    api_port: i32,
    /// The extension layer (ExtensionLayerArn); default: the one lambdas.yaml maps to the Region.
    #[arg(long)]
    layer_arn: Option<String>,
    /// The reserved concurrency you will deploy with (0 for none).
    #[arg(long, default_value_t = 0)]
    reserved_concurrency: i32,
    /// The Lambdas stack, once deployed (its secret and security group).
    #[arg(long, default_value = "vbaws-lambdas")]
    lambdas_stack: String,
    /// A Lambdas template, for its layer mapping; default: the one this build was made with.
    #[arg(long)]
    template: Option<String>,
    /// Send every AWS call to this endpoint (a local stand-in such as moto).
    #[arg(long, env = "AWS_ENDPOINT_URL", hide = true)]
    endpoint_url: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let layer_arn = match &args.layer_arn {
        Some(arn) => Some(arn.clone()),
        None => match vbaws_preflight::mapped_layer(args.template.as_deref(), &args.region) {
            Ok(arn) => arn,
            Err(error) => {
                eprintln!("vbaws-preflight: {error}; give --template <lambdas.yaml> or --layer-arn");
                return ExitCode::from(2);
            }
        },
    };
    let plan = Plan {
        region: args.region.clone(),
        organizational_units: args.organizational_units,
        vpc: args.vpc,
        subnets: args.subnets,
        s3_path: args.s3_path,
        secrets_path: args.secrets_path,
        secrets_endpoint_security_group: args.secrets_endpoint_sg,
        sts_path: args.sts_path,
        cloudformation_path: args.cloudformation_path,
        endpoints_security_group: args.endpoints_sg,
        organizations_path: args.organizations_path,
        appliance_security_group: args.appliance_sg,
        appliance_address: args.appliance_ip,
        cert_sha256: args.cert_sha256,
        api_port: args.api_port,
        layer_arn,
        reserved_concurrency: args.reserved_concurrency,
        lambdas_stack: args.lambdas_stack,
    };
    let aws = Aws::new(
        &args.region,
        args.profile.as_deref(),
        args.org_profile.as_deref(),
        args.endpoint_url.as_deref(),
    )
    .await;
    let aws = match aws {
        Ok(aws) => aws,
        Err(error) => {
            eprintln!("vbaws-preflight: {error}");
            return ExitCode::from(2);
        }
    };
    let report = vbaws_preflight::run(&aws, &plan).await;
    match args.format {
        Format::Text => print!("{}", report.text()),
        Format::Json => println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default()),
    }
    if report.failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
