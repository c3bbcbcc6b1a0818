//! Create, Update and Delete against the appliance.

use std::time::Duration;

use tokio::time::Instant;
use tracing::{info, warn};
use vbaws_cfn::{Action, Outcome};
use vbaws_client::{AmazonAccount, Client, CrossAccountSpec, Deleted, MadeBy, RoleSpec, Roles};

use crate::{Error, Properties, Resource, metrics::Effect, parse_physical_id, physical_id};

/// Waits between "cannot assume role" answers: IAM propagation takes seconds to minutes.
const FIRST_PROPAGATION_WAIT: Duration = Duration::from_secs(2);
const LONGEST_PROPAGATION_WAIT: Duration = Duration::from_secs(20);
/// Before a request whose outcome is unknown is sent again.
const BROKEN_REQUEST_WAIT: Duration = Duration::from_millis(500);

pub(crate) struct Work<'a> {
    pub client: &'a Client,
    pub deadline: Instant,
    pub account: &'a str,
    /// The stack's Region, from its (confirmed) StackId.
    pub region: &'a str,
    pub url: &'a str,
    pub secret_id: &'a str,
    /// Noted in every registration's description: the reconciliation removes only what
    /// carries it.
    pub made_by: MadeBy,
}

impl Work<'_> {
    fn roles(&self) -> Roles<'_> {
        self.client.until(self.deadline).roles()
    }

    fn spec(&self, props: &Properties) -> RoleSpec {
        RoleSpec {
            name: props.display_name(self.account),
            description: Some(self.made_by.describe(props.description.as_deref())),
            role: CrossAccountSpec {
                account_id: self.account.to_owned(),
                role_name: props.role_name.clone(),
                external_id: Some(props.role_ext_id.clone()),
            },
        }
    }

    pub(crate) fn fail(&self, error: vbaws_client::Error) -> Error {
        classify(error, self.url, self.secret_id)
    }

    /// The work `action` asks of the resource `resource` describes.
    pub(crate) async fn dispatch(
        &self,
        action: &Action<Resource>,
        resource: &Resource,
    ) -> Result<(Outcome, Effect), Error> {
        match resource {
            Resource::Registration(props) => self.run(action, props).await,
            Resource::Workers(props) => self.run_workers(action, props).await,
        }
    }

    pub(crate) async fn run(
        &self,
        action: &Action<Resource>,
        props: &Properties,
    ) -> Result<(Outcome, Effect), Error> {
        match action {
            Action::Create => self.create(props).await,
            Action::Update {
                physical_resource_id,
                old_properties,
            } => {
                let old = match old_properties {
                    Some(Resource::Registration(old)) => Some(old),
                    _ => None,
                };
                self.update(props, physical_resource_id, old).await
            }
            Action::Delete { physical_resource_id } => self.delete(props, physical_resource_id).await,
        }
    }

    pub(crate) async fn create(&self, props: &Properties) -> Result<(Outcome, Effect), Error> {
        let (role, effect) = self.register(props).await?;
        Ok((outcome(&role), effect))
    }

    pub(crate) async fn update(
        &self,
        props: &Properties,
        event_id: &str,
        old: Option<&Properties>,
    ) -> Result<(Outcome, Effect), Error> {
        if old.map(Properties::identity) != Some(props.identity()) {
            info!(
                "role name or purpose changed: registering anew; CloudFormation deletes the old registration afterwards"
            );
            return self.create(props).await;
        }
        let Some((_, veeam_id)) = parse_physical_id(event_id) else {
            // Made by something else (an earlier tool): converge by name, keep the ID.
            let (role, effect) = self.register(props).await?;
            return Ok((outcome(&role).physical_id(event_id), effect));
        };
        match self.roles().get(veeam_id).await.map_err(|e| self.fail(e))? {
            Some(role) => {
                self.check_owner(&role)?;
                let spec = self.spec(props);
                let updated = self
                    .retry_propagation(&props.role_name, || self.roles().update(&role.id, &spec))
                    .await?;
                Ok((outcome(&updated), Effect::Updated))
            }
            None => {
                info!(
                    veeam_id,
                    "the registration is gone from the appliance; registering it again"
                );
                self.create(props).await
            }
        }
    }

    pub(crate) async fn delete(
        &self,
        props: &Properties,
        event_id: &str,
    ) -> Result<(Outcome, Effect), Error> {
        let found = match parse_physical_id(event_id) {
            Some((_, veeam_id)) => self.roles().get(veeam_id).await,
            // An ID we never issued (CloudFormation makes one up when a Create is cancelled):
            // look the registration up by its name.
            None => self.roles().find_by_name(&props.display_name(self.account)).await,
        }
        .map_err(|e| self.fail(e))?;
        let Some(role) = found else {
            info!("the registration is not in the appliance: nothing to remove");
            return Ok((Outcome::new(), Effect::Unchanged));
        };
        if let Err(not_owned) = self.check_owner(&role) {
            warn!(%not_owned, "refusing to remove a registration of another account");
            return Ok((Outcome::new().warning(not_owned.to_string()), Effect::Retained));
        }
        if role.is_default() {
            let never = format!(
                "{:?} is the appliance's default role and is never removed",
                role.name
            );
            return Ok((Outcome::new().warning(never), Effect::Retained));
        }
        if !role.is_cross_account(self.account, &props.role_name) {
            // Taken over since (a new RoleName, or a migration): it registers another role now,
            // and removing it would leave that role unregistered.
            info!(veeam_id = %role.id, "the registration now points at another role: left in place");
            return Ok((Outcome::new(), Effect::Retained));
        }
        let blockers: Vec<String> = self
            .roles()
            .validate_delete(&role.id)
            .await
            .map_err(|e| self.fail(e))?
            .into_iter()
            .filter(|m| m.is_error())
            .map(|m| m.message)
            .collect();
        if !blockers.is_empty() {
            return Ok((left_in_place(&role, &blockers.join("; ")), Effect::Retained));
        }
        match self.roles().delete(&role).await {
            Ok(Deleted::Removed) => info!(veeam_id = %role.id, "registration removed"),
            Ok(Deleted::AlreadyGone) => info!(veeam_id = %role.id, "registration already gone"),
            Err(vbaws_client::Error::Api(api)) if api.is_in_use() => {
                let why = api.details.as_deref().unwrap_or("in use");
                return Ok((left_in_place(&role, why), Effect::Retained));
            }
            Err(error) => return Err(self.fail(error)),
        }
        Ok((Outcome::new(), Effect::Removed))
    }

    /// Create-or-adopt. POST first: in the usual case that is the only request. When the name
    /// is taken by a registration of the same account, it is adopted and updated to this
    /// stack's role and external ID; one of another account is a conflict.
    async fn register(&self, props: &Properties) -> Result<(AmazonAccount, Effect), Error> {
        let spec = self.spec(props);
        match self
            .retry_propagation(&props.role_name, || self.roles().create(&spec))
            .await
        {
            Ok(role) => Ok((role, Effect::Created)),
            Err(Error::Appliance(vbaws_client::Error::Api(api))) if api.is_name_taken() => {
                let refused = || Error::Appliance(vbaws_client::Error::Api(api.clone()));
                let existing =
                    self.roles()
                        .find_by_name(&spec.name)
                        .await
                        .map_err(|e| Error::LookupAfterRefusal {
                            refused: Box::new(refused()),
                            lookup: Box::new(self.fail(e)),
                        })?;
                let Some(existing) = existing else {
                    return Err(refused());
                };
                // Same name, same account: a duplicate event, a role registered by hand, an
                // earlier tool's registration (the Python solution names them the same way), or
                // this stack's own before its RoleName changed. One PUT points it at this role
                // and external ID: backups keep a role they can assume throughout, and no second
                // registration appears. Another account's is never touched.
                let Some(previous) = existing
                    .cross_account_role
                    .as_ref()
                    .filter(|r| r.account_id == self.account)
                else {
                    return Err(Error::Conflict {
                        name: spec.name,
                        other_account: existing.account_id().unwrap_or("unknown").to_owned(),
                        other_role: existing
                            .cross_account_role
                            .as_ref()
                            .map_or_else(|| "the appliance's own role".to_owned(), |r| r.role_name.clone()),
                    });
                };
                info!(
                    veeam_id = %existing.id,
                    previous_role = %previous.role_name,
                    "adopting this account's registration of the name"
                );
                let adopted = self
                    .retry_propagation(&props.role_name, || self.roles().update(&existing.id, &spec))
                    .await?;
                Ok((adopted, Effect::Adopted))
            }
            Err(error) => Err(error),
        }
    }

    /// Runs `attempt` again while the appliance cannot assume the role, or when the request broke
    /// mid-way, until the deadline.
    pub(crate) async fn retry_propagation<T, F, Fut>(&self, role_name: &str, attempt: F) -> Result<T, Error>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, vbaws_client::Error>>,
    {
        let mut wait = FIRST_PROPAGATION_WAIT;
        loop {
            match attempt().await {
                Err(vbaws_client::Error::Api(api)) if api.is_assume_role_failure() => {
                    // Keep a little time for the answer after the last wait.
                    if Instant::now() + wait + Duration::from_secs(1) >= self.deadline {
                        return Err(Error::NotAssumable {
                            role_arn: format!(
                                "arn:aws:iam::{}:role/{}",
                                self.account,
                                role_name.trim_start_matches('/')
                            ),
                            detail: api.details.clone().unwrap_or_default(),
                        });
                    }
                    info!(
                        wait_s = wait.as_secs(),
                        "the appliance cannot assume the role yet; waiting for IAM to propagate it"
                    );
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(LONGEST_PROPAGATION_WAIT);
                }
                // The request broke mid-way (a dropped connection, no answer in time): whether
                // the appliance applied it is unknown. Sending it again is safe here: a create
                // that was applied finds its name taken and adopts its own registration, and an
                // update is the same PUT.
                Err(broken @ vbaws_client::Error::Transport { .. })
                    if Instant::now() + BROKEN_REQUEST_WAIT + Duration::from_secs(1) < self.deadline =>
                {
                    info!(error = %broken, "a request broke mid-way; sending it again");
                    tokio::time::sleep(BROKEN_REQUEST_WAIT).await;
                }
                other => return other.map_err(|e| self.fail(e)),
            }
        }
    }

    pub(crate) fn check_owner(&self, role: &AmazonAccount) -> Result<(), Error> {
        match role.account_id() {
            Some(owner) if owner == self.account => Ok(()),
            owner => Err(Error::NotOwned {
                name: role.name.clone(),
                veeam_id: role.id.clone(),
                owner: owner.unwrap_or("unknown").to_owned(),
                account: self.account.to_owned(),
            }),
        }
    }
}

