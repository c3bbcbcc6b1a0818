//! The part of IAM's policy evaluation the stand-in needs, read from a role's resolved template
//! properties: may this caller assume the role (its trust policy), and may a session of the
//! role call this action on this resource (its inline policies).
//!
//! Deliberately narrow: Allow statements only, `Principal.AWS` as an account, its root or an
//! ARN, and conditions on `aws:PrincipalArn` with the ARN and string operators. Anything else in
//! a statement (a Deny, another condition key, managed policies) makes that statement grant
//! nothing, so the stand-in refuses where it cannot tell, as IAM's default deny does.

use serde_json::Value;
use vbaws_template::iam::wildcard;

/// Whether `role`'s trust policy lets `caller` (a principal ARN, such as an execution role's)
/// call `sts:AssumeRole`.
pub(crate) fn trusts(role: &Value, caller: &str) -> bool {
    let caller_account = caller.split(':').nth(4).unwrap_or_default();
    statements(&role["AssumeRolePolicyDocument"]).any(|statement| {
        allows_action(statement, "sts:AssumeRole")
            && strings(&statement["Principal"]["AWS"]).any(|principal| {
                principal == caller
                    || principal == caller_account
                    || principal.strip_suffix(":root").and_then(|p| p.split(':').nth(4))
                        == Some(caller_account)
            })
            && conditions_hold(&statement["Condition"], caller)
    })
}

/// Whether a session of `role` may call `action` on `resource`, by the role's inline policies.
pub(crate) fn allows(role: &Value, action: &str, resource: &str) -> bool {
    role["Policies"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|policy| statements(&policy["PolicyDocument"]))
        .any(|statement| {
            allows_action(statement, action)
                && strings(&statement["Resource"]).any(|pattern| wildcard(pattern, resource))
                && statement.get("Condition").is_none()
        })
}

fn statements(document: &Value) -> impl Iterator<Item = &Value> {
    let statement = &document["Statement"];
    let list: Vec<&Value> = match statement {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![statement],
        _ => Vec::new(),
    };
    list.into_iter().filter(|s| s["Effect"] == "Allow")
}

fn allows_action(statement: &Value, action: &str) -> bool {
    strings(&statement["Action"])
        .any(|pattern| wildcard(&pattern.to_ascii_lowercase(), &action.to_ascii_lowercase()))
}

/// Every condition must hold; only `aws:PrincipalArn` is known.
fn conditions_hold(condition: &Value, caller: &str) -> bool {
    let Some(operators) = condition.as_object() else {
        return condition.is_null();
    };
    operators.iter().all(|(operator, keys)| {
        keys.as_object().is_some_and(|keys| {
            keys.iter().all(|(key, values)| {
                key.eq_ignore_ascii_case("aws:PrincipalArn")
                    && match operator.as_str() {
                        "ArnEquals" | "StringEquals" => strings(values).any(|v| v == caller),
                        "ArnLike" | "StringLike" => strings(values).any(|v| wildcard(v, caller)),
                        _ => false,
                    }
            })
        })
    })
}

fn strings(value: &Value) -> impl Iterator<Item = &str> {
    let list: Vec<&str> = match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    list.into_iter()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const CONFIGURATOR: &str = "arn:aws:iam::111111111111:role/vbaws-lambdas-ConfiguratorRole-1A2B";

    fn role(principal: Value, condition: Value) -> Value {
        json!({
            "AssumeRolePolicyDocument": {"Statement": [{
                "Effect": "Allow", "Principal": {"AWS": principal},
                "Action": "sts:AssumeRole", "Condition": condition,
            }]},
            "Policies": [{"PolicyDocument": {"Statement": [{
                "Effect": "Allow",
                "Action": ["cloudformation:DescribeStackResource"],
                "Resource": "arn:aws:cloudformation:us-east-1:222222222222:stack/StackSet-x-1/*",
            }]}}],
        })
    }

    #[test]
    fn the_trust_admits_the_named_principal_only() {
        let pinned = role(
            json!("arn:aws:iam::111111111111:root"),
            json!({"ArnEquals": {"aws:PrincipalArn": CONFIGURATOR}}),
        );
        assert!(trusts(&pinned, CONFIGURATOR));
        assert!(!trusts(&pinned, "arn:aws:iam::111111111111:role/other"));
        assert!(!trusts(
            &pinned,
            "arn:aws:iam::333333333333:role/vbaws-lambdas-ConfiguratorRole-1A2B"
        ));
        let account = role(json!("111111111111"), Value::Null);
        assert!(trusts(&account, "arn:aws:iam::111111111111:role/any"));
        assert!(!trusts(&account, "arn:aws:iam::333333333333:role/any"));
        let unknown = role(
            json!("111111111111"),
            json!({"StringEquals": {"aws:SourceVpc": "v"}}),
        );
        assert!(!trusts(&unknown, CONFIGURATOR));
    }

    #[test]
    fn a_session_may_call_what_its_policy_names_on_the_resources_it_names() {
        let role = role(json!("111111111111"), Value::Null);
        let own = "arn:aws:cloudformation:us-east-1:222222222222:stack/StackSet-x-1/abc";
        assert!(allows(&role, "cloudformation:DescribeStackResource", own));
        assert!(!allows(&role, "cloudformation:DescribeStackEvents", own));
        assert!(!allows(
            &role,
            "cloudformation:DescribeStackResource",
            "arn:aws:cloudformation:us-east-1:222222222222:stack/other/abc"
        ));
    }
}
