//! `vbaws-preflight` against moto's server: a backup account and an Organization built through
//! the real AWS APIs, checked as deployed, then broken one precondition at a time.

use std::process::Command;

use aws_sdk_ec2::types::{IpPermission, UserIdGroupPair, VpcEndpointType};
use serde_json::Value;
use vbaws_sim::{Config, Running, Sim};
use vbaws_testkit::{
    Moto,
    organization::{Organization, REGION, sdk_config},
};

const LAYER: &str = "AWS-Parameters-and-Secrets-Lambda-Extension-Arm64";

/// What the test built, by ID.
pub(crate) struct World {
    pub(crate) moto: Moto,
    /// The appliance, over TLS on 127.0.0.1; its API port is the one the groups admit. It
    /// serves from the test's runtime while the test waits on the binary, so a test that builds
    /// a world runs on the multi-threaded runtime.
    pub(crate) appliance: Running,
    pub(crate) api_port: i32,
    ou: String,
    vpc: String,
    subnet: String,
    bare_subnet: String,
    endpoint_sg: String,
    /// The STS and CloudFormation endpoints' group.
    confirmation_sg: String,
    pub(crate) configurator_sg: String,
    pub(crate) appliance_sg: String,
    layer_arn: String,
    secret: String,
}

pub(crate) fn ingress(port: i32, from: &str) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port)
        .user_id_group_pairs(UserIdGroupPair::builder().group_id(from).build())
        .build()
}

