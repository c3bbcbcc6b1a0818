//! The worker network each production account publishes for the roles StackSet
//! (`WorkerNetwork: Parameters`): read from `aws ssm get-parameters` output saved beside the
//! account's EC2 outputs, each value checked against them, and each published VPC checked as a
//! worker VPC, its subnet the workers' and its group theirs.

use super::{
    Saved,
    files::{AwsParameter, Files},
};
use crate::model::{Mismatch, PublishedWorkers, Role, Vpc};

/// The names under the prefix, as the roles StackSet's parameters name them by default (a test
/// keeps them in step with template/roles.yaml).
pub const NAMES: [&str; 4] = ["availability-zone", "vpc-id", "subnet-id", "security-group-id"];

pub(crate) fn default_prefix() -> String {
    "/vbaws/workers".to_owned()
}

/// One `ssm get-parameters` output, and the folder it was saved in. A name the account does
/// not have is one the output does not hold (SSM lists it under `InvalidParameters`).
pub(super) struct Published {
    pub source: String,
    pub parameters: Vec<AwsParameter>,
}

/// The full names under `prefix`.
pub fn names(prefix: &str) -> [String; 4] {
    let prefix = prefix.trim_end_matches('/');
    NAMES.map(|name| format!("{prefix}/{name}"))
}

/// What each saved output says, against `all`; a published VPC that `vpcs` lacks is added
/// through `worker_vpc`.
pub(super) fn read(
    all: &Saved,
    prefix: &str,
    vpcs: &mut Vec<Vpc>,
    worker_vpc: impl Fn(&str) -> Option<Vpc>,
) -> Vec<PublishedWorkers> {
    let names = names(prefix);
    all.published
        .iter()
        .map(|published| {
            let values = names.each_ref().map(|name| {
                published
                    .parameters
                    .iter()
                    .find(|p| &p.name == name)
                    .map(|p| p.value.as_str())
            });
            let mut mismatches = check(&all.files, &names, values);
            mismatches.extend(adopt(vpcs, &worker_vpc, &all.files, &names, values));
            PublishedWorkers {
                source: published.source.clone(),
                missing: names
                    .iter()
                    .zip(values)
                    .filter(|(_, value)| value.is_none())
                    .map(|(name, _)| name.clone())
                    .collect(),
                mismatches,
            }
        })
        .collect()
}

/// Zone, VPC, subnet and group, in the order of [`NAMES`]: the full names, or what one account
/// published under them.
type Four<T> = [T; 4];

/// Each published value that names nothing the account has, or the wrong thing.
fn check(files: &Files, names: &Four<String>, values: Four<Option<&str>>) -> Vec<Mismatch> {
    let [zone_name, vpc_name, subnet_name, group_name] = names;
    let [zone, vpc, subnet, group] = values;
    let mut found = Vec::new();
    let mut mismatch = |parameter: &str, value: &str, problem: String| {
        found.push(Mismatch {
            parameter: parameter.to_owned(),
            value: value.to_owned(),
            problem,
        });
    };
    if let Some(id) = vpc
        && !files.vpcs.iter().any(|v| v.vpc_id == id)
    {
        mismatch(vpc_name, id, "no VPC of the account has this ID".into());
    }
    if let Some(id) = subnet {
        match files.subnets.iter().find(|s| s.subnet_id == id) {
            None => mismatch(subnet_name, id, "no subnet of the account has this ID".into()),
            Some(found) => {
                if let Some(vpc) = vpc
                    && found.vpc_id != vpc
                {
                    let problem = format!(
                        "the subnet is in {}, not in the published VPC {vpc}",
                        found.vpc_id
                    );
                    mismatch(subnet_name, id, problem);
                }
                if let (Some(zone), Some(actual)) = (zone, &found.availability_zone)
                    && zone != actual
                {
                    let problem = format!(
                        "the published subnet {id} is in {actual}: the configuration would name \
                         a zone without the workers' subnet"
                    );
                    mismatch(zone_name, zone, problem);
                }
            }
        }
    }
    if let Some(id) = group {
        match files.security_groups.iter().find(|g| g.group_id == id) {
            None => mismatch(
                group_name,
                id,
                "no security group of the account has this ID".into(),
            ),
            Some(found) if vpc.is_some_and(|vpc| found.vpc_id != vpc) => {
                let problem = format!("the group belongs to {}, not to the published VPC", found.vpc_id);
                mismatch(group_name, id, problem);
            }
            Some(_) => {}
        }
    }
    found
}

/// Makes the published VPC a worker VPC of the plan (added through `worker_vpc` when the roles
/// file does not list it), the published subnet the workers' and the group theirs; a VPC the
/// roles file gives another role is a mismatch.
fn adopt(
    vpcs: &mut Vec<Vpc>,
    worker_vpc: impl Fn(&str) -> Option<Vpc>,
    files: &Files,
    names: &Four<String>,
    values: Four<Option<&str>>,
) -> Option<Mismatch> {
    let [_, id, subnet, group] = values;
    let id = id?;
    let at = match vpcs.iter().position(|v| v.id == id) {
        Some(at) => at,
        None => {
            vpcs.push(worker_vpc(id)?);
            vpcs.len() - 1
        }
    };
    let worker = &mut vpcs[at];
    if worker.role != Role::Worker {
        return Some(Mismatch {
            parameter: names[1].clone(),
            value: id.to_owned(),
            problem: format!(
                "the roles file gives this VPC the role {:?}, yet the workers would run in it",
                worker.role
            ),
        });
    }
    if let Some(subnet) = subnet
        && files.subnets.iter().any(|s| s.subnet_id == subnet)
        && !worker.worker_subnets.iter().any(|s| s == subnet)
    {
        worker.worker_subnets.push(subnet.to_owned());
    }
    if let Some(group) = group
        && !worker.instance_security_groups.iter().any(|g| g == group)
    {
        worker.instance_security_groups.push(group.to_owned());
    }
    None
}
