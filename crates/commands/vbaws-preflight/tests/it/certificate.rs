//! `appliance-tls`: the pin the configurator will be deployed with is the certificate the
//! appliance presents on its API port, asked over real TLS, without credentials.

use vbaws_testkit::ClosedPort;

use crate::moto::{World, detail, field, fix_of, only_fails, status};

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
    let fix = format!("CERT_SHA256={presented}");
    // Each bad input fails appliance-tls alone, and the check's field says the words.
    for (flag, value, field_name, words) in [
        ("--cert-sha256", other.as_str(), "detail", presented.as_str()),
        ("--cert-sha256", &other, "fix", &fix),
        ("--cert-sha256", "3F:8A", "fix", "openssl s_client"),
        ("--appliance-ip", "appliance.internal", "detail", "IPv4"),
    ] {
        let result = world.preflight(&[(flag, value)]);
        only_fails(&result, "appliance-tls");
        let text = field(&result.1, "appliance-tls", field_name);
        assert!(text.contains(words), "{flag} {value}: {field_name} {text:?}");
    }

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
