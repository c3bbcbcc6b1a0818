//! VPC endpoint policies, which the guide's examples leave at their default (full access).
//! An endpoint policy is a resource policy on the endpoint: a call through it must be allowed by
//! it as well as by the caller's role, and an explicit deny wins (the PrivateLink guide,
//! "Control access to VPC endpoints using endpoint policies"). The checker asks each policy the
//! calls workers make, and the S3 endpoint's the calls a repository needs for each bucket.
//!
//! A statement with a `Condition`, or whose `Principal` names someone rather than everyone,
//! may or may not apply to the workers' role: when such a statement decides, the finding is a
//! warning that says so, not an error.

use serde_json::Value;
use vbaws_template::iam::wildcard;

use crate::{
    model::{Endpoint, EndpointKind, Role, Topology},
    rules::{Finding, Rule, error, warning},
};

/// Per interface endpoint service, calls its workers make: from the worker role's and the EC2
/// backup role's lists in `template/permissions/veeam-guide.yaml`, and the backup account's
/// worker list for Kinesis (FLR to the original location).
const WORKER_CALLS: &[(&str, &[&str])] = &[
    (
        "sqs",
        &["sqs:ReceiveMessage", "sqs:SendMessage", "sqs:DeleteMessage"],
    ),
    ("ssm", &["ssm:UpdateInstanceInformation", "ssm:GetParameter"]),
    (
        "ec2messages",
        &["ec2messages:GetMessages", "ec2messages:SendReply"],
    ),
    (
        "ssmmessages",
        &["ssmmessages:CreateControlChannel", "ssmmessages:OpenDataChannel"],
    ),
    ("ebs", &["ebs:ListSnapshotBlocks", "ebs:ListChangedBlocks"]),
    ("kinesis-streams", &["kinesis:PutRecord"]),
];

/// What reading and writing a repository needs: objects, and listing the bucket.
const OBJECT_CALLS: &[&str] = &["s3:GetObject", "s3:PutObject", "s3:DeleteObject"];
const BUCKET_CALLS: &[&str] = &["s3:ListBucket"];

pub(crate) fn check(topology: &Topology, findings: &mut Vec<Finding>) {
    for worker in topology.with_role(Role::Worker) {
        for endpoint in worker
            .endpoints
            .iter()
            .filter(|e| e.kind == EndpointKind::Interface)
        {
            let Some(calls) = WORKER_CALLS
                .iter()
                .find(|(service, _)| *service == endpoint.service)
                .map(|(_, calls)| *calls)
            else {
                continue;
            };
            for action in calls {
                ask(endpoint, &worker.id, action, "*", "workers", findings);
            }
        }
    }
    for repository in topology
        .vpcs
        .iter()
        .filter(|v| matches!(v.role, Role::StandardRepository | Role::ArchiveRepository))
    {
        for endpoint in repository.endpoints.iter().filter(|e| e.service == "s3") {
            if endpoint.policy.is_none() {
                continue;
            }
            if topology.repository_buckets.is_empty() {
                findings.push(warning(
                    Rule::EndpointPolicies,
                    format!(
                        "the S3 endpoint {} of VPC {} has a policy, and the plan names no repository bucket to check it against: list them in repository_buckets",
                        endpoint.id.as_deref().unwrap_or("(no ID)"),
                        repository.id
                    ),
                ));
                continue;
            }
            for bucket in &topology.repository_buckets {
                let calls = OBJECT_CALLS
                    .iter()
                    .map(|a| (*a, format!("arn:aws:s3:::{bucket}/*")))
                    .chain(
                        BUCKET_CALLS
                            .iter()
                            .map(|a| (*a, format!("arn:aws:s3:::{bucket}"))),
                    );
                for (action, resource) in calls {
                    let who = format!("the repository {bucket}");
                    ask(endpoint, &repository.id, action, &resource, &who, findings);
                }
            }
        }
    }
}

fn ask(endpoint: &Endpoint, vpc: &str, action: &str, resource: &str, who: &str, findings: &mut Vec<Finding>) {
    let Some(policy) = &endpoint.policy else {
        return;
    };
    let id = endpoint.id.as_deref().unwrap_or("(no ID)");
    let say = |verb: &str| {
        format!(
            "the policy of the {} endpoint {id} of VPC {vpc} {verb} {action} on {resource}, which {who} need",
            endpoint.service
        )
    };
    let reset = Some(format!(
        "aws ec2 modify-vpc-endpoint --vpc-endpoint-id {id} --reset-policy   # full access; or add an Allow of {action} to the policy"
    ));
    match evaluate(policy, action, resource) {
        Verdict::Allowed => {}
        Verdict::Denied(statement) => findings.push(error(
            Rule::EndpointPolicies,
            say(&format!("denies (statement {statement})")),
            reset,
        )),
        Verdict::NotAllowed => findings.push(error(Rule::EndpointPolicies, say("does not allow"), reset)),
        Verdict::Undecided(statement) => findings.push(warning(
            Rule::EndpointPolicies,
            say(&format!(
                "decides by statement {statement}, whose Condition or Principal the checker cannot evaluate, whether it allows"
            )),
        )),
    }
}

