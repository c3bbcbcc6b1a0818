//! The comparison, case by case: each way an Organization drifts from the appliance is named
//! with its reason, and what is right or not ours stays out of the drift.

use std::path::Path;

use vbaws_client::MadeBy;
use vbaws_reconcile::{
    Account, Drift, Facts, Foreign, Options, Problem, Purposes, Registration, RetryTarget, StackInstance,
    Standing, WorkerConfiguration, declared_purposes, fix, retry_commands,
};

fn purposes() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../template/roles.yaml");
    let template = vbaws_template::Template::from_yaml(&std::fs::read_to_string(path).expect("roles.yaml"))
        .expect("template");
    declared_purposes(&template, &[])
}

fn reconcile(facts: &Facts) -> vbaws_reconcile::Report {
    vbaws_reconcile::reconcile(facts, Options::default())
}

/// A registration the configurator made: named `<account>-<purpose>`, with its note.
fn registration(name: &str, account: &str) -> Registration {
    Registration {
        id: format!("id-{name}"),
        name: name.to_owned(),
        account: Some(account.to_owned()),
        role_name: Some("VeeamRole".to_owned()),
        description: Some(MadeBy::new("arn:aws:cloudformation:r:1:stack/s/uuid", "Reg").describe(None)),
    }
}

fn account(id: &str, standing: Standing, in_target: bool) -> Account {
    Account {
        id: id.to_owned(),
        standing,
        in_target,
        in_scope: true,
    }
}

fn instance(account: &str) -> StackInstance {
    StackInstance {
        account: account.into(),
        region: "eu-west-1".into(),
        status: "CURRENT".into(),
        reason: None,
        overrides: Vec::new(),
    }
}

fn both(id: &str) -> Vec<Registration> {
    vec![
        registration(&format!("{id}-ec2"), id),
        registration(&format!("{id}-worker"), id),
    ]
}

#[test]
fn the_roles_template_declares_the_ec2_and_worker_purposes() {
    assert_eq!(purposes(), ["ec2", "worker"]);
}

#[test]
fn a_consistent_organization_has_no_drift() {
    let facts = Facts {
        registrations: [both("111111111111"), both("222222222222")].concat(),
        accounts: vec![
            account("111111111111", Standing::Active, true),
            account("222222222222", Standing::Active, true),
            account("999999999999", Standing::Active, false),
        ],
        instances: None,
        purposes: Purposes::same(purposes()),
        target_ous: Vec::new(),
        management_account: None,
        ..Facts::default()
    };
    let report = reconcile(&facts);
    assert!(!report.has_drift(), "{report:#?}");
}

#[test]
fn every_kind_of_orphan_is_named_with_its_reason() {
    let mut registrations = both("111111111111");
    registrations.extend(both("222222222222"));
    registrations.extend(both("333333333333"));
    registrations.extend(both("444444444444"));
    registrations.push(registration("555555555555-rds", "555555555555"));
    let facts = Facts {
        registrations,
        accounts: vec![
            // 111… left the organization: it is not listed.
            account("222222222222", Standing::Suspended, true),
            account("333333333333", Standing::Closed, true),
            account("444444444444", Standing::Active, false),
            account("555555555555", Standing::Active, true),
        ],
        instances: None,
        purposes: Purposes::same(purposes()),
        target_ous: Vec::new(),
        management_account: None,
        ..Facts::default()
    };
    let report = reconcile(&facts);
    let orphans: Vec<(&str, Problem)> = report
        .accounts
        .iter()
        .flat_map(|a| a.orphans.iter().map(|(r, p)| (r.name.as_str(), *p)))
        .collect();
    assert_eq!(
        orphans,
        [
            ("111111111111-ec2", Problem::OutsideOrganization),
            ("111111111111-worker", Problem::OutsideOrganization),
            ("222222222222-ec2", Problem::Inactive(Standing::Suspended)),
            ("222222222222-worker", Problem::Inactive(Standing::Suspended)),
            ("333333333333-ec2", Problem::Inactive(Standing::Closed)),
            ("333333333333-worker", Problem::Inactive(Standing::Closed)),
            ("444444444444-ec2", Problem::OutsideTarget),
            ("444444444444-worker", Problem::OutsideTarget),
            ("555555555555-rds", Problem::UndeclaredPurpose),
        ]
    );
    assert_eq!(
        Problem::Inactive(Standing::Closed).to_string(),
        "the account is closed"
    );
}

