//! The preflight's question, asked without credentials: does the appliance present the pinned
//! certificate?

use std::time::Duration;

use vbaws_client::{Error, Fingerprint, presents_pinned_certificate};
use vbaws_sim::Config;

use crate::appliance;

const PATIENCE: Duration = Duration::from_secs(5);

#[tokio::test]
async fn the_pinned_certificate_is_confirmed_without_logging_in() {
    let running = appliance(Config::default()).await;
    let pin: Fingerprint = running.identity.fingerprint.parse().expect("fingerprint");
    presents_pinned_certificate(&running.url(), pin, PATIENCE)
        .await
        .expect("the simulator presents its own certificate");
    let asked: Vec<_> = running
        .sim
        .requests()
        .into_iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(asked, ["GET /api/v1/"], "one request, and no login");
}

#[tokio::test]
async fn another_certificate_is_named_and_nothing_is_sent_to_it() {
    let running = appliance(Config::default()).await;
    let pin: Fingerprint = "00".repeat(32).parse().expect("pin");
    let error = presents_pinned_certificate(&running.url(), pin, PATIENCE)
        .await
        .expect_err("another certificate");
    let Error::CertificateMismatch {
        presented, pinned, ..
    } = &error
    else {
        panic!("not a mismatch: {error}");
    };
    assert_eq!(presented.to_string(), running.identity.fingerprint);
    assert_eq!(*pinned, pin);
    assert!(running.sim.requests().is_empty(), "the handshake stopped it");
}
