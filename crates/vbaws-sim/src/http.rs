//! The appliance's REST endpoints over the simulated state.

use std::collections::HashMap;

use axum::{
    Form, Json, Router,
    body::Body,
    extract::{Path, Query, Request, State},
    http::{HeaderMap, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::state::{Injected, LoggedRequest, Problem, Sim};

/// The appliance's API as an axum router over `sim`, without a socket: tests can call it with
/// `tower::ServiceExt::oneshot`.
pub fn router(sim: Sim) -> Router {
    Router::new()
        .route("/api/v1/token", post(token))
        .route("/api/v1/accounts/amazon", get(list).post(create))
        .route("/api/v1/accounts/amazon/validateName", post(validate_name))
        .route(
            "/api/v1/accounts/amazon/{id}",
            get(read).put(update).delete(remove),
        )
        .route(
            "/api/v1/accounts/amazon/{id}/validateDelete",
            post(validate_delete),
        )
        .fallback(|| async {
            Problem::new(
                404,
                "resourceNotFound",
                "NotFound",
                "Resource not found",
                "No such endpoint.",
            )
        })
        .layer(middleware::from_fn_with_state(sim.clone(), versions))
        .layer(middleware::from_fn_with_state(sim.clone(), faults))
        .layer(middleware::from_fn_with_state(sim.clone(), log))
        .with_state(sim)
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = json!({
            "type": format!("/api/v1/problems/{}", self.kind),
            "title": self.title,
            "status": self.status,
            "errorCode": self.error_code,
            "details": self.details,
        });
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response()
    }
}

/// Records every request (never its body) with the status it got.
async fn log(State(sim): State<Sim>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let revision = request
        .headers()
        .get("x-api-version")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next.run(request).await;
    let status = response.status().as_u16();
    sim.lock().log.push(LoggedRequest {
        method,
        path,
        query,
        revision,
        status,
    });
    response
}

async fn faults(State(sim): State<Sim>, request: Request, next: Next) -> Response {
    let (fault, latency) = {
        let mut state = sim.lock();
        (state.take_fault(), state.faults.latency)
    };
    tokio::time::sleep(latency).await;
    match fault {
        Some(Injected::Hang) => std::future::pending().await,
        Some(Injected::Unavailable) => {
            let mut response = Problem::new(
                503,
                "serviceUnavailable",
                "ServiceUnavailable",
                "Service unavailable",
                "The service is starting. Try again later.",
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("0"));
            response
        }
        Some(Injected::Drop) => {
            // The headers go out, then the body fails: hyper closes the connection mid-answer.
            let broken = futures_util::stream::once(async {
                Err::<Vec<u8>, _>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "dropped on purpose",
                ))
            });
            Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_LENGTH, "1000")
                .body(Body::from_stream(broken))
                .unwrap_or_default()
        }
        None => next.run(request).await,
    }
}

/// Every request must name a revision the appliance accepts.
async fn versions(State(sim): State<Sim>, request: Request, next: Next) -> Response {
    let header = request
        .headers()
        .get("x-api-version")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let accepted = sim.lock().config.accepted_versions.clone();
    match header {
        None => Problem::new(
            400,
            "apiVersionUnspecified",
            "UnknownError",
            "API version unspecified",
            "An API version is required, but was not specified.",
        )
        .into_response(),
        Some(version) if !accepted.contains(&version) => Problem::new(
            400,
            "unsupportedApiVersion",
            "UnknownError",
            "Unsupported API version",
            format!("The HTTP resource does not support the API version '{version}'."),
        )
        .into_response(),
        Some(_) => next.run(request).await,
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

async fn token(
    State(sim): State<Sim>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    let mut state = sim.lock();
    match field("grant_type") {
        "password" => state.login(field("username"), field("password")).map(Json),
        "refresh_token" => state.refresh(field("refresh_token")).map(Json),
        other => Err(Problem::new(
            400,
            "validationError",
            "UnknownError",
            "Validation error",
            format!("Unsupported grant_type '{other}'."),
        )),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Paging {
    #[serde(default)]
    offset: usize,
    limit: Option<i64>,
}

async fn list(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Query(paging): Query<Paging>,
) -> Result<Json<Value>, Problem> {
    let state = sim.lock();
    state.authorize(bearer(&headers), false)?;
    Ok(Json(state.page(paging.offset, paging.limit)))
}

async fn read(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let state = sim.lock();
    state.authorize(bearer(&headers), false)?;
    state.get(&id).map(Json)
}

async fn create(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Json(spec): Json<Value>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let mut state = sim.lock();
    state.authorize(bearer(&headers), true)?;
    state
        .save(None, &spec)
        .map(|role| (StatusCode::CREATED, Json(role)))
}

async fn update(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(spec): Json<Value>,
) -> Result<Json<Value>, Problem> {
    let mut state = sim.lock();
    state.authorize(bearer(&headers), true)?;
    state.save(Some(&id), &spec).map(Json)
}

async fn remove(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let mut state = sim.lock();
    state.authorize(bearer(&headers), true)?;
    state.delete(&id)?;
    Ok(StatusCode::from_u16(state.config.delete_status).unwrap_or(StatusCode::OK))
}

async fn validate_name(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Json<Value>, Problem> {
    let state = sim.lock();
    state.authorize(bearer(&headers), true)?;
    Ok(Json(Value::Array(
        state.validate_name(body["name"].as_str().unwrap_or_default(), None),
    )))
}

async fn validate_delete(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let state = sim.lock();
    state.authorize(bearer(&headers), true)?;
    state.validate_delete(&id).map(|m| Json(Value::Array(m)))
}
