//! Everything CloudFormation and the backup account would provide, on 127.0.0.1: the appliance
//! (simulated, over TLS), the Parameters and Secrets extension's interface, S3 for the pre-signed
//! ResponseURLs and the Organization (moto's server), STS and CloudFormation as they answer about
//! the stacks the player plays (the configurator confirms each event with them), and the two real
//! function binaries behind the Lambda Runtime API, one process per sandbox.

use std::{
    path::{Path, PathBuf},
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use aws_sdk_s3::{
    config::{BehaviorVersion, Credentials, Region},
    presigning::PresigningConfig,
};
use std::sync::Arc;

use serde_json::{Value, json};
use vbaws_sim::{Config, Running, Sim, User};
use vbaws_template::{Answer, Deliver, DeliveryError, Ledger, Stack, Template, event::Event};
use vbaws_testkit::{
    CONFIGURATOR_ROLE_ARN, Cloud, Completion, Deadline, Moto, RuntimeApi, Sandbox, SecretsExtension,
    configurator_env,
    organization::{Organization, sdk_config},
};

use crate::DemoError;

/// The Region of the backup account and the member stacks.
pub const REGION: &str = "us-east-1";
pub const RANDOM_EXT_ID_ARN: &str = "arn:aws:lambda:us-east-1:111111111111:function:vbaws-random-ext-id";
pub const CONFIGURATOR_ARN: &str = "arn:aws:lambda:us-east-1:111111111111:function:vbaws-veeam-configurator";
/// The roles StackSet's parameters, as the Lambdas stack's outputs give them.
pub const ROLES_PARAMETERS: [(&str, &str); 5] = [
    ("HomeRegion", "us-east-1"),
    (
        "VeeamApplianceRoleArn",
        "arn:aws:iam::111111111111:role/VeeamBackupInstance",
    ),
    ("RandomExtIdFunctionArn", RANDOM_EXT_ID_ARN),
    ("VeeamConfiguratorFunctionArn", CONFIGURATOR_ARN),
    ("ConfiguratorRoleArn", CONFIGURATOR_ROLE_ARN),
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
    extension: SecretsExtension,
    /// STS and CloudFormation, answering about the member stacks from its ledger.
    pub cloud: Cloud,
    pub moto: Moto,
    /// The AWS Organization, in moto: the management account's view.
    pub organization: Organization,
    s3: aws_sdk_s3::Client,
    ext_id: RuntimeApi,
    /// The configurator's current deployment: its Runtime API, which its sandboxes poll.
    configurator: Mutex<Arc<RuntimeApi>>,
    bin_dir: PathBuf,
    sandboxes: Mutex<Vec<Sandbox>>,
    /// What the sandboxes of earlier deployments printed.
    retired_output: Mutex<String>,
    /// How many configurator sandboxes a deployment runs.
    configurator_sandboxes: usize,
    pub events: AtomicU64,
    pub failed: AtomicU64,
    /// FAILED answers a story provoked on purpose (an appliance made to fail).
    pub provoked: AtomicU64,
    pub unanswered: AtomicU64,
}

impl World {
    /// Starts everything; `bin_dir` holds the `random-ext-id` and `veeam-configurator` binaries.
    /// The configurator confirms every event (`EVENT_CONFIRMATION=Enforce`).
    pub async fn start(bin_dir: &Path, configurator_sandboxes: usize) -> Result<Self, DemoError> {
        let BackupAccount {
            appliance,
            extension,
            cloud,
        } = backup_account(Sim::new(appliance_config())).await?;
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
        let configurator = Arc::new(RuntimeApi::start().await.map_err(DemoError::start)?);
        let moto_host = moto.endpoint().trim_start_matches("http://").to_owned();
        let sandboxes = vec![
            Sandbox::start(
                &bin_dir.join("random-ext-id"),
                &ext_id,
                &[("RESPONSE_URL_ALLOWED_HOSTS", &moto_host)],
            )
            .map_err(DemoError::start)?,
        ];
        let world = Self {
            appliance,
            extension,
            cloud,
            moto,
            organization,
            s3,
            ext_id,
            configurator: Mutex::new(configurator),
            bin_dir: bin_dir.to_owned(),
            sandboxes: Mutex::new(sandboxes),
            retired_output: Mutex::default(),
            configurator_sandboxes,
            events: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            provoked: AtomicU64::new(0),
            unanswered: AtomicU64::new(0),
        };
        world.deploy_configurator("Enforce").await?;
        Ok(world)
    }

    /// Deploys the configurator anew with `EVENT_CONFIRMATION=mode`, as an update of the Lambdas
    /// stack does: new sandboxes take the next events, the old ones end. Call it between
    /// stack operations, never during one.
    pub async fn deploy_configurator(&self, mode: &str) -> Result<(), DemoError> {
        // A Runtime API of its own: a stopped sandbox's pending poll must not swallow an event.
        let runtime = Arc::new(RuntimeApi::start().await.map_err(DemoError::start)?);
        let moto_host = self.moto.endpoint().trim_start_matches("http://").to_owned();
        let mut env = configurator_sandbox_env(&self.appliance, &self.extension, &self.cloud, moto_host);
        env.push(("EVENT_CONFIRMATION", mode.to_owned()));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut sandboxes = self.sandboxes.lock().unwrap_or_else(PoisonError::into_inner);
        let mut fresh = Vec::with_capacity(self.configurator_sandboxes);
        for _ in 0..self.configurator_sandboxes {
            fresh.push(
                Sandbox::start(&self.bin_dir.join("veeam-configurator"), &runtime, &env)
                    .map_err(DemoError::start)?,
            );
        }
        *self.configurator.lock().unwrap_or_else(PoisonError::into_inner) = runtime;
        // The first sandbox is random-ext-id's; the configurator's are replaced.
        let retired: String = sandboxes.drain(1..).map(|s| s.output()).collect();
        self.retired_output
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_str(&retired);
        sandboxes.extend(fresh);
        Ok(())
    }

    /// A member account's stack instance of the roles StackSet, recorded in this world's
    /// CloudFormation ledger.
    pub fn member_stack(&self, template: Arc<Template>, account: &str, parameters: &[(&str, &str)]) -> Stack {
        member_stack(template, account, parameters, self.cloud.ledger())
    }

    /// Invokes the function behind `service_token` with `event`, as CloudFormation does: a
    /// pre-signed PUT URL of the response bucket, then the answer read back from the bucket.
    pub async fn invoke(&self, service_token: &str, event: &Event) -> Result<Value, DemoError> {
        let answer = self.invoke_uncounted(service_token, event).await;
        self.events.fetch_add(1, Ordering::Relaxed);
        match &answer {
            Err(DemoError::Unanswered(_)) => {
                self.unanswered.fetch_add(1, Ordering::Relaxed);
            }
            Ok(answer) if answer["Status"] != "SUCCESS" => {
                self.failed.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
        answer
    }

    /// The same, for an event CloudFormation did not send (a forgery): not counted among the
    /// rollout's events.
    pub async fn invoke_uncounted(&self, service_token: &str, event: &Event) -> Result<Value, DemoError> {
        let configurator = Arc::clone(&self.configurator.lock().unwrap_or_else(PoisonError::into_inner));
        let runtime = match service_token {
            RANDOM_EXT_ID_ARN => &self.ext_id,
            CONFIGURATOR_ARN => configurator.as_ref(),
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
        let completion = runtime
            .invoke(
                &event.to_json(presigned.uri()),
                Deadline::In(Duration::from_secs(60)),
                Duration::from_secs(10),
            )
            .await;
        if matches!(completion, Completion::NoAnswer) {
            return Err(DemoError::Unanswered(key));
        }
        let object = self.s3.get_object().bucket(BUCKET).key(&key).send().await;
        let Ok(object) = object else {
            return Err(DemoError::Unanswered(key));
        };
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| DemoError::aws("GetObject", e))?
            .into_bytes();
        serde_json::from_slice(&bytes).map_err(|problem| DemoError::AnswerNotJson { key, problem })
    }

    /// Everything the function processes printed, those of earlier deployments included.
    pub fn function_output(&self) -> String {
        let running: String = self
            .sandboxes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(Sandbox::output)
            .collect();
        self.retired_output
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            + &running
    }

    /// How many times the functions counted `metric` (each an Embedded Metric Format line).
    pub fn metric_count(&self, metric: &str) -> usize {
        self.function_output()
            .lines()
            .filter(|line| line.contains("\"_aws\"") && line.contains(&format!("\"{metric}\":1")))
            .count()
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

/// What the backup account gives the configurator, and the AWS it asks.
pub(crate) struct BackupAccount {
    /// `sim`, served over TLS.
    pub appliance: Running,
    /// The Parameters and Secrets extension, holding the appliance user's secret.
    pub extension: SecretsExtension,
    /// STS and CloudFormation, answering from their ledger of the member stacks.
    pub cloud: Cloud,
}

pub(crate) async fn backup_account(sim: Sim) -> Result<BackupAccount, DemoError> {
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
    let cloud = Cloud::start(&Ledger::default()).await.map_err(DemoError::start)?;
    Ok(BackupAccount {
        appliance,
        extension,
        cloud,
    })
}

/// The environment of a configurator sandbox in this world, answering to `allowed_host`,
/// confirming each event with `cloud` (enforced).
pub(crate) fn configurator_sandbox_env(
    appliance: &Running,
    extension: &SecretsExtension,
    cloud: &Cloud,
    allowed_host: String,
) -> Vec<(&'static str, String)> {
    let mut env = configurator_env(
        &appliance.url(),
        &appliance.identity.fingerprint,
        extension.port(),
        SECRET_ID,
        SESSION_TOKEN,
    );
    env.extend(cloud.configurator_env());
    env.push(("RESPONSE_URL_ALLOWED_HOSTS", allowed_host));
    env
}

/// A member account's stack instance of the roles StackSet, recorded in `ledger`.
pub fn member_stack(
    template: Arc<Template>,
    account: &str,
    parameters: &[(&str, &str)],
    ledger: &Ledger,
) -> Stack {
    Stack::new(
        template,
        account,
        "us-east-1",
        "StackSet-vbaws-veeam-roles-5b3a7c10",
        parameters,
    )
    .in_ledger(ledger)
    .with_ssm_parameters(crate::workers::published_network(account))
}

fn s3_client(endpoint: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(vbaws_sdk::https_client())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "demo"))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}
