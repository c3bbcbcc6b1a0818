//! `--collect` against moto's server: each of the guide's examples is built through the EC2 API
//! (VPCs, subnets, route tables, peerings across Regions, security groups, endpoints, DNS
//! attributes), collected by the real binary and checked; then broken on purpose, network ACLs
//! and endpoint policies included.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
};

use aws_sdk_ec2::{
    Client,
    config::{BehaviorVersion, Credentials, Region},
    types::{AttributeBooleanValue, Filter, IpPermission, IpRange, PortRange, RuleAction, VpcEndpointType},
};
use vbaws_netcheck::{
    Topology,
    model::{EndpointKind, Role},
};
use vbaws_testkit::Moto;

fn fixture(name: &str) -> Topology {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../tests/fixtures/netcheck")
        .join(name);
    vbaws_netcheck::load(&std::fs::read_to_string(path).expect("fixture")).expect("topology")
}

fn ec2(moto: &Moto, region: &str) -> Client {
    let config = aws_sdk_ec2::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(vbaws_sdk::https_client())
        .endpoint_url(moto.endpoint())
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .build();
    Client::from_conf(config)
}

/// What the example became in moto: its IDs there, and the roles file that names them.
struct Built {
    vpcs: BTreeMap<String, String>,
    tables: BTreeMap<String, String>,
    groups: BTreeMap<String, String>,
    regions: BTreeMap<String, String>,
    roles: String,
}

fn region(vpc: &vbaws_netcheck::model::Vpc) -> String {
    vpc.region.clone().unwrap_or_else(|| "us-east-1".to_owned())
}

