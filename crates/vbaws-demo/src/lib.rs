//! An AWS Organization's rollout of the roles StackSet, played on one machine with the real
//! function binaries, the appliance simulator and a CloudFormation player for `roles.yaml`.

pub mod stack;
pub mod story;
pub mod world;

pub use stack::Stack;
pub use world::World;

/// What stops the demo.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("could not start the local environment: {0}")]
    Start(String),
    #[error("S3 (moto): {0}")]
    Aws(String),
    #[error("the template cannot be played: {0}")]
    Template(String),
    #[error("no answer arrived for {0}")]
    Unanswered(String),
    #[error("account {account}: {resource} answered FAILED: {reason}")]
    Failed {
        account: String,
        resource: String,
        reason: String,
    },
}

impl DemoError {
    pub(crate) fn start(error: impl std::fmt::Display) -> Self {
        Self::Start(error.to_string())
    }
}
