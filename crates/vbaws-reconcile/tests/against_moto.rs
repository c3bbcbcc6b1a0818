//! Reading the facts through the real SDK calls against moto's server (an Organization with a
//! nested OU, an account outside it, one closed; the roles StackSet's instances) and through the
//! REST client against the appliance simulator, then comparing them; and the `vbaws-reconcile`
//! command end to end against both, `--fix` included.

use std::{path::Path, process::Output, time::Duration};

use tokio::time::Instant;
use vbaws_reconcile::{Facts, Problem, Standing, read, reconcile};
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

    let accounts = read::accounts(org, std::slice::from_ref(&workloads))
        .await
        .expect("accounts");
    let find = |id: &str| accounts.iter().find(|x| x.id == id).expect("listed").clone();
    assert!(
        find(&a).in_target && find(&b).in_target,
        "the nested OU counts: {accounts:?}"
    );
    assert!(!find(&outside).in_target);
    assert_ne!(find(&closed).standing, Standing::Active, "{accounts:?}");

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
        ("hand-made".to_owned(), outside.as_str()),
    ] {
        appliance.sim.add_role(&name, account, "VeeamRole", None);
    }
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

    let report = reconcile(&Facts {
        registrations,
        accounts,
        instances,
        purposes: vec!["ec2".into(), "worker".into()],
    });
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

