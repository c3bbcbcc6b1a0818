//! Resolving intrinsic functions, as CloudFormation does while it creates a stack.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::{Error, Template};

/// What intrinsics resolve against: parameter values, pseudo parameters, the physical IDs of
/// resources (what `Ref` returns) and their attributes (what `Fn::GetAtt` returns).
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub parameters: BTreeMap<String, String>,
    /// `AWS::AccountId`, `AWS::Region`, `AWS::StackName`, …
    pub pseudo: BTreeMap<String, String>,
    pub refs: BTreeMap<String, String>,
    pub attributes: BTreeMap<(String, String), String>,
    /// The Parameter Store of the stack's account and Region, which dynamic references
    /// (`{{resolve:ssm:<name>}}`) read.
    pub ssm: BTreeMap<String, String>,
}

impl Context {
    /// A context for `template` in a stack of `account`, `region`: parameter defaults overlaid
    /// with `parameters`.
    pub fn for_stack(
        template: &Template,
        account: &str,
        region: &str,
        stack_name: &str,
        parameters: &[(&str, &str)],
    ) -> Self {
        let mut values = template.parameter_defaults();
        values.extend(parameters.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let partition = crate::event::partition(region);
        let pseudo = BTreeMap::from([
            ("AWS::AccountId".to_owned(), account.to_owned()),
            ("AWS::Region".to_owned(), region.to_owned()),
            ("AWS::Partition".to_owned(), partition.to_owned()),
            ("AWS::URLSuffix".to_owned(), "amazonaws.com".to_owned()),
            ("AWS::StackName".to_owned(), stack_name.to_owned()),
            (
                "AWS::StackId".to_owned(),
                crate::event::stack_id(account, region, stack_name),
            ),
            ("AWS::NoValue".to_owned(), String::new()),
        ]);
        Self {
            parameters: values,
            pseudo,
            refs: BTreeMap::new(),
            attributes: BTreeMap::new(),
            ssm: BTreeMap::new(),
        }
    }

    /// Resolves every intrinsic in `value`. Properties set to `AWS::NoValue` disappear.
    pub fn resolve(&self, template: &Template, value: &Value) -> Result<Value, Error> {
        match value {
            Value::Object(map) if map.len() == 1 => {
                let (key, arg) = map.iter().next().expect("one entry");
                match key.as_str() {
                    "Ref" => {
                        let name = arg.as_str().unwrap_or_default();
                        let value = self.reference(name)?;
                        // A list parameter's Ref is a list, as CloudFormation gives it.
                        Ok(if is_list_parameter(template, name) {
                            Value::Array(value.split(',').map(|v| Value::String(v.to_owned())).collect())
                        } else {
                            Value::String(value)
                        })
                    }
                    "Fn::GetAtt" => {
                        let part = |i: usize| arg.get(i).and_then(Value::as_str).unwrap_or_default();
                        self.attribute(part(0), part(1)).map(Value::String)
                    }
                    "Fn::Sub" => self.sub(template, arg).map(Value::String),
                    "Fn::If" => {
                        let condition = arg[0].as_str().unwrap_or_default();
                        let branch = if self.condition(template, condition)? {
                            &arg[1]
                        } else {
                            &arg[2]
                        };
                        self.resolve(template, branch)
                    }
                    "Fn::Join" => {
                        let separator = arg[0].as_str().unwrap_or_default();
                        let items = self.resolve(template, &arg[1])?;
                        let parts: Vec<String> = list(&items).into_iter().collect();
                        Ok(Value::String(parts.join(separator)))
                    }
                    "Fn::Split" => {
                        let separator = arg[0].as_str().unwrap_or_default();
                        let source = text_of(&self.resolve(template, &arg[1])?);
                        Ok(Value::Array(
                            source
                                .split(separator)
                                .map(|part| Value::String(part.to_owned()))
                                .collect(),
                        ))
                    }
                    "Fn::Select" => {
                        let index = text(&self.resolve(template, &arg[0])?);
                        let items = self.resolve(template, &arg[1])?;
                        index
                            .parse::<usize>()
                            .ok()
                            .and_then(|i| list(&items).into_iter().nth(i))
                            .map(Value::String)
                            .ok_or_else(|| {
                                Error::Unsupported(format!("Fn::Select {index} of {items}: no such item"))
                            })
                    }
                    "Fn::FindInMap" => {
                        let keys: Vec<String> = (0..3)
                            .map(|i| self.resolve(template, &arg[i]).map(|v| text(&v)))
                            .collect::<Result<_, _>>()?;
                        let found = &template.body["Mappings"][&keys[0]][&keys[1]][&keys[2]];
                        // A fourth argument, {DefaultValue: …}, is the AWS::LanguageExtensions
                        // transform's; without it CloudFormation refuses the template.
                        let default = arg.get(3).map(|d| &d["DefaultValue"]);
                        if default.is_some() && !template.has_transform("AWS::LanguageExtensions") {
                            return Err(Error::Unsupported(
                                "Fn::FindInMap's DefaultValue needs Transform: AWS::LanguageExtensions"
                                    .into(),
                            ));
                        }
                        match (found, default) {
                            (Value::Null, Some(default)) if !default.is_null() => {
                                self.resolve(template, default)
                            }
                            (Value::Null, _) => Err(Error::Unsupported(format!(
                                "no mapping {}/{}/{}",
                                keys[0], keys[1], keys[2]
                            ))),
                            (found, _) => Ok(found.clone()),
                        }
                    }
                    "Fn::Equals" | "Fn::Not" | "Fn::And" | "Fn::Or" | "Condition" => {
                        Ok(Value::Bool(self.evaluate(template, value)?))
                    }
                    // An intrinsic this player does not know would otherwise pass through as
                    // data, and a test would pass on a value CloudFormation never produces.
                    unknown if unknown.starts_with("Fn::") => Err(Error::Unsupported(format!(
                        "{unknown}: an intrinsic function the template player does not know"
                    ))),
                    _ => self.resolve_map(template, map),
                }
            }
            Value::Object(map) => self.resolve_map(template, map),
            Value::Array(items) => {
                let resolved: Result<Vec<Value>, Error> =
                    items.iter().map(|i| self.resolve(template, i)).collect();
                Ok(Value::Array(
                    resolved?.into_iter().filter(|v| !is_no_value(v)).collect(),
                ))
            }
            other => Ok(other.clone()),
        }
    }

    fn resolve_map(&self, template: &Template, map: &serde_json::Map<String, Value>) -> Result<Value, Error> {
        let mut out = serde_json::Map::new();
        for (key, inner) in map {
            let resolved = self.resolve(template, inner)?;
            if !is_no_value(&resolved) {
                out.insert(key.clone(), resolved);
            }
        }
        Ok(Value::Object(out))
    }

    pub(crate) fn reference(&self, name: &str) -> Result<String, Error> {
        if name == "AWS::NoValue" {
            return Ok(NO_VALUE.to_owned());
        }
        self.parameters
            .get(name)
            .or_else(|| self.pseudo.get(name))
            .or_else(|| self.refs.get(name))
            .cloned()
            .ok_or_else(|| {
                Error::Unsupported(format!(
                    "Ref {name}: no such parameter, or the resource is not created yet"
                ))
            })
    }

    fn attribute(&self, resource: &str, attribute: &str) -> Result<String, Error> {
        self.attributes
            .get(&(resource.to_owned(), attribute.to_owned()))
            .cloned()
            .ok_or_else(|| Error::Unsupported(format!("Fn::GetAtt {resource}.{attribute}: not known (yet)")))
    }

    fn sub(&self, template: &Template, arg: &Value) -> Result<String, Error> {
        let (text, vars) = match arg {
            Value::String(s) => (s.as_str(), None),
            Value::Array(parts) => (parts[0].as_str().unwrap_or_default(), parts.get(1)),
            _ => {
                return Err(Error::Unsupported(
                    "Fn::Sub needs a string or [string, variables]".into(),
                ));
            }
        };
        let mut out = String::new();
        for part in sub_parts(text)? {
            match part {
                SubPart::Text(literal) => out.push_str(literal),
                SubPart::Escaped(name) => {
                    out.push_str("${");
                    out.push_str(name);
                    out.push('}');
                }
                SubPart::Name(name) => {
                    let value = match vars.and_then(|v| v.get(name)) {
                        Some(local) => text_of(&self.resolve(template, local)?),
                        None => match name.split_once('.') {
                            Some((resource, attribute)) if !name.starts_with("AWS::") => {
                                self.attribute(resource, attribute)?
                            }
                            _ => self.reference(name)?,
                        },
                    };
                    out.push_str(&value);
                }
            }
        }
        Ok(out)
    }

    fn condition(&self, template: &Template, name: &str) -> Result<bool, Error> {
        let definition = &template.body["Conditions"][name];
        if definition.is_null() {
            return Err(Error::Unsupported(format!("no condition {name}")));
        }
        self.evaluate(template, definition)
    }

    fn evaluate(&self, template: &Template, value: &Value) -> Result<bool, Error> {
        let Some((key, arg)) = value.as_object().and_then(|m| m.iter().next()) else {
            return Err(Error::Unsupported(format!("not a condition: {value}")));
        };
        match key.as_str() {
            "Fn::Equals" => {
                Ok(text(&self.resolve(template, &arg[0])?) == text(&self.resolve(template, &arg[1])?))
            }
            "Fn::Not" => Ok(!self.evaluate(template, &arg[0])?),
            "Fn::And" => arg
                .as_array()
                .into_iter()
                .flatten()
                .try_fold(true, |all, c| Ok(all && self.evaluate(template, c)?)),
            "Fn::Or" => arg
                .as_array()
                .into_iter()
                .flatten()
                .try_fold(false, |any, c| Ok(any || self.evaluate(template, c)?)),
            "Condition" => self.condition(template, arg.as_str().unwrap_or_default()),
            other => Err(Error::Unsupported(format!("{other} in a condition"))),
        }
    }

    /// Whether a resource with this `Condition` is created.
    pub fn creates(&self, template: &Template, condition: Option<&str>) -> Result<bool, Error> {
        condition.map_or(Ok(true), |name| self.condition(template, name))
    }
}

const NO_VALUE: &str = "\u{0}AWS::NoValue";

fn is_list_parameter(template: &Template, name: &str) -> bool {
    template.body["Parameters"][name]["Type"]
        .as_str()
        .is_some_and(|t| t == "CommaDelimitedList" || t.starts_with("List<"))
}

fn is_no_value(value: &Value) -> bool {
    value.as_str() == Some(NO_VALUE)
}

fn text(value: &Value) -> String {
    match value {
        Value::Array(_) => list(value).join(","),
        other => text_of(other),
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A list, or a comma-delimited string read as one.
fn list(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().map(text_of).collect(),
        Value::String(s) if s.is_empty() => Vec::new(),
        Value::String(s) => s.split(',').map(str::to_owned).collect(),
        other => vec![text_of(other)],
    }
}

/// A piece of a `Fn::Sub` string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubPart<'a> {
    Text(&'a str),
    /// `${Name}` or `${Resource.Attribute}`.
    Name(&'a str),
    /// `${!Literal}`, which stands for the text `${Literal}`.
    Escaped(&'a str),
}

/// The one scanner of `Fn::Sub` strings, for resolving them and for finding what they refer to.
pub(crate) fn sub_parts(text: &str) -> Result<Vec<SubPart<'_>>, Error> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        if start > 0 {
            parts.push(SubPart::Text(&rest[..start]));
        }
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| Error::Unsupported(format!("unclosed ${{ in {text:?}")))?;
        let inner = &after[..end];
        parts.push(match inner.strip_prefix('!') {
            Some(literal) => SubPart::Escaped(literal),
            None => SubPart::Name(inner),
        });
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        parts.push(SubPart::Text(rest));
    }
    Ok(parts)
}

