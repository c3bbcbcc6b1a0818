//! The story: an OU rolled out, accounts joining and leaving, external IDs rotated; then every
//! registration in the appliance checked against what the stacks say.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::{Mutex, Semaphore};
use vbaws_template::Template;

use crate::{
    DemoError, Stack, World,
    world::{APPLIANCE_USER, ROLES_PARAMETERS},
};

/// Which story the demo tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Story {
    /// An OU rolled out, accounts joining and leaving, external IDs rotated.
    #[default]
    Rollout,
    /// An OU onboarded by the VeeamHub Python solution, taken over by this project.
    Migrate,
    /// Event confirmation turned on in a running Organization, in the safe order; then a
    /// member account's forged events change nothing.
    Confirm,
    /// The second day: a release deployed again, a new release, a deploy with fewer
    /// variables, and a failed StackSet update rolled back, with the project's own commands.
    Upgrade,
}

/// How big the story is.
#[derive(Debug, Clone)]
pub struct Plan {
    pub story: Story,
    pub accounts: usize,
    pub joiners: usize,
    pub leavers: usize,
    /// Stacks in flight at once, as a StackSet's MaxConcurrentCount.
    pub concurrency: usize,
    /// The OU's account IDs, instead of made-up ones.
    pub account_ids: Option<Vec<String>>,
    /// Stop after the first rollout (no joins, departures or rotation).
    pub rollout_only: bool,
    /// Accounts closed at the end, whose orphaned registrations the reconciler then removes.
    pub closures: usize,
    /// The roles template's `Services`. With more than one, the last is added to the running
    /// OU by an update, after the rollout of the others; with three or more, the second is then
    /// removed by another.
    pub services: Vec<String>,
    /// Each account's production worker configuration registered too (`WorkerNetwork:
    /// Parameters`, from the network each account publishes).
    pub workers: bool,
    /// Where `vbaws-reconcile` is.
    pub bin_dir: std::path::PathBuf,
    /// The roles template's file, for `vbaws-reconcile`.
    pub template_path: std::path::PathBuf,
}

/// What happened.
#[derive(Debug, Default)]
pub struct Report {
    pub accounts: usize,
    pub registered: usize,
    pub events: u64,
    pub failed: u64,
    /// FAILED answers the story provoked on purpose.
    pub provoked: u64,
    pub unanswered: u64,
    /// Production worker configurations in the appliance (read back from it).
    pub worker_configurations: usize,
    pub appliance_requests: usize,
    pub logins: u64,
    /// Events the configurator could not confirm with CloudFormation (forgeries included).
    pub unconfirmed: usize,
    /// The calls the configurator made to confirm events: STS, CloudFormation.
    pub confirmation_calls: (usize, usize),
    pub elapsed: Duration,
    pub problems: Vec<String>,
    /// Each account's AWS resources, as CloudFormation would have created them.
    pub aws_resources: BTreeMap<String, Vec<(String, String, serde_json::Value)>>,
}

pub(crate) fn account(n: usize) -> String {
    format!("{:012}", 210_000_000_000 + n)
}

