//! A member account's stack, the configurator as a Lambda sandbox, and the appliance: all local.
//! The rig plays CloudFormation: every event it sends is recorded in CloudFormation's ledger
//! (the resource in progress while it is out), which the STS and CloudFormation stand-in answers
//! the configurator's confirmation from. An event delivered past the rig (`forge`) is one that
//! CloudFormation never sent.

#![allow(dead_code, unreachable_pub)]

use std::{path::Path, time::Duration};

use serde_json::{Value, json};
use vbaws_sim::{Config, Running, Sim, User};
use vbaws_template::{Answer, Ledger};
use vbaws_testkit::{
    CONFIGURATOR_ROLE_ARN, Cloud, Completion, Deadline, Delivery, Lambda, SIGNATURE, SecretsExtension,
    configurator_env,
    events::{Event, STACK_NAME, StackResource, request_id, resource_in},
    member_stack,
};

pub const ACCOUNT: &str = "123456789012";
pub const USER: &str = "automation";
pub const PASSWORD: &str = "Pa55word-that-must-never-be-logged";
pub const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjE-session-token-never-logged";
pub const EXT_ID: &str = "ExternalIdThatMustNeverBeLogged0001";
pub const SECRET_ID: &str = "veeam/appliance-admin";

/// Every secret a test knows, which no output may contain.
pub const SECRETS: &[&str] = &[PASSWORD, SESSION_TOKEN, EXT_ID, SIGNATURE];

pub struct Rig {
    pub lambda: Lambda,
    pub appliance: Running,
    pub extension: SecretsExtension,
    pub cloud: Cloud,
    pub resource: StackResource,
}

/// How a rig differs from the usual one.
#[derive(Default)]
pub struct Setup {
    pub config: Option<Config>,
    /// Environment entries to set (over the usual ones) or, with an empty value, to leave out.
    pub env: Vec<(&'static str, String)>,
    pub secret: Option<String>,
}

pub fn secret_json(password: &str) -> String {
    json!({"username": USER, "password": password}).to_string()
}

pub fn props(role: &str, purpose: &str) -> Value {
    json!({"RoleName": role, "RoleExtId": EXT_ID, "Purpose": purpose, "Description": "Veeam role"})
}

impl Rig {
    pub async fn start() -> Self {
        Self::with(Setup::default()).await
    }

    pub async fn with(setup: Setup) -> Self {
        let config = setup.config.unwrap_or_default();
        let config = Config {
            users: vec![User::admin(USER, PASSWORD)],
            ..config
        };
        let appliance = vbaws_sim::spawn(Sim::new(config), "127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("simulator");
        let extension = SecretsExtension::start(SESSION_TOKEN).await.expect("extension");
        extension.set_secret(SECRET_ID, &setup.secret.unwrap_or_else(|| secret_json(PASSWORD)));
        let cloud = Cloud::start(&Ledger::default()).await.expect("cloud stand-in");
        member_stack(
            cloud.ledger(),
            ACCOUNT,
            "us-east-1",
            STACK_NAME,
            CONFIGURATOR_ROLE_ARN,
        );
        let mut env = configurator_env(
            &appliance.url(),
            &appliance.identity.fingerprint,
            extension.port(),
            SECRET_ID,
            SESSION_TOKEN,
        );
        env.extend(cloud.configurator_env());
        // Debug lines too are searched for secrets.
        env.push(("AWS_LAMBDA_LOG_LEVEL", "debug".to_owned()));
        for (key, value) in setup.env {
            env.retain(|(k, _)| *k != key);
            if !value.is_empty() {
                env.push((key, value));
            }
        }
        // Whatever keys the sandbox signs with are its execution role's.
        if let Some((_, key)) = env.iter().find(|(k, _)| *k == "AWS_ACCESS_KEY_ID") {
            cloud.admit(key, CONFIGURATOR_ROLE_ARN);
        }
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let binary = Path::new(env!("CARGO_BIN_EXE_veeam-configurator"));
        let lambda = Lambda::start(binary, &env).await.expect("function starts");
        let resource = resource_in(ACCOUNT, "Custom::VeeamAwsConfigurator", "Ec2RoleRegistration");
        Self {
            lambda,
            appliance,
            extension,
            cloud,
            resource,
        }
    }

    /// Delivers `event` as CloudFormation does (its resource in progress in CloudFormation's
    /// ledger meanwhile, in a stack instance of the roles StackSet with its event reader role),
    /// with a deadline `budget` away.
    pub async fn deliver(&self, event: &Event, budget: Duration) -> Delivery {
        let ledger = self.cloud.ledger();
        if ledger.stack(event.stack_id()).is_none() {
            let account = event.stack_id().split(':').nth(4).unwrap_or_default();
            member_stack(ledger, account, "us-east-1", STACK_NAME, CONFIGURATOR_ROLE_ARN);
        }
        ledger.sending(event);
        let delivery = self.lambda.deliver(event, Deadline::In(budget)).await;
        if let Some(answer) = &delivery.answer {
            ledger.answered(event, &Answer::from_json(&answer.json()));
        }
        delivery
    }

    /// Delivers `event` as someone other than CloudFormation would: nothing in CloudFormation
    /// shows it. Returns the answer.
    pub async fn forge(&self, event: &Event) -> Value {
        let key = request_id();
        let delivery = self
            .lambda
            .deliver_json(
                &key,
                &event.to_json(&self.lambda.bucket.url(&key)),
                Deadline::In(Duration::from_secs(60)),
            )
            .await;
        let answer = delivery.json();
        self.assert_no_secret_in(&answer.to_string());
        answer
    }

    /// Delivers `event` with a deadline `budget` away, and returns the answer.
    pub async fn send_within(&self, event: &Event, budget: Duration) -> Value {
        let delivery = self.deliver(event, budget).await;
        assert_eq!(
            delivery.completion,
            Completion::Response("null".into()),
            "{}",
            self.lambda.sandbox.output()
        );
        let answer = delivery.json();
        self.assert_no_secret_in(&answer.to_string());
        answer
    }

    pub async fn send(&self, event: &Event) -> Value {
        self.send_within(event, Duration::from_secs(60)).await
    }

    pub async fn create(&self, props: Value) -> Value {
        self.send(&self.resource.create(props)).await
    }

    /// The Reason of a Create that must be answered FAILED.
    pub async fn create_failing(&self, props: Value) -> String {
        let answer = self.create(props).await;
        assert_eq!(answer["Status"], "FAILED", "{answer}");
        reason(&answer).to_owned()
    }

    pub async fn update(&self, physical_id: &Value, props: Value, old: Value) -> Value {
        self.send(
            &self
                .resource
                .update(physical_id.as_str().expect("id"), props, old),
        )
        .await
    }

    pub async fn delete(&self, physical_id: &Value, props: Value) -> Value {
        self.send(&self.resource.delete(physical_id.as_str().expect("id"), props))
            .await
    }

    /// The metrics the function printed in Embedded Metric Format, in order: each line's
    /// metric names (checked to be declared in its `_aws` block) with their values.
    pub fn metrics(&self) -> Vec<(String, i64)> {
        self.lambda
            .sandbox
            .output()
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line.trim()).ok())
            .filter(|json| json.get("_aws").is_some())
            .flat_map(|json| {
                let declared = json["_aws"]["CloudWatchMetrics"][0]["Metrics"].clone();
                declared
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |m| {
                        let name = m["Name"].as_str().unwrap_or_default().to_owned();
                        let value = json[&name].as_i64().unwrap_or_default();
                        (name, value)
                    })
            })
            .collect()
    }

    /// The registrations of member roles (the appliance's default role left out).
    pub fn registrations(&self) -> Vec<vbaws_sim::Role> {
        self.appliance.sim.registrations()
    }

    pub fn assert_no_secret_in(&self, text: &str) {
        for secret in SECRETS {
            assert!(!text.contains(secret), "a secret leaked: {secret:?} in {text}");
        }
    }

    /// Asserts that nothing the function printed holds a secret, nor a token the appliance
    /// issued.
    pub fn assert_clean_output(&self) {
        let output = self.lambda.sandbox.output();
        self.assert_no_secret_in(&output);
        for token in self.appliance.sim.issued_tokens() {
            assert!(
                !output.contains(&token),
                "an appliance token leaked: {token} in {output}"
            );
        }
    }
}

