//! `--aws`: the guide's first example as the AWS CLI prints it for an ordinary account (a main
//! route table beside the subnets' own, a blackhole route in a table nobody uses, a removed CIDR
//! that overlapped, a partner's endpoint awaiting acceptance, rules that name security groups and
//! prefix lists, tags, IPv6, pagination fields) passes; each way such output can hide a broken
//! network is found, naming the object and its state.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::{Value, json};
use vbaws_netcheck::{Finding, Severity, Topology, aws::Roles, check, model::Role};

/// A copy of the fixture that a test may change.
pub(crate) struct Snapshot {
    pub(crate) dir: PathBuf,
    pub(crate) roles: String,
}

impl Snapshot {
    pub(crate) fn new(name: &str) -> Self {
        let source =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../tests/fixtures/netcheck/aws-example1");
        let dir = std::env::temp_dir().join(format!("netcheck-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        copy(&source, &dir);
        let roles = std::fs::read_to_string(dir.join("roles.yaml")).expect("roles");
        Self { dir, roles }
    }

    /// Changes one saved output.
    pub(crate) fn edit(&self, file: &str, change: impl FnOnce(&mut Value)) {
        let path = self.dir.join(file);
        let mut json: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        change(&mut json);
        std::fs::write(&path, json.to_string()).expect("write");
    }

    pub(crate) fn load(&self) -> Topology {
        let roles: Roles = serde_norway::from_str(&self.roles).expect("roles");
        vbaws_netcheck::aws::load(&self.dir, &roles).expect("describe outputs")
    }

    pub(crate) fn findings(&self) -> Vec<Finding> {
        check(&self.load())
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("dir");
    for entry in std::fs::read_dir(from).expect("read").flatten() {
        let path = entry.path();
        if path.is_dir() {
            copy(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).expect("copy");
        }
    }
}

pub(crate) fn errors(findings: &[Finding]) -> Vec<&Finding> {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect()
}

pub(crate) fn assert_error(findings: &[Finding], rule: &str, words: &[&str]) {
    let hit = errors(findings)
        .into_iter()
        .any(|f| f.rule.name() == rule && words.iter().all(|w| f.message.contains(w)));
    assert!(hit, "no {rule} error mentioning {words:?} in {findings:#?}");
}

fn routes_of<'a>(json: &'a mut Value, table: &str) -> &'a mut Vec<Value> {
    json["RouteTables"]
        .as_array_mut()
        .expect("tables")
        .iter_mut()
        .find(|t| t["RouteTableId"] == table)
        .expect("table")["Routes"]
        .as_array_mut()
        .expect("routes")
}

#[test]
fn real_shaped_output_of_a_healthy_network_passes() {
    let snapshot = Snapshot::new("healthy");
    let topology = snapshot.load();
    let found = check(&topology);
    assert!(errors(&found).is_empty(), "{found:#?}");
    // The guide's example gives the repository 11.0.0.0/16, a public range: that warning only.
    assert!(
        found.iter().all(|f| f.rule.name() == "public-range"),
        "no other warning: {found:#?}"
    );
    let worker = topology
        .vpcs
        .iter()
        .find(|v| v.role == Role::Worker)
        .expect("worker");
    assert_eq!(
        worker.region.as_deref(),
        Some("us-east-1"),
        "a partner's endpoint service says no Region"
    );
    assert_eq!(
        worker.cidrs,
        ["10.0.0.0/16".parse().expect("cidr")],
        "the disassociated CIDR is gone"
    );
    let tables: Vec<&str> = worker.route_tables.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(tables, ["rtb-worker"], "only the table the subnets use");
}

#[test]
fn subnets_without_their_own_table_use_the_main_one() {
    let snapshot = Snapshot::new("main-table");
    snapshot.edit("backup-account/describe-route-tables.json", |json| {
        for table in json["RouteTables"].as_array_mut().expect("tables") {
            if table["RouteTableId"] == "rtb-worker" {
                table["Associations"] = json!([]);
            }
        }
    });
    assert_error(
        &snapshot.findings(),
        "routes",
        &["rtb-main", "11.0.0.0/16", "no route"],
    );
}

#[test]
fn the_subnets_the_roles_file_names_decide_which_tables_count() {
    let mut snapshot = Snapshot::new("named-subnets");
    snapshot
        .roles
        .push_str("subnets:\n  vpc-0a1b2c3d4e5f60001: [subnet-elsewhere]\n");
    // A subnet with no table of its own uses the main table, which has no peering route.
    assert_error(&snapshot.findings(), "routes", &["rtb-main", "11.0.0.0/16"]);
}

#[test]
fn a_blackhole_route_carries_nothing_and_is_named() {
    let snapshot = Snapshot::new("blackhole");
    snapshot.edit("backup-account/describe-route-tables.json", |json| {
        for route in routes_of(json, "rtb-worker") {
            if route["DestinationCidrBlock"] == "11.0.0.0/16" {
                route["State"] = json!("blackhole");
            }
        }
    });
    let found = snapshot.findings();
    assert_error(&found, "routes", &["rtb-worker", "11.0.0.0/16", "blackhole"]);
    let fix = found.iter().find_map(|f| f.fix.clone()).unwrap_or_default();
    assert!(
        fix.starts_with("aws ec2 replace-route --route-table-id rtb-worker"),
        "{fix}"
    );
}

#[test]
fn an_endpoint_that_is_not_available_is_named_with_its_state() {
    for state in ["pendingAcceptance", "rejected", "failed", "deleted"] {
        let snapshot = Snapshot::new(&format!("endpoint-{state}"));
        snapshot.edit("backup-account/describe-vpc-endpoints.json", |json| {
            for endpoint in json["VpcEndpoints"].as_array_mut().expect("endpoints") {
                if endpoint["VpcEndpointId"] == "vpce-ssm" {
                    endpoint["State"] = json!(state);
                }
            }
        });
        assert_error(
            &snapshot.findings(),
            "endpoints",
            &["vpce-ssm", state, "not available"],
        );
    }
    let snapshot = Snapshot::new("s3-endpoint-pending");
    snapshot.edit("repository-account/describe-vpc-endpoints.json", |json| {
        json["VpcEndpoints"][0]["State"] = json!("pending");
    });
    assert_error(&snapshot.findings(), "endpoints", &["vpce-s3", "pending"]);
}

#[test]
fn a_peering_that_is_not_active_is_named_with_its_state() {
    for (state, fix) in [
        ("pending-acceptance", "accept-vpc-peering-connection"),
        ("rejected", "create-vpc-peering-connection"),
        ("expired", "create-vpc-peering-connection"),
    ] {
        let snapshot = Snapshot::new(&format!("peering-{state}"));
        snapshot.edit(
            "repository-account/describe-vpc-peering-connections.json",
            |json| {
                json["VpcPeeringConnections"][0]["Status"]["Code"] = json!(state);
            },
        );
        let found = snapshot.findings();
        assert_error(&found, "peering", &["pcx-xxxx", state]);
        assert!(
            found
                .iter()
                .filter_map(|f| f.fix.as_deref())
                .any(|f| f.contains(fix)),
            "{state}: {found:#?}"
        );
    }
}

#[test]
fn only_an_associated_cidr_overlaps() {
    let snapshot = Snapshot::new("cidr");
    snapshot.edit("backup-account/describe-vpcs.json", |json| {
        json["Vpcs"][0]["CidrBlockAssociationSet"][1]["CidrBlockState"]["State"] = json!("associated");
    });
    assert_error(&snapshot.findings(), "cidr-overlap", &["11.0.128.0/17"]);
}

#[test]
fn rules_that_name_the_sources_security_group_admit_them() {
    let mut snapshot = Snapshot::new("group-reference");
    snapshot.roles = snapshot.roles.replace(
        "vpc-0a1b2c3d4e5f60001: [sg-workers]",
        "vpc-0a1b2c3d4e5f60001: [sg-other]",
    );
    assert_error(
        &snapshot.findings(),
        "security-groups",
        &["ssm endpoint", "10.0.0.0/16"],
    );
}

#[test]
fn a_prefix_list_whose_entries_were_not_saved_is_a_warning_not_a_verdict() {
    let snapshot = Snapshot::new("prefix-list");
    std::fs::remove_file(
        snapshot
            .dir
            .join("repository-account/get-managed-prefix-list-entries-pl-0workers.json"),
    )
    .expect("remove");
    let found = snapshot.findings();
    assert!(errors(&found).is_empty(), "{found:#?}");
    assert!(
        found.iter().any(|f| f.severity == Severity::Warning
            && f.message.contains("pl-0workers")
            && f.message.contains("could not be verified")),
        "{found:#?}"
    );

    let snapshot = Snapshot::new("prefix-list-entries");
    snapshot.edit(
        "repository-account/get-managed-prefix-list-entries-pl-0workers.json",
        |json| {
            json["Entries"][0]["Cidr"] = json!("172.16.0.0/16");
        },
    );
    assert_error(
        &snapshot.findings(),
        "security-groups",
        &["S3 endpoint", "10.0.0.0/16"],
    );
}

#[test]
fn dns_attributes_come_from_describe_vpc_attribute() {
    let snapshot = Snapshot::new("dns");
    snapshot.edit(
        "backup-account/describe-vpc-attribute-dns-hostnames.json",
        |json| {
            json["EnableDnsHostnames"]["Value"] = json!(false);
        },
    );
    assert_error(&snapshot.findings(), "vpc-dns", &["vpc-0a1b2c3d4e5f60001"]);
}

#[test]
fn a_route_missing_from_the_aws_cli_output_is_found() {
    let snapshot = Snapshot::new("missing-route");
    snapshot.edit("repository-account/describe-route-tables.json", |json| {
        json["RouteTables"][0]["Routes"]
            .as_array_mut()
            .expect("routes")
            .retain(|r| r["DestinationCidrBlock"] != "10.0.0.0/16");
    });
    assert_error(&snapshot.findings(), "routes", &["rtb-repository", "10.0.0.0/16"]);
}

#[test]
fn a_file_that_does_not_parse_is_exit_2_naming_the_file_and_the_place() {
    let snapshot = Snapshot::new("broken");
    let file = snapshot.dir.join("backup-account/describe-subnets.json");
    std::fs::write(&file, "{\n  \"Subnets\": [\n    {\"SubnetId\": }\n  ]\n}\n").expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_vbaws-netcheck"))
        .arg("--aws")
        .arg(&snapshot.dir)
        .arg("--roles")
        .arg(snapshot.dir.join("roles.yaml"))
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("describe-subnets.json") && stderr.contains("line 3"),
        "{stderr}"
    );
}

