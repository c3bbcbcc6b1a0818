//! The rules of Veeam's guide for worker instances in a private environment.

use std::collections::BTreeSet;

use ipnet::Ipv4Net;
use serde::Serialize;

use crate::model::{EndpointKind, Operation, PeeringState, Role, Topology, Vpc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// The rules, in the order their fixes are run: peerings first, because routes point at them;
/// then routes, security-group rules, endpoints and VPC settings. Findings sort the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    Topology,
    CidrOverlap,
    Peering,
    Routes,
    SecurityGroups,
    NetworkAcls,
    Endpoints,
    EndpointPolicies,
    S3Endpoint,
    S3Gateway,
    VpcDns,
    PublicRange,
    WorkerParameters,
}

impl Rule {
    pub fn name(self) -> &'static str {
        match self {
            Self::Topology => "topology",
            Self::CidrOverlap => "cidr-overlap",
            Self::Peering => "peering",
            Self::Routes => "routes",
            Self::SecurityGroups => "security-groups",
            Self::NetworkAcls => "network-acls",
            Self::Endpoints => "endpoints",
            Self::EndpointPolicies => "endpoint-policies",
            Self::S3Endpoint => "s3-endpoint",
            Self::S3Gateway => "s3-gateway",
            Self::VpcDns => "vpc-dns",
            Self::PublicRange => "public-range",
            Self::WorkerParameters => "worker-parameters",
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One problem, what it breaks, and the command that fixes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub rule: Rule,
    pub message: String,
    /// An AWS CLI command that adds what is missing, when one can.
    pub fix: Option<String>,
}

/// Two VPCs that must reach each other; `b_addresses` is what `a` must route to (the appliance
/// is one address, not its whole VPC).
struct Pair<'a> {
    a: &'a Vpc,
    b: &'a Vpc,
    a_addresses: Vec<Ipv4Net>,
    b_addresses: Vec<Ipv4Net>,
    why: &'static str,
}

pub fn check(topology: &Topology) -> Vec<Finding> {
    let mut findings = Vec::new();
    let pairs = required_pairs(topology, &mut findings);
    for pair in &pairs {
        check_pair(topology, pair, &mut findings);
    }
    check_worker_endpoints(topology, &mut findings);
    check_repository_endpoints(topology, &mut findings);
    check_public_ranges(topology, &mut findings);
    crate::acls::check(topology, &mut findings);
    crate::policies::check(topology, &mut findings);
    check_published_workers(topology, &mut findings);
    findings.sort_by_key(|f| (f.severity, f.rule));
    findings.dedup();
    findings
}

fn required_pairs<'a>(topology: &'a Topology, findings: &mut Vec<Finding>) -> Vec<Pair<'a>> {
    let workers: Vec<&Vpc> = topology.with_role(Role::Worker).collect();
    let standard: Vec<&Vpc> = topology.with_role(Role::StandardRepository).collect();
    let archive: Vec<&Vpc> = topology.with_role(Role::ArchiveRepository).collect();
    let archiving = topology.operations.contains(&Operation::Archive);
    let mut pairs = Vec::new();
    let whole = |v: &Vpc| v.cidrs.clone();
    for role in [Role::Worker, Role::StandardRepository] {
        if topology.with_role(role).next().is_none() {
            findings.push(error(
                Rule::Topology,
                format!("no VPC has the role {role:?}; the plan needs a worker VPC and a repository VPC"),
                None,
            ));
        }
    }
    if archiving && archive.is_empty() {
        findings.push(error(
            Rule::Topology,
            "archiving is planned, but no VPC has the role ArchiveRepository".into(),
            None,
        ));
    }
    for w in &workers {
        for r in standard
            .iter()
            .chain(if archiving { archive.iter() } else { [].iter() })
        {
            pairs.push(Pair {
                a: w,
                b: r,
                a_addresses: whole(w),
                b_addresses: whole(r),
                why: "workers write to and read from the repository",
            });
        }
    }
    if archiving {
        for s in &standard {
            for a in &archive {
                pairs.push(Pair {
                    a: s,
                    b: a,
                    a_addresses: whole(s),
                    b_addresses: whole(a),
                    why: "archiving copies from the standard to the archive repository",
                });
            }
        }
    }
    match topology.appliance_vpc() {
        Some(appliance) => {
            for r in standard.iter().chain(archive.iter()) {
                pairs.push(Pair {
                    a: appliance,
                    b: r,
                    a_addresses: vec![topology.appliance_address],
                    b_addresses: whole(r),
                    why: "the appliance reaches every repository's S3 endpoint (peering does not chain)",
                });
            }
        }
        None => findings.push(error(
            Rule::Topology,
            "no VPC has the role Appliance".into(),
            None,
        )),
    }
    pairs
}

