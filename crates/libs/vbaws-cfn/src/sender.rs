//! Delivers one answer to a pre-signed ResponseURL.

use std::{sync::Arc, time::Duration};

use rand::Rng;
use reqwest::{StatusCode, header};
use tokio::time::{Instant, sleep_until, timeout_at};
use tracing::{info, warn};

use crate::{Error, routing::ResponseUrl};

const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const LONGEST_BACKOFF: Duration = Duration::from_secs(2);
/// Below this, another attempt could not complete and only delays the function's return.
const SHORTEST_ATTEMPT: Duration = Duration::from_millis(50);

/// Sends answers over HTTPS (or plain HTTP where a URL says so), with its own timeouts and no
/// redirects: a pre-signed S3 PUT never redirects, and following one would send the answer
/// somewhere the event did not name.
#[derive(Debug, Clone)]
pub(crate) struct Sender {
    client: reqwest::Client,
    attempt_timeout: Duration,
}

impl Sender {
    pub(crate) fn new(attempt_timeout: Duration) -> Result<Self, Error> {
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config()?)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(attempt_timeout.min(Duration::from_secs(3)))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(Error::HttpClient)?;
        Ok(Self {
            client,
            attempt_timeout,
        })
    }

    /// PUTs `body` until a 2xx answer, retrying connection errors and every other status with
    /// exponential backoff and full jitter, and giving up at `until`.
    pub(crate) async fn put(
        &self,
        url: &ResponseUrl,
        body: Vec<u8>,
        until: Instant,
    ) -> Result<StatusCode, Error> {
        let mut backoff = FIRST_BACKOFF;
        let mut last_failure = String::from("no attempt fitted in the time left");
        for attempt in 1.. {
            let now = Instant::now();
            if until.saturating_duration_since(now) < SHORTEST_ATTEMPT {
                break;
            }
            let attempt_deadline = until.min(now + self.attempt_timeout);
            let request = self
                .client
                .put(url.as_url().clone())
                // CloudFormation's own helpers send an empty Content-Type; a pre-signed URL
                // signed without one rejects any other value.
                .header(header::CONTENT_TYPE, "")
                .header(header::CONTENT_LENGTH, body.len())
                .body(body.clone())
                .send();
            match timeout_at(attempt_deadline, request).await {
                Ok(Ok(response)) if response.status().is_success() => {
                    info!(put_status = response.status().as_u16(), attempt, response_url = %url, "answer delivered");
                    return Ok(response.status());
                }
                Ok(Ok(response)) => {
                    last_failure = format!("HTTP {}", response.status().as_u16());
                    warn!(put_status = response.status().as_u16(), attempt, response_url = %url, "answer refused, will retry");
                }
                Ok(Err(error)) => {
                    // reqwest's error text can include the URL with its query, so only its kind
                    // is logged.
                    last_failure = transport_failure(&error).to_owned();
                    warn!(error = %last_failure, attempt, response_url = %url, "answer not sent, will retry");
                }
                Err(_) => {
                    last_failure = "the attempt timed out".to_owned();
                    warn!(attempt, response_url = %url, "answer attempt timed out, will retry");
                }
            }
            let jittered = backoff.mul_f64(rand::rng().random_range(0.5..=1.0));
            sleep_until(until.min(Instant::now() + jittered)).await;
            backoff = (backoff * 2).min(LONGEST_BACKOFF);
        }
        Err(Error::Undelivered {
            host: url.host(),
            last_failure,
        })
    }
}

fn transport_failure(error: &reqwest::Error) -> &'static str {
    if error.is_connect() {
        "connection failed"
    } else if error.is_timeout() {
        "timed out"
    } else if error.is_request() || error.is_body() {
        "the request could not be sent"
    } else {
        "transport error"
    }
}

/// TLS with the Mozilla roots compiled in, so the answer reaches S3 whatever the sandbox's own
/// certificate store holds.
fn tls_config() -> Result<rustls::ClientConfig, Error> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(Error::Tls)?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(config)
}
