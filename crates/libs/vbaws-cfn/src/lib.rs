//! The CloudFormation custom-resource protocol, built so that a stack is never left waiting.
//!
//! A function implements [`CustomResource`] and calls [`run`]. The core then guarantees, for every
//! event that names a usable ResponseURL, exactly one answer before the invocation's deadline:
//!
//! - The routing fields (ResponseURL, StackId, RequestId, LogicalResourceId, PhysicalResourceId,
//!   RequestType) are read from the raw JSON first. Everything that goes wrong after that (a
//!   missing field, an unknown RequestType, properties that do not parse, a handler error, a
//!   panic, work that runs past the time budget) becomes a FAILED answer whose Reason says what
//!   is wrong.
//! - The time budget is the invocation's deadline minus [`Config::safety_margin`]; a missing or
//!   implausible deadline falls back to [`Config::fallback_budget`].
//! - The answer is one PUT with an empty Content-Type and an exact Content-Length, retried with
//!   backoff and jitter on connection errors and on any non-2xx status until the deadline. Logs
//!   show its status and the URL without its query, which is a credential.
//! - The body never exceeds 4096 bytes and the PhysicalResourceId never 1024.
//! - A failed Create answers a marker ID, and the Delete of a marker succeeds without calling the
//!   handler. Update and Delete keep the event's ID unless the handler names a replacement.
//! - An event that is not a JSON object, or has no usable ResponseURL, is logged without its
//!   content and skipped; the process goes on with the next event. A ResponseURL that is not an
//!   S3 endpoint of an AWS partition (or a host allowed by configuration) is not usable: answering
//!   it would let anyone who may invoke the function send requests into its network.
//!
//! What this crate does not do: talk to anything but the ResponseURL, or decide what a resource
//! is. It has no AWS SDK dependency.

mod allow;
mod error;
mod handler;
mod physical_id;
pub mod props;
mod request;
mod response;
mod routing;
mod sender;

#[cfg(test)]
mod proptests;

#[cfg(any(test, feature = "fuzzing"))]
mod echo;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;

use std::{sync::Arc, time::Duration};

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

pub use allow::ResponseUrlPolicy;
pub use error::Error;
pub use physical_id::is_create_failed_marker;
pub use request::{Action, CustomResource, Outcome, Request};
pub use response::{MAX_BODY_BYTES, MAX_PHYSICAL_ID_BYTES};
pub use routing::{RequestType, ResponseUrl, Routing, Unroutable};

/// The environment variables the protocol core reads (see [`Config::from_env`]).
pub const VARIABLES: &[&str] = &["RESPONSE_URL_ALLOWED_HOSTS"];

/// Timing settings of the protocol core.
#[derive(Debug, Clone)]
pub struct Config {
    /// Time kept back from the invocation's deadline for sending the answer.
    pub safety_margin: Duration,
    /// The whole time allowed when the invocation's deadline is missing or implausible, as with
    /// some local emulators.
    pub fallback_budget: Duration,
    /// The longest one PUT attempt may take.
    pub put_attempt_timeout: Duration,
    /// Where answers may go.
    pub response_urls: ResponseUrlPolicy,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            safety_margin: Duration::from_secs(5),
            fallback_budget: Duration::from_secs(60),
            put_attempt_timeout: Duration::from_secs(5),
            response_urls: ResponseUrlPolicy::s3_only(),
        }
    }
}

impl Config {
    /// The invocation's timing, as `vbaws-lambda` reads it.
    pub(crate) fn timing(&self) -> vbaws_lambda::Timing {
        vbaws_lambda::Timing {
            safety_margin: self.safety_margin,
            fallback_budget: self.fallback_budget,
        }
    }

    /// The defaults, with the hosts in `RESPONSE_URL_ALLOWED_HOSTS` (comma-separated `host` or
    /// `host:port`) allowed besides S3, for local runs and tests.
    pub fn from_env() -> Self {
        let hosts = std::env::var("RESPONSE_URL_ALLOWED_HOSTS").unwrap_or_default();
        Self {
            response_urls: ResponseUrlPolicy::with_hosts(&hosts),
            ..Self::default()
        }
    }
}

/// Serves `resource` on the Lambda Runtime API until the sandbox ends.
pub async fn run<R: CustomResource>(resource: R, config: Config) -> Result<(), lambda_runtime::Error> {
    let shared = Arc::new(handler::Shared {
        resource: Arc::new(resource),
        sender: sender::Sender::new(config.put_attempt_timeout)?,
        config,
    });
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let shared = Arc::clone(&shared);
        async move { shared.invoke(event).await.map(|()| Value::Null) }
    }))
    .await
}
