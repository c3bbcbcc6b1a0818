//! The stack player's update, as CloudFormation runs one: a resource whose condition starts to
//! hold is created, one whose condition stops holding is deleted in the cleanup, after the
//! updates, and what depends on nothing that changed is left alone.

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
