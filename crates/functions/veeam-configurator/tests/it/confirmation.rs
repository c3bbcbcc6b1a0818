//! Only CloudFormation makes the configurator change the appliance: events written by hand,
//! whatever account their StackId claims, change nothing; genuine ones still work, at the cost
//! of one CloudFormation call per event and one STS call per account and hour.

use std::time::Duration;

use crate::harness::{Rig, Setup, props, reason};
use serde_json::json;
use vbaws_testkit::{
    CONFIGURATOR_ROLE_ARN, closed_port,
    events::{SERVICE_TOKEN, STACK_NAME, StackResource, stack_id},
    member_stack,
};

const VICTIM: &str = "222222222222";
const TYPE: &str = "Custom::VeeamAwsConfigurator";

/// The victim's genuine registration, made by CloudFormation through the rig.
async fn victims_registration(rig: &Rig) -> (StackResource, String) {
    let resource = StackResource::new(
        stack_id(VICTIM, "us-east-1", STACK_NAME),
        "Ec2Registration",
        TYPE,
        SERVICE_TOKEN,
    );
    let answer = rig.send(&resource.create(props("VeeamEc2Role", "ec2"))).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    (
        resource,
        answer["PhysicalResourceId"].as_str().expect("id").to_owned(),
    )
}

/// What the appliance holds of the victim: name, role and external ID of each registration.
fn victims_roles(rig: &Rig) -> Vec<(String, String, Option<String>)> {
    rig.registrations()
        .into_iter()
        .filter(|r| r.account_id == VICTIM)
        .map(|r| (r.name, r.role_name, r.external_id))
        .collect()
}

fn changes(rig: &Rig) -> usize {
    rig.appliance
        .sim
        .requests()
        .iter()
        .filter(|r| r.method != "GET" && !r.path.ends_with("/token") && !r.path.contains("validate"))
        .count()
}

#[tokio::test]
async fn events_claiming_another_accounts_stack_change_nothing_in_any_shape() {
    let rig = Rig::start().await;
    let (genuine, physical_id) = victims_registration(&rig).await;
    let forged = |stack: String, logical: &str| StackResource::new(stack, logical, TYPE, SERVICE_TOKEN);

    // The attack: a stack that does not exist in the victim's account.
    let missing = forged(
        format!("arn:aws:cloudformation:us-east-1:{VICTIM}:stack/StackSet-vbaws-veeam-roles-0ther/1e2f"),
        "Ec2Registration",
    );
    rig.assert_forgeries_change_nothing(&missing, &physical_id, "a stack that does not exist")
        .await;
    // The victim's real stack, whose registration CloudFormation is not working on.
    rig.assert_forgeries_change_nothing(&genuine, &physical_id, "a stack at rest")
        .await;
    // Another resource of the real stack, and one that is no registration at all.
    let other = forged(genuine.stack_id.clone(), "WorkerRegistration");
    rig.assert_forgeries_change_nothing(&other, &physical_id, "another LogicalResourceId")
        .await;
    let role = forged(genuine.stack_id.clone(), "EventReaderRole");
    rig.assert_forgeries_change_nothing(&role, &physical_id, "a resource of another type")
        .await;
    // A stack of another StackSet, with a registration in progress.
    let foreign_name = "StackSet-other-roles-5f6e";
    member_stack(
        rig.cloud.ledger(),
        VICTIM,
        "us-east-1",
        foreign_name,
        CONFIGURATOR_ROLE_ARN,
    );
    let foreign = forged(stack_id(VICTIM, "us-east-1", foreign_name), "Ec2Registration");
    rig.cloud.ledger().sending(&foreign.create(json!({})));
    rig.assert_forgeries_change_nothing(&foreign, &physical_id, "a stack of another StackSet")
        .await;
    // The same stack name in another Region.
    let elsewhere = forged(stack_id(VICTIM, "eu-west-1", STACK_NAME), "Ec2Registration");
    rig.assert_forgeries_change_nothing(&elsewhere, &physical_id, "another Region")
        .await;
    // Not a stack ARN at all.
    let garbage = forged(
        format!("arn:aws:cloudformation:us-east-1:{VICTIM}:stack/x"),
        "Ec2Registration",
    );
    rig.assert_forgeries_change_nothing(&garbage, &physical_id, "a malformed StackId")
        .await;

    let unconfirmed = rig
        .metrics()
        .iter()
        .filter(|(m, _)| m == "EventsUnconfirmed")
        .count();
    assert_eq!(unconfirmed, 7 * 3, "each forgery is counted");
    assert!(rig.lambda.sandbox.output().contains("event not confirmed"));
}

#[tokio::test]
async fn a_forgery_during_a_genuine_operation_on_another_resource_changes_nothing() {
    let rig = Rig::start().await;
    let (genuine, physical_id) = victims_registration(&rig).await;
    // CloudFormation is deleting the stack's worker registration right now.
    let worker = StackResource::new(
        genuine.stack_id.clone(),
        "WorkerRegistration",
        TYPE,
        SERVICE_TOKEN,
    );
    rig.cloud
        .ledger()
        .sending(&worker.delete("vbaws:worker@1", json!({})));
    // A Delete naming that resource but the EC2 registration's ID is not what CloudFormation does.
    let answer = rig
        .forge(&worker.delete(&physical_id, props("VeeamEc2Role", "ec2")))
        .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(
        victims_roles(&rig).len(),
        1,
        "the EC2 registration is still there"
    );
}

