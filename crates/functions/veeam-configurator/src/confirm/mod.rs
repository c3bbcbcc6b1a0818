//! Only CloudFormation makes this function change the appliance.
//!
//! Any principal of the Organization may invoke the function with an event it wrote, and every
//! field of that event is a claim: StackId, LogicalResourceId, PhysicalResourceId. Before the
//! appliance is changed, AWS itself is asked whether the claim holds:
//!
//! 1. the StackId is a stack ARN in this function's Region (a ServiceToken must be in its stack's
//!    Region), of a stack instance of the roles StackSet (`StackSet-<name>-…`);
//! 2. STS: the function assumes the event reader role that the roles template creates in the
//!    stack's account (only this function's execution role may, and the role may only read that
//!    stack); an account without the role, or another account's claim, ends here;
//! 3. CloudFormation, with that role: DescribeStackResource shows the logical ID as a
//!    `Custom::VeeamAwsConfigurator` whose operation is in progress, with the event's physical ID.
//!    A Delete of an ID the resource no longer has (the cleanup after a replacement) is confirmed
//!    by the stack's newest event about that ID instead (DescribeStackEvents).
//!
//! The role's credentials are kept per account until shortly before they expire, so a warm
//! sandbox makes one CloudFormation call per event, and an STS call once an hour per account.

mod check;

use std::{
    collections::HashMap,
    time::{Duration, SystemTime},
};

use aws_sdk_cloudformation::config::Credentials;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use tokio::{sync::Mutex, time::Instant};
use tracing::{info, warn};

pub(crate) use check::Operation;
use check::{Shown, ShownEvent, StackArn, Verdict, judge, judge_events};

/// What happens to an event CloudFormation does not confirm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// It is logged and counted, then handled: the first step of an upgrade, while member
    /// accounts do not have the event reader role yet.
    Report,
    /// Nothing changes for it: Create and Update are answered FAILED, Delete SUCCESS.
    Enforce,
}

/// Where and how events are confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    pub mode: Mode,
    /// The roles StackSet, whose stack instances are named `StackSet-<name>-<ID>`.
    pub stack_set_name: String,
    /// The role the roles template creates in each member account for this function.
    pub reader_role_name: String,
    /// This function's Region.
    pub region: String,
}

/// Credentials are used until this long before they expire.
const RENEW_BEFORE: Duration = Duration::from_secs(300);
/// How long a Create waits for a just-created event reader role to become assumable: IAM is
/// eventually consistent.
const ROLE_PROPAGATION: Duration = Duration::from_secs(12);

/// Why an event is not confirmed. The texts are Reasons: they say which check failed and what to
/// do, and nothing about other accounts' registrations.
#[derive(Debug, thiserror::Error)]
pub enum Unconfirmed {
    #[error(
        "its StackId is not a CloudFormation stack ARN; only CloudFormation may send events to this function"
    )]
    NotAStack,
    #[error(
        "its stack is in Region {stack}, not in this function's Region {function}; a custom resource's ServiceToken \
         must be a function in its stack's Region"
    )]
    OtherRegion { stack: String, function: String },
    #[error(
        "its stack {name} is not a stack instance of the StackSet {stack_set}; roll the roles out with that \
         StackSet, or set the Lambdas stack's RolesStackSetName to the StackSet's name"
    )]
    NotOfStackSet { name: String, stack_set: String },
    #[error(
        "the event reader role {role_arn} could not be assumed ({code}); update the roles StackSet to this \
         release's roles.yaml with ConfiguratorRoleArn set to the Lambdas stack's output of that name (it \
         creates the role in every account)"
    )]
    ReaderRole { role_arn: String, code: String },
    /// The detail (what CloudFormation shows instead) goes to the log only.
    #[error(
        "CloudFormation does not show {logical_id} of that stack as a Custom::VeeamAwsConfigurator being {verb} \
         with this PhysicalResourceId; events sent by hand, or delivered after CloudFormation stopped waiting, \
         are not acted on: run the stack operation again"
    )]
    NotShown {
        logical_id: String,
        verb: &'static str,
        detail: String,
    },
}

/// A failed confirmation.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    #[error("could not confirm with AWS that this event comes from CloudFormation: {0}")]
    Unconfirmed(Unconfirmed),
    /// AWS could not be reached; nothing is known about the event.
    #[error(
        "could not ask {service} whether this event comes from CloudFormation ({detail}); the function's subnets \
         need a path to {service}: the Lambdas stack's {parameter} (an interface endpoint or a NAT gateway)"
    )]
    Unreachable {
        service: &'static str,
        parameter: &'static str,
        detail: String,
    },
    /// AWS refused the function's own call (its credentials, throttling, an outage); nothing is
    /// known about the event.
    #[error(
        "could not ask {service} whether this event comes from CloudFormation: it refused the function's own \
         call ({detail}); check the function's execution role, then run the stack operation again"
    )]
    Refused { service: &'static str, detail: String },
}

impl From<Unconfirmed> for ConfirmError {
    fn from(reason: Unconfirmed) -> Self {
        Self::Unconfirmed(reason)
    }
}

