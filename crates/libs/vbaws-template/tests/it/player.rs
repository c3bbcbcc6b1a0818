//! The stack player, as CloudFormation runs a stack: in an update, a resource whose condition
//! starts to hold is created, one whose condition stops holding is deleted in the cleanup, after
//! the updates, and what depends on nothing that changed is left alone; on the unhappy paths, a
//! failed Create still gets its Delete, a failed update rolls back, and a failed cleanup Delete
//! fails nothing.

use std::sync::{Arc, Mutex};

use vbaws_template::{Answer, Deliver, DeliveryError, Stack, Template, event::Event};

const TEMPLATE: &str = r#"
Parameters:
  Services: { Type: CommaDelimitedList, Default: ec2 }
  Rotation: { Type: String, Default: "1" }
Conditions:
  HasRds: !Not
    - !Equals
      - !Select [0, !Split [",rds,", !Join ["", [",", !Join [",", !Ref Services], ","]]]]
      - !Join ["", [",", !Join [",", !Ref Services], ","]]
Resources:
  Ec2Registration:
    Type: Custom::VeeamAwsConfigurator
    Properties: { ServiceToken: arn:aws:lambda:us-east-1:111111111111:function:c, Purpose: ec2, Rotation: !Ref Rotation }
  RdsRole:
    Type: AWS::IAM::Role
    Condition: HasRds
    Properties: { RoleName: rds-role }
  RdsRegistration:
    Type: Custom::VeeamAwsConfigurator
    Condition: HasRds
    Properties: { ServiceToken: arn:aws:lambda:us-east-1:111111111111:function:c, Purpose: rds, RoleName: !Ref RdsRole }
"#;

/// Answers every event SUCCESS and writes down what it was asked.
#[derive(Default)]
struct Log(Mutex<Vec<String>>);

impl Deliver for Log {
    async fn deliver(&self, _token: &str, event: Event) -> Result<Answer, DeliveryError> {
        let json = event.to_json("https://example-bucket.s3.amazonaws.com/key");
        let kind = json["RequestType"].as_str().unwrap_or_default().to_owned();
        self.0
            .lock()
            .expect("log")
            .push(format!("{kind} {}", event.logical_resource_id()));
        let physical = json["PhysicalResourceId"]
            .as_str()
            .map_or_else(|| format!("{}-id", event.logical_resource_id()), str::to_owned);
        Ok(Answer {
            success: true,
            physical_resource_id: physical,
            ..Answer::default()
        })
    }
}

impl Log {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("log"))
    }
}

#[tokio::test]
async fn an_update_creates_what_a_condition_adds_and_deletes_what_it_removes() {
    let template = Arc::new(Template::from_yaml(TEMPLATE).expect("template"));
    let log = Log::default();
    let mut stack = Stack::new(template, "111111111111", "us-east-1", "s", &[]);
    assert_eq!(stack.create(&log).await.expect("created"), 1);
    assert_eq!(log.take(), ["Create Ec2Registration"]);

    let changed = stack
        .update(&log, &[("Services", "ec2,rds")])
        .await
        .expect("updated");
    assert_eq!(changed, 1);
    assert_eq!(
        log.take(),
        ["Create RdsRegistration"],
        "the EC2 registration is unchanged"
    );
    assert!(stack.properties("RdsRole").is_some(), "the role is recorded");
    assert_eq!(
        stack.properties("RdsRegistration").map(|p| p["RoleName"].clone()),
        Some(serde_json::json!("rds-role"))
    );

    let changed = stack
        .update(&log, &[("Services", "ec2"), ("Rotation", "2")])
        .await
        .expect("updated");
    assert_eq!(changed, 2, "one updated, one deleted");
    assert_eq!(
        log.take(),
        ["Update Ec2Registration", "Delete RdsRegistration"],
        "updates first, then the cleanup deletes what the condition removed"
    );
    assert!(stack.properties("RdsRole").is_none() && stack.properties("RdsRegistration").is_none());

    stack.delete(&log).await.expect("deleted");
    assert_eq!(log.take(), ["Delete Ec2Registration"]);
}

