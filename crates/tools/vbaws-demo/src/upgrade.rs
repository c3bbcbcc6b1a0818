//! `make demo STORY=upgrade`: the second day, with the project's own commands. Release 1 is
//! published and deployed (the Lambdas stack with every optional part, then the roles StackSet);
//! the same release deployed again changes nothing; release 2 changes exactly the configurator's
//! code and the StackSet's template; a deploy with only the required variables removes nothing;
//! a StackSet update that fails in one account rolls back there and converges when it is run
//! again. `make publish`, `make deploy-lambdas`, `make deploy-stackset` and `make
//! update-stackset` run as documented, against the recording AWS CLI stand-in; the template
//! player plays what they asked CloudFormation for (change sets included) and the real
//! functions answer the member stacks' events.

use std::{collections::BTreeMap, sync::Arc, time::Instant};

use tokio::sync::Mutex;
use vbaws_sim::Faults;
use vbaws_template::{Change, Stack, Template};

use crate::{
    DemoError, World,
    operator::{self, BUCKET, Call, Operator},
    story::{Action, Chapters, Plan, Report, account, fan_out, finish, roll_out_template},
    world::REGION,
};

/// The backup account, where the Lambdas stack lives.
const BACKUP_ACCOUNT: &str = "111111111111";
const OU: &str = "ou-dmo1-upgrade0";

/// What `make deploy-lambdas` is given on the first day: every optional part.
fn first_day(fingerprint: &str) -> Vec<(&'static str, String)> {
    let mut variables = required(fingerprint);
    variables.extend([
        ("APPLIANCE_SG", "sg-0a1b2c3d4e5f60718".to_owned()),
        ("RECONCILER", "Report".to_owned()),
        ("RECONCILER_OUS", OU.to_owned()),
        ("ALARM_EMAIL", "platform@example.com".to_owned()),
        ("EVENT_CONFIRMATION", "Enforce".to_owned()),
    ]);
    variables
}

