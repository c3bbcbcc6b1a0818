//! The network plan: VPCs and the roles they play, their CIDRs, route tables, security groups
//! and endpoints, and the peerings between them. This is the topology file's shape.

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

/// What the worker instances will do; it decides which endpoints they need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    Ec2Backup,
    Ec2Restore,
    Archive,
    Retention,
    Rds,
    Efs,
    /// File-level recovery to the original location.
    FlrOriginal,
}

impl Operation {
    /// The interface endpoints a worker needs for this operation, from Veeam's table.
    pub fn endpoints(self) -> &'static [&'static str] {
        match self {
            Self::Ec2Backup => &["ec2messages", "ssm", "sqs", "ebs"],
            Self::Ec2Restore | Self::Archive | Self::Retention => &["ec2messages", "ssm", "sqs"],
            Self::Rds | Self::Efs => &["ssmmessages", "ssm", "sqs"],
            Self::FlrOriginal => &["ec2messages", "ssm", "sqs", "kinesis-streams"],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Appliance,
    Worker,
    StandardRepository,
    ArchiveRepository,
    Other,
}

/// The whole plan.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    pub operations: Vec<Operation>,
    /// The appliance's private address, usually a /32.
    pub appliance_address: Ipv4Net,
    pub vpcs: Vec<Vpc>,
    #[serde(default)]
    pub peerings: Vec<Peering>,
    /// The repositories' S3 buckets, which the S3 endpoints' policies must admit.
    #[serde(default)]
    pub repository_buckets: Vec<String>,
    /// What production accounts publish in Parameter Store for the roles StackSet's
    /// `WorkerNetwork: Parameters`, as read against their own EC2 outputs.
    #[serde(default)]
    pub published_workers: Vec<PublishedWorkers>,
}

