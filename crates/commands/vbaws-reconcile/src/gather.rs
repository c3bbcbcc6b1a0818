//! Reading every fact: the StackSet's declaration first (its OUs say which accounts are its
//! targets), then the appliance, the Organization and the StackSet's instances, which are
//! independent and read concurrently; last, the parameter overrides of the few instances whose
//! comparison depends on them.

use std::collections::BTreeSet;

use tokio::time::Instant;

use crate::{Facts, Options, Problem, Purposes, read, read::DeclaredStackSet, read::ReadError, reconcile};

/// The roles StackSet, read for its instances and (unless a declaration is given) its template,
/// parameters and OUs.
#[derive(Debug, Clone, Copy)]
pub struct StackSet<'a> {
    pub client: &'a aws_sdk_cloudformation::Client,
    pub name: &'a str,
    /// Called from the Organization's delegated administrator for StackSets, not its
    /// management account.
    pub delegated_admin: bool,
}

/// Where the facts come from.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    pub appliance: &'a vbaws_client::Client,
    pub organizations: &'a aws_sdk_organizations::Client,
    /// The OUs to compare (OUs below them count too); every account when empty. They narrow
    /// the comparison; the StackSet's own OUs, when it reports them, say which accounts it
    /// targets.
    pub ous: &'a [String],
    pub stack_set: Option<StackSet<'a>>,
    /// The roles template and parameters, instead of the StackSet's.
    pub declared: Option<&'a DeclaredStackSet>,
}

/// How many stack instances' overrides are read at once.
const OVERRIDE_READS: usize = 4;

/// The reads still under way, for a command that tells a person what it is waiting for.
#[derive(Debug, Clone, Default)]
pub struct Progress(std::sync::Arc<std::sync::Mutex<BTreeSet<&'static str>>>);

impl Progress {
    /// What is still being read.
    pub fn pending(&self) -> Vec<&'static str> {
        self.lock().iter().copied().collect()
    }

    /// `read`, listed as pending while it runs. SDK futures are large: each read lives on
    /// the heap so that the future joining them stays small.
    async fn track<T>(&self, what: &'static str, read: impl Future<Output = T>) -> T {
        self.lock().insert(what);
        let done = Box::pin(read).await;
        self.lock().remove(what);
        done
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<&'static str>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Reads every fact the comparison needs.
pub async fn gather(sources: Sources<'_>, deadline: Instant) -> Result<Facts, ReadError> {
    gather_tracked(sources, deadline, &Progress::default()).await
}

/// The same, saying in `progress` what is still being read.
pub async fn gather_tracked(
    sources: Sources<'_>,
    deadline: Instant,
    progress: &Progress,
) -> Result<Facts, ReadError> {
    let declared = match (sources.declared, sources.stack_set) {
        (Some(declared), _) => declared.clone(),
        (None, Some(set)) => {
            progress
                .track(
                    "the StackSet's template (DescribeStackSet)",
                    read::declared_stack_set(set.client, set.name, set.delegated_admin),
                )
                .await?
        }
        (None, None) => return Err(ReadError::NoPurposes),
    };
    let default = declared.purposes();
    if default.is_empty() {
        return Err(ReadError::NoPurposes);
    }
    let targets = if declared.organizational_units.is_empty() {
        sources.ous
    } else {
        declared.organizational_units.as_slice()
    };
    let instances = async {
        match sources.stack_set {
            Some(set) => read::stack_instances(set.client, set.name, set.delegated_admin)
                .await
                .map(Some),
            None => Ok(None),
        }
    };
    let appliance = async {
        tokio::try_join!(
            read::registrations(sources.appliance, deadline),
            read::worker_configurations(sources.appliance, deadline),
        )
    };
    let ((registrations, worker_configurations), accounts, instances, management_account) = tokio::try_join!(
        progress.track(
            "the appliance's registrations and worker configurations",
            appliance
        ),
        progress.track(
            "the Organization's accounts",
            read::accounts(sources.organizations, targets, sources.ous)
        ),
        progress.track("the StackSet's instances", instances),
        progress.track(
            "the Organization (DescribeOrganization)",
            read::management_account(sources.organizations)
        ),
    )?;
    let mut facts = Facts {
        registrations,
        accounts,
        instances,
        purposes: Purposes::same(default),
        target_ous: targets.to_vec(),
        management_account,
        worker_configurations,
        workers_declared: declared.workers(),
    };
    if let Some(set) = sources.stack_set {
        progress
            .track(
                "stack instances' overrides (DescribeStackInstance)",
                overrides(&mut facts, &declared, set),
            )
            .await?;
    }
    Ok(facts)
}

/// Reads the overrides of the instances whose accounts drift by purpose (a registration the
/// StackSet's parameters do not declare, or one they declare that is missing): only there can
/// an instance's own parameter values change the verdict. Every other account keeps the
/// StackSet's purposes, without a call.
async fn overrides(
    facts: &mut Facts,
    declared: &DeclaredStackSet,
    set: StackSet<'_>,
) -> Result<(), ReadError> {
    let report = reconcile(facts, Options { adopt_unmarked: true });
    let candidates: BTreeSet<&str> = report
        .accounts
        .iter()
        .filter(|a| !a.missing.is_empty() || a.orphans.iter().any(|(_, p)| *p == Problem::UndeclaredPurpose))
        .map(|a| a.account.as_str())
        .collect();
    let Some(instances) = facts.instances.as_mut() else {
        return Ok(());
    };
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(OVERRIDE_READS));
    let mut reads = tokio::task::JoinSet::new();
    for (at, instance) in instances.iter().enumerate() {
        if !candidates.contains(instance.account.as_str()) {
            continue;
        }
        let (client, name, instance, permits) = (
            set.client.clone(),
            set.name.to_owned(),
            instance.clone(),
            std::sync::Arc::clone(&permits),
        );
        let delegated_admin = set.delegated_admin;
        reads.spawn(async move {
            let _permit = permits.acquire_owned().await;
            (
                at,
                read::instance_overrides(&client, &name, &instance, delegated_admin).await,
            )
        });
    }
    while let Some(done) = reads.join_next().await {
        let Ok((at, overrides)) = done else { continue };
        let overrides = overrides?;
        let instance = &mut instances[at];
        if !overrides.is_empty() {
            facts
                .purposes
                .accounts
                .insert(instance.account.clone(), declared.purposes_with(&overrides));
        }
        instance.overrides = overrides;
    }
    Ok(())
}
