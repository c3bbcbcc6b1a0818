//! The simulator's behaviour through its router, without a socket.

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use vbaws_sim::{Config, Faults, User, VersionRefusal};

use crate::common::{App, REV, assert_refused, spec};

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
    assert_eq!(
        created["awsAccountId"], "123456789012",
        "{REV} reads awsAccountId"
    );
    assert!(created.get("awsid").is_none(), "{created}");
    assert_eq!(created["IAMRoleFromAnotherAccount"]["roleName"], "VeeamBackup");
    assert!(
        created["IAMRoleFromAnotherAccount"].get("externalId").is_none(),
        "the external ID is never returned"
    );

    assert_refused(
        app.call(
            "POST",
            "/api/v1/accounts/amazon",
            &token,
            Some(spec("123456789012-EC2", "210987654321")),
        )
        .await,
        "already exists",
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
            "/api/v1/accounts/amazon/0b0c7c4e-9a38-4d2e-8f5e-000000000000",
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

fn bare(method: &str, path: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header("x-api-version", REV)
}

#[tokio::test]
async fn a_refused_revision_is_answered_in_the_configured_shape_and_status() {
    for refusal in VersionRefusal::ALL {
        for status in [400, 404] {
            let app = App::new(Config {
                version_refusal: refusal,
                version_refusal_status: status,
                ..Config::default()
            });
            let request = Request::post("/api/v1/token")
                .header("x-api-version", "1.9-rev0")
                .body(Body::empty())
                .expect("request");
            let response = app.router.clone().oneshot(request).await.expect("infallible");
            assert_eq!(response.status().as_u16(), status, "{refusal:?}");
            let bytes = response.into_body().collect().await.expect("body").to_bytes();
            let text = String::from_utf8_lossy(&bytes);
            let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let hint = match refusal {
                VersionRefusal::VeeamProblem => json["type"] == "/api/v1/problems/unsupportedApiVersion",
                VersionRefusal::CodeOnly => {
                    json["code"] == "UnsupportedApiVersion" && json["title"] == "Bad Request"
                }
                VersionRefusal::ErrorCodeOnly => {
                    json["errorCode"] == "UnsupportedApiVersion" && json.get("details").is_none()
                }
                VersionRefusal::Classic => json["error"]["code"] == "UnsupportedApiVersion",
                VersionRefusal::PlainText => json.is_null() && text.contains("API version '1.9-rev0'"),
                VersionRefusal::ClassicUnnamed => {
                    json["error"]["code"] == "UnsupportedApiVersion" && !text.contains("1.9-rev0")
                }
            };
            assert!(hint, "{refusal:?}: {text}");
        }
    }
}

#[tokio::test]
async fn tokens_carry_their_times_and_a_logout_ends_both_of_the_pair() {
    let app = App::new(Config::default());
    let (_, login) = app.login("admin", "admin-password").await;
    for field in [".issued", ".expires"] {
        let text = login[field]
            .as_str()
            .unwrap_or_else(|| panic!("{field} in {login}"));
        assert!(text.ends_with('Z') && text.contains('T'), "{field}: {text}");
    }
    assert!(login[".issued"].as_str() < login[".expires"].as_str(), "{login}");
    let access = login["access_token"].as_str().expect("access");
    let refresh = login["refresh_token"].as_str().expect("refresh");

    let (status, _) = app.call("DELETE", "/api/v1/token", access, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.call("GET", "/api/v1/accounts/amazon", access, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the access token ended");
    let form = format!("grant_type=refresh_token&refresh_token={refresh}");
    let (status, _) = app
        .send(
            bare("POST", "/api/v1/token")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .expect("request"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the refresh token ended too");
    let (status, _) = app.call("DELETE", "/api/v1/token", access, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn lists_read_their_parameters_without_case_and_search_by_name() {
    let app = App::new(Config::default());
    for name in ["prod-ec2", "Prod-RDS", "test-ec2"] {
        app.sim.add_role(name, "123456789012", name, None);
    }
    let token = app.token().await;
    let names = |page: &Value| -> Vec<String> {
        page["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| r["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let (_, upper) = app
        .call("GET", "/api/v1/accounts/amazon?Offset=1&Limit=2", &token, None)
        .await;
    let (_, lower) = app
        .call("GET", "/api/v1/accounts/amazon?offset=1&limit=2", &token, None)
        .await;
    assert_eq!(names(&upper), ["prod-ec2", "Prod-RDS"]);
    assert_eq!(names(&lower), names(&upper));

    let (_, found) = app
        .call(
            "GET",
            "/api/v1/accounts/amazon?searchPattern=PROD&Sort=nameDesc&Limit=-1",
            &token,
            None,
        )
        .await;
    assert_eq!(names(&found), ["Prod-RDS", "prod-ec2"]);
    assert_eq!(found["totalCount"], 2, "the total counts the matches");

    for bad in ["Offset=-1", "Limit=abc", "Sort=sideways"] {
        let (status, body) = app
            .call("GET", &format!("/api/v1/accounts/amazon?{bad}"), &token, None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            body["details"]
                .as_str()
                .expect("details")
                .contains("is not valid"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn role_ids_are_uuids_in_any_case() {
    let app = App::new(Config::default());
    let id = app.sim.add_role("r", "123456789012", "R", None);
    let token = app.token().await;
    let (status, role) = app
        .call(
            "GET",
            &format!("/api/v1/accounts/amazon/{}", id.to_uppercase()),
            &token,
            None,
        )
        .await;
    assert_eq!((status, role["id"].as_str()), (StatusCode::OK, Some(id.as_str())));
    let unknown = "0b0c7c4e-9a38-4d2e-8f5e-000000000000";
    for (method, path) in [
        ("GET", format!("/api/v1/accounts/amazon/{unknown}")),
        ("DELETE", format!("/api/v1/accounts/amazon/{unknown}")),
        (
            "POST",
            format!("/api/v1/accounts/amazon/{unknown}/validateDelete"),
        ),
    ] {
        assert_eq!(
            app.call(method, &path, &token, None).await.0,
            StatusCode::NOT_FOUND,
            "{method} {path}"
        );
    }
    for (method, path) in [
        ("GET", "/api/v1/accounts/amazon/not-a-uuid"),
        ("DELETE", "/api/v1/accounts/amazon/12345"),
        ("POST", "/api/v1/accounts/amazon/x/validateDelete"),
    ] {
        let (status, body) = app.call(method, path, &token, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {path}");
        assert_eq!(body["errorCode"], "UnknownError", "{body}");
    }
}

#[tokio::test]
async fn errors_are_problem_json_unless_the_client_asks_for_json() {
    let app = App::new(Config::default());
    for (accept, expected) in [
        (None, "application/problem+json"),
        (Some("application/json"), "application/json"),
        (
            Some("application/problem+json, application/json"),
            "application/problem+json",
        ),
    ] {
        let mut request = bare("GET", "/api/v1/accounts/amazon").header(header::AUTHORIZATION, "Bearer nope");
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT, accept);
        }
        let response = app
            .router
            .clone()
            .oneshot(request.body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE].to_str().expect("ascii"),
            expected,
            "{accept:?}"
        );
    }
}

#[tokio::test]
async fn a_body_without_a_required_field_is_a_400_that_names_it() {
    let app = App::new(Config::default());
    let token = app.token().await;
    let no_role = json!({"name": "123456789012-ec2"});
    assert_refused(
        app.call("POST", "/api/v1/accounts/amazon", &token, Some(no_role))
            .await,
        "IAMRoleFromAnotherAccount",
    );
    let no_account = json!({"name": "n", "IAMRoleFromAnotherAccount": {"roleName": "R"}});
    assert_refused(
        app.call("POST", "/api/v1/accounts/amazon", &token, Some(no_account))
            .await,
        "accountId",
    );
    let (status, _) = app
        .call(
            "POST",
            "/api/v1/accounts/amazon/validateName",
            &token,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, body) = app
        .send(
            bare("POST", "/api/v1/token")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("grant_type=password&username=admin"))
                .expect("request"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["details"], "The password field is required.");
    assert!(app.sim.roles().iter().all(|r| r.is_default), "nothing was saved");
}

/// A role's account field is the one the request's revision reads (the reference's later
/// findings): `awsAccountId` from 1.5-rev0 on, `awsid` for 1.0-rev0.
#[tokio::test]
async fn the_account_field_follows_the_requests_revision() {
    let app = App::new(Config {
        accepted_versions: vec!["1.0-rev0".into(), "1.5-rev0".into(), REV.into()],
        ..Config::default()
    });
    let token = app.token().await;
    let read = |revision: &'static str| {
        Request::get("/api/v1/accounts/amazon")
            .header("x-api-version", revision)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .expect("request")
    };
    let (_, old) = app.send(read("1.0-rev0")).await;
    assert_eq!(old["results"][0]["awsid"], "111111111111", "{old}");
    assert!(old["results"][0].get("awsAccountId").is_none());
    let (_, new) = app.send(read("1.5-rev0")).await;
    assert_eq!(new["results"][0]["awsAccountId"], "111111111111", "{new}");
    assert!(new["results"][0].get("awsid").is_none());
}

/// Links are absolute, on the host the caller asked for; a collection page links itself and
/// its create; the default role is described as documented and its parent is another object.
#[tokio::test]
async fn links_are_absolute_and_the_default_role_is_as_documented() {
    let app = App::new(Config::default());
    let token = app.token().await;
    let request = Request::get("/api/v1/accounts/amazon")
        .header("x-api-version", REV)
        .header(header::HOST, "appliance.example:11005")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    let (status, page) = app.send(request).await;
    assert_eq!(status, StatusCode::OK);
    let links: Vec<(String, String, String)> = page["_links"]
        .as_array()
        .expect("links")
        .iter()
        .map(|l| {
            let text = |k: &str| l[k].as_str().unwrap_or_default().to_owned();
            (text("method"), text("rel"), text("href"))
        })
        .collect();
    let collection = "https://appliance.example:11005/api/v1/accounts/amazon".to_owned();
    assert_eq!(
        links,
        [
            ("GET".into(), "self".into(), collection.clone()),
            ("POST".into(), "create".into(), collection)
        ]
    );
    let default = &page["results"][0];
    let id = default["id"].as_str().expect("id");
    assert_eq!(
        default["_links"][0]["href"],
        format!("https://appliance.example:11005/api/v1/accounts/amazon/{id}")
    );
    assert_eq!(default["description"], "Default Backup Restore");
    assert_eq!(default["IAMRole"]["isDefault"], true);
    let parent = default["IAMRole"]["parentAmazonAccountId"]
        .as_str()
        .expect("parent");
    assert!(
        !parent.is_empty() && parent != id,
        "the parent is another object: {default}"
    );
}

/// An 11.0 appliance speaks 1.9-rev0, the newest revision.
#[tokio::test]
async fn an_11_0_appliance_speaks_1_9_rev0() {
    let app = App::new(Config::appliance_11());
    let login = |revision: &'static str| {
        Request::post("/api/v1/token")
            .header("x-api-version", revision)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(
                "grant_type=password&username=admin&password=admin-password",
            ))
            .expect("request")
    };
    assert_eq!(app.send(login("1.9-rev0")).await.0, StatusCode::OK);
    assert_eq!(app.send(login("1.5-rev1")).await.0, StatusCode::BAD_REQUEST);
}
