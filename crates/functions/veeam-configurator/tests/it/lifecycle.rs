//! The configurator's lifecycle: the real binary, the appliance simulator over pinned TLS, the
//! extension stand-in and the ResponseURL stand-in.

mod workers;

use std::time::Duration;

use crate::harness::{ACCOUNT, EXT_ID, Rig, Setup, props, reason};
use serde_json::json;
use vbaws_sim::{Config, Faults};

#[tokio::test]
async fn create_registers_the_role_with_its_external_id() {
    let rig = Rig::start().await;
    let answer = rig.create(props("VeeamEc2Role", "ec2")).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    let roles = rig.registrations();
    assert_eq!(roles.len(), 1);
    let role = &roles[0];
    assert_eq!(
        (
            role.name.as_str(),
            role.account_id.as_str(),
            role.role_name.as_str()
        ),
        ("123456789012-ec2", ACCOUNT, "VeeamEc2Role")
    );
    assert_eq!(role.external_id.as_deref(), Some(EXT_ID));
    assert_eq!(
        role.description.as_deref(),
        Some("Veeam role [vbaws:5b3a7c10-0000-4000-8000-123456789012/Ec2RoleRegistration]"),
        "the description, with the note of the stack and resource that made it"
    );
    assert_eq!(answer["Data"]["VeeamRoleId"], role.id.as_str());
    assert_eq!(answer["Data"]["VeeamRoleName"], "123456789012-ec2");
    assert_eq!(
        answer["PhysicalResourceId"],
        format!("123456789012-ec2@{}", role.id)
    );
    rig.assert_clean_output();
}

#[tokio::test]
async fn a_duplicate_create_answers_the_same_id_and_leaves_one_role() {
    let rig = Rig::start().await;
    let event = rig.resource.create(props("VeeamEc2Role", "ec2"));
    let first = rig.send(&event).await;
    let second = rig.send(&event).await;
    assert_eq!(second["Status"], "SUCCESS", "{second}");
    assert_eq!(first["PhysicalResourceId"], second["PhysicalResourceId"]);
    assert_eq!(rig.registrations().len(), 1);
}

/// The appliance creates the registration, then the connection breaks before its answer: the
/// configurator cannot know, sends the create again, finds its name taken by its own
/// registration, and adopts it. One registration, SUCCESS.
#[tokio::test]
async fn a_create_whose_answer_is_lost_is_sent_again_and_leaves_one_role() {
    let rig = Rig::start().await;
    let warm = rig.create(props("VeeamWorkerRole", "worker")).await;
    assert_eq!(warm["Status"], "SUCCESS", "logged in: {warm}");
    rig.appliance.sim.set_faults(Faults {
        drops: 1,
        ..Faults::default()
    });
    let answer = rig.create(props("VeeamEc2Role", "ec2")).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    let ec2: Vec<_> = rig
        .registrations()
        .into_iter()
        .filter(|r| r.name == "123456789012-ec2")
        .collect();
    assert_eq!(ec2.len(), 1, "{ec2:?}");
    assert_eq!(answer["Data"]["VeeamRoleId"], ec2[0].id.as_str());
    let posts = rig
        .appliance
        .sim
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/accounts/amazon"))
        .count();
    assert_eq!(
        posts, 3,
        "the worker's create, the lost one, and the one sent again"
    );
}

#[tokio::test]
async fn create_adopts_a_registration_of_the_same_account_and_role() {
    let rig = Rig::start().await;
    let id = rig.appliance.sim.add_role(
        "123456789012-ec2",
        ACCOUNT,
        "VeeamEc2Role",
        Some("an-old-external-id"),
    );
    let answer = rig.create(props("VeeamEc2Role", "ec2")).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["Data"]["VeeamRoleId"], id.as_str());
    let roles = rig.registrations();
    assert_eq!(roles.len(), 1);
    assert_eq!(
        roles[0].external_id.as_deref(),
        Some(EXT_ID),
        "adoption updated the external ID"
    );
}

