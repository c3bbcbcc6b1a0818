//! Network ACLs, which the guide's examples leave at their default (everything allowed) and
//! real networks often do not. The VPC User Guide ("Control subnet traffic with network access
//! control lists"): rules are evaluated in order of their numbers, the first that matches
//! decides, and what none matches is denied by the last rule (`*`). ACLs are stateless, so
//! HTTPS out on 443 needs its answers let back in on the client's ephemeral ports, and the
//! server's ACL the reverse; the guide's "ephemeral ports" section suggests 1024-65535 to cover
//! every client.

use ipnet::Ipv4Net;

use crate::{
    model::{AclEntry, EndpointKind, NetworkAcl, Operation, Role, Topology, Vpc},
    rules::{Finding, Rule, error},
};

const HTTPS: (u16, u16) = (443, 443);
const EPHEMERAL: (u16, u16) = (1024, 65535);
/// The number of the `*` rule: entries are numbered 1 to 32766.
const LAST_NUMBER: u16 = 32766;

/// HTTPS from `clients` to `servers`: the client side's ACLs must let 443 out and the answers
/// in; the server side's must let 443 in and the answers out.
struct Flow<'a> {
    what: String,
    client: &'a Vpc,
    client_acls: Vec<&'a NetworkAcl>,
    client_ranges: Vec<Ipv4Net>,
    server: &'a Vpc,
    server_acls: Vec<&'a NetworkAcl>,
    server_ranges: Vec<Ipv4Net>,
}

pub(crate) fn check(topology: &Topology, findings: &mut Vec<Finding>) {
    for flow in flows(topology) {
        for acl in &flow.client_acls {
            for server in &flow.server_ranges {
                let context = (flow.client, *acl, &flow.what);
                direction(context, true, HTTPS, *server, "HTTPS (443) out", findings);
                direction(
                    context,
                    false,
                    EPHEMERAL,
                    *server,
                    "the answers in (TCP 1024-65535)",
                    findings,
                );
            }
        }
        for acl in &flow.server_acls {
            for client in &flow.client_ranges {
                let context = (flow.server, *acl, &flow.what);
                direction(context, false, HTTPS, *client, "HTTPS (443) in", findings);
                direction(
                    context,
                    true,
                    EPHEMERAL,
                    *client,
                    "the answers out (TCP 1024-65535)",
                    findings,
                );
            }
        }
    }
}

fn flows(topology: &Topology) -> Vec<Flow<'_>> {
    let archiving = topology.operations.contains(&Operation::Archive);
    let repositories: Vec<&Vpc> = topology
        .vpcs
        .iter()
        .filter(|v| v.role == Role::StandardRepository || (archiving && v.role == Role::ArchiveRepository))
        .collect();
    let mut flows = Vec::new();
    for worker in topology.with_role(Role::Worker) {
        let workers = worker_acls(worker);
        let endpoints: Vec<&str> = worker
            .endpoints
            .iter()
            .filter(|e| e.kind == EndpointKind::Interface)
            .flat_map(|e| e.subnets.iter().map(String::as_str))
            .collect();
        flows.push(Flow {
            what: format!("the workers of {} to their VPC's endpoints", worker.id),
            client: worker,
            client_acls: workers.clone(),
            client_ranges: worker.cidrs.clone(),
            server: worker,
            server_acls: acls_of(worker, &endpoints),
            server_ranges: worker.cidrs.clone(),
        });
        for repository in &repositories {
            flows.push(Flow {
                what: format!(
                    "the workers of {} to the S3 endpoint of {}",
                    worker.id, repository.id
                ),
                client: worker,
                client_acls: workers.clone(),
                client_ranges: worker.cidrs.clone(),
                server: repository,
                server_acls: s3_acls(repository),
                server_ranges: repository.cidrs.clone(),
            });
        }
    }
    if let Some(appliance) = topology.appliance_vpc() {
        for repository in &repositories {
            flows.push(Flow {
                what: format!("the appliance to the S3 endpoint of {}", repository.id),
                client: appliance,
                client_acls: appliance.network_acls.iter().collect(),
                client_ranges: vec![topology.appliance_address],
                server: repository,
                server_acls: s3_acls(repository),
                server_ranges: repository.cidrs.clone(),
            });
        }
    }
    flows
}

fn worker_acls(vpc: &Vpc) -> Vec<&NetworkAcl> {
    let subnets: Vec<&str> = vpc.worker_subnets.iter().map(String::as_str).collect();
    acls_of(vpc, &subnets)
}