/// Answers as told: FAILED to the events `fail` names (`"Create RdsRegistration"`), with the
/// physical ID `failed_id`; SUCCESS to the others. Writes down each event with its physical ID
/// and its Rotation property.
struct Scripted {
    fail: Vec<&'static str>,
    failed_id: &'static str,
    seen: Mutex<Vec<String>>,
}

impl Scripted {
    fn failing(fail: &[&'static str], failed_id: &'static str) -> Self {
        Self {
            fail: fail.to_vec(),
            failed_id,
            seen: Mutex::default(),
        }
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.seen.lock().expect("log"))
    }
}

impl Deliver for Scripted {
    async fn deliver(&self, _token: &str, event: Event) -> Result<Answer, DeliveryError> {
        let json = event.to_json("https://example-bucket.s3.amazonaws.com/key");
        let kind = json["RequestType"].as_str().unwrap_or_default();
        let what = format!("{kind} {}", event.logical_resource_id());
        let physical = json["PhysicalResourceId"].as_str().map(str::to_owned);
        self.seen.lock().expect("log").push(format!(
            "{what} {} rotation={}",
            physical.as_deref().unwrap_or("-"),
            json["ResourceProperties"]["Rotation"].as_str().unwrap_or("-")
        ));
        if self.fail.contains(&what.as_str()) {
            return Ok(Answer {
                success: false,
                reason: format!("{what} refused"),
                physical_resource_id: self.failed_id.to_owned(),
                ..Answer::default()
            });
        }
        Ok(Answer {
            success: true,
            physical_resource_id: physical.unwrap_or_else(|| format!("{}-id", event.logical_resource_id())),
            ..Answer::default()
        })
    }
}

fn stack(services: &str) -> Stack {
    let template = Arc::new(Template::from_yaml(TEMPLATE).expect("template"));
    Stack::new(
        template,
        "111111111111",
        "us-east-1",
        "s",
        &[("Services", services)],
    )
}

/// ROLLBACK_IN_PROGRESS sends the failed resource its Delete, with the ID its FAILED answer
/// gave (or, with none, the one CloudFormation made up), then deletes what was created.
#[tokio::test]
async fn a_failed_create_gets_its_delete_and_the_stack_is_rolled_back() {
    for (failed_id, deleted_id) in [
        ("rds-failed", "rds-failed"),
        ("", "s-RdsRegistration-GENERATEDBYCFN"),
    ] {
        let cfn = Scripted::failing(&["Create RdsRegistration"], failed_id);
        let mut stack = stack("ec2,rds");
        let error = stack.create(&cfn).await.expect_err("failed");
        assert!(
            error.to_string().contains("RdsRegistration answered FAILED"),
            "{error}"
        );
        assert_eq!(
            cfn.take(),
            [
                "Create Ec2Registration - rotation=1".to_owned(),
                "Create RdsRegistration - rotation=-".to_owned(),
                format!("Delete RdsRegistration {deleted_id} rotation=-"),
                "Delete Ec2Registration Ec2Registration-id rotation=1".to_owned(),
            ]
        );
    }
}