impl World {
    /// A deployment that is ready: trusted access, an OU of two accounts, private subnets
    /// with an S3 gateway endpoint and a Secrets Manager endpoint that admits the configurator,
    /// an appliance security group that admits it too, the layer, and the Lambdas stack with
    /// its secret.
    pub(crate) async fn build() -> Self {
        let moto = Moto::start().await.expect("moto");
        let appliance = vbaws_sim::spawn(Sim::new(Config::default()), "127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("simulator");
        let api_port = i32::from(appliance.addr.port());
        let config = sdk_config(&moto).await;
        let organization = Organization::create(&config).await.expect("organization");
        let ou = organization
            .ou(&organization.root, "Workloads")
            .await
            .expect("ou");
        for name in ["prod-a", "prod-b"] {
            organization.account(name, &ou).await.expect("account");
        }
        let org = &organization.client;
        org.enable_aws_service_access()
            .service_principal("member.org.stacksets.cloudformation.amazonaws.com")
            .send()
            .await
            .expect("trusted access");

        let ec2 = aws_sdk_ec2::Client::new(&config);
        let vpc = ec2
            .create_vpc()
            .cidr_block("10.0.0.0/16")
            .send()
            .await
            .expect("vpc");
        let vpc = vpc.vpc().and_then(|v| v.vpc_id()).expect("vpc id").to_owned();
        let mut subnets = Vec::new();
        for cidr in ["10.0.1.0/24", "10.0.2.0/24"] {
            let subnet = ec2
                .create_subnet()
                .vpc_id(&vpc)
                .cidr_block(cidr)
                .send()
                .await
                .expect("subnet");
            let subnet = subnet
                .subnet()
                .and_then(|s| s.subnet_id())
                .expect("id")
                .to_owned();
            let table = ec2.create_route_table().vpc_id(&vpc).send().await.expect("table");
            let table = table
                .route_table()
                .and_then(|t| t.route_table_id())
                .expect("id")
                .to_owned();
            ec2.associate_route_table()
                .route_table_id(&table)
                .subnet_id(&subnet)
                .send()
                .await
                .expect("association");
            subnets.push((subnet, table));
        }
        ec2.create_vpc_endpoint()
            .vpc_id(&vpc)
            .vpc_endpoint_type(VpcEndpointType::Gateway)
            .service_name(format!("com.amazonaws.{REGION}.s3"))
            .route_table_ids(&subnets[0].1)
            .send()
            .await
            .expect("s3 endpoint");
        let group = |name: &'static str| {
            let ec2 = ec2.clone();
            let vpc = vpc.clone();
            async move {
                ec2.create_security_group()
                    .group_name(name)
                    .description(name)
                    .vpc_id(vpc)
                    .send()
                    .await
                    .expect("group")
                    .group_id()
                    .expect("id")
                    .to_owned()
            }
        };
        let (endpoint_sg, confirmation_sg, configurator_sg, appliance_sg) = (
            group("endpoint").await,
            group("confirmation-endpoints").await,
            group("configurator").await,
            group("appliance").await,
        );
        for (target, port) in [
            (&endpoint_sg, 443),
            (&confirmation_sg, 443),
            (&appliance_sg, api_port),
        ] {
            ec2.authorize_security_group_ingress()
                .group_id(target)
                .ip_permissions(ingress(port, &configurator_sg))
                .send()
                .await
                .expect("ingress");
        }
        for (service, group) in [
            ("secretsmanager", &endpoint_sg),
            ("sts", &confirmation_sg),
            ("cloudformation", &confirmation_sg),
            // REGION is us-east-1, where Organizations' API is: its endpoint can be private too.
            ("organizations", &confirmation_sg),
        ] {
            ec2.create_vpc_endpoint()
                .vpc_id(&vpc)
                .vpc_endpoint_type(VpcEndpointType::Interface)
                .service_name(format!("com.amazonaws.{REGION}.{service}"))
                .subnet_ids(&subnets[0].0)
                .security_group_ids(group)
                .private_dns_enabled(true)
                .send()
                .await
                .expect("interface endpoint");
        }

        let lambda = aws_sdk_lambda::Client::new(&config);
        let empty_zip = [b"PK\x05\x06".as_slice(), &[0u8; 18]].concat();
        let layer = lambda
            .publish_layer_version()
            .layer_name(LAYER)
            .content(
                aws_sdk_lambda::types::LayerVersionContentInput::builder()
                    .zip_file(aws_sdk_lambda::primitives::Blob::new(empty_zip))
                    .build(),
            )
            .compatible_architectures(aws_sdk_lambda::types::Architecture::Arm64)
            .send()
            .await
            .expect("layer");
        let layer_arn = layer.layer_version_arn().expect("arn").to_owned();

        let secrets = aws_sdk_secretsmanager::Client::new(&config);
        let secret = secrets
            .create_secret()
            .name("vbaws-lambdas-ApplianceCredentials-Xy12")
            .secret_string(r#"{"username": "vbaws-automation", "password": "a-generated-password"}"#)
            .send()
            .await
            .expect("secret")
            .arn()
            .expect("arn")
            .to_owned();
        // The Lambdas stack's outputs, as the real stack has them (moto cannot deploy it:
        // AWS::SecretsManager::Secret is not supported in its CloudFormation).
        let template = serde_json::json!({
            "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
            "Outputs": {
                "ApplianceCredentialsSecretArn": {"Value": secret},
                "ConfiguratorSecurityGroupId": {"Value": configurator_sg},
            }
        });
        aws_sdk_cloudformation::Client::new(&config)
            .create_stack()
            .stack_name("vbaws-lambdas")
            .template_body(template.to_string())
            .send()
            .await
            .expect("stack");
        let [(subnet, _), (bare_subnet, _)] =
            <[(String, String); 2]>::try_from(subnets).expect("two subnets");
        Self {
            moto,
            appliance,
            api_port,
            ou,
            vpc,
            subnet,
            bare_subnet,
            endpoint_sg,
            confirmation_sg,
            configurator_sg,
            appliance_sg,
            layer_arn,
            secret,
        }
    }

    fn args(&self) -> Vec<String> {
        [
            "--region",
            REGION,
            "--ou",
            &self.ou,
            "--vpc",
            &self.vpc,
            "--subnets",
            &self.subnet,
            "--s3-path",
            "ExistingGatewayEndpoint",
            "--secrets-path",
            "ExistingEndpoint",
            "--sts-path",
            "ExistingEndpoint",
            "--cloudformation-path",
            "ExistingEndpoint",
            "--organizations-path",
            "ExistingEndpoint",
            "--appliance-sg",
            &self.appliance_sg,
            "--appliance-ip",
            "127.0.0.1",
            "--api-port",
            &self.api_port.to_string(),
            "--cert-sha256",
            &self.appliance.identity.fingerprint,
            "--layer-arn",
            &self.layer_arn,
            "--format",
            "json",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// Runs the binary as an operator would, with `changes` replacing or adding flags.
    pub(crate) fn preflight(&self, changes: &[(&str, &str)]) -> (i32, Value) {
        report(self.run(changes))
    }

    /// Runs the binary without `flag` and its value.
    pub(crate) fn preflight_without(&self, flag: &str) -> (i32, Value) {
        let mut args = self.args();
        let at = args
            .iter()
            .position(|a| a == flag)
            .expect("a flag the world gives");
        args.drain(at..at + 2);
        report(self.execute(&args))
    }

    fn run(&self, changes: &[(&str, &str)]) -> (i32, String, String) {
        let mut args = self.args();
        for (flag, value) in changes {
            match args.iter().position(|a| a == flag) {
                Some(i) => args[i + 1] = (*value).to_owned(),
                None => args.extend([(*flag).to_owned(), (*value).to_owned()]),
            }
        }
        self.execute(&args)
    }

    fn execute(&self, args: &[String]) -> (i32, String, String) {
        let home = std::env::temp_dir();
        let out = Command::new(env!("CARGO_BIN_EXE_vbaws-preflight"))
            .args(args)
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.."))
            .env("AWS_ENDPOINT_URL", self.moto.endpoint())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_CONFIG_FILE", home.join("vbaws-preflight-no-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                home.join("vbaws-preflight-no-credentials"),
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .expect("runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// The JSON report of a run, which follows the published schema.
fn report((code, stdout, stderr): (i32, String, String)) -> (i32, Value) {
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout} {stderr}"));
    assert_follows_the_schema(&report);
    (code, report)
}

/// A field of one check of a report; empty when the check or the field is missing.
pub(crate) fn field<'a>(report: &'a Value, check: &str, field: &str) -> &'a str {
    report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == check))
        .and_then(|c| c[field].as_str())
        .unwrap_or_default()
}

pub(crate) fn detail<'a>(report: &'a Value, check: &str) -> &'a str {
    field(report, check, "detail")
}