/// One account and Region's worker network as it publishes it for the roles StackSet: what the
/// stack would read, and where that would fail or mislead.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PublishedWorkers {
    /// Where it was read: the `<account>/<region>` folder of the saved outputs.
    pub source: String,
    /// Names the StackSet reads that the account does not publish: its stack fails there.
    #[serde(default)]
    pub missing: Vec<String>,
    /// Published values that name nothing the account has, or not what the name says.
    #[serde(default)]
    pub mismatches: Vec<Mismatch>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Mismatch {
    pub parameter: String,
    pub value: String,
    pub problem: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Vpc {
    pub id: String,
    pub role: Role,
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    pub cidrs: Vec<Ipv4Net>,
    #[serde(default = "yes")]
    pub dns_support: bool,
    #[serde(default = "yes")]
    pub dns_hostnames: bool,
    #[serde(default)]
    pub route_tables: Vec<RouteTable>,
    #[serde(default)]
    pub security_groups: Vec<SecurityGroup>,
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    /// The security groups of the instances in this VPC (the workers', the appliance's), which
    /// rules that reference groups instead of CIDRs admit.
    #[serde(default)]
    pub instance_security_groups: Vec<String>,
    /// The network ACLs of the subnets that matter (empty: not known, so not checked).
    #[serde(default)]
    pub network_acls: Vec<NetworkAcl>,
    /// The subnets where this VPC's workers run, when known: their network ACLs are the
    /// workers'. Otherwise every network ACL counts as theirs.
    #[serde(default)]
    pub worker_subnets: Vec<String>,
}

/// A network ACL: numbered rules, lowest first, the first that matches decides; what none
/// matches is denied. Stateless: the answers need rules of their own.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkAcl {
    pub id: String,
    /// The subnets it is associated with.
    #[serde(default)]
    pub subnets: Vec<String>,
    #[serde(default)]
    pub entries: Vec<AclEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AclEntry {
    pub rule_number: u16,
    pub egress: bool,
    /// `-1` (all), `6` (TCP), `17` (UDP), … as EC2 writes it; `tcp` is read as `6`.
    #[serde(default = "all_protocols")]
    pub protocol: String,
    /// For TCP and UDP; absent means every port.
    #[serde(default)]
    pub ports: Option<(u16, u16)>,
    pub cidr: Ipv4Net,
    pub allow: bool,
}

fn all_protocols() -> String {
    "-1".into()
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteTable {
    pub id: String,
    pub routes: Vec<Route>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub destination: Ipv4Net,
    /// `local`, a peering ID (`pcx-…`), or any other target.
    pub target: String,
    /// The route's target is gone (EC2's `blackhole` state): it carries nothing.
    #[serde(default)]
    pub blackhole: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityGroup {
    pub id: String,
    #[serde(default)]
    pub ingress: Vec<Rule>,
    #[serde(default)]
    pub egress: Vec<Rule>,
}

/// A TCP rule (`from_port`..=`to_port`) for some CIDRs or security groups. Protocol `-1` (all)
/// also matches.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    #[serde(default = "tcp")]
    pub protocol: String,
    pub from_port: u16,
    pub to_port: u16,
    #[serde(default)]
    pub cidrs: Vec<Ipv4Net>,
    /// Security groups whose members the rule admits.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Prefix lists the rule names whose entries are not known, so what they admit is not either.
    #[serde(default)]
    pub unresolved_prefix_lists: Vec<String>,
}

fn tcp() -> String {
    "tcp".into()
}

impl Rule {
    /// True when this rule covers TCP `port`, whatever it admits.
    pub fn covers(&self, port: u16) -> bool {
        let protocol = self.protocol == "tcp" || self.protocol == "-1" || self.protocol == "6";
        protocol && (self.from_port..=self.to_port).contains(&port)
    }

    /// True when this rule admits TCP `port` from all of `source`, or from members of one of
    /// `groups`.
    pub fn admits(&self, port: u16, source: &Ipv4Net, groups: &[String]) -> bool {
        self.covers(port)
            && (self.cidrs.iter().any(|c| c.contains(source))
                || self.groups.iter().any(|g| groups.contains(g)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndpointKind {
    Interface,
    Gateway,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    #[serde(default)]
    pub id: Option<String>,
    /// The short service name: `ssm`, `sqs`, `s3`, `kinesis-streams`, …
    pub service: String,
    pub kind: EndpointKind,
    #[serde(default)]
    pub private_dns: bool,
    #[serde(default)]
    pub security_groups: Vec<String>,
    /// EC2's state when it is not `available` (`pendingAcceptance`, `rejected`, `failed`, …).
    #[serde(default)]
    pub state: Option<String>,
    /// The endpoint policy; absent means AWS's default, which allows everything.
    #[serde(default)]
    pub policy: Option<serde_json::Value>,
    /// The subnets an interface endpoint has its network interfaces in.
    #[serde(default)]
    pub subnets: Vec<String>,
}

impl Endpoint {
    /// True when the endpoint carries traffic.
    pub fn is_available(&self) -> bool {
        self.state
            .as_deref()
            .is_none_or(|s| s.eq_ignore_ascii_case("available"))
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Peering {
    pub id: String,
    /// The two VPC IDs.
    pub between: [String; 2],
    #[serde(default)]
    pub status: PeeringState,
}

/// A peering connection's state, as EC2 names it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PeeringState {
    InitiatingRequest,
    PendingAcceptance,
    #[default]
    Active,
    Deleting,
    Deleted,
    Rejected,
    Failed,
    Expired,
    Provisioning,
    /// A state this version does not know.
    #[serde(other)]
    Other,
}

impl std::fmt::Display for PeeringState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::InitiatingRequest => "initiating-request",
            Self::PendingAcceptance => "pending-acceptance",
            Self::Active => "active",
            Self::Deleting => "deleting",
            Self::Deleted => "deleted",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
            Self::Expired => "expired",
            Self::Provisioning => "provisioning",
            Self::Other => "in a state this checker does not know",
        })
    }
}

impl Topology {
    pub fn vpc(&self, id: &str) -> Option<&Vpc> {
        self.vpcs.iter().find(|v| v.id == id)
    }

    pub fn with_role(&self, role: Role) -> impl Iterator<Item = &Vpc> {
        self.vpcs.iter().filter(move |v| v.role == role)
    }

    /// The VPC the appliance's address is in.
    pub fn appliance_vpc(&self) -> Option<&Vpc> {
        self.with_role(Role::Appliance).next()
    }
}

impl Vpc {
    pub fn security_group(&self, id: &str) -> Option<&SecurityGroup> {
        self.security_groups.iter().find(|g| g.id == id)
    }
}