fn check_pair(topology: &Topology, pair: &Pair<'_>, findings: &mut Vec<Finding>) {
    let (a, b) = (pair.a, pair.b);
    for x in &a.cidrs {
        for y in &b.cidrs {
            if x.contains(&y.network()) || y.contains(&x.network()) {
                findings.push(error(
                    Rule::CidrOverlap,
                    format!("VPC {} ({x}) and VPC {} ({y}) overlap, so they cannot be peered; {}: give one of them a different CIDR", a.id, b.id, pair.why),
                    None,
                ));
                return;
            }
        }
    }
    let peering = topology.peerings.iter().find(|p| {
        (p.between[0] == a.id && p.between[1] == b.id) || (p.between[0] == b.id && p.between[1] == a.id)
    });
    let pcx = match peering {
        Some(p) if p.status == PeeringState::Active => p.id.clone(),
        Some(p) if p.status == PeeringState::PendingAcceptance => {
            findings.push(error(
                Rule::Peering,
                format!(
                    "the peering {} between {} and {} is {}, not active: accept it",
                    p.id, a.id, b.id, p.status
                ),
                Some(format!(
                    "aws ec2 accept-vpc-peering-connection --vpc-peering-connection-id {}",
                    p.id
                )),
            ));
            p.id.clone()
        }
        _ => {
            let mut command = format!(
                "aws ec2 create-vpc-peering-connection --vpc-id {} --peer-vpc-id {}",
                a.id, b.id
            );
            if let Some(owner) = &b.account {
                command.push_str(&format!(" --peer-owner-id {owner}"));
            }
            if let Some(region) = b.region.as_ref().filter(|r| Some(*r) != a.region.as_ref()) {
                command.push_str(&format!(" --peer-region {region}"));
            }
            let state = peering.map_or_else(String::new, |p| format!(" (peering {} is {})", p.id, p.status));
            findings.push(error(
                Rule::Peering,
                format!(
                    "VPCs {} and {} are not peered{state}; {}. Peering does not chain, so this pair needs its own",
                    a.id, b.id, pair.why
                ),
                Some(command),
            ));
            "<the new pcx-id>".to_owned()
        }
    };
    check_routes(a, &pair.b_addresses, &pcx, b, findings);
    check_routes(b, &pair.a_addresses, &pcx, a, findings);
}

