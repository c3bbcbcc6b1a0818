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

/// The mix of issue 17: 5% 503s, 1% dropped connections, 0.2% hangs, 200 ms per appliance
/// request, 2 s logins, 8 s IAM propagation, 2% S3 503s, one sandbox killed every 100 events;
/// as many configurator sandboxes as stacks in flight, as Lambda would run.
pub fn chaos_plan(
    accounts: usize,
    concurrency: usize,
    bin_dir: &std::path::Path,
) -> vbaws_demo::chaos::ChaosPlan {
    use std::time::Duration;
    vbaws_demo::chaos::ChaosPlan {
        accounts,
        concurrency,
        sandboxes: concurrency,
        appliance: vbaws_sim::Chaos {
            seed: 2026,
            unavailable: 0.05,
            drop: 0.01,
            hang: 0.002,
            login_latency: Duration::from_secs(2),
            propagation: Duration::from_secs(8),
        },
        request_latency: Duration::from_millis(200),
        s3_unavailable: 0.02,
        kill_every: 100,
        bin_dir: bin_dir.to_path_buf(),
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
