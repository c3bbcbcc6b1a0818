//! `Custom::VeeamAwsConfigurator`: registers a member account's IAM role in the Veeam Backup for
//! AWS appliance, keeps the registration in step with the template, and removes it when the
//! resource goes.
//!
//! - **Create** is create-or-adopt: POST first (one request in the usual case); when the name is
//!   taken, a registration of the same account and role is adopted (and updated), and one of
//!   another account or role is a conflict. "Cannot assume role" is retried until the time budget
//!   ends, because a new IAM role takes a while to propagate.
//! - **Update** converges: the same role and purpose are updated in place (PUT, same
//!   PhysicalResourceId); a new role name or purpose is registered anew, with a new
//!   PhysicalResourceId, and CloudFormation's later Delete removes the old one.
//! - **Delete** removes the registration when it belongs to the stack's account and nothing uses
//!   it; otherwise it succeeds with a warning, so that an account leaving the OU is never blocked.
//!   `OnDelete: Retain` keeps it.
//!
//! The same function serves `Custom::VeeamWorkerConfiguration` ([`workers`]): the production
//! worker configuration of the stack's account in one Region.
//!
//! Before any of these changes the appliance, CloudFormation confirms that the event is real
//! ([`confirm`]): the function may be invoked by anyone in the Organization with an event they
//! wrote.

pub mod confirm;
mod lifecycle;
mod metrics;
mod properties;
mod settings;
pub mod workers;

use std::{sync::Arc, time::Duration};

use tokio::{sync::Mutex, time::Instant};
use tracing::{info, warn};
use vbaws_cfn::{Action, CustomResource, Outcome, Request};
use vbaws_client::Client;

use confirm::{ConfirmError, Confirmer, Mode, Operation};

pub use metrics::{Effect, METRICS_NAMESPACE};
pub use properties::{MAX_DISPLAY_NAME, OnDelete, Properties, Resource, parse_physical_id, physical_id};
pub use settings::{
    CONFIRMATION_VARIABLES, ConfigError, LEGACY_VARIABLES, Misconfiguration, Settings, VARIABLES,
};
pub use vbaws_appliance::{CredentialsError, CredentialsSource, ExtensionUnavailable};
pub use workers::{WORKER_CONFIGURATION_ID, WorkerProperties};

/// The resource type of a role's registration.
pub const REGISTRATION_TYPE: &str = "Custom::VeeamAwsConfigurator";
/// The resource type of a production worker configuration.
pub const WORKERS_TYPE: &str = "Custom::VeeamWorkerConfiguration";

/// The Data key of the registration's ID in the appliance.
pub const VEEAM_ROLE_ID: &str = "VeeamRoleId";
/// The Data key of the registration's display name.
pub const VEEAM_ROLE_NAME: &str = "VeeamRoleName";
/// Every Data key a registration returns.
pub const DATA_KEYS: &[&str] = &[VEEAM_ROLE_ID, VEEAM_ROLE_NAME];
/// Every Data key a worker configuration returns.
pub const WORKER_DATA_KEYS: &[&str] = &[WORKER_CONFIGURATION_ID];

/// Time kept back from the work's deadline to answer with our own error.
const OWN_ERROR_TIME: Duration = Duration::from_millis(750);

