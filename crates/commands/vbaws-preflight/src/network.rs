//! The configurator's network: from its subnets to S3 (every answer to CloudFormation), to
//! Secrets Manager (the extension), to STS and CloudFormation (confirming each event), and to the
//! appliance.

use aws_sdk_ec2::types::{Filter, IpPermission, NatGateway, RouteTable, SecurityGroup, Subnet, VpcEndpoint};
use ipnet::Ipv4Net;

use crate::{Aws, Check, InterfacePath, Plan, S3Path, aws::describe, secret::LambdasStack};

/// What EC2 says about the VPC, read once.
struct Vpc {
    subnets: Vec<Subnet>,
    route_tables: Vec<RouteTable>,
    endpoints: Vec<VpcEndpoint>,
    nat_gateways: Vec<NatGateway>,
}

pub(crate) async fn checks(aws: &Aws, plan: &Plan, stack: &LambdasStack) -> Vec<Check> {
    let Some(vpc_id) = &plan.vpc else {
        return [
            "s3-path",
            "secrets-manager-path",
            "sts-path",
            "cloudformation-path",
            "organizations-path",
            "appliance-access",
        ]
        .into_iter()
        .map(|name| Check::skip(name, "no --vpc and --subnets given"))
        .collect();
    };
    let vpc = match Vpc::read(aws, vpc_id, &plan.subnets).await {
        Ok(vpc) => vpc,
        Err(detail) => {
            return vec![Check::fail(
                "configurator-subnets",
                detail,
                "give the VPC and the private subnets the configurator will run in (--vpc, --subnets)",
            )];
        }
    };
    let mut checks = vec![s3_path(&vpc, plan)];
    for interface in interfaces(plan) {
        checks.push(interface_path(aws, &vpc, plan, stack, &interface).await);
    }
    checks.push(appliance_access(aws, plan, stack).await);
    checks
}

impl Vpc {
    async fn read(aws: &Aws, vpc_id: &str, subnet_ids: &[String]) -> Result<Self, String> {
        if subnet_ids.is_empty() {
            return Err("no --subnets given".into());
        }
        let in_vpc = Filter::builder().name("vpc-id").values(vpc_id).build();
        let subnets = aws
            .ec2
            .describe_subnets()
            .set_subnet_ids(Some(subnet_ids.to_vec()))
            .send()
            .await
            .map_err(|e| format!("subnets {}: {}", subnet_ids.join(", "), describe(&e)))?
            .subnets
            .unwrap_or_default();
        if let Some(stray) = subnets.iter().find(|s| s.vpc_id() != Some(vpc_id)) {
            return Err(format!(
                "{} is in {}, not in {vpc_id}",
                stray.subnet_id().unwrap_or_default(),
                stray.vpc_id().unwrap_or_default()
            ));
        }
        let route_tables = aws
            .ec2
            .describe_route_tables()
            .filters(in_vpc.clone())
            .send()
            .await
            .map_err(|e| format!("route tables of {vpc_id}: {}", describe(&e)))?
            .route_tables
            .unwrap_or_default();
        let endpoints = aws
            .ec2
            .describe_vpc_endpoints()
            .filters(in_vpc.clone())
            .send()
            .await
            .map_err(|e| format!("endpoints of {vpc_id}: {}", describe(&e)))?
            .vpc_endpoints
            .unwrap_or_default();
        let nat_gateways = aws
            .ec2
            .describe_nat_gateways()
            .filter(in_vpc)
            .send()
            .await
            .map_err(|e| format!("NAT gateways of {vpc_id}: {}", describe(&e)))?
            .nat_gateways
            .unwrap_or_default();
        Ok(Self {
            subnets,
            route_tables,
            endpoints,
            nat_gateways,
        })
    }

    /// The table a subnet uses: its explicit association, else the VPC's main table.
    fn route_table(&self, subnet: &str) -> Option<&RouteTable> {
        let associated = |main: bool| {
            self.route_tables.iter().find(|t| {
                t.associations().iter().any(|a| {
                    if main {
                        a.main() == Some(true)
                    } else {
                        a.subnet_id() == Some(subnet)
                    }
                })
            })
        };
        associated(false).or_else(|| associated(true))
    }

