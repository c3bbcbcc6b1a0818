//! The appliance's REST endpoints over the simulated state.

use axum::{
    Form, Json, Router,
    body::{Body, Bytes},
    extract::{Path, Query, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;

use crate::{
    bodies::{self, Account, Login, Message, NameSpec, Page},
    config::{LoggedRequest, ProblemShape},
    listing::{Listing, role_id},
    problem::Problem,
    state::{Injected, Sim, View},
    version::versions,
};

/// The appliance's API as an axum router over `sim`, without a socket: tests can call it with
/// `tower::ServiceExt::oneshot`.
pub fn router(sim: Sim) -> Router {
    Router::new()
        .route("/api/v1/token", post(token).delete(logout))
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
        .merge(crate::workers::routes())
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
        .layer(middleware::from_fn_with_state(sim.clone(), problem_shape))
        .layer(middleware::from_fn(media_type))
        .layer(middleware::from_fn_with_state(sim.clone(), faults))
        .layer(middleware::from_fn_with_state(sim.clone(), log))
        .with_state(sim)
}

/// With [`ProblemShape::AspNet`], every problem body is rewritten in ASP.NET Core's shape.
async fn problem_shape(State(sim): State<Sim>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/problem+json"));
    if sim.lock().config.problem_shape != ProblemShape::AspNet || !is_problem {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let rewritten = serde_json::from_slice(&bytes)
        .ok()
        .and_then(|body| crate::problem::as_aspnet(&body))
        .map_or(bytes, |aspnet| Bytes::from(aspnet.to_string()));
    let mut response = Response::from_parts(parts, Body::from(rewritten));
    response.headers_mut().remove(header::CONTENT_LENGTH);
    response
}

/// Errors go out as `application/problem+json`, or as `application/json` when the client asks
/// for that and not for problem+json (the reference: "depending on Accept"; which wins when both
/// are listed is a guess).
async fn media_type(request: Request, next: Next) -> Response {
    let accept = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let plain_json = accept.contains("application/json") && !accept.contains("application/problem+json");
    let mut response = next.run(request).await;
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if plain_json && is_problem {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    response
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
            // The appliance does the work, then the connection breaks mid-answer: the headers go
            // out, the body fails, and the client cannot know whether its request was applied.
            drop(next.run(request).await);
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

/// What the request says of how it sees the appliance: the host it asked for, its revision.
fn view(headers: &HeaderMap) -> View {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    View {
        base: format!("https://{}", text(header::HOST.as_str()).unwrap_or("127.0.0.1")),
        revision: text("x-api-version").map(str::to_owned),
    }
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

async fn token(State(sim): State<Sim>, Form(form): Form<TokenForm>) -> Result<Json<Login>, Problem> {
    let required = |value: Option<String>, name: &str| {
        value.ok_or_else(|| Problem::validation(format!("The {name} field is required.")))
    };
    if form.grant_type.as_deref() == Some("password") {
        let latency = sim.lock().draws.chaos.login_latency;
        tokio::time::sleep(latency).await;
    }
    let mut state = sim.lock();
    match required(form.grant_type, "grant_type")?.as_str() {
        "password" => state.login(
            &required(form.username, "username")?,
            &required(form.password, "password")?,
        ),
        "refresh_token" => state.refresh(&required(form.refresh_token, "refresh_token")?),
        other => Err(Problem::validation(format!("Unsupported grant_type '{other}'."))),
    }
    .map(Json)
}

async fn logout(State(sim): State<Sim>, headers: HeaderMap) -> Result<StatusCode, Problem> {
    sim.lock().logout(bearer(&headers))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Page>, Problem> {
    let mut state = sim.lock();
    state.authorize(bearer(&headers), false)?;
    state.take_list_failure()?;
    Ok(Json(state.page(&Listing::parse(&pairs)?, &view(&headers))))
}

async fn read(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Account>, Problem> {
    let state = sim.lock();
    state.authorize(bearer(&headers), false)?;
    state.get(&role_id(&id)?, &view(&headers)).map(Json)
}

// Bodies are read after the caller is authorized, as ASP.NET binds models after authentication.

async fn create(
    State(sim): State<Sim>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Account>), Problem> {
    let mut state = sim.lock();
    state.authorize(bearer(&headers), true)?;
    state
        .save(None, bodies::read(&body)?, &view(&headers))
        .map(|role| (StatusCode::CREATED, Json(role)))
}

async fn update(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Account>, Problem> {
    let mut state = sim.lock();
    state.authorize(bearer(&headers), true)?;
    let id = role_id(&id)?;
    state.take_update_failure()?;
    state
        .save(Some(&id), bodies::read(&body)?, &view(&headers))
        .map(Json)
}

async fn remove(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let mut state = sim.lock();
    state.authorize(bearer(&headers), true)?;
    state.delete(&role_id(&id)?)?;
    Ok(StatusCode::from_u16(state.config.delete_status).unwrap_or(StatusCode::OK))
}

async fn validate_name(
    State(sim): State<Sim>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Vec<Message>>, Problem> {
    let state = sim.lock();
    state.authorize(bearer(&headers), true)?;
    let NameSpec { name } = bodies::read(&body)?;
    Ok(Json(state.validate_name(&name, None)))
}

async fn validate_delete(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Vec<Message>>, Problem> {
    let state = sim.lock();
    state.authorize(bearer(&headers), true)?;
    state.validate_delete(&role_id(&id)?).map(Json)
}

/// The `/token` form.
#[derive(Debug, Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    username: Option<String>,
    password: Option<String>,
    refresh_token: Option<String>,
}