/// What `make deploy-lambdas` requires.
fn required(fingerprint: &str) -> Vec<(&'static str, String)> {
    [
        ("BUCKET", BUCKET),
        ("APPLIANCE_IP", "10.0.1.20"),
        ("VPC", "vpc-0a1b2c3d4e5f60718"),
        ("SUBNETS", "subnet-0a1b2c3d4e5f60718,subnet-0a1b2c3d4e5f60719"),
        ("ORG_ID", "o-a1b2c3d4e5"),
        ("S3_PATH", "Nat"),
        ("SECRETS_PATH", "Nat"),
        ("STS_PATH", "Nat"),
        ("CLOUDFORMATION_PATH", "Nat"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .chain([("CERT_SHA256", fingerprint.to_owned())])
    .collect()
}

pub(crate) async fn run(world: Arc<World>, plan: &Plan, started: Instant) -> Result<Report, DemoError> {
    let root = std::env::current_dir().map_err(DemoError::start)?;
    let operator = Operator::new(&root)?;
    let read = |path: &std::path::Path| std::fs::read(path).map_err(DemoError::start);
    let roles = String::from_utf8_lossy(&read(&plan.template_path)?).into_owned();
    let lambdas = Arc::new(
        Template::from_yaml(&String::from_utf8_lossy(&read(
            &root.join("template/lambdas.yaml"),
        )?))
        .map_err(DemoError::start)?,
    );
    let mut bootstraps = Vec::new();
    for function in ["random-ext-id", "veeam-configurator", "vbaws-reconciler"] {
        // The reconciler is not part of the demo's build; a stand-in file takes its place.
        let path = plan.bin_dir.join(function);
        let bootstrap = if path.exists() {
            read(&path)?
        } else {
            format!("{function} release 1").into_bytes()
        };
        bootstraps.push((function, bootstrap));
    }
    let fingerprint = world.appliance.identity.fingerprint.clone();
    let mut chapter = Chapters::default();
    let mut problems = Vec::new();
    let stacks: Arc<Mutex<BTreeMap<String, Stack>>> = Arc::default();

    chapter.say(&format!(
        "Release 1: make publish, make deploy-lambdas with every optional part, make deploy-stackset to an OU of {} accounts",
        plan.accounts
    ));
    operator.build(&bootstraps, &roles)?;
    let published = operator.publish()?;
    println!(
        "   make publish uploaded {} objects",
        operator::uploads(&published).len()
    );
    let vars = first_day(&fingerprint);
    let mut lambdas_stack = create_lambdas(&operator, &world, &lambdas, &vars).await?;
    let outputs = lambdas_stack.outputs().map_err(DemoError::start)?;
    let calls = operator.make(
        "deploy-stackset",
        &[
            ("OU", OU),
            (
                "APPLIANCE_ROLE_ARN",
                "arn:aws:iam::111111111111:role/VeeamBackupInstance",
            ),
            ("BACKUP_PROFILE", "backup"),
        ],
        &outputs,
        &[],
    )?;
    let create = operator::find(&calls, &["cloudformation", "create-stack-set"])
        .ok_or_else(|| missing("make deploy-stackset", "create-stack-set"))?;
    let roles_template = Arc::new(roles_template(&operator, create)?);
    let stack_set_parameters = operator::stack_set_parameters(create);
    let parameters: Vec<(&str, &str)> = stack_set_parameters
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let batch = (0..plan.accounts)
        .map(|n| world.member_stack(Arc::clone(&roles_template), &account(n), &parameters))
        .collect();
    fan_out(&world, &stacks, batch, plan.concurrency, Action::Create).await?;
    let keys: Vec<String> = stack_set_parameters.iter().map(|(k, _)| k.clone()).collect();

    chapter.say("The same release, published and deployed again");
    let uploads = operator::uploads(&operator.publish()?);
    println!("   make publish uploaded {} objects", uploads.len());
    let changes = update_lambdas(&operator, &world, &mut lambdas_stack, &lambdas, &vars).await?;
    if !uploads.is_empty() || !changes.is_empty() {
        problems.push(format!(
            "an unchanged release uploaded {uploads:?} and changed {changes:?}"
        ));
    }

    chapter.say("Release 2: a new configurator build and a new roles.yaml, published and deployed");
    let configurator = bootstraps.iter_mut().find(|(f, _)| *f == "veeam-configurator");
    if let Some((_, bootstrap)) = configurator {
        // A rebuilt binary, as a different file: the release's note appended.
        bootstrap.extend_from_slice(b"\nvbaws release 2\n");
    }
    operator.build(&bootstraps, &format!("{roles}\n# Release 2\n"))?;
    let uploads = operator::uploads(&operator.publish()?);
    println!("   make publish uploaded {}", uploads.join(", "));
    let changes = update_lambdas(&operator, &world, &mut lambdas_stack, &lambdas, &vars).await?;
    let expected = ["Modify ConfiguratorFunction (AWS::Lambda::Function): Code"];
    if lines(&changes) != expected || uploads.len() != 2 {
        problems.push(format!(
            "release 2 uploaded {uploads:?} and changed {:?}, not only {expected:?}",
            lines(&changes)
        ));
    }
    // CloudFormation updated the function: new sandboxes take the next events.
    world.deploy_configurator("Enforce").await?;
    let requests = world.appliance.sim.requests().len();
    let update = update_stack_set(&operator, &outputs, &keys, &[])?;
    println!(
        "   make update-stackset: the StackSet now reads {}",
        update.template_url
    );
    let template = Arc::new(roles_template_at(&operator, &update.template_url)?);
    roll_out_template(&world, &stacks, &template, plan.concurrency, update.given).await?;
    let touched = world.appliance.sim.requests().len() - requests;
    println!("   {touched} appliance requests: no registration changed");
    if touched > 0 {
        problems.push(format!(
            "a roles.yaml with no change to its resources sent {touched} appliance requests"
        ));
    }

    chapter.say("make deploy-lambdas again, with only the required variables");
    let changes = update_lambdas(
        &operator,
        &world,
        &mut lambdas_stack,
        &lambdas,
        &required(&fingerprint),
    )
    .await?;
    println!(
        "   the change set holds {} changes: nothing is removed",
        changes.len()
    );
    if !changes.is_empty() {
        problems.push(format!(
            "a deploy with fewer variables changed {:?}",
            lines(&changes)
        ));
    }
    let emptied = [
        ("ApplianceSecurityGroupId", ""),
        ("Reconciler", "Disabled"),
        ("AlarmEmail", ""),
    ];
    let would = lambdas_stack.change_set(&lambdas, &emptied)?;
    println!(
        "   (passing them empty, as earlier releases of make deploy-lambdas did, would have removed {})",
        removed(&would).join(", ")
    );

    chapter.say("make update-stackset ROTATION=2026-12 while the appliance fails a registration's update");
    world.appliance.sim.set_faults(Faults {
        update_failures: 1,
        ..Faults::default()
    });
    let rotation = update_stack_set(&operator, &outputs, &keys, &[("ROTATION", "2026-12")])?;
    let outcome = rotate_one_at_a_time(&world, &stacks, &rotation.given).await;
    println!("   {outcome}");
    world.provoked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let consistent = finish(&world, &*stacks.lock().await, &[], started).problems;
    if !consistent.is_empty() {
        problems.extend(consistent.into_iter().map(|p| format!("after the rollback: {p}")));
    } else {
        println!("   after the rollback every registration still matches its roles' trust");
    }

    chapter.say("The appliance recovers; the same make update-stackset ROTATION=2026-12 again");
    let rotation = update_stack_set(&operator, &outputs, &keys, &[("ROTATION", "2026-12")])?;
    let current: Vec<Stack> = std::mem::take(&mut *stacks.lock().await).into_values().collect();
    fan_out(
        &world,
        &stacks,
        current,
        plan.concurrency,
        Action::Update(rotation.given),
    )
    .await?;

    let stacks = stacks.lock().await;
    let mut report = finish(&world, &stacks, &[], started);
    report.problems.extend(problems);
    Ok(report)
}

/// `make deploy-lambdas` with `variables`: the stack's name and the parameters it gives
/// CloudFormation (`aws cloudformation deploy` keeps the previous value of every other one).
fn make_deploy_lambdas(
    operator: &Operator,
    variables: &[(&'static str, String)],
) -> Result<(String, Vec<(String, String)>), DemoError> {
    let variables: Vec<(&str, &str)> = variables.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let calls = operator.make("deploy-lambdas", &variables, &BTreeMap::new(), &[])?;
    let deploy = operator::find(&calls, &["cloudformation", "deploy"])
        .ok_or_else(|| missing("make deploy-lambdas", "cloudformation deploy"))?;
    if operator::find(&calls, &["cloudformation", "set-stack-policy"]).is_none() {
        return Err(missing("make deploy-lambdas", "set-stack-policy"));
    }
    let name = operator::value(deploy, "--stack-name")
        .unwrap_or_default()
        .to_owned();
    Ok((name, operator::parameter_overrides(deploy)))
}

/// The first `make deploy-lambdas`: CloudFormation creates the stack.
async fn create_lambdas(
    operator: &Operator,
    world: &World,
    lambdas: &Arc<Template>,
    variables: &[(&'static str, String)],
) -> Result<Stack, DemoError> {
    let (name, given) = make_deploy_lambdas(operator, variables)?;
    let given: Vec<(&str, &str)> = given.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut stack = Stack::new(Arc::clone(lambdas), BACKUP_ACCOUNT, REGION, &name, &given);
    stack.create(world).await?;
    println!(
        "   make deploy-lambdas: {name} created with {} resources",
        stack.aws_resources().len()
    );
    Ok(stack)
}

/// Another `make deploy-lambdas`: the change set CloudFormation makes, shown, then executed.
async fn update_lambdas(
    operator: &Operator,
    world: &World,
    stack: &mut Stack,
    lambdas: &Template,
    variables: &[(&'static str, String)],
) -> Result<Vec<Change>, DemoError> {
    let (_, given) = make_deploy_lambdas(operator, variables)?;
    let given: Vec<(&str, &str)> = given.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let changes = stack.change_set(lambdas, &given)?;
    if changes.is_empty() {
        println!("   make deploy-lambdas: no changes to deploy");
    } else {
        println!("   make deploy-lambdas: the change set");
        lines(&changes).iter().for_each(|line| println!("     {line}"));
        stack.update(world, &given).await?;
    }
    Ok(changes)
}

/// What one `make update-stackset` asked for.
struct StackSetUpdate {
    template_url: String,
    /// The parameters it gives a value (the others keep theirs).
    given: Vec<(String, String)>,
}

fn update_stack_set(
    operator: &Operator,
    outputs: &BTreeMap<String, String>,
    keys: &[String],
    variables: &[(&str, &str)],
) -> Result<StackSetUpdate, DemoError> {
    let mut variables = variables.to_vec();
    variables.push(("BACKUP_PROFILE", "backup"));
    let calls = operator.make("update-stackset", &variables, outputs, keys)?;
    let update = operator::find(&calls, &["cloudformation", "update-stack-set"])
        .ok_or_else(|| missing("make update-stackset", "update-stack-set"))?;
    Ok(StackSetUpdate {
        template_url: operator::value(update, "--template-url")
            .unwrap_or_default()
            .to_owned(),
        given: operator::stack_set_parameters(update),
    })
}

/// The StackSet operation with FailureTolerancePercentage 10, as the commands set it: failures
/// beyond 10% of the accounts (rounded down: none in an OU under 10 accounts) stop it, and the
/// accounts not reached keep their old stacks. A failed stack rolls back. Played one account
/// at a time, which MaxConcurrentPercentage 25 gives an OU under 8 accounts; more at once would
/// change the count reached, not the outcome for each stack.
async fn rotate_one_at_a_time(
    world: &World,
    stacks: &Mutex<BTreeMap<String, Stack>>,
    given: &[(String, String)],
) -> String {
    let given: Vec<(&str, &str)> = given.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut stacks = stacks.lock().await;
    let total = stacks.len();
    let tolerated = total / 10;
    let (mut updated, mut failed) = (0, Vec::new());
    for stack in stacks.values_mut() {
        match stack.update(world, &given).await {
            Ok(_) => updated += 1,
            Err(error) => {
                println!("   {} UPDATE_ROLLBACK_COMPLETE: {error}", stack.account);
                failed.push(stack.account.clone());
            }
        }
        if failed.len() > tolerated {
            break;
        }
    }
    let ended = if failed.len() > tolerated {
        "the operation stopped"
    } else {
        "the operation ended within its failure tolerance"
    };
    format!(
        "{ended}: {updated} of {total} stacks updated, {} rolled back, {} not reached",
        failed.len(),
        total - updated - failed.len()
    )
}

fn roles_template(operator: &Operator, create: &Call) -> Result<Template, DemoError> {
    let url = operator::value(create, "--template-url")
        .ok_or_else(|| missing("create-stack-set", "--template-url"))?;
    roles_template_at(operator, url)
}

fn roles_template_at(operator: &Operator, url: &str) -> Result<Template, DemoError> {
    Template::from_yaml(&operator.object(url)?).map_err(DemoError::start)
}

fn lines(changes: &[Change]) -> Vec<String> {
    changes.iter().map(ToString::to_string).collect()
}

fn removed(changes: &[Change]) -> Vec<String> {
    changes
        .iter()
        .filter(|c| c.action == vbaws_template::ChangeAction::Remove)
        .map(|c| c.logical_id.clone())
        .collect()
}

fn missing(command: &str, call: &str) -> DemoError {
    DemoError::start(std::io::Error::other(format!("{command} made no {call} call")))
}
