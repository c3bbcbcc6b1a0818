//! Faults as rates: drawn from the seed (the same seed, the same faults), in the shares asked
//! for; slow logins; a new role unassumable while IAM propagates it.

use std::time::Duration;

use axum::http::StatusCode;
use vbaws_sim::{Chaos, Config};

use crate::common::{App, assert_refused, spec};

/// The statuses of `n` role listings with `chaos` set after the login.
async fn statuses(chaos: Chaos, n: usize) -> Vec<StatusCode> {
    let app = App::new(Config::default());
    let token = app.token().await;
    app.sim.set_chaos(chaos);
    let mut statuses = Vec::with_capacity(n);
    for _ in 0..n {
        statuses.push(app.call("GET", "/api/v1/accounts/amazon", &token, None).await.0);
    }
    statuses
}

#[tokio::test]
async fn the_same_seed_gives_the_same_faults_in_the_share_asked_for() {
    let chaos = |seed| Chaos {
        seed,
        unavailable: 0.2,
        ..Chaos::default()
    };
    let first = statuses(chaos(7), 400).await;
    let unavailable = first
        .iter()
        .filter(|s| **s == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    // 80 expected; the binomial's standard deviation is 8.
    assert!((50..=110).contains(&unavailable), "{unavailable} of 400");
    assert!(
        first
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::SERVICE_UNAVAILABLE)
    );
    assert_eq!(statuses(chaos(7), 400).await, first, "a run can be repeated");
    assert_ne!(statuses(chaos(8), 400).await, first, "another seed, other faults");
    assert!(
        statuses(Chaos::default(), 50)
            .await
            .iter()
            .all(|s| *s == StatusCode::OK),
        "no rates, no faults"
    );
}

#[tokio::test]
async fn a_hang_never_answers_and_a_drop_breaks_the_answer() {
    let app = App::new(Config::default());
    let token = app.token().await;
    app.sim.set_chaos(Chaos {
        hang: 1.0,
        ..Chaos::default()
    });
    let hung = tokio::time::timeout(
        Duration::from_millis(200),
        app.call("GET", "/api/v1/accounts/amazon", &token, None),
    )
    .await;
    assert!(hung.is_err(), "answered: {hung:?}");
    app.sim.set_chaos(Chaos {
        drop: 1.0,
        ..Chaos::default()
    });
    let request = axum::http::Request::get("/api/v1/accounts/amazon")
        .header("x-api-version", crate::common::REV)
        .header(axum::http::header::AUTHORIZATION, format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .expect("request");
    let response = tower::ServiceExt::oneshot(app.router.clone(), request)
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::OK, "the headers go out");
    let body = http_body_util::BodyExt::collect(response.into_body()).await;
    assert!(body.is_err(), "then the answer breaks");
}

#[tokio::test(start_paused = true)]
async fn password_logins_take_the_login_latency() {
    let app = App::new(Config::default());
    app.sim.set_chaos(Chaos {
        login_latency: Duration::from_secs(2),
        ..Chaos::default()
    });
    let started = tokio::time::Instant::now();
    app.token().await;
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn a_new_role_is_unassumable_until_it_has_propagated() {
    let app = App::new(Config::default());
    let token = app.token().await;
    app.sim.set_chaos(Chaos {
        propagation: Duration::from_secs(8),
        ..Chaos::default()
    });
    let create = || {
        app.call(
            "POST",
            "/api/v1/accounts/amazon",
            &token,
            Some(spec("123456789012-ec2", "123456789012")),
        )
    };
    assert_refused(create().await, "assume role");
    tokio::time::advance(Duration::from_secs(5)).await;
    assert_eq!(
        create().await.0,
        StatusCode::BAD_REQUEST,
        "5 s after the first try"
    );
    tokio::time::advance(Duration::from_secs(4)).await;
    assert_eq!(create().await.0, StatusCode::CREATED, "9 s after the first try");
}
