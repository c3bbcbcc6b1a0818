//! The limits AWS documents for what the templates declare and what CloudFormation then creates,
//! each with the page that states it. The stand-ins are more lenient than AWS (moto accepts a
//! policy of any size, the player a template of any length): `tests/it/limits.rs` measures every
//! template, and what each creates under the parameter sets the tests use, against this table.

use serde_json::Value;

const CLOUDFORMATION_QUOTAS: &str =
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html";
const CREATE_STACK_SET: &str =
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStackSet.html";
const IAM_QUOTAS: &str = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html";
const LAMBDA_QUOTAS: &str = "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html";
const DYNAMIC_REFERENCES_PAGE: &str =
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references.html";
const CREATE_FUNCTION: &str = "https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html";

/// One documented maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub what: &'static str,
    pub max: usize,
    pub page: &'static str,
}

impl Limit {
    /// `Some(message)` when `measured` is over the limit.
    pub fn breached(&self, subject: &str, measured: usize) -> Option<String> {
        (measured > self.max).then(|| {
            format!(
                "{subject}: {} is {measured}, over AWS's {} ({})",
                self.what, self.max, self.page
            )
        })
    }
}

pub const TEMPLATE_BODY_INLINE: Limit = Limit {
    what: "a template body sent inline (TemplateBody), in bytes",
    max: 51_200,
    page: CREATE_STACK_SET,
};
/// "1 MB": read as 1,000,000 bytes, the stricter reading.
pub const TEMPLATE_BODY_BY_URL: Limit = Limit {
    what: "a template in S3 (TemplateURL), in bytes",
    max: 1_000_000,
    page: CLOUDFORMATION_QUOTAS,
};
pub const TEMPLATE_DESCRIPTION: Limit = Limit {
    what: "the template's Description, in bytes",
    max: 1_024,
    page: CLOUDFORMATION_QUOTAS,
};
pub const RESOURCES: Limit = Limit {
    what: "resources declared",
    max: 500,
    page: CLOUDFORMATION_QUOTAS,
};
pub const PARAMETERS: Limit = Limit {
    what: "parameters declared",
    max: 200,
    page: CLOUDFORMATION_QUOTAS,
};
pub const OUTPUTS: Limit = Limit {
    what: "outputs declared",
    max: 200,
    page: CLOUDFORMATION_QUOTAS,
};
pub const MAPPINGS: Limit = Limit {
    what: "mappings declared",
    max: 200,
    page: CLOUDFORMATION_QUOTAS,
};
pub const MAPPING_ATTRIBUTES: Limit = Limit {
    what: "attributes of one mapping",
    max: 200,
    page: CLOUDFORMATION_QUOTAS,
};
pub const DYNAMIC_REFERENCES: Limit = Limit {
    what: "dynamic references in a template",
    max: 60,
    page: DYNAMIC_REFERENCES_PAGE,
};
pub const NAME_IN_TEMPLATE: Limit = Limit {
    what: "a logical ID, parameter, mapping or output name, in characters",
    max: 255,
    page: CLOUDFORMATION_QUOTAS,
};
pub const PARAMETER_VALUE: Limit = Limit {
    what: "a parameter's value, in bytes",
    max: 4_096,
    page: CLOUDFORMATION_QUOTAS,
};
pub const ROLE_NAME: Limit = Limit {
    what: "a role name, in characters",
    max: 64,
    page: IAM_QUOTAS,
};
pub const INSTANCE_PROFILE_NAME: Limit = Limit {
    what: "an instance profile name, in characters",
    max: 128,
    page: IAM_QUOTAS,
};
pub const PATH: Limit = Limit {
    what: "an IAM path, in characters",
    max: 512,
    page: IAM_QUOTAS,
};
/// The default quota (it can be raised); the templates must fit the default.
pub const TRUST_POLICY: Limit = Limit {
    what: "a role trust policy, in characters without white space",
    max: 2_048,
    page: IAM_QUOTAS,
};
pub const MANAGED_POLICY: Limit = Limit {
    what: "a managed policy, in characters without white space",
    max: 6_144,
    page: IAM_QUOTAS,
};
pub const INLINE_POLICIES_PER_ROLE: Limit = Limit {
    what: "a role's inline policies together, in characters without white space",
    max: 10_240,
    page: IAM_QUOTAS,
};
/// The default quota (it can be raised); the templates must fit the default.
pub const MANAGED_POLICIES_PER_ROLE: Limit = Limit {
    what: "managed policies attached to a role",
    max: 10,
    page: IAM_QUOTAS,
};
/// "4 KB for all environment variables, in aggregate": measured as the JSON of the map, which
/// counts a little more than the keys and values alone.
pub const LAMBDA_ENVIRONMENT: Limit = Limit {
    what: "a function's environment variables, in bytes",
    max: 4_096,
    page: LAMBDA_QUOTAS,
};
pub const LAMBDA_LAYERS: Limit = Limit {
    what: "layers of a function",
    max: 5,
    page: LAMBDA_QUOTAS,
};
pub const LAMBDA_DESCRIPTION: Limit = Limit {
    what: "a function's Description, in characters",
    max: 256,
    page: CREATE_FUNCTION,
};
pub const LAMBDA_FUNCTION_NAME: Limit = Limit {
    what: "a function's name, in characters",
    max: 64,
    page: CREATE_FUNCTION,
};