pub(crate) fn status<'a>(report: &'a Value, check: &str) -> &'a str {
    report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == check))
        .and_then(|c| c["status"].as_str())
        .unwrap_or_else(|| panic!("no check {check} in {report:#}"))
}

/// Only `check` fails, and its fix says what to do.
pub(crate) fn only_fails(result: &(i32, Value), check: &str) {
    fails_exactly(result, &[check]);
}

/// Every report any test reads follows the published schema, `schemas/vbaws-preflight.v1.json`:
/// a check name or field added without it fails here.
fn assert_follows_the_schema(report: &Value) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../schemas/vbaws-preflight.v1.json"
    );
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("schema file")).expect("JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(report)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{report:#}");
    assert_eq!(report["schema"], vbaws_preflight::SCHEMA);
}

pub(crate) fn fix_of<'a>(report: &'a Value, check: &str) -> &'a str {
    field(report, check, "fix")
}

/// Exactly `checks` fail, each with a fix.
fn fails_exactly(result: &(i32, Value), checks: &[&str]) {
    let (code, report) = result;
    assert_eq!(*code, 1, "{report:#}");
    let failed: Vec<&str> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| c["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(failed, checks, "{report:#}");
    for check in checks {
        let fix = fix_of(report, check);
        assert!(!fix.is_empty(), "{check} says what to do: {report:#}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ready_deployment_passes_every_check() {
    let world = World::build().await;
    let (code, report) = world.preflight(&[]);
    assert_eq!(code, 0, "{report:#}");
    for check in [
        "trusted-access",
        "organizational-unit",
        "s3-path",
        "secrets-manager-path",
        "sts-path",
        "cloudformation-path",
        "organizations-path",
        "appliance-access",
        "appliance-tls",
        "extension-layer",
        "concurrency",
        "appliance-secret",
    ] {
        assert_eq!(status(&report, check), "pass", "{check}: {report:#}");
    }
    let ou = report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "organizational-unit"))
        .expect("ou check");
    assert!(
        ou["detail"].as_str().unwrap_or_default().contains("2 active"),
        "{ou}"
    );
    let (code, text, _) = world.run(&[("--format", "text")]);
    println!("{text}");
    assert_eq!(code, 0);
    assert!(text.contains("12 passed, 0 failed, 0 skipped"), "{text}");
    assert!(
        !text.contains("a-generated-password") && !report.to_string().contains("a-generated-password"),
        "no secret value is printed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn each_broken_precondition_fails_its_own_check() {
    let world = World::build().await;
    let config = sdk_config(&world.moto).await;
    let ec2 = aws_sdk_ec2::Client::new(&config);

    let missing = world.preflight(&[("--ou", "ou-root-doesnotexist")]);
    only_fails(&missing, "organizational-unit");
    assert!(
        fix_of(&missing.1, "organizational-unit").contains("give the ID of an OU"),
        "a missing OU calls for another ID: {:#}",
        missing.1
    );
    only_fails(&world.preflight(&[("--subnets", &world.bare_subnet)]), "s3-path");
    only_fails(
        &world.preflight(&[("--s3-path", "CreateGatewayEndpoint")]),
        "s3-path",
    );
    only_fails(&world.preflight(&[("--s3-path", "Nat")]), "s3-path");
    for (flag, check) in [
        ("--secrets-path", "secrets-manager-path"),
        ("--sts-path", "sts-path"),
        ("--cloudformation-path", "cloudformation-path"),
        // The Lambdas stack creates no Organizations endpoint.
        ("--organizations-path", "organizations-path"),
    ] {
        only_fails(&world.preflight(&[(flag, "CreateEndpoint")]), check);
    }
    let version = world.layer_arn.rsplit_once(':').expect("version").0;
    only_fails(
        &world.preflight(&[("--layer-arn", &format!("{version}:99"))]),
        "extension-layer",
    );

    for (group, port, checks) in [
        (&world.endpoint_sg, 443, &["secrets-manager-path"][..]),
        (
            &world.confirmation_sg,
            443,
            &["sts-path", "cloudformation-path", "organizations-path"],
        ),
        (&world.appliance_sg, world.api_port, &["appliance-access"]),
    ] {
        let rule = ingress(port, &world.configurator_sg);
        ec2.revoke_security_group_ingress()
            .group_id(group)
            .ip_permissions(rule.clone())
            .send()
            .await
            .expect("revoke");
        fails_exactly(&world.preflight(&[]), checks);
        ec2.authorize_security_group_ingress()
            .group_id(group)
            .ip_permissions(rule)
            .send()
            .await
            .expect("restore");
    }

    aws_sdk_secretsmanager::Client::new(&config)
        .put_secret_value()
        .secret_id(&world.secret)
        .secret_string(r#"{"username": "vbaws-automation"}"#)
        .send()
        .await
        .expect("new version");
    only_fails(&world.preflight(&[]), "appliance-secret");
    aws_sdk_secretsmanager::Client::new(&config)
        .put_secret_value()
        .secret_id(&world.secret)
        .secret_string(r#"{"username": "vbaws-automation", "password": "p"}"#)
        .send()
        .await
        .expect("fixed");

    aws_sdk_organizations::Client::new(&config)
        .disable_aws_service_access()
        .service_principal("member.org.stacksets.cloudformation.amazonaws.com")
        .send()
        .await
        .expect("disable");
    only_fails(&world.preflight(&[]), "trusted-access");
}

#[tokio::test(flavor = "multi_thread")]
async fn what_moto_cannot_answer_is_a_skip_that_says_how_to_check() {
    let world = World::build().await;
    // moto does not implement Lambda's GetAccountSettings.
    let (code, report) = world.preflight(&[("--reserved-concurrency", "10")]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(status(&report, "concurrency"), "skip", "{report:#}");
    assert!(
        fix_of(&report, "concurrency").contains("Service Quotas"),
        "{report:#}"
    );
    // Before the Lambdas stack exists, its security group does not either: the endpoint's
    // group is admitted only when the stack will add the rule.
    let not_yet = ("--lambdas-stack", "not-deployed-yet");
    fails_exactly(
        &world.preflight(&[not_yet]),
        &[
            "secrets-manager-path",
            "sts-path",
            "cloudformation-path",
            "organizations-path",
        ],
    );
    let (code, report) = world.preflight(&[
        not_yet,
        ("--secrets-endpoint-sg", &world.endpoint_sg),
        ("--endpoints-sg", &world.confirmation_sg),
    ]);
    assert_eq!(code, 0, "a stack not deployed yet is no failure: {report:#}");
    assert_eq!(status(&report, "appliance-secret"), "skip", "{report:#}");
}
