//! The client against the appliance simulator over real TLS on 127.0.0.1.

use std::time::Duration;

use tokio::time::Instant;
use vbaws_client::{
    Client, ClientBuilder, Credentials, CrossAccountSpec, Deleted, Error, RoleSpec, Secret, Trust,
};
use vbaws_sim::{Config, Faults, Running, Sim, User, VersionRefusal};

mod probe;
mod workers;

const PASSWORD: &str = "correct-horse-battery-staple";

async fn appliance(config: Config) -> Running {
    let config = Config {
        users: vec![
            User::admin("automation", PASSWORD),
            User::operator("viewer", PASSWORD),
            User::with_mfa("mfa", PASSWORD),
        ],
        ..config
    };
    vbaws_sim::spawn(Sim::new(config), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("simulator")
}

fn builder(running: &Running) -> ClientBuilder {
    Client::builder(running.url())
        .trust(Trust::Pinned(
            running.identity.fingerprint.parse().expect("fingerprint"),
        ))
        .credentials(Credentials::new("automation", PASSWORD))
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(20)
}

fn spec(account: &str, role: &str, external_id: &str) -> RoleSpec {
    RoleSpec {
        name: format!("{account}-{role}"),
        description: Some("registered by a test".into()),
        role: CrossAccountSpec {
            account_id: account.into(),
            role_name: role.into(),
            external_id: Some(Secret::new(external_id)),
        },
    }
}

fn token_requests(running: &Running) -> Vec<String> {
    running
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/token")
        .map(|r| format!("{:?} {}", r.revision, r.status))
        .collect()
}

#[tokio::test]
async fn every_role_operation_works_end_to_end() {
    let running = appliance(Config::default()).await;
    let client = builder(&running).build().expect("client");
    let roles = client.until(soon()).roles();

    assert!(
        roles
            .validate_name("123456789012-VeeamBackup")
            .await
            .expect("validate")
            .is_empty()
    );
    let created = roles
        .create(&spec("123456789012", "VeeamBackup", "ext-1"))
        .await
        .expect("create");
    assert_eq!(created.account_id(), Some("123456789012"));
    assert!(
        roles
            .validate_name("123456789012-veeambackup")
            .await
            .expect("validate")[0]
            .is_error()
    );

    assert_eq!(roles.get(&created.id).await.expect("get"), Some(created.clone()));
    assert_eq!(
        roles
            .get("00000000-0000-4000-8000-000000000000")
            .await
            .expect("get"),
        None
    );
    assert_eq!(
        roles
            .find_cross_account("123456789012", "veeambackup")
            .await
            .expect("find"),
        Some(created.clone())
    );
    assert_eq!(
        roles
            .find_by_name("123456789012-VEEAMBACKUP")
            .await
            .expect("find")
            .map(|r| r.id),
        Some(created.id.clone())
    );
    assert_eq!(
        roles
            .find_cross_account("123456789013", "VeeamBackup")
            .await
            .expect("find"),
        None
    );

    let updated = roles
        .update(&created.id, &spec("123456789012", "VeeamBackup", "ext-2"))
        .await
        .expect("update");
    assert_eq!(updated.id, created.id);
    let stored = running
        .sim
        .roles()
        .into_iter()
        .find(|r| r.id == created.id)
        .expect("stored");
    assert_eq!(
        stored.external_id.as_deref(),
        Some("ext-2"),
        "the PUT carried the new external ID"
    );

    assert!(
        roles
            .validate_delete(&created.id)
            .await
            .expect("validate delete")
            .is_empty()
    );
    assert_eq!(roles.delete(&created).await.expect("delete"), Deleted::Removed);
    assert_eq!(
        roles.delete(&created).await.expect("delete again"),
        Deleted::AlreadyGone
    );

    let all = roles.list().await.expect("list");
    let default = all
        .iter()
        .find(|r| r.is_default())
        .expect("the default role is listed");
    assert!(matches!(
        roles.delete(default).await,
        Err(Error::DefaultRole { .. })
    ));
    assert_eq!(running.sim.roles().len(), 1, "the default role is still there");
}

#[tokio::test]
async fn listing_pages_until_total_count() {
    let running = appliance(Config {
        max_page_size: 3,
        ..Config::default()
    })
    .await;
    for n in 0..7 {
        running
            .sim
            .add_role(&format!("r{n}"), "123456789012", &format!("Role{n}"), None);
    }
    let client = builder(&running).build().expect("client");
    let all = client.until(soon()).roles().list().await.expect("list");
    assert_eq!(all.len(), 8);
    let offsets: Vec<String> = running
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET")
        .map(|r| r.query)
        .collect();
    assert_eq!(
        offsets,
        ["Offset=0&Limit=200", "Offset=3&Limit=200", "Offset=6&Limit=200"]
    );
}

#[tokio::test]
async fn one_login_serves_many_calls_and_a_401_logs_in_again_once() {
    let running = appliance(Config::default()).await;
    let client = builder(&running).build().expect("client");
    for _ in 0..3 {
        client.until(soon()).roles().list().await.expect("list");
    }
    assert_eq!(running.sim.logins(), 1);

    running.sim.expire_access_tokens();
    client
        .until(soon())
        .roles()
        .list()
        .await
        .expect("list after the token expired on the appliance");
    assert_eq!(running.sim.logins(), 2);
    let statuses: Vec<u16> = running
        .sim
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [200, 200, 200, 401, 200]);
    assert_eq!(client.stats().logins, 2);
}