/// Confirms events with AWS; lives across warm invocations.
#[derive(Debug)]
pub(crate) struct Confirmer {
    settings: Confirmation,
    /// Role ARN → its session's credentials.
    sessions: Mutex<HashMap<String, Credentials>>,
}

impl Confirmer {
    pub(crate) fn new(settings: Confirmation) -> Self {
        Self {
            settings,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn mode(&self) -> Mode {
        self.settings.mode
    }

    /// Whether CloudFormation shows `logical_id` of `stack_id` in `operation` right now.
    pub(crate) async fn confirm(
        &self,
        stack_id: &str,
        logical_id: &str,
        resource_type: &str,
        operation: Operation<'_>,
        deadline: Instant,
    ) -> Result<(), ConfirmError> {
        let stack = StackArn::parse(stack_id).ok_or(Unconfirmed::NotAStack)?;
        if stack.region != self.settings.region {
            return Err(Unconfirmed::OtherRegion {
                stack: stack.region.to_owned(),
                function: self.settings.region.clone(),
            }
            .into());
        }
        if !stack
            .name
            .strip_prefix("StackSet-")
            .and_then(|rest| rest.strip_prefix(self.settings.stack_set_name.as_str()))
            .is_some_and(|rest| rest.starts_with('-'))
        {
            return Err(Unconfirmed::NotOfStackSet {
                name: stack.name.to_owned(),
                stack_set: self.settings.stack_set_name.clone(),
            }
            .into());
        }
        let role_arn = format!(
            "arn:{}:iam::{}:role/{}",
            stack.partition, stack.account, self.settings.reader_role_name
        );
        // A Create may come moments after its stack created the role; in Report mode, an account
        // without the role yet (the usual case then) is not kept waiting.
        let patience = (matches!(operation, Operation::Create) && self.settings.mode == Mode::Enforce)
            .then_some(ROLE_PROPAGATION);
        let credentials = self.session(&role_arn, patience, deadline).await?;
        let config = aws_sdk_cloudformation::config::Builder::from(vbaws_sdk::in_function().await)
            .credentials_provider(credentials)
            .build();
        let cloudformation = aws_sdk_cloudformation::Client::from_conf(config);
        let not_shown = |detail: String| Unconfirmed::NotShown {
            logical_id: logical_id.to_owned(),
            verb: operation.verb(),
            detail,
        };
        let shown = describe_resource(&cloudformation, stack_id, logical_id, deadline)
            .await?
            .map_err(not_shown)?;
        let verdict = match judge(operation, resource_type, &shown) {
            Verdict::AskEvents => {
                let (Operation::Delete { physical_id } | Operation::Update { physical_id }) = operation
                else {
                    return Err(not_shown("a Create has no physical ID to look for".into()).into());
                };
                let events = describe_events(&cloudformation, stack_id, deadline)
                    .await?
                    .map_err(not_shown)?;
                judge_events(logical_id, resource_type, physical_id, &events, SystemTime::now())
            }
            verdict => verdict,
        };
        match verdict {
            Verdict::Confirmed => Ok(()),
            Verdict::Refuted(detail) => Err(not_shown(detail).into()),
            Verdict::AskEvents => Err(not_shown("the events decide nothing".into()).into()),
        }
    }

    /// The event reader role's credentials: kept ones while they last, else AssumeRole. With
    /// `patience`, an AccessDenied is asked again for that long (a role created moments ago).
    async fn session(
        &self,
        role_arn: &str,
        patience: Option<Duration>,
        deadline: Instant,
    ) -> Result<Credentials, ConfirmError> {
        let mut sessions = self.sessions.lock().await;
        if let Some(kept) = sessions.get(role_arn).filter(|c| {
            c.expiry()
                .is_some_and(|expiry| SystemTime::now() + RENEW_BEFORE < expiry)
        }) {
            return Ok(kept.clone());
        }
        let sts = aws_sdk_sts::Client::new(vbaws_sdk::in_function().await);
        let give_up = Instant::now() + patience.unwrap_or_default();
        let mut wait = Duration::from_secs(1);
        loop {
            let call = sts
                .assume_role()
                .role_arn(role_arn)
                .role_session_name("veeam-configurator")
                .send();
            let denied = match within(deadline, "STS", "StsPath", call).await? {
                Ok(output) => {
                    let credentials = output
                        .credentials()
                        .map(|c| {
                            Credentials::new(
                                c.access_key_id(),
                                c.secret_access_key(),
                                Some(c.session_token().to_owned()),
                                SystemTime::try_from(*c.expiration()).ok(),
                                "event-reader",
                            )
                        })
                        .ok_or_else(|| ConfirmError::Refused {
                            service: "STS",
                            detail: "AssumeRole answered no credentials".into(),
                        })?;
                    sessions.insert(role_arn.to_owned(), credentials.clone());
                    return Ok(credentials);
                }
                Err(SdkError::ServiceError(service)) if service.err().code() == Some("AccessDenied") => {
                    service.err().code().unwrap_or_default().to_owned()
                }
                Err(other) => return Err(failure("STS", "StsPath", &other)),
            };
            if Instant::now() + wait >= give_up.min(deadline) {
                return Err(Unconfirmed::ReaderRole {
                    role_arn: role_arn.to_owned(),
                    code: denied,
                }
                .into());
            }
            info!(
                role_arn,
                "the event reader role cannot be assumed yet; waiting for IAM to propagate it"
            );
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }
}

/// DescribeStackResource; an inner error when CloudFormation says the resource is not there or
/// may not be read (both mean: not confirmed).
async fn describe_resource(
    client: &aws_sdk_cloudformation::Client,
    stack_id: &str,
    logical_id: &str,
    deadline: Instant,
) -> Result<Result<Shown, String>, ConfirmError> {
    let call = client
        .describe_stack_resource()
        .stack_name(stack_id)
        .logical_resource_id(logical_id)
        .send();
    Ok(
        match cloudformation(within(deadline, "CloudFormation", "CloudFormationPath", call).await?)? {
            Ok(output) => {
                let detail = output.stack_resource_detail();
                Ok(Shown {
                    resource_type: detail
                        .and_then(|d| d.resource_type())
                        .unwrap_or_default()
                        .to_owned(),
                    physical_id: detail
                        .and_then(|d| d.physical_resource_id())
                        .unwrap_or_default()
                        .to_owned(),
                    status: detail
                        .and_then(|d| d.resource_status())
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                })
            }
            Err(refused) => Err(refused),
        },
    )
}

/// The first page of DescribeStackEvents, newest first.
async fn describe_events(
    client: &aws_sdk_cloudformation::Client,
    stack_id: &str,
    deadline: Instant,
) -> Result<Result<Vec<ShownEvent>, String>, ConfirmError> {
    let call = client.describe_stack_events().stack_name(stack_id).send();
    Ok(
        match cloudformation(within(deadline, "CloudFormation", "CloudFormationPath", call).await?)? {
            Ok(output) => Ok(output
                .stack_events()
                .iter()
                .map(|e| ShownEvent {
                    logical_id: e.logical_resource_id().unwrap_or_default().to_owned(),
                    physical_id: e.physical_resource_id().unwrap_or_default().to_owned(),
                    resource_type: e.resource_type().unwrap_or_default().to_owned(),
                    status: e
                        .resource_status()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    timestamp: e.timestamp().and_then(|t| SystemTime::try_from(*t).ok()),
                })
                .collect()),
            Err(refused) => Err(refused),
        },
    )
}

/// Sorts a CloudFormation answer: what it refuses about the stack (it does not exist, the
/// resource is not in it, the reader role may not read it) is an inner error; anything else
/// that went wrong means it could not be asked.
fn cloudformation<T, E>(result: Result<T, SdkError<E>>) -> Result<Result<T, String>, ConfirmError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(output) => Ok(Ok(output)),
        Err(SdkError::ServiceError(service))
            if matches!(service.err().code(), Some("ValidationError" | "AccessDenied")) =>
        {
            let error = service.err();
            Ok(Err(format!(
                "{}: {}",
                error.code().unwrap_or_default(),
                error.message().unwrap_or_default()
            )))
        }
        Err(other) => Err(failure("CloudFormation", "CloudFormationPath", &other)),
    }
}

/// A call bounded by the deadline.
async fn within<T>(
    deadline: Instant,
    service: &'static str,
    parameter: &'static str,
    call: impl Future<Output = T>,
) -> Result<T, ConfirmError> {
    tokio::time::timeout_at(deadline, call)
        .await
        .map_err(|_| ConfirmError::Unreachable {
            service,
            parameter,
            detail: "no answer within the time budget".into(),
        })
}

/// A call that failed for a reason other than the event: the service unreachable, or refusing
/// the function's own call.
fn failure<E>(service: &'static str, parameter: &'static str, error: &SdkError<E>) -> ConfirmError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let unreachable = |detail: &str| ConfirmError::Unreachable {
        service,
        parameter,
        detail: detail.to_owned(),
    };
    match error {
        SdkError::DispatchFailure(failure) if failure.is_io() || failure.is_timeout() => {
            unreachable("it could not be reached")
        }
        SdkError::TimeoutError(_) => unreachable("it did not answer in time"),
        SdkError::ServiceError(refusal) => ConfirmError::Refused {
            service,
            detail: format!(
                "{}: {}",
                refusal.err().code().unwrap_or("an error"),
                refusal.err().message().unwrap_or("no message")
            ),
        },
        other => ConfirmError::Refused {
            service,
            detail: aws_sdk_sts::error::DisplayErrorContext(other).to_string(),
        },
    }
}

/// Logs an event that was not confirmed, with what the Reason leaves out.
pub(crate) fn log(error: &ConfirmError, mode: Mode) {
    let detail = match error {
        ConfirmError::Unconfirmed(Unconfirmed::NotShown { detail, .. }) => detail.as_str(),
        _ => "",
    };
    match mode {
        Mode::Report => warn!(
            %error, detail,
            "event not confirmed; EVENT_CONFIRMATION is Report, so it is handled anyway"
        ),
        Mode::Enforce => warn!(%error, detail, "event not confirmed; nothing is changed for it"),
    }
}
