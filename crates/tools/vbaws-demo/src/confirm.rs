//! `make demo STORY=confirm`: event confirmation turned on in a running Organization, in the
//! order the README's upgrade gives. The OU runs the previous release's roles template (no event
//! reader role); the Lambdas stack is updated first, with `EventConfirmation=Report`, so every
//! registration keeps working and each unconfirmed event is counted; the roles StackSet is
//! updated next, which gives every account its reader role; once the count stays at zero, the
//! configurator enforces. Then a member account's administrator forges events against another
//! account, and nothing changes; and an account that leaves the OU is still deregistered.

use std::{collections::BTreeMap, sync::Arc, time::Instant};

use serde_json::{Value, json};
use tokio::sync::Mutex;
use vbaws_template::{Template, event::StackResource};

use crate::{
    DemoError, Stack, World,
    story::{Action, Chapters, Plan, Report, account, fan_out, finish, roll_out_template},
    world::{CONFIGURATOR_ARN, ROLES_PARAMETERS},
};

/// The metric a configurator line counts an unconfirmed event in.
const UNCONFIRMED: &str = "EventsUnconfirmed";

pub(crate) async fn run(
    world: Arc<World>,
    template: Arc<Template>,
    plan: &Plan,
    started: Instant,
) -> Result<Report, DemoError> {
    let mut chapter = Chapters::default();
    let previous = Arc::new(previous_release(&template));
    let stacks: Arc<Mutex<BTreeMap<String, Stack>>> = Arc::default();
    let mut problems = Vec::new();

    chapter.say(&format!(
        "An OU of {} accounts runs the previous release's roles template, without the event reader role; \
         the Lambdas stack is updated first, with EventConfirmation=Report",
        plan.accounts
    ));
    world.deploy_configurator("Report").await?;
    let batch = (0..plan.accounts)
        .map(|n| world.member_stack(Arc::clone(&previous), &account(n), &ROLES_PARAMETERS))
        .collect();
    fan_out(&world, &stacks, batch, plan.concurrency, Action::Create).await?;
    let before = world.metric_count(UNCONFIRMED);
    println!(
        "   {before} events could not be confirmed (no reader role yet); each was logged, counted and handled"
    );
    if before == 0 {
        problems.push("events of stacks without the reader role were confirmed".to_owned());
    }

    chapter.say("update-stack-set to this release's roles.yaml: every account gets its event reader role");
    roll_out_template(&world, &stacks, &template, plan.concurrency, Vec::new()).await?;

    chapter.say("The external IDs are rotated, still in Report mode: every event is confirmed now");
    rotate(&world, &stacks, plan, "rotated-before-enforcing").await?;
    let after = world.metric_count(UNCONFIRMED) - before;
    println!("   {after} unconfirmed events since the StackSet update: safe to enforce");
    if after > 0 {
        problems.push(format!(
            "{after} events were not confirmed after every account got its reader role"
        ));
    }

    chapter.say("The Lambdas stack is updated with EventConfirmation=Enforce");
    world.deploy_configurator("Enforce").await?;

    chapter.say("An administrator of one member account writes events about another account's registration");
    forge(&world, &stacks, &mut problems).await?;

    chapter.say(
        "An account leaves the OU: its stack is deleted, each Delete confirmed before the reader role goes",
    );
    let leaver = account(0);
    let leaving: Vec<Stack> = stacks.lock().await.remove(&leaver).into_iter().collect();
    fan_out(&world, &stacks, leaving, 1, Action::Delete).await?;

    let stacks = stacks.lock().await;
    let mut report = finish(&world, &stacks, &[leaver], started);
    report.problems.extend(problems);
    Ok(report)
}

async fn rotate(
    world: &Arc<World>,
    stacks: &Arc<Mutex<BTreeMap<String, Stack>>>,
    plan: &Plan,
    label: &str,
) -> Result<(), DemoError> {
    let current: Vec<Stack> = std::mem::take(&mut *stacks.lock().await).into_values().collect();
    let update = Action::Update(vec![("ExternalIdRotation".to_owned(), label.to_owned())]);
    fan_out(world, stacks, current, plan.concurrency, update).await
}

/// The attack of issue 22, by hand: a Delete and an Update (with an external ID of the
/// attacker's) of another account's EC2 registration, once with a made-up stack in that account
/// and once with its real stack, at rest. Nothing may change.
async fn forge(
    world: &World,
    stacks: &Mutex<BTreeMap<String, Stack>>,
    problems: &mut Vec<String>,
) -> Result<(), DemoError> {
    let victim = account(1);
    let (real_stack, physical_id) = {
        let stacks = stacks.lock().await;
        let Some(stack) = stacks.get(&victim) else {
            problems.push(format!("{victim} has no stack to forge events about"));
            return Ok(());
        };
        let id = stack
            .attribute("Ec2Registration", "VeeamRoleId")
            .unwrap_or_default();
        (stack.stack_id().to_owned(), format!("{victim}-ec2@{id}"))
    };
    let before = world.appliance.sim.registrations();
    let made_up =
        format!("arn:aws:cloudformation:us-east-1:{victim}:stack/StackSet-vbaws-veeam-roles-f0f0f0f0/1");
    let theirs = json!({"RoleName": "VeeamBackupRestoreRole", "RoleExtId": "chosen-by-the-attacker", "Purpose": "ec2"});
    for (stack_id, which) in [
        (made_up, "a made-up stack"),
        (real_stack, "its real stack, at rest"),
    ] {
        let resource = StackResource::new(
            &stack_id,
            "Ec2Registration",
            "Custom::VeeamAwsConfigurator",
            CONFIGURATOR_ARN,
        );
        for event in [
            resource.delete(&physical_id, theirs.clone()),
            resource.update(&physical_id, theirs.clone(), Value::Null),
        ] {
            let answer = world.invoke_uncounted(CONFIGURATOR_ARN, &event).await?;
            let reason = answer["Reason"].as_str().unwrap_or_default();
            println!(
                "   forged {} of {victim}-ec2, naming {which}: {} ({})",
                event.request_type(),
                answer["Status"].as_str().unwrap_or_default(),
                reason.split(':').next().unwrap_or_default()
            );
            if !reason.contains("could not confirm") {
                problems.push(format!(
                    "a forged {} was not refused: {answer}",
                    event.request_type()
                ));
            }
        }
    }
    let after = world.appliance.sim.registrations();
    let unchanged = |r: &vbaws_sim::Role| {
        after
            .iter()
            .any(|a| a.id == r.id && a.external_id == r.external_id && a.role_name == r.role_name)
    };
    if after.len() != before.len() || !before.iter().all(unchanged) {
        problems.push("the forged events changed the appliance".to_owned());
    } else {
        println!("   the appliance is unchanged: {victim}-ec2 still holds its own role and external ID");
    }
    Ok(())
}

/// The roles template as the previous release had it: no event reader role, and no registration
/// depending on one.
fn previous_release(template: &Template) -> Template {
    let mut body = template.body.clone();
    if let Some(resources) = body["Resources"].as_object_mut() {
        resources.remove("EventReaderRole");
        for resource in resources.values_mut() {
            if let Some(list) = resource.get_mut("DependsOn").and_then(Value::as_array_mut) {
                list.retain(|d| d != "EventReaderRole");
            }
        }
    }
    Template { body }
}
