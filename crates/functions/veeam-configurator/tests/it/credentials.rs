//! Where the configurator's credentials and trust come from, and what happens when they are wrong.

use crate::harness::{PASSWORD, Rig, SECRET_ID, Setup, USER, props, reason, secret_json};
use vbaws_testkit::{ClosedPort, Moto, SecretsExtension, closed_port};

#[tokio::test]
async fn a_wrong_fingerprint_sends_no_credentials_and_says_what_to_pin() {
    let rig = Rig::with(Setup {
        env: vec![("VEEAM_CERT_SHA256", "00".repeat(32))],
        ..Setup::default()
    })
    .await;
    let text = rig.create_failing(props("VeeamEc2Role", "ec2")).await;
    assert!(
        text.contains(&rig.appliance.identity.fingerprint) && text.contains("VEEAM_CERT_SHA256"),
        "{text}"
    );
    assert!(
        rig.appliance.sim.requests().is_empty(),
        "nothing reached the appliance"
    );
    rig.assert_clean_output();
}

#[tokio::test]
async fn secrets_without_json_or_a_password_are_named() {
    for (secret, expected) in [
        ("hunter2", "is not JSON"),
        (r#"{"username":"automation"}"#, "has no password"),
    ] {
        let rig = Rig::with(Setup {
            secret: Some(secret.into()),
            ..Setup::default()
        })
        .await;
        let text = rig.create_failing(props("VeeamEc2Role", "ec2")).await;
        assert!(
            text.contains(&format!("secret {SECRET_ID} {expected}")) && text.contains("\"username\""),
            "{text}"
        );
        assert!(!text.contains("hunter2"));
    }
}

#[tokio::test]
async fn extension_refusals_name_the_status_and_the_fix() {
    for (status, expected) in [(403, "secretsmanager:GetSecretValue"), (404, "no such secret")] {
        let rig = Rig::start().await;
        rig.extension.answer_with(status);
        let text = rig.create_failing(props("VeeamEc2Role", "ec2")).await;
        assert!(
            text.contains(&format!("answered HTTP {status}")) && text.contains(expected),
            "{text}"
        );
    }
}

#[tokio::test]
async fn the_extension_is_asked_with_the_session_token() {
    let rig = Rig::with(Setup {
        env: vec![("AWS_SESSION_TOKEN", "a-different-token".into())],
        ..Setup::default()
    })
    .await;
    let answer = rig.create(props("VeeamEc2Role", "ec2")).await;
    assert_eq!(
        answer["Status"], "FAILED",
        "the stand-in refuses a wrong token with 403"
    );
    assert!(reason(&answer).contains("answered HTTP 403"), "{answer}");
}

#[tokio::test]
async fn missing_configuration_fails_every_event_naming_the_variable() {
    let rig = Rig::with(Setup {
        env: vec![("VEEAM_CERT_SHA256", String::new())],
        ..Setup::default()
    })
    .await;
    for _ in 0..2 {
        let text = rig.create_failing(props("VeeamEc2Role", "ec2")).await;
        assert!(
            text.contains("VEEAM_CERT_SHA256") && text.contains("openssl s_client"),
            "{text}"
        );
    }
    assert!(
        rig.appliance.sim.requests().is_empty(),
        "no credential was sent without a way to check the appliance"
    );
    assert!(rig.extension.requests().is_empty());
}

async fn moto_with_secret(password: &str) -> Moto {
    use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
    let moto = Moto::start().await.expect("moto server");
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(vbaws_sdk::https_client())
        .endpoint_url(moto.endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
        .create_secret()
        .name(SECRET_ID)
        .secret_string(secret_json(password))
        .send()
        .await
        .expect("secret created in moto");
    moto
}

/// A rig whose sandbox has no Parameters and Secrets extension (nothing listens on its port).
async fn without_extension(mut env: Vec<(&'static str, String)>) -> Rig {
    env.push((
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT",
        closed_port().expect("port").to_string(),
    ));
    Rig::with(Setup {
        env,
        ..Setup::default()
    })
    .await
}

fn sdk_env(moto: &Moto) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", moto.endpoint()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
    ]
}

#[tokio::test]
async fn without_an_extension_the_sdk_reads_the_secret() {
    let moto = moto_with_secret(PASSWORD).await;
    let rig = without_extension(sdk_env(&moto)).await;
    let answer = rig.create(props("VeeamEc2Role", "ec2")).await;
    assert_eq!(
        answer["Status"],
        "SUCCESS",
        "{answer} {}",
        rig.lambda.sandbox.output()
    );
    assert!(
        rig.lambda
            .sandbox
            .output()
            .contains("no Parameters and Secrets extension answered")
    );
    rig.assert_clean_output();
}

#[tokio::test]
async fn a_rotated_password_is_read_again_past_the_extension_cache() {
    // The appliance and Secrets Manager have the new password; the extension still serves the old.
    let moto = moto_with_secret("the-rotated-password").await;
    let rig = Rig::with(Setup {
        env: sdk_env(&moto),
        ..Setup::default()
    })
    .await;
    rig.appliance.sim.set_password(USER, "the-rotated-password");
    let answer = rig.create(props("VeeamEc2Role", "ec2")).await;
    assert_eq!(
        answer["Status"],
        "SUCCESS",
        "{answer} {}",
        rig.lambda.sandbox.output()
    );
    assert_eq!(rig.appliance.sim.logins(), 1);
    let statuses: Vec<u16> = rig
        .appliance
        .sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/token"))
        .map(|r| r.status)
        .collect();
    // 1.9-rev0 refused once; the refused login settled the revision for the second one.
    assert_eq!(statuses, [400, 401, 200]);
    assert!(!rig.lambda.sandbox.output().contains("the-rotated-password"));

    // A password that is wrong everywhere fails with a Reason that says where to look.
    rig.appliance.sim.set_password(USER, "changed-again");
    rig.appliance.sim.expire_access_tokens();
    let text = rig.create_failing(props("VeeamWorkerRole", "worker")).await;
    assert!(
        text.contains(&format!("password in secret {SECRET_ID}")) && text.contains("Portal Administrator"),
        "{text}"
    );
}

#[tokio::test]
async fn a_cold_extension_is_waited_for_briefly() {
    let port = ClosedPort::new().expect("port");
    let rig = Rig::with(Setup {
        env: vec![("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", port.port().to_string())],
        ..Setup::default()
    })
    .await;
    let event = rig.resource.create(props("VeeamEc2Role", "ec2"));
    let delivery = rig.deliver(&event, std::time::Duration::from_secs(30));
    // The extension starts listening while the function is already asking for the secret.
    let late = async {
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        let extension = SecretsExtension::start_on(port, crate::harness::SESSION_TOKEN).expect("extension");
        extension.set_secret(SECRET_ID, &secret_json(PASSWORD));
        extension
    };
    let (delivery, extension) = tokio::join!(delivery, late);
    let answer = delivery.json();
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    assert_eq!(extension.requests().len(), 1);
}

/// Secrets Manager as unreachable as it is from a VPC without an endpoint or NAT.
fn unreachable_secrets_manager() -> Vec<(&'static str, String)> {
    vec![
        (
            "AWS_ENDPOINT_URL",
            format!("http://127.0.0.1:{}", closed_port().expect("port")),
        ),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
    ]
}

#[tokio::test]
async fn a_refused_login_leads_the_reason_when_reading_the_secret_again_fails_too() {
    let rig = Rig::with(Setup {
        env: unreachable_secrets_manager(),
        ..Setup::default()
    })
    .await;
    rig.appliance
        .sim
        .set_password(USER, "changed-in-the-appliance-only");
    let text = rig.create_failing(props("VeeamEc2Role", "ec2")).await;
    assert!(
        text.starts_with(
            "the appliance refused to log in user \"automation\" (HTTP 401 AccessDenied: Access denied: Invalid username or password.)"
        ),
        "the appliance's refusal leads: {text}"
    );
    let second = text
        .find("Reading the secret again, past the extension's cache, failed too: Secrets Manager's GetSecretValue failed")
        .unwrap_or_else(|| panic!("then the failed re-read: {text}"));
    assert!(
        text[..second].contains(&format!("password in secret {SECRET_ID}")),
        "{text}"
    );
}

#[tokio::test]
async fn without_an_extension_and_without_secrets_manager_both_causes_are_named_in_order() {
    let port = closed_port().expect("port");
    let mut env = unreachable_secrets_manager();
    env.push(("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", port.to_string()));
    let rig = Rig::with(Setup {
        env,
        ..Setup::default()
    })
    .await;
    let text = rig.create_failing(props("VeeamEc2Role", "ec2")).await;
    assert!(
        text.starts_with(&format!(
            "no Parameters and Secrets extension answered on localhost:{port} (is its layer attached"
        )),
        "{text}"
    );
    assert!(
        text.contains(
            "reading the secret with the AWS SDK instead failed too: Secrets Manager's GetSecretValue failed"
        ),
        "{text}"
    );
    assert!(rig.appliance.sim.requests().is_empty());
}

#[tokio::test]
async fn secrets_managers_own_refusal_is_named_by_its_code() {
    let moto = Moto::start().await.expect("moto server");
    let rig = without_extension(sdk_env(&moto)).await;
    let text = rig.create_failing(props("VeeamEc2Role", "ec2")).await;
    assert!(
        text.contains(&format!(
            "Secrets Manager's GetSecretValue failed for secret {SECRET_ID}: ResourceNotFoundException: "
        )),
        "{text}"
    );
}
