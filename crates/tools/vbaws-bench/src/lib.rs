//! `make bench`: the two functions measured as whole processes (cold start, warm latency, peak
//! memory) and a rollout of many accounts in the demo's local world. Measuring
//! ([`measure`]) and rendering the report ([`report`]) are apart, so the numbers can be checked
//! or rendered otherwise.

pub mod measure;
pub mod reconciliation;
pub mod report;

use std::fmt;

pub use measure::{FunctionFigures, Rollout, percentile};
pub use reconciliation::Reconciliation;

/// The functions this project ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    RandomExtId,
    Configurator,
}

impl Function {
    pub const ALL: [Self; 2] = [Self::RandomExtId, Self::Configurator];

    /// The binary's (and the zip's) name.
    pub fn binary(self) -> &'static str {
        match self {
            Self::RandomExtId => "random-ext-id",
            Self::Configurator => "veeam-configurator",
        }
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.binary())
    }
}

/// What stops a measurement.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the local world could not start: {0}")]
    Start(Box<dyn std::error::Error + Send + Sync>),
    #[error("{function} event {event}: no answer ({completion})")]
    Unanswered {
        function: Function,
        event: usize,
        completion: String,
    },
    #[error("cannot read template/roles.yaml: {0}")]
    TemplateFile(std::io::Error),
    #[error("template/roles.yaml: {0}")]
    Template(vbaws_template::Error),
    #[error(transparent)]
    Demo(#[from] vbaws_demo::DemoError),
}

impl Error {
    pub(crate) fn start(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Start(Box::new(error))
    }
}

/// Everything one run measured.
#[derive(Debug)]
pub struct Results {
    pub functions: Vec<(Function, FunctionFigures)>,
    pub rollout: Rollout,
    pub reconciliation: Reconciliation,
    /// `make bench CHAOS=1`: the rollout under fire.
    pub chaos: Option<vbaws_demo::chaos::ChaosReport>,
    pub cold_runs: usize,
    pub warm_events: usize,
    pub concurrency: usize,
    pub sandboxes: usize,
}
