//! An AWS Organization's rollout of the roles StackSet, played on one machine with the real
//! function binaries, the appliance simulator and `vbaws-template`'s CloudFormation player for
//! `roles.yaml`.

pub mod chaos;
mod confirm;
mod operator;
pub mod story;
mod upgrade;
pub mod workers;
pub mod world;

pub use vbaws_template::Stack;
pub use world::{World, member_stack};

/// What stops the demo.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("could not start the local environment: {0}")]
    Start(Box<dyn std::error::Error + Send + Sync>),
    #[error("moto {operation}: {problem}")]
    Aws {
        operation: &'static str,
        problem: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("no function has the ServiceToken {0}")]
    UnknownFunction(String),
    #[error("no answer arrived for {0}")]
    Unanswered(String),
    #[error("the answer for {key} is not JSON: {problem}")]
    AnswerNotJson { key: String, problem: serde_json::Error },
    #[error(transparent)]
    Stack(#[from] vbaws_template::PlayError),
    #[error("could not run {program}: {problem}")]
    Run {
        program: String,
        problem: std::io::Error,
    },
}

impl DemoError {
    pub(crate) fn start(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Start(Box::new(error))
    }

    pub(crate) fn aws(
        operation: &'static str,
        problem: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Aws {
            operation,
            problem: Box::new(problem),
        }
    }
}
