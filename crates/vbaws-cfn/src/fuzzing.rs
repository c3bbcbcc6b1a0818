//! An entry point for fuzzing the event parser (see `fuzz/` and `make fuzz`).

use serde_json::Value;
use tokio::time::Instant;

use crate::{
    MAX_BODY_BYTES, MAX_PHYSICAL_ID_BYTES, ResponseUrlPolicy, Routing,
    handler::parse,
    physical_id::create_failed_marker,
    response::{Answer, Status},
};

/// Reads `bytes` as an event the way the function does, builds the answer the core would send
/// for a malformed or a well-formed request, and panics if a guarantee breaks: a body over 4096
/// bytes, invalid JSON, or an empty or oversized PhysicalResourceId.
pub fn event(bytes: &[u8]) {
    let Ok(event) = serde_json::from_slice::<Value>(bytes) else {
        return;
    };
    let Ok(routing) = Routing::from_event(&event, &ResponseUrlPolicy::with_hosts("localhost")) else {
        return;
    };
    let id = routing
        .physical_resource_id
        .clone()
        .filter(|id| !id.is_empty() && id.len() <= MAX_PHYSICAL_ID_BYTES);
    let answer = match parse::<Value>(event, Instant::now()) {
        Ok(_) => Answer {
            status: Status::Success,
            reason: None,
            physical_resource_id: id.unwrap_or_else(|| create_failed_marker(&routing.request_id)),
            no_echo: false,
            data: Default::default(),
        },
        Err(reason) => Answer::failed(reason, create_failed_marker(&routing.request_id)),
    };
    let (_, body) = answer.into_body(&routing);
    assert!(body.len() <= MAX_BODY_BYTES, "{} bytes", body.len());
    let parsed: Value = serde_json::from_slice(&body).expect("the answer is valid JSON");
    let sent = parsed["PhysicalResourceId"].as_str().unwrap_or_default();
    assert!(!sent.is_empty() && sent.len() <= MAX_PHYSICAL_ID_BYTES);
}