/// Every limit above, for the README's table.
pub const ALL: &[Limit] = &[
    TEMPLATE_BODY_INLINE,
    TEMPLATE_BODY_BY_URL,
    TEMPLATE_DESCRIPTION,
    RESOURCES,
    PARAMETERS,
    OUTPUTS,
    MAPPINGS,
    MAPPING_ATTRIBUTES,
    DYNAMIC_REFERENCES,
    NAME_IN_TEMPLATE,
    PARAMETER_VALUE,
    ROLE_NAME,
    INSTANCE_PROFILE_NAME,
    PATH,
    TRUST_POLICY,
    MANAGED_POLICY,
    INLINE_POLICIES_PER_ROLE,
    MANAGED_POLICIES_PER_ROLE,
    LAMBDA_ENVIRONMENT,
    LAMBDA_LAYERS,
    LAMBDA_DESCRIPTION,
    LAMBDA_FUNCTION_NAME,
];

/// A policy document's size as IAM counts it: its JSON without white space.
pub fn policy_size(document: &Value) -> usize {
    document
        .to_string()
        .chars()
        .filter(|c| !c.is_whitespace())
        .count()
}

/// The breaches of the template's own declarations (counts, names, sizes of the text).
pub fn declared(subject: &str, text: &str, body: &Value, sent: &Limit) -> Vec<String> {
    let count = |key: &str| body[key].as_object().map_or(0, serde_json::Map::len);
    let mut breaches: Vec<String> = [
        sent.breached(subject, text.len()),
        RESOURCES.breached(subject, count("Resources")),
        PARAMETERS.breached(subject, count("Parameters")),
        OUTPUTS.breached(subject, count("Outputs")),
        MAPPINGS.breached(subject, count("Mappings")),
        TEMPLATE_DESCRIPTION.breached(subject, body["Description"].as_str().map_or(0, str::len)),
        DYNAMIC_REFERENCES.breached(subject, text.matches("{{resolve:").count()),
    ]
    .into_iter()
    .flatten()
    .collect();
    for (mapping, attributes) in body["Mappings"].as_object().into_iter().flatten() {
        let most = attributes
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(_, a)| a.as_object().map(serde_json::Map::len))
            .max()
            .unwrap_or(0);
        breaches.extend(MAPPING_ATTRIBUTES.breached(&format!("{subject} mapping {mapping}"), most));
    }
    for (name, parameter) in body["Parameters"].as_object().into_iter().flatten() {
        let declared = parameter["MaxLength"]
            .as_u64()
            .and_then(|n| usize::try_from(n).ok());
        breaches.extend(
            declared.and_then(|n| PARAMETER_VALUE.breached(&format!("{subject} {name}'s MaxLength"), n)),
        );
    }
    for section in ["Resources", "Parameters", "Mappings", "Outputs"] {
        for name in body[section].as_object().into_iter().flatten().map(|(k, _)| k) {
            breaches.extend(NAME_IN_TEMPLATE.breached(&format!("{subject} {section}.{name}"), name.len()));
        }
    }
    breaches
}

