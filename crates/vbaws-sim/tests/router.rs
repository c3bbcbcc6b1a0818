//! The simulator's behaviour through its router, without a socket.

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use vbaws_sim::{Config, Faults, Sim, User, router};

const REV: &str = "1.7-rev0";

struct App {
    sim: Sim,
    router: Router,
}

impl App {
    fn new(config: Config) -> Self {
        let sim = Sim::new(config);
        Self {
            router: router(sim.clone()),
            sim,
        }
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = self.router.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn login(&self, user: &str, password: &str) -> (StatusCode, Value) {
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

    async fn token(&self) -> String {
        let (status, body) = self.login("admin", "admin-password").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().expect("token").to_owned()
    }

    async fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
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

fn spec(name: &str, account: &str) -> Value {
    json!({"name": name, "IAMRoleFromAnotherAccount": {"accountId": account, "roleName": "VeeamBackup", "externalId": "x1"}})
}

#[tokio::test]
async fn x_api_version_is_required_and_checked_against_the_window() {
    let app = App::new(Config::default());
    let missing = Request::get("/api/v1/accounts/amazon")
        .body(Body::empty())
        .expect("request");
    let (status, body) = app.send(missing).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["type"], "/api/v1/problems/apiVersionUnspecified");
    let old = Request::post("/api/v1/token")
        .header("x-api-version", "1.3-rev0")
        .body(Body::empty())
        .expect("request");
    let (status, body) = app.send(old).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["title"], "Unsupported API version");
    assert_eq!(body["status"], 400);
}

#[tokio::test]
async fn logins_answer_tokens_an_mfa_token_or_access_denied() {
    let app = App::new(Config {
        users: vec![
            User::admin("admin", "admin-password"),
            User::with_mfa("mfa", "pw"),
        ],
        ..Config::default()
    });
    let (status, body) = app.login("admin", "admin-password").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["access_token"].is_string() && body["refresh_token"].is_string());
    assert_eq!(body["expires_in"], 3600);

    let (status, body) = app.login("mfa", "pw").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["access_token"].is_null() && body["mfa_token"].is_string(),
        "{body}"
    );

    let (status, body) = app.login("admin", "wrong").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["errorCode"], "AccessDenied");
    assert!(app.sim.requests().iter().all(|r| !r.query.contains("password")));
}

#[tokio::test]
async fn tokens_are_enforced_and_operators_may_only_read() {
    let app = App::new(Config {
        users: vec![User::admin("admin", "admin-password"), User::operator("op", "pw")],
        ..Config::default()
    });
    let (status, _) = app.call("GET", "/api/v1/accounts/amazon", "nonsense", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (_, body) = app.login("op", "pw").await;
    let operator = body["access_token"].as_str().expect("token").to_owned();
    assert_eq!(
        app.call("GET", "/api/v1/accounts/amazon", &operator, None)
            .await
            .0,
        StatusCode::OK
    );
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/accounts/amazon",
            &operator,
            Some(spec("a", "123456789012")),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["errorCode"], "AccessDenied");

    let token = app.token().await;
    app.sim.expire_access_tokens();
    let (status, body) = app.call("GET", "/api/v1/accounts/amazon", &token, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["errorCode"], "ExpiredToken");
}

