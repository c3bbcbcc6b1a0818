//! `worker_parameters`: the worker network a production account publishes for the roles
//! StackSet (`WorkerNetwork: Parameters`), read from `aws ssm get-parameters` output as the CLI
//! prints it. The published VPC is checked as a worker VPC without being listed; a missing name
//! and each value that names nothing the account has, or the wrong thing, is an error.

use serde_json::{Value, json};
use vbaws_netcheck::model::Role;

use crate::aws_output::{Snapshot, assert_error, errors};

const WORKER_VPC: &str = "vpc-0a1b2c3d4e5f60001";

/// The fixture with its worker VPC no longer listed in the roles file, published instead by
/// the account that holds it, with `values` (name under /vbaws/workers → value; `None` leaves
/// the name out, as SSM does for one that does not exist).
fn published(name: &str, values: &[(&str, Option<&str>)]) -> Snapshot {
    let mut snapshot = Snapshot::new(name);
    snapshot.roles = snapshot
        .roles
        .lines()
        .filter(|line| !line.contains(WORKER_VPC))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    let mut parameters = Vec::new();
    let mut invalid = Vec::new();
    for (name, value) in values {
        let name = format!("/vbaws/workers/{name}");
        match value {
            // As `aws ssm get-parameters` prints it.
            Some(value) => parameters.push(json!({
                "Name": name,
                "Type": "String",
                "Value": value,
                "Version": 1,
                "LastModifiedDate": "2026-11-30T09:12:44.512000+00:00",
                "ARN": format!("arn:aws:ssm:us-east-1:111111111111:parameter{name}"),
                "DataType": "text"
            })),
            None => invalid.push(Value::String(name)),
        }
    }
    let output = json!({ "Parameters": parameters, "InvalidParameters": invalid });
    std::fs::write(
        snapshot.dir.join("backup-account/ssm-get-parameters.json"),
        serde_json::to_string_pretty(&output).expect("json"),
    )
    .expect("write");
    snapshot
}

const HEALTHY: &[(&str, Option<&str>)] = &[
    ("availability-zone", Some("us-east-1a")),
    ("vpc-id", Some(WORKER_VPC)),
    ("subnet-id", Some("subnet-worker-a")),
    ("security-group-id", Some("sg-workers")),
];

fn with<'a>(change: (&'a str, Option<&'a str>)) -> Vec<(&'a str, Option<&'a str>)> {
    HEALTHY
        .iter()
        .map(|&(name, value)| if name == change.0 { change } else { (name, value) })
        .collect()
}

#[test]
fn a_published_worker_network_is_checked_as_the_worker_vpc() {
    let snapshot = published("published-healthy", HEALTHY);
    let topology = snapshot.load();
    let worker = topology.vpc(WORKER_VPC).expect("the published VPC is checked");
    assert_eq!(worker.role, Role::Worker);
    assert_eq!(worker.worker_subnets, ["subnet-worker-a"]);
    assert_eq!(worker.instance_security_groups, ["sg-workers"]);
    assert_eq!(topology.published_workers.len(), 1);
    assert_eq!(topology.published_workers[0].source, "backup-account");
    let findings = snapshot.findings();
    assert!(errors(&findings).is_empty(), "{findings:#?}");
}

#[test]
fn an_account_that_does_not_publish_a_name_fails_its_stack() {
    let snapshot = published("published-missing", &with(("subnet-id", None)));
    let findings = snapshot.findings();
    assert_error(
        &findings,
        "worker-parameters",
        &[
            "backup-account",
            "/vbaws/workers/subnet-id",
            "PublishWorkerParameters=true",
        ],
    );
    let fix = findings
        .iter()
        .find(|f| f.rule.name() == "worker-parameters")
        .and_then(|f| f.fix.clone())
        .expect("a fix");
    assert!(fix.starts_with("aws ssm put-parameter"), "{fix}");
    // Still the worker VPC: its endpoints and routes are checked all the same.
    assert_eq!(
        snapshot.load().vpc(WORKER_VPC).map(|v| v.role),
        Some(Role::Worker)
    );
}

#[test]
fn each_value_that_names_the_wrong_thing_is_found() {
    let cases: &[(&str, Option<&str>, &[&str])] = &[
        (
            "vpc-id",
            Some("vpc-0gone"),
            &["vpc-0gone", "no VPC of the account"],
        ),
        ("subnet-id", Some("subnet-0gone"), &["subnet-0gone", "no subnet"]),
        (
            "availability-zone",
            Some("us-east-1b"),
            &["us-east-1b", "subnet-worker-a is in us-east-1a"],
        ),
        (
            "security-group-id",
            Some("sg-s3"),
            &["sg-s3", "vpc-0a1b2c3d4e5f60002, not to the published VPC"],
        ),
        (
            "security-group-id",
            Some("sg-0gone"),
            &["sg-0gone", "no security group"],
        ),
    ];
    for (name, value, words) in cases {
        let snapshot = published(&format!("published-{name}"), &with((name, *value)));
        assert_error(&snapshot.findings(), "worker-parameters", words);
    }
    // A subnet of another VPC than the one published.
    let mut other = published("published-other-subnet", HEALTHY);
    other.edit("backup-account/describe-subnets.json", |json| {
        json["Subnets"][0]["VpcId"] = json!("vpc-0a1b2c3d4e5f60003");
    });
    assert_error(
        &other.findings(),
        "worker-parameters",
        &[
            "subnet-worker-a",
            "is in vpc-0a1b2c3d4e5f60003, not in the published VPC",
        ],
    );
    // The roles file gives the published VPC another role.
    other = published("published-role", HEALTHY);
    other.roles = other
        .roles
        .replace("roles:\n", &format!("roles:\n  {WORKER_VPC}: other\n"));
    assert_error(
        &other.findings(),
        "worker-parameters",
        &[WORKER_VPC, "the role Other"],
    );
}

/// The names read are the ones the roles StackSet reads by default.
#[test]
fn the_names_are_the_roles_stacksets_defaults() {
    let roles = vbaws_template::Template::from_yaml(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../template/roles.yaml"
        ))
        .expect("roles.yaml"),
    )
    .expect("template")
    .parameter_defaults();
    let defaults: Vec<&String> = [
        "WorkerZoneParameter",
        "WorkerVpcParameter",
        "WorkerSubnetParameter",
        "WorkerSecurityGroupParameter",
    ]
    .iter()
    .map(|p| &roles[*p])
    .collect();
    assert_eq!(
        vbaws_netcheck::aws::published::names("/vbaws/workers")
            .iter()
            .collect::<Vec<_>>(),
        defaults
    );
}