/// The breaches of what a stack creates: `resources` are (logical ID, type, resolved properties).
pub fn created(subject: &str, resources: &[(String, String, Value)]) -> Vec<String> {
    let mut breaches = Vec::new();
    let text = |v: &Value| v.as_str().map_or(0, |s| s.chars().count());
    for (id, kind, properties) in resources {
        let at = format!("{subject} {id}");
        match kind.as_str() {
            "AWS::IAM::Role" => {
                breaches.extend(ROLE_NAME.breached(&at, text(&properties["RoleName"])));
                breaches.extend(PATH.breached(&at, text(&properties["Path"])));
                breaches
                    .extend(TRUST_POLICY.breached(&at, policy_size(&properties["AssumeRolePolicyDocument"])));
                let inline: usize = resources
                    .iter()
                    .filter(|(_, k, p)| {
                        (k == "AWS::IAM::Policy" || k == "AWS::IAM::RolePolicy")
                            && names_role(p, id, properties)
                    })
                    .map(|(_, _, p)| policy_size(&p["PolicyDocument"]))
                    .chain(
                        properties["Policies"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|p| policy_size(&p["PolicyDocument"])),
                    )
                    .sum();
                breaches.extend(INLINE_POLICIES_PER_ROLE.breached(&at, inline));
                let managed = properties["ManagedPolicyArns"].as_array().map_or(0, Vec::len)
                    + resources
                        .iter()
                        .filter(|(_, k, p)| k == "AWS::IAM::ManagedPolicy" && names_role(p, id, properties))
                        .count();
                breaches.extend(MANAGED_POLICIES_PER_ROLE.breached(&at, managed));
            }
            "AWS::IAM::ManagedPolicy" => {
                breaches.extend(MANAGED_POLICY.breached(&at, policy_size(&properties["PolicyDocument"])));
            }
            "AWS::IAM::InstanceProfile" => {
                breaches
                    .extend(INSTANCE_PROFILE_NAME.breached(&at, text(&properties["InstanceProfileName"])));
            }
            "AWS::Lambda::Function" => {
                let environment = properties["Environment"]["Variables"].to_string().len();
                breaches.extend(LAMBDA_ENVIRONMENT.breached(&at, environment));
                breaches
                    .extend(LAMBDA_LAYERS.breached(&at, properties["Layers"].as_array().map_or(0, Vec::len)));
                breaches.extend(LAMBDA_DESCRIPTION.breached(&at, text(&properties["Description"])));
                breaches.extend(LAMBDA_FUNCTION_NAME.breached(&at, text(&properties["FunctionName"])));
            }
            _ => {}
        }
    }
    breaches
}

/// Whether a policy resource's `Roles` names the role (by its name, as `Ref` gives it).
fn names_role(policy: &Value, id: &str, role: &Value) -> bool {
    let name = role["RoleName"].as_str().unwrap_or(id);
    policy["Roles"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r.as_str() == Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_breach_names_the_subject_the_limit_and_its_page() {
        let message = ROLE_NAME.breached("roles.yaml Ec2Role", 65).expect("over");
        assert!(
            message.contains("roles.yaml Ec2Role") && message.contains("64") && message.contains(IAM_QUOTAS)
        );
        assert_eq!(ROLE_NAME.breached("x", 64), None);
    }

    #[test]
    fn policy_size_ignores_white_space_as_iam_does() {
        let document = serde_json::json!({"Statement": [{"Effect": "Allow", "Action": "s3:Get Object"}]});
        assert_eq!(policy_size(&document), document.to_string().len() - 1);
    }

    #[test]
    fn a_role_counts_its_managed_policies_and_inline_policies_together() {
        let role = serde_json::json!({"RoleName": "r", "ManagedPolicyArns": vec!["arn"; 9]});
        let big = serde_json::json!({"Statement": "x".repeat(6_000)});
        let mut resources = vec![("Role".to_owned(), "AWS::IAM::Role".to_owned(), role)];
        for i in 0..2 {
            resources.push((
                format!("Managed{i}"),
                "AWS::IAM::ManagedPolicy".to_owned(),
                serde_json::json!({"Roles": ["r"], "PolicyDocument": {}}),
            ));
            resources.push((
                format!("Inline{i}"),
                "AWS::IAM::Policy".to_owned(),
                serde_json::json!({"Roles": ["r"], "PolicyDocument": big}),
            ));
        }
        let breaches = created("t", &resources);
        assert_eq!(breaches.len(), 2, "{breaches:#?}");
        assert!(breaches[0].contains("inline policies") && breaches[1].contains("managed policies attached"));
    }
}
