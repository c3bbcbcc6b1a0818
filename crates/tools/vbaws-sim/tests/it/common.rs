//! What the simulator's router tests share: an app without a socket, and requests to it.

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use vbaws_sim::{Config, Sim, router};

pub(crate) const REV: &str = "1.7-rev0";

pub(crate) struct App {
    pub(crate) sim: Sim,
    pub(crate) router: Router,
}

impl App {
    pub(crate) fn new(config: Config) -> Self {
        let sim = Sim::new(config);
        Self {
            router: router(sim.clone()),
            sim,
        }
    }

    pub(crate) async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = self.router.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    pub(crate) async fn login(&self, user: &str, password: &str) -> (StatusCode, Value) {
        let form = format!("grant_type=password&username={user}&password={password}");
        self.send(
            Request::post("/api/v1/token")
                .header("x-api-version", REV)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .expect("request"),
        )
        .await
    }

    pub(crate) async fn token(&self) -> String {
        let (status, body) = self.login("admin", "admin-password").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().expect("token").to_owned()
    }

    pub(crate) async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("x-api-version", REV)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json");
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        self.send(request.body(body).expect("request")).await
    }
}

/// Asserts a 400 whose `details` say `words`.
pub(crate) fn assert_refused((status, body): (StatusCode, Value), words: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let details = body["details"].as_str().unwrap_or_default();
    assert!(details.contains(words), "{words:?} not in {body}");
}

pub(crate) fn spec(name: &str, account: &str) -> Value {
    json!({"name": name, "IAMRoleFromAnotherAccount": {"accountId": account, "roleName": "VeeamBackup", "externalId": "x1"}})
}