    fn endpoint(&self, service: &str, kind: &str) -> Option<&VpcEndpoint> {
        self.endpoints.iter().find(|e| {
            e.service_name() == Some(service)
                && e.vpc_endpoint_type()
                    .is_some_and(|t| t.as_str().eq_ignore_ascii_case(kind))
                && e.state()
                    .is_some_and(|s| s.as_str().eq_ignore_ascii_case("available"))
        })
    }

    /// Subnets whose route table sends 0.0.0.0/0 to no available NAT gateway.
    fn without_nat(&self) -> Vec<String> {
        self.subnets
            .iter()
            .filter_map(Subnet::subnet_id)
            .filter(|subnet| {
                !self.route_table(subnet).is_some_and(|table| {
                    table.routes().iter().any(|r| {
                        r.destination_cidr_block() == Some("0.0.0.0/0")
                            && r.state().is_none_or(|s| s.as_str() == "active")
                            && r.nat_gateway_id().is_some_and(|id| {
                                self.nat_gateways.iter().any(|n| {
                                    n.nat_gateway_id() == Some(id)
                                        && n.state().is_some_and(|s| s.as_str() == "available")
                                })
                            })
                    })
                })
            })
            .map(str::to_owned)
            .collect()
    }

    fn cidrs(&self) -> Vec<Ipv4Net> {
        self.subnets
            .iter()
            .filter_map(|s| s.cidr_block()?.parse().ok())
            .collect()
    }
}

fn s3_path(vpc: &Vpc, plan: &Plan) -> Check {
    const NAME: &str = "s3-path";
    let service = format!("com.amazonaws.{}.s3", plan.region);
    let gateway = vpc.endpoint(&service, "Gateway");
    let with_gateway = |subnet: &&str| {
        vpc.route_table(subnet).is_some_and(|table| {
            gateway.is_some_and(|g| {
                g.route_table_ids()
                    .iter()
                    .any(|id| Some(id.as_str()) == table.route_table_id())
            })
        })
    };
    let subnets: Vec<&str> = vpc.subnets.iter().filter_map(Subnet::subnet_id).collect();
    match plan.s3_path {
        None => Check::skip(NAME, "no --s3-path given"),
        Some(S3Path::ExistingGatewayEndpoint) => {
            let missing: Vec<&str> = subnets.iter().filter(|s| !with_gateway(s)).copied().collect();
            if missing.is_empty() {
                Check::pass(NAME, "every subnet's route table has the S3 gateway endpoint")
            } else {
                Check::fail(
                    NAME,
                    format!(
                        "no available S3 gateway endpoint on the route tables of {}",
                        missing.join(", ")
                    ),
                    "use S3_PATH=CreateGatewayEndpoint with ROUTE_TABLES=<their route tables>, or S3_PATH=Nat if they route to a NAT gateway; without a path, every stack waits its ServiceTimeout",
                )
            }
        }
        Some(S3Path::CreateGatewayEndpoint) => {
            let taken: Vec<&str> = subnets.iter().filter(|s| with_gateway(s)).copied().collect();
            let tables: Vec<&str> = subnets
                .iter()
                .filter_map(|s| vpc.route_table(s)?.route_table_id())
                .collect();
            if taken.is_empty() {
                Check::pass(
                    NAME,
                    format!(
                        "the stack creates an S3 gateway endpoint: give ROUTE_TABLES={}",
                        tables.join(",")
                    ),
                )
            } else {
                Check::fail(
                    NAME,
                    format!(
                        "the route tables of {} already have an S3 gateway endpoint; a second would fail",
                        taken.join(", ")
                    ),
                    "use S3_PATH=ExistingGatewayEndpoint",
                )
            }
        }
        Some(S3Path::Nat) => nat(NAME, vpc, "S3"),
    }
}

fn nat(name: &'static str, vpc: &Vpc, what: &str) -> Check {
    let missing = vpc.without_nat();
    if missing.is_empty() {
        Check::pass(
            name,
            format!("every subnet routes 0.0.0.0/0 to an available NAT gateway ({what})"),
        )
    } else {
        Check::fail(
            name,
            format!(
                "{} route 0.0.0.0/0 to no available NAT gateway",
                missing.join(", ")
            ),
            format!("route them to a NAT gateway, or choose an endpoint for {what}"),
        )
    }
}

