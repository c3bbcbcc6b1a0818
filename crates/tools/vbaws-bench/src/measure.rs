//! Whole-process measurements of the functions, and a large rollout.

use std::{
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::json;
use vbaws_sim::{Config, Sim, User};
use vbaws_template::{Answer, Ledger};
use vbaws_testkit::{
    CONFIGURATOR_ROLE_ARN, Cloud, Completion, Deadline, Lambda, RuntimeApi, Sandbox, SecretsExtension,
    configurator_env,
    events::{ACCOUNT, Event, STACK_NAME, resource},
    member_stack,
};

use vbaws_demo::{World, world::ROLES_PARAMETERS};

use crate::{Error, Function};

/// One function's numbers.
#[derive(Debug, Default)]
pub struct FunctionFigures {
    pub cold_start_ms: Vec<f64>,
    pub warm_ms: Vec<f64>,
    /// From the invocation to the answer's arrival at the ResponseURL, within `warm_ms`.
    pub answered_ms: Vec<f64>,
    pub peak_rss_kib: Option<u64>,
}

impl FunctionFigures {
    pub fn cold_start_median(&self) -> f64 {
        percentile(&self.cold_start_ms, 50.0)
    }
    pub fn warm(&self, p: f64) -> f64 {
        percentile(&self.warm_ms, p)
    }
    pub fn answered(&self, p: f64) -> f64 {
        percentile(&self.answered_ms, p)
    }
}

pub fn percentile(samples: &[f64], p: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// The local pieces a configurator needs, without moto: the ResponseURL stand-in is in-process,
/// so warm latency measures the function, not a Python server. CloudFormation's part is played
/// through the STS and CloudFormation stand-in: each event is confirmed, as in AWS.
struct Rig {
    appliance: vbaws_sim::Running,
    extension: SecretsExtension,
    cloud: Cloud,
}

const PASSWORD: &str = "bench-password";

impl Rig {
    async fn start() -> Result<Self, Error> {
        let config = Config {
            users: vec![User::admin("bench", PASSWORD)],
            ..Config::default()
        };
        let appliance = vbaws_sim::spawn(Sim::new(config), "127.0.0.1:0".parse().map_err(Error::start)?)
            .await
            .map_err(Error::start)?;
        let extension = SecretsExtension::start("bench-token")
            .await
            .map_err(Error::start)?;
        extension.set_secret(
            "bench",
            &json!({"username": "bench", "password": PASSWORD}).to_string(),
        );
        let cloud = Cloud::start(&Ledger::default()).await.map_err(Error::start)?;
        member_stack(
            cloud.ledger(),
            ACCOUNT,
            "us-east-1",
            STACK_NAME,
            CONFIGURATOR_ROLE_ARN,
        );
        Ok(Self {
            appliance,
            extension,
            cloud,
        })
    }

    fn env(&self, function: Function) -> Vec<(&'static str, String)> {
        match function {
            Function::Configurator => {
                let mut env = configurator_env(
                    &self.appliance.url(),
                    &self.appliance.identity.fingerprint,
                    self.extension.port(),
                    "bench",
                    "bench-token",
                );
                env.extend(self.cloud.configurator_env());
                env
            }
            Function::RandomExtId => Vec::new(),
        }
    }

    fn event(function: Function, n: usize) -> Event {
        match function {
            Function::Configurator => resource("Custom::VeeamAwsConfigurator", "Registration").create(
                json!({"RoleName": "VeeamRole", "RoleExtId": "BenchExternalId0001", "Purpose": format!("bench-{n}")}),
            ),
            Function::RandomExtId => resource("Custom::RandomExtIdGenerator", "ExtId").create(json!({"Length": 32})),
        }
    }
}

/// Cold starts, warm latency and peak RSS of one function binary.
pub async fn measure_function(
    bin_dir: &Path,
    function: Function,
    cold_runs: usize,
    warm_events: usize,
) -> Result<FunctionFigures, Error> {
    let rig = Rig::start().await?;
    let env = rig.env(function);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let binary = bin_dir.join(function.binary());
    let mut figures = FunctionFigures::default();
    for _ in 0..cold_runs {
        let runtime = RuntimeApi::start().await.map_err(Error::start)?;
        let sandbox = Sandbox::start(&binary, &runtime, &env).map_err(Error::start)?;
        let first_poll = loop {
            if let Some(at) = runtime.first_poll() {
                break at;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        };
        figures
            .cold_start_ms
            .push((first_poll - sandbox.started).as_secs_f64() * 1000.0);
    }

    let lambda = Lambda::start(&binary, &env).await.map_err(Error::start)?;
    // The first event pays for the login and the secret: it is the cold one, not measured.
    for n in 0..=warm_events {
        let event = Rig::event(function, n);
        let ledger = rig.cloud.ledger();
        let started = Instant::now();
        ledger.sending(&event);
        let delivery = lambda
            .deliver(&event, Deadline::In(Duration::from_secs(30)))
            .await;
        if let Some(answer) = &delivery.answer {
            ledger.answered(&event, &Answer::from_json(&answer.json()));
        }
        if delivery.completion != Completion::Response("null".into()) {
            return Err(Error::Unanswered {
                function,
                event: n,
                completion: format!("{:?}", delivery.completion),
            });
        }
        if n > 0 {
            figures.warm_ms.push(started.elapsed().as_secs_f64() * 1000.0);
            if let Some(put) = &delivery.answer {
                figures
                    .answered_ms
                    .push((put.at.into_std() - started).as_secs_f64() * 1000.0);
            }
        }
    }
    figures.peak_rss_kib = lambda.sandbox.pid().and_then(peak_rss_kib);
    Ok(figures)
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A rollout of `accounts` stacks at `concurrency`.
#[derive(Debug)]
pub struct Rollout {
    pub accounts: usize,
    pub registrations: usize,
    pub events: u64,
    pub failed: u64,
    pub elapsed: Duration,
    pub appliance_requests: usize,
    pub logins: u64,
    /// The configurator's calls to confirm events: STS, CloudFormation.
    pub confirmation_calls: (usize, usize),
}

pub async fn rollout(
    bin_dir: &Path,
    template: Arc<vbaws_template::Template>,
    accounts: usize,
    concurrency: usize,
    sandboxes: usize,
) -> Result<Rollout, Error> {
    let world = Arc::new(World::start(bin_dir, sandboxes).await?);
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..accounts {
        let mut stack = world.member_stack(
            Arc::clone(&template),
            &format!("{:012}", 310_000_000_000_u64 + n as u64),
            &ROLES_PARAMETERS,
        );
        let (world, permits) = (Arc::clone(&world), Arc::clone(&permits));
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.map_err(Error::start)?;
            stack
                .create(world.as_ref())
                .await
                .map(drop)
                .map_err(|e| Error::Demo(e.into()))
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.map_err(Error::start)??;
    }
    let elapsed = started.elapsed();
    let registrations = world.appliance.sim.registrations().len();
    Ok(Rollout {
        accounts,
        registrations,
        events: world.events.load(std::sync::atomic::Ordering::Relaxed),
        failed: world.failed.load(std::sync::atomic::Ordering::Relaxed),
        elapsed,
        appliance_requests: world.appliance.sim.requests().len(),
        logins: world.appliance.sim.logins(),
        confirmation_calls: {
            let calls = world.cloud.calls();
            let sts = calls.iter().filter(|c| *c == "AssumeRole").count();
            (sts, calls.len() - sts)
        },
    })
}