/// Why a request failed. Each message is the FAILED answer's Reason: it says what is wrong and
/// where to look.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Shared: a misconfigured sandbox answers every event with the same error.
    #[error(transparent)]
    Config(Arc<ConfigError>),
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error(
        "MemberAccountId is {given}, but this stack runs in account {stack}; nothing was changed. Remove MemberAccountId or correct it"
    )]
    AccountMismatch { given: String, stack: String },
    #[error("the StackId {0:?} names no account; the event was not sent by CloudFormation")]
    NoAccount(String),
    #[error(
        "the display name {name:?} is already taken in the appliance by the registration of role {other_role:?} in account {other_account}; \
         choose another Purpose, or remove that registration in the appliance"
    )]
    Conflict {
        name: String,
        other_account: String,
        other_role: String,
    },
    #[error(
        "registration {name:?} ({veeam_id}) belongs to account {owner}, not to this stack's account {account}; nothing was changed"
    )]
    NotOwned {
        name: String,
        veeam_id: String,
        owner: String,
        account: String,
    },
    #[error(
        "the appliance could not assume role {role_arn} before the time budget ran out ({detail}). Check that the role trusts \
         the appliance's role with this external ID; a new role can take a few minutes to propagate, so retrying the stack \
         operation later may succeed"
    )]
    NotAssumable { role_arn: String, detail: String },
    #[error(
        "could not reach the appliance at {url} ({detail}). Likely causes: the appliance's security group does not admit this \
         function's security group on the API port; the function's subnets have no route to the appliance; the appliance or \
         its REST service is stopped"
    )]
    Unreachable { url: String, detail: String },
    #[error(
        "{refusal}. Check that the password in secret {secret_id} is the appliance user's, and that the user is a Portal Administrator"
    )]
    Rejected {
        secret_id: String,
        refusal: vbaws_client::Error,
    },
    /// The appliance refused the credentials, and reading the secret again, past the
    /// extension's cache, failed too: the refusal leads, since that is what to fix first.
    #[error("{rejected}. Reading the secret again, past the extension's cache, failed too: {reread}")]
    RejectedAndUnreadable {
        rejected: Box<Error>,
        reread: CredentialsError,
    },
    /// A create was refused, and looking for the registration that holds its name (to adopt it)
    /// failed too: the refusal leads.
    #[error("{refused}; looking for the registration that holds the name failed too: {lookup}")]
    LookupAfterRefusal { refused: Box<Error>, lookup: Box<Error> },
    #[error(
        "{0}. Set VEEAM_CERT_SHA256 to the new fingerprint if the appliance's certificate was replaced on purpose"
    )]
    Certificate(vbaws_client::Error),
    #[error(
        "{0}. The stack parameter ApplianceApiVersion (the function's VEEAM_API_VERSION) sets the revision"
    )]
    ApiVersion(vbaws_client::Error),
    #[error("the appliance refused: {0}")]
    Appliance(vbaws_client::Error),
    #[error("{step} failed: {cause}")]
    Worker { step: &'static str, cause: Box<Error> },
    #[error(
        "the worker-configuration role's registration {veeam_id} is not in the appliance; VeeamRoleId must be \
         !GetAtt of this stack's Custom::VeeamAwsConfigurator that registers the worker-configuration role"
    )]
    WorkerRoleMissing { veeam_id: String },
    #[error(
        "the appliance does not know Region {region}; set Region to one the appliance lists (Configuration > Workers > Add)"
    )]
    RegionUnknown { region: String },
    #[error(
        "Availability Zone {zone} is not in Region {region}; choose a zone of the Region (for example {region}a)"
    )]
    ZoneOutsideRegion { zone: String, region: String },
    #[error(
        "the worker-configuration role sees the Availability Zones [{seen}] of Region {region}, not {zone}; \
         choose one of them, or check that the role may call ec2:DescribeAvailabilityZones"
    )]
    ZoneNotSeen {
        zone: String,
        region: String,
        seen: String,
    },
    /// CloudFormation did not confirm the event (or could not be asked), and confirmation is
    /// enforced.
    #[error("{0}; nothing was changed")]
    Unconfirmed(ConfirmError),
}

/// The function behind `Custom::VeeamAwsConfigurator`.
#[derive(Debug)]
pub struct Configurator {
    ready: Result<Ready, Arc<ConfigError>>,
}

#[derive(Debug)]
struct Ready {
    settings: Settings,
    credentials: CredentialsSource,
    confirmer: Confirmer,
    /// Lives across warm invocations: one login per sandbox while the token is valid.
    client: Mutex<Option<Client>>,
}

impl Configurator {
    /// A configurator for `settings`. A configuration error is kept, not raised: every event is
    /// then answered FAILED with it, instead of a sandbox that crashes before it can answer.
    pub fn new(settings: Result<Settings, ConfigError>) -> Self {
        let ready = settings.and_then(|settings| {
            let credentials = CredentialsSource::new(&settings.appliance)
                .map_err(vbaws_appliance::Misconfiguration::ExtensionClient)?;
            Ok(Ready {
                confirmer: Confirmer::new(settings.confirmation.clone()),
                settings,
                credentials,
                client: Mutex::new(None),
            })
        });
        if let Err(error) = &ready {
            warn!(%error, "misconfigured: every event will be answered FAILED");
        }
        Self {
            ready: ready.map_err(Arc::new),
        }
    }
}

impl CustomResource for Configurator {
    type Properties = Resource;
    type Error = Error;

    async fn handle(&self, request: Request<Resource>) -> Result<Outcome, Error> {
        let result = self.apply(request).await;
        metrics::emit(result.as_ref().map_or(Effect::Failed, |(_, effect)| *effect));
        result.map(|(outcome, _)| outcome)
    }
}

