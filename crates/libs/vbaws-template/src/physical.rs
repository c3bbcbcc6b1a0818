//! What CloudFormation names an AWS resource and what `Ref` and `Fn::GetAtt` return for it, for
//! the resource types our templates create. Nothing is created: the names only have to be what
//! AWS would make them, so that what refers to them (a StackSet's parameters, a trust policy's
//! principal, a stack output) reads as it would in a real stack.
//!
//! Each type's "Return values" section of the CloudFormation template reference says what `Ref`
//! and `Fn::GetAtt` give. A name the template does not set is generated from the stack's name,
//! the logical ID and a random suffix ("Name type" in the template reference; IAM and Lambda
//! keep it within 64 characters); the suffix here is fixed, which real ones are not.

use std::{
    collections::BTreeMap,
    hash::{DefaultHasher, Hash, Hasher},
};

use serde_json::Value;

/// The random part of a generated name, fixed so that tests can name what the player makes.
pub const GENERATED_SUFFIX: &str = "1A2B3C4D";
/// The longest generated name (IAM role and Lambda function names are at most 64 characters).
const LONGEST_GENERATED: usize = 64;

/// A recorded resource: what `Ref` returns and what `Fn::GetAtt` can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Physical {
    pub reference: String,
    pub attributes: Vec<(&'static str, String)>,
}

/// `pseudo` holds the stack's pseudo parameters (`AWS::StackName`, `AWS::Region`, …).
pub(crate) fn physical(
    pseudo: &BTreeMap<String, String>,
    logical_id: &str,
    resource_type: &str,
    properties: &Value,
) -> Physical {
    let get = |name: &str| pseudo.get(name).map_or("", String::as_str);
    let (partition, region, account) = (get("AWS::Partition"), get("AWS::Region"), get("AWS::AccountId"));
    let named = |property: &str| {
        properties.get(property).and_then(Value::as_str).map_or_else(
            || generated_name(get("AWS::StackName"), logical_id),
            str::to_owned,
        )
    };
    let path = properties.get("Path").and_then(Value::as_str).unwrap_or("/");
    let arn = |service: &str, region: &str, rest: String| {
        format!("arn:{partition}:{service}:{region}:{account}:{rest}")
    };
    let (reference, attributes) = match resource_type {
        "AWS::IAM::Role" => {
            let name = named("RoleName");
            let arn = arn("iam", "", format!("role{path}{name}"));
            (name, vec![("Arn", arn), ("RoleId", id("AROA", logical_id))])
        }
        "AWS::IAM::InstanceProfile" => {
            let name = named("InstanceProfileName");
            let arn = arn("iam", "", format!("instance-profile{path}{name}"));
            (name, vec![("Arn", arn)])
        }
        // Ref returns the policy's ARN.
        "AWS::IAM::ManagedPolicy" => {
            let arn = arn("iam", "", format!("policy{path}{}", named("ManagedPolicyName")));
            (arn.clone(), vec![("PolicyArn", arn)])
        }
        "AWS::Lambda::Function" => {
            let name = named("FunctionName");
            let arn = arn("lambda", region, format!("function:{name}"));
            (name, vec![("Arn", arn)])
        }
        "AWS::Logs::LogGroup" => {
            let name = named("LogGroupName");
            let arn = arn("logs", region, format!("log-group:{name}:*"));
            (name, vec![("Arn", arn)])
        }
        // Ref returns the ARN; Secrets Manager appends six random characters to the name.
        "AWS::SecretsManager::Secret" => {
            let arn = arn(
                "secretsmanager",
                region,
                format!("secret:{}-AbCdEf", named("Name")),
            );
            (arn.clone(), vec![("Id", arn)])
        }
        "AWS::SNS::Topic" => {
            let arn = arn("sns", region, named("TopicName"));
            (
                arn.clone(),
                vec![("TopicArn", arn.clone()), ("TopicName", named("TopicName"))],
            )
        }
        "AWS::EC2::SecurityGroup" => {
            let group = id("sg-", logical_id);
            (group.clone(), vec![("GroupId", group)])
        }
        "AWS::EC2::VPCEndpoint" => (id("vpce-", logical_id), Vec::new()),
        // Ref returns the StackSet's ID, its name and a UUID.
        "AWS::CloudFormation::StackSet" => {
            let name = named("StackSetName");
            let stack_set_id = format!("{name}:{}", uuid_like(logical_id));
            (stack_set_id.clone(), vec![("StackSetId", stack_set_id)])
        }
        // The rest: a generated name, and an ARN of the usual shape. A guess, unused by what
        // our templates read.
        other => {
            let name = generated_name(get("AWS::StackName"), logical_id);
            let service = other.split("::").nth(1).unwrap_or_default().to_ascii_lowercase();
            let arn = arn(
                &service,
                region,
                format!("{}/{name}", logical_id.to_ascii_lowercase()),
            );
            (name, vec![("Arn", arn)])
        }
    };
    Physical {
        reference,
        attributes,
    }
}

