//! Local stand-ins for the AWS parts a custom-resource function talks to, so that tests and the
//! demo drive the real function binaries over the real wire protocols, on 127.0.0.1 only:
//!
//! - [`RuntimeApi`]: the Lambda Runtime API, with real deadlines.
//! - [`ResponseBucket`]: the S3 bucket behind pre-signed ResponseURLs, recording every PUT.
//! - [`Sandbox`]: a function binary run as one Lambda sandbox; [`Lambda`]: a sandbox with its
//!   Runtime API and ResponseURL bucket.
//! - [`events`]: CloudFormation's custom-resource events, shaped as CloudFormation sends them.
//! - [`SecretsExtension`]: the Parameters and Secrets Lambda Extension's HTTP interface.
//! - [`Moto`]: moto's server, for the AWS APIs a function calls through the SDK.
//! - [`Profiles`]: AWS config files with IAM Identity Center and `credential_process` profiles.
//! - [`Cloud`]: STS and CloudFormation as they answer about the stacks the template player
//!   plays, for confirming that an event is real.
//!
//! The crate also builds `cfn-probe`, a function on the protocol core that misbehaves on request
//! (sleeps, panics, fails, returns too much), for testing what the core guarantees.

mod cloud;
pub mod events;
mod extension;
mod lambda;
mod moto;
#[cfg(feature = "aws")]
pub mod organization;
mod ports;
mod profiles;
mod response_bucket;
mod runtime_api;
mod sandbox;
mod serve;

pub use cloud::{CONFIGURATOR_ACCESS_KEY, CONFIGURATOR_ROLE_ARN, Cloud, member_stack};
pub use extension::SecretsExtension;
pub use lambda::{Delivery, Lambda};
pub use moto::Moto;
pub use ports::{ClosedPort, closed_port};
pub use profiles::Profiles;
pub use response_bucket::{RecordedPut, ResponseBucket, SIGNATURE};
pub use runtime_api::{Completion, Deadline, RuntimeApi};
pub use sandbox::{Sandbox, configurator_env};
