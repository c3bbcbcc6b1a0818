//! A topology from what the AWS CLI prints: `aws ec2 describe-vpcs`, `describe-subnets`,
//! `describe-route-tables`, `describe-security-groups`, `describe-vpc-endpoints`,
//! `describe-vpc-peering-connections`, `describe-network-acls`, `describe-vpc-attribute` and
//! `get-managed-prefix-list-entries`, saved as `*.json` (one set per account, each in any folder
//! below the one given), plus a small roles file saying which VPC plays which role. Read as AWS
//! means it: a subnet uses its associated route table or else the VPC's main one, and only
//! what works counts (a blackhole route, an endpoint that is not available, a disassociated
//! CIDR carry nothing).

pub mod files;
pub mod published;

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

use ipnet::Ipv4Net;
use serde::Deserialize;

use crate::model::{
    AclEntry, Endpoint, EndpointKind, NetworkAcl, Operation, Peering, Role, Route, RouteTable, Rule,
    SecurityGroup, Topology, Vpc,
};
use files::{AwsEndpoint, AwsGroup, AwsPermission, AwsRouteTable, Files};

/// The roles file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Roles {
    pub operations: Vec<Operation>,
    pub appliance_address: Ipv4Net,
    /// VPC ID to role. VPCs not listed are left out.
    pub roles: BTreeMap<String, Role>,
    /// VPCs whose DNS support or DNS hostnames are off, when no `describe-vpc-attribute` output
    /// says so.
    #[serde(default)]
    pub dns_off: Vec<String>,
    /// Per VPC, the subnets where workers, endpoints and the appliance live; by default every
    /// subnet of the VPC. Only the route tables serving them are checked.
    #[serde(default)]
    pub subnets: BTreeMap<String, Vec<String>>,
    /// Per VPC, the security groups of its instances (the workers', the appliance's): rules that
    /// admit those groups admit the instances.
    #[serde(default)]
    pub instance_security_groups: BTreeMap<String, Vec<String>>,
    /// Per worker VPC, the subnets its workers run in: their network ACLs are the workers'.
    #[serde(default)]
    pub worker_subnets: BTreeMap<String, Vec<String>>,
    /// The repositories' S3 buckets, which the S3 endpoints' policies must admit.
    #[serde(default)]
    pub repository_buckets: Vec<String>,
    /// With `--collect`: where to read each account, and how.
    #[serde(default)]
    pub accounts: Vec<crate::collect::Account>,
    /// The prefix under which production accounts publish their worker network for the roles
    /// StackSet; by default `/vbaws/workers`, the StackSet's default names. `--collect` reads
    /// them in the accounts marked `workers: true`; the VPC each account publishes is checked as
    /// a worker VPC.
    #[serde(default = "published::default_prefix")]
    pub worker_parameters: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("the roles file names VPC {0}, which no describe-vpcs output holds")]
    UnknownVpc(String),
}

/// Reads every `*.json` below `dir` and the roles file into a topology.
pub fn load(dir: &Path, roles: &Roles) -> Result<Topology, AwsError> {
    let mut all = Saved::default();
    read_dir(dir, dir, &mut all)?;
    let regions = regions(&all.files);
    let mut vpcs = roles
        .roles
        .iter()
        .map(|(id, role)| vpc(&all, roles, &regions, id, *role))
        .collect::<Result<Vec<_>, _>>()?;
    let published_workers = published::read(&all, &roles.worker_parameters, &mut vpcs, |id| {
        vpc(&all, roles, &regions, id, Role::Worker).ok()
    });
    let peerings = all
        .files
        .vpc_peering_connections
        .iter()
        .map(|p| Peering {
            id: p.vpc_peering_connection_id.clone(),
            between: [
                p.requester_vpc_info.vpc_id.clone(),
                p.accepter_vpc_info.vpc_id.clone(),
            ],
            status: p.status.code,
        })
        .collect();
    Ok(Topology {
        operations: roles.operations.clone(),
        appliance_address: roles.appliance_address,
        vpcs,
        peerings,
        repository_buckets: roles.repository_buckets.clone(),
        published_workers,
    })
}