#[tokio::test]
async fn tokens_near_expiry_are_refreshed_and_a_failed_refresh_logs_in() {
    // The appliance's tokens live 30 s; with a 60 s margin the client renews before every call.
    let running = appliance(Config {
        access_token_ttl: Duration::from_secs(30),
        ..Config::default()
    })
    .await;
    let client = builder(&running)
        .token_margin(Duration::from_secs(60))
        .build()
        .expect("client");
    client.until(soon()).roles().list().await.expect("first");
    client
        .until(soon())
        .roles()
        .list()
        .await
        .expect("second, after a refresh");
    assert_eq!(running.sim.logins(), 1, "the refresh token was used");
    assert_eq!(
        token_requests(&running),
        [
            "Some(\"1.9-rev0\") 400",
            "Some(\"1.8-rev0\") 200",
            "Some(\"1.8-rev0\") 200"
        ],
        "negotiated once, then a login and a refresh at the settled revision"
    );

    running.sim.revoke_refresh_tokens();
    client
        .until(soon())
        .roles()
        .list()
        .await
        .expect("third, after a login");
    assert_eq!(running.sim.logins(), 2);
    assert_eq!(
        token_requests(&running)[3..],
        ["Some(\"1.8-rev0\") 400", "Some(\"1.8-rev0\") 200"],
        "one refused refresh, then a login"
    );
}

/// Errors in ASP.NET Core's problem shape (`detail`, `errors`, `traceId`, no `errorCode`) are
/// told apart as in Veeam's: a taken name, a role the appliance cannot assume, one not found.
#[tokio::test]
async fn errors_in_aspnets_problem_shape_are_told_apart_as_in_veeams() {
    let running = appliance(Config {
        problem_shape: vbaws_sim::ProblemShape::AspNet,
        ..Config::default()
    })
    .await;
    let client = builder(&running).build().expect("client");
    let role = spec("123456789012", "VeeamBackup", "x1");
    client.until(soon()).roles().create(&role).await.expect("created");
    let taken = client
        .until(soon())
        .roles()
        .create(&role)
        .await
        .expect_err("taken");
    let api = taken.api().expect("an error answer");
    assert!(
        api.details
            .as_deref()
            .is_some_and(|d| d.contains("already exists")),
        "{api:?}"
    );
    assert!(api.is_name_taken() && !api.is_assume_role_failure(), "{api:?}");

    running.sim.set_faults(Faults {
        assume_failures: 1,
        ..Faults::default()
    });
    let refused = client
        .until(soon())
        .roles()
        .create(&spec("123456789013", "VeeamBackup", "x1"))
        .await
        .expect_err("not assumable");
    let api = refused.api().expect("an error answer");
    assert!(api.is_assume_role_failure() && !api.is_name_taken(), "{api:?}");

    let gone = client
        .until(soon())
        .roles()
        .update("6f1c2a0e-0000-4000-8000-000000000000", &role)
        .await
        .expect_err("no such role");
    let api = gone.api().expect("an error answer");
    assert!(api.is_not_found() && !api.is_name_taken(), "{api:?}");
}