fn outcome(role: &AmazonAccount) -> Outcome {
    Outcome::new()
        .physical_id(physical_id(&role.name, &role.id))
        .data(crate::VEEAM_ROLE_ID, role.id.clone())
        .data(crate::VEEAM_ROLE_NAME, role.name.clone())
}

fn left_in_place(role: &AmazonAccount, why: &str) -> Outcome {
    let text = format!(
        "registration {:?} was left in the appliance because it is in use ({why}); remove it by hand once no policy or repository uses it",
        role.name
    );
    warn!(veeam_id = %role.id, reason = %text, "not removed");
    Outcome::new().warning(text)
}

/// Turns a client error into the function's error, with the advice that fits it.
fn classify(error: vbaws_client::Error, url: &str, secret_id: &str) -> Error {
    match error {
        e if e.is_unreachable() => Error::Unreachable {
            url: url.to_owned(),
            detail: e.to_string(),
        },
        e @ (vbaws_client::Error::CertificateMismatch { .. }
        | vbaws_client::Error::UntrustedCertificate { .. }) => Error::Certificate(e),
        e @ vbaws_client::Error::UnsupportedApiVersion { .. } => Error::ApiVersion(e),
        e @ (vbaws_client::Error::Authentication { .. } | vbaws_client::Error::MfaRequired { .. }) => {
            Error::Rejected {
                secret_id: secret_id.to_owned(),
                refusal: e,
            }
        }
        e => Error::Appliance(e),
    }
}