/// What a policy says of one call by an unknown principal of the account.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Allowed,
    /// An explicit deny, naming the statement (its Sid, or its position).
    Denied(String),
    /// No statement allows it.
    NotAllowed,
    /// Statements with conditions or named principals decide.
    Undecided(String),
}

fn evaluate(policy: &Value, action: &str, resource: &str) -> Verdict {
    let statements: Vec<&Value> = match &policy["Statement"] {
        Value::Array(all) => all.iter().collect(),
        one @ Value::Object(_) => vec![one],
        _ => Vec::new(),
    };
    let mut allowed = false;
    let mut uncertain: Option<String> = None;
    for (at, statement) in statements.iter().enumerate() {
        if !matches(statement, "Action", "NotAction", action, true)
            || !matches(statement, "Resource", "NotResource", resource, false)
        {
            continue;
        }
        let name = statement["Sid"]
            .as_str()
            .map_or_else(|| format!("#{}", at + 1), str::to_owned);
        let certain = statement.get("Condition").is_none() && everyone(&statement["Principal"]);
        match (statement["Effect"].as_str(), certain) {
            (Some("Deny"), true) => return Verdict::Denied(name),
            (Some("Allow"), true) => allowed = true,
            (Some("Deny" | "Allow"), false) => {
                uncertain.get_or_insert(name);
            }
            _ => {}
        }
    }
    match (allowed, uncertain) {
        // A conditional deny may still stop what is allowed; a conditional allow may grant it.
        (_, Some(statement)) => Verdict::Undecided(statement),
        (true, None) => Verdict::Allowed,
        (false, None) => Verdict::NotAllowed,
    }
}

/// `"*"`, `{"AWS": "*"}` or a list holding `"*"`; a missing Principal is read as everyone too
/// (an endpoint policy without one is refused by EC2, so this is the lenient reading).
fn everyone(principal: &Value) -> bool {
    match principal {
        Value::Null => true,
        Value::String(s) => s == "*",
        Value::Object(map) => map.get("AWS").is_some_and(|aws| match aws {
            Value::String(s) => s == "*",
            Value::Array(items) => items.iter().any(|i| i == "*"),
            _ => false,
        }),
        _ => false,
    }
}

/// Whether the statement's `key` (or, absent it, its `not_key`) covers `value`.
fn matches(statement: &Value, key: &str, not_key: &str, value: &str, ignore_case: bool) -> bool {
    let patterns = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    };
    let any = |list: Vec<String>| {
        list.iter().any(|p| match ignore_case {
            true => wildcard(&p.to_lowercase(), &value.to_lowercase()),
            false => wildcard(p, value),
        })
    };
    match (statement.get(key), statement.get(not_key)) {
        (Some(listed), _) => any(patterns(listed)),
        (None, Some(excluded)) => !any(patterns(excluded)),
        (None, None) => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_policy_allows_denies_or_cannot_say() {
        let full =
            json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]});
        assert_eq!(evaluate(&full, "sqs:SendMessage", "*"), Verdict::Allowed);

        let buckets = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "Repo", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["s3:Get*", "s3:PutObject"], "Resource": "arn:aws:s3:::veeam-repo/*"},
            {"Sid": "NoDelete", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": "*"}
        ]});
        assert_eq!(
            evaluate(&buckets, "s3:GetObject", "arn:aws:s3:::veeam-repo/a/b"),
            Verdict::Allowed
        );
        assert_eq!(
            evaluate(&buckets, "S3:PUTOBJECT", "arn:aws:s3:::veeam-repo/x"),
            Verdict::Allowed,
            "actions ignore case"
        );
        assert_eq!(
            evaluate(&buckets, "s3:GetObject", "arn:aws:s3:::other/x"),
            Verdict::NotAllowed
        );
        assert_eq!(
            evaluate(&buckets, "s3:ListBucket", "arn:aws:s3:::veeam-repo"),
            Verdict::NotAllowed
        );
        assert_eq!(
            evaluate(&buckets, "s3:DeleteObject", "arn:aws:s3:::veeam-repo/x"),
            Verdict::Denied("NoDelete".into())
        );

        let org_only = json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "sqs:*", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}}});
        assert_eq!(
            evaluate(&org_only, "sqs:ReceiveMessage", "*"),
            Verdict::Undecided("#1".into())
        );

        let not_action = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "NotAction": "ssm:SendCommand", "Resource": "*"}]});
        assert_eq!(evaluate(&not_action, "ssm:GetParameter", "*"), Verdict::Allowed);
        assert_eq!(evaluate(&not_action, "ssm:SendCommand", "*"), Verdict::NotAllowed);
    }
}
