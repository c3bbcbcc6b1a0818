//! An entry point for fuzzing (see `fuzz/` and `make fuzz`): the real answer-decision code, from
//! raw bytes to the body that would be PUT, with a handler that does what the event says.

use std::{sync::OnceLock, time::SystemTime};

use serde_json::Value;
use tokio::{runtime::Runtime, time::Instant};

use vbaws_lambda::Budget;

use crate::{
    Config, MAX_BODY_BYTES, MAX_PHYSICAL_ID_BYTES, ResponseUrlPolicy, Routing,
    echo::{self, Echo},
    handler::Shared,
};

fn world() -> &'static (Runtime, Shared<Echo>) {
    static WORLD: OnceLock<(Runtime, Shared<Echo>)> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let config = Config {
            response_urls: ResponseUrlPolicy::with_hosts("localhost"),
            ..Config::default()
        };
        (runtime, echo::shared(config))
    })
}

/// Reads `bytes` as an event the way the function does, decides the answer as the function
/// does, and panics if a guarantee breaks: a body over 4096 bytes, invalid JSON, or an empty or
/// oversized PhysicalResourceId.
pub fn event(bytes: &[u8]) {
    let Ok(event) = serde_json::from_slice::<Value>(bytes) else {
        return;
    };
    let (runtime, shared) = world();
    let Ok(routing) = Routing::from_event(&event, &shared.config.response_urls) else {
        return;
    };
    let answer = runtime.block_on(async {
        let budget = Budget::new(0, SystemTime::now(), Instant::now(), &shared.config.timing());
        shared.decide(&routing, event, &budget).await
    });
    let (_, body) = answer.into_body(&routing);
    assert!(body.len() <= MAX_BODY_BYTES, "{} bytes", body.len());
    let parsed: Value = serde_json::from_slice(&body).expect("the answer is valid JSON");
    let sent = parsed["PhysicalResourceId"].as_str().unwrap_or_default();
    assert!(!sent.is_empty() && sent.len() <= MAX_PHYSICAL_ID_BYTES);
}

#[cfg(test)]
mod tests {
    /// The corpus the fuzzer starts from passes, so the entry point is known to run.
    #[test]
    fn the_seed_corpus_passes() {
        let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../fuzz/corpus/event_parser");
        let mut seen = 0;
        for entry in std::fs::read_dir(corpus).unwrap_or_else(|e| panic!("{corpus}: {e}")) {
            let path = entry.expect("entry").path();
            super::event(&std::fs::read(&path).expect("corpus file"));
            seen += 1;
        }
        assert!(seen > 0, "no corpus in {corpus}");
    }
}
