//! CloudFormation templates as data: YAML with short-form intrinsics (`!Ref`, `!GetAtt`, `!Sub`,
//! …) read into JSON in the long form, the intrinsics the project's templates use resolved
//! against parameters, pseudo parameters and resource attributes, and resources ordered by their
//! dependencies. Enough to play CloudFormation for our own templates locally and to check them;
//! not a general CloudFormation engine.

mod change_set;
mod dynamic;
pub mod event;
pub mod iam;
pub mod ledger;
pub mod limits;
mod parameters;
pub mod physical;
pub mod player;
mod resolve;
mod rules;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

pub use change_set::{Change, ChangeAction};
pub use ledger::Ledger;
pub use parameters::RefusedParameter;
pub use player::{Answer, Deliver, DeliveryError, PlayError, Stack};
pub use resolve::Context;
pub use rules::BrokenRule;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the template is not valid YAML: {0}")]
    Yaml(serde_norway::Error),
    #[error("the template has no Resources section")]
    NoResources,
    #[error("{0}")]
    Unsupported(String),
    #[error("resources depend on each other in a cycle: {0}")]
    Cycle(String),
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    /// The whole template, intrinsics in their long form (`{"Ref": …}`, `{"Fn::GetAtt": […]}`).
    pub body: Value,
}

/// One resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource<'a> {
    pub logical_id: &'a str,
    pub resource_type: &'a str,
    pub properties: &'a Value,
    pub condition: Option<&'a str>,
}

impl Template {
    pub fn from_yaml(text: &str) -> Result<Self, Error> {
        let yaml: serde_norway::Value = serde_norway::from_str(text).map_err(Error::Yaml)?;
        let body = long_form(yaml);
        if !body["Resources"].is_object() {
            return Err(Error::NoResources);
        }
        Ok(Self { body })
    }

    /// Whether the template declares `transform` (a name or one of a list).
    pub fn has_transform(&self, transform: &str) -> bool {
        match &self.body["Transform"] {
            serde_json::Value::String(one) => one == transform,
            serde_json::Value::Array(many) => many.iter().any(|t| t == transform),
            _ => false,
        }
    }

    pub fn resources(&self) -> impl Iterator<Item = Resource<'_>> {
        self.body["Resources"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(id, r)| Resource {
                logical_id: id,
                resource_type: r["Type"].as_str().unwrap_or_default(),
                properties: &r["Properties"],
                condition: r["Condition"].as_str(),
            })
    }

    pub fn resource(&self, logical_id: &str) -> Option<Resource<'_>> {
        self.resources().find(|r| r.logical_id == logical_id)
    }

    /// Parameter defaults, as strings (lists joined with commas, as CloudFormation takes them).
    pub fn parameter_defaults(&self) -> BTreeMap<String, String> {
        self.body["Parameters"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(name, p)| scalar(&p["Default"]).map(|d| (name.clone(), d)))
            .collect()
    }

    /// The resources each resource refers to (by Ref, GetAtt, Sub or DependsOn).
    pub fn dependencies(&self, logical_id: &str) -> BTreeSet<String> {
        let resources = &self.body["Resources"];
        let resource = &resources[logical_id];
        let mut found: BTreeSet<String> = references(resource).into_iter().map(|(name, _)| name).collect();
        match &resource["DependsOn"] {
            Value::String(id) => {
                found.insert(id.clone());
            }
            Value::Array(ids) => found.extend(ids.iter().filter_map(Value::as_str).map(str::to_owned)),
            _ => {}
        }
        found.retain(|id| id != logical_id && resources.get(id).is_some());
        found
    }

    /// Everything `logical_id` depends on, directly or through other resources: what
    /// CloudFormation creates before it and deletes after it.
    pub fn depends_on_transitively(&self, logical_id: &str) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        let mut next = vec![logical_id.to_owned()];
        while let Some(id) = next.pop() {
            for dependency in self.dependencies(&id) {
                if found.insert(dependency.clone()) {
                    next.push(dependency);
                }
            }
        }
        found
    }

    /// Every resource, each after the ones it depends on.
    pub fn creation_order(&self) -> Result<Vec<String>, Error> {
        let ids: Vec<String> = self.resources().map(|r| r.logical_id.to_owned()).collect();
        let mut done: Vec<String> = Vec::new();
        let mut pending = ids.clone();
        while !pending.is_empty() {
            let ready: Vec<String> = pending
                .iter()
                .filter(|id| self.dependencies(id).iter().all(|d| done.contains(d)))
                .cloned()
                .collect();
            if ready.is_empty() {
                return Err(Error::Cycle(pending.join(", ")));
            }
            pending.retain(|id| !ready.contains(id));
            done.extend(ready);
        }
        Ok(done)
    }

    /// Every `Fn::GetAtt` in the template, as (resource, attribute).
    pub fn get_atts(&self) -> Vec<(String, String)> {
        references(&self.body)
            .into_iter()
            .filter_map(|(name, attribute)| attribute.map(|a| (name, a)))
            .collect()
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => Some(items.iter().filter_map(scalar).collect::<Vec<_>>().join(",")),
        _ => None,
    }
}

/// `!Ref x` → `{"Ref": "x"}`, `!GetAtt a.b` → `{"Fn::GetAtt": ["a", "b"]}`, `!Sub s` →
/// `{"Fn::Sub": "s"}`, and so on for every `!Name`.
fn long_form(yaml: serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(&n).unwrap_or(Value::Null),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(long_form).collect()),
        Y::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    (
                        k.as_str().map(str::to_owned).unwrap_or_else(|| format!("{k:?}")),
                        long_form(v),
                    )
                })
                .collect(),
        ),
        Y::Tagged(tagged) => {
            let name = tagged.tag.to_string().trim_start_matches('!').to_owned();
            let value = long_form(tagged.value);
            let (key, value) = match (name.as_str(), value) {
                ("Ref", v) => ("Ref".to_owned(), v),
                ("Condition", v) => ("Condition".to_owned(), v),
                ("GetAtt", Value::String(s)) => {
                    let (resource, attribute) = s.split_once('.').unwrap_or((s.as_str(), ""));
                    (
                        "Fn::GetAtt".to_owned(),
                        Value::Array(vec![resource.into(), attribute.into()]),
                    )
                }
                (other, v) => (format!("Fn::{other}"), v),
            };
            Value::Object(Map::from_iter([(key, value)]))
        }
    }
}

/// Every reference in `value`, in order: `Ref` and `${Name}` as (name, None), `Fn::GetAtt` and
/// `${Name.Attribute}` as (name, Some(attribute)). Names include parameters and pseudo
/// parameters; callers keep what they need.
fn references(value: &Value) -> Vec<(String, Option<String>)> {
    let mut found = Vec::new();
    walk(value, &mut found);
    found
}

fn walk(value: &Value, found: &mut Vec<(String, Option<String>)>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("Ref", Value::String(name)) => found.push((name.clone(), None)),
                    ("Fn::GetAtt", Value::Array(parts)) => {
                        let part = |i: usize| {
                            parts
                                .get(i)
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_owned()
                        };
                        found.push((part(0), Some(part(1))));
                    }
                    ("Fn::Sub", sub) => {
                        let text = sub.as_str().or_else(|| sub[0].as_str()).unwrap_or_default();
                        for name in resolve::sub_names(text) {
                            found.push(match name.split_once('.') {
                                Some((resource, attribute)) => {
                                    (resource.to_owned(), Some(attribute.to_owned()))
                                }
                                None => (name, None),
                            });
                        }
                        walk(sub, found);
                    }
                    _ => walk(inner, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| walk(item, found)),
        _ => {}
    }
}
