//! What every Lambda function of the project shares, whatever invokes it: logging as Lambda
//! expects it, the time budget of an invocation, and metrics in Embedded Metric Format. The
//! custom-resource protocol (`vbaws-cfn`) builds on it; a scheduled function uses it alone.

mod budget;
pub mod metrics;

use std::time::Duration;

pub use budget::Budget;

/// How an invocation's time is shared between the work and what follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Time kept back from the invocation's deadline for what follows the work (an answer to
    /// send, a result to return).
    pub safety_margin: Duration,
    /// The whole time allowed when the invocation's deadline is missing or implausible, as with
    /// some local emulators.
    pub fallback_budget: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            safety_margin: Duration::from_secs(5),
            fallback_budget: Duration::from_secs(60),
        }
    }
}

/// When the work of an invocation must stop: its deadline (milliseconds since the epoch, as the
/// Runtime API sends it) less `timing.safety_margin`, with the fallback for a missing or
/// implausible deadline.
pub fn work_deadline(deadline_ms: u64, timing: &Timing) -> tokio::time::Instant {
    Budget::new(
        deadline_ms,
        std::time::SystemTime::now(),
        tokio::time::Instant::now(),
        timing,
    )
    .work
}

/// Sets up logging the way Lambda expects: no timestamps (CloudWatch adds them), JSON when
/// `AWS_LAMBDA_LOG_FORMAT=JSON`, the level from `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`.
pub fn init_tracing() {
    lambda_runtime::tracing::init_default_subscriber();
}