/// Builds `topology` in moto through the EC2 API, as an operator would.
async fn build(moto: &Moto, topology: &Topology) -> Built {
    let mut built = Built {
        vpcs: BTreeMap::new(),
        tables: BTreeMap::new(),
        groups: BTreeMap::new(),
        regions: BTreeMap::new(),
        roles: String::new(),
    };
    let mut subnets = BTreeMap::new();
    for vpc in &topology.vpcs {
        let region = region(vpc);
        let client = ec2(moto, &region);
        let cidr = vpc.cidrs[0];
        let id = client
            .create_vpc()
            .cidr_block(cidr.to_string())
            .send()
            .await
            .expect("vpc")
            .vpc()
            .and_then(|v| v.vpc_id())
            .expect("vpc id")
            .to_owned();
        for (attribute, on) in [("support", vpc.dns_support), ("hostnames", vpc.dns_hostnames)] {
            let value = AttributeBooleanValue::builder().value(on).build();
            let request = client.modify_vpc_attribute().vpc_id(&id);
            let request = if attribute == "support" {
                request.enable_dns_support(value)
            } else {
                request.enable_dns_hostnames(value)
            };
            request.send().await.expect("dns attribute");
        }
        let subnet_cidr = if cidr.prefix_len() >= 24 {
            cidr
        } else {
            cidr.subnets(24).expect("subnets").next().expect("first /24")
        };
        let subnet = client
            .create_subnet()
            .vpc_id(&id)
            .cidr_block(subnet_cidr.to_string())
            .send()
            .await
            .expect("subnet")
            .subnet()
            .and_then(|s| s.subnet_id())
            .expect("subnet id")
            .to_owned();
        for (n, table) in vpc.route_tables.iter().enumerate() {
            let table_id = client
                .create_route_table()
                .vpc_id(&id)
                .send()
                .await
                .expect("table")
                .route_table()
                .and_then(|t| t.route_table_id())
                .expect("table id")
                .to_owned();
            if n == 0 {
                client
                    .associate_route_table()
                    .route_table_id(&table_id)
                    .subnet_id(&subnet)
                    .send()
                    .await
                    .expect("association");
            }
            built.tables.insert(table.id.clone(), table_id);
        }
        for group in &vpc.security_groups {
            let group_id = client
                .create_security_group()
                .group_name(&group.id)
                .description("netcheck example")
                .vpc_id(&id)
                .send()
                .await
                .expect("group")
                .group_id()
                .expect("group id")
                .to_owned();
            for rule in &group.ingress {
                let ranges = rule
                    .cidrs
                    .iter()
                    .map(|c| IpRange::builder().cidr_ip(c.to_string()).build());
                let permission = IpPermission::builder()
                    .ip_protocol(&rule.protocol)
                    .from_port(i32::from(rule.from_port))
                    .to_port(i32::from(rule.to_port))
                    .set_ip_ranges(Some(ranges.collect()))
                    .build();
                client
                    .authorize_security_group_ingress()
                    .group_id(&group_id)
                    .ip_permissions(permission)
                    .send()
                    .await
                    .expect("ingress");
            }
            built.groups.insert(group.id.clone(), group_id);
        }
        subnets.insert(vpc.id.clone(), subnet);
        built.regions.insert(vpc.id.clone(), region);
        built.vpcs.insert(vpc.id.clone(), id);
    }
    // Peerings, across Regions: requested from the first VPC's Region, accepted in the second's.
    let mut peerings = BTreeMap::new();
    for peering in &topology.peerings {
        let [a, b] = &peering.between;
        let requester = ec2(moto, &built.regions[a]);
        let pcx = requester
            .create_vpc_peering_connection()
            .vpc_id(&built.vpcs[a])
            .peer_vpc_id(&built.vpcs[b])
            .peer_region(&built.regions[b])
            .send()
            .await
            .expect("peering")
            .vpc_peering_connection()
            .and_then(|p| p.vpc_peering_connection_id())
            .expect("pcx id")
            .to_owned();
        ec2(moto, &built.regions[b])
            .accept_vpc_peering_connection()
            .vpc_peering_connection_id(&pcx)
            .send()
            .await
            .expect("accept");
        peerings.insert(peering.id.clone(), pcx);
    }
    for vpc in &topology.vpcs {
        let client = ec2(moto, &built.regions[&vpc.id]);
        for table in &vpc.route_tables {
            for route in table.routes.iter().filter(|r| r.target.starts_with("pcx-")) {
                client
                    .create_route()
                    .route_table_id(&built.tables[&table.id])
                    .destination_cidr_block(route.destination.to_string())
                    .vpc_peering_connection_id(&peerings[&route.target])
                    .send()
                    .await
                    .expect("route");
            }
        }
        for endpoint in &vpc.endpoints {
            let region = &built.regions[&vpc.id];
            let kind = match endpoint.kind {
                EndpointKind::Interface => VpcEndpointType::Interface,
                EndpointKind::Gateway => VpcEndpointType::Gateway,
            };
            let groups = endpoint.security_groups.iter().map(|g| built.groups[g].clone());
            client
                .create_vpc_endpoint()
                .vpc_id(&built.vpcs[&vpc.id])
                .service_name(format!("com.amazonaws.{region}.{}", endpoint.service))
                .vpc_endpoint_type(kind)
                .private_dns_enabled(endpoint.private_dns)
                .subnet_ids(&subnets[&vpc.id])
                .set_security_group_ids(Some(groups.collect()))
                .send()
                .await
                .expect("endpoint");
        }
    }
    built.roles = roles_file(topology, &built);
    built
}