/// An 11.0 appliance takes the newest revision at the first try, and its roles (under
/// `awsAccountId`, as 1.9-rev0 names the account) are read with their accounts.
#[tokio::test]
async fn an_11_0_appliance_is_spoken_to_in_1_9_rev0_at_once() {
    let running = appliance(Config::appliance_11()).await;
    let client = builder(&running).build().expect("client");
    let roles = client.until(soon()).roles().list().await.expect("list");
    assert_eq!(client.revision().as_deref(), Some("1.9-rev0"));
    assert_eq!(token_requests(&running), ["Some(\"1.9-rev0\") 200"]);
    assert!(
        roles.iter().all(|r| r.account_id().is_some()),
        "every role's account is read: {roles:?}"
    );
}

#[tokio::test]
async fn negotiation_steps_down_to_the_newest_accepted_revision_and_remembers_it() {
    let running = appliance(Config {
        accepted_versions: vec!["1.5-rev0".into(), "1.6-rev0".into()],
        ..Config::default()
    })
    .await;
    let client = builder(&running).build().expect("client");
    client.until(soon()).roles().list().await.expect("list");
    assert_eq!(client.revision().as_deref(), Some("1.6-rev0"));
    assert_eq!(
        token_requests(&running),
        [
            "Some(\"1.9-rev0\") 400",
            "Some(\"1.8-rev0\") 400",
            "Some(\"1.7-rev0\") 400",
            "Some(\"1.6-rev0\") 200"
        ]
    );
    let get = running
        .sim
        .requests()
        .into_iter()
        .find(|r| r.method == "GET")
        .expect("list request");
    assert_eq!(get.revision.as_deref(), Some("1.6-rev0"));

    let pinned = builder(&running).api_version("1.5-rev0").build().expect("client");
    pinned
        .until(soon())
        .login()
        .await
        .expect("login with the configured revision");
    assert_eq!(
        token_requests(&running).last().map(String::as_str),
        Some("Some(\"1.5-rev0\") 200")
    );

    let too_old = appliance(Config {
        accepted_versions: vec!["1.2-rev0".into()],
        ..Config::default()
    })
    .await;
    let error = builder(&too_old)
        .build()
        .expect("client")
        .until(soon())
        .login()
        .await
        .expect_err("no revision fits");
    let Error::UnsupportedApiVersion { tried, configured } = &error else {
        panic!("{error}");
    };
    let revisions: Vec<&str> = tried.iter().map(|r| r.revision.as_str()).collect();
    assert_eq!(revisions, vbaws_client::KNOWN_REVISIONS);
    assert!(!configured);
    let text = error.to_string();
    for revision in vbaws_client::KNOWN_REVISIONS {
        assert!(
            text.contains(&format!(
                "{revision}: HTTP 400 UnknownError: Unsupported API version: The HTTP resource that matches the request URI '/api/v1/token' does not support the API version '{revision}'."
            )),
            "{text}"
        );
    }

    let error = builder(&too_old)
        .api_version("1.5-rev0")
        .build()
        .expect("client")
        .until(soon())
        .login()
        .await
        .expect_err("the configured revision is refused");
    assert!(
        matches!(&error, Error::UnsupportedApiVersion { tried, configured: true } if tried.len() == 1),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("configure one the appliance accepts, or none"),
        "{error}"
    );
}

#[tokio::test]
async fn a_refused_revision_is_recognised_in_every_shape_and_never_taken_for_refused_credentials() {
    for refusal in VersionRefusal::ALL {
        for status in [400, 404] {
            let running = appliance(Config {
                version_refusal: refusal,
                version_refusal_status: status,
                ..Config::default()
            })
            .await;
            let client = builder(&running).build().expect("client");
            client
                .until(soon())
                .login()
                .await
                .unwrap_or_else(|e| panic!("{refusal:?} {status}: {e}"));
            assert_eq!(
                client.revision().as_deref(),
                Some("1.8-rev0"),
                "{refusal:?} {status}"
            );

            let wrong = builder(&running)
                .credentials(Credentials::new("automation", "wrong"))
                .build()
                .expect("client");
            let error = wrong.until(soon()).login().await.expect_err("wrong password");
            assert!(
                matches!(&error, Error::Authentication { answer, .. } if answer.status == 401),
                "{refusal:?} {status}: {error}"
            );
            assert_eq!(
                token_requests(&running).len(),
                4,
                "{refusal:?} {status}: each client stepped past 1.9-rev0 once"
            );
        }
    }
}