/// VPC `id` of the saved outputs, with `role`.
fn vpc(
    all: &Saved,
    roles: &Roles,
    regions: &BTreeMap<String, String>,
    id: &str,
    role: Role,
) -> Result<Vpc, AwsError> {
    let vpc = all
        .files
        .vpcs
        .iter()
        .find(|v| v.vpc_id == id)
        .ok_or_else(|| AwsError::UnknownVpc(id.to_owned()))?;
    // A disassociated (or disassociating) CIDR overlaps nothing and routes nothing.
    let mut cidrs: Vec<Ipv4Net> = vpc
        .cidr_block_association_set
        .iter()
        .filter(|a| {
            a.cidr_block_state
                .as_ref()
                .is_none_or(|s| s.state == "associated")
        })
        .map(|a| a.cidr_block)
        .collect();
    if !cidrs.contains(&vpc.cidr_block) {
        cidrs.insert(0, vpc.cidr_block);
    }
    let (support, hostnames) = all.dns.get(id).copied().unwrap_or_default();
    let dns_off = roles.dns_off.iter().any(|v| v == id);
    Ok(Vpc {
        id: id.to_owned(),
        role,
        account: vpc.owner_id.clone(),
        region: regions.get(id).cloned(),
        cidrs,
        dns_support: support.unwrap_or(!dns_off),
        dns_hostnames: hostnames.unwrap_or(!dns_off),
        route_tables: serving_tables(&all.files, id, roles.subnets.get(id))
            .into_iter()
            .map(route_table)
            .collect(),
        security_groups: all
            .files
            .security_groups
            .iter()
            .filter(|g| g.vpc_id == id)
            .map(|g| group(g, &all.prefix_lists))
            .collect(),
        endpoints: all
            .files
            .vpc_endpoints
            .iter()
            .filter(|e| e.vpc_id == id)
            .map(endpoint)
            .collect(),
        instance_security_groups: roles
            .instance_security_groups
            .get(id)
            .cloned()
            .unwrap_or_default(),
        network_acls: network_acls(&all.files, id, roles.subnets.get(id)),
        worker_subnets: roles.worker_subnets.get(id).cloned().unwrap_or_default(),
    })
}

/// The network ACLs of the subnets that matter (every subnet of the VPC by default), with their
/// IPv4 entries (the checker reads IPv4 addresses only).
fn network_acls(files: &Files, vpc: &str, wanted: Option<&Vec<String>>) -> Vec<NetworkAcl> {
    files
        .network_acls
        .iter()
        .filter(|acl| acl.vpc_id == vpc)
        .map(|acl| NetworkAcl {
            id: acl.network_acl_id.clone(),
            subnets: acl
                .associations
                .iter()
                .filter_map(|a| a.subnet_id.clone())
                .collect(),
            entries: acl
                .entries
                .iter()
                .filter_map(|e| {
                    Some(AclEntry {
                        rule_number: u16::try_from(e.rule_number).ok()?,
                        egress: e.egress,
                        protocol: e.protocol.clone(),
                        ports: e.port_range.as_ref().map(|r| (port(r.from), port(r.to))),
                        cidr: e.cidr_block?,
                        allow: e.rule_action.eq_ignore_ascii_case("allow"),
                    })
                })
                .collect(),
        })
        // An ACL no subnet is associated with filters nothing.
        .filter(|acl| !acl.subnets.is_empty())
        .filter(|acl| wanted.is_none_or(|subnets| acl.subnets.iter().any(|s| subnets.contains(s))))
        .collect()
}

/// Everything read, with what the single-object outputs said.
#[derive(Default)]
struct Saved {
    files: Files,
    /// VPC → (DNS support, DNS hostnames), from `describe-vpc-attribute`.
    dns: BTreeMap<String, (Option<bool>, Option<bool>)>,
    /// Prefix list → its CIDRs, from `get-managed-prefix-list-entries`.
    prefix_lists: BTreeMap<String, Vec<Ipv4Net>>,
    /// `ssm get-parameters` outputs, each with its folder: they speak of one account each.
    published: Vec<published::Published>,
}

