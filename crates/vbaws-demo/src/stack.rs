//! CloudFormation, played for one member account's roles stack: the template's own resources in
//! dependency order, custom resources sent to the real functions, their Data fed to what depends
//! on them, replacements cleaned up, and IAM resources recorded (not created).

use std::{collections::BTreeMap, sync::Arc};

use serde_json::{Value, json};
use vbaws_template::{Context, Template};
use vbaws_testkit::events::stringify;

use crate::{DemoError, world::World};

/// A resource as it stands in the stack.
#[derive(Debug, Clone)]
struct Deployed {
    resource_type: String,
    physical_id: String,
    properties: Value,
}

/// One stack instance of the StackSet.
#[derive(Debug)]
pub struct Stack {
    pub account: String,
    template: Arc<Template>,
    context: Context,
    deployed: BTreeMap<String, Deployed>,
}

impl Stack {
    pub fn new(template: Arc<Template>, account: &str, parameters: &[(&str, &str)]) -> Self {
        let name = "StackSet-vbaws-veeam-roles-5b3a7c10";
        let context = Context::for_stack(&template, account, "us-east-1", name, parameters);
        Self {
            account: account.to_owned(),
            template,
            context,
            deployed: BTreeMap::new(),
        }
    }

    fn stack_id(&self) -> String {
        self.context
            .pseudo
            .get("AWS::StackId")
            .cloned()
            .unwrap_or_default()
    }

    /// Creates every resource; on a FAILED answer, rolls back what was created and says why.
    pub async fn create(&mut self, world: &World) -> Result<usize, DemoError> {
        self.check_rules()?;
        let mut custom = 0;
        for id in self.order()? {
            let Some((resource_type, properties)) = self.resolve(&id)? else {
                continue;
            };
            if resource_type.starts_with("Custom::") {
                let event = self.event("Create", &id, &resource_type, &properties, None, None);
                let answer = world.invoke(token(&properties)?, event).await?;
                if let Err(failed) = self.succeeded(&id, &answer) {
                    self.delete(world).await?;
                    return Err(failed);
                }
                self.accept(&id, &resource_type, properties, &answer);
                custom += 1;
            } else {
                self.record(&id, &resource_type, properties);
            }
        }
        Ok(custom)
    }

