//! Reading the facts through the real SDK calls against moto's server (an Organization with a
//! nested OU, an account outside it, one closed; the roles StackSet's instances) and through the
//! REST client against the appliance simulator, then comparing them; and the `vbaws-reconcile`
//! command end to end against both, `--fix` included.

use std::{path::Path, process::Output, time::Duration};

use tokio::time::Instant;
use vbaws_client::MadeBy;
use vbaws_reconcile::{Facts, Options, Problem, Purposes, Standing, read, reconcile};
use vbaws_sim::{Config, Sim, User};
use vbaws_testkit::{
    Moto,
    organization::{EMPTY_TEMPLATE, Organization, sdk_config, stack_set},
};

#[tokio::test]
async fn facts_read_from_moto_and_the_simulator_show_the_drift() {
    let moto = Moto::start().await.expect("moto");
    let config = sdk_config(&moto).await;
    let organization = Organization::create(&config).await.expect("organization");
    let (org, root) = (&organization.client, organization.root.as_str());
    let workloads = organization.ou(root, "Workloads").await.expect("ou");
    let nested = organization.ou(&workloads, "Prod").await.expect("ou");
    let a = organization.account("a", &workloads).await.expect("account");
    let b = organization.account("b", &nested).await.expect("account");
    let outside = organization.account("sandbox", root).await.expect("account");
    let closed = organization.account("closed", &workloads).await.expect("account");
    org.close_account()
        .account_id(&closed)
        .send()
        .await
        .expect("close");

    let ous = std::slice::from_ref(&workloads);
    let accounts = read::accounts(org, ous, ous).await.expect("accounts");
    let find = |id: &str| accounts.iter().find(|x| x.id == id).expect("listed").clone();
    assert!(
        find(&a).in_target && find(&b).in_target,
        "the nested OU counts: {accounts:?}"
    );
    assert!(!find(&outside).in_target);
    assert_ne!(find(&closed).standing, Standing::Active, "{accounts:?}");

    let management = read::management_account(org).await.expect("DescribeOrganization");
    assert!(
        management
            .as_ref()
            .is_some_and(|id| accounts.iter().any(|a| a.id == *id)),
        "the management account is an account of the Organization: {management:?}"
    );

    let below = read::accounts_below(org, &workloads).await.expect("below");
    assert!(below.iter().any(|(id, _)| *id == b), "{below:?}");

    // The roles StackSet, with an instance in account a.
    stack_set(
        &config,
        "vbaws-veeam-roles",
        EMPTY_TEMPLATE,
        std::slice::from_ref(&a),
    )
    .await
    .expect("stack set");
    let cloudformation = aws_sdk_cloudformation::Client::new(&config);
    let instances = read::stack_instances(&cloudformation, "vbaws-veeam-roles", false)
        .await
        .expect("instances");
    assert_eq!(instances.len(), 1, "{instances:?}");
    assert_eq!(instances[0].account, a);
    assert!(!instances[0].status.is_empty());

    // The appliance: a's two registrations, the closed account's, and a foreign one.
    let appliance = vbaws_sim::spawn(
        Sim::new(Config {
            users: vec![User::admin("reader", "pw")],
            max_page_size: 2,
            ..Config::default()
        }),
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("simulator");
    for (name, account) in [
        (format!("{a}-ec2"), a.as_str()),
        (format!("{a}-worker"), a.as_str()),
        (format!("{closed}-ec2"), closed.as_str()),
    ] {
        register(&appliance.sim, &name, account);
    }
    appliance.sim.add_role("hand-made", &outside, "VeeamRole", None);
    let client = vbaws_client::Client::builder(appliance.url())
        .trust(vbaws_client::Trust::Pinned(
            appliance.identity.fingerprint.parse().expect("fingerprint"),
        ))
        .credentials(vbaws_client::Credentials::new("reader", "pw"))
        .build()
        .expect("client");
    let registrations = read::registrations(&client, Instant::now() + Duration::from_secs(20))
        .await
        .expect("registrations");
    assert_eq!(registrations.len(), 5, "every page, the default role included");

    let report = reconcile(
        &Facts {
            registrations,
            accounts,
            instances: Some(instances),
            purposes: Purposes::same(vec!["ec2".into(), "worker".into()]),
            target_ous: ous.to_vec(),
            management_account: None,
            ..Facts::default()
        },
        Options::default(),
    );
    let orphans: Vec<(String, Problem)> = report
        .accounts
        .iter()
        .flat_map(|x| x.orphans.iter().map(|(r, p)| (r.name.clone(), *p)))
        .collect();
    assert_eq!(orphans.len(), 1, "{report:#?}");
    assert_eq!(orphans[0].0, format!("{closed}-ec2"));
    assert!(matches!(orphans[0].1, Problem::Inactive(_)));
    let missing = report
        .accounts
        .iter()
        .find(|x| x.account == b)
        .expect("b is missing both");
    assert_eq!(missing.missing, ["ec2", "worker"]);
    assert_eq!(report.foreign.len(), 1);
}

/// A registration as the configurator makes it: with the note of the stack that made it.
fn register(sim: &Sim, name: &str, account: &str) -> String {
    let id = sim.add_role(name, account, "VeeamRole", None);
    let made_by = MadeBy::new(
        "arn:aws:cloudformation:us-east-1:1:stack/StackSet-vbaws-veeam-roles-1/uuid",
        "Reg",
    );
    sim.describe_role(&id, &made_by.describe(Some("registered by the configurator")));
    id
}

async fn simulator() -> vbaws_sim::Running {
    vbaws_sim::spawn(
        Sim::new(Config {
            users: vec![User::admin("reader", "pw")],
            max_page_size: 3,
            ..Config::default()
        }),
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("simulator")
}

/// Runs the command with moto as every AWS endpoint and no ambient AWS configuration, without a
/// StackSet unless `args` name one.
async fn command(moto: &Moto, appliance: &vbaws_sim::Running, args: &[&str]) -> Output {
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../template/roles.yaml");
    let mut command = invocation(moto, appliance);
    command
        .args(["--roles-template", template.to_str().expect("utf-8")])
        .args(args);
    if !args.contains(&"--stack-set") {
        command.arg("--no-stack-set");
    }
    command.output().await.expect("vbaws-reconcile runs")
}

/// The command against moto and the simulator, before any flag that chooses what to compare.
fn invocation(moto: &Moto, appliance: &vbaws_sim::Running) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_vbaws-reconcile"));
    command
        .args(["--api-url", &appliance.url()])
        .args(["--cert-sha256", &appliance.identity.fingerprint])
        .args(["--region", "us-east-1"])
        .env_clear()
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    command
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The roles StackSet in moto: a small template with the roles template's `Services`, and an
/// instance in each of `accounts`, with its own `Services` where one is given.
async fn roles_stack_set(config: &vbaws_sdk::SdkConfig, accounts: &[(&String, Option<&str>)]) {
    use aws_sdk_cloudformation::types::Parameter;
    let cloudformation = aws_sdk_cloudformation::Client::new(config);
    let template = "Parameters:\n  Services:\n    Type: String\n    Default: ec2\nResources:\n  Nothing:\n    Type: AWS::CloudFormation::WaitConditionHandle\n";
    cloudformation
        .create_stack_set()
        .stack_set_name("vbaws-veeam-roles")
        .template_body(template)
        .send()
        .await
        .expect("stack set");
    for (account, services) in accounts {
        let mut create = cloudformation
            .create_stack_instances()
            .stack_set_name("vbaws-veeam-roles")
            .accounts(account.as_str())
            .regions("us-east-1");
        if let Some(services) = services {
            create = create.parameter_overrides(
                Parameter::builder()
                    .parameter_key("Services")
                    .parameter_value(*services)
                    .build(),
            );
        }
        create.send().await.expect("instance");
    }
}

/// An Organization drifted in every way the command reports; then `--fix` removes only what
/// AWS says is gone, and `--remove` what the operator names; nothing valid is removed.
#[tokio::test]
async fn the_command_reports_each_drift_and_removes_only_on_strong_evidence() {
    let moto = Moto::start().await.expect("moto");
    let config = sdk_config(&moto).await;
    let organization = Organization::create(&config).await.expect("organization");
    let (org, root) = (&organization.client, organization.root.as_str());
    let workloads = organization.ou(root, "Workloads").await.expect("ou");
    let prod = organization.ou(&workloads, "Prod").await.expect("ou");
    // An OU the StackSet targets too, left off the command line.
    let data = organization.ou(root, "Data").await.expect("ou");
    let account = |name: &'static str, ou: &str| {
        let (organization, ou) = (organization.clone(), ou.to_owned());
        async move { organization.account(name, &ou).await.expect("account") }
    };
    let right = account("right", &workloads).await;
    let overridden = account("overridden", &workloads).await;
    let undeclared = account("undeclared", &workloads).await;
    let unmarked = account("unmarked", &workloads).await;
    let failed = account("failed", &prod).await;
    let closed = account("closed", &workloads).await;
    let leaver = account("leaver", &workloads).await;
    let outside = account("outside", root).await;
    let analytics = account("analytics", &data).await;
    org.close_account()
        .account_id(&closed)
        .send()
        .await
        .expect("close");
    org.remove_account_from_organization()
        .account_id(&leaver)
        .send()
        .await
        .expect("leave");
    roles_stack_set(
        &config,
        &[
            (&right, None),
            (&overridden, Some("ec2,rds")),
            (&undeclared, None),
            (&unmarked, None),
            (&failed, None),
            (&analytics, None),
        ],
    )
    .await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let secret_arn = secrets
        .create_secret()
        .name("vbaws-appliance")
        .secret_string(r#"{"username": "reader", "password": "pw"}"#)
        .send()
        .await
        .expect("secret")
        .arn()
        .expect("arn")
        .to_owned();

    let appliance = simulator().await;
    let sim = &appliance.sim;
    for (owner, purposes) in [
        (&right, &["ec2", "worker"][..]),
        (&overridden, &["ec2", "worker", "rds"]),
        (&undeclared, &["ec2", "worker", "efs"]),
        (&unmarked, &["worker"]),
        (&closed, &["ec2", "worker"]),
        (&leaver, &["ec2"]),
        (&outside, &["ec2"]),
        (&analytics, &["ec2", "worker"]),
    ] {
        for purpose in purposes {
            register(sim, &format!("{owner}-{purpose}"), owner);
        }
    }
    sim.add_role(&format!("{unmarked}-ec2"), &unmarked, "VeeamRole", None);
    sim.add_role("prod backups", &outside, "VeeamRole", None);
    let id_of = |name: String| {
        sim.roles()
            .into_iter()
            .find(|r| r.name == name)
            .expect("registered")
            .id
    };
    sim.mark_in_use(&id_of(format!("{closed}-worker")), "policy 'Nightly EC2'");
    let efs = id_of(format!("{undeclared}-efs"));
    let valid = |sim: &Sim| {
        let names = sim.registration_names();
        let mut kept: Vec<String> = [
            format!("{right}-ec2"),
            format!("{right}-worker"),
            format!("{overridden}-ec2"),
            format!("{overridden}-worker"),
            format!("{overridden}-rds"),
            format!("{undeclared}-ec2"),
            format!("{undeclared}-worker"),
            format!("{unmarked}-ec2"),
            format!("{unmarked}-worker"),
            format!("{analytics}-ec2"),
            format!("{analytics}-worker"),
            "prod backups".to_owned(),
        ]
        .into_iter()
        .filter(|n| !names.contains(n))
        .collect();
        kept.sort();
        kept
    };

    let ou_arg = format!("--ou={workloads}");
    let base = [
        ou_arg.as_str(),
        "--stack-set",
        "vbaws-veeam-roles",
        "--secret-id",
        &secret_arn,
    ];
    let report = command(&moto, &appliance, &base).await;
    let text = stdout(&report);
    assert_eq!(
        report.status.code(),
        Some(1),
        "drift exits 1: {text}\n{}",
        String::from_utf8_lossy(&report.stderr)
    );
    for expected in [
        // moto reports a closed account SUSPENDED, as AWS does for the 90 days after closing.
        format!("{closed}-ec2     orphaned  the account is suspended"),
        format!("{leaver}-ec2     orphaned  the account is not in the organization"),
        format!("{undeclared}-efs orphaned  the roles template declares no such purpose"),
        format!("{failed}  ec2, worker     missing   stack instance"),
        format!("{unmarked}-ec2   foreign   no note of this project"),
        "prod backups".to_owned(),
        format!("--remove {efs}"),
        format!(
            "update-stack-instances --stack-set-name vbaws-veeam-roles --regions us-east-1 --deployment-targets '{{\"AccountFilterType\":\"INTERSECTION\",\"Accounts\":[\"{failed}\"]"
        ),
    ] {
        let squeezed = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            squeezed(&text).contains(&squeezed(&expected)),
            "{expected:?} not in\n{text}"
        );
    }
    for quiet in [&right, &overridden, &analytics, &outside] {
        assert!(
            !text.contains(&format!("{quiet}-")),
            "{quiet} is not drift, or outside the OU given:\n{text}"
        );
    }
    assert_eq!(sim.requests().iter().filter(|r| r.method == "DELETE").count(), 0);

    let json = command(&moto, &appliance, &[&base[..], &["--format", "json"]].concat()).await;
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(json.status.code(), Some(1));
    crate::support::assert_valid(&document);
    assert_eq!(document["drift"]["orphaned"], 4, "{document:#}");
    assert_eq!(document["drift"]["missing"], 2);
    assert_eq!(document["drift"]["foreign"], 2);
    assert_eq!(document["plan"].as_array().map(Vec::len), Some(3), "{document:#}");
    assert_eq!(document["undecided"][0]["registration"]["id"], efs.as_str());

    let fixed = command(&moto, &appliance, &[&base[..], &["--fix"]].concat()).await;
    let text = stdout(&fixed);
    assert_eq!(
        fixed.status.code(),
        Some(1),
        "missing, in use and undecided remain: {text}"
    );
    assert!(text.contains("Removed 2 orphaned registrations."), "{text}");
    assert!(text.contains(&format!("kept     {closed}-worker")), "{text}");
    assert!(
        sim.registration_names().contains(&format!("{undeclared}-efs")),
        "--fix leaves it"
    );
    assert_eq!(valid(sim), Vec::<String>::new(), "nothing valid is removed");

    // The whole Organization: the StackSet's instances alone say which accounts it serves, and
    // an account with none is gone for it; the Data OU's account, with its instance, is right.
    let whole = [
        "--stack-set",
        "vbaws-veeam-roles",
        "--secret-id",
        &secret_arn,
        "--fix",
    ];
    let text = stdout(&command(&moto, &appliance, &whole).await);
    assert!(
        text.contains(&format!("{outside}-ec2")) && text.contains("the roles StackSet has no stack instance"),
        "{text}"
    );
    assert!(text.contains("Removed 1 orphaned registrations."), "{text}");
    assert!(!text.contains(&format!("{analytics}-")), "{text}");
    assert_eq!(valid(sim), Vec::<String>::new(), "nothing valid is removed");

    let removed = command(&moto, &appliance, &[&base[..], &["--remove", &efs]].concat()).await;
    assert!(
        stdout(&removed).contains("Removed 1 orphaned registrations."),
        "{}",
        stdout(&removed)
    );
    assert!(!sim.registration_names().contains(&format!("{undeclared}-efs")));
    let typo = command(
        &moto,
        &appliance,
        &[&base[..], &["--remove", "not-an-orphan"]].concat(),
    )
    .await;
    assert_eq!(typo.status.code(), Some(2), "an ID that is no orphan is refused");
    assert_eq!(valid(sim), Vec::<String>::new(), "nothing valid is removed");
}

#[tokio::test]
async fn the_command_without_drift_exits_0_and_unreadable_facts_exit_2() {
    let moto = Moto::start().await.expect("moto");
    let config = sdk_config(&moto).await;
    let appliance = simulator().await;
    let orgless = command(
        &moto,
        &appliance,
        &["--ou=ou-abcd-12345678", "--secret-id", "nope"],
    )
    .await;
    assert_eq!(orgless.status.code(), Some(2));
    let error = String::from_utf8_lossy(&orgless.stderr);
    assert!(
        error.contains("GetSecretValue failed for secret nope: ResourceNotFoundException"),
        "{error}"
    );

    let organization = Organization::create(&config).await.expect("organization");
    let root = organization.root.as_str();
    let workloads = organization.ou(root, "Workloads").await.expect("ou");
    let member = organization.account("member", &workloads).await.expect("account");
    for purpose in ["ec2", "worker"] {
        register(&appliance.sim, &format!("{member}-{purpose}"), &member);
    }
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    secrets
        .create_secret()
        .name("creds")
        .secret_string(r#"{"username": "reader", "password": "pw"}"#)
        .send()
        .await
        .expect("secret");
    let clean = command(
        &moto,
        &appliance,
        &[&format!("--ou={workloads}"), "--secret-id", "creds"],
    )
    .await;
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));
    assert!(stdout(&clean).starts_with("No drift: each of the 1 active accounts"));

    // Run as the README shows it, the command reads the default StackSet, and says what to do
    // when there is none.
    let defaults = invocation(&moto, &appliance)
        .args(["--secret-id", "creds"])
        .output()
        .await
        .expect("runs");
    let error = String::from_utf8_lossy(&defaults.stderr);
    assert_eq!(defaults.status.code(), Some(2), "{error}");
    assert!(
        error.contains("the StackSet vbaws-veeam-roles does not exist for SELF")
            && error.contains("--no-stack-set"),
        "{error}"
    );

    let no_such_ou = command(
        &moto,
        &appliance,
        &["--ou=ou-zzzz-99999999", "--secret-id", "creds"],
    )
    .await;
    assert_eq!(no_such_ou.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&no_such_ou.stderr).contains("ListAccountsForParent failed"),
        "{}",
        String::from_utf8_lossy(&no_such_ou.stderr)
    );
}