impl Configurator {
    /// The work of one event, and what it did to the appliance.
    async fn apply(&self, request: Request<Resource>) -> Result<(Outcome, Effect), Error> {
        let ready = self.ready.as_ref().map_err(|e| Error::Config(Arc::clone(e)))?;
        let account = request
            .stack_account()
            .ok_or_else(|| Error::NoAccount(request.stack_id.clone()))?
            .to_owned();
        let given = match &request.properties {
            Resource::Registration(props) => props.member_account_id.as_deref(),
            Resource::Workers(_) => None,
        };
        if let Some(given) = given.filter(|given| *given != account) {
            let mismatch = Error::AccountMismatch {
                given: given.to_owned(),
                stack: account,
            };
            // A Delete never blocks: a forged one removes nothing, and a real one must not leave
            // the stack in DELETE_FAILED.
            if let Action::Delete { .. } = request.action {
                warn!(%mismatch, "Delete answered SUCCESS without touching the appliance");
                return Ok((Outcome::new().warning(mismatch.to_string()), Effect::Retained));
            }
            return Err(mismatch);
        }
        if let (Action::Delete { .. }, OnDelete::Retain) = (&request.action, request.properties.on_delete()) {
            info!("OnDelete is Retain: it stays in the appliance");
            return Ok((Outcome::new(), Effect::Retained));
        }
        // Stop a little before the protocol core would, so that a slow appliance is reported
        // with its URL and likely causes rather than as a bare timeout.
        let deadline = request
            .deadline
            .checked_sub(OWN_ERROR_TIME)
            .unwrap_or(request.deadline);
        if let Err(refused) = ready.confirm(&request, deadline).await {
            confirm::log(&refused, ready.confirmer.mode());
            metrics::emit_unconfirmed(&refused);
            match (ready.confirmer.mode(), &request.action) {
                (Mode::Report, _) => {}
                // A Delete never blocks a stack; the reconciliation finds what it left.
                (Mode::Enforce, Action::Delete { .. }) => {
                    let kept = format!("{refused}; the registration was left in the appliance");
                    return Ok((Outcome::new().warning(kept), Effect::Unchanged));
                }
                (Mode::Enforce, _) => return Err(Error::Unconfirmed(refused)),
            }
        }
        let client = ready.client(deadline).await?;
        let work = lifecycle::Work {
            client: &client,
            deadline,
            account: &account,
            region: request.stack_region().unwrap_or_default(),
            url: &ready.settings.appliance.api_url,
            secret_id: ready.credentials.secret_id(),
            made_by: vbaws_client::MadeBy::new(&request.stack_id, &request.logical_resource_id),
        };
        match work.dispatch(&request.action, &request.properties).await {
            // The appliance refused the credentials, at the first login or after the password
            // changed mid-session: read the secret again, past the extension's cache, and redo the
            // work once (every action converges, so repeating it is safe).
            Err(rejected @ Error::Rejected { .. }) => {
                info!("the appliance refused the credentials; reading the secret again past any cache");
                let fresh = ready.credentials.fresh(deadline).await.map_err(|reread| {
                    Error::RejectedAndUnreadable {
                        rejected: Box::new(rejected),
                        reread,
                    }
                })?;
                client.set_credentials(fresh).await;
                work.dispatch(&request.action, &request.properties).await
            }
            other => other,
        }
    }
}

impl Ready {
    /// Asks CloudFormation whether the event's resource is in the operation it claims.
    async fn confirm(
        &self,
        request: &Request<Resource>,
        deadline: tokio::time::Instant,
    ) -> Result<(), ConfirmError> {
        let operation = match &request.action {
            Action::Create => Operation::Create,
            Action::Update {
                physical_resource_id, ..
            } => Operation::Update {
                physical_id: physical_resource_id,
            },
            Action::Delete { physical_resource_id } => Operation::Delete {
                physical_id: physical_resource_id,
            },
        };
        self.confirmer
            .confirm(
                &request.stack_id,
                &request.logical_resource_id,
                &request.resource_type,
                operation,
                deadline,
            )
            .await
    }

    /// The sandbox's client, built at the first event from the secret. It logs in at its first
    /// request and keeps its token across warm invocations.
    async fn client(&self, deadline: Instant) -> Result<Client, Error> {
        let mut slot = self.client.lock().await;
        if let Some(client) = slot.as_ref() {
            return Ok(client.clone());
        }
        let credentials = self.credentials.current(deadline).await?;
        let client = self
            .settings
            .appliance
            .client(credentials)
            .map_err(|e| Error::Config(Arc::new(vbaws_appliance::Misconfiguration::Client(e).into())))?;
        *slot = Some(client.clone());
        Ok(client)
    }
}
