//! One function as Lambda runs it for CloudFormation: its sandbox polling a Runtime API, and a
//! ResponseURL bucket its answers go to (allow-listed, since it is plain HTTP on 127.0.0.1).

use std::{path::Path, time::Duration};

use serde_json::{Value, json};

use crate::{Completion, Deadline, RecordedPut, ResponseBucket, RuntimeApi, Sandbox, events::request_id};

/// How long after the deadline an invocation may still complete before it counts as unanswered.
const PATIENCE: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub struct Lambda {
    pub runtime: RuntimeApi,
    pub bucket: ResponseBucket,
    pub sandbox: Sandbox,
}

impl Lambda {
    /// Starts `binary` with `env`, allowed to answer to the bucket.
    pub async fn start(binary: &Path, env: &[(&str, &str)]) -> std::io::Result<Self> {
        let runtime = RuntimeApi::start().await?;
        let bucket = ResponseBucket::start().await?;
        let allowed = bucket.host();
        let env: Vec<(&str, &str)> = env
            .iter()
            .copied()
            .chain([("RESPONSE_URL_ALLOWED_HOSTS", allowed.as_str())])
            .collect();
        let sandbox = Sandbox::start(binary, &runtime, &env)?;
        Ok(Self {
            runtime,
            bucket,
            sandbox,
        })
    }

    /// Sends `event` with a fresh ResponseURL of the bucket, and returns the URL's key, how the
    /// invocation ended, and the answer the bucket accepted (if any).
    pub async fn send(
        &self,
        mut event: Value,
        deadline: Deadline,
    ) -> (String, Completion, Option<RecordedPut>) {
        let key = request_id();
        event["ResponseURL"] = json!(self.bucket.url(&key));
        let completion = self.runtime.invoke(&event, deadline, PATIENCE).await;
        let put = self.bucket.delivered(&key, Duration::from_millis(500)).await;
        (key, completion, put)
    }
}