#[tokio::test]
async fn roles_are_created_with_unique_names_and_updated_in_full() {
    let app = App::new(Config::default());
    let token = app.token().await;
    let (status, created) = app
        .call(
            "POST",
            "/api/v1/accounts/amazon",
            &token,
            Some(spec("123456789012-ec2", "123456789012")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["awsid"], "123456789012");
    assert_eq!(created["IAMRoleFromAnotherAccount"]["roleName"], "VeeamBackup");
    assert!(
        created["IAMRoleFromAnotherAccount"].get("externalId").is_none(),
        "the external ID is never returned"
    );

    let (status, body) = app
        .call(
            "POST",
            "/api/v1/accounts/amazon",
            &token,
            Some(spec("123456789012-EC2", "210987654321")),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["details"]
            .as_str()
            .expect("details")
            .contains("already exists"),
        "{body}"
    );
    let (_, messages) = app
        .call(
            "POST",
            "/api/v1/accounts/amazon/validateName",
            &token,
            Some(json!({"name": "123456789012-ec2"})),
        )
        .await;
    assert_eq!(messages[0]["severity"], "Error");
    let (_, messages) = app
        .call(
            "POST",
            "/api/v1/accounts/amazon/validateName",
            &token,
            Some(json!({"name": "fresh"})),
        )
        .await;
    assert_eq!(messages, json!([]));

    let id = created["id"].as_str().expect("id");
    let mut changed = spec("123456789012-ec2", "123456789012");
    changed["IAMRoleFromAnotherAccount"]["externalId"] = json!("x2");
    let (status, _) = app
        .call(
            "PUT",
            &format!("/api/v1/accounts/amazon/{id}"),
            &token,
            Some(changed),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let stored = app.sim.roles().into_iter().find(|r| r.id == id).expect("stored");
    assert_eq!(stored.external_id.as_deref(), Some("x2"));
    assert_eq!(
        app.call(
            "PUT",
            "/api/v1/accounts/amazon/nope",
            &token,
            Some(spec("n", "123456789012"))
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_default_role_and_roles_in_use_are_not_deleted() {
    let app = App::new(Config::default());
    let token = app.token().await;
    let default = app.sim.roles()[0].clone();
    assert!(default.is_default);
    let (status, _) = app
        .call(
            "DELETE",
            &format!("/api/v1/accounts/amazon/{}", default.id),
            &token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let id = app.sim.add_role("busy", "123456789012", "VeeamBackup", None);
    app.sim.mark_in_use(&id, "policy 'daily-ec2'");
    let (_, blockers) = app
        .call(
            "POST",
            &format!("/api/v1/accounts/amazon/{id}/validateDelete"),
            &token,
            None,
        )
        .await;
    assert!(
        blockers[0]["message"]
            .as_str()
            .expect("message")
            .contains("daily-ec2"),
        "{blockers}"
    );
    let (status, body) = app
        .call("DELETE", &format!("/api/v1/accounts/amazon/{id}"), &token, None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["details"].as_str().expect("details").contains("in use"));

    let free = app.sim.add_role("free", "123456789012", "Other", None);
    assert_eq!(
        app.call("DELETE", &format!("/api/v1/accounts/amazon/{free}"), &token, None)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        app.call("DELETE", &format!("/api/v1/accounts/amazon/{free}"), &token, None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn pages_are_capped_and_report_the_total() {
    let app = App::new(Config {
        max_page_size: 2,
        ..Config::default()
    });
    for n in 0..4 {
        app.sim
            .add_role(&format!("r{n}"), "123456789012", &format!("R{n}"), None);
    }
    let token = app.token().await;
    let (_, page) = app
        .call("GET", "/api/v1/accounts/amazon?Offset=1&Limit=50", &token, None)
        .await;
    assert_eq!(page["totalCount"], 5);
    let names: Vec<&str> = page["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, ["r0", "r1"]);
    let request = app
        .sim
        .requests()
        .into_iter()
        .find(|r| r.method == "GET")
        .expect("logged");
    assert_eq!(
        (
            request.revision.as_deref(),
            request.status,
            request.query.as_str()
        ),
        (Some(REV), 200, "Offset=1&Limit=50")
    );
}

#[tokio::test]
async fn injected_faults_are_used_up_one_request_at_a_time() {
    let app = App::new(Config::default());
    let token = app.token().await;
    app.sim.set_faults(Faults {
        unavailable: 1,
        assume_failures: 1,
        ..Faults::default()
    });
    assert_eq!(
        app.call("GET", "/api/v1/accounts/amazon", &token, None).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let (status, body) = app
        .call(
            "POST",
            "/api/v1/accounts/amazon",
            &token,
            Some(spec("n", "123456789012")),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["details"]
            .as_str()
            .expect("details")
            .starts_with("Failed to assume role arn:aws:iam::123456789012:role/VeeamBackup")
    );
    assert_eq!(
        app.call(
            "POST",
            "/api/v1/accounts/amazon",
            &token,
            Some(spec("n", "123456789012"))
        )
        .await
        .0,
        StatusCode::CREATED
    );
}