/// An AWS service the configurator reaches through an interface endpoint or a NAT gateway, as
/// the Lambdas stack's parameters for it describe.
struct Interface<'a> {
    check: &'static str,
    /// The endpoint service's last label: `com.amazonaws.<region>.<service>`.
    service: &'static str,
    /// The one Region whose endpoints serve it, for a service with a single endpoint.
    only_in: Option<&'static str>,
    what: &'static str,
    path: Option<InterfacePath>,
    /// The command-line flag that gives the path.
    flag: &'static str,
    /// The make variables that set the path and the existing endpoint's security group.
    variable: &'static str,
    group_variable: &'static str,
    /// The existing endpoint's security group, to which the Lambdas stack admits the configurator.
    group: Option<&'a str>,
}

/// The paths to the services the functions call through interface endpoints: Secrets Manager
/// (the extension reads the secret), STS and CloudFormation (the configurator confirms each
/// event), Organizations (the reconciler; its API is in us-east-1 only, per its API reference).
fn interfaces(plan: &Plan) -> [Interface<'_>; 4] {
    [
        Interface {
            check: "secrets-manager-path",
            flag: "--secrets-path",
            service: "secretsmanager",
            only_in: None,
            what: "Secrets Manager",
            path: plan.secrets_path,
            variable: "SECRETS_PATH",
            group_variable: "SECRETS_ENDPOINT_SG",
            group: plan.secrets_endpoint_security_group.as_deref(),
        },
        Interface {
            check: "sts-path",
            flag: "--sts-path",
            service: "sts",
            only_in: None,
            what: "STS",
            path: plan.sts_path,
            variable: "STS_PATH",
            group_variable: "ENDPOINTS_SG",
            group: plan.endpoints_security_group.as_deref(),
        },
        Interface {
            check: "cloudformation-path",
            flag: "--cloudformation-path",
            service: "cloudformation",
            only_in: None,
            what: "CloudFormation",
            path: plan.cloudformation_path,
            variable: "CLOUDFORMATION_PATH",
            group_variable: "ENDPOINTS_SG",
            group: plan.endpoints_security_group.as_deref(),
        },
        Interface {
            check: "organizations-path",
            flag: "--organizations-path",
            service: "organizations",
            only_in: Some("us-east-1"),
            what: "AWS Organizations",
            path: plan.organizations_path,
            variable: "ORGANIZATIONS_PATH",
            group_variable: "ENDPOINTS_SG",
            group: plan.endpoints_security_group.as_deref(),
        },
    ]
}

/// For a service with a single endpoint (Organizations): the paths that cannot reach it.
fn beyond_its_endpoints(plan: &Plan, to: &Interface<'_>) -> Option<Check> {
    let home = to.only_in?;
    match to.path {
        Some(InterfacePath::CreateEndpoint) => Some(Check::fail(
            to.check,
            format!("the Lambdas stack creates no endpoint for {}", to.what),
            format!("use {}=Nat, or ExistingEndpoint for one you made", to.variable),
        )),
        Some(InterfacePath::ExistingEndpoint) if plan.region != home => Some(Check::fail(
            to.check,
            format!(
                "{}'s API is in {home} only: no endpoint in {} can serve it",
                to.what, plan.region
            ),
            format!("route the subnets to a NAT gateway and use {}=Nat", to.variable),
        )),
        _ => None,
    }
}

