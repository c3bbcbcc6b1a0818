//! EC2's answers, read through the SDK and written in the shape the AWS CLI prints.

use std::collections::BTreeSet;

use aws_sdk_ec2::types::{self as ec2, VpcAttributeName};
use ipnet::Ipv4Net;

use super::{CollectError, Reader};
use crate::{
    aws::files::{
        Association, AttributeValue, AwsAclAssociation, AwsAclEntry, AwsEndpoint, AwsGroup, AwsGroupPair,
        AwsGroupRef, AwsNetworkAcl, AwsParameter, AwsPeering, AwsPermission, AwsPortRange, AwsPrefixListRef,
        AwsRange, AwsRoute, AwsRouteTable, AwsSubnet, AwsVpc, CidrAssociation, Files, PeerInfo,
        PeeringStatus, PrefixListEntry, State,
    },
    model::PeeringState,
};

impl Reader<'_> {
    /// Every saved output of this account and Region, by file name.
    pub(super) async fn read_all(&self) -> Result<Vec<(String, Files)>, CollectError> {
        let ec2 = &self.ec2;
        let vpcs = ec2
            .describe_vpcs()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(self.failed("DescribeVpcs"))?;
        let subnets = ec2
            .describe_subnets()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(self.failed("DescribeSubnets"))?;
        let tables = ec2
            .describe_route_tables()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(self.failed("DescribeRouteTables"))?;
        let groups = ec2
            .describe_security_groups()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(self.failed("DescribeSecurityGroups"))?;
        let endpoints = ec2
            .describe_vpc_endpoints()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(self.failed("DescribeVpcEndpoints"))?;
        let peerings = ec2
            .describe_vpc_peering_connections()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(self.failed("DescribeVpcPeeringConnections"))?;
        let acls = ec2
            .describe_network_acls()
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(self.failed("DescribeNetworkAcls"))?;

        let mut saved = vec![
            file(
                "describe-vpcs",
                Files {
                    vpcs: vpcs.iter().filter_map(vpc).collect(),
                    ..Files::default()
                },
            ),
            file(
                "describe-subnets",
                Files {
                    subnets: subnets.iter().filter_map(subnet).collect(),
                    ..Files::default()
                },
            ),
            file(
                "describe-route-tables",
                Files {
                    route_tables: tables.iter().filter_map(route_table).collect(),
                    ..Files::default()
                },
            ),
            file(
                "describe-security-groups",
                Files {
                    security_groups: groups.iter().filter_map(group).collect(),
                    ..Files::default()
                },
            ),
            file(
                "describe-vpc-endpoints",
                Files {
                    vpc_endpoints: endpoints.iter().filter_map(endpoint).collect(),
                    ..Files::default()
                },
            ),
            file(
                "describe-vpc-peering-connections",
                Files {
                    vpc_peering_connections: peerings.iter().filter_map(peering).collect(),
                    ..Files::default()
                },
            ),
            file(
                "describe-network-acls",
                Files {
                    network_acls: acls.iter().filter_map(network_acl).collect(),
                    ..Files::default()
                },
            ),
        ];
        for id in vpcs.iter().filter_map(|v| v.vpc_id()) {
            saved.extend(self.dns_attributes(id).await?);
        }
        let lists: BTreeSet<&str> = groups
            .iter()
            .flat_map(|g| g.ip_permissions())
            .flat_map(|p| p.prefix_list_ids())
            .filter_map(|l| l.prefix_list_id())
            .collect();
        for list in lists {
            saved.extend(self.prefix_list(list).await);
        }
        if let Some(prefix) = self.worker_parameters {
            saved.push(self.worker_parameters(prefix).await?);
        }
        Ok(saved)
    }

    /// The worker network the account publishes for the roles StackSet, as
    /// `aws ssm get-parameters --names …` prints it (names it lacks under `InvalidParameters`).
    async fn worker_parameters(&self, prefix: &str) -> Result<(String, Files), CollectError> {
        let answer = self
            .ssm
            .get_parameters()
            .set_names(Some(crate::aws::published::names(prefix).to_vec()))
            .send()
            .await
            .map_err(self.failed("GetParameters"))?;
        Ok(file(
            "ssm-get-parameters",
            Files {
                parameters: answer
                    .parameters()
                    .iter()
                    .filter_map(|p| {
                        Some(AwsParameter {
                            name: p.name()?.to_owned(),
                            value: p.value()?.to_owned(),
                        })
                    })
                    .collect(),
                invalid_parameters: answer.invalid_parameters().to_vec(),
                ..Files::default()
            },
        ))
    }

    async fn dns_attributes(&self, vpc: &str) -> Result<Vec<(String, Files)>, CollectError> {
        let mut saved = Vec::new();
        for (attribute, suffix) in [
            (VpcAttributeName::EnableDnsSupport, "dns-support"),
            (VpcAttributeName::EnableDnsHostnames, "dns-hostnames"),
        ] {
            let answer = self
                .ec2
                .describe_vpc_attribute()
                .vpc_id(vpc)
                .attribute(attribute)
                .send()
                .await
                .map_err(self.failed("DescribeVpcAttribute"))?;
            let value = |v: Option<&ec2::AttributeBooleanValue>| {
                v.and_then(|v| v.value()).map(|value| AttributeValue { value })
            };
            saved.push(file(
                &format!("describe-vpc-attribute-{vpc}-{suffix}"),
                Files {
                    vpc_id: Some(vpc.to_owned()),
                    enable_dns_support: value(answer.enable_dns_support()),
                    enable_dns_hostnames: value(answer.enable_dns_hostnames()),
                    ..Files::default()
                },
            ));
        }
        Ok(saved)
    }

    /// A prefix list's entries; none when they cannot be read (the check then says it could
    /// not verify what the list admits).
    async fn prefix_list(&self, id: &str) -> Option<(String, Files)> {
        let entries = self
            .ec2
            .get_managed_prefix_list_entries()
            .prefix_list_id(id)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .ok()?;
        Some(file(
            &format!("get-managed-prefix-list-entries-{id}"),
            Files {
                prefix_list_id: Some(id.to_owned()),
                entries: Some(
                    entries
                        .iter()
                        .filter_map(|e| {
                            e.cidr().map(|cidr| PrefixListEntry {
                                cidr: cidr.to_owned(),
                            })
                        })
                        .collect(),
                ),
                ..Files::default()
            },
        ))
    }
}

