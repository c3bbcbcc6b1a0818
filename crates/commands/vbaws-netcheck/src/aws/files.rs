//! What the AWS CLI prints for the `describe-*` commands the checker reads, field names as EC2
//! writes them. Fields the checks do not need (tags, descriptions, IPv6, owners, `NextToken`…)
//! are accepted and ignored.

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::model::PeeringState;

/// Any one saved output; each command fills its own part.
#[derive(Debug, Deserialize, Serialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Files {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vpcs: Vec<AwsVpc>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<AwsSubnet>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub route_tables: Vec<AwsRouteTable>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<AwsGroup>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vpc_endpoints: Vec<AwsEndpoint>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vpc_peering_connections: Vec<AwsPeering>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub network_acls: Vec<AwsNetworkAcl>,
    /// `describe-vpc-attribute`: one VPC, one attribute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_dns_support: Option<AttributeValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_dns_hostnames: Option<AttributeValue>,
    /// `get-managed-prefix-list-entries`, with the list's ID added (the CLI leaves it out; the
    /// file name may carry it instead).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix_list_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries: Option<Vec<PrefixListEntry>>,
    /// `ssm get-parameters`: what an account publishes, and the names it does not.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<AwsParameter>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub invalid_parameters: Vec<String>,
}

/// One parameter as `aws ssm get-parameters` prints it (`Type`, `Version`, `ARN`… ignored).
#[derive(Debug, Deserialize, Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct AwsParameter {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Deserialize, Serialize, Clone, Copy)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeValue {
    pub value: bool,
}

#[derive(Debug, Deserialize, Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct PrefixListEntry {
    pub cidr: String,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AwsVpc {
    pub vpc_id: String,
    #[serde(default)]
    pub owner_id: Option<String>,
    pub cidr_block: Ipv4Net,
    #[serde(default)]
    pub cidr_block_association_set: Vec<CidrAssociation>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CidrAssociation {
    pub cidr_block: Ipv4Net,
    #[serde(default)]
    pub cidr_block_state: Option<State>,
}

/// `{"State": "associated"}` and its kin.
#[derive(Debug, Deserialize, Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct State {
    pub state: String,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AwsSubnet {
    pub subnet_id: String,
    pub vpc_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AwsRouteTable {
    pub route_table_id: String,
    pub vpc_id: String,
    #[serde(default)]
    pub routes: Vec<AwsRoute>,
    #[serde(default)]
    pub associations: Vec<Association>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Association {
    #[serde(default)]
    pub main: bool,
    #[serde(default)]
    pub subnet_id: Option<String>,
    #[serde(default)]
    pub association_state: Option<State>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AwsRoute {
    #[serde(default)]
    pub destination_cidr_block: Option<Ipv4Net>,
    #[serde(default)]
    pub gateway_id: Option<String>,
    #[serde(default)]
    pub vpc_peering_connection_id: Option<String>,
    #[serde(default)]
    pub nat_gateway_id: Option<String>,
    #[serde(default)]
    pub transit_gateway_id: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AwsGroup {
    pub group_id: String,
    pub vpc_id: String,
    #[serde(default)]
    pub ip_permissions: Vec<AwsPermission>,
    #[serde(default)]
    pub ip_permissions_egress: Vec<AwsPermission>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AwsPermission {
    pub ip_protocol: String,
    #[serde(default)]
    pub from_port: Option<i32>,
    #[serde(default)]
    pub to_port: Option<i32>,
    #[serde(default)]
    pub ip_ranges: Vec<AwsRange>,
    #[serde(default)]
    pub user_id_group_pairs: Vec<AwsGroupPair>,
    #[serde(default)]
    pub prefix_list_ids: Vec<AwsPrefixListRef>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AwsRange {
    pub cidr_ip: Ipv4Net,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AwsGroupPair {
    pub group_id: String,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AwsPrefixListRef {
    pub prefix_list_id: String,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AwsEndpoint {
    pub vpc_endpoint_id: String,
    pub vpc_endpoint_type: String,
    pub vpc_id: String,
    pub service_name: String,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub private_dns_enabled: bool,
    #[serde(default)]
    pub groups: Vec<AwsGroupRef>,
    /// The policy as EC2 prints it: a JSON document in a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_document: Option<String>,
    #[serde(default)]
    pub subnet_ids: Vec<String>,
}

/// `describe-network-acls`. Every subnet of the VPC shows under the ACL it uses, the default
/// one included; the last entry of each direction is the `*` rule (number 32767, deny).
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AwsNetworkAcl {
    pub network_acl_id: String,
    pub vpc_id: String,
    #[serde(default)]
    pub associations: Vec<AwsAclAssociation>,
    #[serde(default)]
    pub entries: Vec<AwsAclEntry>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AwsAclAssociation {
    #[serde(default)]
    pub subnet_id: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AwsAclEntry {
    pub rule_number: i32,
    pub protocol: String,
    /// `allow` or `deny`.
    pub rule_action: String,
    pub egress: bool,
    /// Absent for an IPv6 entry (`Ipv6CidrBlock`), which the checker leaves out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr_block: Option<Ipv4Net>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_range: Option<AwsPortRange>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AwsPortRange {
    #[serde(default)]
    pub from: Option<i32>,
    #[serde(default)]
    pub to: Option<i32>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AwsGroupRef {
    pub group_id: String,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AwsPeering {
    pub vpc_peering_connection_id: String,
    pub requester_vpc_info: PeerInfo,
    pub accepter_vpc_info: PeerInfo,
    pub status: PeeringStatus,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PeerInfo {
    pub vpc_id: String,
    #[serde(default)]
    pub region: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PeeringStatus {
    pub code: PeeringState,
}
