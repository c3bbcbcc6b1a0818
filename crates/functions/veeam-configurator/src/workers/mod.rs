//! `Custom::VeeamWorkerConfiguration`: the production worker configuration of the stack's
//! account in one Region.
//!
//! - **Create** follows the sequence the one known client sends (the project's reference,
//!   "Worker configurations for production accounts"): the registration of the
//!   worker-configuration role (it must be this account's), the Region, a connection of that
//!   role to the Region, the Availability Zone the connection sees, then the configuration. It
//!   is create-or-adopt, as a registration is: when the appliance already holds one for this
//!   account and Region (a redelivered event, or one made in the wizard), it is updated to match.
//! - **Update** replaces the settings in place; a new Region is a new configuration, and
//!   CloudFormation's later Delete removes the old one.
//! - **Delete** removes it where the appliance allows; when the appliance offers no removal, or
//!   the configuration is another account's, it is left with a warning (a Delete never blocks).
//!
//! Every Reason names the step that failed.

mod properties;

pub use properties::WorkerProperties;

use tracing::{info, warn};
use vbaws_cfn::{Action, Outcome};
use vbaws_client::{Deleted, WorkerConfiguration, WorkerSpec};

use crate::{Error, Resource, lifecycle::Work, metrics::Effect, parse_physical_id, physical_id};

/// The Data key of the configuration's ID in the appliance.
pub const WORKER_CONFIGURATION_ID: &str = "WorkerConfigurationId";

/// What a configuration is made from, once looked up in the appliance.
struct Prepared {
    spec: WorkerSpec,
    /// The registered role's name, for "cannot assume" errors.
    role_name: String,
    /// The appliance's ID of the Region.
    region_id: String,
}

