//! `Custom::VeeamWorkerConfiguration`: the production worker configuration of the stack's
//! account, made through the real binary against the simulator.

use serde_json::{Value, json};
use vbaws_testkit::events::{StackResource, resource_in};

use crate::harness::{ACCOUNT, Rig, props, reason};

const OTHER_ACCOUNT: &str = "444455556666";

/// The worker-configuration role registered as the roles stack registers it; its appliance ID.
async fn registered(rig: &Rig) -> String {
    let answer = rig
        .create(props("VeeamWorkerConfigurationRole", "worker-config"))
        .await;
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    answer["Data"]["VeeamRoleId"].as_str().expect("id").to_owned()
}

fn workers() -> StackResource {
    resource_in(ACCOUNT, "Custom::VeeamWorkerConfiguration", "WorkerConfiguration")
}

fn network(veeam_role_id: &str, zone: &str, subnet: &str) -> Value {
    json!({"VeeamRoleId": veeam_role_id, "AvailabilityZone": zone, "VpcId": "vpc-0123456789abcdef0",
        "SubnetId": subnet, "SecurityGroupId": "sg-0123456789abcdef0"})
}

#[tokio::test]
async fn a_worker_configuration_is_made_updated_in_place_and_removed() {
    let rig = Rig::start().await;
    let role = registered(&rig).await;
    let resource = workers();

    let props = network(&role, "us-east-1b", "subnet-0123456789abcdef0");
    let made = rig.send(&resource.create(props.clone())).await;
    assert_eq!(made["Status"], "SUCCESS", "{made}");
    let held = rig.appliance.sim.worker_configurations();
    assert_eq!(held.len(), 1, "{held:?}");
    let config = &held[0];
    assert_eq!(
        (
            config.account_id.as_str(),
            config.role_id.as_str(),
            config.region.as_str(),
            config.zone.as_str()
        ),
        (ACCOUNT, role.as_str(), "us-east-1", "us-east-1b")
    );
    assert_eq!(made["Data"]["WorkerConfigurationId"], config.id.as_str());
    let id = made["PhysicalResourceId"].clone();
    assert_eq!(id, format!("{ACCOUNT}-us-east-1-workers@{}", config.id));

    // The same event again (a redelivery): the appliance refuses a second configuration for the
    // account and Region, and this one is adopted.
    let again = rig.send(&resource.create(props.clone())).await;
    assert_eq!(
        (again["Status"].clone(), again["PhysicalResourceId"].clone()),
        ("SUCCESS".into(), id.clone())
    );
    assert_eq!(rig.appliance.sim.worker_configurations().len(), 1);

    // Another subnet: the same configuration, replaced in place.
    let moved = network(&role, "us-east-1c", "subnet-89abcdef");
    let updated = rig
        .send(&resource.update(id.as_str().expect("id"), moved.clone(), props))
        .await;
    assert_eq!(updated["Status"], "SUCCESS", "{updated}");
    assert_eq!(updated["PhysicalResourceId"], id);
    let held = rig.appliance.sim.worker_configurations();
    assert_eq!(
        held.iter()
            .map(|c| (c.zone.as_str(), c.subnet_id.as_str()))
            .collect::<Vec<_>>(),
        [("us-east-1c", "subnet-89abcdef")]
    );

    let removed = rig
        .send(&resource.delete(id.as_str().expect("id"), moved.clone()))
        .await;
    assert_eq!(removed["Status"], "SUCCESS", "{removed}");
    assert!(rig.appliance.sim.worker_configurations().is_empty());
    let twice = rig.send(&resource.delete(id.as_str().expect("id"), moved)).await;
    assert_eq!(twice["Status"], "SUCCESS", "a Delete of what is gone: {twice}");
}

