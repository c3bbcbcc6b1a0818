//! The comparison, case by case: each way an Organization drifts from the appliance is named
//! with its reason, and what is right or not ours stays out of the drift.

use std::path::Path;

use vbaws_reconcile::{
    Account, Drift, Facts, Problem, Registration, RetryTarget, StackInstance, Standing, declared_purposes,
    fix, reconcile, retry_commands,
};

fn purposes() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template/roles.yaml");
    let template = vbaws_template::Template::from_yaml(&std::fs::read_to_string(path).expect("roles.yaml"))
        .expect("template");
    declared_purposes(&template, &[])
}

fn registration(name: &str, account: &str) -> Registration {
    Registration {
        id: format!("id-{name}"),
        name: name.to_owned(),
        account: Some(account.to_owned()),
        role_name: Some("VeeamRole".to_owned()),
    }
}

fn account(id: &str, standing: Standing, in_target: bool) -> Account {
    Account {
        id: id.to_owned(),
        standing,
        in_target,
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
        instances: Vec::new(),
        purposes: purposes(),
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
        instances: Vec::new(),
        purposes: purposes(),
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
        instances: vec![StackInstance {
            account: "222222222222".into(),
            region: "eu-west-1".into(),
            status: "INOPERABLE".into(),
            reason: Some(
                "Account 222222222222 should have 'AWSCloudFormationStackSetExecutionRole' role".into(),
            ),
        }],
        purposes: purposes(),
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
    });
    let facts = Facts {
        registrations,
        accounts: vec![account("111111111111", Standing::Active, true)],
        instances: Vec::new(),
        purposes: purposes(),
    };
    let report = reconcile(&facts);
    assert!(!report.has_drift(), "{report:#?}");
    let foreign: Vec<&str> = report.foreign.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(foreign, ["prod backups"], "the appliance's own role is neither");
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
        instances: vec![StackInstance {
            account: "444444444444".into(),
            region: "eu-west-1".into(),
            status: "OUTDATED (FAILED)".into(),
            reason: Some("ResourceLogicalId:WorkerRegistration, ResourceStatusReason:the appliance could not assume role".into()),
        }],
        purposes: purposes(),
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
        text.starts_with(
            "Drift: 4 orphaned registrations, 3 missing (3 active accounts of the target OUs checked)."
        ),
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
        instances: Vec::new(),
        purposes: purposes(),
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