impl Work<'_> {
    pub(crate) async fn run_workers(
        &self,
        action: &Action<Resource>,
        props: &WorkerProperties,
    ) -> Result<(Outcome, Effect), Error> {
        match action {
            Action::Create => self.configure(props, None).await,
            Action::Update {
                physical_resource_id,
                old_properties,
            } => {
                let same_region = match old_properties {
                    Some(Resource::Workers(old)) => {
                        old.region_or(self.region) == props.region_or(self.region)
                    }
                    _ => false,
                };
                let existing = if same_region {
                    self.own_configuration(physical_resource_id).await?
                } else {
                    info!(
                        "the Region changed: configuring it anew; CloudFormation deletes the old one afterwards"
                    );
                    None
                };
                self.configure(props, existing).await
            }
            Action::Delete { physical_resource_id } => self.unconfigure(physical_resource_id).await,
        }
    }

    /// The configuration an earlier answer named, if the appliance still holds it and it is this
    /// account's.
    async fn own_configuration(&self, physical_id: &str) -> Result<Option<WorkerConfiguration>, Error> {
        let Some((_, id)) = parse_physical_id(physical_id) else {
            return Ok(None);
        };
        let found = self
            .workers_api()
            .get(id)
            .await
            .map_err(|e| self.step("reading the worker configuration", e))?;
        Ok(found.filter(|c| c.spec.account_id == self.account))
    }

    /// Makes the appliance hold `props` for this account and Region: updates `existing`, or adds
    /// a configuration (adopting the one the appliance may already have).
    async fn configure(
        &self,
        props: &WorkerProperties,
        existing: Option<WorkerConfiguration>,
    ) -> Result<(Outcome, Effect), Error> {
        let region = props.region_or(self.region);
        let Prepared {
            spec,
            role_name,
            region_id,
        } = self.prepare(props, region).await?;
        let (configuration, effect) = match existing {
            Some(existing) => (
                self.replace(&existing.id, &spec, &role_name).await?,
                Effect::Updated,
            ),
            None => match self
                .retry_propagation(&role_name, || self.workers_api().create(&spec))
                .await
            {
                Ok(made) => (made, Effect::Created),
                Err(Error::Appliance(vbaws_client::Error::Api(api)))
                    if api.status == 409 || api.is_name_taken() =>
                {
                    let holder = self.configuration_in(&region_id).await?.ok_or_else(|| {
                        self.step(
                            "adding the worker configuration",
                            vbaws_client::Error::Api(api.clone()),
                        )
                    })?;
                    info!(id = %holder.id, "adopting this account's worker configuration in the Region");
                    (
                        self.replace(&holder.id, &spec, &role_name).await?,
                        Effect::Adopted,
                    )
                }
                Err(error) => return Err(self.in_step("adding the worker configuration", error)),
            },
        };
        let name = props.display_name(self.account, self.region);
        Ok((
            Outcome::new()
                .physical_id(physical_id(&name, &configuration.id))
                .data(WORKER_CONFIGURATION_ID, configuration.id),
            effect,
        ))
    }

    async fn replace(
        &self,
        id: &str,
        spec: &WorkerSpec,
        role_name: &str,
    ) -> Result<WorkerConfiguration, Error> {
        self.retry_propagation(role_name, || self.workers_api().update(id, spec))
            .await
            .map_err(|e| self.in_step("updating the worker configuration", e))
    }

    /// The configuration body: the registration checked, the Region and zone looked up, the
    /// role connected to the Region.
    async fn prepare(&self, props: &WorkerProperties, region: &str) -> Result<Prepared, Error> {
        let zone_name = &props.availability_zone;
        if !zone_name.starts_with(region) {
            return Err(Error::ZoneOutsideRegion {
                zone: zone_name.clone(),
                region: region.to_owned(),
            });
        }
        let role = self
            .client
            .until(self.deadline)
            .roles()
            .get(&props.veeam_role_id)
            .await
            .map_err(|e| self.step("reading the worker-configuration role's registration", e))?
            .ok_or_else(|| Error::WorkerRoleMissing {
                veeam_id: props.veeam_role_id.clone(),
            })?;
        self.check_owner(&role)?;
        let role_name = role
            .cross_account_role
            .as_ref()
            .map_or_else(|| role.name.clone(), |r| r.role_name.clone());
        let workers = self.workers_api();
        let found = workers
            .region(region)
            .await
            .map_err(|e| self.step("finding the Region in the appliance", e))?
            .ok_or_else(|| Error::RegionUnknown {
                region: region.to_owned(),
            })?;
        let connection = self
            .retry_propagation(&role_name, || workers.connect(&role.id, &found.id))
            .await
            .map_err(|e| self.in_step("connecting the role to the Region", e))?;
        let seen = workers
            .connection_zones(&connection.id)
            .await
            .map_err(|e| self.step("listing the Availability Zones the role sees", e))?;
        let zone = match seen.iter().any(|z| z.eq_ignore_ascii_case(zone_name)) {
            true => workers
                .zone(&found.id, zone_name)
                .await
                .map_err(|e| self.step("finding the Availability Zone in the appliance", e))?,
            false => None,
        }
        .ok_or_else(|| Error::ZoneNotSeen {
            zone: zone_name.clone(),
            region: region.to_owned(),
            seen: seen.join(", "),
        })?;
        let spec = WorkerSpec {
            account_id: self.account.to_owned(),
            role_id: role.id.clone(),
            zone_id: zone.id,
            vpc_id: props.vpc_id.clone(),
            subnet_id: props.subnet_id.clone(),
            security_group_id: props.security_group_id.clone(),
        };
        Ok(Prepared {
            spec,
            role_name,
            region_id: found.id,
        })
    }

    /// This account's configuration in the Region `region_id`, among those the appliance lists.
    async fn configuration_in(&self, region_id: &str) -> Result<Option<WorkerConfiguration>, Error> {
        let workers = self.workers_api();
        let listed = workers
            .list()
            .await
            .map_err(|e| self.step("listing worker configurations to adopt this account's", e))?;
        // The listing names zones by ID: the Region's zones say which are in it.
        let zones = workers
            .zones(region_id)
            .await
            .map_err(|e| self.step("listing the Region's Availability Zones", e))?;
        Ok(listed
            .into_iter()
            .find(|c| c.spec.account_id == self.account && zones.iter().any(|z| z.id == c.spec.zone_id)))
    }

    async fn unconfigure(&self, physical_id: &str) -> Result<(Outcome, Effect), Error> {
        let Some((_, id)) = parse_physical_id(physical_id) else {
            info!("no worker configuration was made for this resource: nothing to remove");
            return Ok((Outcome::new(), Effect::Unchanged));
        };
        let configuration = match self.workers_api().get(id).await {
            Ok(Some(configuration)) => configuration,
            Ok(None) => {
                info!("the worker configuration is not in the appliance: nothing to remove");
                return Ok((Outcome::new(), Effect::Unchanged));
            }
            // The path is the API's usual one, not a documented one: not offered.
            Err(vbaws_client::Error::Api(api)) if api.status == 405 => {
                return Ok(left(id, "the appliance offers no way to read it"));
            }
            Err(error) => return Err(self.step("reading the worker configuration", error)),
        };
        if configuration.spec.account_id != self.account {
            warn!(id, "refusing to remove another account's worker configuration");
            let other = format!(
                "worker configuration {id} belongs to account {}, not to this stack's account {}; it was left in the appliance",
                configuration.spec.account_id, self.account
            );
            return Ok((Outcome::new().warning(other), Effect::Retained));
        }
        match self.workers_api().delete(id).await {
            Ok(Deleted::Removed) => info!(id, "worker configuration removed"),
            Ok(Deleted::AlreadyGone) => info!(id, "worker configuration already gone"),
            Err(vbaws_client::Error::Api(api))
                if api.status == 405 || api.status == 400 || api.is_in_use() =>
            {
                return Ok(left(
                    id,
                    api.details.as_deref().unwrap_or("the appliance refused"),
                ));
            }
            Err(error) => return Err(self.step("removing the worker configuration", error)),
        }
        Ok((Outcome::new(), Effect::Removed))
    }

    fn workers_api(&self) -> vbaws_client::Workers<'_> {
        self.client.until(self.deadline).workers()
    }

    /// A client error during `step`, with the advice that fits it.
    fn step(&self, step: &'static str, error: vbaws_client::Error) -> Error {
        self.in_step(step, self.fail(error))
    }

    fn in_step(&self, step: &'static str, error: Error) -> Error {
        match error {
            // Already specific: the role, the Region or the zone at fault is named.
            specific @ (Error::NotAssumable { .. } | Error::Worker { .. }) => specific,
            cause => Error::Worker {
                step,
                cause: Box::new(cause),
            },
        }
    }
}

fn left(id: &str, why: &str) -> (Outcome, Effect) {
    let text = format!(
        "worker configuration {id} was left in the appliance ({why}); remove it in the appliance's console if it is no longer wanted"
    );
    warn!(id, reason = %text, "not removed");
    (Outcome::new().warning(text), Effect::Retained)
}
