//! One function as Lambda runs it for CloudFormation: its sandbox polling a Runtime API, and a
//! ResponseURL bucket its answers go to (allow-listed, since it is plain HTTP on 127.0.0.1).
//! The one rig of the protocol tests, both functions' tests and the benchmark.

use std::{path::Path, time::Duration};

use serde_json::Value;

use crate::{
    Completion, Deadline, RecordedPut, ResponseBucket, RuntimeApi, Sandbox,
    events::{Event, request_id},
};

/// How long after the deadline an invocation may still complete before it counts as unanswered.
const PATIENCE: Duration = Duration::from_secs(10);
/// How long an answer may take to land after the invocation returned. The function PUTs its
/// answer before it returns, so this only covers scheduling between the two servers' tasks.
const LANDING: Duration = Duration::from_millis(200);

#[derive(Debug)]
pub struct Lambda {
    pub runtime: RuntimeApi,
    pub bucket: ResponseBucket,
    pub sandbox: Sandbox,
}

/// One delivery of an event: the ResponseURL's key, how the invocation ended, and the answer
/// the bucket accepted (if any).
#[derive(Debug)]
pub struct Delivery {
    pub key: String,
    pub completion: Completion,
    pub answer: Option<RecordedPut>,
}

impl Delivery {
    /// The answer's body; panics (for tests) when none arrived.
    pub fn json(&self) -> Value {
        self.answer
            .as_ref()
            .unwrap_or_else(|| panic!("no answer arrived ({:?})", self.completion))
            .json()
    }
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

    /// Delivers `event` as CloudFormation does, with a fresh pre-signed ResponseURL.
    pub async fn deliver(&self, event: &Event, deadline: Deadline) -> Delivery {
        let key = request_id();
        let json = event.to_json(&self.bucket.url(&key));
        self.deliver_json(&key, &json, deadline).await
    }

    /// Delivers raw JSON (a forged or altered event) whose ResponseURL, if it has one, is
    /// [`ResponseBucket::url`] of `key`.
    pub async fn deliver_json(&self, key: &str, event: &Value, deadline: Deadline) -> Delivery {
        let completion = self.runtime.invoke(event, deadline, PATIENCE).await;
        let answer = self.bucket.delivered(key, LANDING).await;
        Delivery {
            key: key.to_owned(),
            completion,
            answer,
        }
    }
}
