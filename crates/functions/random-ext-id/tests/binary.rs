//! The real `random-ext-id` binary, run as a Lambda sandbox against the Runtime API stand-in, with
//! its answers recorded by the ResponseURL stand-in.

use std::{path::Path, time::Duration};

use serde_json::{Value, json};
use vbaws_testkit::{
    Completion, Deadline, Lambda, SIGNATURE,
    events::{Event, StackResource, request_id, resource},
};

struct Rig {
    lambda: Lambda,
    resource: StackResource,
}

impl Rig {
    async fn start() -> Self {
        let lambda = Lambda::start(Path::new(env!("CARGO_BIN_EXE_random-ext-id")), &[])
            .await
            .expect("function starts");
        Self {
            lambda,
            resource: resource("Custom::RandomExtIdGenerator", "Ec2RoleExtId"),
        }
    }

    /// Delivers an event through a fresh ResponseURL, and returns the answer's body.
    async fn answer(&self, event: &Event) -> Value {
        let delivery = self
            .lambda
            .deliver(event, Deadline::In(Duration::from_secs(30)))
            .await;
        assert_eq!(delivery.completion, Completion::Response("null".into()));
        delivery.json()
    }

    /// The same for an event as CloudFormation sent it once (a fixture), its ResponseURL
    /// replaced by one of the bucket.
    async fn answer_json(&self, mut event: Value) -> Value {
        let key = request_id();
        event["ResponseURL"] = json!(self.lambda.bucket.url(&key));
        let delivery = self
            .lambda
            .deliver_json(&key, &event, Deadline::In(Duration::from_secs(30)))
            .await;
        assert_eq!(delivery.completion, Completion::Response("null".into()));
        delivery.json()
    }

    async fn create(&self, props: Value) -> Value {
        self.answer(&self.resource.create(props)).await
    }

    async fn update(&self, physical_id: &Value, props: Value, old: Value) -> Value {
        let physical_id = physical_id.as_str().expect("physical id");
        self.answer(&self.resource.update(physical_id, props, old)).await
    }
}

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../tests/fixtures/events")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("fixture json")
}

fn ext_id(answer: &Value) -> &str {
    answer["Data"]["RandomExtId"]
        .as_str()
        .unwrap_or_else(|| panic!("no RandomExtId in {answer}"))
}

