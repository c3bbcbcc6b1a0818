//! Shared by the test files: the templates, and the functions standing in for themselves.

#![allow(dead_code, unreachable_pub)]

use std::{path::Path, sync::Arc};

use vbaws_template::{Answer, Deliver, DeliveryError, Stack, Template, event::Event};

pub fn template(name: &str) -> Template {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../template")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("template");
    Template::from_yaml(&text).expect("valid template")
}

/// The functions' own property types, standing in for the functions: each event's properties
/// must parse as the function receiving them parses them, and the answer carries the Data the
/// function returns.
pub struct Functions;

impl Deliver for Functions {
    async fn deliver(&self, _service_token: &str, event: Event) -> Result<Answer, DeliveryError> {
        let id = event.logical_resource_id().to_owned();
        let properties = event.properties().clone();
        let mut answer = Answer {
            success: true,
            ..Answer::default()
        };
        match event.resource_type() {
            "Custom::RandomExtIdGenerator" => {
                let props: random_ext_id::Properties = serde_json::from_value(properties)
                    .map_err(|e| format!("{id}: random-ext-id refuses its properties: {e}"))?;
                let seed = random_ext_id::Seed::generate()?;
                answer.data.insert(
                    random_ext_id::RANDOM_EXT_ID.to_owned(),
                    random_ext_id::external_id(&seed, props.length),
                );
                answer.physical_resource_id = seed.physical_id();
            }
            "Custom::VeeamAwsConfigurator" => {
                let props: veeam_configurator::Properties = serde_json::from_value(properties)
                    .map_err(|e| format!("{id}: veeam-configurator refuses its properties: {e}"))?;
                if props.member_account_id.as_deref() != Some(ACCOUNT) {
                    return Err(format!("{id}: MemberAccountId is {:?}", props.member_account_id).into());
                }
                let (veeam_id, name) = (
                    "d98f4d37-7874-4be1-9702-770078f5c9cd",
                    props.display_name(ACCOUNT),
                );
                answer.physical_resource_id = veeam_configurator::physical_id(&name, veeam_id);
                answer
                    .data
                    .insert(veeam_configurator::VEEAM_ROLE_ID.to_owned(), veeam_id.to_owned());
                answer
                    .data
                    .insert(veeam_configurator::VEEAM_ROLE_NAME.to_owned(), name);
            }
            "Custom::VeeamWorkerConfiguration" => {
                let props: veeam_configurator::WorkerProperties = serde_json::from_value(properties)
                    .map_err(|e| format!("{id}: veeam-configurator refuses its properties: {e}"))?;
                let configuration = "5f0c2a8e-3b1d-4c6e-9a7f-0123456789ab";
                answer.physical_resource_id =
                    veeam_configurator::physical_id(&props.display_name(ACCOUNT, "us-east-1"), configuration);
                answer.data.insert(
                    veeam_configurator::WORKER_CONFIGURATION_ID.to_owned(),
                    configuration.to_owned(),
                );
            }
            other => return Err(format!("{id}: no function serves {other}").into()),
        }
        Ok(answer)
    }
}

pub const ACCOUNT: &str = "123456789012";
pub const CONFIGURATOR_ROLE: &str = "arn:aws:iam::111111111111:role/vbaws-lambdas-ConfiguratorRole-1A2B3C4D";

/// What a member account publishes in its Parameter Store for `WorkerNetwork: Parameters`,
/// under the template's default names.
pub fn worker_network_parameters() -> std::collections::BTreeMap<String, String> {
    [
        ("/vbaws/workers/availability-zone", "us-east-1a"),
        ("/vbaws/workers/vpc-id", "vpc-0123456789abcdef0"),
        ("/vbaws/workers/subnet-id", "subnet-0123456789abcdef0"),
        ("/vbaws/workers/security-group-id", "sg-0123456789abcdef0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Every service `Services` may name.
pub const ALL_SERVICES: &str = "ec2,rds,efs,dynamodb,fsx,redshift,redshift-serverless,vpc";

/// Creates the roles stack with the project's CloudFormation player, each custom resource's
/// properties checked by the function that receives them, and their Data fed to what follows.
/// Returns the stack and how many custom resources it created.
pub async fn walk_roles_stack(parameters: &[(&str, &str)]) -> (Stack, usize) {
    let roles = Arc::new(template("roles.yaml"));
    let mut all: Vec<(&str, &str)> = vec![
        ("HomeRegion", "us-east-1"),
        (
            "VeeamApplianceRoleArn",
            "arn:aws:iam::111111111111:role/VeeamBackupInstance",
        ),
        (
            "RandomExtIdFunctionArn",
            "arn:aws:lambda:us-east-1:111111111111:function:vbaws-random-ext-id",
        ),
        (
            "VeeamConfiguratorFunctionArn",
            "arn:aws:lambda:us-east-1:111111111111:function:vbaws-veeam-configurator",
        ),
        ("ConfiguratorRoleArn", CONFIGURATOR_ROLE),
    ];
    all.extend_from_slice(parameters);
    let mut stack = Stack::new(
        Arc::clone(&roles),
        ACCOUNT,
        "us-east-1",
        "StackSet-veeam-roles",
        &all,
    )
    .with_ssm_parameters(worker_network_parameters());
    let custom = stack.create(&Functions).await.unwrap_or_else(|e| panic!("{e}"));
    for (id, resource_type, _) in stack.aws_resources() {
        assert!(
            resource_type.starts_with("AWS::"),
            "{id}: unexpected type {resource_type}"
        );
    }
    (stack, custom)
}
