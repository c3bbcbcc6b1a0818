//! The guide's two examples pass; each kind of mistake made to them is found and named.

use std::{path::Path, process::Command};

use vbaws_netcheck::{
    Finding, Severity, Topology, check,
    model::{EndpointKind, Role},
};

fn fixture(name: &str) -> Topology {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../tests/fixtures/netcheck")
        .join(name);
    vbaws_netcheck::load(&std::fs::read_to_string(path).expect("fixture")).expect("valid topology")
}

fn errors(topology: &Topology) -> Vec<Finding> {
    check(topology)
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .collect()
}

fn vpc<'a>(topology: &'a mut Topology, id: &str) -> &'a mut vbaws_netcheck::model::Vpc {
    topology.vpcs.iter_mut().find(|v| v.id == id).expect("vpc")
}

fn assert_found(found: &[Finding], rule: &str, words: &[&str]) {
    let hit = found
        .iter()
        .find(|f| f.rule.name() == rule && words.iter().all(|w| f.message.contains(w)));
    assert!(
        hit.is_some(),
        "no {rule} error mentioning {words:?} in {found:#?}"
    );
}

#[test]
fn the_guides_examples_pass() {
    for name in ["example1-ec2-backup.yaml", "example2-archiving.yaml"] {
        let found = errors(&fixture(name));
        assert!(found.is_empty(), "{name}: {found:#?}");
    }
}

#[test]
fn a_removed_return_route_is_found_with_its_fix() {
    let mut topology = fixture("example1-ec2-backup.yaml");
    vpc(&mut topology, "vpc-repository").route_tables[0]
        .routes
        .retain(|r| r.destination.to_string() != "10.0.0.0/16");
    let found = errors(&topology);
    assert_found(&found, "routes", &["rtb-repository", "10.0.0.0/16", "vpc-worker"]);
    let fix = found.iter().find_map(|f| f.fix.clone()).unwrap_or_default();
    assert_eq!(
        fix,
        "aws ec2 create-route --route-table-id rtb-repository --destination-cidr-block 10.0.0.0/16 --vpc-peering-connection-id pcx-xxxx"
    );
}

#[test]
fn overlapping_cidrs_are_found() {
    let mut topology = fixture("example1-ec2-backup.yaml");
    vpc(&mut topology, "vpc-repository").cidrs = vec!["10.0.128.0/17".parse().expect("cidr")];
    assert_found(
        &errors(&topology),
        "cidr-overlap",
        &["vpc-worker", "vpc-repository"],
    );
}

#[test]
fn a_dropped_appliance_to_archive_peering_is_found() {
    let mut topology = fixture("example2-archiving.yaml");
    topology.peerings.retain(|p| p.id != "pcx-wwww");
    let found = errors(&topology);
    assert_found(
        &found,
        "peering",
        &["vpc-appliance", "vpc-archive", "does not chain"],
    );
    assert!(found.iter().any(|f| f.fix.as_deref().is_some_and(|c| {
        c.contains("create-vpc-peering-connection --vpc-id vpc-appliance --peer-vpc-id vpc-archive")
    })));
}

#[test]
fn a_missing_endpoint_is_found_for_the_operation_that_needs_it() {
    let mut topology = fixture("example1-ec2-backup.yaml");
    vpc(&mut topology, "vpc-worker")
        .endpoints
        .retain(|e| e.service != "ebs");
    assert_found(&errors(&topology), "endpoints", &["ebs", "vpc-worker"]);
    // Archiving needs no ebs endpoint: example 2 has none and passes.
    assert!(
        fixture("example2-archiving.yaml")
            .vpcs
            .iter()
            .all(|v| v.endpoints.iter().all(|e| e.service != "ebs"))
    );
}

#[test]
fn a_gateway_endpoint_in_place_of_the_interface_endpoint_is_found() {
    let mut topology = fixture("example1-ec2-backup.yaml");
    for endpoint in &mut vpc(&mut topology, "vpc-repository").endpoints {
        endpoint.kind = EndpointKind::Gateway;
    }
    assert_found(
        &errors(&topology),
        "s3-gateway",
        &["vpc-repository", "only an S3 gateway endpoint"],
    );
}

#[test]
fn a_missing_security_group_rule_is_found() {
    let mut topology = fixture("example1-ec2-backup.yaml");
    vpc(&mut topology, "vpc-repository").security_groups[0]
        .ingress
        .retain(|r| r.cidrs[0].to_string() != "192.168.100.10/32");
    let found = errors(&topology);
    assert_found(
        &found,
        "security-groups",
        &["S3 endpoint (from the appliance)", "192.168.100.10/32"],
    );

    let mut topology = fixture("example2-archiving.yaml");
    vpc(&mut topology, "vpc-standard").security_groups[0].ingress[0]
        .cidrs
        .retain(|c| c.to_string() != "13.0.0.0/16");
    assert_found(
        &errors(&topology),
        "security-groups",
        &["from repository vpc-archive", "13.0.0.0/16"],
    );
}

#[test]
fn dns_and_private_dns_are_required_in_the_worker_vpc() {
    let mut topology = fixture("example1-ec2-backup.yaml");
    let worker = vpc(&mut topology, "vpc-worker");
    worker.dns_hostnames = false;
    worker.endpoints[0].private_dns = false;
    let found = errors(&topology);
    assert_found(&found, "vpc-dns", &["vpc-worker"]);
    assert_found(&found, "endpoints", &["private DNS off"]);
    assert!(topology.vpcs.iter().any(|v| v.role == Role::Worker));
}

fn netcheck(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_vbaws-netcheck"))
        .args(args)
        .output()
        .expect("runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn the_command_line_says_it_in_text_json_and_as_a_plan() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../tests/fixtures/netcheck");
    let good = dir.join("example1-ec2-backup.yaml");
    let (code, text) = netcheck(&[good.to_str().expect("path")]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("0 errors, 1 warnings"), "{text}");

    let mut broken = fixture("example1-ec2-backup.yaml");
    broken.peerings.clear();
    let path = std::env::temp_dir().join(format!("netcheck-broken-{}.yaml", std::process::id()));
    std::fs::write(&path, serde_norway::to_string(&broken).expect("yaml")).expect("write");
    let path = path.to_str().expect("path");
    let (code, json) = netcheck(&[path, "--format", "json"]);
    assert_eq!(code, 1);
    let findings: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert!(
        findings
            .as_array()
            .expect("array")
            .iter()
            .any(|f| f["rule"] == "peering" && f["severity"] == "error")
    );
    let (code, plan) = netcheck(&[path, "--plan"]);
    assert_eq!(code, 1);
    assert!(plan.lines().all(|l| l.starts_with("aws ec2 ")), "{plan}");
    assert!(
        plan.contains("create-vpc-peering-connection --vpc-id vpc-worker --peer-vpc-id vpc-repository"),
        "{plan}"
    );
    assert_eq!(netcheck(&["/nonexistent.yaml"]).0, 2);
    let _ = std::fs::remove_file(path);
}
