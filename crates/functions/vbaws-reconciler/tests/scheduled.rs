//! The scheduled function as Lambda runs it: the real binary polling the Runtime API stand-in,
//! its secret through the extension stand-in, the appliance simulator over TLS, and the
//! Organization and the StackSet in moto. What it reports, what it publishes, and that it
//! removes nothing unless allowed.

use std::{path::Path, time::Duration};

use serde_json::{Value, json};
use vbaws_sim::{Config, Sim, User};
use vbaws_testkit::{
    Completion, Deadline, Moto, RuntimeApi, Sandbox, SecretsExtension, configurator_env,
    organization::{Organization, sdk_config, stack_set},
};

const SECRET_ID: &str = "vbaws-appliance";
const SESSION: &str = "session-token";

/// An EventBridge scheduled event, as the rule delivers it.
fn scheduled_event() -> Value {
    json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-12-01T03:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/vbaws-reconciler"],
        "detail": {}
    })
}

struct World {
    moto: Moto,
    appliance: vbaws_sim::Running,
    extension: SecretsExtension,
    ou: String,
    member: String,
    closed: String,
}

/// An OU with a registered member, a closed account still registered, and a member never
/// registered; the roles StackSet (its template declares the purposes).
async fn world() -> World {
    let moto = Moto::start().await.expect("moto");
    let config = sdk_config(&moto).await;
    let organization = Organization::create(&config).await.expect("organization");
    let ou = organization
        .ou(&organization.root, "Workloads")
        .await
        .expect("ou");
    let member = organization.account("member", &ou).await.expect("account");
    let closed = organization.account("closed", &ou).await.expect("account");
    organization.account("new", &ou).await.expect("account");
    organization
        .client
        .close_account()
        .account_id(&closed)
        .send()
        .await
        .expect("close");
    let roles =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../template/roles.yaml"))
            .expect("roles.yaml");
    stack_set(&config, "vbaws-veeam-roles", &roles, &[])
        .await
        .expect("stack set");
    let appliance = vbaws_sim::spawn(
        Sim::new(Config {
            users: vec![User::admin("automation", "pw")],
            ..Config::default()
        }),
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("simulator");
    // Registered by the configurator: each with the note of the stack that made it.
    let made_by =
        vbaws_client::MadeBy::new("arn:aws:cloudformation:us-east-1:1:stack/s/uuid", "Registration");
    for account in [&member, &closed] {
        for purpose in ["ec2", "worker"] {
            let sim = &appliance.sim;
            let id = sim.add_role(&format!("{account}-{purpose}"), account, "VeeamRole", None);
            sim.describe_role(&id, &made_by.describe(None));
        }
    }
    let extension = SecretsExtension::start(SESSION).await.expect("extension");
    extension.set_secret(SECRET_ID, r#"{"username": "automation", "password": "pw"}"#);
    World {
        moto,
        appliance,
        extension,
        ou,
        member,
        closed,
    }
}

impl World {
    async fn run(&self, extra: &[(&str, &str)]) -> (Completion, String) {
        let runtime = RuntimeApi::start().await.expect("runtime API");
        let mut env: Vec<(&str, String)> = configurator_env(
            &self.appliance.url(),
            &self.appliance.identity.fingerprint,
            self.extension.port(),
            SECRET_ID,
            SESSION,
        );
        env.extend([
            ("TARGET_OUS", self.ou.clone()),
            ("STACK_SET_NAME", "vbaws-veeam-roles".to_owned()),
            ("AWS_ENDPOINT_URL", self.moto.endpoint()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ]);
        let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        env.extend_from_slice(extra);
        let sandbox = Sandbox::start(Path::new(env!("CARGO_BIN_EXE_vbaws-reconciler")), &runtime, &env)
            .expect("sandbox");
        let completion = runtime
            .invoke(
                &scheduled_event(),
                Deadline::In(Duration::from_secs(60)),
                Duration::from_secs(5),
            )
            .await;
        (completion, sandbox.output())
    }
}

/// The EMF line the run printed, if any.
fn metrics(output: &str) -> Value {
    output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "VeeamBackupForAws/Onboarding")
        .unwrap_or_else(|| panic!("no EMF line in:\n{output}"))
}

#[tokio::test]
async fn a_scheduled_run_reports_the_drift_publishes_it_and_removes_nothing() {
    let world = world().await;
    let (completion, output) = world.run(&[]).await;
    let Completion::Response(body) = completion else {
        panic!("{completion:?}\n{output}");
    };
    let summary: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(summary["checked"], 2, "member and new are active: {summary:#}");
    assert_eq!(
        summary["drift"],
        json!({"accounts": 2, "orphaned": 2, "missing": 2, "foreign": 0})
    );
    assert_eq!(summary["fixed"], Value::Null);
    let line = metrics(&output);
    assert_eq!(line["Function"], "vbaws-reconciler");
    assert_eq!(
        (
            line["DriftedAccounts"].clone(),
            line["OrphanedRegistrations"].clone(),
            line["MissingRegistrations"].clone()
        ),
        (json!(2), json!(2), json!(2))
    );
    assert!(
        output.contains(&format!("{}-ec2", world.closed)) && output.contains("orphaned"),
        "the drift is in the logs:\n{output}"
    );
    let deletes = world
        .appliance
        .sim
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .count();
    assert_eq!(deletes, 0, "report only by default");
    assert!(
        world.extension.requests().iter().any(|r| r.contains(SECRET_ID)),
        "the credentials came through the extension"
    );
    assert!(!output.contains("\"pw\""), "no secret in the logs");
}

#[tokio::test]
async fn with_fix_allowed_the_orphans_go_and_the_members_registrations_stay() {
    let world = world().await;
    let (completion, output) = world.run(&[("RECONCILE_FIX", "true")]).await;
    let Completion::Response(body) = completion else {
        panic!("{completion:?}\n{output}");
    };
    let summary: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(
        summary["fixed"]["removed"].as_array().map(Vec::len),
        Some(2),
        "{summary:#}"
    );
    assert_eq!(metrics(&output)["OrphansRemoved"], 2);
    let left = world.appliance.sim.registration_names();
    assert_eq!(
        left,
        [
            format!("{}-ec2", world.member),
            format!("{}-worker", world.member)
        ]
    );
}

#[tokio::test]
async fn a_misconfigured_or_failing_run_is_an_error_that_says_why_and_counts() {
    let world = world().await;
    let (completion, output) = world.run(&[("TARGET_OUS", "")]).await;
    let Completion::Error { error_type, message } = completion else {
        panic!("{completion:?}\n{output}");
    };
    assert_eq!(error_type, "Reconciler.Misconfigured");
    assert!(message.contains("TARGET_OUS is empty"), "{message}");
    assert_eq!(metrics(&output)["ReconcileFailed"], 1);

    let (completion, output) = world.run(&[("STACK_SET_NAME", "no-such-set")]).await;
    let Completion::Error { error_type, message } = completion else {
        panic!("{completion:?}\n{output}");
    };
    // DescribeStackSet comes first: a StackSet that is not there is a parameter to fix.
    assert_eq!(error_type, "Reconciler.Misconfigured");
    assert!(
        message.contains("the StackSet no-such-set does not exist for SELF")
            && message.contains("set RolesStackSetName"),
        "{message}"
    );
}