fn acl_entries<'a>(json: &'a mut Value, acl: &str) -> &'a mut Vec<Value> {
    json["NetworkAcls"]
        .as_array_mut()
        .and_then(|all| all.iter_mut().find(|a| a["NetworkAclId"] == acl))
        .and_then(|a| a["Entries"].as_array_mut())
        .expect("the ACL's entries")
}

#[test]
fn network_acls_are_read_as_aws_evaluates_them() {
    let snapshot = Snapshot::new("acls-read");
    let topology = snapshot.load();
    let worker = topology
        .vpcs
        .iter()
        .find(|v| v.role == Role::Worker)
        .expect("worker");
    let ids: Vec<&str> = worker.network_acls.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["acl-workers"], "only the ACL of the subnets that matter");
    assert_eq!(
        worker.network_acls[0].entries.len(),
        6,
        "IPv6 entries are left out"
    );
    assert_eq!(worker.worker_subnets, ["subnet-worker-a", "subnet-worker-b"]);
}

/// HTTPS out is allowed, its answers are not let back in: a stateless ACL needs both.
#[test]
fn an_acl_without_the_answers_way_back_is_found_with_the_rule_that_adds_it() {
    let snapshot = Snapshot::new("acl-answers");
    snapshot.edit("backup-account/describe-network-acls.json", |json| {
        acl_entries(json, "acl-workers").retain(|e| !(e["Egress"] == false && e["RuleNumber"] == 100));
    });
    let found = snapshot.findings();
    assert_error(
        &found,
        "network-acls",
        &[
            "acl-workers",
            "the answers in (TCP 1024-65535)",
            "11.0.0.0/16",
            "stateless",
            "(*) denies",
        ],
    );
    let fix = found
        .iter()
        .find(|f| f.rule.name() == "network-acls")
        .and_then(|f| f.fix.clone())
        .expect("a fix");
    assert!(
        fix.contains("create-network-acl-entry --network-acl-id acl-workers --ingress --rule-number 32766 --protocol tcp --port-range From=1024,To=65535"),
        "{fix}"
    );
}