/// Runs the command with moto as every AWS endpoint and no ambient AWS configuration.
async fn command(moto: &Moto, appliance: &vbaws_sim::Running, args: &[&str]) -> Output {
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template/roles.yaml");
    tokio::process::Command::new(env!("CARGO_BIN_EXE_vbaws-reconcile"))
        .args(["--api-url", &appliance.url()])
        .args(["--cert-sha256", &appliance.identity.fingerprint])
        .args(["--roles-template", template.to_str().expect("utf-8")])
        .args(["--region", "us-east-1"])
        .args(args)
        .env_clear()
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .await
        .expect("vbaws-reconcile runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// An Organization drifted in every way the command reports, then `--fix`.
#[tokio::test]
async fn the_command_reports_each_drift_and_fix_removes_exactly_the_orphans_it_may() {
    let moto = Moto::start().await.expect("moto");
    let config = sdk_config(&moto).await;
    let organization = Organization::create(&config).await.expect("organization");
    let (org, root) = (&organization.client, organization.root.as_str());
    let workloads = organization.ou(root, "Workloads").await.expect("ou");
    let prod = organization.ou(&workloads, "Prod").await.expect("ou");
    let right = organization.account("right", &workloads).await.expect("account");
    let failed = organization.account("failed", &prod).await.expect("account");
    let closed = organization.account("closed", &workloads).await.expect("account");
    let leaver = organization.account("leaver", &workloads).await.expect("account");
    let outside = organization.account("outside", root).await.expect("account");
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

    stack_set(
        &config,
        "vbaws-veeam-roles",
        EMPTY_TEMPLATE,
        std::slice::from_ref(&failed),
    )
    .await
    .expect("stack set");
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
    for (name, owner) in [
        (format!("{right}-ec2"), &right),
        (format!("{right}-worker"), &right),
        (format!("{closed}-ec2"), &closed),
        (format!("{closed}-worker"), &closed),
        (format!("{leaver}-ec2"), &leaver),
        (format!("{outside}-ec2"), &outside),
        ("prod backups".to_owned(), &outside),
    ] {
        sim.add_role(&name, owner, "VeeamRole", None);
    }
    let in_use = sim
        .roles()
        .into_iter()
        .find(|r| r.name == format!("{closed}-worker"))
        .expect("registered")
        .id;
    sim.mark_in_use(&in_use, "policy 'Nightly EC2'");

    let ou_arg = format!("--ou={workloads}");
    let report = command(
        &moto,
        &appliance,
        &[
            &ou_arg,
            "--stack-set",
            "vbaws-veeam-roles",
            "--secret-id",
            &secret_arn,
        ],
    )
    .await;
    let text = stdout(&report);
    assert_eq!(
        report.status.code(),
        Some(1),
        "drift exits 1: {text}\n{}",
        String::from_utf8_lossy(&report.stderr)
    );
    for expected in [
        format!("{closed}-ec2"),
        // moto reports a closed account SUSPENDED, as AWS does for the 90 days after closing.
        "orphaned  the account is suspended".to_owned(),
        format!("{leaver}-ec2"),
        "the account is not in the organization".to_owned(),
        format!("{outside}-ec2"),
        "the account is outside the target OUs".to_owned(),
        format!("{failed}  ec2, worker"),
        "missing   stack instance".to_owned(),
        "prod backups".to_owned(),
        format!(
            "update-stack-instances --stack-set-name vbaws-veeam-roles --regions us-east-1 --deployment-targets '{{\"AccountFilterType\":\"INTERSECTION\",\"Accounts\":[\"{failed}\"]"
        ),
    ] {
        assert!(text.contains(&expected), "{expected:?} not in\n{text}");
    }
    assert!(
        !text.contains(&format!("{right}-")),
        "a consistent account is not listed:\n{text}"
    );
    let untouched = sim.requests().iter().filter(|r| r.method == "DELETE").count();
    assert_eq!(untouched, 0, "without --fix nothing is removed");

    let json = command(
        &moto,
        &appliance,
        &[
            &ou_arg,
            "--format",
            "json",
            "--stack-set",
            "vbaws-veeam-roles",
            "--secret-id",
            &secret_arn,
        ],
    )
    .await;
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(json.status.code(), Some(1));
    assert_eq!(document["checked"], 2, "right and failed are active in the OUs");
    assert_eq!(document["drift"]["orphaned"], 4, "{document:#}");
    assert_eq!(document["drift"]["missing"], 2);
    assert_eq!(document["drift"]["foreign"], 1);
    assert_eq!(document["plan"].as_array().map(Vec::len), Some(4));

    // The fix, with the credentials from the environment this time.
    let fixed = tokio::process::Command::new(env!("CARGO_BIN_EXE_vbaws-reconcile"))
        .args([
            "--api-url",
            &appliance.url(),
            "--cert-sha256",
            &appliance.identity.fingerprint,
        ])
        .args([
            "--roles-template",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../template/roles.yaml"),
        ])
        .args([ou_arg.as_str(), "--fix"])
        .env_clear()
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("VEEAM_USERNAME", "reader")
        .env("VEEAM_PASSWORD", "pw")
        .output()
        .await
        .expect("runs");
    let text = stdout(&fixed);
    assert_eq!(fixed.status.code(), Some(1), "missing and in-use remain: {text}");
    assert!(
        text.contains("The plan: remove 4 orphaned registrations"),
        "{text}"
    );
    assert!(text.contains("Removed 3 orphaned registrations."), "{text}");
    assert!(
        text.contains(&format!("kept     {closed}-worker")) && text.contains("Nightly EC2"),
        "{text}"
    );
    assert!(text.contains("give --stack-set to see its instances"), "{text}");
    let left = sim.registration_names();
    let mut expected = vec![
        format!("{right}-ec2"),
        format!("{right}-worker"),
        format!("{closed}-worker"),
        "prod backups".to_owned(),
    ];
    expected.sort();
    assert_eq!(left, expected, "only the orphans that may go are gone");
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
        appliance
            .sim
            .add_role(&format!("{member}-{purpose}"), &member, "VeeamRole", None);
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

#[tokio::test]
async fn the_purposes_are_read_from_the_stack_sets_template() {
    let moto = Moto::start().await.expect("moto");
    let config = sdk_config(&moto).await;
    let cloudformation = aws_sdk_cloudformation::Client::new(&config);
    let roles = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template/roles.yaml"))
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
