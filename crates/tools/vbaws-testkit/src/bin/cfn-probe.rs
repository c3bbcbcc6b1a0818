//! A custom-resource function that does what its properties ask, to test the protocol core as a
//! real process: `SleepMs`, `Panic`, `FailWith` (repeated `Repeat` times), `DataBytes` and
//! `PhysicalId`. It is a test fixture, never deployed.

use std::time::Duration;

use serde::Deserialize;
use vbaws_cfn::{Config, CustomResource, Outcome, Request, props};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Properties {
    #[serde(default, deserialize_with = "props::number")]
    sleep_ms: u64,
    #[serde(default, deserialize_with = "props::flag")]
    panic: bool,
    #[serde(default, deserialize_with = "props::optional_text")]
    fail_with: Option<String>,
    #[serde(default = "one", deserialize_with = "props::number")]
    repeat: usize,
    #[serde(default, deserialize_with = "props::number")]
    data_bytes: usize,
    #[serde(default, deserialize_with = "props::optional_text")]
    physical_id: Option<String>,
}

fn one() -> usize {
    1
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Failure(String);

#[derive(Debug)]
struct Probe;

impl CustomResource for Probe {
    type Properties = Properties;
    type Error = Failure;

    async fn handle(&self, request: Request<Properties>) -> Result<Outcome, Failure> {
        let props = request.properties;
        tokio::time::sleep(Duration::from_millis(props.sleep_ms)).await;
        if props.panic {
            panic!("the probe was asked to panic");
        }
        if let Some(text) = props.fail_with {
            return Err(Failure(text.repeat(props.repeat)));
        }
        let mut outcome = Outcome::new().data("Echo", request.logical_resource_id);
        if props.data_bytes > 0 {
            outcome = outcome.data("Blob", "b".repeat(props.data_bytes));
        }
        if let Some(id) = props.physical_id {
            outcome = outcome.physical_id(id);
        }
        Ok(outcome)
    }
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    vbaws_lambda::init_tracing();
    let config = Config {
        safety_margin: duration_env("PROBE_SAFETY_MARGIN_MS", 2000),
        fallback_budget: duration_env("PROBE_FALLBACK_BUDGET_MS", 10_000),
        ..Config::from_env()
    };
    vbaws_cfn::run(Probe, config).await
}

fn duration_env(name: &str, default_ms: u64) -> Duration {
    Duration::from_millis(
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default_ms),
    )
}