/// `<stack>-<logical ID>-<suffix>`, the stack's name shortened to keep it within 64 characters.
pub fn generated_name(stack_name: &str, logical_id: &str) -> String {
    let fixed = logical_id.len() + GENERATED_SUFFIX.len() + 2;
    let room = LONGEST_GENERATED.saturating_sub(fixed);
    let stack: String = stack_name.chars().take(room).collect();
    format!("{stack}-{logical_id}-{GENERATED_SUFFIX}")
}

/// A resource ID in AWS's shape (`sg-` and 17 hex digits), the same for the same logical ID.
fn id(prefix: &str, logical_id: &str) -> String {
    let mut hasher = DefaultHasher::new();
    logical_id.hash(&mut hasher);
    let digits = format!("{:016x}{:x}", hasher.finish(), logical_id.len() % 16);
    format!("{prefix}{digits}")
}

fn uuid_like(logical_id: &str) -> String {
    let digits = id("", logical_id) + &id("", &logical_id.to_ascii_uppercase());
    format!(
        "{}-{}-{}-{}-{}",
        &digits[..8],
        &digits[8..12],
        &digits[12..16],
        &digits[16..20],
        &digits[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo() -> BTreeMap<String, String> {
        [
            ("AWS::Partition", "aws"),
            ("AWS::Region", "eu-west-1"),
            ("AWS::AccountId", "111111111111"),
            ("AWS::StackName", "vbaws-lambdas"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn unnamed_roles_are_named_after_the_stack_and_functions_after_their_name() {
        let role = physical(&pseudo(), "ConfiguratorRole", "AWS::IAM::Role", &Value::Null);
        assert_eq!(role.reference, "vbaws-lambdas-ConfiguratorRole-1A2B3C4D");
        assert_eq!(
            role.attributes[0],
            (
                "Arn",
                "arn:aws:iam::111111111111:role/vbaws-lambdas-ConfiguratorRole-1A2B3C4D".to_owned()
            )
        );
        let function = physical(
            &pseudo(),
            "ConfiguratorFunction",
            "AWS::Lambda::Function",
            &serde_json::json!({"FunctionName": "vbaws-veeam-configurator"}),
        );
        assert_eq!(function.reference, "vbaws-veeam-configurator");
        assert_eq!(
            function.attributes[0].1,
            "arn:aws:lambda:eu-west-1:111111111111:function:vbaws-veeam-configurator"
        );
    }

    #[test]
    fn generated_names_stay_within_64_characters_and_keep_the_logical_id() {
        let name = generated_name(&"s".repeat(128), "AVeryLongLogicalIdForAResource");
        assert_eq!(name.len(), 64);
        assert!(
            name.ends_with("-AVeryLongLogicalIdForAResource-1A2B3C4D"),
            "{name}"
        );
    }

    #[test]
    fn security_groups_have_ids_of_their_own() {
        let a = physical(&pseudo(), "A", "AWS::EC2::SecurityGroup", &Value::Null);
        let b = physical(&pseudo(), "B", "AWS::EC2::SecurityGroup", &Value::Null);
        assert!(a.reference.starts_with("sg-") && a.reference.len() == 20, "{a:?}");
        assert_ne!(a.reference, b.reference);
    }
}