fn file(name: &str, files: Files) -> (String, Files) {
    (format!("{name}.json"), files)
}

fn cidr(text: Option<&str>) -> Option<Ipv4Net> {
    text?.parse().ok()
}

fn state(text: Option<&str>) -> Option<State> {
    text.map(|state| State {
        state: state.to_owned(),
    })
}

fn vpc(vpc: &ec2::Vpc) -> Option<AwsVpc> {
    Some(AwsVpc {
        vpc_id: vpc.vpc_id()?.to_owned(),
        owner_id: vpc.owner_id().map(str::to_owned),
        cidr_block: cidr(vpc.cidr_block())?,
        cidr_block_association_set: vpc
            .cidr_block_association_set()
            .iter()
            .filter_map(|a| {
                Some(CidrAssociation {
                    cidr_block: cidr(a.cidr_block())?,
                    cidr_block_state: state(a.cidr_block_state()?.state().map(|s| s.as_str())),
                })
            })
            .collect(),
    })
}

fn subnet(subnet: &ec2::Subnet) -> Option<AwsSubnet> {
    Some(AwsSubnet {
        subnet_id: subnet.subnet_id()?.to_owned(),
        vpc_id: subnet.vpc_id()?.to_owned(),
        availability_zone: subnet.availability_zone().map(str::to_owned),
    })
}

fn route_table(table: &ec2::RouteTable) -> Option<AwsRouteTable> {
    Some(AwsRouteTable {
        route_table_id: table.route_table_id()?.to_owned(),
        vpc_id: table.vpc_id()?.to_owned(),
        routes: table
            .routes()
            .iter()
            .map(|r| AwsRoute {
                destination_cidr_block: cidr(r.destination_cidr_block()),
                gateway_id: r.gateway_id().map(str::to_owned),
                vpc_peering_connection_id: r.vpc_peering_connection_id().map(str::to_owned),
                nat_gateway_id: r.nat_gateway_id().map(str::to_owned),
                transit_gateway_id: r.transit_gateway_id().map(str::to_owned),
                state: r.state().map(|s| s.as_str().to_owned()),
            })
            .collect(),
        associations: table
            .associations()
            .iter()
            .map(|a| Association {
                main: a.main().unwrap_or(false),
                subnet_id: a.subnet_id().map(str::to_owned),
                association_state: state(a.association_state().and_then(|s| s.state()).map(|s| s.as_str())),
            })
            .collect(),
    })
}

