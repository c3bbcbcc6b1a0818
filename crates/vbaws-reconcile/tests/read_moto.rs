//! Reading the facts through the real SDK calls against moto's server (an Organization with a
//! nested OU, an account outside it, one closed; the roles StackSet's instances) and through the
//! REST client against the appliance simulator, then comparing them.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use tokio::time::Instant;
use vbaws_reconcile::{Facts, Problem, Standing, read, reconcile};
use vbaws_sim::{Config, Sim, User};
use vbaws_testkit::Moto;

async fn sdk(moto: &Moto) -> SdkConfig {
    use aws_smithy_http_client::{Builder, tls};
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(
            Builder::new()
                .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
                .build_https(),
        )
        .region(Region::new("us-east-1"))
        .endpoint_url(moto.endpoint())
        .credentials_provider(aws_sdk_organizations::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await
}

async fn account(org: &aws_sdk_organizations::Client, name: &str, root: &str, parent: &str) -> String {
    let id = org
        .create_account()
        .account_name(name)
        .email(format!("{name}@example.com"))
        .send()
        .await
        .expect("account")
        .create_account_status()
        .and_then(|s| s.account_id())
        .expect("account id")
        .to_owned();
    if parent != root {
        org.move_account()
            .account_id(&id)
            .source_parent_id(root)
            .destination_parent_id(parent)
            .send()
            .await
            .expect("move");
    }
    id
}

async fn ou(org: &aws_sdk_organizations::Client, parent: &str, name: &str) -> String {
    org.create_organizational_unit()
        .parent_id(parent)
        .name(name)
        .send()
        .await
        .expect("ou")
        .organizational_unit()
        .and_then(|u| u.id())
        .expect("ou id")
        .to_owned()
}

#[tokio::test]
async fn facts_read_from_moto_and_the_simulator_show_the_drift() {
    let moto = Moto::start().await.expect("moto");
    let config = sdk(&moto).await;
    let org = aws_sdk_organizations::Client::new(&config);
    org.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("organization");
    let root = org.list_roots().send().await.expect("roots").roots()[0]
        .id()
        .expect("root id")
        .to_owned();
    let workloads = ou(&org, &root, "Workloads").await;
    let nested = ou(&org, &workloads, "Prod").await;
    let a = account(&org, "a", &root, &workloads).await;
    let b = account(&org, "b", &root, &nested).await;
    let outside = account(&org, "sandbox", &root, &root).await;
    let closed = account(&org, "closed", &root, &workloads).await;
    org.close_account()
        .account_id(&closed)
        .send()
        .await
        .expect("close");

    let accounts = read::accounts(&org, std::slice::from_ref(&workloads))
        .await
        .expect("accounts");
    let find = |id: &str| accounts.iter().find(|x| x.id == id).expect("listed").clone();
    assert!(
        find(&a).in_target && find(&b).in_target,
        "the nested OU counts: {accounts:?}"
    );
    assert!(!find(&outside).in_target);
    assert_ne!(find(&closed).standing, Standing::Active, "{accounts:?}");

    let below = read::accounts_below(&org, &workloads).await.expect("below");
    assert!(below.iter().any(|(id, _)| *id == b), "{below:?}");

    // The roles StackSet, with an instance in account a.
    let cloudformation = aws_sdk_cloudformation::Client::new(&config);
    cloudformation
        .create_stack_set()
        .stack_set_name("vbaws-veeam-roles")
        .template_body("Resources:\n  Nothing:\n    Type: AWS::CloudFormation::WaitConditionHandle\n")
        .send()
        .await
        .expect("stack set");
    cloudformation
        .create_stack_instances()
        .stack_set_name("vbaws-veeam-roles")
        .accounts(&a)
        .regions("us-east-1")
        .send()
        .await
        .expect("instances");
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