/// The Region of each VPC, as its endpoints' service names and its peerings say.
fn regions(files: &Files) -> BTreeMap<String, String> {
    let mut regions = BTreeMap::new();
    // com.amazonaws.<region>.<service>; an endpoint service of a partner
    // (com.amazonaws.vpce.<region>.vpce-svc-…) says it one label later.
    for endpoint in &files.vpc_endpoints {
        let region = endpoint
            .service_name
            .split('.')
            .skip(2)
            .take(2)
            .find(|label| looks_like_region(label));
        if let Some(region) = region {
            regions.insert(endpoint.vpc_id.clone(), region.to_owned());
        }
    }
    for peering in &files.vpc_peering_connections {
        for side in [&peering.requester_vpc_info, &peering.accepter_vpc_info] {
            if let Some(region) = &side.region {
                regions.insert(side.vpc_id.clone(), region.clone());
            }
        }
    }
    regions
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`.
fn looks_like_region(label: &str) -> bool {
    label.contains('-') && label.ends_with(|c: char| c.is_ascii_digit())
}

/// The route tables that serve the subnets that matter: each subnet's associated table, or the
/// VPC's main one. Without `describe-subnets` output for the VPC, every table counts.
fn serving_tables<'a>(files: &'a Files, vpc: &str, wanted: Option<&Vec<String>>) -> Vec<&'a AwsRouteTable> {
    let tables: Vec<&AwsRouteTable> = files.route_tables.iter().filter(|t| t.vpc_id == vpc).collect();
    let subnets: Vec<&str> = match wanted {
        Some(named) => named.iter().map(String::as_str).collect(),
        None => files
            .subnets
            .iter()
            .filter(|s| s.vpc_id == vpc)
            .map(|s| s.subnet_id.as_str())
            .collect(),
    };
    if subnets.is_empty() {
        return tables;
    }
    let associated = |table: &AwsRouteTable, subnet: &str| {
        table.associations.iter().any(|a| {
            a.subnet_id.as_deref() == Some(subnet)
                && a.association_state
                    .as_ref()
                    .is_none_or(|s| s.state == "associated")
        })
    };
    let main = tables
        .iter()
        .copied()
        .find(|t| t.associations.iter().any(|a| a.main));
    let mut serving: BTreeSet<&str> = BTreeSet::new();
    for subnet in subnets {
        let table = tables.iter().copied().find(|t| associated(t, subnet)).or(main);
        if let Some(table) = table {
            serving.insert(&table.route_table_id);
        }
    }
    tables
        .into_iter()
        .filter(|t| serving.contains(t.route_table_id.as_str()))
        .collect()
}

fn read_dir(root: &Path, dir: &Path, into: &mut Saved) -> Result<(), AwsError> {
    let failure = |path: &Path, reason: String| AwsError::Read {
        path: path.display().to_string(),
        reason,
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| failure(dir, e.to_string()))?
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_dir(root, &path, into)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).map_err(|e| failure(&path, e.to_string()))?;
            let files: Files = serde_json::from_str(&text).map_err(|e| failure(&path, e.to_string()))?;
            if !files.parameters.is_empty() || !files.invalid_parameters.is_empty() {
                let folder = dir.strip_prefix(root).unwrap_or(dir).display().to_string();
                into.published.push(published::Published {
                    source: if folder.is_empty() { ".".to_owned() } else { folder },
                    parameters: files.parameters.clone(),
                });
            }
            merge(into, files, &path);
        }
    }
    Ok(())
}

fn merge(into: &mut Saved, files: Files, path: &Path) {
    if let Some(vpc) = &files.vpc_id {
        let dns = into.dns.entry(vpc.clone()).or_default();
        if let Some(support) = files.enable_dns_support {
            dns.0 = Some(support.value);
        }
        if let Some(hostnames) = files.enable_dns_hostnames {
            dns.1 = Some(hostnames.value);
        }
    }
    if let Some(entries) = &files.entries {
        let from_name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.find("pl-").map(|at| s[at..].to_owned()));
        if let Some(id) = files.prefix_list_id.clone().or(from_name) {
            let cidrs = entries.iter().filter_map(|e| e.cidr.parse::<Ipv4Net>().ok());
            into.prefix_lists.entry(id).or_default().extend(cidrs);
        }
    }
    let all = &mut into.files;
    all.vpcs.extend(files.vpcs);
    all.subnets.extend(files.subnets);
    all.route_tables.extend(files.route_tables);
    all.security_groups.extend(files.security_groups);
    all.vpc_endpoints.extend(files.vpc_endpoints);
    all.vpc_peering_connections.extend(files.vpc_peering_connections);
    all.network_acls.extend(files.network_acls);
}

fn route_table(table: &AwsRouteTable) -> RouteTable {
    let routes = table
        .routes
        .iter()
        .filter_map(|r| {
            let target = r
                .vpc_peering_connection_id
                .clone()
                .or_else(|| r.gateway_id.clone())
                .or_else(|| r.nat_gateway_id.clone())
                .or_else(|| r.transit_gateway_id.clone())
                .unwrap_or_else(|| "other".to_owned());
            r.destination_cidr_block.map(|destination| Route {
                destination,
                target,
                blackhole: r.state.as_deref() == Some("blackhole"),
            })
        })
        .collect();
    RouteTable {
        id: table.route_table_id.clone(),
        routes,
    }
}

fn group(group: &AwsGroup, prefix_lists: &BTreeMap<String, Vec<Ipv4Net>>) -> SecurityGroup {
    let rules = |permissions: &[AwsPermission]| -> Vec<Rule> {
        permissions
            .iter()
            .map(|p| {
                let all_ports = p.ip_protocol == "-1";
                let mut cidrs: Vec<Ipv4Net> = p.ip_ranges.iter().map(|r| r.cidr_ip).collect();
                let mut unresolved = Vec::new();
                for list in &p.prefix_list_ids {
                    match prefix_lists.get(&list.prefix_list_id) {
                        Some(entries) => cidrs.extend(entries),
                        None => unresolved.push(list.prefix_list_id.clone()),
                    }
                }
                Rule {
                    protocol: p.ip_protocol.clone(),
                    from_port: if all_ports { 0 } else { port(p.from_port) },
                    to_port: if all_ports { u16::MAX } else { port(p.to_port) },
                    cidrs,
                    groups: p.user_id_group_pairs.iter().map(|g| g.group_id.clone()).collect(),
                    unresolved_prefix_lists: unresolved,
                }
            })
            .collect()
    };
    SecurityGroup {
        id: group.group_id.clone(),
        ingress: rules(&group.ip_permissions),
        egress: rules(&group.ip_permissions_egress),
    }
}

fn port(port: Option<i32>) -> u16 {
    port.and_then(|p| u16::try_from(p).ok()).unwrap_or(0)
}

fn endpoint(endpoint: &AwsEndpoint) -> Endpoint {
    // com.amazonaws.<region>.<service>, where the service may itself hold dots.
    let service = endpoint
        .service_name
        .splitn(4, '.')
        .nth(3)
        .unwrap_or(&endpoint.service_name)
        .to_owned();
    Endpoint {
        id: Some(endpoint.vpc_endpoint_id.clone()),
        service,
        kind: if endpoint.vpc_endpoint_type.eq_ignore_ascii_case("gateway") {
            EndpointKind::Gateway
        } else {
            EndpointKind::Interface
        },
        private_dns: endpoint.private_dns_enabled,
        security_groups: endpoint.groups.iter().map(|g| g.group_id.clone()).collect(),
        state: endpoint
            .state
            .clone()
            .filter(|s| !s.eq_ignore_ascii_case("available")),
        // A policy that is not JSON is kept as text, which no statement can be read from:
        // the checks then say the calls are not allowed, rather than assume they are.
        policy: endpoint.policy_document.as_ref().map(|text| {
            serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.clone()))
        }),
        subnets: endpoint.subnet_ids.clone(),
    }
}