/// Every route table of `from` must send each of `to` through `pcx`, with no more specific route
/// sending part of it elsewhere (longest prefix wins).
fn check_routes(from: &Vpc, to: &[Ipv4Net], pcx: &str, peer: &Vpc, findings: &mut Vec<Finding>) {
    for table in &from.route_tables {
        for destination in to {
            // A blackhole route carries nothing: it neither routes nor shadows.
            let working = || table.routes.iter().filter(|r| !r.blackhole);
            let best = working()
                .filter(|r| r.destination.contains(destination))
                .max_by_key(|r| r.destination.prefix_len());
            let shadowed = working().find(|r| {
                destination.contains(&r.destination) && r.destination != *destination && r.target != pcx
            });
            let dead = table
                .routes
                .iter()
                .find(|r| r.blackhole && r.destination.contains(destination));
            let fix = Some(format!(
                "aws ec2 create-route --route-table-id {} --destination-cidr-block {destination} --vpc-peering-connection-id {pcx}",
                table.id
            ));
            match (best, shadowed) {
                (Some(route), _) if route.target != pcx => findings.push(error(
                    Rule::Routes,
                    format!(
                        "route table {} of VPC {} sends {destination} ({}) to {}, not through {pcx}",
                        table.id, from.id, peer.id, route.target
                    ),
                    fix,
                )),
                (None, _) if dead.is_some() => {
                    let route = dead.map(|r| (r.destination, r.target.as_str())).unwrap_or_default();
                    findings.push(error(
                        Rule::Routes,
                        format!(
                            "route table {} of VPC {} sends {} ({}) to {}, whose state is blackhole (its target is gone): nothing gets through",
                            table.id, from.id, route.0, peer.id, route.1
                        ),
                        Some(format!(
                            "aws ec2 replace-route --route-table-id {} --destination-cidr-block {} --vpc-peering-connection-id {pcx}",
                            table.id, route.0
                        )),
                    ));
                }
                (None, _) => findings.push(error(
                    Rule::Routes,
                    format!("route table {} of VPC {} has no route to {destination} ({}); traffic needs routes in both directions", table.id, from.id, peer.id),
                    fix,
                )),
                (Some(_), Some(other)) => findings.push(error(
                    Rule::Routes,
                    format!(
                        "route table {} of VPC {} sends part of {destination} ({}) elsewhere: {} goes to {}",
                        table.id, from.id, peer.id, other.destination, other.target
                    ),
                    None,
                )),
                (Some(_), None) => {}
            }
        }
    }
}

fn required_services(topology: &Topology) -> BTreeSet<&'static str> {
    topology
        .operations
        .iter()
        .flat_map(|op| op.endpoints().iter().copied())
        .collect()
}

fn check_worker_endpoints(topology: &Topology, findings: &mut Vec<Finding>) {
    let services = required_services(topology);
    for worker in topology.with_role(Role::Worker) {
        if !worker.dns_support || !worker.dns_hostnames {
            findings.push(error(
                Rule::VpcDns,
                format!("VPC {} must have DNS support and DNS hostnames enabled, or the endpoints' private DNS names do not resolve", worker.id),
                Some(format!(
                    "aws ec2 modify-vpc-attribute --vpc-id {0} --enable-dns-support '{{\"Value\":true}}' && aws ec2 modify-vpc-attribute --vpc-id {0} --enable-dns-hostnames '{{\"Value\":true}}'",
                    worker.id
                )),
            ));
        }
        let region = worker.region.as_deref().unwrap_or("<region>");
        for service in &services {
            let candidates = || {
                worker
                    .endpoints
                    .iter()
                    .filter(|e| e.service == *service && e.kind == EndpointKind::Interface)
            };
            let found = candidates().find(|e| e.is_available());
            if found.is_none()
                && let Some(broken) = candidates().next()
            {
                findings.push(unavailable(broken, &worker.id));
                continue;
            }
            match found {
                None => findings.push(error(
                    Rule::Endpoints,
                    format!("VPC {} has no {service} interface endpoint, which the planned operations need", worker.id),
                    Some(format!(
                        "aws ec2 create-vpc-endpoint --vpc-id {} --vpc-endpoint-type Interface --service-name com.amazonaws.{region}.{service} --private-dns-enabled --subnet-ids <worker subnets> --security-group-ids <endpoint security group>",
                        worker.id
                    )),
                )),
                Some(endpoint) => {
                    if !endpoint.private_dns {
                        findings.push(error(
                            Rule::Endpoints,
                            format!("the {service} endpoint of VPC {} has private DNS off, so workers still call the public name", worker.id),
                            endpoint.id.as_ref().map(|id| format!("aws ec2 modify-vpc-endpoint --vpc-endpoint-id {id} --private-dns-enabled")),
                        ));
                    }
                    for cidr in &worker.cidrs {
                        let source = Source {
                            cidr: *cidr,
                            groups: &worker.instance_security_groups,
                        };
                        admits_443(worker, &endpoint.security_groups, &source, &format!("the {service} endpoint"), findings);
                    }
                }
            }
        }
    }
}