#[tokio::test]
async fn login_failures_say_what_is_wrong() {
    let running = appliance(Config::default()).await;
    let wrong = builder(&running)
        .credentials(Credentials::new("automation", "wrong"))
        .build()
        .expect("client");
    let error = wrong.until(soon()).login().await.expect_err("refused");
    let text = error.to_string();
    assert!(
        matches!(&error, Error::Authentication { answer, .. } if answer.status == 401),
        "{text}"
    );
    assert!(
        text.contains("\"automation\"") && text.contains("Invalid username or password"),
        "{text}"
    );
    assert!(!text.contains("wrong"), "{text}");

    let mfa = builder(&running)
        .credentials(Credentials::new("mfa", PASSWORD))
        .build()
        .expect("client");
    let error = mfa.until(soon()).login().await.expect_err("mfa");
    assert_eq!(
        error.to_string(),
        "the appliance user \"mfa\" has MFA enabled; automation needs a user without MFA"
    );

    let viewer = builder(&running)
        .credentials(Credentials::new("viewer", PASSWORD))
        .build()
        .expect("client");
    let error = viewer
        .until(soon())
        .roles()
        .create(&spec("123456789012", "R", "e"))
        .await
        .expect_err("forbidden");
    assert_eq!(error.api().map(|api| api.status), Some(403), "{error}");
}

#[tokio::test]
async fn a_pinned_fingerprint_must_match_and_a_mismatch_shows_the_presented_one() {
    let running = appliance(Config::default()).await;
    let other = "00".repeat(32);
    let client = builder(&running)
        .trust(Trust::Pinned(other.parse().expect("pin")))
        .build()
        .expect("client");
    let error = client.until(soon()).login().await.expect_err("mismatch");
    let text = error.to_string();
    assert!(matches!(error, Error::CertificateMismatch { .. }), "{text}");
    assert!(
        text.contains(&running.identity.fingerprint),
        "names the presented fingerprint: {text}"
    );
    assert!(
        running.sim.requests().is_empty(),
        "no request, so no password, reached the server"
    );
}

#[tokio::test]
async fn a_ca_bundle_is_trusted_and_a_foreign_one_is_not() {
    let running = appliance(Config::default()).await;
    let client = builder(&running)
        .trust(Trust::CaBundle(running.identity.ca_pem.clone()))
        .build()
        .expect("client");
    client
        .until(soon())
        .login()
        .await
        .expect("trusted through the CA");

    let stranger = vbaws_sim::Identity::generate().expect("another CA");
    let client = builder(&running)
        .trust(Trust::CaBundle(stranger.ca_pem))
        .build()
        .expect("client");
    let started = Instant::now();
    let error = client.until(soon()).login().await.expect_err("untrusted");
    assert!(matches!(error, Error::UntrustedCertificate { .. }), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "not retried: {:?}",
        started.elapsed()
    );

    let error = builder(&running)
        .trust(Trust::CaBundle("not pem".into()))
        .build()
        .expect_err("bad bundle");
    assert!(error.to_string().contains("CA bundle"), "{error}");
    let insecure = builder(&running).trust(Trust::Insecure).build().expect("client");
    insecure
        .until(soon())
        .login()
        .await
        .expect("insecure mode connects");
}

#[tokio::test]
async fn no_trust_no_client() {
    let error = Client::builder("https://127.0.0.1:11005")
        .credentials(Credentials::new("a", "b"))
        .build()
        .expect_err("refused");
    assert!(
        error.to_string().contains("pin its SHA-256 fingerprint"),
        "{error}"
    );
}

#[tokio::test]
async fn busy_answers_and_dropped_connections_are_retried() {
    let running = appliance(Config::default()).await;
    let client = builder(&running).build().expect("client");
    client.until(soon()).login().await.expect("login");
    running.sim.set_faults(Faults {
        unavailable: 2,
        ..Faults::default()
    });
    client
        .until(soon())
        .roles()
        .list()
        .await
        .expect("list after two 503s");
    let statuses: Vec<u16> = running
        .sim
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [503, 503, 200]);

    running.sim.set_faults(Faults {
        drops: 1,
        ..Faults::default()
    });
    client
        .until(soon())
        .roles()
        .list()
        .await
        .expect("list after a dropped connection");
}