pub async fn run(world: Arc<World>, template: Arc<Template>, plan: &Plan) -> Result<Report, DemoError> {
    let started = Instant::now();
    match plan.story {
        Story::Migrate => return migrate(world, template, plan, started).await,
        Story::Confirm => return crate::confirm::run(world, template, plan, started).await,
        Story::Upgrade => return crate::upgrade::run(world, plan, started).await,
        Story::Rollout => {}
    }
    let stacks: Arc<Mutex<BTreeMap<String, Stack>>> = Arc::default();
    // Without rollout_only, the last of several services is added later, to the running OU.
    let (first, added) = match plan.services.split_last() {
        Some((last, rest)) if !rest.is_empty() && !plan.rollout_only => (rest.to_vec(), Some(last.clone())),
        _ => (plan.services.clone(), None),
    };
    let mut services = first.join(",");
    let new_stack = |id: &str, services: &str| {
        let mut parameters = ROLES_PARAMETERS.to_vec();
        parameters.push(("Services", services));
        if plan.workers {
            parameters.push(("WorkerNetwork", "Parameters"));
        }
        world.member_stack(Arc::clone(&template), id, &parameters)
    };
    let org = &world.organization;
    let ou = org
        .ou(&org.root, "Workloads")
        .await
        .map_err(|e| DemoError::aws("CreateOrganizationalUnit", e))?;
    let members = match &plan.account_ids {
        Some(ids) => ids.clone(),
        None => create_accounts(&world, &ou, 0..plan.accounts).await?,
    };
    let mut chapter = Chapters::default();

    chapter.say(&format!(
        "The StackSet ({services}) rolls out to an OU of {} accounts, {} at a time",
        members.len(),
        plan.concurrency
    ));
    let initial: Vec<Stack> = members.iter().map(|id| new_stack(id, &services)).collect();
    fan_out(&world, &stacks, initial, plan.concurrency, Action::Create).await?;
    if plan.rollout_only {
        return Ok(finish(&world, &*stacks.lock().await, &[], started));
    }

    if let Some(added) = added {
        services = plan.services.join(",");
        chapter.say(&format!(
            "update-stack-set adds {added}: each account gets its {added} role, external ID and registration"
        ));
        let current: Vec<Stack> = std::mem::take(&mut *stacks.lock().await).into_values().collect();
        let update = Action::Update(vec![("Services".to_owned(), services.clone())]);
        fan_out(&world, &stacks, current, plan.concurrency, update).await?;
    }
    if let [_, removed, _, ..] = plan.services.as_slice() {
        services = plan
            .services
            .iter()
            .filter(|s| *s != removed)
            .cloned()
            .collect::<Vec<_>>()
            .join(",");
        chapter.say(&format!(
            "update-stack-set removes {removed}: its roles go, and their registrations with them"
        ));
        let current: Vec<Stack> = std::mem::take(&mut *stacks.lock().await).into_values().collect();
        let update = Action::Update(vec![("Services".to_owned(), services.clone())]);
        fan_out(&world, &stacks, current, plan.concurrency, update).await?;
    }

    chapter.say(&format!(
        "{} accounts join the OU: automatic deployment",
        plan.joiners
    ));
    let joiners = create_accounts(&world, &ou, plan.accounts..plan.accounts + plan.joiners).await?;
    let joining: Vec<Stack> = joiners.iter().map(|id| new_stack(id, &services)).collect();
    fan_out(&world, &stacks, joining, plan.joiners.max(1), Action::Create).await?;

    chapter.say(&format!(
        "{} accounts leave the OU: their stacks are deleted",
        plan.leavers
    ));
    let leavers: Vec<String> = members.iter().take(plan.leavers).cloned().collect();
    for id in &leavers {
        org.move_account(id, &ou, &org.root)
            .await
            .map_err(|e| DemoError::aws("MoveAccount", e))?;
    }
    let leaving: Vec<Stack> = {
        let mut all = stacks.lock().await;
        leavers.iter().filter_map(|id| all.remove(id)).collect()
    };
    fan_out(&world, &stacks, leaving, plan.leavers.max(1), Action::Delete).await?;

    chapter.say("The external IDs are rotated: update-stack-set with a new ExternalIdRotation");
    let current: Vec<Stack> = std::mem::take(&mut *stacks.lock().await).into_values().collect();
    let rotate = Action::Update(vec![(
        "ExternalIdRotation".to_owned(),
        "rotated-2026-11".to_owned(),
    )]);
    fan_out(&world, &stacks, current, plan.concurrency, rotate).await?;

    let mut gone = leavers;
    let mut problems = Vec::new();
    if plan.closures > 0 {
        let reconcile = Reconcile {
            ou: &ou,
            services: &services,
            workers: plan.workers,
        };
        gone.extend(
            close_and_reconcile(&world, &stacks, reconcile, plan, &mut chapter, &mut problems).await?,
        );
    }
    let stacks = stacks.lock().await;
    let mut report = finish(&world, &stacks, &gone, started);
    report.problems.extend(problems);
    Ok(report)
}

