//! Production workers in the demo (`--workers`): each member account publishes its worker
//! network in its Parameter Store, as a landing zone would; the roles StackSet, with
//! `WorkerNetwork: Parameters`, registers it; the appliance's worker configurations are then
//! read back and checked against what each account published.

use std::collections::BTreeMap;

use crate::{Stack, World, story::Report};

/// The SSM parameters (the template's default names) a member account publishes: a VPC, a
/// subnet and a security group of its own, in one of us-east-1's zones.
pub fn published_network(account: &str) -> BTreeMap<String, String> {
    let n: u64 = account.parse().unwrap_or_default();
    let zone = ["a", "b", "c"][usize::try_from(n % 3).unwrap_or_default()];
    [
        ("/vbaws/workers/availability-zone", format!("us-east-1{zone}")),
        ("/vbaws/workers/vpc-id", format!("vpc-{n:017x}")),
        ("/vbaws/workers/subnet-id", format!("subnet-{n:017x}")),
        ("/vbaws/workers/security-group-id", format!("sg-{n:017x}")),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

/// Every stack that declares a worker configuration has one in the appliance, for its account,
/// with the network its account published and the registration its stack made; accounts that
/// are gone have none.
pub(crate) fn verify(world: &World, stacks: &BTreeMap<String, Stack>, gone: &[String], report: &mut Report) {
    let held = world.appliance.sim.worker_configurations();
    report.worker_configurations = held.len();
    let mut expected = 0;
    for (account, stack) in stacks {
        let declared = stack
            .custom_resources()
            .into_iter()
            .any(|(_, kind, _)| kind == "Custom::VeeamWorkerConfiguration");
        if !declared {
            continue;
        }
        expected += 1;
        let Some(found) = held.iter().find(|c| c.account_id == *account) else {
            report
                .problems
                .push(format!("{account} has no worker configuration in the appliance"));
            continue;
        };
        let published = published_network(account);
        let wanted = |name: &str| published.get(name).map(String::as_str);
        let network = (
            Some(found.zone.as_str()),
            Some(found.vpc_id.as_str()),
            Some(found.subnet_id.as_str()),
            Some(found.security_group_id.as_str()),
        );
        if network
            != (
                wanted("/vbaws/workers/availability-zone"),
                wanted("/vbaws/workers/vpc-id"),
                wanted("/vbaws/workers/subnet-id"),
                wanted("/vbaws/workers/security-group-id"),
            )
        {
            report.problems.push(format!(
                "{account}'s worker configuration is not the network its account published"
            ));
        }
        if stack.attribute("WorkerConfigurationRegistration", "VeeamRoleId") != Some(found.role_id.as_str()) {
            report.problems.push(format!(
                "{account}'s worker configuration does not name its stack's worker-configuration role"
            ));
        }
    }
    for account in gone {
        if held.iter().any(|c| c.account_id == *account) {
            report.problems.push(format!(
                "{account} left the OU or was closed, but still has a worker configuration"
            ));
        }
    }
    if held.len() != expected {
        report.problems.push(format!(
            "{} worker configurations in the appliance, where the stacks declare {expected}",
            held.len()
        ));
    }
}
