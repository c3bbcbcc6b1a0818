//! The template's `Rules`, evaluated as CloudFormation does before it creates or updates a
//! stack: a rule whose condition holds and one of whose assertions fails stops the operation
//! with that assertion's description.

use serde_json::Value;

use crate::{Context, Error, Template};

/// An assertion that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenRule {
    pub rule: String,
    /// The assertion's `AssertDescription`: what CloudFormation shows the operator.
    pub description: String,
}

/// A rule function's argument: rules compare strings and lists of strings.
#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Text(String),
    List(Vec<String>),
}

impl Operand {
    fn into_list(self) -> Vec<String> {
        match self {
            Self::Text(text) => vec![text],
            Self::List(items) => items,
        }
    }

    fn into_text(self) -> String {
        match self {
            Self::Text(text) => text,
            Self::List(items) => items.join(","),
        }
    }
}

impl Template {
    /// Every assertion that fails for the stack `context` describes, in template order.
    pub fn broken_rules(&self, context: &Context) -> Result<Vec<BrokenRule>, Error> {
        let mut broken = Vec::new();
        for (name, rule) in self.body["Rules"].as_object().into_iter().flatten() {
            let applies = match rule.get("RuleCondition") {
                Some(condition) => self.holds(context, condition)?,
                None => true,
            };
            if !applies {
                continue;
            }
            for assertion in rule["Assertions"].as_array().into_iter().flatten() {
                if !self.holds(context, &assertion["Assert"])? {
                    broken.push(BrokenRule {
                        rule: name.clone(),
                        description: assertion["AssertDescription"]
                            .as_str()
                            .unwrap_or("(no AssertDescription)")
                            .to_owned(),
                    });
                }
            }
        }
        Ok(broken)
    }

    fn holds(&self, context: &Context, value: &Value) -> Result<bool, Error> {
        let Some((function, arg)) = value.as_object().and_then(|m| m.iter().next()) else {
            return Err(Error::Unsupported(format!("not a rule function: {value}")));
        };
        let operand = |i: usize| self.operand(context, &arg[i]);
        match function.as_str() {
            "Fn::Equals" => Ok(operand(0)?.into_text() == operand(1)?.into_text()),
            "Fn::Not" => Ok(!self.holds(context, &arg[0])?),
            "Fn::And" => all(arg, |v| self.holds(context, v)),
            "Fn::Or" => Ok(!all(arg, |v| self.holds(context, v).map(|b| !b))?),
            "Fn::Contains" => {
                let wanted = operand(1)?.into_text();
                Ok(operand(0)?.into_list().contains(&wanted))
            }
            "Fn::EachMemberEquals" => {
                let wanted = operand(1)?.into_text();
                Ok(operand(0)?.into_list().iter().all(|m| *m == wanted))
            }
            "Fn::EachMemberIn" => {
                let allowed = operand(1)?.into_list();
                Ok(operand(0)?.into_list().iter().all(|m| allowed.contains(m)))
            }
            other => Err(Error::Unsupported(format!("{other} in a rule"))),
        }
    }

    fn operand(&self, context: &Context, value: &Value) -> Result<Operand, Error> {
        match value {
            Value::String(text) => Ok(Operand::Text(text.clone())),
            Value::Number(n) => Ok(Operand::Text(n.to_string())),
            Value::Array(items) => items
                .iter()
                .map(|item| self.operand(context, item).map(Operand::into_text))
                .collect::<Result<_, _>>()
                .map(Operand::List),
            Value::Object(map) if map.contains_key("Ref") => {
                let name = map["Ref"].as_str().unwrap_or_default();
                let text = context.reference(name)?;
                let kind = self.body["Parameters"][name]["Type"].as_str().unwrap_or_default();
                // CloudFormation reads an empty list parameter as one empty member.
                Ok(if kind == "CommaDelimitedList" || kind.starts_with("List<") {
                    Operand::List(text.split(',').map(|m| m.trim().to_owned()).collect())
                } else {
                    Operand::Text(text)
                })
            }
            other => Err(Error::Unsupported(format!("{other} in a rule"))),
        }
    }
}

fn all(arg: &Value, mut test: impl FnMut(&Value) -> Result<bool, Error>) -> Result<bool, Error> {
    for item in arg.as_array().into_iter().flatten() {
        if !test(item)? {
            return Ok(false);
        }
    }
    Ok(true)
}