fn check_repository_endpoints(topology: &Topology, findings: &mut Vec<Finding>) {
    let archiving = topology.operations.contains(&Operation::Archive);
    let repositories: Vec<&Vpc> = topology
        .vpcs
        .iter()
        .filter(|v| matches!(v.role, Role::StandardRepository | Role::ArchiveRepository))
        .collect();
    for repository in &repositories {
        let s3: Vec<_> = repository
            .endpoints
            .iter()
            .filter(|e| e.service == "s3")
            .collect();
        let interfaces = || s3.iter().filter(|e| e.kind == EndpointKind::Interface);
        let interface = interfaces().find(|e| e.is_available());
        if interface.is_none()
            && let Some(broken) = interfaces().next()
        {
            findings.push(unavailable(broken, &repository.id));
            continue;
        }
        let Some(interface) = interface else {
            let message = if s3.is_empty() {
                format!(
                    "repository VPC {} has no S3 interface endpoint; workers and the appliance reach the bucket through it",
                    repository.id
                )
            } else {
                format!(
                    "repository VPC {} has only an S3 gateway endpoint, which private network deployment does not support; create an S3 interface endpoint",
                    repository.id
                )
            };
            let region = repository.region.as_deref().unwrap_or("<region>");
            findings.push(error(
                if s3.is_empty() { Rule::S3Endpoint } else { Rule::S3Gateway },
                message,
                Some(format!(
                    "aws ec2 create-vpc-endpoint --vpc-id {} --vpc-endpoint-type Interface --service-name com.amazonaws.{region}.s3 --subnet-ids <repository subnets> --security-group-ids <s3 endpoint security group>",
                    repository.id
                )),
            ));
            continue;
        };
        if s3.iter().any(|e| e.kind == EndpointKind::Gateway) {
            findings.push(warning(
                Rule::S3Gateway,
                format!("repository VPC {} also has an S3 gateway endpoint: make sure the repository's settings name the interface endpoint", repository.id),
            ));
        }
        let no_groups: &[String] = &[];
        let appliance_groups = topology
            .appliance_vpc()
            .map_or(no_groups, |v| v.instance_security_groups.as_slice());
        let mut sources: Vec<(Source<'_>, String)> = vec![(
            Source {
                cidr: topology.appliance_address,
                groups: appliance_groups,
            },
            "the appliance".into(),
        )];
        for worker in topology.with_role(Role::Worker) {
            sources.extend(worker.cidrs.iter().map(|c| {
                let source = Source {
                    cidr: *c,
                    groups: &worker.instance_security_groups,
                };
                (source, format!("the workers of {}", worker.id))
            }));
        }
        if archiving {
            for other in repositories.iter().filter(|r| r.id != repository.id) {
                sources.extend(other.cidrs.iter().map(|c| {
                    let source = Source {
                        cidr: *c,
                        groups: &other.instance_security_groups,
                    };
                    (source, format!("repository {}", other.id))
                }));
            }
        }
        for (source, who) in sources {
            admits_443(
                repository,
                &interface.security_groups,
                &source,
                &format!("the S3 endpoint (from {who})"),
                findings,
            );
        }
    }
    for vpc in topology.vpcs.iter().filter(|v| v.role == Role::Worker) {
        if vpc
            .endpoints
            .iter()
            .any(|e| e.service == "s3" && e.kind == EndpointKind::Gateway)
        {
            findings.push(warning(
                Rule::S3Gateway,
                format!("worker VPC {} has an S3 gateway endpoint; private deployments use the repository's S3 interface endpoint instead", vpc.id),
            ));
        }
    }
}

/// Who must get through: an address range, and the security groups its instances are in.
struct Source<'a> {
    cidr: Ipv4Net,
    groups: &'a [String],
}

