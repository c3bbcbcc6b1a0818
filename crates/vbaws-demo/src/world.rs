//! Everything CloudFormation and the backup account would provide, on 127.0.0.1: the appliance
//! (simulated, over TLS), the Parameters and Secrets extension's interface, S3 for the pre-signed
//! ResponseURLs and the Organization (moto's server), and the two real function binaries behind
//! the Lambda Runtime API, one process per sandbox.

use std::{
    path::Path,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use aws_sdk_s3::{
    config::{BehaviorVersion, Credentials, Region},
    presigning::PresigningConfig,
};
use std::sync::Arc;

use serde_json::{Value, json};
use vbaws_sim::{Config, Running, Sim, User};
use vbaws_template::{Answer, Deliver, DeliveryError, Stack, Template, event::Event};
use vbaws_testkit::{
    Completion, Deadline, Moto, RuntimeApi, Sandbox, SecretsExtension, configurator_env,
    organization::{Organization, sdk_config},
};

use crate::DemoError;

pub const RANDOM_EXT_ID_ARN: &str = "arn:aws:lambda:us-east-1:111111111111:function:vbaws-random-ext-id";
pub const CONFIGURATOR_ARN: &str = "arn:aws:lambda:us-east-1:111111111111:function:vbaws-veeam-configurator";
/// The roles StackSet's parameters, as the Lambdas stack's outputs give them.
pub const ROLES_PARAMETERS: [(&str, &str); 4] = [
    ("HomeRegion", "us-east-1"),
    (
        "VeeamApplianceRoleArn",
        "arn:aws:iam::111111111111:role/VeeamBackupInstance",
    ),
    ("RandomExtIdFunctionArn", RANDOM_EXT_ID_ARN),
    ("VeeamConfiguratorFunctionArn", CONFIGURATOR_ARN),
];
const BUCKET: &str = "cloudformation-custom-resource-response-useast1";
const SECRET_ID: &str = "vbaws/veeam-appliance-user";
/// The appliance user the functions log in as, and its password (the generated secret's).
pub const APPLIANCE_USER: (&str, &str) = ("vbaws-automation", "demo-password-from-the-generated-secret");
const SESSION_TOKEN: &str = "demo-session-token";

/// The running pieces.
#[derive(Debug)]
pub struct World {
    pub appliance: Running,
    _extension: SecretsExtension,
    pub moto: Moto,
    /// The AWS Organization, in moto: the management account's view.
    pub organization: Organization,
    s3: aws_sdk_s3::Client,
    ext_id: RuntimeApi,
    configurator: RuntimeApi,
    sandboxes: Vec<Sandbox>,
    pub events: AtomicU64,
    pub failed: AtomicU64,
    pub unanswered: AtomicU64,
}

impl World {
    /// Starts everything; `bin_dir` holds the `random-ext-id` and `veeam-configurator` binaries.
    pub async fn start(bin_dir: &Path, configurator_sandboxes: usize) -> Result<Self, DemoError> {
        let (appliance, extension) = backup_account(Sim::new(appliance_config())).await?;
        let moto = Moto::start().await.map_err(DemoError::start)?;
        let s3 = s3_client(&moto.endpoint());
        s3.create_bucket()
            .bucket(BUCKET)
            .send()
            .await
            .map_err(|e| DemoError::aws("CreateBucket", e))?;
        let organization = Organization::create(&sdk_config(&moto).await)
            .await
            .map_err(|e| DemoError::aws("CreateOrganization", e))?;

        let ext_id = RuntimeApi::start().await.map_err(DemoError::start)?;
        let configurator = RuntimeApi::start().await.map_err(DemoError::start)?;
        let moto_host = moto.endpoint().trim_start_matches("http://").to_owned();
        let mut sandboxes = vec![
            Sandbox::start(
                &bin_dir.join("random-ext-id"),
                &ext_id,
                &[("RESPONSE_URL_ALLOWED_HOSTS", &moto_host)],
            )
            .map_err(DemoError::start)?,
        ];
        let env = configurator_sandbox_env(&appliance, &extension, moto_host);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        for _ in 0..configurator_sandboxes {
            sandboxes.push(
                Sandbox::start(&bin_dir.join("veeam-configurator"), &configurator, &env)
                    .map_err(DemoError::start)?,
            );
        }
        Ok(Self {
            appliance,
            _extension: extension,
            moto,
            organization,
            s3,
            ext_id,
            configurator,
            sandboxes,
            events: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            unanswered: AtomicU64::new(0),
        })
    }

    /// Invokes the function behind `service_token` with `event`, as CloudFormation does: a
    /// pre-signed PUT URL of the response bucket, then the answer read back from the bucket.
    pub async fn invoke(&self, service_token: &str, event: &Event) -> Result<Value, DemoError> {
        let runtime = match service_token {
            RANDOM_EXT_ID_ARN => &self.ext_id,
            CONFIGURATOR_ARN => &self.configurator,
            other => return Err(DemoError::UnknownFunction(other.to_owned())),
        };
        let key = format!(
            "{}|{}|{}",
            event.stack_id(),
            event.logical_resource_id(),
            event.request_id()
        );
        let expiry = PresigningConfig::expires_in(Duration::from_secs(7200))
            .map_err(|e| DemoError::aws("presigning", e))?;
        let presigned = self
            .s3
            .put_object()
            .bucket(BUCKET)
            .key(&key)
            .presigned(expiry)
            .await
            .map_err(|e| DemoError::aws("PutObject presigning", e))?;
        self.events.fetch_add(1, Ordering::Relaxed);
        let completion = runtime
            .invoke(
                &event.to_json(presigned.uri()),
                Deadline::In(Duration::from_secs(60)),
                Duration::from_secs(10),
            )
            .await;
        if matches!(completion, Completion::NoAnswer) {
            self.unanswered.fetch_add(1, Ordering::Relaxed);
            return Err(DemoError::Unanswered(key));
        }
        let object = self.s3.get_object().bucket(BUCKET).key(&key).send().await;
        let Ok(object) = object else {
            self.unanswered.fetch_add(1, Ordering::Relaxed);
            return Err(DemoError::Unanswered(key));
        };
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| DemoError::aws("GetObject", e))?
            .into_bytes();
        let answer: Value =
            serde_json::from_slice(&bytes).map_err(|problem| DemoError::AnswerNotJson { key, problem })?;
        if answer["Status"] != "SUCCESS" {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        Ok(answer)
    }

    /// Everything the function processes printed.
    pub fn function_output(&self) -> String {
        self.sandboxes.iter().map(Sandbox::output).collect()
    }
}

impl Deliver for World {
    async fn deliver(&self, service_token: &str, event: Event) -> Result<Answer, DeliveryError> {
        let answer = self.invoke(service_token, &event).await?;
        Ok(Answer::from_json(&answer))
    }
}

/// The appliance's configuration: one Portal Administrator, the functions' user.
pub(crate) fn appliance_config() -> Config {
    let (user, password) = APPLIANCE_USER;
    Config {
        users: vec![User::admin(user, password)],
        ..Config::default()
    }
}

/// What the backup account gives the configurator: `sim` served over TLS, and the Parameters
/// and Secrets extension holding the appliance user's secret.
pub(crate) async fn backup_account(sim: Sim) -> Result<(Running, SecretsExtension), DemoError> {
    let (user, password) = APPLIANCE_USER;
    let appliance = vbaws_sim::spawn(sim, "127.0.0.1:0".parse().map_err(DemoError::start)?)
        .await
        .map_err(DemoError::start)?;
    let extension = SecretsExtension::start(SESSION_TOKEN)
        .await
        .map_err(DemoError::start)?;
    extension.set_secret(
        SECRET_ID,
        &json!({"username": user, "password": password}).to_string(),
    );
    Ok((appliance, extension))
}

/// The environment of a configurator sandbox in this world, answering to `allowed_host`.
pub(crate) fn configurator_sandbox_env(
    appliance: &Running,
    extension: &SecretsExtension,
    allowed_host: String,
) -> Vec<(&'static str, String)> {
    let mut env = configurator_env(
        &appliance.url(),
        &appliance.identity.fingerprint,
        extension.port(),
        SECRET_ID,
        SESSION_TOKEN,
    );
    env.push(("RESPONSE_URL_ALLOWED_HOSTS", allowed_host));
    env
}

/// A member account's stack instance of the roles StackSet.
pub fn member_stack(template: Arc<Template>, account: &str, parameters: &[(&str, &str)]) -> Stack {
    Stack::new(
        template,
        account,
        "us-east-1",
        "StackSet-vbaws-veeam-roles-5b3a7c10",
        parameters,
    )
}

fn s3_client(endpoint: &str) -> aws_sdk_s3::Client {
    use aws_smithy_http_client::{Builder, tls};
    let http = Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
        .build_https();
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http)
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "demo"))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}