/// The `${Name}` references in a `Fn::Sub` string, `${!Literal}` left out; none from a string
/// that does not scan (resolving it reports why).
pub(crate) fn sub_names(text: &str) -> Vec<String> {
    sub_parts(text)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|part| match part {
            SubPart::Name(name) => Some(name.to_owned()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = r#"
Parameters:
  Name: { Type: String, Default: veeam }
  Path: { Type: String, Default: /ops/ }
  Empty: { Type: CommaDelimitedList, Default: "" }
Conditions:
  RootPath: !Equals [!Ref Path, /]
  NoList: !Equals [!Join ["", !Ref Empty], ""]
Mappings:
  Layer:
    eu-west-1: { Account: "015030872274" }
Resources:
  Id:
    Type: Custom::RandomExtIdGenerator
    Properties: { Length: 32 }
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Sub "${Name}-role"
      Trust: !GetAtt Id.RandomExtId
  Use:
    Type: Custom::VeeamAwsConfigurator
    DependsOn: Role
    Properties:
      RoleName: !If [RootPath, !Ref Role, !Sub "${Path}${Role}"]
      Account: !FindInMap [Layer, !Ref AWS::Region, Account]
      Where: !Sub "arn:${AWS::Partition}:x:${AWS::Region}:${AWS::AccountId}:${Id.RandomExtId}"
      Gone: !If [NoList, !Ref AWS::NoValue, x]
"#;

    #[test]
    fn short_tags_resolve_in_dependency_order() {
        let template = Template::from_yaml(YAML).expect("parses");
        assert_eq!(
            template.creation_order().expect("no cycle"),
            ["Id", "Role", "Use"]
        );
        let mut context = Context::for_stack(&template, "123456789012", "eu-west-1", "s", &[]);
        context
            .attributes
            .insert(("Id".into(), "RandomExtId".into()), "abc".into());
        context.refs.insert("Role".into(), "veeam-role".into());
        let role = context
            .resolve(&template, template.resource("Role").expect("role").properties)
            .expect("resolves");
        assert_eq!(
            role,
            serde_json::json!({"RoleName": "veeam-role", "Trust": "abc"})
        );
        let used = context
            .resolve(&template, template.resource("Use").expect("use").properties)
            .expect("resolves");
        assert_eq!(
            used,
            serde_json::json!({"RoleName": "/ops/veeam-role", "Account": "015030872274", "Where": "arn:aws:x:eu-west-1:123456789012:abc"})
        );
        assert_eq!(
            template.get_atts(),
            [
                ("Id".to_owned(), "RandomExtId".to_owned()),
                ("Id".to_owned(), "RandomExtId".to_owned())
            ]
        );
    }

    /// CloudFormation conditions have no `Fn::Contains`; membership in a list parameter is
    /// written with `Fn::Split` and `Fn::Select`: `,a,b,` split on `,b,` is not `,a,b,` itself.
    #[test]
    fn a_list_parameters_members_are_found_with_split_and_select() {
        let yaml = r#"
Parameters:
  Services: { Type: CommaDelimitedList, Default: ec2 }
Conditions:
  HasRds: !Not
    - !Equals
      - !Select [0, !Split [",rds,", !Join ["", [",", !Join [",", !Ref Services], ","]]]]
      - !Join ["", [",", !Join [",", !Ref Services], ","]]
Resources: {}
"#;
        let template = Template::from_yaml(yaml).expect("parses");
        for (services, has) in [
            ("ec2", false),
            ("ec2,rds", true),
            ("rds", true),
            ("ec2,rds,efs", true),
            ("rdsx,xrds", false),
            ("", false),
        ] {
            let context = Context::for_stack(&template, "1", "eu-west-1", "s", &[("Services", services)]);
            assert_eq!(
                context.creates(&template, Some("HasRds")).expect("evaluates"),
                has,
                "{services:?}"
            );
        }
        let context = Context::for_stack(&template, "1", "eu-west-1", "s", &[]);
        let out_of_range = serde_json::json!({"Fn::Select": [3, {"Fn::Split": [",", "a,b"]}]});
        assert!(context.resolve(&template, &out_of_range).is_err());
    }

    #[test]
    fn unknown_references_are_errors_that_name_them() {
        let template = Template::from_yaml(YAML).expect("parses");
        let context = Context::for_stack(&template, "1", "eu-west-1", "s", &[]);
        let error = context
            .resolve(&template, template.resource("Role").expect("role").properties)
            .expect_err("no attribute yet");
        assert!(error.to_string().contains("Id.RandomExtId"), "{error}");
    }

    #[test]
    fn sub_strings_are_scanned_once_for_resolving_and_for_references() {
        let template = Template::from_yaml(YAML).expect("parses");
        let context = Context::for_stack(&template, "1", "eu-west-1", "s", &[("Name", "v")]);
        let text = "a-${Name}-${!Literal}-${AWS::Region}";
        assert_eq!(
            sub_parts(text).expect("scans"),
            [
                SubPart::Text("a-"),
                SubPart::Name("Name"),
                SubPart::Text("-"),
                SubPart::Escaped("Literal"),
                SubPart::Text("-"),
                SubPart::Name("AWS::Region"),
            ]
        );
        assert_eq!(sub_names(text), ["Name", "AWS::Region"]);
        let resolved = context
            .resolve(&template, &serde_json::json!({"Fn::Sub": text}))
            .expect("resolves");
        assert_eq!(resolved, "a-v-${Literal}-eu-west-1");
        assert!(sub_parts("${Name").is_err());
        assert!(sub_names("${Name").is_empty());
    }

    /// What CloudFormation would refuse or resolve differently is not passed through: an
    /// unknown intrinsic is an error, a list parameter's Ref is a list, and FindInMap's
    /// DefaultValue holds only under the AWS::LanguageExtensions transform.
    #[test]
    fn the_resolver_is_as_strict_as_cloudformation() {
        let yaml = r#"
Transform: AWS::LanguageExtensions
Parameters:
  Subnets: { Type: "List<AWS::EC2::Subnet::Id>", Default: "subnet-a,subnet-b" }
  Name: { Type: String, Default: "n" }
Mappings:
  Layer: { eu-west-1: { Arn: known } }
Resources: {}
"#;
        let template = Template::from_yaml(yaml).expect("parses");
        let context = Context::for_stack(&template, "1", "eu-west-1", "s", &[]);
        let resolve = |value: serde_json::Value| context.resolve(&template, &value);
        assert_eq!(
            resolve(serde_json::json!({"Ref": "Subnets"})).expect("list"),
            serde_json::json!(["subnet-a", "subnet-b"])
        );
        assert_eq!(resolve(serde_json::json!({"Ref": "Name"})).expect("string"), "n");
        let error = resolve(serde_json::json!({"Fn::Base64": "x"})).expect_err("unknown");
        assert!(error.to_string().contains("Fn::Base64"), "{error}");
        assert!(resolve(serde_json::json!({"Ref": "AWS::NotificationARNs"})).is_err());
        let found = |region: &str| {
            resolve(
                serde_json::json!({"Fn::FindInMap": ["Layer", region, "Arn", {"DefaultValue": "fallback"}]}),
            )
        };
        assert_eq!(found("eu-west-1").expect("mapped"), "known");
        assert_eq!(found("eu-central-2").expect("default"), "fallback");
        let plain =
            Template::from_yaml(&yaml.replace("Transform: AWS::LanguageExtensions", "")).expect("parses");
        let context = Context::for_stack(&plain, "1", "eu-west-1", "s", &[]);
        let error = context
            .resolve(
                &plain,
                &serde_json::json!({"Fn::FindInMap": ["Layer", "eu-west-1", "Arn", {"DefaultValue": "x"}]}),
            )
            .expect_err("needs the transform");
        assert!(error.to_string().contains("AWS::LanguageExtensions"), "{error}");
    }
}
