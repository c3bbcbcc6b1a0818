//! The worker network each production account publishes for the roles StackSet
//! (`WorkerNetwork: Parameters`): read from `aws ssm get-parameters` output saved beside the
//! account's EC2 outputs, each value checked against them, and each published VPC checked as a
//! worker VPC, its subnet the workers' and its group theirs.

use super::{Saved, files::AwsParameter};
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
    let [zone_name, vpc_name, subnet_name, group_name] = names(prefix);
    all.published
        .iter()
        .map(|published| {
            let value = |name: &str| {
                published
                    .parameters
                    .iter()
                    .find(|p| p.name == name)
                    .map(|p| p.value.as_str())
            };
            let mut found = PublishedWorkers {
                source: published.source.clone(),
                missing: [&zone_name, &vpc_name, &subnet_name, &group_name]
                    .into_iter()
                    .filter(|name| value(name).is_none())
                    .cloned()
                    .collect(),
                mismatches: Vec::new(),
            };
            let mut mismatch = |parameter: &str, value: &str, problem: String| {
                found.mismatches.push(Mismatch {
                    parameter: parameter.to_owned(),
                    value: value.to_owned(),
                    problem,
                });
            };
            let vpc = value(&vpc_name);
            if let Some(id) = vpc
                && !all.files.vpcs.iter().any(|v| v.vpc_id == id)
            {
                mismatch(&vpc_name, id, "no VPC of the account has this ID".into());
            }
            let subnet = value(&subnet_name).map(|id| {
                (
                    id,
                    all.files.subnets.iter().find(|s| s.subnet_id == id),
                )
            });
            match subnet {
                Some((id, None)) => mismatch(&subnet_name, id, "no subnet of the account has this ID".into()),
                Some((id, Some(subnet))) => {
                    if let Some(vpc) = vpc
                        && subnet.vpc_id != vpc
                    {
                        mismatch(
                            &subnet_name,
                            id,
                            format!("the subnet is in {}, not in the published VPC {vpc}", subnet.vpc_id),
                        );
                    }
                    if let (Some(zone), Some(actual)) = (value(&zone_name), &subnet.availability_zone)
                        && zone != actual
                    {
                        mismatch(
                            &zone_name,
                            zone,
                            format!("the published subnet {id} is in {actual}: the configuration would name a zone without the workers' subnet"),
                        );
                    }
                }
                None => {}
            }
            if let Some(id) = value(&group_name) {
                match all.files.security_groups.iter().find(|g| g.group_id == id) {
                    None => mismatch(&group_name, id, "no security group of the account has this ID".into()),
                    Some(group) if vpc.is_some_and(|vpc| group.vpc_id != vpc) => mismatch(
                        &group_name,
                        id,
                        format!("the group belongs to {}, not to the published VPC", group.vpc_id),
                    ),
                    Some(_) => {}
                }
            }
            if let Some(id) = vpc {
                let at = vpcs.iter().position(|v| v.id == id).or_else(|| {
                    let added = worker_vpc(id)?;
                    vpcs.push(added);
                    Some(vpcs.len() - 1)
                });
                if let Some(at) = at {
                    let worker = &mut vpcs[at];
                    if worker.role == Role::Worker {
                        if let Some((subnet, Some(_))) = subnet
                            && !worker.worker_subnets.iter().any(|s| s == subnet)
                        {
                            worker.worker_subnets.push(subnet.to_owned());
                        }
                        if let Some(group) = value(&group_name)
                            && !worker.instance_security_groups.iter().any(|g| g == group)
                        {
                            worker.instance_security_groups.push(group.to_owned());
                        }
                    } else {
                        mismatch(
                            &vpc_name,
                            id,
                            format!(
                                "the roles file gives this VPC the role {:?}, yet the workers would run in it",
                                worker.role
                            ),
                        );
                    }
                }
            }
            found
        })
        .collect()
}