/// New accounts of the Organization, in `ou`.
pub(crate) async fn create_accounts(
    world: &World,
    ou: &str,
    numbers: std::ops::Range<usize>,
) -> Result<Vec<String>, DemoError> {
    let mut ids = Vec::new();
    for n in numbers {
        ids.push(
            world
                .organization
                .account(&format!("member-{n:04}"), ou)
                .await
                .map_err(|e| DemoError::aws("CreateAccount", e))?,
        );
    }
    Ok(ids)
}

/// The last chapters: accounts are closed, which no stack event follows (their stack instances
/// turn INOPERABLE); the reconciler finds their orphaned registrations, and `--fix` removes them.
/// Returns the closed accounts.
async fn close_and_reconcile(
    world: &World,
    stacks: &Mutex<BTreeMap<String, Stack>>,
    with: Reconcile<'_>,
    plan: &Plan,
    chapter: &mut Chapters,
    problems: &mut Vec<String>,
) -> Result<Vec<String>, DemoError> {
    let closed: Vec<String> = stacks.lock().await.keys().take(plan.closures).cloned().collect();
    chapter.say(&format!(
        "{} accounts are closed: their stack instances turn INOPERABLE, and no Delete event comes",
        closed.len()
    ));
    for id in &closed {
        world
            .organization
            .client
            .close_account()
            .account_id(id)
            .send()
            .await
            .map_err(|e| DemoError::aws("CloseAccount", e))?;
        stacks.lock().await.remove(id);
        println!("   {id} closed; its registrations stay in the appliance");
    }

    chapter.say("vbaws-reconcile compares the appliance with the Organization");
    let (code, output) = reconcile(world, with, plan, false).await?;
    print!("{}", indent(&output));
    if code != Some(1) {
        problems.push(format!(
            "vbaws-reconcile found no drift (exit {code:?}) after accounts were closed"
        ));
    }
    for id in &closed {
        if !output.contains(&format!("{id}-ec2")) {
            problems.push(format!(
                "vbaws-reconcile did not report {id}'s orphaned registrations"
            ));
        }
    }

    chapter.say("vbaws-reconcile --fix removes the orphaned registrations it made");
    let (code, output) = reconcile(world, with, plan, true).await?;
    print!("{}", indent(&output));
    if code != Some(0) {
        problems.push(format!(
            "drift remained after vbaws-reconcile --fix (exit {code:?})"
        ));
    }
    Ok(closed)
}

/// What `vbaws-reconcile` is told: the StackSet's OU and its current Services.
#[derive(Debug, Clone, Copy)]
struct Reconcile<'a> {
    ou: &'a str,
    services: &'a str,
    /// The StackSet's `WorkerNetwork` is `Parameters`.
    workers: bool,
}

/// Runs the operator's command against the simulated appliance and moto's Organization.
async fn reconcile(
    world: &World,
    with: Reconcile<'_>,
    plan: &Plan,
    fix: bool,
) -> Result<(Option<i32>, String), DemoError> {
    let program = plan.bin_dir.join("vbaws-reconcile");
    let (user, password) = APPLIANCE_USER;
    let mut command = tokio::process::Command::new(&program);
    command
        .args(["--api-url", &world.appliance.url()])
        .args(["--cert-sha256", &world.appliance.identity.fingerprint])
        .arg(format!("--ou={}", with.ou))
        .arg("--no-stack-set")
        .arg("--roles-template")
        .arg(&plan.template_path)
        .arg(format!("--parameter=Services={}", with.services))
        .args(with.workers.then_some("--parameter=WorkerNetwork=Parameters"))
        .args(["--region", "us-east-1"])
        .env_clear()
        .env("AWS_ENDPOINT_URL", world.moto.endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("VEEAM_USERNAME", user)
        .env("VEEAM_PASSWORD", password);
    if fix {
        command.arg("--fix");
    }
    let output = command.output().await.map_err(|problem| DemoError::Run {
        program: program.display().to_string(),
        problem,
    })?;
    let text =
        String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    Ok((output.status.code(), text))
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("   {l}\n")).collect()
}

