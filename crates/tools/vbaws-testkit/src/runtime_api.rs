//! A stand-in for the Lambda Runtime API: the HTTP interface a function's runtime polls for
//! events and posts results to, with real `Lambda-Runtime-Deadline-Ms` deadlines.
//!
//! Any number of sandboxes (function processes) may poll one stand-in; each event goes to exactly
//! one of them, as in Lambda.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use tokio::{
    sync::{mpsc, oneshot},
    task::JoinHandle,
    time::Instant,
};

use crate::serve::serve;

/// The deadline header an event is delivered with.
#[derive(Debug, Clone, Copy)]
pub enum Deadline {
    /// A real deadline this long after delivery.
    In(Duration),
    /// A raw header value, for emulators that send nonsense (0, or a duration such as 600000).
    Raw(u64),
}

/// How an invocation ended, as the Runtime API saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    /// The function posted a response.
    Response(String),
    /// The function posted an error.
    Error { error_type: String, message: String },
    /// Nothing came back before the stand-in stopped waiting.
    NoAnswer,
}

struct Pending {
    id: String,
    event: Bytes,
    deadline: Deadline,
}

struct Inner {
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Completion>>>,
    first_poll: Mutex<Option<Instant>>,
    next_id: AtomicU64,
}

/// A running Runtime API stand-in on 127.0.0.1.
#[derive(Debug)]
pub struct RuntimeApi {
    addr: SocketAddr,
    sender: mpsc::UnboundedSender<Pending>,
    inner: Arc<Inner>,
    server: JoinHandle<()>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl RuntimeApi {
    /// Binds a free port on 127.0.0.1 and starts serving.
    pub async fn start() -> std::io::Result<Self> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            queue: tokio::sync::Mutex::new(receiver),
            waiting: Mutex::default(),
            first_poll: Mutex::default(),
            next_id: AtomicU64::new(1),
        });
        let (addr, server) = serve(router(Arc::clone(&inner))).await?;
        Ok(Self {
            addr,
            sender,
            inner,
            server,
        })
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`: `host:port`, as Lambda sets it.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Delivers an event to the next sandbox that polls and waits for its completion, giving up
    /// `patience` after the deadline (or after `patience` for a raw deadline).
    pub async fn invoke(
        &self,
        event: &serde_json::Value,
        deadline: Deadline,
        patience: Duration,
    ) -> Completion {
        self.invoke_raw(Bytes::from(event.to_string()), deadline, patience)
            .await
    }

    /// As [`Self::invoke`], with the event's bytes as they are (they need not be JSON).
    pub async fn invoke_raw(&self, event: Bytes, deadline: Deadline, patience: Duration) -> Completion {
        let id = format!(
            "lambda-request-{}",
            self.inner.next_id.fetch_add(1, Ordering::Relaxed)
        );
        let (done, completion) = oneshot::channel();
        lock(&self.inner.waiting).insert(id.clone(), done);
        let wait = match deadline {
            Deadline::In(after) => after + patience,
            Deadline::Raw(_) => patience,
        };
        if self
            .sender
            .send(Pending {
                id: id.clone(),
                event,
                deadline,
            })
            .is_err()
        {
            return Completion::NoAnswer;
        }
        match tokio::time::timeout(wait, completion).await {
            Ok(Ok(completion)) => completion,
            _ => {
                lock(&self.inner.waiting).remove(&id);
                Completion::NoAnswer
            }
        }
    }

    /// When a sandbox first asked for an event: the end of its cold start.
    pub fn first_poll(&self) -> Option<Instant> {
        *lock(&self.inner.first_poll)
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(respond))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(fail))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(inner)
}

async fn next(State(inner): State<Arc<Inner>>) -> Response {
    lock(&inner.first_poll).get_or_insert_with(Instant::now);
    // One poller at a time waits on the queue; the others wait for the lock, as sandboxes wait
    // for work in Lambda.
    let Some(pending) = inner.queue.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let deadline_ms = match pending.deadline {
        Deadline::In(after) => (SystemTime::now() + after)
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as u64,
        Deadline::Raw(raw) => raw,
    };
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set("lambda-runtime-aws-request-id", pending.id);
    set("lambda-runtime-deadline-ms", deadline_ms.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:111111111111:function:local".to_owned(),
    );
    set(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000;Sampled=0".to_owned(),
    );
    set("content-type", "application/json".to_owned());
    (headers, pending.event).into_response()
}

async fn respond(State(inner): State<Arc<Inner>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    complete(
        &inner,
        &id,
        Completion::Response(String::from_utf8_lossy(&body).into_owned()),
    )
}

async fn fail(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let error_type = parsed["errorType"]
        .as_str()
        .or_else(|| {
            headers
                .get("lambda-runtime-function-error-type")
                .and_then(|v| v.to_str().ok())
        })
        .unwrap_or_default()
        .to_owned();
    let message = parsed["errorMessage"].as_str().unwrap_or_default().to_owned();
    complete(&inner, &id, Completion::Error { error_type, message })
}

async fn init_error(body: Bytes) -> StatusCode {
    tracing::error!(body = %String::from_utf8_lossy(&body), "a sandbox reported an init error");
    StatusCode::ACCEPTED
}

fn complete(inner: &Inner, id: &str, completion: Completion) -> StatusCode {
    match lock(&inner.waiting).remove(id) {
        Some(done) => {
            let _ = done.send(completion);
            StatusCode::ACCEPTED
        }
        None => StatusCode::NOT_FOUND,
    }
}