fn s3_acls(vpc: &Vpc) -> Vec<&NetworkAcl> {
    let subnets: Vec<&str> = vpc
        .endpoints
        .iter()
        .filter(|e| e.service == "s3" && e.kind == EndpointKind::Interface)
        .flat_map(|e| e.subnets.iter().map(String::as_str))
        .collect();
    acls_of(vpc, &subnets)
}

/// The ACLs of `subnets`; every ACL of the VPC when the subnets are not known.
fn acls_of<'a>(vpc: &'a Vpc, subnets: &[&str]) -> Vec<&'a NetworkAcl> {
    vpc.network_acls
        .iter()
        .filter(|acl| subnets.is_empty() || acl.subnets.iter().any(|s| subnets.contains(&s.as_str())))
        .collect()
}

/// What stops traffic: an entry that denies (part of) it, or the `*` rule, for these ports.
enum Block<'a> {
    Entry(&'a AclEntry, (u16, u16)),
    Default((u16, u16)),
}

/// Reports when `acl` does not allow TCP `ports` to (egress) or from (ingress) all of `peer`.
fn direction(
    (vpc, acl, what): (&Vpc, &NetworkAcl, &String),
    egress: bool,
    ports: (u16, u16),
    peer: Ipv4Net,
    traffic: &str,
    findings: &mut Vec<Finding>,
) {
    let Some(block) = blocked(acl, egress, ports, peer) else {
        return;
    };
    let (to_from, flag) = if egress {
        ("to", " --egress")
    } else {
        ("from", " --ingress")
    };
    let subnets = if acl.subnets.is_empty() {
        String::new()
    } else {
        format!(" (subnets {})", acl.subnets.join(", "))
    };
    let (cause, before, blocked_ports) = match block {
        // The `*` rule, as describe-network-acls lists it (number 32767).
        Block::Entry(entry, range) if entry.rule_number > LAST_NUMBER => (
            "no rule allows it, so the last rule (*) denies it".to_owned(),
            LAST_NUMBER + 1,
            range,
        ),
        Block::Entry(entry, range) => (
            format!("its rule {} denies {}", entry.rule_number, describe(entry)),
            entry.rule_number,
            range,
        ),
        Block::Default(range) => (
            "no rule allows it, so the last rule (*) denies it".to_owned(),
            LAST_NUMBER + 1,
            range,
        ),
    };
    let number = free_number(acl, egress, before);
    findings.push(error(
        Rule::NetworkAcls,
        format!(
            "network ACL {} of VPC {}{subnets} does not let {traffic} {to_from} {peer}, which {what} needs: {cause}{}",
            acl.id,
            vpc.id,
            if ports == EPHEMERAL {
                " (network ACLs are stateless: the answers need a rule of their own)"
            } else {
                ""
            }
        ),
        number.map(|n| {
            format!(
                "aws ec2 create-network-acl-entry --network-acl-id {}{flag} --rule-number {n} --protocol tcp --port-range From={},To={} --cidr-block {peer} --rule-action allow",
                acl.id, blocked_ports.0, blocked_ports.1
            )
        }),
    ));
}

fn describe(entry: &AclEntry) -> String {
    let ports = match entry.ports {
        Some((from, to)) if from == to => format!(" port {from}"),
        Some((from, to)) => format!(" ports {from}-{to}"),
        None => String::new(),
    };
    let protocol = match entry.protocol.as_str() {
        "-1" => "all traffic".to_owned(),
        "6" | "tcp" => format!("TCP{ports}"),
        other => format!("protocol {other}{ports}"),
    };
    format!(
        "{protocol} {} {}",
        if entry.egress { "to" } else { "from" },
        entry.cidr
    )
}

/// The first entry, in number order, that denies part of `ports` for `peer`; or the `*` rule
/// when some of them are left that no entry allows for the whole of `peer`.
fn blocked(acl: &NetworkAcl, egress: bool, ports: (u16, u16), peer: Ipv4Net) -> Option<Block<'_>> {
    let mut entries: Vec<&AclEntry> = acl.entries.iter().filter(|e| e.egress == egress).collect();
    entries.sort_by_key(|e| e.rule_number);
    let mut open = vec![ports];
    for entry in entries {
        let tcp = matches!(entry.protocol.as_str(), "-1" | "6" | "tcp");
        let overlaps = entry.cidr.contains(&peer.network()) || peer.contains(&entry.cidr.network());
        if !tcp || !overlaps {
            continue;
        }
        let range = if entry.protocol == "-1" {
            (0, u16::MAX)
        } else {
            entry.ports.unwrap_or((0, u16::MAX))
        };
        let Some(hit) = open.iter().find_map(|o| intersect(*o, range)) else {
            continue;
        };
        if !entry.allow {
            return Some(Block::Entry(entry, hit));
        }
        // An allow for part of the peer's addresses leaves the rest to later rules.
        if entry.cidr.contains(&peer) {
            open = open.into_iter().flat_map(|o| subtract(o, range)).collect();
            if open.is_empty() {
                return None;
            }
        }
    }
    open.first().map(|left| Block::Default(*left))
}