#[tokio::test]
async fn genuine_events_cost_one_cloudformation_call_and_one_sts_call_per_account() {
    let rig = Rig::start().await;
    let create = rig.create(props("VeeamEc2Role", "ec2")).await;
    assert_eq!(create["Status"], "SUCCESS", "{create}");
    let id = create["PhysicalResourceId"].clone();
    let update = rig
        .update(&id, props("VeeamEc2Role-v2", "ec2"), props("VeeamEc2Role", "ec2"))
        .await;
    assert_eq!(update["Status"], "SUCCESS", "{update}");
    assert_eq!(
        rig.cloud.calls(),
        ["AssumeRole", "DescribeStackResource", "DescribeStackResource"],
        "credentials are kept across warm invocations"
    );
}

#[tokio::test]
async fn the_cleanup_delete_after_a_replacement_is_confirmed_by_the_stacks_events() {
    let rig = Rig::start().await;
    let create = rig.create(props("VeeamEc2Role", "ec2")).await;
    let old = create["PhysicalResourceId"].clone();
    let replaced = rig
        .update(
            &old,
            props("VeeamEc2Role", "worker"),
            props("VeeamEc2Role", "ec2"),
        )
        .await;
    assert_ne!(
        replaced["PhysicalResourceId"], old,
        "a new purpose is a replacement"
    );
    assert_eq!(rig.registrations().len(), 2);
    let cleanup = rig.delete(&old, props("VeeamEc2Role", "ec2")).await;
    assert_eq!(cleanup["Status"], "SUCCESS", "{cleanup}");
    let names: Vec<String> = rig.registrations().into_iter().map(|r| r.name).collect();
    assert_eq!(names, ["123456789012-worker"], "the old registration is removed");
    assert_eq!(
        rig.cloud.calls().last().map(String::as_str),
        Some("DescribeStackEvents")
    );
}

#[tokio::test]
async fn an_account_without_the_event_reader_role_is_told_to_update_the_stackset() {
    let rig = Rig::start().await;
    // A stack of an earlier release: CloudFormation shows it, but it holds no reader role.
    let old_account = "333333333333";
    let stack = stack_id(old_account, "us-east-1", STACK_NAME);
    rig.cloud
        .ledger()
        .open(&stack, old_account, "us-east-1", STACK_NAME);
    let resource = StackResource::new(stack, "Ec2Registration", TYPE, SERVICE_TOKEN);
    let started = std::time::Instant::now();
    let answer = rig.send(&resource.create(props("VeeamEc2Role", "ec2"))).await;
    assert_eq!(answer["Status"], "FAILED", "{answer}");
    let reason = reason(&answer);
    assert!(
        reason.contains(
            "role arn:aws:iam::333333333333:role/vbaws-event-reader could not be assumed (AccessDenied)"
        ) && reason.contains("update the roles StackSet"),
        "{reason}"
    );
    assert!(
        started.elapsed() > Duration::from_secs(5),
        "a Create waits for a role created moments ago"
    );
    assert!(rig.registrations().is_empty());
}

#[tokio::test]
async fn in_report_mode_an_unconfirmed_event_is_counted_and_handled() {
    let rig = Rig::with(Setup {
        env: vec![("EVENT_CONFIRMATION", "Report".into())],
        ..Setup::default()
    })
    .await;
    let answer = rig
        .forge(&rig.resource.create(props("VeeamEc2Role", "ec2")))
        .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(rig.registrations().len(), 1);
    assert!(rig.metrics().contains(&("EventsUnconfirmed".to_owned(), 1)));
    assert!(
        rig.lambda
            .sandbox
            .output()
            .contains("EVENT_CONFIRMATION is Report")
    );
}

#[tokio::test]
async fn aws_out_of_reach_is_reported_as_that_and_a_delete_still_succeeds() {
    let closed = format!("http://127.0.0.1:{}", closed_port().expect("port"));
    let rig = Rig::with(Setup {
        env: vec![
            ("AWS_ENDPOINT_URL_STS", closed.clone()),
            ("AWS_ENDPOINT_URL_CLOUDFORMATION", closed),
        ],
        ..Setup::default()
    })
    .await;
    let create = rig.create(props("VeeamEc2Role", "ec2")).await;
    assert_eq!(create["Status"], "FAILED");
    let reason = reason(&create);
    assert!(
        reason.contains("could not ask STS")
            && reason.contains("could not be reached")
            && reason.contains("StsPath"),
        "{reason}"
    );
    assert!(
        !reason.contains("could not confirm"),
        "not taken for a forgery: {reason}"
    );
    let delete = rig
        .delete(&json!("vbaws:123456789012-ec2@1"), props("VeeamEc2Role", "ec2"))
        .await;
    assert_eq!(delete["Status"], "SUCCESS", "{delete}");
    assert!(
        rig.metrics()
            .contains(&("ConfirmationsUnavailable".to_owned(), 1))
    );
    assert_eq!(changes(&rig), 0);
}