/// Every scenario ends with the sweep: whatever a test did, no secret may be in the output.
impl Drop for Rig {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.assert_clean_output();
        }
    }
}

/// The three events an attacker would write about `resource`, with an external ID of theirs.
pub fn forgeries(resource: &StackResource, physical_id: &str) -> [Event; 3] {
    let theirs = json!({"RoleName": "VeeamEc2Role", "RoleExtId": "attackers-external-id", "Purpose": "ec2"});
    [
        resource.create(theirs.clone()),
        resource.update(physical_id, theirs.clone(), props("VeeamEc2Role", "ec2")),
        resource.delete(physical_id, theirs),
    ]
}

impl Rig {
    /// Sends each of [`forgeries`] past CloudFormation and checks what it got: Create and Update
    /// FAILED with a Reason that says the event could not be confirmed (and names no
    /// registration), Delete SUCCESS; the appliance unchanged either way.
    pub async fn assert_forgeries_change_nothing(
        &self,
        resource: &StackResource,
        physical_id: &str,
        case: &str,
    ) {
        let state = |rig: &Self| {
            let roles: Vec<(String, String, Option<String>)> = rig
                .registrations()
                .into_iter()
                .map(|r| (r.name, r.role_name, r.external_id))
                .collect();
            let changes = rig
                .appliance
                .sim
                .requests()
                .iter()
                .filter(|r| r.method != "GET" && !r.path.ends_with("/token") && !r.path.contains("validate"))
                .count();
            (roles, changes)
        };
        let before = state(self);
        for event in forgeries(resource, physical_id) {
            let answer = self.forge(&event).await;
            let request = event.request_type();
            let expected = if request == "Delete" { "SUCCESS" } else { "FAILED" };
            assert_eq!(answer["Status"], expected, "{case}, {request}: {answer}");
            let reason = reason(&answer);
            assert!(
                reason.contains("could not confirm"),
                "{case}, {request}: {reason}"
            );
            let victim = resource.stack_id.split(':').nth(4).unwrap_or_default();
            assert!(
                !reason.contains(&format!("{victim}-ec2")) && !reason.contains(physical_id),
                "{case}, {request}: a Reason must not tell which registrations exist: {reason}"
            );
        }
        assert_eq!(state(self), before, "{case}: the appliance changed");
    }
}

pub fn reason(answer: &Value) -> &str {
    answer["Reason"].as_str().unwrap_or_default()
}