/// The roles file for the built example: one "account" per Region (moto holds them all in one).
fn roles_file(topology: &Topology, built: &Built) -> String {
    let operations: Vec<String> = topology
        .operations
        .iter()
        .map(|o| {
            serde_json::to_value(o)
                .expect("operation")
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    let mut text = format!(
        "operations: [{}]\nappliance_address: {}\nroles:\n",
        operations.join(", "),
        topology.appliance_address
    );
    for vpc in &topology.vpcs {
        let role = serde_json::to_value(vpc.role).expect("role");
        text.push_str(&format!(
            "  {}: {}\n",
            built.vpcs[&vpc.id],
            role.as_str().unwrap_or_default()
        ));
    }
    text.push_str("accounts:\n");
    let regions: std::collections::BTreeSet<&String> = built.regions.values().collect();
    for region in regions {
        text.push_str(&format!(
            "  - {{ name: account-{region}, regions: [{region}] }}\n"
        ));
    }
    text
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn netcheck(moto: &Moto, roles: &Path, out: &Path, extra_env: &[(&str, &str)]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_vbaws-netcheck"))
        .arg("--collect")
        .arg(out)
        .arg("--roles")
        .arg(roles)
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .envs(extra_env.iter().copied())
        .output()
        .expect("runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netcheck-collect-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("workdir");
    dir
}

#[tokio::test]
async fn both_guide_examples_built_in_moto_are_collected_and_pass() {
    for name in ["example1-ec2-backup.yaml", "example2-archiving.yaml"] {
        let moto = Moto::start().await.expect("moto");
        let topology = fixture(name);
        let built = build(&moto, &topology).await;
        let dir = workdir(name.trim_end_matches(".yaml"));
        let roles = dir.join("roles.yaml");
        std::fs::write(&roles, &built.roles).expect("roles");
        let out = dir.join("snapshot");
        let run = netcheck(&moto, &roles, &out, &[]);
        assert_eq!(run.code, Some(0), "{name}:\n{}\n{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains("collecting account"),
            "progress on stderr: {}",
            run.stderr
        );
        for region in built.regions.values() {
            let saved = out.join(format!("account-{region}")).join(region);
            for file in [
                "describe-vpcs.json",
                "describe-subnets.json",
                "describe-route-tables.json",
            ] {
                assert!(
                    saved.join(file).exists(),
                    "{name}: {} missing",
                    saved.join(file).display()
                );
            }
        }
        // The snapshot checks again offline, with the same verdict.
        let offline = Command::new(env!("CARGO_BIN_EXE_vbaws-netcheck"))
            .arg("--aws")
            .arg(&out)
            .arg("--roles")
            .arg(&roles)
            .output()
            .expect("runs");
        assert_eq!(
            offline.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&offline.stdout)
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[tokio::test]
async fn what_breaks_in_the_account_is_found_and_a_bad_account_stops_it() {
    let moto = Moto::start().await.expect("moto");
    let topology = fixture("example1-ec2-backup.yaml");
    let built = build(&moto, &topology).await;
    let dir = workdir("mutations");
    let roles = dir.join("roles.yaml");
    std::fs::write(&roles, &built.roles).expect("roles");
    let worker = topology
        .vpcs
        .iter()
        .find(|v| v.role == Role::Worker)
        .expect("worker");
    let repository = topology
        .vpcs
        .iter()
        .find(|v| v.role == Role::StandardRepository)
        .expect("repository");

    // Read through a role assumed in each account (moto's default account holds them all).
    let assumed = dir.join("assumed-roles.yaml");
    std::fs::write(
        &assumed,
        built.roles.replace(
            "regions: [",
            "role_arn: \"arn:aws:iam::123456789012:role/NetcheckReadOnly\", regions: [",
        ),
    )
    .expect("roles");
    let run = netcheck(&moto, &assumed, &dir.join("assumed"), &[]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);

    // The repository's return route to the workers goes.
    let repository_ec2 = ec2(&moto, &built.regions[&repository.id]);
    let table = &repository.route_tables[0].id;
    repository_ec2
        .delete_route()
        .route_table_id(&built.tables[table])
        .destination_cidr_block(worker.cidrs[0].to_string())
        .send()
        .await
        .expect("delete route");
    let run = netcheck(&moto, &roles, &dir.join("after-route"), &[]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("[routes]") && run.stdout.contains(&built.tables[table]),
        "{}",
        run.stdout
    );

    // DNS hostnames are turned off in the worker VPC.
    ec2(&moto, &built.regions[&worker.id])
        .modify_vpc_attribute()
        .vpc_id(&built.vpcs[&worker.id])
        .enable_dns_hostnames(AttributeBooleanValue::builder().value(false).build())
        .send()
        .await
        .expect("dns off");
    let run = netcheck(&moto, &roles, &dir.join("after-dns"), &[]);
    assert_eq!(run.code, Some(1));
    assert!(run.stdout.contains("[vpc-dns]"), "{}", run.stdout);

    // The S3 endpoint's group stops admitting the workers.
    let group = &repository.security_groups[0].id;
    repository_ec2
        .revoke_security_group_ingress()
        .group_id(&built.groups[group])
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .ip_ranges(IpRange::builder().cidr_ip(worker.cidrs[0].to_string()).build())
                .build(),
        )
        .send()
        .await
        .expect("revoke");
    let run = netcheck(&moto, &roles, &dir.join("after-group"), &[]);
    assert!(run.stdout.contains("[security-groups]"), "{}", run.stdout);

    // The workers' subnet gets a network ACL of its own that lets HTTPS out and nothing back in.
    let worker_ec2 = ec2(&moto, &built.regions[&worker.id]);
    let vpc_id = &built.vpcs[&worker.id];
    let in_vpc = || Filter::builder().name("vpc-id").values(vpc_id).build();
    let acl = worker_ec2
        .create_network_acl()
        .vpc_id(vpc_id)
        .send()
        .await
        .expect("acl")
        .network_acl()
        .and_then(|a| a.network_acl_id())
        .expect("acl id")
        .to_owned();
    worker_ec2
        .create_network_acl_entry()
        .network_acl_id(&acl)
        .rule_number(100)
        .protocol("6")
        .rule_action(RuleAction::Allow)
        .egress(true)
        .cidr_block("0.0.0.0/0")
        .port_range(PortRange::builder().from(443).to(443).build())
        .send()
        .await
        .expect("entry");
    let association = worker_ec2
        .describe_network_acls()
        .filters(in_vpc())
        .send()
        .await
        .expect("acls")
        .network_acls()
        .iter()
        .flat_map(|a| a.associations())
        .find_map(|a| a.network_acl_association_id())
        .expect("the subnet's association")
        .to_owned();
    worker_ec2
        .replace_network_acl_association()
        .association_id(association)
        .network_acl_id(&acl)
        .send()
        .await
        .expect("replace");
    let run = netcheck(&moto, &roles, &dir.join("after-acl"), &[]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stdout.contains("[network-acls]")
            && run.stdout.contains(&acl)
            && run.stdout.contains("stateless"),
        "{}",
        run.stdout
    );

    // The SQS endpoint's policy allows sending only: workers also receive and delete.
    let sqs = worker_ec2
        .describe_vpc_endpoints()
        .filters(in_vpc())
        .send()
        .await
        .expect("endpoints")
        .vpc_endpoints()
        .iter()
        .find(|e| e.service_name().is_some_and(|n| n.ends_with(".sqs")))
        .and_then(|e| e.vpc_endpoint_id())
        .expect("the sqs endpoint")
        .to_owned();
    let policy = serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"}]});
    worker_ec2
        .modify_vpc_endpoint()
        .vpc_endpoint_id(&sqs)
        .policy_document(policy.to_string())
        .send()
        .await
        .expect("policy");
    let run = netcheck(&moto, &roles, &dir.join("after-policy"), &[]);
    assert!(
        run.stdout.contains("[endpoint-policies]")
            && run.stdout.contains("does not allow sqs:ReceiveMessage"),
        "{}",
        run.stdout
    );

    // A profile that does not exist stops it, naming the account and the profile, and leaves
    // no snapshot behind.
    let bad = dir.join("bad-roles.yaml");
    std::fs::write(
        &bad,
        built
            .roles
            .replacen("regions: [", "profile: no-such-profile, regions: [", 1),
    )
    .expect("roles");
    let empty = dir.join("empty-aws-config");
    std::fs::write(&empty, "").expect("empty config");
    let out = dir.join("never");
    let output = Command::new(env!("CARGO_BIN_EXE_vbaws-netcheck"))
        .arg("--collect")
        .arg(&out)
        .arg("--roles")
        .arg(&bad)
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_CONFIG_FILE", &empty)
        .env("AWS_SHARED_CREDENTIALS_FILE", &empty)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("account account-eu-central-1: there is no profile no-such-profile"),
        "{stderr}"
    );
    assert!(!out.exists(), "no snapshot");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "no half-written snapshot: {leftovers:?}");

    // An existing folder is never overwritten.
    let run = netcheck(&moto, &roles, &dir.join("after-group"), &[]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);
    let _ = std::fs::remove_dir_all(dir);
}

fn ssm(moto: &Moto, region: &str) -> aws_sdk_ssm::Client {
    let config = aws_sdk_ssm::Config::builder()
        .behavior_version(aws_sdk_ssm::config::BehaviorVersion::latest())
        .http_client(vbaws_sdk::https_client())
        .endpoint_url(moto.endpoint())
        .region(aws_sdk_ssm::config::Region::new(region.to_owned()))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .build();
    aws_sdk_ssm::Client::from_conf(config)
}

/// A production account publishes its worker network in Parameter Store, as worker-network.yaml
/// does with PublishWorkerParameters; the roles file marks the account `workers: true` and no
/// longer lists the worker VPC. The published VPC is checked as the workers', and a parameter
/// the account stops publishing is found.
#[tokio::test]
async fn a_published_worker_network_is_collected_and_checked() {
    let moto = Moto::start().await.expect("moto");
    let topology = fixture("example1-ec2-backup.yaml");
    let built = build(&moto, &topology).await;
    let worker = topology
        .vpcs
        .iter()
        .find(|v| v.role == Role::Worker)
        .expect("worker");
    let region = &built.regions[&worker.id];
    let vpc_id = &built.vpcs[&worker.id];
    let worker_ec2 = ec2(&moto, region);
    let in_vpc = || Filter::builder().name("vpc-id").values(vpc_id).build();
    let subnets = worker_ec2
        .describe_subnets()
        .filters(in_vpc())
        .send()
        .await
        .expect("subnets");
    let subnet = &subnets.subnets()[0];
    let group = worker_ec2
        .create_security_group()
        .group_name("workers")
        .description("the worker instances")
        .vpc_id(vpc_id)
        .send()
        .await
        .expect("group")
        .group_id()
        .expect("group id")
        .to_owned();
    let parameters = ssm(&moto, region);
    for (name, value) in [
        ("availability-zone", subnet.availability_zone().expect("zone")),
        ("vpc-id", vpc_id.as_str()),
        ("subnet-id", subnet.subnet_id().expect("subnet id")),
        ("security-group-id", group.as_str()),
    ] {
        parameters
            .put_parameter()
            .name(format!("/vbaws/workers/{name}"))
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .value(value)
            .send()
            .await
            .expect("put parameter");
    }

    let dir = workdir("published");
    let roles = dir.join("roles.yaml");
    let account = format!("name: account-{region}, ");
    std::fs::write(
        &roles,
        built
            .roles
            .lines()
            .filter(|line| !line.contains(vpc_id.as_str()))
            .map(|line| line.replace(&account, &format!("{account}workers: true, ")))
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .expect("roles");
    let run = netcheck(&moto, &roles, &dir.join("snapshot"), &[]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    let saved = dir
        .join("snapshot")
        .join(format!("account-{region}"))
        .join(region);
    let output = std::fs::read_to_string(saved.join("ssm-get-parameters.json")).expect("saved");
    assert!(output.contains(&group), "{output}");
    // Checked as the workers' VPC though the roles file does not list it: without it the plan
    // would have no worker VPC at all.
    let roles_text = std::fs::read_to_string(&roles).expect("roles");
    let listed: vbaws_netcheck::aws::Roles = serde_norway::from_str(&roles_text).expect("roles");
    let loaded = vbaws_netcheck::aws::load(&dir.join("snapshot"), &listed).expect("load");
    assert_eq!(loaded.vpc(vpc_id).map(|v| v.role), Some(Role::Worker));

    parameters
        .delete_parameter()
        .name("/vbaws/workers/subnet-id")
        .send()
        .await
        .expect("delete parameter");
    let run = netcheck(&moto, &roles, &dir.join("after-delete"), &[]);
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("[worker-parameters]")
            && run.stdout.contains("does not publish /vbaws/workers/subnet-id"),
        "{}",
        run.stdout
    );
    let _ = std::fs::remove_dir_all(dir);
}