#[tokio::test]
async fn a_caller_waiting_for_another_callers_login_keeps_its_own_deadline() {
    let running = appliance(Config::default()).await;
    let client = builder(&running)
        .request_timeout(Duration::from_secs(3))
        .build()
        .expect("client");
    // The first login's first request hangs until its 3 s timeout, then a retry logs in.
    running.sim.set_faults(Faults {
        hangs: 1,
        ..Faults::default()
    });
    let patient = {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .until(Instant::now() + Duration::from_secs(20))
                .login()
                .await
        })
    };
    while running.sim.faults().hangs > 0 {
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The patient caller now holds the token lock through its slow login.
    let started = Instant::now();
    let error = client
        .until(started + Duration::from_millis(500))
        .login()
        .await
        .expect_err("the hurried caller gives up at its own deadline");
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "waited {:?} for another caller's login",
        started.elapsed()
    );
    assert!(matches!(error, Error::DeadlineExceeded { .. }), "{error}");
    patient.await.expect("task").expect("the patient caller logs in");
    assert_eq!(running.sim.logins(), 1, "one login, shared");
    client
        .until(soon())
        .login()
        .await
        .expect("the token is there now");
    assert_eq!(running.sim.logins(), 1);
}

#[tokio::test]
async fn a_deadline_that_runs_out_ends_the_call_in_time() {
    let running = appliance(Config::default()).await;
    let client = builder(&running)
        .request_timeout(Duration::from_millis(500))
        .build()
        .expect("client");
    client.until(soon()).login().await.expect("login");

    running.sim.set_faults(Faults {
        hangs: 1000,
        ..Faults::default()
    });
    let started = Instant::now();
    let error = client
        .until(started + Duration::from_secs(2))
        .roles()
        .list()
        .await
        .expect_err("hangs");
    assert!(
        started.elapsed() < Duration::from_millis(2300),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(error, Error::DeadlineExceeded { .. }) && error.is_unreachable(),
        "{error}"
    );

    running.sim.set_faults(Faults {
        unavailable: 1000,
        ..Faults::default()
    });
    let started = Instant::now();
    let error = client
        .until(started + Duration::from_secs(1))
        .roles()
        .list()
        .await
        .expect_err("always busy");
    assert!(
        started.elapsed() < Duration::from_millis(1300),
        "{:?}",
        started.elapsed()
    );
    assert!(error.is_unreachable(), "{error}");
}

#[tokio::test]
async fn assume_role_and_in_use_failures_are_recognisable() {
    let running = appliance(Config::default()).await;
    let client = builder(&running).build().expect("client");
    running.sim.set_faults(Faults {
        assume_failures: 1,
        ..Faults::default()
    });
    let error = client
        .until(soon())
        .roles()
        .create(&spec("123456789012", "New", "e"))
        .await
        .expect_err("not yet assumable");
    assert!(
        error.api().is_some_and(|api| api.is_assume_role_failure()),
        "{error}"
    );

    let id = running.sim.add_role("busy", "123456789012", "Busy", None);
    running.sim.mark_in_use(&id, "policy 'nightly'");
    let roles = client.until(soon()).roles();
    let role = roles.get(&id).await.expect("get").expect("exists");
    assert!(
        roles.validate_delete(&id).await.expect("validate")[0]
            .message
            .contains("nightly")
    );
    let error = roles.delete(&role).await.expect_err("in use");
    assert!(error.api().is_some_and(|api| api.is_in_use()), "{error}");
}

#[tokio::test]
async fn no_password_or_token_in_debug_or_display() {
    let running = appliance(Config::default()).await;
    let client = builder(&running).build().expect("client");
    client.until(soon()).login().await.expect("login");
    let shown = format!(
        "{client:?} {:?} {:?}",
        builder(&running),
        Credentials::new("automation", PASSWORD)
    );
    assert!(!shown.contains(PASSWORD), "{shown}");
    let spec = spec("123456789012", "R", "secret-external-id");
    assert!(!format!("{spec:?}").contains("secret-external-id"));
}

#[test]
fn the_docs_name_the_known_revisions_as_the_client_knows_them() {
    let readme = include_str!("../../../../../docs/functions.md");
    let listed = format!(
        "The client knows these revisions, newest first: {}",
        vbaws_client::KNOWN_REVISIONS.join(", ")
    );
    assert!(
        readme.contains(&listed),
        "docs/functions.md must say: {listed:?} (its API revisions section)"
    );
}