#[test]
fn missing_registrations_carry_the_stack_instances_reason() {
    let facts = Facts {
        registrations: vec![registration("111111111111-ec2", "111111111111")],
        accounts: vec![
            account("111111111111", Standing::Active, true),
            account("222222222222", Standing::Active, true),
            account("333333333333", Standing::Suspended, true),
        ],
        instances: Some(vec![StackInstance {
            status: "INOPERABLE".into(),
            reason: Some(
                "Account 222222222222 should have 'AWSCloudFormationStackSetExecutionRole' role".into(),
            ),
            ..instance("222222222222")
        }]),
        purposes: Purposes::same(purposes()),
        target_ous: Vec::new(),
        management_account: None,
        ..Facts::default()
    };
    let report = reconcile(&facts);
    let missing: Vec<(&str, Vec<String>, Option<&str>)> = report
        .accounts
        .iter()
        .map(|a| {
            (
                a.account.as_str(),
                a.missing.clone(),
                a.instance.as_ref().and_then(|i| i.reason.as_deref()),
            )
        })
        .collect();
    assert_eq!(
        missing,
        [
            ("111111111111", vec!["worker".to_owned()], None),
            (
                "222222222222",
                vec!["ec2".to_owned(), "worker".to_owned()],
                Some("Account 222222222222 should have 'AWSCloudFormationStackSetExecutionRole' role")
            ),
        ],
        "a suspended account is not expected to be registered"
    );
}

#[test]
fn registrations_not_made_by_this_project_are_listed_and_not_drift() {
    let mut registrations = both("111111111111");
    registrations.push(registration("prod backups", "111111111111"));
    registrations.push(Registration {
        id: "default".into(),
        name: "Default Backup Restore".into(),
        account: None,
        role_name: Some("Default Backup Restore".into()),
        description: Some("Default Backup Restore".into()),
    });
    let facts = Facts {
        registrations,
        accounts: vec![account("111111111111", Standing::Active, true)],
        instances: None,
        purposes: Purposes::same(purposes()),
        target_ous: Vec::new(),
        management_account: None,
        ..Facts::default()
    };
    let report = reconcile(&facts);
    assert!(!report.has_drift(), "{report:#?}");
    let foreign: Vec<(&str, Foreign)> = report
        .foreign
        .iter()
        .map(|(r, f)| (r.name.as_str(), *f))
        .collect();
    assert_eq!(
        foreign,
        [("prod backups", Foreign::NotOurName)],
        "the appliance's own role is neither"
    );
}

#[test]
fn organizations_states_and_statuses_map_to_standings() {
    for (state, status, standing) in [
        (None, Some("ACTIVE"), Standing::Active),
        (None, Some("SUSPENDED"), Standing::Suspended),
        (None, Some("PENDING_CLOSURE"), Standing::PendingClosure),
        (Some("CLOSED"), Some("SUSPENDED"), Standing::Closed),
        (Some("ACTIVE"), None, Standing::Active),
        (Some("PENDING_ACTIVATION"), None, Standing::Other),
    ] {
        assert_eq!(
            Standing::from_organizations(state, status),
            standing,
            "{state:?} {status:?}"
        );
    }
}

/// One account of each kind: right, left the organization, closed, missing one purpose with a
/// failed instance, missing both without an instance, and a foreign registration.
fn mixed() -> Facts {
    let mut registrations = both("111111111111");
    registrations.extend(both("222222222222"));
    registrations.extend(both("333333333333"));
    registrations.push(registration("444444444444-ec2", "444444444444"));
    registrations.push(registration("prod backups", "111111111111"));
    Facts {
        registrations,
        accounts: vec![
            account("111111111111", Standing::Active, true),
            account("333333333333", Standing::Closed, true),
            account("444444444444", Standing::Active, true),
            account("555555555555", Standing::Active, true),
        ],
        instances: Some(vec![
            instance("111111111111"),
            StackInstance {
                status: "OUTDATED (FAILED)".into(),
                reason: Some("ResourceLogicalId:WorkerRegistration, ResourceStatusReason:the appliance could not assume role".into()),
                ..instance("444444444444")
            },
        ]),
        purposes: Purposes::same(purposes()),
        target_ous: vec!["ou-ab12-workloads".into()],
        management_account: None,
        ..Facts::default()
    }
}

#[test]
fn the_drift_counts_are_what_the_metrics_publish() {
    let report = reconcile(&mixed());
    assert_eq!(report.checked, 3, "active accounts of the target OUs");
    assert_eq!(
        report.drift(),
        Drift {
            accounts: 4,
            orphaned: 4,
            missing: 3,
            foreign: 1
        }
    );
}

