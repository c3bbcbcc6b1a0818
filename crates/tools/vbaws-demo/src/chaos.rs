//! A rollout under fire: the appliance answers a share of requests with 503, drops or never
//! answers some, logs in slowly and cannot assume a new role until IAM has propagated it; the
//! ResponseURL bucket answers a share of PUTs with 503; and now and then a configurator sandbox
//! dies in the middle of an event, after which the same event (same RequestId, same
//! ResponseURL) is delivered again, as Lambda retries an asynchronous invocation.
//!
//! The stacks are played by the template player against the real function binaries, through
//! the Lambda Runtime API stand-in; answers land in the testkit's bucket, which records every
//! PUT, so two answers to one event can be compared.

use std::{
    collections::BTreeMap,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use serde_json::Value;
use tokio::{sync::Semaphore, time::Instant};
use vbaws_sim::{Chaos, Faults, Running, Sim};
use vbaws_template::{Answer, Deliver, DeliveryError, Template, event::Event};
use vbaws_testkit::{Cloud, Completion, Deadline, ResponseBucket, RuntimeApi, Sandbox, SecretsExtension};

use crate::{
    DemoError, member_stack,
    world::{
        BackupAccount, CONFIGURATOR_ARN, RANDOM_EXT_ID_ARN, ROLES_PARAMETERS, appliance_config,
        backup_account, configurator_sandbox_env,
    },
};

/// The roles' ServiceTimeout: a stack waits this long for an answer.
const SERVICE_TIMEOUT: Duration = Duration::from_secs(600);
/// The Lambdas stack's timeouts of the two functions.
const CONFIGURATOR_TIMEOUT: Duration = Duration::from_secs(300);
const EXT_ID_TIMEOUT: Duration = Duration::from_secs(30);

/// How big the rollout is, and how hostile its world.
#[derive(Debug, Clone)]
pub struct ChaosPlan {
    pub accounts: usize,
    /// Stacks in flight at once.
    pub concurrency: usize,
    /// Configurator sandboxes (processes).
    pub sandboxes: usize,
    /// The appliance's fault rates, login latency and IAM propagation (its seed seeds all).
    pub appliance: Chaos,
    /// Added to every appliance answer.
    pub request_latency: Duration,
    /// Share of ResponseURL PUTs answered 503.
    pub s3_unavailable: f64,
    /// Kill a configurator sandbox mid-event once every this many configurator events (0: never).
    pub kill_every: u64,
    pub bin_dir: PathBuf,
}

impl ChaosPlan {
    /// The mix of issue 17: 5% 503s, 1% dropped connections, 0.2% hangs, 200 ms per appliance
    /// request, 2 s logins, 8 s IAM propagation, 2% S3 503s; a sandbox per stack in flight, as
    /// Lambda would run them; one sandbox killed every `kill_every` configurator events.
    pub fn under_fire(
        accounts: usize,
        concurrency: usize,
        kill_every: u64,
        seed: u64,
        bin_dir: PathBuf,
    ) -> Self {
        Self {
            accounts,
            concurrency,
            sandboxes: concurrency,
            appliance: Chaos {
                seed,
                unavailable: 0.05,
                drop: 0.01,
                hang: 0.002,
                login_latency: Duration::from_secs(2),
                propagation: Duration::from_secs(8),
            },
            request_latency: Duration::from_millis(200),
            s3_unavailable: 0.02,
            kill_every,
            bin_dir,
        }
    }
}

/// What happened, and what must not have.
#[derive(Debug, Default)]
pub struct ChaosReport {
    pub accounts: usize,
    pub registrations: usize,
    pub events: u64,
    /// Events answered FAILED (the stack's creation failed and was rolled back).
    pub failed: u64,
    /// Events no answer arrived for (the stack would wait its ServiceTimeout).
    pub unanswered: u64,
    /// Events answered, but after the ServiceTimeout.
    pub late: u64,
    pub kills: u64,
    /// Roles registered more than once.
    pub duplicates: usize,
    /// Events whose two answers (before and after a kill) disagree.
    pub disagreements: Vec<String>,
    pub appliance_requests: usize,
    /// The configurator's calls to confirm events: STS, CloudFormation.
    pub confirmation_calls: (usize, usize),
    pub s3_refusals: usize,
    /// Each stack's creation time.
    pub stack_times: Vec<Duration>,
    pub elapsed: Duration,
    /// The FAILED answers' Reasons, as an operator reads them.
    pub reasons: Vec<String>,
}

impl ChaosReport {
    /// Appliance requests beyond one per registration, per registration.
    pub fn extra_requests_per_registration(&self) -> f64 {
        self.appliance_requests as f64 / self.registrations.max(1) as f64 - 1.0
    }
}

/// The hostile world.
struct World {
    appliance: Running,
    _extension: SecretsExtension,
    cloud: Cloud,
    bucket: ResponseBucket,
    ext_id: RuntimeApi,
    configurator: RuntimeApi,
    _sandboxes: Vec<Sandbox>,
    env: Vec<(&'static str, String)>,
    plan: ChaosPlan,
    events: AtomicU64,
    configurator_events: AtomicU64,
    kills: AtomicU64,
    failed: AtomicU64,
    unanswered: AtomicU64,
    late: AtomicU64,
    reasons: std::sync::Mutex<Vec<String>>,
}

impl World {
    async fn start(plan: &ChaosPlan) -> Result<Self, DemoError> {
        let sim = Sim::new(appliance_config());
        sim.set_chaos(plan.appliance.clone());
        sim.set_faults(Faults {
            latency: plan.request_latency,
            ..Faults::default()
        });
        let BackupAccount {
            appliance,
            extension,
            cloud,
        } = backup_account(sim).await?;
        let bucket = ResponseBucket::start().await.map_err(DemoError::start)?;
        bucket.answer_503_share(plan.s3_unavailable, plan.appliance.seed);
        let ext_id = RuntimeApi::start().await.map_err(DemoError::start)?;
        let configurator = RuntimeApi::start().await.map_err(DemoError::start)?;
        let env = configurator_sandbox_env(&appliance, &extension, &cloud, bucket.host());
        let allowed = [("RESPONSE_URL_ALLOWED_HOSTS", bucket.host())];
        let mut sandboxes = vec![
            Sandbox::start(&plan.bin_dir.join("random-ext-id"), &ext_id, &pairs(&allowed))
                .map_err(DemoError::start)?,
        ];
        for _ in 0..plan.sandboxes {
            sandboxes.push(
                Sandbox::start(
                    &plan.bin_dir.join("veeam-configurator"),
                    &configurator,
                    &pairs(&env),
                )
                .map_err(DemoError::start)?,
            );
        }
        Ok(Self {
            appliance,
            _extension: extension,
            cloud,
            bucket,
            ext_id,
            configurator,
            _sandboxes: sandboxes,
            env,
            plan: plan.clone(),
            events: AtomicU64::new(0),
            configurator_events: AtomicU64::new(0),
            kills: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            unanswered: AtomicU64::new(0),
            late: AtomicU64::new(0),
            reasons: std::sync::Mutex::default(),
        })
    }

    /// A sandbox of its own gets the event and is killed a moment later, mid-event (or just
    /// after it answered, which Lambda's retry may also follow).
    async fn kill_mid_event(&self, event: &Value, n: u64) -> Result<(), DeliveryError> {
        let runtime = RuntimeApi::start().await?;
        let victim = Sandbox::start(
            &self.plan.bin_dir.join("veeam-configurator"),
            &runtime,
            &pairs(&self.env),
        )?;
        // A spread of moments, from before its first request to well into its work.
        let moment = Duration::from_millis(50 + (n * 97) % 1500);
        tokio::select! {
            _ = runtime.invoke(event, Deadline::In(CONFIGURATOR_TIMEOUT), Duration::ZERO) => {}
            () = tokio::time::sleep(moment) => {}
        }
        drop(victim);
        self.kills.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

fn pairs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

impl Deliver for World {
    async fn deliver(&self, service_token: &str, event: Event) -> Result<Answer, DeliveryError> {
        let (runtime, timeout) = match service_token {
            RANDOM_EXT_ID_ARN => (&self.ext_id, EXT_ID_TIMEOUT),
            CONFIGURATOR_ARN => (&self.configurator, CONFIGURATOR_TIMEOUT),
            other => return Err(format!("no function has the ServiceToken {other}").into()),
        };
        self.events.fetch_add(1, Ordering::Relaxed);
        let key = format!("{}-{}", event.logical_resource_id(), event.request_id());
        let json = event.to_json(&self.bucket.url(&key));
        let sent = Instant::now();
        if service_token == CONFIGURATOR_ARN && self.plan.kill_every > 0 {
            let n = self.configurator_events.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_multiple_of(self.plan.kill_every) {
                self.kill_mid_event(&json, n).await?;
            }
        }
        let completion = runtime
            .invoke(&json, Deadline::In(timeout), Duration::from_secs(5))
            .await;
        let put = match completion {
            Completion::NoAnswer => None,
            _ => self.bucket.delivered(&key, Duration::from_secs(5)).await,
        };
        let Some(put) = put else {
            self.unanswered.fetch_add(1, Ordering::Relaxed);
            return Err(format!("no answer for {key}").into());
        };
        if put.at.duration_since(sent) > SERVICE_TIMEOUT {
            self.late.fetch_add(1, Ordering::Relaxed);
        }
        let answer = Answer::from_json(&put.json());
        if !answer.success {
            self.failed.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut reasons) = self.reasons.lock() {
                reasons.push(answer.reason.clone());
            }
        }
        Ok(answer)
    }
}

/// Rolls the roles out to `plan.accounts` accounts in the hostile world.
pub async fn run(template: Arc<Template>, plan: &ChaosPlan) -> Result<ChaosReport, DemoError> {
    let world = Arc::new(World::start(plan).await?);
    let started = Instant::now();
    let permits = Arc::new(Semaphore::new(plan.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..plan.accounts {
        let (world, permits, template) = (Arc::clone(&world), Arc::clone(&permits), Arc::clone(&template));
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.map_err(DemoError::start)?;
            let account = format!("{:012}", 410_000_000_000_u64 + n as u64);
            let mut stack = member_stack(template, &account, &ROLES_PARAMETERS, world.cloud.ledger());
            let began = Instant::now();
            // A FAILED answer rolls the stack back; it is counted, not fatal here.
            let _ = stack.create(world.as_ref()).await;
            Ok::<_, DemoError>(began.elapsed())
        });
    }
    let mut stack_times = Vec::with_capacity(plan.accounts);
    while let Some(result) = tasks.join_next().await {
        stack_times.push(result.map_err(DemoError::start)??);
    }
    let elapsed = started.elapsed();
    Ok(report(&world, plan, stack_times, elapsed))
}

fn report(world: &World, plan: &ChaosPlan, stack_times: Vec<Duration>, elapsed: Duration) -> ChaosReport {
    let roles = world.appliance.sim.registrations();
    let mut per_role: BTreeMap<(String, String), usize> = BTreeMap::new();
    for role in &roles {
        *per_role
            .entry((role.account_id.clone(), role.role_name.clone()))
            .or_default() += 1;
    }
    let puts = world.bucket.all_puts();
    let mut answers: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for put in puts.iter().filter(|p| (200..300).contains(&p.status)) {
        answers.entry(put.path.clone()).or_default().push(put.json());
    }
    let disagreements = answers
        .iter()
        .filter(|(_, bodies)| {
            bodies.windows(2).any(|pair| {
                ["Status", "PhysicalResourceId", "Data"]
                    .iter()
                    .any(|field| pair[0][*field] != pair[1][*field])
            })
        })
        .map(|(path, bodies)| format!("{path}: {bodies:?}"))
        .collect();
    ChaosReport {
        accounts: plan.accounts,
        registrations: roles.len(),
        events: world.events.load(Ordering::Relaxed),
        failed: world.failed.load(Ordering::Relaxed),
        unanswered: world.unanswered.load(Ordering::Relaxed),
        late: world.late.load(Ordering::Relaxed),
        kills: world.kills.load(Ordering::Relaxed),
        duplicates: per_role.values().filter(|n| **n > 1).count(),
        disagreements,
        appliance_requests: world.appliance.sim.requests().len(),
        confirmation_calls: {
            let calls = world.cloud.calls();
            let sts = calls.iter().filter(|c| *c == "AssumeRole").count();
            (sts, calls.len() - sts)
        },
        s3_refusals: puts.iter().filter(|p| p.status == 503).count(),
        stack_times,
        elapsed,
        reasons: world.reasons.lock().map(|r| r.clone()).unwrap_or_default(),
    }
}
