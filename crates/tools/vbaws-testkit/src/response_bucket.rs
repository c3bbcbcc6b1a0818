//! A stand-in for the S3 bucket behind CloudFormation's pre-signed ResponseURLs: it records every
//! PUT with its headers and body, and can be told to refuse answers.

use std::{
    collections::VecDeque,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::Uri,
    http::{HeaderMap, Method, StatusCode, header},
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::{sync::Notify, task::JoinHandle, time::Instant};

use crate::serve::serve;

/// The signature every URL of this stand-in carries. Tests look for it in logs: it must never
/// appear there.
pub const SIGNATURE: &str = "Zm9yZ2VkLXNpZ25hdHVyZS1kby1ub3QtbG9n0123456789abcdef";

/// One request the bucket received.
#[derive(Debug, Clone)]
pub struct RecordedPut {
    pub method: String,
    /// The path, without the query.
    pub path: String,
    pub query: String,
    /// `None` when the header was absent; `Some("")` when it was sent empty.
    pub content_type: Option<String>,
    pub content_length: Option<usize>,
    pub body: Bytes,
    /// The status the bucket answered.
    pub status: u16,
    pub at: Instant,
}

impl RecordedPut {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }
}

#[derive(Debug, Default)]
struct Inner {
    puts: Mutex<Vec<RecordedPut>>,
    /// Statuses to answer, in order, before answering 200 again.
    refusals: Mutex<VecDeque<u16>>,
    /// A share of requests answered 503 ("Slow Down"), drawn from a seeded generator.
    unavailable: Mutex<Option<(f64, ChaCha8Rng)>>,
    arrived: Notify,
}

/// A running bucket stand-in on 127.0.0.1.
#[derive(Debug)]
pub struct ResponseBucket {
    addr: SocketAddr,
    inner: Arc<Inner>,
    server: JoinHandle<()>,
}

impl ResponseBucket {
    pub async fn start() -> std::io::Result<Self> {
        let inner = Arc::new(Inner::default());
        let (addr, server) = serve(Router::new().fallback(record).with_state(Arc::clone(&inner))).await?;
        Ok(Self { addr, inner, server })
    }

    /// A pre-signed-looking URL for `key`, shaped like CloudFormation's.
    pub fn url(&self, key: &str) -> String {
        format!(
            "http://{}/cloudformation-custom-resource-response-useast1/{key}?X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Date=20261122T000000Z&X-Amz-Expires=7200&X-Amz-SignedHeaders=host&X-Amz-Signature={SIGNATURE}",
            self.addr
        )
    }

    /// `host:port`, for allow-lists.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// Answers the next requests with these statuses, one each, then 200 again.
    pub fn refuse_next(&self, statuses: &[u16]) {
        lock(&self.inner.refusals).extend(statuses);
    }

    /// Answers this share of requests (0 to 1) with 503, as S3 does now and then; the draws
    /// follow `seed`, so a run can be repeated.
    pub fn answer_503_share(&self, share: f64, seed: u64) {
        *lock(&self.inner.unavailable) = Some((share, ChaCha8Rng::seed_from_u64(seed)));
    }

    /// Every request received for `key`, oldest first.
    pub fn puts_for(&self, key: &str) -> Vec<RecordedPut> {
        let suffix = format!("/{key}");
        lock(&self.inner.puts)
            .iter()
            .filter(|put| put.path.ends_with(&suffix))
            .cloned()
            .collect()
    }

    /// Every request received.
    pub fn all_puts(&self) -> Vec<RecordedPut> {
        lock(&self.inner.puts).clone()
    }

    /// Waits until a request for `key` was answered 2xx, and returns it.
    pub async fn delivered(&self, key: &str, patience: Duration) -> Option<RecordedPut> {
        let give_up = Instant::now() + patience;
        loop {
            let arrived = self.inner.arrived.notified();
            if let Some(put) = self
                .puts_for(key)
                .into_iter()
                .find(|put| (200..300).contains(&put.status))
            {
                return Some(put);
            }
            if tokio::time::timeout_at(give_up, arrived).await.is_err() {
                return None;
            }
        }
    }
}

impl Drop for ResponseBucket {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn record(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let drawn = lock(&inner.unavailable)
        .as_mut()
        .is_some_and(|(share, rng)| rng.random::<f64>() < *share);
    let status = lock(&inner.refusals)
        .pop_front()
        .unwrap_or(if drawn { 503 } else { 200 });
    let text = |name| {
        headers
            .get(name)
            .map(|v: &axum::http::HeaderValue| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let put = RecordedPut {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        content_type: text(header::CONTENT_TYPE),
        content_length: text(header::CONTENT_LENGTH).and_then(|v| v.parse().ok()),
        body,
        status,
        at: Instant::now(),
    };
    lock(&inner.puts).push(put);
    inner.arrived.notify_waiters();
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}