/// The migration from the Python solution: its registration has this project's name, this
/// account, and the old role (a generated name) with a 12-character external ID.
#[tokio::test]
async fn create_takes_over_this_accounts_registration_of_an_earlier_role_in_one_request() {
    let rig = Rig::start().await;
    let id = rig.appliance.sim.add_role(
        "123456789012-ec2",
        ACCOUNT,
        "veeam-org-roles-VeeamEc2Role-1QX2Z3Y4W5V6",
        Some("aB3dE5gH7jK9"),
    );
    let answer = rig.create(props("VeeamEc2Role", "ec2")).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(
        answer["Data"]["VeeamRoleId"],
        id.as_str(),
        "the same registration"
    );
    let roles = rig.registrations();
    assert_eq!(roles.len(), 1, "no duplicate");
    assert_eq!(
        (roles[0].role_name.as_str(), roles[0].external_id.as_deref()),
        ("VeeamEc2Role", Some(EXT_ID)),
        "it points at the new role and external ID"
    );
    let removals: Vec<_> = rig
        .appliance
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE" && r.path.contains("accounts/amazon"))
        .collect();
    assert!(
        removals.is_empty(),
        "never unregistered, not even for a moment: {removals:?}"
    );
}

#[tokio::test]
async fn a_delete_leaves_a_registration_that_points_at_another_role() {
    let rig = Rig::start().await;
    rig.appliance
        .sim
        .add_role("123456789012-ec2", ACCOUNT, "TheRoleBackupsUseNow", Some("x"));
    // A cancelled Create's Delete carries an ID CloudFormation made up: found by name, the
    // registration is this account's, but not this stack's role.
    let generated = json!("StackSet-veeam-roles-Ec2RoleRegistration-1A2B3C4D5E6F");
    let answer = rig.delete(&generated, props("VeeamEc2Role", "ec2")).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(rig.registrations().len(), 1, "left in place");
}

#[tokio::test]
async fn create_refuses_a_name_taken_by_another_account() {
    let rig = Rig::start().await;
    rig.appliance
        .sim
        .add_role("123456789012-ec2", "999999999999", "SomeoneElse", None);
    let answer = rig.create(props("VeeamEc2Role", "ec2")).await;
    assert_eq!(answer["Status"], "FAILED");
    let reason = reason(&answer);
    assert!(
        reason.contains("already taken") && reason.contains("999999999999") && reason.contains("SomeoneElse"),
        "{reason}"
    );
    assert!(
        answer["PhysicalResourceId"]
            .as_str()
            .expect("id")
            .starts_with("vbaws:create-failed:")
    );
}