fn group(group: &ec2::SecurityGroup) -> Option<AwsGroup> {
    let permissions = |list: &[ec2::IpPermission]| -> Vec<AwsPermission> {
        list.iter()
            .map(|p| AwsPermission {
                ip_protocol: p.ip_protocol().unwrap_or("-1").to_owned(),
                from_port: p.from_port(),
                to_port: p.to_port(),
                ip_ranges: p
                    .ip_ranges()
                    .iter()
                    .filter_map(|r| {
                        Some(AwsRange {
                            cidr_ip: cidr(r.cidr_ip())?,
                        })
                    })
                    .collect(),
                user_id_group_pairs: p
                    .user_id_group_pairs()
                    .iter()
                    .filter_map(|g| {
                        Some(AwsGroupPair {
                            group_id: g.group_id()?.to_owned(),
                        })
                    })
                    .collect(),
                prefix_list_ids: p
                    .prefix_list_ids()
                    .iter()
                    .filter_map(|l| {
                        Some(AwsPrefixListRef {
                            prefix_list_id: l.prefix_list_id()?.to_owned(),
                        })
                    })
                    .collect(),
            })
            .collect()
    };
    Some(AwsGroup {
        group_id: group.group_id()?.to_owned(),
        vpc_id: group.vpc_id()?.to_owned(),
        ip_permissions: permissions(group.ip_permissions()),
        ip_permissions_egress: permissions(group.ip_permissions_egress()),
    })
}

fn endpoint(endpoint: &ec2::VpcEndpoint) -> Option<AwsEndpoint> {
    Some(AwsEndpoint {
        vpc_endpoint_id: endpoint.vpc_endpoint_id()?.to_owned(),
        vpc_endpoint_type: endpoint.vpc_endpoint_type()?.as_str().to_owned(),
        vpc_id: endpoint.vpc_id()?.to_owned(),
        service_name: endpoint.service_name()?.to_owned(),
        state: endpoint.state().map(|s| s.as_str().to_owned()),
        private_dns_enabled: endpoint.private_dns_enabled().unwrap_or(false),
        groups: endpoint
            .groups()
            .iter()
            .filter_map(|g| {
                Some(AwsGroupRef {
                    group_id: g.group_id()?.to_owned(),
                })
            })
            .collect(),
        policy_document: endpoint.policy_document().map(str::to_owned),
        subnet_ids: endpoint.subnet_ids().to_vec(),
    })
}

fn network_acl(acl: &ec2::NetworkAcl) -> Option<AwsNetworkAcl> {
    Some(AwsNetworkAcl {
        network_acl_id: acl.network_acl_id()?.to_owned(),
        vpc_id: acl.vpc_id()?.to_owned(),
        associations: acl
            .associations()
            .iter()
            .map(|a| AwsAclAssociation {
                subnet_id: a.subnet_id().map(str::to_owned),
            })
            .collect(),
        entries: acl
            .entries()
            .iter()
            .filter_map(|e| {
                Some(AwsAclEntry {
                    rule_number: e.rule_number()?,
                    protocol: e.protocol()?.to_owned(),
                    rule_action: e.rule_action()?.as_str().to_owned(),
                    egress: e.egress()?,
                    cidr_block: cidr(e.cidr_block()),
                    port_range: e.port_range().map(|r| AwsPortRange {
                        from: r.from(),
                        to: r.to(),
                    }),
                })
            })
            .collect(),
    })
}

fn peering(peering: &ec2::VpcPeeringConnection) -> Option<AwsPeering> {
    let side = |info: Option<&ec2::VpcPeeringConnectionVpcInfo>| {
        let info = info?;
        Some(PeerInfo {
            vpc_id: info.vpc_id()?.to_owned(),
            region: info.region().map(str::to_owned),
        })
    };
    let code = peering.status()?.code()?.as_str();
    Some(AwsPeering {
        vpc_peering_connection_id: peering.vpc_peering_connection_id()?.to_owned(),
        requester_vpc_info: side(peering.requester_vpc_info())?,
        accepter_vpc_info: side(peering.accepter_vpc_info())?,
        status: PeeringStatus {
            code: serde_json::from_value(serde_json::Value::from(code)).unwrap_or(PeeringState::Other),
        },
    })
}
