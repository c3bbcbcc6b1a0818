//! The comparison, case by case: each way an Organization drifts from the appliance is named
//! with its reason, and what is right or not ours stays out of the drift.

use std::path::Path;

use vbaws_reconcile::{
    Account, Facts, Problem, Registration, StackInstance, Standing, declared_purposes, reconcile,
};

fn purposes() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template/roles.yaml");
    let template = vbaws_template::Template::from_yaml(&std::fs::read_to_string(path).expect("roles.yaml"))
        .expect("template");
    declared_purposes(&template)
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
