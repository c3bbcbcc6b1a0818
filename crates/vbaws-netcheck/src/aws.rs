//! A topology from what the AWS CLI prints: `aws ec2 describe-vpcs`, `describe-route-tables`,
//! `describe-security-groups`, `describe-vpc-endpoints` and `describe-vpc-peering-connections`,
//! saved as `<command>.json` (one set per account, each in any folder below the one given),
//! plus a small roles file saying which VPC plays which role.

use std::{collections::BTreeMap, path::Path};

use ipnet::Ipv4Net;
use serde::Deserialize;

use crate::model::{
    Endpoint, EndpointKind, Operation, Peering, Role, Route, RouteTable, Rule, SecurityGroup, Topology, Vpc,
};

/// The roles file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Roles {
    pub operations: Vec<Operation>,
    pub appliance_address: Ipv4Net,
    /// VPC ID to role. VPCs not listed are left out.
    pub roles: BTreeMap<String, Role>,
    /// VPCs whose DNS support or DNS hostnames are off (describe-vpcs does not say; read them
    /// with `aws ec2 describe-vpc-attribute`).
    #[serde(default)]
    pub dns_off: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("the roles file names VPC {0}, which no describe-vpcs output holds")]
    UnknownVpc(String),
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Files {
    vpcs: Vec<AwsVpc>,
    route_tables: Vec<AwsRouteTable>,
    security_groups: Vec<AwsGroup>,
    vpc_endpoints: Vec<AwsEndpoint>,
    vpc_peering_connections: Vec<AwsPeering>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AwsVpc {
    vpc_id: String,
    #[serde(default)]
    owner_id: Option<String>,
    cidr_block: Ipv4Net,
    #[serde(default)]
    cidr_block_association_set: Vec<CidrAssociation>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CidrAssociation {
    cidr_block: Ipv4Net,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AwsRouteTable {
    route_table_id: String,
    vpc_id: String,
    #[serde(default)]
    routes: Vec<AwsRoute>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AwsRoute {
    destination_cidr_block: Option<Ipv4Net>,
    gateway_id: Option<String>,
    vpc_peering_connection_id: Option<String>,
    nat_gateway_id: Option<String>,
    transit_gateway_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AwsGroup {
    group_id: String,
    vpc_id: String,
    #[serde(default)]
    ip_permissions: Vec<AwsPermission>,
    #[serde(default)]
    ip_permissions_egress: Vec<AwsPermission>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AwsPermission {
    ip_protocol: String,
    from_port: Option<i32>,
    to_port: Option<i32>,
    #[serde(default)]
    ip_ranges: Vec<AwsRange>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AwsRange {
    cidr_ip: Ipv4Net,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AwsEndpoint {
    vpc_endpoint_id: String,
    vpc_endpoint_type: String,
    vpc_id: String,
    service_name: String,
    #[serde(default)]
    private_dns_enabled: bool,
    #[serde(default)]
    groups: Vec<AwsGroupRef>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AwsGroupRef {
    group_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AwsPeering {
    vpc_peering_connection_id: String,
    requester_vpc_info: PeerInfo,
    accepter_vpc_info: PeerInfo,
    status: PeeringStatus,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PeerInfo {
    vpc_id: String,
    #[serde(default)]
    region: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PeeringStatus {
    code: crate::model::PeeringState,
}

/// Reads every `*.json` below `dir` and the roles file into a topology.
pub fn load(dir: &Path, roles: &Roles) -> Result<Topology, AwsError> {
    let mut all = Files::default();
    read_dir(dir, &mut all)?;
    let mut regions: BTreeMap<String, String> = BTreeMap::new();
    for endpoint in &all.vpc_endpoints {
        if let Some(region) = endpoint.service_name.split('.').nth(2) {
            regions.insert(endpoint.vpc_id.clone(), region.to_owned());
        }
    }
    for peering in &all.vpc_peering_connections {
        for side in [&peering.requester_vpc_info, &peering.accepter_vpc_info] {
            if let Some(region) = &side.region {
                regions.insert(side.vpc_id.clone(), region.clone());
            }
        }
    }
    let mut vpcs = Vec::new();
    for (id, role) in &roles.roles {
        let vpc = all
            .vpcs
            .iter()
            .find(|v| v.vpc_id == *id)
            .ok_or_else(|| AwsError::UnknownVpc(id.clone()))?;
        let mut cidrs: Vec<Ipv4Net> = vpc
            .cidr_block_association_set
            .iter()
            .map(|a| a.cidr_block)
            .collect();
        if !cidrs.contains(&vpc.cidr_block) {
            cidrs.insert(0, vpc.cidr_block);
        }
        let dns = !roles.dns_off.contains(id);
        vpcs.push(Vpc {
            id: id.clone(),
            role: *role,
            account: vpc.owner_id.clone(),
            region: regions.get(id).cloned(),
            cidrs,
            dns_support: dns,
            dns_hostnames: dns,
            route_tables: all
                .route_tables
                .iter()
                .filter(|t| t.vpc_id == *id)
                .map(route_table)
                .collect(),
            security_groups: all
                .security_groups
                .iter()
                .filter(|g| g.vpc_id == *id)
                .map(group)
                .collect(),
            endpoints: all
                .vpc_endpoints
                .iter()
                .filter(|e| e.vpc_id == *id)
                .map(endpoint)
                .collect(),
        });
    }
    let peerings = all
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
    })
}

fn read_dir(dir: &Path, into: &mut Files) -> Result<(), AwsError> {
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
            read_dir(&path, into)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).map_err(|e| failure(&path, e.to_string()))?;
            let files: Files = serde_json::from_str(&text).map_err(|e| failure(&path, e.to_string()))?;
            into.vpcs.extend(files.vpcs);
            into.route_tables.extend(files.route_tables);
            into.security_groups.extend(files.security_groups);
            into.vpc_endpoints.extend(files.vpc_endpoints);
            into.vpc_peering_connections.extend(files.vpc_peering_connections);
        }
    }
    Ok(())
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
            r.destination_cidr_block
                .map(|destination| Route { destination, target })
        })
        .collect();
    RouteTable {
        id: table.route_table_id.clone(),
        routes,
    }
}

fn group(group: &AwsGroup) -> SecurityGroup {
    let rules = |permissions: &[AwsPermission]| -> Vec<Rule> {
        permissions
            .iter()
            .map(|p| {
                let all_ports = p.ip_protocol == "-1";
                Rule {
                    protocol: p.ip_protocol.clone(),
                    from_port: if all_ports { 0 } else { port(p.from_port) },
                    to_port: if all_ports { u16::MAX } else { port(p.to_port) },
                    cidrs: p.ip_ranges.iter().map(|r| r.cidr_ip).collect(),
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
    }
}
