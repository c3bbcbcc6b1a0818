//! The JSON document follows its published schema, `schemas/vbaws-reconcile.v1.json`, for
//! every reason there is: a reason or field added without the schema fails here.

use crate::support::{assert_valid, schema};
use vbaws_reconcile::{
    AccountReport, Foreign, Problem, Report, StackInstance, Standing, WorkerConfiguration,
    fix::{Fixed, Removal},
    wire::{Document, Reason, SCHEMA},
};

fn registration(account: &str, purpose: &str) -> vbaws_reconcile::Registration {
    vbaws_reconcile::Registration {
        id: format!("{account}-{purpose}-id"),
        name: format!("{account}-{purpose}"),
        account: Some(account.to_owned()),
        role_name: Some(format!("vbaws-{purpose}")),
        description: None,
    }
}

const EVERY_PROBLEM: &[Problem] = &[
    Problem::OutsideOrganization,
    Problem::Inactive(Standing::Suspended),
    Problem::Inactive(Standing::PendingClosure),
    Problem::Inactive(Standing::Closed),
    Problem::Inactive(Standing::Other),
    Problem::NoStackInstance,
    Problem::OutsideTarget,
    Problem::UndeclaredPurpose,
];

fn worker(account: &str) -> WorkerConfiguration {
    WorkerConfiguration {
        id: "5f0c2a8e-3b1d-4c6e-9a7f-0123456789ab".to_owned(),
        account: account.to_owned(),
        role_id: "d98f4d37-7874-4be1-9702-770078f5c9cd".to_owned(),
    }
}

#[test]
fn every_reason_and_field_is_in_the_schema() {
    let account = "111111111111";
    let orphans: Vec<_> = EVERY_PROBLEM
        .iter()
        .enumerate()
        .map(|(i, p)| (registration(account, &format!("p{i}")), *p))
        .collect();
    let report = Report {
        checked: 3,
        accounts: vec![
            AccountReport {
                account: account.to_owned(),
                orphans: orphans.clone(),
                missing: vec!["rds".to_owned()],
                instance: Some(StackInstance {
                    account: account.to_owned(),
                    region: "eu-west-1".to_owned(),
                    status: "INOPERABLE/FAILED".to_owned(),
                    reason: Some("ResourceLogicalId:Ec2Registration".to_owned()),
                    overrides: vec![("Services".to_owned(), "ec2,rds".to_owned())],
                }),
                orphan_workers: vec![(worker(account), Problem::Inactive(Standing::Closed))],
                missing_workers: false,
            },
            AccountReport {
                account: "222222222222".to_owned(),
                missing: vec!["ec2".to_owned()],
                missing_workers: true,
                ..AccountReport::default()
            },
        ],
        foreign: vec![
            (registration("333333333333", "hand-made"), Foreign::NotOurName),
            (registration("333333333333", "ec2"), Foreign::Unmarked),
        ],
        not_deployable: vec!["999999999999".to_owned()],
    };
    let removals: Vec<Removal> = orphans
        .iter()
        .map(|(registration, problem)| Removal {
            registration: registration.clone(),
            problem: *problem,
            workers: vec![worker(account)],
        })
        .collect();
    let mut own = registration(account, "appliance");
    own.account = None;
    let fixed = Fixed {
        removed: vec![own],
        in_use: vec![(registration(account, "p0"), "used by policy daily".to_owned())],
        changed: vec![(registration(account, "p1"), "it is already gone".to_owned())],
        failed: vec![(registration(account, "p2"), "503".to_owned())],
        removed_workers: vec![worker(account)],
        failed_workers: vec![(worker(account), "503".to_owned())],
    };
    let retry = vec!["aws cloudformation update-stack-instances …".to_owned()];
    let document = Document {
        fixed: Some(&fixed),
        retry_commands: &retry,
        ..Document::new(&report, &removals[..3], &removals[3..])
    };
    let json = serde_json::to_value(&document).expect("serializes");
    assert_eq!(json["schema"], SCHEMA);
    assert_eq!(json["accounts"][0]["orphans"][1]["reason"], "account-suspended");
    assert_eq!(
        json["accounts"][0]["instance"]["overrides"]["Services"],
        "ec2,rds"
    );
    assert_eq!(
        json["accounts"][0]["orphan_workers"][0]["reason"],
        "account-closed"
    );
    assert_eq!(json["accounts"][1]["missing_workers"], true);
    assert_valid(&json);

    // Each slug is its own, and the schema refuses one it does not list.
    let slugs: std::collections::BTreeSet<&str> = EVERY_PROBLEM.iter().map(Reason::slug).collect();
    assert_eq!(slugs.len(), EVERY_PROBLEM.len());
    let mut unknown = json.clone();
    unknown["plan"][0]["reason"] = "account-gone".into();
    let validator = jsonschema::validator_for(&schema()).expect("schema");
    assert!(!validator.is_valid(&unknown));
    let mut extra = json;
    extra["accounts"][0]["surprise"] = true.into();
    assert!(
        !validator.is_valid(&extra),
        "fields outside the schema are refused"
    );
}

#[test]
fn a_report_without_drift_is_valid_too() {
    let report = Report::default();
    let json = serde_json::to_value(Document::new(&report, &[], &[])).expect("serializes");
    assert_valid(&json);
    assert_eq!(json["fixed"], serde_json::Value::Null);
}
