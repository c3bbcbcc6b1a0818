//! A resource that does what its properties say, for the property tests and the fuzz target:
//! both drive the real answer-decision code with it.

use std::sync::Arc;

use serde_json::Value;

use crate::{Config, CustomResource, Outcome, Request, handler::Shared, sender::Sender};

/// Fails with `Fail`, returns `Data` and `Id` otherwise.
#[derive(Debug)]
pub(crate) struct Echo;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Failure(String);

impl CustomResource for Echo {
    type Properties = Value;
    type Error = Failure;

    async fn handle(&self, request: Request<Value>) -> Result<Outcome, Failure> {
        let props = request.properties;
        if let Some(text) = props.get("Fail").and_then(Value::as_str) {
            return Err(Failure(text.to_owned()));
        }
        let mut outcome = Outcome::new();
        if let Some(data) = props.get("Data").and_then(Value::as_object) {
            for (key, value) in data {
                outcome = outcome.data(key.clone(), value.to_string());
            }
        }
        if let Some(id) = props.get("Id").and_then(Value::as_str) {
            outcome = outcome.physical_id(id);
        }
        Ok(outcome)
    }
}

/// What a sandbox running `Echo` holds. Nothing is sent: deciding an answer makes no request.
pub(crate) fn shared(config: Config) -> Shared<Echo> {
    Shared {
        resource: Arc::new(Echo),
        // Building a client opens no connection; it fails only without a TLS provider.
        sender: Sender::new(config.put_attempt_timeout).unwrap_or_else(|e| panic!("{e}")),
        config,
    }
}