/// UPDATE_ROLLBACK_IN_PROGRESS: what was updated gets an Update back to its old properties
/// (the failed resource too), what was created is deleted in the rollback's cleanup, and the
/// stack keeps its old parameters.
#[tokio::test]
async fn a_failed_update_rolls_back_to_the_old_properties() {
    let cfn = Scripted::failing(&["Create RdsRegistration"], "rds-failed");
    let mut stack = stack("ec2");
    stack.create(&cfn).await.expect("created");
    cfn.take();
    let error = stack
        .update(&cfn, &[("Services", "ec2,rds"), ("Rotation", "2")])
        .await
        .expect_err("failed");
    assert!(
        error.to_string().contains("RdsRegistration answered FAILED"),
        "{error}"
    );
    assert_eq!(
        cfn.take(),
        [
            "Update Ec2Registration Ec2Registration-id rotation=2",
            "Create RdsRegistration - rotation=-",
            "Update Ec2Registration Ec2Registration-id rotation=1",
            "Delete RdsRegistration rds-failed rotation=-",
        ]
    );
    assert_eq!(
        stack.properties("Ec2Registration").map(|p| p["Rotation"].clone()),
        Some("1".into())
    );
    assert!(
        stack.properties("RdsRole").is_none(),
        "the role the update added is gone"
    );

    // The resource whose own Update failed is sent back too.
    let cfn = Scripted::failing(&["Update Ec2Registration"], "Ec2Registration-id");
    let error = stack
        .update(&cfn, &[("Rotation", "3")])
        .await
        .expect_err("failed");
    assert!(
        error.to_string().contains("Ec2Registration answered FAILED"),
        "{error}"
    );
    assert_eq!(
        cfn.take(),
        [
            "Update Ec2Registration Ec2Registration-id rotation=3",
            "Update Ec2Registration Ec2Registration-id rotation=1",
        ]
    );
    // A rollback that fails too is said after the first cause.
    let error = stack
        .update(&cfn, &[("Rotation", "4")])
        .await
        .expect_err("failed");
    let text = error.to_string();
    assert!(
        text.starts_with("account 111111111111: Ec2Registration answered FAILED: Update Ec2Registration refused; the rollback failed too"),
        "{text}"
    );
}

/// UPDATE_COMPLETE_CLEANUP_IN_PROGRESS: a Delete that keeps failing is tried three times and the
/// resource dropped; the update still succeeds.
#[tokio::test]
async fn a_failed_cleanup_delete_does_not_fail_the_update() {
    let cfn = Scripted::failing(&["Delete RdsRegistration"], "RdsRegistration-id");
    let mut stack = stack("ec2,rds");
    stack.create(&cfn).await.expect("created");
    cfn.take();
    stack
        .update(&cfn, &[("Services", "ec2")])
        .await
        .expect("the update succeeds");
    assert_eq!(
        cfn.take(),
        ["Delete RdsRegistration RdsRegistration-id rotation=-"; 3]
    );
    assert_eq!(stack.left_behind().len(), 1);
    assert!(
        stack.left_behind()[0].starts_with("RdsRegistration (RdsRegistration-id)"),
        "{:?}",
        stack.left_behind()
    );
    assert!(
        stack.properties("RdsRegistration").is_none(),
        "dropped from the stack"
    );
}

#[tokio::test]
async fn a_change_set_says_what_an_update_would_do_and_does_nothing() {
    let template = Arc::new(Template::from_yaml(TEMPLATE).expect("template"));
    let log = Log::default();
    let mut stack = Stack::new(Arc::clone(&template), "111111111111", "us-east-1", "s", &[]);
    stack.create(&log).await.expect("created");
    log.take();
    let lines = |stack: &Stack, parameters: &[(&str, &str)]| -> Vec<String> {
        stack
            .change_set(&template, parameters)
            .expect("change set")
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert_eq!(
        lines(&stack, &[("Services", "ec2,rds")]),
        [
            "Add RdsRole (AWS::IAM::Role)",
            "Add RdsRegistration (Custom::VeeamAwsConfigurator)"
        ]
    );
    assert_eq!(
        lines(&stack, &[("Rotation", "2")]),
        ["Modify Ec2Registration (Custom::VeeamAwsConfigurator): Rotation"]
    );
    assert_eq!(lines(&stack, &[]), Vec::<String>::new());
    assert!(log.take().is_empty(), "a change set sends nothing");

    stack
        .update(&log, &[("Services", "ec2,rds")])
        .await
        .expect("updated");
    assert_eq!(
        lines(&stack, &[("Services", "ec2")]),
        [
            "Remove RdsRegistration (Custom::VeeamAwsConfigurator)",
            "Remove RdsRole (AWS::IAM::Role)"
        ]
    );
}
