//! roles.yaml grants each role exactly what `template/permissions/veeam-guide.yaml` lists for it,
//! and that file names a source and a date for every list.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

use serde::Deserialize;
use serde_json::Value;
use vbaws_template::Template;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    source: String,
    dated: String,
    #[serde(default)]
    #[allow(dead_code, reason = "read by people")]
    why: Option<String>,
    actions: Vec<String>,
}

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.."))
}

fn guide() -> BTreeMap<String, Vec<Source>> {
    let text = std::fs::read_to_string(root().join("template/permissions/veeam-guide.yaml")).expect("file");
    serde_norway::from_str(&text).expect("valid permissions file")
}

/// Actions compared as IAM compares them: without case.
fn normal(actions: impl IntoIterator<Item = String>) -> BTreeSet<String> {
    actions.into_iter().map(|a| a.to_ascii_lowercase()).collect()
}

/// A statement's actions, one or a list.
fn actions(statement: &Value) -> Vec<String> {
    match &statement["Action"] {
        Value::String(a) => vec![a.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn granted(roles: &Template, policy: &str) -> BTreeSet<String> {
    let resource = roles
        .resource(policy)
        .unwrap_or_else(|| panic!("roles.yaml has no {policy}"));
    let statements = resource.properties["PolicyDocument"]["Statement"]
        .as_array()
        .expect("statements");
    normal(statements.iter().flat_map(actions))
}

#[test]
fn every_policy_grants_exactly_what_its_sources_list() {
    let text = std::fs::read_to_string(root().join("template/roles.yaml")).expect("roles.yaml");
    let roles = Template::from_yaml(&text).expect("template");
    let guide = guide();
    let policies: BTreeSet<&str> = roles
        .resources()
        .filter(|r| r.resource_type == "AWS::IAM::ManagedPolicy")
        .map(|r| r.logical_id)
        .collect();
    assert_eq!(
        policies,
        guide.keys().map(String::as_str).collect(),
        "every managed policy of roles.yaml has its entry in the permissions file, and no other"
    );
    for (policy, sources) in &guide {
        let listed = normal(sources.iter().flat_map(|s| s.actions.clone()));
        let granted = granted(&roles, policy);
        let missing: Vec<_> = listed.difference(&granted).collect();
        let extra: Vec<_> = granted.difference(&listed).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{policy}: roles.yaml misses {missing:?} and grants {extra:?} beyond its sources"
        );
    }
}

#[test]
fn every_list_names_its_source_and_date() {
    for (policy, sources) in guide() {
        for source in sources {
            assert!(
                source.source.starts_with("https://helpcenter.veeam.com/"),
                "{policy}: {}",
                source.source
            );
            assert!(!source.dated.trim().is_empty(), "{policy}: no date");
            assert!(!source.actions.is_empty(), "{policy}: an empty list");
        }
    }
}

/// IAM refuses a managed policy over 6,144 characters, whitespace not counted. Intrinsics are
/// counted as written, a little longer than most of what they resolve to; the margin covers
/// the rest (an ARN that `Fn::Sub` builds).
#[test]
fn every_policy_fits_in_a_managed_policy() {
    let text = std::fs::read_to_string(root().join("template/roles.yaml")).expect("roles.yaml");
    let roles = Template::from_yaml(&text).expect("template");
    for policy in roles
        .resources()
        .filter(|r| r.resource_type == "AWS::IAM::ManagedPolicy")
    {
        let size = policy.properties["PolicyDocument"].to_string().len();
        assert!(
            size < 6_144 - 200,
            "{}: {size} characters; split it (IAM allows 6,144)",
            policy.logical_id
        );
    }
}

/// Whoever holds the appliance's credentials acts through these roles: a role it may pass, or a
/// service-linked role it may create, must be bound to the one service that needs it, or an
/// administrator role of the account could be handed to a restored resource.
#[test]
fn every_pass_role_and_service_linked_role_is_bound_to_its_service() {
    let text = std::fs::read_to_string(root().join("template/roles.yaml")).expect("roles.yaml");
    let roles = Template::from_yaml(&text).expect("template");
    let mut bound = Vec::new();
    for policy in roles
        .resources()
        .filter(|r| r.resource_type == "AWS::IAM::ManagedPolicy")
    {
        for statement in policy.properties["PolicyDocument"]["Statement"]
            .as_array()
            .expect("statements")
        {
            let actions: Vec<String> = normal(actions(statement)).into_iter().collect();
            for (action, key) in [
                ("iam:passrole", "iam:PassedToService"),
                ("iam:createservicelinkedrole", "iam:AWSServiceName"),
            ] {
                if !actions.iter().any(|a| a == action) {
                    continue;
                }
                assert_eq!(
                    actions.len(),
                    1,
                    "{}: {action} shares a statement with other actions, so it cannot have its own condition",
                    policy.logical_id
                );
                let service = statement["Condition"]["StringEquals"][key]
                    .as_str()
                    .unwrap_or_else(|| panic!("{}: {action} without a {key} condition", policy.logical_id));
                assert!(
                    service.ends_with(".amazonaws.com"),
                    "{}: {service}",
                    policy.logical_id
                );
                bound.push((
                    policy.logical_id.to_owned(),
                    action.to_owned(),
                    service.to_owned(),
                ));
            }
        }
    }
    for expected in [
        ("RdsRestorePolicy", "iam:passrole", "rds.amazonaws.com"),
        (
            "RdsRestorePolicy",
            "iam:createservicelinkedrole",
            "rds.amazonaws.com",
        ),
        ("RedshiftRestorePolicy", "iam:passrole", "redshift.amazonaws.com"),
        (
            "RedshiftServerlessRestorePolicy",
            "iam:passrole",
            "redshift-serverless.amazonaws.com",
        ),
        ("Ec2RestorePolicy", "iam:passrole", "ec2.amazonaws.com"),
    ] {
        let expected = (
            expected.0.to_owned(),
            expected.1.to_owned(),
            expected.2.to_owned(),
        );
        assert!(bound.contains(&expected), "{expected:?} not in {bound:?}");
    }
}