    /// Applies new parameters: custom resources whose properties changed get an Update, and a
    /// replaced one's old ID gets CloudFormation's cleanup Delete afterwards.
    pub async fn update(&mut self, world: &World, parameters: &[(&str, &str)]) -> Result<usize, DemoError> {
        self.context
            .parameters
            .extend(parameters.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        self.check_rules()?;
        let mut cleanup = Vec::new();
        let mut updated = 0;
        for id in self.order()? {
            let Some((resource_type, properties)) = self.resolve(&id)? else {
                continue;
            };
            let Some(old) = self.deployed.get(&id).cloned() else {
                return Err(DemoError::Template(format!(
                    "{id} was added by the update; the demo does not add resources"
                )));
            };
            if !resource_type.starts_with("Custom::") {
                self.record(&id, &resource_type, properties);
                continue;
            }
            if old.properties == properties {
                continue;
            }
            let event = self.event(
                "Update",
                &id,
                &resource_type,
                &properties,
                Some(&old.physical_id),
                Some(&old.properties),
            );
            let answer = world.invoke(token(&properties)?, event).await?;
            self.succeeded(&id, &answer)?;
            if answer["PhysicalResourceId"] != old.physical_id.as_str() {
                cleanup.push((id.clone(), old));
            }
            self.accept(&id, &resource_type, properties, &answer);
            updated += 1;
        }
        for (id, old) in cleanup {
            let event = self.event(
                "Delete",
                &id,
                &old.resource_type,
                &old.properties,
                Some(&old.physical_id),
                None,
            );
            let answer = world.invoke(token(&old.properties)?, event).await?;
            self.succeeded(&id, &answer)?;
        }
        Ok(updated)
    }

    /// Deletes every resource, in reverse order of creation.
    pub async fn delete(&mut self, world: &World) -> Result<(), DemoError> {
        let order = self.order()?;
        for id in order.iter().rev() {
            let Some(deployed) = self.deployed.remove(id) else {
                continue;
            };
            if deployed.resource_type.starts_with("Custom::") {
                let event = self.event(
                    "Delete",
                    id,
                    &deployed.resource_type,
                    &deployed.properties,
                    Some(&deployed.physical_id),
                    None,
                );
                let answer = world.invoke(token(&deployed.properties)?, event).await?;
                self.succeeded(id, &answer)?;
            }
        }
        Ok(())
    }

    /// CloudFormation refuses a stack whose parameters break one of the template's Rules
    /// before it creates or updates anything.
    fn check_rules(&self) -> Result<(), DemoError> {
        let broken = self
            .template
            .broken_rules(&self.context)
            .map_err(|e| DemoError::Template(e.to_string()))?;
        match broken.first() {
            None => Ok(()),
            Some(rule) => Err(DemoError::Template(format!(
                "rule {} refuses the parameters: {}",
                rule.rule, rule.description
            ))),
        }
    }

    /// The template's resources, each after those it depends on.
    fn order(&self) -> Result<Vec<String>, DemoError> {
        self.template
            .creation_order()
            .map_err(|e| DemoError::Template(e.to_string()))
    }

    /// A FAILED answer as an error that names the account and the resource.
    fn succeeded(&self, resource: &str, answer: &Value) -> Result<(), DemoError> {
        if answer["Status"] == "SUCCESS" {
            return Ok(());
        }
        let reason = answer["Reason"].as_str().unwrap_or_default().to_owned();
        Err(DemoError::Failed {
            account: self.account.clone(),
            resource: resource.to_owned(),
            reason,
        })
    }

    /// The value a custom resource returned (its Data), as `Fn::GetAtt` reads it.
    pub fn attribute(&self, resource: &str, key: &str) -> Option<&str> {
        self.context
            .attributes
            .get(&(resource.to_owned(), key.to_owned()))
            .map(String::as_str)
    }

    /// The AWS resources CloudFormation would have created (logical ID, type, resolved
    /// properties), in creation order.
    pub fn aws_resources(&self) -> Vec<(String, String, Value)> {
        let order = self.order().unwrap_or_default();
        order
            .into_iter()
            .filter_map(|id| {
                let d = self.deployed.get(&id)?;
                (!d.resource_type.starts_with("Custom::"))
                    .then(|| (id.clone(), d.resource_type.clone(), d.properties.clone()))
            })
            .collect()
    }

    /// A recorded resource's resolved properties.
    pub fn properties(&self, resource: &str) -> Option<&Value> {
        self.deployed.get(resource).map(|d| &d.properties)
    }

    fn resolve(&self, id: &str) -> Result<Option<(String, Value)>, DemoError> {
        let resource = self
            .template
            .resource(id)
            .ok_or_else(|| DemoError::Template(format!("no resource {id}")))?;
        if !self
            .context
            .creates(&self.template, resource.condition)
            .map_err(|e| DemoError::Template(e.to_string()))?
        {
            return Ok(None);
        }
        let properties = self
            .context
            .resolve(&self.template, resource.properties)
            .map_err(|e| DemoError::Template(format!("{id}: {e}")))?;
        Ok(Some((resource.resource_type.to_owned(), properties)))
    }

    fn event(
        &self,
        request_type: &str,
        id: &str,
        resource_type: &str,
        properties: &Value,
        physical_id: Option<&str>,
        old_properties: Option<&Value>,
    ) -> Value {
        let mut event = json!({
            "RequestType": request_type,
            "ServiceToken": properties["ServiceToken"],
            "StackId": self.stack_id(),
            "LogicalResourceId": id,
            "ResourceType": resource_type,
            "ResourceProperties": stringify(properties.clone()),
        });
        if let Some(physical_id) = physical_id {
            event["PhysicalResourceId"] = json!(physical_id);
        }
        if let Some(old) = old_properties {
            event["OldResourceProperties"] = stringify(old.clone());
        }
        event
    }

    fn accept(&mut self, id: &str, resource_type: &str, properties: Value, answer: &Value) {
        let physical_id = answer["PhysicalResourceId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        for (key, value) in answer["Data"].as_object().into_iter().flatten() {
            self.context.attributes.insert(
                (id.to_owned(), key.clone()),
                value.as_str().unwrap_or_default().to_owned(),
            );
        }
        self.context.refs.insert(id.to_owned(), physical_id.clone());
        self.deployed.insert(
            id.to_owned(),
            Deployed {
                resource_type: resource_type.to_owned(),
                physical_id,
                properties,
            },
        );
    }

    /// An AWS resource is recorded as CloudFormation would name it; nothing is created.
    fn record(&mut self, id: &str, resource_type: &str, properties: Value) {
        let name = ["RoleName", "InstanceProfileName"]
            .iter()
            .find_map(|key| properties.get(*key).and_then(Value::as_str))
            .map_or_else(|| format!("{id}-1A2B3C"), str::to_owned);
        let path = properties.get("Path").and_then(Value::as_str).unwrap_or("/");
        let kind = match resource_type {
            "AWS::IAM::Role" => "role",
            "AWS::IAM::InstanceProfile" => "instance-profile",
            _ => "policy",
        };
        let arn = format!("arn:aws:iam::{}:{kind}{path}{name}", self.account);
        let reference = if kind == "policy" {
            arn.clone()
        } else {
            name.clone()
        };
        self.context
            .attributes
            .insert((id.to_owned(), "Arn".to_owned()), arn);
        self.context.refs.insert(id.to_owned(), reference.clone());
        self.deployed.insert(
            id.to_owned(),
            Deployed {
                resource_type: resource_type.to_owned(),
                physical_id: reference,
                properties,
            },
        );
    }
}

fn token(properties: &Value) -> Result<&str, DemoError> {
    properties["ServiceToken"]
        .as_str()
        .ok_or_else(|| DemoError::Template("a custom resource has no ServiceToken".into()))
}
