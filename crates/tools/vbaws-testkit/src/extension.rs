//! A stand-in for the AWS Parameters and Secrets Lambda Extension's HTTP interface:
//! `GET /secretsmanager/get?secretId=…` with the `X-Aws-Parameters-Secrets-Token` header.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use axum::{
    Json, Router,
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::json;
use tokio::{net::TcpListener, task::JoinHandle};

use crate::{ClosedPort, serve::serve_on};

#[derive(Debug, Default)]
struct Inner {
    token: String,
    secrets: HashMap<String, String>,
    forced_status: Option<u16>,
    requests: Vec<String>,
}

/// A running extension stand-in on 127.0.0.1.
#[derive(Debug)]
pub struct SecretsExtension {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    server: JoinHandle<()>,
}

impl SecretsExtension {
    /// Serves on a free port; requests must carry `session_token`.
    pub async fn start(session_token: &str) -> std::io::Result<Self> {
        Self::listen(TcpListener::bind(("127.0.0.1", 0)).await?, session_token)
    }

    /// Serves on `port`, handed out before the extension came up (as a cold one does).
    pub fn start_on(port: ClosedPort, session_token: &str) -> std::io::Result<Self> {
        Self::listen(port.listen()?, session_token)
    }

    fn listen(listener: TcpListener, session_token: &str) -> std::io::Result<Self> {
        let inner = Arc::new(Mutex::new(Inner {
            token: session_token.to_owned(),
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/secretsmanager/get", get(secret))
            .with_state(Arc::clone(&inner));
        let (addr, server) = serve_on(listener, app)?;
        Ok(Self { addr, inner, server })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Sets the SecretString the extension serves for `secret_id`.
    pub fn set_secret(&self, secret_id: &str, secret_string: &str) {
        lock(&self.inner)
            .secrets
            .insert(secret_id.to_owned(), secret_string.to_owned());
    }

    /// Answers every request with this status instead.
    pub fn answer_with(&self, status: u16) {
        lock(&self.inner).forced_status = Some(status);
    }

    /// The secret IDs asked for, oldest first.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.inner).requests.clone()
    }
}

impl Drop for SecretsExtension {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn secret(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut inner = lock(&inner);
    let id = query.get("secretId").cloned().unwrap_or_default();
    inner.requests.push(id.clone());
    let token = headers
        .get("x-aws-parameters-secrets-token")
        .and_then(|v| v.to_str().ok());
    if token != Some(inner.token.as_str()) {
        return (
            StatusCode::FORBIDDEN,
            "missing or invalid X-Aws-Parameters-Secrets-Token",
        )
            .into_response();
    }
    if let Some(status) = inner.forced_status {
        return StatusCode::from_u16(status)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response();
    }
    match inner.secrets.get(&id) {
        Some(text) => Json(json!({
            "ARN": format!("arn:aws:secretsmanager:us-east-1:111111111111:secret:{id}-AbCdEf"),
            "Name": id,
            "SecretString": text,
            "VersionId": "2f0c6a58-0000-4000-8000-000000000001",
            "VersionStages": ["AWSCURRENT"],
            "CreatedDate": "2026-11-22T00:00:00Z"
        }))
        .into_response(),
        None => (StatusCode::NOT_FOUND, "ResourceNotFoundException").into_response(),
    }
}