async fn interface_path(
    aws: &Aws,
    vpc: &Vpc,
    plan: &Plan,
    stack: &LambdasStack,
    to: &Interface<'_>,
) -> Check {
    let name = to.check;
    let service = format!("com.amazonaws.{}.{}", plan.region, to.service);
    let endpoint = vpc.endpoint(&service, "Interface");
    if let Some(refused) = beyond_its_endpoints(plan, to) {
        return refused;
    }
    match to.path {
        None => Check::skip(name, format!("no {} given", to.flag)),
        Some(InterfacePath::Nat) => nat(name, vpc, to.what),
        Some(InterfacePath::CreateEndpoint) => match endpoint {
            Some(existing) if existing.private_dns_enabled() == Some(true) => Check::fail(
                name,
                format!(
                    "{} already serves {} with private DNS; a second endpoint would conflict",
                    existing.vpc_endpoint_id().unwrap_or_default(),
                    to.what
                ),
                format!(
                    "use {}=ExistingEndpoint, with {}=<its security group> to admit the configurator",
                    to.variable, to.group_variable
                ),
            ),
            _ => Check::pass(
                name,
                format!("the stack creates a {} endpoint with private DNS", to.what),
            ),
        },
        Some(InterfacePath::ExistingEndpoint) => {
            let Some(endpoint) = endpoint else {
                return Check::fail(
                    name,
                    format!("no available interface endpoint for {service} in the VPC"),
                    format!(
                        "use {}=CreateEndpoint, or Nat if the subnets route to a NAT gateway",
                        to.variable
                    ),
                );
            };
            let id = endpoint.vpc_endpoint_id().unwrap_or_default();
            if endpoint.private_dns_enabled() != Some(true) {
                return Check::fail(
                    name,
                    format!(
                        "{id} has private DNS off: the configurator would call the public endpoint and time out"
                    ),
                    format!("aws ec2 modify-vpc-endpoint --vpc-endpoint-id {id} --private-dns-enabled"),
                );
            }
            let groups =
                match security_groups(aws, endpoint.groups().iter().filter_map(|g| g.group_id())).await {
                    Ok(groups) => groups,
                    Err(detail) => {
                        return Check::fail(
                            name,
                            format!("cannot read {id}'s security groups: {detail}"),
                            "the profile needs ec2:DescribeSecurityGroups",
                        );
                    }
                };
            let source = stack.configurator_security_group.as_deref();
            let cidrs = vpc.cidrs();
            let rule_to_come = source.is_none()
                && to
                    .group
                    .is_some_and(|sg| groups.iter().any(|g| g.group_id() == Some(sg)));
            if groups.iter().any(|g| admits(g, 443, source, &cidrs)) {
                Check::pass(
                    name,
                    format!("{id}: private DNS on, and it admits the configurator on 443"),
                )
            } else if rule_to_come {
                Check::pass(
                    name,
                    format!(
                        "{id}: private DNS on; the Lambdas stack will admit the configurator to its security group"
                    ),
                )
            } else {
                Check::fail(
                    name,
                    format!(
                        "{id}'s security groups admit neither {} nor the subnets' addresses on 443",
                        source.unwrap_or("the configurator's security group (once deployed)")
                    ),
                    format!(
                        "deploy with {}=<the endpoint's security group>, which adds the rule",
                        to.group_variable
                    ),
                )
            }
        }
    }
}

async fn appliance_access(aws: &Aws, plan: &Plan, stack: &LambdasStack) -> Check {
    const NAME: &str = "appliance-access";
    let Some(appliance) = &plan.appliance_security_group else {
        return Check::skip(
            NAME,
            format!(
                "no --appliance-sg: admit the configurator's security group on port {} of the appliance yourself",
                plan.api_port
            ),
        );
    };
    // EC2 answers an unknown group with InvalidGroup.NotFound, which names it.
    let group = match security_groups(aws, [appliance.as_str()])
        .await
        .map(Vec::into_iter)
    {
        Ok(mut groups) => groups.next(),
        Err(detail) => {
            return Check::fail(
                NAME,
                format!("cannot read {appliance}: {detail}"),
                "give the security group of the appliance's instance, in this account and Region",
            );
        }
    };
    let Some(group) = group else {
        return Check::fail(
            NAME,
            format!("{appliance} does not exist in this account and Region"),
            "give the security group of the appliance's instance",
        );
    };
    match &stack.configurator_security_group {
        None => Check::pass(
            NAME,
            format!(
                "{appliance} exists; the Lambdas stack will admit the configurator on port {}",
                plan.api_port
            ),
        ),
        Some(configurator) if admits(&group, plan.api_port, Some(configurator), &[]) => Check::pass(
            NAME,
            format!("{appliance} admits {configurator} on port {}", plan.api_port),
        ),
        Some(configurator) => Check::fail(
            NAME,
            format!(
                "{appliance} does not admit {configurator} on port {}",
                plan.api_port
            ),
            format!(
                "aws ec2 authorize-security-group-ingress --group-id {appliance} --protocol tcp --port {} --source-group {configurator}",
                plan.api_port
            ),
        ),
    }
}