#[test]
fn the_text_report_names_every_drift_with_its_reason() {
    let text = reconcile(&mixed()).to_string();
    assert!(
        text.starts_with("Drift: 4 orphaned, 3 missing (3 active accounts of the target OUs checked)."),
        "{text}"
    );
    for line in [
        "222222222222  222222222222-ec2     orphaned  the account is not in the organization",
        "333333333333  333333333333-worker  orphaned  the account is closed",
        "444444444444  worker               missing   stack instance OUTDATED (FAILED): ResourceLogicalId:WorkerRegistration",
        "555555555555  ec2, worker          missing   no stack instance",
        "111111111111  prod backups         foreign   not named <account>-<purpose>",
    ] {
        assert!(text.contains(line), "{line:?} not in\n{text}");
    }
    let clean = reconcile(&Facts {
        registrations: both("111111111111"),
        accounts: vec![account("111111111111", Standing::Active, true)],
        instances: None,
        purposes: Purposes::same(purposes()),
        target_ous: Vec::new(),
        management_account: None,
        ..Facts::default()
    });
    assert_eq!(
        clean.to_string().trim(),
        "No drift: each of the 1 active accounts of the target OUs has its registrations, and no registration is orphaned."
    );
}

#[test]
fn the_fix_plans_every_orphan_and_nothing_else() {
    let plan = fix::plan(&reconcile(&mixed()));
    let names: Vec<&str> = plan.iter().map(|r| r.registration.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "222222222222-ec2",
            "222222222222-worker",
            "333333333333-ec2",
            "333333333333-worker"
        ],
        "the foreign registration and the right ones stay"
    );
}

#[test]
fn missing_registrations_get_the_command_that_retries_their_stack_instances() {
    let ous = ["ou-ab12-workloads".to_owned()];
    let commands = retry_commands(
        &reconcile(&mixed()),
        RetryTarget {
            stack_set: "vbaws-veeam-roles",
            target_ous: &ous,
            region: "us-east-1",
            delegated_admin: true,
        },
    );
    assert_eq!(
        commands,
        [
            r#"aws cloudformation update-stack-instances --stack-set-name vbaws-veeam-roles --regions eu-west-1 --deployment-targets '{"AccountFilterType":"INTERSECTION","Accounts":["444444444444"],"OrganizationalUnitIds":["ou-ab12-workloads"]}' --call-as DELEGATED_ADMIN"#,
            r#"aws cloudformation create-stack-instances --stack-set-name vbaws-veeam-roles --regions us-east-1 --deployment-targets '{"AccountFilterType":"INTERSECTION","Accounts":["555555555555"],"OrganizationalUnitIds":["ou-ab12-workloads"]}' --call-as DELEGATED_ADMIN"#,
        ]
    );
}

fn orphans(report: &vbaws_reconcile::Report) -> Vec<(String, Problem)> {
    report
        .accounts
        .iter()
        .flat_map(|a| a.orphans.iter().map(|(r, p)| (r.name.clone(), *p)))
        .collect()
}

#[test]
fn with_the_stacksets_instances_an_account_without_one_is_gone_and_one_with_one_is_not() {
    let facts = Facts {
        registrations: [both("444444444444"), both("666666666666")].concat(),
        accounts: vec![
            account("444444444444", Standing::Active, false),
            // Outside the OUs given, but the StackSet still has its instance there.
            account("666666666666", Standing::Active, false),
        ],
        instances: Some(vec![instance("666666666666")]),
        purposes: Purposes::same(purposes()),
        target_ous: Vec::new(),
        management_account: None,
        ..Facts::default()
    };
    let report = reconcile(&facts);
    assert_eq!(
        orphans(&report),
        [
            ("444444444444-ec2".to_owned(), Problem::NoStackInstance),
            ("444444444444-worker".to_owned(), Problem::NoStackInstance),
        ]
    );
    assert_eq!(
        report.checked, 1,
        "the account with an instance is expected, wherever it is"
    );
}

