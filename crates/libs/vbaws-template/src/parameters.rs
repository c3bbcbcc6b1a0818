//! Parameter values checked against their declarations, as CloudFormation checks them before it
//! evaluates the Rules: a value for every parameter without a default, and each value within
//! its `AllowedValues`, `AllowedPattern`, `MinLength`/`MaxLength` and `MinValue`/`MaxValue`
//! (the template reference's "Parameters" page: for a CommaDelimitedList, the pattern and the
//! allowed values apply to each item; a pattern must match the whole value).

use regex::Regex;
use serde_json::Value;

use crate::{Context, Error, Template};

/// A parameter value CloudFormation refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedParameter {
    pub parameter: String,
    pub problem: String,
}

impl Template {
    /// Every parameter whose value CloudFormation refuses, by name.
    pub fn refused_parameters(&self, context: &Context) -> Result<Vec<RefusedParameter>, Error> {
        let mut refused = Vec::new();
        for (name, declared) in self.body["Parameters"].as_object().into_iter().flatten() {
            let refuse = |problem: String| RefusedParameter {
                parameter: name.clone(),
                problem,
            };
            let Some(value) = context.parameters.get(name) else {
                refused.push(refuse("must have a value (it has no Default)".to_owned()));
                continue;
            };
            let kind = declared["Type"].as_str().unwrap_or("String");
            if let Some(problem) = check(declared, kind, value)? {
                refused.push(refuse(problem));
            }
        }
        Ok(refused)
    }
}

fn check(declared: &Value, kind: &str, value: &str) -> Result<Option<String>, Error> {
    let list = kind == "CommaDelimitedList";
    // An empty list has no item to check (a guess: the reference does not say).
    let items: Vec<&str> = match (list, value) {
        (true, "") => Vec::new(),
        (true, _) => value.split(',').collect(),
        (false, _) => vec![value],
    };
    if let Some(allowed) = declared["AllowedValues"].as_array() {
        let allowed: Vec<String> = allowed.iter().filter_map(crate::scalar).collect();
        if let Some(item) = items.iter().find(|item| !allowed.iter().any(|a| a == *item)) {
            return Ok(Some(format!(
                "{item:?} is not one of its AllowedValues ({})",
                allowed.join(", ")
            )));
        }
    }
    if let Some(pattern) = declared["AllowedPattern"].as_str() {
        let whole = Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|e| Error::Unsupported(format!("AllowedPattern {pattern:?}: {e}")))?;
        if let Some(item) = items.iter().find(|item| !whole.is_match(item)) {
            return Ok(Some(format!(
                "{item:?} does not match its AllowedPattern {pattern}"
            )));
        }
    }
    if kind == "String" {
        let length = value.chars().count();
        let bound = |key: &str| {
            declared[key]
                .as_u64()
                .or_else(|| declared[key].as_str()?.parse().ok())
        };
        if let Some(max) = bound("MaxLength").filter(|max| length as u64 > *max) {
            return Ok(Some(format!(
                "is {length} characters long, over its MaxLength {max}"
            )));
        }
        if let Some(min) = bound("MinLength").filter(|min| (length as u64) < *min) {
            return Ok(Some(format!(
                "is {length} characters long, under its MinLength {min}"
            )));
        }
    }
    if kind == "Number" {
        let Ok(number) = value.parse::<f64>() else {
            return Ok(Some(format!("{value:?} is not a number")));
        };
        let bound = |key: &str| {
            declared[key]
                .as_f64()
                .or_else(|| declared[key].as_str()?.parse().ok())
        };
        if let Some(max) = bound("MaxValue").filter(|max| number > *max) {
            return Ok(Some(format!("{value} is over its MaxValue {max}")));
        }
        if let Some(min) = bound("MinValue").filter(|min| number < *min) {
            return Ok(Some(format!("{value} is under its MinValue {min}")));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use crate::{Context, Template};

    const TEMPLATE: &str = r#"
Parameters:
  Address: { Type: String, AllowedPattern: "^$|^(\\d{1,3}\\.){3}\\d{1,3}/32$", Default: "" }
  Mode: { Type: String, AllowedValues: [Report, Enforce], Default: Report }
  Services: { Type: CommaDelimitedList, AllowedValues: [ec2, rds], Default: ec2 }
  Name: { Type: String, MaxLength: 5 }
  Port: { Type: Number, MinValue: 1, MaxValue: 65535, Default: 443 }
Resources:
  Nothing: { Type: AWS::CloudFormation::WaitConditionHandle }
"#;

    fn refused(parameters: &[(&str, &str)]) -> Vec<String> {
        let template = Template::from_yaml(TEMPLATE).expect("template");
        let context = Context::for_stack(&template, "111111111111", "us-east-1", "s", parameters);
        template
            .refused_parameters(&context)
            .expect("checked")
            .into_iter()
            .map(|r| format!("{}: {}", r.parameter, r.problem))
            .collect()
    }

    #[test]
    fn values_within_their_declarations_pass() {
        assert_eq!(
            refused(&[
                ("Name", "abc"),
                ("Address", "10.0.1.20/32"),
                ("Services", "ec2,rds")
            ]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn each_declaration_refuses_what_it_does_not_allow() {
        assert_eq!(refused(&[]), ["Name: must have a value (it has no Default)"]);
        assert_eq!(
            refused(&[
                ("Name", "abcdef"),
                ("Address", "10.0.1.20"),
                ("Mode", "Audit"),
                ("Services", "ec2,efs"),
                ("Port", "0"),
            ]),
            [
                "Address: \"10.0.1.20\" does not match its AllowedPattern ^$|^(\\d{1,3}\\.){3}\\d{1,3}/32$",
                "Mode: \"Audit\" is not one of its AllowedValues (Report, Enforce)",
                "Name: is 6 characters long, over its MaxLength 5",
                "Port: 0 is under its MinValue 1",
                "Services: \"efs\" is not one of its AllowedValues (ec2, rds)",
            ]
        );
    }
}
