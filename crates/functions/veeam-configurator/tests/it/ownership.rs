//! A forged event cannot touch another account's registration.

use crate::harness::{Rig, props, reason};
use serde_json::json;

const OTHER: &str = "999999999999";

#[tokio::test]
async fn a_forged_update_of_another_accounts_registration_fails_and_changes_nothing() {
    let rig = Rig::start().await;
    let id = rig.appliance.sim.add_role(
        "999999999999-ec2",
        OTHER,
        "VeeamEc2Role",
        Some("their-external-id"),
    );
    let forged = json!(format!("999999999999-ec2@{id}"));
    let answer = rig
        .update(
            &forged,
            props("VeeamEc2Role", "ec2"),
            props("VeeamEc2Role", "ec2"),
        )
        .await;
    assert_eq!(answer["Status"], "FAILED");
    assert!(
        reason(&answer).contains("belongs to account 999999999999, not to this stack's account 123456789012"),
        "{answer}"
    );
    let theirs = rig
        .appliance
        .sim
        .roles()
        .into_iter()
        .find(|r| r.id == id)
        .expect("still there");
    assert_eq!(
        (theirs.external_id.as_deref(), theirs.account_id.as_str()),
        (Some("their-external-id"), OTHER)
    );
    assert!(rig.appliance.sim.requests().iter().all(|r| r.method != "PUT"));
}

#[tokio::test]
async fn a_forged_delete_of_another_accounts_registration_succeeds_without_removing_it() {
    let rig = Rig::start().await;
    let id = rig
        .appliance
        .sim
        .add_role("999999999999-ec2", OTHER, "VeeamEc2Role", None);
    let answer = rig
        .delete(
            &json!(format!("999999999999-ec2@{id}")),
            props("VeeamEc2Role", "ec2"),
        )
        .await;
    assert_eq!(answer["Status"], "SUCCESS", "a Delete never blocks a stack");
    assert!(
        reason(&answer).contains("belongs to account 999999999999"),
        "{answer}"
    );
    assert!(
        rig.appliance.sim.roles().iter().any(|r| r.id == id),
        "not removed"
    );
    assert!(rig.appliance.sim.requests().iter().all(|r| r.method != "DELETE"));

    // The same through the by-name lookup of an ID never issued: a registration named like this
    // stack's but of another account stays too.
    let squatter = rig
        .appliance
        .sim
        .add_role("123456789012-ec2", OTHER, "VeeamEc2Role", None);
    let answer = rig
        .delete(&json!("made-up-by-cloudformation"), props("VeeamEc2Role", "ec2"))
        .await;
    assert_eq!(answer["Status"], "SUCCESS");
    assert!(
        rig.appliance.sim.roles().iter().any(|r| r.id == squatter),
        "not removed"
    );
}

#[tokio::test]
async fn a_create_never_adopts_another_accounts_registration() {
    let rig = Rig::start().await;
    let id = rig.appliance.sim.add_role(
        "123456789012-ec2",
        OTHER,
        "VeeamEc2Role",
        Some("their-external-id"),
    );
    let answer = rig.create(props("VeeamEc2Role", "ec2")).await;
    assert_eq!(answer["Status"], "FAILED");
    assert!(reason(&answer).contains("already taken"), "{answer}");
    let theirs = rig
        .appliance
        .sim
        .roles()
        .into_iter()
        .find(|r| r.id == id)
        .expect("still there");
    assert_eq!(theirs.external_id.as_deref(), Some("their-external-id"));
}