/// An appliance nothing answers for (no tunnel, a wrong port) is said within seconds, with what
/// the command is waiting for meanwhile, not after --timeout-seconds.
#[tokio::test]
async fn a_refused_appliance_is_said_within_seconds_and_the_wait_is_explained() {
    let moto = Moto::start().await.expect("moto");
    let organization = Organization::create(&sdk_config(&moto).await)
        .await
        .expect("organization");
    let workloads = organization
        .ou(&organization.root, "Workloads")
        .await
        .expect("ou");
    let closed = vbaws_testkit::closed_port().expect("port");
    let started = std::time::Instant::now();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_vbaws-reconcile"))
        .args(["--api-url", &format!("https://127.0.0.1:{closed}")])
        .args([
            "--cert-sha256",
            &format!("{}AB", "AB:".repeat(31)),
            "--region",
            "us-east-1",
        ])
        .arg(format!("--ou={workloads}"))
        .arg("--no-stack-set")
        .args([
            "--roles-template",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../../template/roles.yaml"),
        ])
        .env_clear()
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("VEEAM_USERNAME", "reader")
        .env("VEEAM_PASSWORD", "pw")
        .output()
        .await
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "not the 300 s default: {stderr}"
    );
    assert!(stderr.contains("connection failed"), "{stderr}");
    assert!(
        stderr.contains("still reading after 5 s: the appliance's registrations"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_purposes_are_read_from_the_stack_sets_template() {
    let moto = Moto::start().await.expect("moto");
    let config = sdk_config(&moto).await;
    let cloudformation = aws_sdk_cloudformation::Client::new(&config);
    let roles = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../template/roles.yaml"
    ))
    .expect("roles.yaml");
    // The roles template's registrations sit behind its Services conditions: the StackSet's own
    // parameter decides which it declares, its default when the StackSet has none.
    for (name, services, expected) in [
        ("default-services", None, vec!["ec2", "worker"]),
        ("rds-and-efs", Some("rds,efs"), vec!["efs", "rds"]),
    ] {
        let mut create = cloudformation
            .create_stack_set()
            .stack_set_name(name)
            .template_body(&roles)
            .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityNamedIam);
        if let Some(services) = services {
            create = create.parameters(
                aws_sdk_cloudformation::types::Parameter::builder()
                    .parameter_key("Services")
                    .parameter_value(services)
                    .build(),
            );
        }
        create.send().await.expect("stack set");
        let declared = read::declared_stack_set(&cloudformation, name, false)
            .await
            .expect("template");
        assert_eq!(declared.purposes(), expected, "{:?}", declared.parameters);
    }
}