#[test]
fn an_instances_overrides_declare_its_own_purposes() {
    let mut registrations = both("555555555555");
    registrations.push(registration("555555555555-rds", "555555555555"));
    let mut facts = Facts {
        registrations,
        accounts: vec![account("555555555555", Standing::Active, true)],
        instances: Some(vec![instance("555555555555")]),
        purposes: Purposes::same(purposes()),
        target_ous: Vec::new(),
        management_account: None,
        ..Facts::default()
    };
    assert_eq!(
        orphans(&reconcile(&facts)),
        [("555555555555-rds".to_owned(), Problem::UndeclaredPurpose)]
    );
    facts.purposes.accounts.insert(
        "555555555555".into(),
        vec!["ec2".into(), "rds".into(), "worker".into()],
    );
    assert!(
        !reconcile(&facts).has_drift(),
        "its Services override declares rds"
    );
}

#[test]
fn the_ous_given_narrow_the_comparison_and_never_widen_it() {
    let mut facts = Facts {
        registrations: [both("111111111111"), both("222222222222"), both("777777777777")].concat(),
        accounts: vec![
            account("111111111111", Standing::Active, true),
            Account {
                in_scope: false,
                ..account("222222222222", Standing::Active, true)
            },
            Account {
                in_scope: false,
                ..account("333333333333", Standing::Active, true)
            },
        ],
        instances: Some(vec![instance("111111111111"), instance("222222222222")]),
        purposes: Purposes::same(purposes()),
        target_ous: Vec::new(),
        management_account: None,
        ..Facts::default()
    };
    let report = reconcile(&facts);
    // 222… and 333… are outside the OUs given: neither orphaned nor missing. 777… left the
    // Organization: it is in no OU, so no OU can leave it out.
    let names: Vec<String> = orphans(&report).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["777777777777-ec2", "777777777777-worker"]);
    assert_eq!(report.checked, 1);
    facts.accounts[1].in_scope = true;
    assert_eq!(reconcile(&facts).checked, 2);
}

#[test]
fn a_name_alone_is_not_this_projects_mark() {
    let mut unmarked = registration("111111111111-ec2", "111111111111");
    unmarked.description = Some("EC2 role, registered by hand".into());
    let closed = Registration {
        description: None,
        ..registration("333333333333-ec2", "333333333333")
    };
    let facts = Facts {
        registrations: vec![
            unmarked,
            registration("111111111111-worker", "111111111111"),
            closed,
        ],
        accounts: vec![
            account("111111111111", Standing::Active, true),
            account("333333333333", Standing::Closed, true),
        ],
        instances: None,
        purposes: Purposes::same(purposes()),
        target_ous: Vec::new(),
        management_account: None,
        ..Facts::default()
    };
    let report = reconcile(&facts);
    assert!(
        !report.has_drift(),
        "an unmarked registration still counts as there: {report:#?}"
    );
    let foreign: Vec<(&str, Foreign)> = report
        .foreign
        .iter()
        .map(|(r, f)| (r.name.as_str(), *f))
        .collect();
    assert_eq!(
        foreign,
        [
            ("111111111111-ec2", Foreign::Unmarked),
            ("333333333333-ec2", Foreign::Unmarked)
        ]
    );
    let adopted = vbaws_reconcile::reconcile(&facts, Options { adopt_unmarked: true });
    assert_eq!(
        orphans(&adopted),
        [("333333333333-ec2".to_owned(), Problem::Inactive(Standing::Closed))],
        "--adopt-unmarked takes the operator's word for it"
    );
}

#[test]
fn the_fix_removes_only_what_aws_says_is_gone() {
    let mut registrations = both("222222222222");
    registrations.extend(both("444444444444"));
    registrations.push(registration("555555555555-rds", "555555555555"));
    registrations.extend(both("555555555555"));
    registrations.extend(both("888888888888"));
    let facts = Facts {
        registrations,
        accounts: vec![
            account("444444444444", Standing::Active, false),
            account("555555555555", Standing::Active, true),
            account("888888888888", Standing::Suspended, true),
        ],
        instances: Some(vec![instance("555555555555")]),
        purposes: Purposes::same(purposes()),
        target_ous: Vec::new(),
        management_account: None,
        ..Facts::default()
    };
    let report = reconcile(&facts);
    let planned: Vec<(String, Problem)> = fix::plan(&report)
        .into_iter()
        .map(|r| (r.registration.name, r.problem))
        .collect();
    assert_eq!(
        planned,
        [
            ("222222222222-ec2".to_owned(), Problem::OutsideOrganization),
            ("222222222222-worker".to_owned(), Problem::OutsideOrganization),
            ("444444444444-ec2".to_owned(), Problem::NoStackInstance),
            ("444444444444-worker".to_owned(), Problem::NoStackInstance),
            (
                "888888888888-ec2".to_owned(),
                Problem::Inactive(Standing::Suspended)
            ),
            (
                "888888888888-worker".to_owned(),
                Problem::Inactive(Standing::Suspended)
            ),
        ]
    );
    let undecided = fix::undecided(&report);
    assert_eq!(undecided.len(), 1);
    assert_eq!(undecided[0].registration.name, "555555555555-rds");
    assert!(
        report.to_string().contains("--remove id-555555555555-rds"),
        "{report}"
    );
    let chosen = fix::chosen(&report, &["id-555555555555-rds".into()]).expect("an orphan");
    assert_eq!(chosen, undecided);
    let refused = fix::chosen(&report, &["id-555555555555-ec2".into()]).expect_err("not an orphan");
    assert!(refused.contains("not an orphaned registration"), "{refused}");
}

