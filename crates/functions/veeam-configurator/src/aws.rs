//! The AWS SDK's configuration, shared by every AWS client of the function: the default
//! credential and Region chain (which honours `AWS_ENDPOINT_URL` and its per-service variants,
//! how tests point it at local stand-ins), on rustls with ring, with timeouts short enough that
//! an unreachable endpoint is reported well within the function's time budget.

use std::time::Duration;

use aws_config::{SdkConfig, timeout::TimeoutConfig};
use tokio::sync::OnceCell;

/// Loaded once per sandbox, at the first call that needs it.
static CONFIG: OnceCell<SdkConfig> = OnceCell::const_new();

pub(crate) async fn config() -> &'static SdkConfig {
    CONFIG
        .get_or_init(|| async {
            let timeouts = TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(5))
                .build();
            vbaws_sdk::loader(&vbaws_sdk::Access::default())
                .timeout_config(timeouts)
                .load()
                .await
        })
        .await
}
