//! worker-network.yaml publishes a production account's worker network where the roles StackSet
//! reads it (`WorkerNetwork: Parameters`), and refuses to publish what it does not create.

use std::sync::Arc;

use vbaws_template::Stack;

use crate::support::template;

const WORKING: &[(&str, &str)] = &[
    ("VpcId", "vpc-0123456789abcdef0"),
    ("VpcCidr", "10.0.0.0/16"),
    ("SubnetIds", "subnet-0123456789abcdef0,subnet-0fedcba9876543210"),
    ("Ec2Backup", "true"),
    ("PublishWorkerParameters", "true"),
    ("WorkerAvailabilityZone", "eu-central-1a"),
];

fn broken(changes: &[(&str, &str)]) -> Vec<String> {
    crate::support::broken_rules("worker-network.yaml", "eu-central-1", WORKING, changes)
}

#[test]
fn publishing_needs_the_zone_and_a_worker_security_group() {
    assert_eq!(broken(&[]), Vec::<String>::new());
    assert_eq!(
        broken(&[
            ("PublishWorkerParameters", "false"),
            ("WorkerAvailabilityZone", "")
        ]),
        Vec::<String>::new()
    );
    assert_eq!(
        broken(&[("WorkerAvailabilityZone", "")]),
        ["PublishingNeedsAZoneAndWorkers"]
    );
    assert_eq!(
        broken(&[("Ec2Backup", "false"), ("Ec2RestoreArchiveRetention", "false")]),
        ["PublishingNeedsAZoneAndWorkers"]
    );
}

/// Played with the default prefix, the stack writes the names the roles template reads by
/// default, with the values the worker configuration needs.
#[tokio::test]
async fn the_published_names_are_the_ones_the_roles_stackset_reads() {
    let roles = template("roles.yaml");
    let defaults = roles.parameter_defaults();
    let reads = |parameter: &str| defaults[parameter].clone();
    let mut stack = Stack::new(
        Arc::new(template("worker-network.yaml")),
        "222222222222",
        "eu-central-1",
        "vbaws-workers",
        WORKING,
    );
    stack
        .create(&crate::support::NoCustomResources)
        .await
        .expect("created");
    let published = |resource: &str| {
        let properties = stack.properties(resource).expect("created");
        (
            properties["Name"].as_str().expect("a name").to_owned(),
            properties["Value"].as_str().expect("a value").to_owned(),
        )
    };
    assert_eq!(
        published("WorkerZoneParameter"),
        (reads("WorkerZoneParameter"), "eu-central-1a".to_owned())
    );
    assert_eq!(
        published("WorkerVpcParameter"),
        (reads("WorkerVpcParameter"), "vpc-0123456789abcdef0".to_owned())
    );
    assert_eq!(
        published("WorkerSubnetParameter"),
        (
            reads("WorkerSubnetParameter"),
            "subnet-0123456789abcdef0".to_owned()
        )
    );
    let group = stack.outputs().expect("outputs")["WorkerSecurityGroupId"].clone();
    assert_eq!(
        published("WorkerSecurityGroupParameter"),
        (reads("WorkerSecurityGroupParameter"), group)
    );
}
