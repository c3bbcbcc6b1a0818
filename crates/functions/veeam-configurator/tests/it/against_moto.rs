//! The confirmation's real SDK calls (STS AssumeRole, CloudFormation DescribeStackResource and
//! DescribeStackEvents) against moto's server, with stacks moto itself created in a member
//! account: moto, not the project's own stand-in, says what is in progress.
//!
//! moto reports a stack's status as each of its resources' status (its guess), keeps a stack
//! with a custom resource in CREATE_IN_PROGRESS until an answer reaches its own response URL,
//! lists only stack-level events, and lets anyone assume any role; what it cannot show (a
//! missing reader role, IAM's scoping) is tested against the stand-in (`confirmation.rs`).

use crate::harness::{Rig, Setup, forgeries, props, reason};
use aws_sdk_cloudformation::Client;
use serde_json::json;
use vbaws_testkit::{
    Moto,
    events::{SERVICE_TOKEN, StackResource, stack_id},
    organization::{REGION, sdk_config},
};

const VICTIM: &str = "222222222222";
const TYPE: &str = "Custom::VeeamAwsConfigurator";

/// The configurator asking moto, with the credentials moto expects.
async fn rig_against(moto: &Moto) -> Rig {
    Rig::with(Setup {
        env: vec![
            ("AWS_ENDPOINT_URL_STS", moto.endpoint()),
            ("AWS_ENDPOINT_URL_CLOUDFORMATION", moto.endpoint()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ],
        ..Setup::default()
    })
    .await
}

/// CloudFormation in the victim's account, through an assumed role, as a StackSet would act.
async fn victims_cloudformation(moto: &Moto) -> Client {
    let config = sdk_config(moto).await;
    let credentials = aws_sdk_sts::Client::new(&config)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{VICTIM}:role/stacksets-exec-test"))
        .role_session_name("test")
        .send()
        .await
        .expect("AssumeRole")
        .credentials
        .expect("credentials");
    let config = aws_sdk_cloudformation::config::Builder::from(&config)
        .credentials_provider(aws_sdk_cloudformation::config::Credentials::new(
            credentials.access_key_id,
            credentials.secret_access_key,
            Some(credentials.session_token),
            None,
            "victim",
        ))
        .build();
    let client = Client::from_conf(config);
    // moto invokes a custom resource's ServiceToken in the stack's own account: the function
    // must exist there (it only logs that it cannot run it without Docker).
    let function = json!({"Resources": {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {
            "RoleName": "configurator-stand-in",
            "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}},
        "Function": {"Type": "AWS::Lambda::Function", "Properties": {
            "FunctionName": SERVICE_TOKEN.rsplit(':').next(), "Runtime": "python3.12",
            "Handler": "index.handler", "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Code": {"ZipFile": "def handler(event, context): pass"}}},
    }});
    create_stack(&client, "configurator-stand-in", &function).await;
    client
}

/// A stack with one configurator registration, which moto leaves in CREATE_IN_PROGRESS.
async fn stack_with_registration(client: &Client, name: &str) -> String {
    let template = json!({"Resources": {"Ec2Registration": {"Type": TYPE, "Properties": {
        "ServiceToken": SERVICE_TOKEN, "Purpose": "ec2"}}}});
    create_stack(client, name, &template).await
}

async fn create_stack(client: &Client, name: &str, template: &serde_json::Value) -> String {
    client
        .create_stack()
        .stack_name(name)
        .template_body(template.to_string())
        .send()
        .await
        .expect("CreateStack")
        .stack_id
        .expect("stack ID")
}

/// What moto's CloudFormation needs to finish the stack: a SUCCESS at its own response URL.
async fn complete(moto: &Moto, stack_id: &str, logical_id: &str) {
    // Plain HTTP; reqwest still wants a TLS provider chosen.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let status = reqwest::Client::new()
        .put(format!("{}/cloudformation_{REGION}/cfnresponse", moto.endpoint()))
        .query(&[("stack", stack_id)])
        .header("x-moto-account-id", VICTIM)
        .body(
            json!({"Status": "SUCCESS", "PhysicalResourceId": "p", "StackId": stack_id, "RequestId": "r",
                   "LogicalResourceId": logical_id, "Data": {}})
            .to_string(),
        )
        .send()
        .await
        .expect("PUT")
        .status();
    assert!(status.is_success(), "moto did not take the answer: {status}");
}

async fn status(client: &Client, stack_id: &str) -> String {
    client
        .describe_stack_resource()
        .stack_name(stack_id)
        .logical_resource_id("Ec2Registration")
        .send()
        .await
        .expect("DescribeStackResource")
        .stack_resource_detail
        .and_then(|d| d.resource_status)
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default()
}

fn resource(stack_id: &str, logical_id: &str) -> StackResource {
    StackResource::new(stack_id, logical_id, TYPE, SERVICE_TOKEN)
}

#[tokio::test]
async fn only_what_moto_shows_in_progress_changes_the_appliance() {
    let moto = Moto::start().await.expect("moto");
    let victim = victims_cloudformation(&moto).await;
    let stack = stack_with_registration(&victim, "StackSet-vbaws-veeam-roles-7d1e").await;
    assert_eq!(status(&victim, &stack).await, "CREATE_IN_PROGRESS");
    let rig = rig_against(&moto).await;

    // The genuine Create moto is waiting for.
    let genuine = resource(&stack, "Ec2Registration");
    let created = rig.forge(&genuine.create(props("VeeamEc2Role", "ec2"))).await;
    assert_eq!(
        created["Status"],
        "SUCCESS",
        "{created}\n{}",
        rig.lambda.sandbox.output()
    );
    let physical_id = created["PhysicalResourceId"].as_str().expect("id").to_owned();
    assert_eq!(rig.registrations().len(), 1);

    // While moto still waits for the Create, nothing else about it is real.
    let [_, update, delete] = forgeries(&genuine, &physical_id);
    for event in [update, delete] {
        let answer = rig.forge(&event).await;
        assert!(reason(&answer).contains("could not confirm"), "{answer}");
    }
    assert_eq!(
        rig.registrations()[0].external_id.as_deref(),
        Some(crate::harness::EXT_ID)
    );

    // At rest, nothing about it is real.
    complete(&moto, &stack, "Ec2Registration").await;
    assert_eq!(status(&victim, &stack).await, "CREATE_COMPLETE");
    rig.assert_forgeries_change_nothing(&genuine, &physical_id, "a stack at rest")
        .await;

    // A made-up stack, another resource, another StackSet's stack in progress, another Region.
    let made_up = stack.replace("7d1e", "0000");
    rig.assert_forgeries_change_nothing(
        &resource(&made_up, "Ec2Registration"),
        &physical_id,
        "no such stack",
    )
    .await;
    let busy = stack_with_registration(&victim, "StackSet-vbaws-veeam-roles-8e2f").await;
    rig.assert_forgeries_change_nothing(
        &resource(&busy, "WorkerRegistration"),
        &physical_id,
        "no such resource",
    )
    .await;
    let foreign = stack_with_registration(&victim, "StackSet-someone-elses-9f30").await;
    rig.assert_forgeries_change_nothing(
        &resource(&foreign, "Ec2Registration"),
        &physical_id,
        "another StackSet",
    )
    .await;
    let elsewhere = stack_id(VICTIM, "eu-west-1", "StackSet-vbaws-veeam-roles-7d1e");
    rig.assert_forgeries_change_nothing(
        &resource(&elsewhere, "Ec2Registration"),
        &physical_id,
        "another Region",
    )
    .await;

    let registration = &rig.registrations()[0];
    assert_eq!(
        (
            registration.account_id.as_str(),
            registration.external_id.as_deref()
        ),
        (VICTIM, Some(crate::harness::EXT_ID))
    );
}