#[tokio::test]
async fn a_refused_create_leads_the_reason_when_the_lookup_that_follows_fails() {
    let rig = Rig::start().await;
    rig.appliance
        .sim
        .add_role("123456789012-ec2", ACCOUNT, "EarlierRole", None);
    rig.appliance.sim.set_faults(Faults {
        list_failures: 1,
        ..Faults::default()
    });
    let text = rig.create_failing(props("VeeamEc2Role", "ec2")).await;
    assert!(
        text.starts_with(
            "the appliance refused: register an IAM role: the appliance answered HTTP 400 UnknownError: Validation error: An IAM role with the name '123456789012-ec2' already exists.; looking for the registration that holds the name failed too: the appliance refused: list IAM roles: the appliance answered HTTP 500"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn a_role_not_yet_assumable_is_retried_until_iam_propagates_it() {
    let rig = Rig::start().await;
    rig.appliance.sim.set_faults(Faults {
        assume_failures: 1,
        ..Faults::default()
    });
    let answer = rig.create(props("VeeamEc2Role", "ec2")).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    let posts: Vec<u16> = rig
        .appliance
        .sim
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/amazon"))
        .map(|r| r.status)
        .collect();
    assert_eq!(posts, [400, 201]);

    rig.appliance.sim.set_faults(Faults {
        assume_failures: 1000,
        ..Faults::default()
    });
    let answer = rig
        .send_within(
            &rig.resource.create(props("Other", "rds")),
            Duration::from_secs(12),
        )
        .await;
    assert_eq!(answer["Status"], "FAILED");
    assert!(
        reason(&answer).contains("could not assume role arn:aws:iam::123456789012:role/Other"),
        "{answer}"
    );
}

#[tokio::test]
async fn update_converges_in_place_or_replaces_when_the_identity_changes() {
    let rig = Rig::start().await;
    let created = rig.create(props("VeeamEc2Role", "ec2")).await;
    let id = &created["PhysicalResourceId"];

    let mut rotated = props("VeeamEc2Role", "ec2");
    rotated["RoleExtId"] = json!("RotatedExternalId0002");
    rotated["Description"] = json!("rotated");
    let updated = rig
        .update(id, rotated.clone(), props("VeeamEc2Role", "ec2"))
        .await;
    assert_eq!(updated["Status"], "SUCCESS", "{updated}");
    assert_eq!(
        &updated["PhysicalResourceId"], id,
        "same identity, same physical ID"
    );
    let role = &rig.registrations()[0];
    assert_eq!(
        (role.external_id.as_deref(), role.description.as_deref()),
        (
            Some("RotatedExternalId0002"),
            Some("rotated [vbaws:5b3a7c10-0000-4000-8000-123456789012/Ec2RoleRegistration]")
        )
    );

    let mut moved = rotated.clone();
    moved["Purpose"] = json!("ec2-restore");
    let replaced = rig.update(id, moved.clone(), rotated.clone()).await;
    assert_eq!(replaced["Status"], "SUCCESS", "{replaced}");
    assert_ne!(
        &replaced["PhysicalResourceId"], id,
        "a new purpose is a replacement"
    );
    assert_eq!(
        rig.registrations().len(),
        2,
        "the old one stays until CloudFormation deletes it"
    );

    let cleanup = rig.delete(id, rotated).await;
    assert_eq!(cleanup["Status"], "SUCCESS", "{cleanup}");
    let names: Vec<String> = rig.registrations().into_iter().map(|r| r.name).collect();
    assert_eq!(names, ["123456789012-ec2-restore"]);
}

#[tokio::test]
async fn delete_removes_and_tolerates_what_is_gone_retained_or_in_use() {
    let rig = Rig::start().await;
    let created = rig.create(props("VeeamEc2Role", "ec2")).await;
    let id = &created["PhysicalResourceId"];

    let mut retain = props("VeeamEc2Role", "ec2");
    retain["OnDelete"] = json!("Retain");
    let before = rig.appliance.sim.requests().len();
    assert_eq!(rig.delete(id, retain).await["Status"], "SUCCESS");
    assert_eq!(rig.appliance.sim.requests().len(), before, "Retain makes no call");
    assert_eq!(rig.registrations().len(), 1);

    rig.appliance
        .sim
        .mark_in_use(&rig.registrations()[0].id, "policy 'nightly-ec2'");
    let blocked = rig.delete(id, props("VeeamEc2Role", "ec2")).await;
    assert_eq!(
        blocked["Status"], "SUCCESS",
        "an account leaving the OU is never blocked"
    );
    assert!(
        reason(&blocked).contains("left in the appliance") && reason(&blocked).contains("nightly-ec2"),
        "{blocked}"
    );
    assert_eq!(rig.registrations().len(), 1);

    let other = rig.create(props("VeeamWorkerRole", "worker")).await;
    let removed = rig
        .delete(&other["PhysicalResourceId"], props("VeeamWorkerRole", "worker"))
        .await;
    assert_eq!(
        (removed["Status"].as_str(), removed.get("Reason")),
        (Some("SUCCESS"), None)
    );
    assert_eq!(rig.registrations().len(), 1);
    let again = rig
        .delete(&other["PhysicalResourceId"], props("VeeamWorkerRole", "worker"))
        .await;
    assert_eq!(again["Status"], "SUCCESS", "not found is success");

    let before = rig.appliance.sim.requests().len();
    let marker = json!("vbaws:create-failed:5c2b6d0e");
    assert_eq!(
        rig.delete(&marker, props("VeeamEc2Role", "ec2")).await["Status"],
        "SUCCESS"
    );
    assert_eq!(
        rig.appliance.sim.requests().len(),
        before,
        "a failed Create's marker needs no call"
    );
}

#[tokio::test]
async fn a_delete_with_an_id_never_issued_finds_the_registration_by_name() {
    let rig = Rig::start().await;
    rig.create(props("VeeamEc2Role", "ec2")).await;
    let generated = json!("StackSet-veeam-roles-Ec2RoleRegistration-1A2B3C4D5E6F");
    assert_eq!(
        rig.delete(&generated, props("VeeamEc2Role", "ec2")).await["Status"],
        "SUCCESS"
    );
    assert!(rig.registrations().is_empty());
}

#[tokio::test]
async fn warm_invocations_share_one_login_and_survive_a_401() {
    let rig = Rig::start().await;
    for purpose in ["ec2", "worker", "rds"] {
        assert_eq!(
            rig.create(props(&format!("Role-{purpose}"), purpose)).await["Status"],
            "SUCCESS"
        );
    }
    assert_eq!(rig.appliance.sim.logins(), 1);
    assert_eq!(
        rig.extension.requests().len(),
        1,
        "the secret is read once per sandbox"
    );

    rig.appliance.sim.expire_access_tokens();
    assert_eq!(rig.create(props("Role-efs", "efs")).await["Status"], "SUCCESS");
    assert_eq!(rig.appliance.sim.logins(), 2);
    assert_eq!(rig.registrations().len(), 4);
    rig.assert_clean_output();
}

#[tokio::test]
async fn a_member_account_id_that_does_not_match_touches_nothing() {
    let rig = Rig::start().await;
    let mut wrong = props("VeeamEc2Role", "ec2");
    wrong["MemberAccountId"] = json!("210987654321");
    let answer = rig.create(wrong.clone()).await;
    assert_eq!(answer["Status"], "FAILED");
    assert!(
        reason(&answer)
            .contains("MemberAccountId is 210987654321, but this stack runs in account 123456789012"),
        "{answer}"
    );
    assert!(rig.appliance.sim.requests().is_empty());

    let mut right = props("VeeamEc2Role", "ec2");
    right["MemberAccountId"] = json!(ACCOUNT);
    let created = rig.create(right.clone()).await;
    assert_eq!(created["Status"], "SUCCESS");
    let id = &created["PhysicalResourceId"];
    let before = rig.appliance.sim.requests().len();

    // An Update keeps refusing; a Delete never blocks, and neither touches the appliance.
    let answer = rig.update(id, wrong.clone(), right).await;
    assert_eq!(answer["Status"], "FAILED", "{answer}");
    let answer = rig.delete(id, wrong).await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(answer["PhysicalResourceId"], *id);
    assert!(
        reason(&answer).contains("MemberAccountId is 210987654321, but this stack runs in account 123456789012; nothing was changed"),
        "{answer}"
    );
    assert_eq!(
        rig.appliance.sim.requests().len(),
        before,
        "no request reached the appliance"
    );
    assert_eq!(rig.registrations().len(), 1, "the registration stays");
}

#[tokio::test]
async fn an_appliance_that_does_not_answer_fails_in_time_naming_the_url() {
    let closed = format!(
        "https://127.0.0.1:{}",
        vbaws_testkit::closed_port().expect("port")
    );
    let rig = Rig::with(Setup {
        env: vec![("VEEAM_API_URL", closed.clone())],
        ..Setup::default()
    })
    .await;
    let started = tokio::time::Instant::now();
    let answer = rig
        .send_within(
            &rig.resource.create(props("VeeamEc2Role", "ec2")),
            Duration::from_secs(12),
        )
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(answer["Status"], "FAILED");
    let text = reason(&answer);
    assert!(
        text.contains(&closed) && text.contains("security group") && text.contains("route"),
        "{text}"
    );

    let rig = Rig::with(Setup {
        config: None,
        ..Setup::default()
    })
    .await;
    rig.appliance.sim.set_faults(Faults {
        hangs: 1000,
        ..Faults::default()
    });
    let answer = rig
        .send_within(
            &rig.resource.create(props("VeeamEc2Role", "ec2")),
            Duration::from_secs(12),
        )
        .await;
    assert_eq!(answer["Status"], "FAILED");
    assert!(
        reason(&answer).contains("could not reach the appliance"),
        "{answer}"
    );
}

#[tokio::test]
async fn the_negotiated_revision_is_used_unless_one_is_configured() {
    let config = Config {
        accepted_versions: vec!["1.5-rev0".into(), "1.6-rev0".into()],
        ..Config::default()
    };
    let rig = Rig::with(Setup {
        config: Some(config.clone()),
        ..Setup::default()
    })
    .await;
    assert_eq!(
        rig.create(props("VeeamEc2Role", "ec2")).await["Status"],
        "SUCCESS"
    );
    let post = rig
        .appliance
        .sim
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/amazon"))
        .expect("post");
    assert_eq!(post.revision.as_deref(), Some("1.6-rev0"));

    let rig = Rig::with(Setup {
        config: Some(config.clone()),
        env: vec![("VEEAM_API_VERSION", "1.5-rev0".into())],
        ..Setup::default()
    })
    .await;
    assert_eq!(
        rig.create(props("VeeamEc2Role", "ec2")).await["Status"],
        "SUCCESS"
    );
    assert!(
        rig.appliance
            .sim
            .requests()
            .iter()
            .all(|r| r.revision.as_deref() == Some("1.5-rev0"))
    );

    // A configured revision the appliance refuses: the answer, and where the revision is set.
    let rig = Rig::with(Setup {
        config: Some(config),
        env: vec![("VEEAM_API_VERSION", "1.8-rev0".into())],
        ..Setup::default()
    })
    .await;
    let text = rig.create_failing(props("VeeamEc2Role", "ec2")).await;
    assert!(
        text.contains("accepted none of the API revisions tried (1.8-rev0: HTTP 400")
            && text.contains("ApplianceApiVersion"),
        "{text}"
    );
    assert!(!text.contains("refused to log in"), "{text}");
}

#[tokio::test]
async fn every_event_counts_what_it_did_in_embedded_metric_format() {
    let rig = Rig::start().await;
    let created = rig.create(props("VeeamEc2Role", "ec2")).await;
    let id = &created["PhysicalResourceId"];
    rig.create(props("VeeamEc2Role", "ec2")).await; // delivered twice: adopted
    let mut rotated = props("VeeamEc2Role", "ec2");
    rotated["Description"] = json!("rotated");
    rig.update(id, rotated.clone(), props("VeeamEc2Role", "ec2"))
        .await;
    let veeam_id = rig.registrations()[0].id.clone();
    rig.appliance.sim.mark_in_use(&veeam_id, "policy 'daily'");
    rig.delete(id, rotated.clone()).await;
    rig.appliance.sim.set_faults(Faults {
        list_failures: 1,
        ..Faults::default()
    });
    rig.create(props("OtherRole", "ec2")).await; // the name is taken, and the look-up fails
    let other = rig.create(props("WorkerRole", "worker")).await;
    rig.delete(&other["PhysicalResourceId"], props("WorkerRole", "worker"))
        .await;
    rig.delete(&other["PhysicalResourceId"], props("WorkerRole", "worker"))
        .await; // already gone
    let metrics = rig.metrics();
    let counted: Vec<(&str, i64)> = metrics.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    assert_eq!(
        counted,
        [
            ("RegistrationsCreated", 1),
            ("RegistrationsAdopted", 1),
            ("RegistrationsUpdated", 1),
            ("RegistrationsRetained", 1),
            ("RegistrationsFailed", 1),
            ("RegistrationsCreated", 1),
            ("RegistrationsRemoved", 1),
        ],
        "{}",
        rig.lambda.sandbox.output()
    );
    let line = rig
        .lambda
        .sandbox
        .output()
        .lines()
        .find(|l| l.contains("\"_aws\""))
        .map(str::to_owned)
        .expect("an EMF line");
    let emf: serde_json::Value = serde_json::from_str(line.trim()).expect("the whole line is JSON");
    assert_eq!(
        emf["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        veeam_configurator::METRICS_NAMESPACE
    );
    assert_eq!(
        emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["Function"]])
    );
    assert!(
        emf["_aws"]["Timestamp"]
            .as_u64()
            .is_some_and(|t| t > 1_700_000_000_000)
    );
}