fn intersect(a: (u16, u16), b: (u16, u16)) -> Option<(u16, u16)> {
    let (from, to) = (a.0.max(b.0), a.1.min(b.1));
    (from <= to).then_some((from, to))
}

fn subtract(a: (u16, u16), b: (u16, u16)) -> Vec<(u16, u16)> {
    if intersect(a, b).is_none() {
        return vec![a];
    }
    let mut left = Vec::new();
    if a.0 < b.0 {
        left.push((a.0, b.0 - 1));
    }
    if a.1 > b.1 {
        left.push((b.1 + 1, a.1));
    }
    left
}

/// An unused rule number below `before` in this direction, closest to it, so that the new
/// rule decides before the one that blocks.
fn free_number(acl: &NetworkAcl, egress: bool, before: u16) -> Option<u16> {
    let used = |n: u16| {
        acl.entries
            .iter()
            .any(|e| e.egress == egress && e.rule_number == n)
    };
    (1..before.min(LAST_NUMBER + 1)).rev().find(|n| !used(*n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(rule_number: u16, egress: bool, ports: Option<(u16, u16)>, cidr: &str, allow: bool) -> AclEntry {
        AclEntry {
            rule_number,
            egress,
            protocol: if ports.is_some() { "6" } else { "-1" }.into(),
            ports,
            cidr: cidr.parse().expect("cidr"),
            allow,
        }
    }

    fn acl(entries: Vec<AclEntry>) -> NetworkAcl {
        NetworkAcl {
            id: "acl-1".into(),
            subnets: vec![],
            entries,
        }
    }

    #[test]
    fn the_first_matching_rule_decides_and_the_rest_is_denied() {
        let peer: Ipv4Net = "10.1.0.0/16".parse().expect("cidr");
        let default = acl(vec![
            entry(100, true, None, "0.0.0.0/0", true),
            entry(100, false, None, "0.0.0.0/0", true),
        ]);
        assert!(blocked(&default, true, HTTPS, peer).is_none());
        assert!(blocked(&default, false, EPHEMERAL, peer).is_none());

        // A deny numbered before the allow wins; after it, it never matches.
        let denied_first = acl(vec![
            entry(50, true, Some((443, 443)), "10.1.0.0/16", false),
            entry(100, true, None, "0.0.0.0/0", true),
        ]);
        assert!(
            matches!(blocked(&denied_first, true, HTTPS, peer), Some(Block::Entry(e, (443, 443))) if e.rule_number == 50)
        );
        let denied_later = acl(vec![
            entry(200, true, Some((443, 443)), "10.1.0.0/16", false),
            entry(100, true, None, "0.0.0.0/0", true),
        ]);
        assert!(blocked(&denied_later, true, HTTPS, peer).is_none());

        // HTTPS out alone: the answers have no way back in.
        let one_way = acl(vec![entry(100, true, Some((443, 443)), "0.0.0.0/0", true)]);
        assert!(blocked(&one_way, true, HTTPS, peer).is_none());
        assert!(matches!(
            blocked(&one_way, false, EPHEMERAL, peer),
            Some(Block::Default((1024, 65535)))
        ));

        // Part of the ephemeral range, or part of the peer's addresses, is not enough.
        let narrow = acl(vec![
            entry(100, false, Some((32768, 65535)), "10.1.0.0/16", true),
            entry(110, false, Some((1024, 65535)), "10.1.0.0/24", true),
        ]);
        assert!(matches!(
            blocked(&narrow, false, EPHEMERAL, peer),
            Some(Block::Default((1024, 32767)))
        ));
        assert_eq!(free_number(&narrow, false, LAST_NUMBER + 1), Some(LAST_NUMBER));
        assert_eq!(free_number(&denied_first, true, 50), Some(49));
    }
}