#[tokio::test]
async fn cloudformation_events_get_a_masked_random_id_and_a_stable_physical_id() {
    let rig = Rig::start().await;
    let created = rig.answer_json(fixture("random-ext-id-create.json")).await;
    assert_eq!(created["Status"], "SUCCESS");
    assert_eq!(
        created["NoEcho"], true,
        "the ID is masked where CloudFormation shows Data"
    );
    let id = ext_id(&created);
    assert_eq!(id.len(), 32);
    assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
    assert!(
        created["PhysicalResourceId"]
            .as_str()
            .expect("id")
            .starts_with("rxid1-")
    );
    assert!(
        !created["PhysicalResourceId"].as_str().expect("id").contains(id),
        "the ID is derived, not stored"
    );

    // Only the ServiceToken changes in the fixture: the answer is the same ID it computes from
    // the fixture's physical ID, and the same physical ID.
    let updated = rig.answer_json(fixture("random-ext-id-update.json")).await;
    assert_eq!(updated["Status"], "SUCCESS");
    assert_eq!(
        updated["PhysicalResourceId"],
        "rxid1-000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    );
    assert_eq!(
        ext_id(&updated),
        random_ext_id::external_id(
            &random_ext_id::Seed::from_bytes(std::array::from_fn(|i| i as u8)),
            32
        )
    );

    let deleted = rig.answer_json(fixture("random-ext-id-delete.json")).await;
    assert_eq!(deleted["Status"], "SUCCESS");
    assert!(deleted.get("Data").is_none());
}

#[tokio::test]
async fn an_unchanged_update_returns_the_same_id_without_state() {
    let rig = Rig::start().await;
    let created = rig.create(json!({"Length": 48, "Rotation": "2026-01"})).await;
    assert_eq!(ext_id(&created).len(), 48);
    let same = json!({"Length": "48", "Rotation": "2026-01"});
    let updated = rig
        .update(&created["PhysicalResourceId"], same.clone(), same)
        .await;
    assert_eq!(updated["PhysicalResourceId"], created["PhysicalResourceId"]);
    assert_eq!(ext_id(&updated), ext_id(&created));
}

#[tokio::test]
async fn changing_length_or_rotation_replaces_the_id() {
    let rig = Rig::start().await;
    let created = rig.create(json!({"Length": 32})).await;
    for (new, old) in [
        (json!({"Length": 40}), json!({"Length": 32})),
        (
            json!({"Length": 32, "Rotation": "2027-01"}),
            json!({"Length": 32}),
        ),
    ] {
        let updated = rig.update(&created["PhysicalResourceId"], new.clone(), old).await;
        assert_eq!(updated["Status"], "SUCCESS");
        assert_ne!(
            updated["PhysicalResourceId"], created["PhysicalResourceId"],
            "a replacement"
        );
        assert_ne!(ext_id(&updated), ext_id(&created));
        assert_eq!(
            ext_id(&updated).len(),
            new["Length"].as_u64().expect("length") as usize
        );
    }
    // CloudFormation then deletes the old one: nothing to do, and it succeeds.
    let delete = rig
        .resource
        .delete(created["PhysicalResourceId"].as_str().expect("id"), json!({}));
    assert_eq!(rig.answer(&delete).await["Status"], "SUCCESS");
}

#[tokio::test]
async fn an_update_of_a_foreign_physical_id_issues_a_new_one() {
    let rig = Rig::start().await;
    let foreign = json!("2022/12/06/[$LATEST]0123456789abcdef");
    let updated = rig
        .update(&foreign, json!({"Length": 32}), json!({"Length": 32}))
        .await;
    assert_eq!(updated["Status"], "SUCCESS");
    assert!(
        updated["PhysicalResourceId"]
            .as_str()
            .expect("id")
            .starts_with("rxid1-")
    );
    assert_eq!(ext_id(&updated).len(), 32);
}

#[tokio::test]
async fn a_duplicate_create_gives_answers_that_each_stay_consistent() {
    let rig = Rig::start().await;
    let event = rig.resource.create(json!({"Length": 32}));
    let (first, second) = (rig.answer(&event).await, rig.answer(&event).await);
    // CloudFormation keeps whichever answer it reads; an Update then returns that answer's ID.
    for answer in [first, second] {
        let props = json!({"Length": 32});
        let updated = rig
            .update(&answer["PhysicalResourceId"], props.clone(), props)
            .await;
        assert_eq!(ext_id(&updated), ext_id(&answer));
    }
}

#[tokio::test]
async fn lengths_outside_iam_limits_fail_with_a_reason_naming_length_and_its_range() {
    let rig = Rig::start().await;
    for bad in ["1", "1225", "abc", "12.5"] {
        let answer = rig.create(json!({ "Length": bad })).await;
        assert_eq!(answer["Status"], "FAILED", "{bad}");
        let reason = answer["Reason"].as_str().expect("reason");
        assert!(
            reason.contains("ResourceProperties.Length is invalid: it must be a whole number from 2 to 1224"),
            "{bad}: {reason}"
        );
        assert!(
            answer["PhysicalResourceId"]
                .as_str()
                .expect("id")
                .starts_with("vbaws:create-failed:")
        );
    }
    // The rollback of a failed Create deletes the marker, which succeeds.
    let answer = rig.create(json!({"Length": "1"})).await;
    let delete = rig.resource.delete(
        answer["PhysicalResourceId"].as_str().expect("id"),
        json!({"Length": "1"}),
    );
    assert_eq!(rig.answer(&delete).await["Status"], "SUCCESS");
}

#[tokio::test]
async fn the_id_never_reaches_the_log() {
    let rig = Rig::start().await;
    let created = rig.create(json!({"Length": 64})).await;
    let output = rig.lambda.sandbox.output();
    assert!(output.contains("answer delivered"), "{output}");
    assert!(
        !output.contains(ext_id(&created)),
        "the external ID leaked: {output}"
    );
    assert!(
        !output.contains(SIGNATURE),
        "the ResponseURL signature leaked: {output}"
    );
}