#[test]
fn a_deny_numbered_before_the_allow_is_named_and_the_fix_goes_before_it() {
    let snapshot = Snapshot::new("acl-deny");
    snapshot.edit("backup-account/describe-network-acls.json", |json| {
        acl_entries(json, "acl-workers").push(json!({"CidrBlock": "11.0.0.0/8", "Egress": true,
            "PortRange": {"From": 443, "To": 443}, "Protocol": "6", "RuleAction": "deny", "RuleNumber": 90}));
    });
    let found = snapshot.findings();
    assert_error(
        &found,
        "network-acls",
        &["rule 90 denies TCP port 443 to 11.0.0.0/8", "HTTPS (443) out"],
    );
    assert!(
        found.iter().any(|f| f
            .fix
            .as_deref()
            .is_some_and(|c| c.contains("--egress --rule-number 89"))),
        "{found:#?}"
    );
    // The workers' own endpoints are still reachable: only the repository's range is denied.
    assert!(
        !found
            .iter()
            .any(|f| f.rule.name() == "network-acls" && f.message.contains("their VPC's endpoints")),
        "{found:#?}"
    );
}

#[test]
fn endpoint_policies_that_leave_out_a_workers_call_or_the_repository_are_found() {
    let snapshot = Snapshot::new("policies");
    snapshot.edit("backup-account/describe-vpc-endpoints.json", |json| {
        let sqs = json["VpcEndpoints"]
            .as_array_mut()
            .and_then(|all| all.iter_mut().find(|e| e["VpcEndpointId"] == "vpce-sqs"))
            .expect("sqs");
        sqs["PolicyDocument"] = json!(
            json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"}]}).to_string()
        );
    });
    snapshot.edit("repository-account/describe-vpc-endpoints.json", |json| {
        let s3 = json["VpcEndpoints"]
            .as_array_mut()
            .and_then(|all| all.iter_mut().find(|e| e["VpcEndpointId"] == "vpce-s3"))
            .expect("s3");
        s3["PolicyDocument"] = json!(
            json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::another-bucket/*"}]}).to_string()
        );
    });
    let found = snapshot.findings();
    for words in [
        &["vpce-sqs", "does not allow sqs:ReceiveMessage", "workers"][..],
        &["vpce-sqs", "does not allow sqs:DeleteMessage"],
        &[
            "vpce-s3",
            "does not allow s3:PutObject on arn:aws:s3:::veeam-repository-example/*",
        ],
        &[
            "vpce-s3",
            "does not allow s3:ListBucket on arn:aws:s3:::veeam-repository-example",
        ],
    ] {
        assert_error(&found, "endpoint-policies", words);
    }
    assert!(
        !found.iter().any(|f| f.message.contains("sqs:SendMessage")),
        "what the policy allows is not reported: {found:#?}"
    );
}
