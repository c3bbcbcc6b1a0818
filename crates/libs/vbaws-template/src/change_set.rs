//! What an update would change, before it runs: CloudFormation's change set (CreateChangeSet,
//! which `aws cloudformation deploy` makes and shows before it executes one). A resource is
//! added when its condition starts to hold, removed when it stops holding or the template drops
//! it, and modified when its properties, resolved with the new template and parameters, differ
//! from the ones it has.
//!
//! Like CloudFormation, the change set cannot know what a custom resource that is added or
//! updated will answer: what refers to one is shown as modified (CloudFormation marks it
//! "Dynamic"). An AWS resource is named from its properties, so what refers to it changes only
//! when its name does.

use std::fmt;

use serde_json::Value;

use crate::{Error, PlayError, Stack, Template, physical::physical};

/// What happens to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeAction {
    Add,
    Modify,
    Remove,
}

/// One line of a change set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub action: ChangeAction,
    pub logical_id: String,
    pub resource_type: String,
    /// For a Modify: the top-level properties whose values change.
    pub properties: Vec<String>,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} {} ({})",
            self.action, self.logical_id, self.resource_type
        )?;
        if !self.properties.is_empty() {
            write!(f, ": {}", self.properties.join(", "))?;
        }
        Ok(())
    }
}

/// What a value becomes once the resource is created or updated, unknown until then.
fn known_after(logical_id: &str, attribute: Option<&str>) -> String {
    match attribute {
        Some(attribute) => format!("{{known after {logical_id} changes: {attribute}}}"),
        None => format!("{{known after {logical_id} changes}}"),
    }
}

impl Stack {
    /// The change set of an update to `template` with `parameters` (the others keep their
    /// values): nothing is sent, nothing is recorded. The template's Rules are checked first,
    /// as CloudFormation checks them before it makes a change set.
    pub fn change_set(
        &self,
        template: &Template,
        parameters: &[(&str, &str)],
    ) -> Result<Vec<Change>, PlayError> {
        let mut context = self.context.clone();
        for (name, value) in template.parameter_defaults() {
            context.parameters.entry(name).or_insert(value);
        }
        context
            .parameters
            .extend(parameters.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        crate::player::check_parameters(template, &context)?;
        if let Some(broken) = template.broken_rules(&context)?.into_iter().next() {
            return Err(PlayError::RuleBroken {
                rule: broken.rule,
                description: broken.description,
            });
        }
        let attributes = template.get_atts();
        let mut changes = Vec::new();
        let mut kept = Vec::new();
        for id in template.creation_order()? {
            let resource = template
                .resource(&id)
                .ok_or_else(|| Error::Unsupported(format!("no resource {id}")))?;
            if !context.creates(template, resource.condition)? {
                continue;
            }
            kept.push(id.clone());
            let properties = context.resolve(template, resource.properties)?;
            let (action, changed) = match self.deployed.get(&id) {
                None => (ChangeAction::Add, Vec::new()),
                Some(deployed)
                    if deployed.properties == properties
                        && deployed.resource_type == resource.resource_type =>
                {
                    continue;
                }
                Some(deployed) => (
                    ChangeAction::Modify,
                    differences(&deployed.properties, &properties),
                ),
            };
            if resource.resource_type.starts_with("Custom::") {
                // Its answer decides its ID and Data: what refers to it reads values it does
                // not have yet.
                context.refs.insert(id.clone(), known_after(&id, None));
                for (_, attribute) in attributes.iter().filter(|(owner, _)| *owner == id) {
                    context
                        .attributes
                        .insert((id.clone(), attribute.clone()), known_after(&id, Some(attribute)));
                }
            } else {
                // Named from its properties: an update in place keeps its name, a new name is
                // known in advance. (A replacement that keeps the name but gets a new generated
                // one is not modelled.)
                let named = physical(&context.pseudo, &id, resource.resource_type, &properties);
                context.refs.insert(id.clone(), named.reference);
                for (attribute, value) in named.attributes {
                    context
                        .attributes
                        .insert((id.clone(), attribute.to_owned()), value);
                }
            }
            changes.push(Change {
                action,
                logical_id: id,
                resource_type: resource.resource_type.to_owned(),
                properties: changed,
            });
        }
        // Removed in the reverse of the order they were created in.
        let mut created = self.template.creation_order()?;
        let unlisted: Vec<String> = self
            .deployed
            .keys()
            .filter(|id| !created.contains(id))
            .cloned()
            .collect();
        created.extend(unlisted);
        for id in created.iter().rev() {
            let Some(deployed) = self.deployed.get(id) else {
                continue;
            };
            if !kept.contains(id) {
                changes.push(Change {
                    action: ChangeAction::Remove,
                    logical_id: id.clone(),
                    resource_type: deployed.resource_type.clone(),
                    properties: Vec::new(),
                });
            }
        }
        Ok(changes)
    }
}

/// The top-level properties whose values differ, in order.
fn differences(before: &Value, after: &Value) -> Vec<String> {
    let keys = |v: &Value| {
        v.as_object()
            .map(|m| m.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let mut names = keys(before);
    names.extend(keys(after));
    names.sort();
    names.dedup();
    names.retain(|name| before.get(name) != after.get(name));
    names
}