#[tokio::test]
async fn a_new_region_is_a_new_configuration_and_the_old_one_goes_with_the_cleanup() {
    let rig = Rig::start().await;
    let role = registered(&rig).await;
    let resource = workers();
    let here = network(&role, "us-east-1a", "subnet-01234567");
    let first = rig.send(&resource.create(here.clone())).await;
    let old_id = first["PhysicalResourceId"].as_str().expect("id").to_owned();
    let mut there = network(&role, "eu-west-1a", "subnet-89abcdef");
    there["Region"] = json!("eu-west-1");
    let moved = rig.send(&resource.update(&old_id, there, here.clone())).await;
    assert_eq!(moved["Status"], "SUCCESS", "{moved}");
    assert_ne!(moved["PhysicalResourceId"], old_id.as_str());
    let mut regions: Vec<String> = rig
        .appliance
        .sim
        .worker_configurations()
        .into_iter()
        .map(|c| c.region)
        .collect();
    regions.sort();
    assert_eq!(
        regions,
        ["eu-west-1", "us-east-1"],
        "both until CloudFormation's cleanup"
    );
    let cleanup = rig.send(&resource.delete(&old_id, here)).await;
    assert_eq!(cleanup["Status"], "SUCCESS", "{cleanup}");
    let left: Vec<String> = rig
        .appliance
        .sim
        .worker_configurations()
        .into_iter()
        .map(|c| c.region)
        .collect();
    assert_eq!(left, ["eu-west-1"]);
}

#[tokio::test]
async fn each_reason_names_the_step_and_what_to_fix() {
    let rig = Rig::start().await;
    let role = registered(&rig).await;
    let others = rig.appliance.sim.add_role(
        "444455556666-worker-config",
        OTHER_ACCOUNT,
        "VeeamWorkerConfigurationRole",
        Some("x1"),
    );
    let resource = workers();
    for (props, expected) in [
        (
            network(&role, "us-east-1z", "subnet-01234567"),
            "sees the Availability Zones [us-east-1a",
        ),
        (
            network(&role, "eu-west-1a", "subnet-01234567"),
            "is not in Region us-east-1",
        ),
        (
            network(
                "00000000-0000-4000-8000-000000000000",
                "us-east-1a",
                "subnet-01234567",
            ),
            "registration 00000000-0000-4000-8000-000000000000 is not in the appliance",
        ),
        (
            network(&others, "us-east-1a", "subnet-01234567"),
            "belongs to account 444455556666",
        ),
        (
            json!({"VeeamRoleId": role, "AvailabilityZone": "us-east-1a", "VpcId": "vpc-1", "SubnetId": "subnet-01234567", "SecurityGroupId": "sg-01234567"}),
            "ResourceProperties.VpcId is invalid",
        ),
    ] {
        let answer = rig.send(&resource.create(props)).await;
        assert_eq!(answer["Status"], "FAILED", "{expected}: {answer}");
        assert!(
            reason(&answer).contains(expected),
            "{expected}: {}",
            reason(&answer)
        );
    }
    let mut unknown = network(&role, "mars-north-1a", "subnet-01234567");
    unknown["Region"] = json!("mars-north-1");
    let answer = rig.send(&resource.create(unknown)).await;
    assert!(
        reason(&answer).contains("does not know Region mars-north-1"),
        "{answer}"
    );
    assert!(rig.appliance.sim.worker_configurations().is_empty());
}

#[tokio::test]
async fn a_forged_worker_event_changes_nothing() {
    let rig = Rig::start().await;
    let role = registered(&rig).await;
    let resource = workers();
    let made = rig
        .send(&resource.create(network(&role, "us-east-1a", "subnet-01234567")))
        .await;
    let id = made["PhysicalResourceId"].as_str().expect("id").to_owned();
    let before = rig.appliance.sim.worker_configurations();
    let theirs = network(&role, "us-east-1b", "subnet-89abcdef");
    for event in [
        resource.create(theirs.clone()),
        resource.update(&id, theirs.clone(), theirs.clone()),
        resource.delete(&id, theirs),
    ] {
        let answer = rig.forge(&event).await;
        assert!(reason(&answer).contains("could not confirm"), "{answer}");
    }
    assert_eq!(rig.appliance.sim.worker_configurations(), before);
}