/// What the Python solution leaves in the appliance: per account, `<account>-ec2` and
/// `<account>-worker` pointing at roles with generated names and 12-character external IDs.
const PYTHON_PURPOSES: [(&str, &str); 2] = [("ec2", "VeeamEc2Role"), ("worker", "VeeamWorkerRole")];

async fn migrate(
    world: Arc<World>,
    template: Arc<Template>,
    plan: &Plan,
    started: Instant,
) -> Result<Report, DemoError> {
    say(&format!(
        "1. An OU of {} accounts onboarded by the Python solution: its registrations point at its roles",
        plan.accounts
    ));
    let mut earlier = BTreeMap::new();
    for n in 0..plan.accounts {
        for (purpose, role) in PYTHON_PURPOSES {
            let name = format!("{}-{purpose}", account(n));
            let generated = format!("veeam-org-roles-{role}-{:012X}", 0x1A2B_3C4D_5E6F_u64 + n as u64);
            let id = world
                .appliance
                .sim
                .add_role(&name, &account(n), &generated, Some("aB3dE5gH7jK9"));
            earlier.insert(name, id);
        }
    }
    println!("   {} registrations in the appliance", earlier.len());

    say("2. The new StackSet rolls out to the same OU: each registration is taken over in place");
    let stacks: Arc<Mutex<BTreeMap<String, Stack>>> = Arc::default();
    let batch = (0..plan.accounts)
        .map(|n| world.member_stack(Arc::clone(&template), &account(n), &ROLES_PARAMETERS))
        .collect();
    fan_out(&world, &stacks, batch, plan.concurrency, Action::Create).await?;

    say("3. The old StackSet is deleted: its Delete removes no registration, and its roles go");
    let stacks = stacks.lock().await;
    let mut report = finish(&world, &stacks, &[], started);
    // verify() has checked that each registration holds the new role's external ID; what it
    // cannot see is whether it is the same registration, which backup policies refer to.
    let now: BTreeMap<String, String> = world
        .appliance
        .sim
        .roles()
        .into_iter()
        .map(|r| (r.name, r.id))
        .collect();
    for (name, id) in &earlier {
        if now.get(name) != Some(id) {
            report.problems.push(format!(
                "{name} was registered anew, not taken over ({id}): policies that use it would lose it"
            ));
        }
    }
    let removals = world
        .appliance
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE" && r.path.contains("accounts/amazon"))
        .count();
    if removals > 0 {
        report.problems.push(format!(
            "{removals} registrations were removed during the takeover"
        ));
    }
    println!(
        "   {} registrations taken over, same IDs, new roles and external IDs; none removed, none added",
        earlier.len()
    );
    Ok(report)
}