#[test]
fn the_management_account_is_not_deployable_rather_than_missing() {
    let facts = Facts {
        registrations: both("111111111111"),
        accounts: vec![
            account("111111111111", Standing::Active, true),
            account("999999999999", Standing::Active, true),
        ],
        instances: Some(vec![instance("111111111111")]),
        purposes: Purposes::same(purposes()),
        target_ous: Vec::new(),
        management_account: Some("999999999999".into()),
        ..Facts::default()
    };
    let report = reconcile(&facts);
    assert!(!report.has_drift(), "{report:#?}");
    assert_eq!(report.not_deployable, ["999999999999"]);
    assert_eq!(report.checked, 1);
    let text = report.to_string();
    assert!(
        text.lines()
            .any(|l| l.starts_with("999999999999") && l.contains("not deployable  the management account")),
        "{text}"
    );
}

/// Worker configurations: one of a closed account goes with the registration it names (its only
/// mark of this project); an account that should have one and does not is missing it; one of
/// an account the StackSet still covers is never an orphan (the wizard may have made it).
#[test]
fn worker_configurations_are_compared_and_go_only_with_their_registration() {
    let worker = |id: &str, account: &str, role_id: &str| WorkerConfiguration {
        id: id.to_owned(),
        account: account.to_owned(),
        role_id: role_id.to_owned(),
    };
    let mut registrations = both("111111111111");
    registrations.extend(both("333333333333"));
    registrations.push(registration("333333333333-worker-config", "333333333333"));
    let facts = Facts {
        registrations,
        accounts: vec![
            account("111111111111", Standing::Active, true),
            account("222222222222", Standing::Active, true),
            account("333333333333", Standing::Closed, true),
        ],
        purposes: Purposes::same(purposes()),
        worker_configurations: Some(vec![
            worker("w1", "111111111111", "id-111111111111-ec2"),
            worker("w3", "333333333333", "id-333333333333-worker-config"),
        ]),
        workers_declared: true,
        ..Facts::default()
    };
    let report = reconcile(&facts);
    let closed = report
        .accounts
        .iter()
        .find(|a| a.account == "333333333333")
        .expect("drift");
    assert_eq!(
        closed.orphan_workers,
        [(
            worker("w3", "333333333333", "id-333333333333-worker-config"),
            Problem::Inactive(Standing::Closed)
        )]
    );
    let missing: Vec<&str> = report
        .accounts
        .iter()
        .filter(|a| a.missing_workers)
        .map(|a| a.account.as_str())
        .collect();
    assert_eq!(missing, ["222222222222"], "111… has one, 333… is gone");
    assert!(
        report
            .accounts
            .iter()
            .all(|a| a.account == "333333333333" || a.orphan_workers.is_empty())
    );
    assert_eq!(
        report.drift().missing,
        3,
        "222…'s ec2, worker and worker configuration"
    );

    let plan = fix::plan(&report);
    let with_workers: Vec<(&str, Vec<&str>)> = plan
        .iter()
        .map(|r| {
            (
                r.registration.name.as_str(),
                r.workers.iter().map(|w| w.id.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(
        with_workers,
        [
            ("333333333333-ec2", vec![]),
            ("333333333333-worker", vec![]),
            ("333333333333-worker-config", vec!["w3"]),
        ]
    );
    let text = report.to_string();
    assert!(text.contains("worker configuration w3"), "{text}");
    assert!(text.contains("WorkerNetwork is Parameters"), "{text}");

    // Unknown when the appliance offers no listing: nothing is said about them.
    let unlisted = reconcile(&Facts {
        worker_configurations: None,
        ..facts
    });
    assert!(
        unlisted
            .accounts
            .iter()
            .all(|a| !a.missing_workers && a.orphan_workers.is_empty())
    );
}