async fn security_groups<'a>(
    aws: &Aws,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<SecurityGroup>, String> {
    let ids: Vec<String> = ids.into_iter().map(str::to_owned).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    aws.ec2
        .describe_security_groups()
        .set_group_ids(Some(ids))
        .send()
        .await
        .map(|r| r.security_groups.unwrap_or_default())
        .map_err(|e| describe(&e))
}

/// Whether an ingress rule of `group` admits TCP `port` from the security group `source` or
/// from every one of `cidrs`, as the network checker reads rules (`vbaws_netcheck::model::Rule`).
fn admits(group: &SecurityGroup, port: i32, source: Option<&str>, cidrs: &[Ipv4Net]) -> bool {
    let Ok(port) = u16::try_from(port) else {
        return false;
    };
    let rules = ingress(group);
    let by_group = source.is_some_and(|source| {
        rules
            .iter()
            .any(|r| r.covers(port) && r.groups.iter().any(|g| g == source))
    });
    let by_cidr = !cidrs.is_empty() && cidrs.iter().all(|c| rules.iter().any(|r| r.admits(port, c, &[])));
    by_group || by_cidr
}

/// A group's ingress rules in the network checker's terms.
fn ingress(group: &SecurityGroup) -> Vec<vbaws_netcheck::model::Rule> {
    group
        .ip_permissions()
        .iter()
        .map(|p: &IpPermission| {
            let all = p.ip_protocol() == Some("-1");
            let port =
                |p: Option<i32>, default: u16| p.and_then(|p| u16::try_from(p).ok()).unwrap_or(default);
            vbaws_netcheck::model::Rule {
                protocol: p.ip_protocol().unwrap_or_default().to_owned(),
                from_port: if all { 0 } else { port(p.from_port(), 0) },
                to_port: if all {
                    u16::MAX
                } else {
                    port(p.to_port(), u16::MAX)
                },
                cidrs: p
                    .ip_ranges()
                    .iter()
                    .filter_map(|r| r.cidr_ip()?.parse().ok())
                    .collect(),
                groups: p
                    .user_id_group_pairs()
                    .iter()
                    .filter_map(|g| g.group_id().map(str::to_owned))
                    .collect(),
                unresolved_prefix_lists: Vec::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(region: &str, organizations_path: InterfacePath) -> Plan {
        Plan {
            region: region.to_owned(),
            organizational_units: Vec::new(),
            vpc: None,
            subnets: Vec::new(),
            s3_path: None,
            secrets_path: None,
            secrets_endpoint_security_group: None,
            sts_path: None,
            cloudformation_path: None,
            endpoints_security_group: None,
            organizations_path: Some(organizations_path),
            appliance_security_group: None,
            appliance_address: None,
            cert_sha256: None,
            api_port: 11005,
            layer_arn: None,
            reserved_concurrency: 0,
            lambdas_stack: "vbaws-lambdas".to_owned(),
        }
    }

    fn organizations(plan: &Plan) -> Option<Check> {
        let interfaces = interfaces(plan);
        let to = interfaces
            .iter()
            .find(|i| i.check == "organizations-path")
            .expect("listed");
        beyond_its_endpoints(plan, to)
    }

    #[test]
    fn organizations_is_reached_privately_only_from_its_own_region() {
        let refused = organizations(&plan("eu-west-1", InterfacePath::ExistingEndpoint)).expect("refused");
        assert!(refused.detail.contains("us-east-1 only"), "{refused:?}");
        assert!(
            refused
                .fix
                .as_deref()
                .unwrap_or_default()
                .contains("ORGANIZATIONS_PATH=Nat")
        );
        assert!(organizations(&plan("us-east-1", InterfacePath::ExistingEndpoint)).is_none());
        assert!(organizations(&plan("eu-west-1", InterfacePath::Nat)).is_none());
        assert!(organizations(&plan("us-east-1", InterfacePath::CreateEndpoint)).is_some());
    }
}