/// `gone`: accounts that left the OU or were closed, which must have no registration left.
pub(crate) fn finish(
    world: &World,
    stacks: &BTreeMap<String, Stack>,
    gone: &[String],
    started: Instant,
) -> Report {
    let mut report = Report {
        accounts: stacks.len(),
        events: world.events.load(Ordering::Relaxed),
        failed: world.failed.load(Ordering::Relaxed),
        provoked: world.provoked.load(Ordering::Relaxed),
        unanswered: world.unanswered.load(Ordering::Relaxed),
        appliance_requests: world.appliance.sim.requests().len(),
        logins: world.appliance.sim.logins(),
        unconfirmed: world.metric_count("EventsUnconfirmed"),
        confirmation_calls: {
            let calls = world.cloud.calls();
            let sts = calls.iter().filter(|c| *c == "AssumeRole").count();
            (sts, calls.len() - sts)
        },
        elapsed: started.elapsed(),
        aws_resources: stacks
            .iter()
            .map(|(account, stack)| (account.clone(), stack.aws_resources()))
            .collect(),
        ..Report::default()
    };
    verify(world, stacks, gone, &mut report);
    crate::workers::verify(world, stacks, gone, &mut report);
    report
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    Create,
    Delete,
    /// update-stack-set with these parameters changed.
    Update(Vec<(String, String)>),
}

/// Numbers the story's chapters as they are told (some are told only with some options).
#[derive(Debug, Default)]
pub(crate) struct Chapters(usize);

impl Chapters {
    pub(crate) fn say(&mut self, text: &str) {
        self.0 += 1;
        say(&format!("{}. {text}", self.0));
    }
}

/// Runs `action` on every stack, `concurrency` at a time, with a progress bar and one line per
/// finished stack. Stacks that remain are put back into `stacks`.
pub(crate) async fn fan_out(
    world: &Arc<World>,
    stacks: &Arc<Mutex<BTreeMap<String, Stack>>>,
    batch: Vec<Stack>,
    concurrency: usize,
    action: Action,
) -> Result<(), DemoError> {
    let bar = ProgressBar::new(batch.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("   [{bar:30}] {pos}/{len} stacks {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for mut stack in batch {
        let (world, stacks, permits, bar, action) = (
            Arc::clone(world),
            Arc::clone(stacks),
            Arc::clone(&permits),
            bar.clone(),
            action.clone(),
        );
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.map_err(DemoError::start)?;
            let started = Instant::now();
            let done = match action {
                Action::Create => stack
                    .create(world.as_ref())
                    .await
                    .map(|n| format!("CREATE_COMPLETE ({n} custom resources)")),
                Action::Delete => stack
                    .delete(world.as_ref())
                    .await
                    .map(|()| "DELETE_COMPLETE".to_owned()),
                Action::Update(ref parameters) => {
                    let parameters: Vec<(&str, &str)> =
                        parameters.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    stack
                        .update(world.as_ref(), &parameters)
                        .await
                        .map(|n| format!("UPDATE_COMPLETE ({n} custom resources changed)"))
                }
            };
            let line = match &done {
                Ok(status) => format!(
                    "   {} {status} in {} ms",
                    stack.account,
                    started.elapsed().as_millis()
                ),
                Err(error) => format!("   {} FAILED: {error}", stack.account),
            };
            if bar.is_hidden() {
                println!("{line}");
            } else {
                bar.println(line);
            }
            bar.inc(1);
            if action != Action::Delete {
                stacks.lock().await.insert(stack.account.clone(), stack);
            }
            done.map(|_| ()).map_err(DemoError::from)
        });
    }
    let mut first_error = None;
    while let Some(result) = tasks.join_next().await {
        if let Err(error) = result.map_err(DemoError::start).and_then(|r| r) {
            first_error.get_or_insert(error);
        }
    }
    bar.finish_and_clear();
    first_error.map_or(Ok(()), Err)
}

/// update-stack-set with a new template: every stack takes `template`, then is updated with
/// `parameters`, `concurrency` at a time.
pub(crate) async fn roll_out_template(
    world: &Arc<World>,
    stacks: &Arc<Mutex<BTreeMap<String, Stack>>>,
    template: &Arc<Template>,
    concurrency: usize,
    parameters: Vec<(String, String)>,
) -> Result<(), DemoError> {
    let current: Vec<Stack> = std::mem::take(&mut *stacks.lock().await)
        .into_values()
        .map(|mut stack| {
            stack.use_template(Arc::clone(template));
            stack
        })
        .collect();
    fan_out(world, stacks, current, concurrency, Action::Update(parameters)).await
}

