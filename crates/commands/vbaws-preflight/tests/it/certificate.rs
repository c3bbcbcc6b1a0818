//! `appliance-tls`: the pin the configurator will be deployed with is the certificate the
//! appliance presents on its API port, asked over real TLS, without credentials.

use vbaws_testkit::ClosedPort;

use crate::moto::{World, detail, fix_of, only_fails, status};

#[tokio::test(flavor = "multi_thread")]
async fn the_pin_is_checked_against_the_certificate_the_appliance_presents() {
    let world = World::build().await;
    let presented = world.appliance.identity.fingerprint.clone();

    let (code, report) = world.preflight(&[("--cert-sha256", &presented.to_lowercase().replace(':', ""))]);
    assert_eq!(
        code, 0,
        "the pin in openssl's form or as bare hex alike: {report:#}"
    );
    assert_eq!(status(&report, "appliance-tls"), "pass", "{report:#}");

    let other = vec!["AB"; 32].join(":");
    let wrong = world.preflight(&[("--cert-sha256", &other)]);
    only_fails(&wrong, "appliance-tls");
    assert!(
        detail(&wrong.1, "appliance-tls").contains(&presented),
        "{:#}",
        wrong.1
    );
    assert!(
        fix_of(&wrong.1, "appliance-tls").contains(&format!("CERT_SHA256={presented}")),
        "{:#}",
        wrong.1
    );

    let malformed = world.preflight(&[("--cert-sha256", "3F:8A")]);
    only_fails(&malformed, "appliance-tls");
    assert!(
        fix_of(&malformed.1, "appliance-tls").contains("openssl s_client"),
        "{:#}",
        malformed.1
    );

    let named = world.preflight(&[("--appliance-ip", "appliance.internal")]);
    only_fails(&named, "appliance-tls");
    assert!(
        detail(&named.1, "appliance-tls").contains("IPv4"),
        "{:#}",
        named.1
    );

    let logins = world
        .appliance
        .sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/token"))
        .count();
    assert_eq!(logins, 0, "the preflight never logs in");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_appliance_this_machine_does_not_reach_is_a_skip_that_says_where_to_check() {
    let world = World::build().await;
    let closed = ClosedPort::new().expect("port");
    let port = closed.port().to_string();
    let (_, report) = world.preflight(&[("--api-port", &port)]);
    assert_eq!(status(&report, "appliance-tls"), "skip", "{report:#}");
    let fix = fix_of(&report, "appliance-tls");
    assert!(
        fix.contains(&format!("openssl s_client -connect 127.0.0.1:{port}")),
        "{fix}"
    );

    for missing in ["--appliance-ip", "--cert-sha256"] {
        let (code, report) = world.preflight_without(missing);
        assert_eq!(code, 0, "{report:#}");
        assert_eq!(status(&report, "appliance-tls"), "skip", "{report:#}");
        assert!(detail(&report, "appliance-tls").contains(missing), "{report:#}");
    }
}