fn admits_443(vpc: &Vpc, groups: &[String], source: &Source<'_>, what: &str, findings: &mut Vec<Finding>) {
    let rules: Vec<&crate::model::Rule> = groups
        .iter()
        .filter_map(|id| vpc.security_group(id))
        .flat_map(|g| &g.ingress)
        .collect();
    if rules
        .iter()
        .any(|rule| rule.admits(443, &source.cidr, source.groups))
    {
        return;
    }
    let cidr = source.cidr;
    let unverified: Vec<&str> = rules
        .iter()
        .filter(|rule| rule.covers(443))
        .flat_map(|rule| rule.unresolved_prefix_lists.iter().map(String::as_str))
        .collect();
    if !unverified.is_empty() {
        findings.push(warning(
            Rule::SecurityGroups,
            format!(
                "{what} in VPC {} admits HTTPS (443) from prefix list {}, whose entries were not saved: whether it admits {cidr} could not be verified (save `aws ec2 get-managed-prefix-list-entries` output, or use --collect)",
                vpc.id,
                unverified.join(", ")
            ),
        ));
        return;
    }
    let group = groups.first().map_or("<its security group>", String::as_str);
    findings.push(error(
        Rule::SecurityGroups,
        format!("{what} in VPC {} does not admit HTTPS (443) from {cidr}", vpc.id),
        Some(format!("aws ec2 authorize-security-group-ingress --group-id {group} --protocol tcp --port 443 --cidr {cidr}")),
    ));
}

/// An endpoint that exists but does not carry traffic.
fn unavailable(endpoint: &crate::model::Endpoint, vpc: &str) -> Finding {
    let id = endpoint.id.as_deref().unwrap_or("(no ID)");
    let state = endpoint.state.as_deref().unwrap_or("unknown");
    error(
        Rule::Endpoints,
        format!(
            "the {} endpoint {id} of VPC {vpc} is {state}, not available: it carries nothing{}",
            endpoint.service,
            if state.eq_ignore_ascii_case("pendingAcceptance") {
                "; the endpoint service's owner must accept it"
            } else {
                "; delete it and create it again"
            }
        ),
        None,
    )
}

fn check_public_ranges(topology: &Topology, findings: &mut Vec<Finding>) {
    let private: [Ipv4Net; 4] =
        ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"].map(|c| c.parse().expect("valid"));
    for vpc in &topology.vpcs {
        for cidr in vpc
            .cidrs
            .iter()
            .filter(|c| !private.iter().any(|p| p.contains(*c)))
        {
            findings.push(warning(
                Rule::PublicRange,
                format!("VPC {} uses {cidr}, a public address range, as private addresses; AWS allows it, but it hides those internet addresses from the VPC", vpc.id),
            ));
        }
    }
}

/// What each production account publishes for the roles StackSet: a missing name fails its
/// stack (a dynamic reference to a parameter that does not exist), a value that names nothing
/// the account has fails the worker configuration.
fn check_published_workers(topology: &Topology, findings: &mut Vec<Finding>) {
    for published in &topology.published_workers {
        for name in &published.missing {
            findings.push(error(
                Rule::WorkerParameters,
                format!(
                    "{} does not publish {name}: the roles StackSet with WorkerNetwork=Parameters fails to create its stack there; deploy template/worker-network.yaml in the account with PublishWorkerParameters=true, or create the parameter",
                    published.source
                ),
                Some(format!("aws ssm put-parameter --type String --name {name} --value <value>")),
            ));
        }
        for wrong in &published.mismatches {
            findings.push(error(
                Rule::WorkerParameters,
                format!(
                    "{} publishes {} = {}: {}",
                    published.source, wrong.parameter, wrong.value, wrong.problem
                ),
                Some(format!(
                    "aws ssm put-parameter --type String --overwrite --name {} --value <value>",
                    wrong.parameter
                )),
            ));
        }
    }
}

pub(crate) fn error(rule: Rule, message: String, fix: Option<String>) -> Finding {
    Finding {
        severity: Severity::Error,
        rule,
        message,
        fix,
    }
}

pub(crate) fn warning(rule: Rule, message: String) -> Finding {
    Finding {
        severity: Severity::Warning,
        rule,
        message,
        fix: None,
    }
}