/// Every account of the OU has a registration per role its stack holds, with the external ID
/// the role's trust policy holds; no account that left or was closed has any.
fn verify(world: &World, stacks: &BTreeMap<String, Stack>, gone: &[String], report: &mut Report) {
    let registrations = world.appliance.sim.registrations();
    report.registered = registrations.len();
    let mut expected = 0;
    for (account, stack) in stacks {
        let roles = stack.aws_resources();
        for (logical, _, properties) in stack
            .custom_resources()
            .into_iter()
            .filter(|(_, kind, _)| kind == "Custom::VeeamAwsConfigurator")
        {
            expected += 1;
            let purpose = properties["Purpose"].as_str().unwrap_or_default();
            let name = format!("{account}-{purpose}");
            let Some(found) = registrations.iter().find(|r| r.name == name) else {
                report
                    .problems
                    .push(format!("{name} is missing from the appliance"));
                continue;
            };
            let expected_id = properties["RoleExtId"].as_str();
            let role_name = properties["RoleName"]
                .as_str()
                .and_then(|n| n.rsplit('/').next())
                .unwrap_or_default();
            let trusted = roles
                .iter()
                .find(|(_, kind, p)| kind == "AWS::IAM::Role" && p["RoleName"] == role_name)
                .and_then(|(_, _, p)| {
                    p["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"].as_str()
                });
            if found.external_id.as_deref() != expected_id || expected_id != trusted {
                report.problems.push(format!("{name}: the appliance, the role's trust policy and the generator disagree on the external ID"));
            }
            if found.account_id != *account
                || stack.attribute(&logical, "VeeamRoleId") != Some(found.id.as_str())
            {
                report
                    .problems
                    .push(format!("{name}: registered under the wrong account or ID"));
            }
        }
    }
    for account in gone {
        if registrations.iter().any(|r| r.account_id == *account) {
            report.problems.push(format!(
                "{account} left the OU or was closed, but is still registered"
            ));
        }
    }
    if report.registered != expected {
        report.problems.push(format!(
            "{} registrations for {} accounts, where their stacks hold {expected} roles",
            report.registered,
            stacks.len()
        ));
    }
    if report.failed != report.provoked || report.unanswered > 0 {
        report.problems.push(format!(
            "{} FAILED answers ({} provoked on purpose) and {} events without an answer",
            report.failed, report.provoked, report.unanswered
        ));
    }
}

fn say(text: &str) {
    println!("\n{text}");
}

impl Report {
    pub fn table(&self) -> String {
        let mut out = String::from("\n| What | Result |\n| --- | --- |\n");
        let rows = [
            ("Accounts in the OU", self.accounts.to_string()),
            (
                "Roles registered in the appliance (read back from it)",
                self.registered.to_string(),
            ),
            ("Custom-resource events", self.events.to_string()),
            (
                "FAILED answers",
                if self.provoked > 0 {
                    format!("{} ({} provoked on purpose)", self.failed, self.provoked)
                } else {
                    self.failed.to_string()
                },
            ),
            ("Events without an answer", self.unanswered.to_string()),
            (
                "Production worker configurations (read back from the appliance)",
                self.worker_configurations.to_string(),
            ),
            (
                "Appliance requests (logins included)",
                self.appliance_requests.to_string(),
            ),
            ("Logins", self.logins.to_string()),
            (
                "Events CloudFormation did not confirm (forgeries included)",
                self.unconfirmed.to_string(),
            ),
            (
                "Calls to confirm events (STS, CloudFormation)",
                format!("{}, {}", self.confirmation_calls.0, self.confirmation_calls.1),
            ),
            ("Time", format!("{:.1} s", self.elapsed.as_secs_f64())),
        ];
        for (what, value) in rows {
            let _ = writeln!(out, "| {what} | {value} |");
        }
        out
    }
}
