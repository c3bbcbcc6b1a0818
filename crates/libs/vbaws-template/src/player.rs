//! CloudFormation, played for one stack: the template's Rules checked, its resources created in
//! dependency order, custom resources' events delivered (by whatever [`Deliver`]s them: the
//! demo's Lambda sandboxes, or a test's stand-in), their Data fed to what depends on them;
//! an update creates what its conditions add and, in its cleanup, deletes what they remove and
//! the old IDs of replaced resources; AWS resources recorded as CloudFormation would name them
//! (nothing is created).

use std::{collections::BTreeMap, future::Future, sync::Arc};

use serde_json::Value;

use crate::{
    Context, Error, Ledger, Template,
    event::{Event, StackResource},
    physical::{Physical, physical},
};

/// Why delivering an event failed (not a FAILED answer: no answer at all).
pub type DeliveryError = Box<dyn std::error::Error + Send + Sync>;

/// Sends a custom resource's event to the function behind its ServiceToken, and reads back the
/// answer that function PUT to the event's ResponseURL.
pub trait Deliver: Sync {
    fn deliver(
        &self,
        service_token: &str,
        event: Event,
    ) -> impl Future<Output = Result<Answer, DeliveryError>> + Send;
}

/// A custom resource's answer, as CloudFormation reads it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Answer {
    pub success: bool,
    pub reason: String,
    pub physical_resource_id: String,
    pub data: BTreeMap<String, String>,
}

impl Answer {
    /// Reads the JSON body a function PUT.
    pub fn from_json(body: &Value) -> Self {
        let text = |key: &str| body[key].as_str().unwrap_or_default().to_owned();
        Self {
            success: body["Status"] == "SUCCESS",
            reason: text("Reason"),
            physical_resource_id: text("PhysicalResourceId"),
            data: body["Data"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                .collect(),
        }
    }
}

/// What stops a stack operation.
#[derive(Debug, thiserror::Error)]
pub enum PlayError {
    #[error(transparent)]
    Template(#[from] Error),
    #[error("parameter {parameter} {problem}")]
    ParameterRefused { parameter: String, problem: String },
    #[error("rule {rule} refuses the parameters: {description}")]
    RuleBroken { rule: String, description: String },
    #[error("{0} has no ServiceToken")]
    NoServiceToken(String),
    #[error("{resource}'s event was not answered: {problem}")]
    Undelivered {
        resource: String,
        problem: DeliveryError,
    },
    #[error("account {account}: {resource} answered FAILED: {reason}")]
    Failed {
        account: String,
        resource: String,
        reason: String,
    },
    /// The operation failed, and so did its rollback (ROLLBACK_FAILED, UPDATE_ROLLBACK_FAILED):
    /// the stack needs a person.
    #[error("{cause}; the rollback failed too: {rollback}")]
    RollbackFailed {
        cause: Box<PlayError>,
        rollback: Box<PlayError>,
    },
}

/// A resource as it stands in the stack.
#[derive(Debug, Clone)]
pub(crate) struct Deployed {
    pub(crate) resource_type: String,
    pub(crate) physical_id: String,
    pub(crate) properties: Value,
}

/// One stack (a StackSet's stack instance, say).
#[derive(Debug)]
pub struct Stack {
    pub account: String,
    pub(crate) template: Arc<Template>,
    pub(crate) context: Context,
    pub(crate) deployed: BTreeMap<String, Deployed>,
    /// What CloudFormation shows of this stack while it plays: statuses and events.
    ledger: Ledger,
    /// The template before [`Stack::use_template`], which a failed update returns to.
    previous_template: Option<Arc<Template>>,
    /// Resources a cleanup could not delete, dropped from the stack as CloudFormation drops
    /// them ("One or more resources could not be deleted").
    left_behind: Vec<String>,
}

/// How many times CloudFormation tries a cleanup Delete before it drops the resource.
const CLEANUP_ATTEMPTS: usize = 3;

impl Stack {
    pub fn new(
        template: Arc<Template>,
        account: &str,
        region: &str,
        name: &str,
        parameters: &[(&str, &str)],
    ) -> Self {
        let context = Context::for_stack(&template, account, region, name, parameters);
        let ledger = Ledger::default();
        let stack = Self {
            account: account.to_owned(),
            template,
            context,
            deployed: BTreeMap::new(),
            ledger,
            previous_template: None,
            left_behind: Vec::new(),
        };
        stack.ledger.open(stack.stack_id(), account, region, name);
        stack
    }

    /// The same stack, recorded in `ledger` (shared with whatever answers for CloudFormation).
    pub fn in_ledger(mut self, ledger: &Ledger) -> Self {
        self.ledger = ledger.clone();
        let (region, name) = (self.pseudo("AWS::Region"), self.pseudo("AWS::StackName"));
        self.ledger.open(self.stack_id(), &self.account, region, name);
        self
    }

    /// The same stack, in an account whose Parameter Store (in the stack's Region) holds
    /// `parameters`: what the template's dynamic references read.
    pub fn with_ssm_parameters(mut self, parameters: BTreeMap<String, String>) -> Self {
        self.context.ssm = parameters;
        self
    }

    /// Takes another template for the next [`Stack::update`], as update-stack-set with a new
    /// template body does: what it adds is created, what it drops is deleted.
    pub fn use_template(&mut self, template: Arc<Template>) {
        for (name, value) in template.parameter_defaults() {
            self.context.parameters.entry(name).or_insert(value);
        }
        self.previous_template = Some(std::mem::replace(&mut self.template, template));
    }

    /// What cleanups could not delete (`LogicalId (PhysicalId): reason`): dropped from the
    /// stack, still wherever they were.
    pub fn left_behind(&self) -> &[String] {
        &self.left_behind
    }

    /// The stack's ARN, as events carry it.
    pub fn stack_id(&self) -> &str {
        self.pseudo("AWS::StackId")
    }

    fn pseudo(&self, name: &str) -> &str {
        self.context.pseudo.get(name).map_or("", String::as_str)
    }

    /// Creates every resource; on a FAILED answer, rolls back what was created and says why.
    /// Returns how many custom resources were created.
    pub async fn create(&mut self, to: &impl Deliver) -> Result<usize, PlayError> {
        self.check_rules()?;
        let mut custom = 0;
        for id in self.template.creation_order()? {
            let Some((resource_type, properties)) = self.resolve(&id)? else {
                continue;
            };
            if !resource_type.starts_with("Custom::") {
                self.record(&id, &resource_type, properties);
                continue;
            }
            let event = self
                .resource(&id, &resource_type, &properties)?
                .create(properties.clone());
            let answer = self.send(to, &id, &properties, event).await?;
            if let Err(failed) = self.succeeded(&id, &answer) {
                // The failed resource is in the stack too: the rollback sends it a Delete
                // with the ID its FAILED answer gave.
                self.accept(
                    &id,
                    &resource_type,
                    properties,
                    &failed_answer(&answer, self.pseudo("AWS::StackName"), &id),
                );
                return Err(match self.delete(to).await {
                    Ok(()) => failed,
                    Err(rollback) => PlayError::RollbackFailed {
                        cause: Box::new(failed),
                        rollback: Box::new(rollback),
                    },
                });
            }
            self.accept(&id, &resource_type, properties, &answer);
            custom += 1;
        }
        Ok(custom)
    }

    /// Applies new parameters, in CloudFormation's order: in dependency order, a resource whose
    /// condition now holds is created (a custom one gets a Create) and a custom resource whose
    /// properties changed gets an Update; then, in the cleanup, a replaced resource's old ID and
    /// every resource whose condition no longer holds get their Delete, the latter in reverse
    /// order. Returns how many custom resources were created, updated or deleted.
    pub async fn update(
        &mut self,
        to: &impl Deliver,
        parameters: &[(&str, &str)],
    ) -> Result<usize, PlayError> {
        let before = (self.context.clone(), self.deployed.clone());
        let previous_template = self.previous_template.take();
        self.context
            .parameters
            .extend(parameters.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        self.check_rules()?;
        let order = self.template.creation_order()?;
        let mut cleanup = Vec::new();
        let mut applied = Vec::new();
        let mut changed = 0;
        for id in &order {
            let Some((resource_type, properties)) = self.resolve(id)? else {
                continue;
            };
            let old = self.deployed.get(id).cloned();
            if !resource_type.starts_with("Custom::") {
                self.record(id, &resource_type, properties);
                continue;
            }
            let resource = self.resource(id, &resource_type, &properties)?;
            let event = match &old {
                None => resource.create(properties.clone()),
                Some(old) if old.properties == properties => continue,
                Some(old) => resource.update(&old.physical_id, properties.clone(), old.properties.clone()),
            };
            let answer = self.send(to, id, &properties, event).await?;
            if let Err(failed) = self.succeeded(id, &answer) {
                let now = Deployed {
                    resource_type: resource_type.clone(),
                    physical_id: match &old {
                        // A failed Update leaves the resource as it was.
                        Some(old) => old.physical_id.clone(),
                        None => {
                            failed_answer(&answer, self.pseudo("AWS::StackName"), id).physical_resource_id
                        }
                    },
                    properties,
                };
                applied.push(Applied {
                    id: id.clone(),
                    old,
                    now,
                });
                let rollback = self.roll_back(to, &applied).await;
                (self.context, self.deployed) = before;
                if let Some(template) = previous_template {
                    self.template = template;
                }
                return Err(match rollback {
                    Ok(()) => failed,
                    Err(rollback) => PlayError::RollbackFailed {
                        cause: Box::new(failed),
                        rollback: Box::new(rollback),
                    },
                });
            }
            let now = Deployed {
                resource_type: resource_type.clone(),
                physical_id: answer.physical_resource_id.clone(),
                properties: properties.clone(),
            };
            applied.push(Applied {
                id: id.clone(),
                old: old.clone(),
                now,
            });
            if let Some(old) = old.filter(|old| answer.physical_resource_id != old.physical_id) {
                cleanup.push((id.clone(), old));
            }
            self.accept(id, &resource_type, properties, &answer);
            changed += 1;
        }
        // UPDATE_COMPLETE_CLEANUP_IN_PROGRESS: a Delete that fails does not fail the update.
        for (id, old) in cleanup {
            self.clean_up(to, &id, &old).await;
        }
        for id in order.iter().rev() {
            let resource = self
                .template
                .resource(id)
                .ok_or_else(|| Error::Unsupported(format!("no resource {id}")))?;
            if self.context.creates(&self.template, resource.condition)? {
                continue;
            }
            if let Some(gone) = self.deployed.remove(id) {
                self.context.refs.remove(id);
                self.context.attributes.retain(|(owner, _), _| owner != id);
                if gone.resource_type.starts_with("Custom::") {
                    self.clean_up(to, id, &gone).await;
                    changed += 1;
                } else {
                    self.ledger.deleted(self.stack_id(), id);
                }
            }
        }
        // Resources a new template no longer has.
        let dropped: Vec<String> = self
            .deployed
            .keys()
            .filter(|id| self.template.resource(id).is_none())
            .cloned()
            .collect();
        for id in dropped {
            if let Some(gone) = self.deployed.remove(&id) {
                if gone.resource_type.starts_with("Custom::") {
                    self.clean_up(to, &id, &gone).await;
                    changed += 1;
                } else {
                    self.ledger.deleted(self.stack_id(), &id);
                }
            }
        }
        Ok(changed)
    }

    /// Deletes every resource, in reverse order of creation.
    pub async fn delete(&mut self, to: &impl Deliver) -> Result<(), PlayError> {
        for id in self.template.creation_order()?.iter().rev() {
            let Some(deployed) = self.deployed.remove(id) else {
                continue;
            };
            if deployed.resource_type.starts_with("Custom::") {
                self.remove(to, id, &deployed).await?;
            } else {
                self.ledger.deleted(self.stack_id(), id);
            }
        }
        Ok(())
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
        let order = self.template.creation_order().unwrap_or_default();
        order
            .into_iter()
            .filter_map(|id| {
                let d = self.deployed.get(&id)?;
                (!d.resource_type.starts_with("Custom::"))
                    .then(|| (id.clone(), d.resource_type.clone(), d.properties.clone()))
            })
            .collect()
    }

    /// The custom resources in the stack (logical ID, type, resolved properties), in creation
    /// order.
    pub fn custom_resources(&self) -> Vec<(String, String, Value)> {
        let order = self.template.creation_order().unwrap_or_default();
        order
            .into_iter()
            .filter_map(|id| {
                let d = self.deployed.get(&id)?;
                d.resource_type
                    .starts_with("Custom::")
                    .then(|| (id.clone(), d.resource_type.clone(), d.properties.clone()))
            })
            .collect()
    }

    /// A recorded resource's resolved properties.
    pub fn properties(&self, resource: &str) -> Option<&Value> {
        self.deployed.get(resource).map(|d| &d.properties)
    }

    /// The stack's outputs, as DescribeStacks lists them: those whose condition holds, each
    /// value resolved (a list joined with commas).
    pub fn outputs(&self) -> Result<BTreeMap<String, String>, Error> {
        let mut outputs = BTreeMap::new();
        for (name, output) in self.template.body["Outputs"].as_object().into_iter().flatten() {
            if !self
                .context
                .creates(&self.template, output["Condition"].as_str())?
            {
                continue;
            }
            let value = self.context.resolve(&self.template, &output["Value"])?;
            outputs.insert(name.clone(), crate::scalar(&value).unwrap_or_default());
        }
        Ok(outputs)
    }

    /// CloudFormation refuses a stack whose parameters break one of the template's Rules
    /// before it creates or updates anything.
    fn check_rules(&self) -> Result<(), PlayError> {
        check_parameters(&self.template, &self.context)?;
        match self.template.broken_rules(&self.context)?.into_iter().next() {
            None => Ok(()),
            Some(broken) => Err(PlayError::RuleBroken {
                rule: broken.rule,
                description: broken.description,
            }),
        }
    }

    fn resolve(&self, id: &str) -> Result<Option<(String, Value)>, PlayError> {
        let resource = self
            .template
            .resource(id)
            .ok_or_else(|| Error::Unsupported(format!("no resource {id}")))?;
        if !self.context.creates(&self.template, resource.condition)? {
            return Ok(None);
        }
        let properties = self.context.resolve(&self.template, resource.properties)?;
        let properties = crate::dynamic::resolve(&properties, &self.context.ssm)?;
        Ok(Some((resource.resource_type.to_owned(), properties)))
    }

    fn resource(
        &self,
        id: &str,
        resource_type: &str,
        properties: &Value,
    ) -> Result<StackResource, PlayError> {
        let token = properties["ServiceToken"]
            .as_str()
            .ok_or_else(|| PlayError::NoServiceToken(id.to_owned()))?;
        Ok(StackResource::new(self.stack_id(), id, resource_type, token))
    }

    async fn send(
        &self,
        to: &impl Deliver,
        id: &str,
        properties: &Value,
        event: Event,
    ) -> Result<Answer, PlayError> {
        let token = properties["ServiceToken"].as_str().unwrap_or_default();
        self.ledger.sending(&event);
        let answer = to
            .deliver(token, event.clone())
            .await
            .map_err(|problem| PlayError::Undelivered {
                resource: id.to_owned(),
                problem,
            })?;
        self.ledger.answered(&event, &answer);
        Ok(answer)
    }

    /// UPDATE_ROLLBACK_IN_PROGRESS, for the custom resources a failed update changed (the failed
    /// one last in `applied`): in reverse order, each updated one gets an Update back to its old
    /// properties; then, in the rollback's cleanup, what the update created (the failed Create
    /// too) and the new IDs of replacements get their Delete. A rollback Update that fails is
    /// UPDATE_ROLLBACK_FAILED; a cleanup Delete that fails is dropped, as in any cleanup.
    ///
    /// Guessed where AWS does not document it: the Update back carries the old physical ID
    /// (for a replacement, the resource the stack returns to), and the failed resource gets its
    /// Update back too.
    async fn roll_back(&mut self, to: &impl Deliver, applied: &[Applied]) -> Result<(), PlayError> {
        for change in applied.iter().rev() {
            let Some(old) = &change.old else { continue };
            let event = self
                .resource(&change.id, &old.resource_type, &old.properties)?
                .update(
                    &old.physical_id,
                    old.properties.clone(),
                    change.now.properties.clone(),
                );
            let answer = self.send(to, &change.id, &old.properties, event).await?;
            self.succeeded(&change.id, &answer)?;
        }
        for change in applied.iter().rev() {
            let replaced = change
                .old
                .as_ref()
                .is_some_and(|old| old.physical_id != change.now.physical_id);
            if change.old.is_none() || replaced {
                self.clean_up(to, &change.id, &change.now).await;
            }
        }
        Ok(())
    }

    /// A cleanup's Delete: tried as often as CloudFormation tries it, then dropped.
    async fn clean_up(&mut self, to: &impl Deliver, id: &str, deployed: &Deployed) {
        let mut last = String::new();
        for _ in 0..CLEANUP_ATTEMPTS {
            match self.remove(to, id, deployed).await {
                Ok(()) => return,
                Err(error) => last = error.to_string(),
            }
        }
        self.left_behind
            .push(format!("{id} ({}): {last}", deployed.physical_id));
    }

    /// CloudFormation's Delete of a custom resource, which must succeed.
    async fn remove(&self, to: &impl Deliver, id: &str, deployed: &Deployed) -> Result<(), PlayError> {
        let event = self
            .resource(id, &deployed.resource_type, &deployed.properties)?
            .delete(&deployed.physical_id, deployed.properties.clone());
        let answer = self.send(to, id, &deployed.properties, event).await?;
        self.succeeded(id, &answer)
    }

    /// A FAILED answer as an error that names the account and the resource.
    fn succeeded(&self, resource: &str, answer: &Answer) -> Result<(), PlayError> {
        if answer.success {
            return Ok(());
        }
        Err(PlayError::Failed {
            account: self.account.clone(),
            resource: resource.to_owned(),
            reason: answer.reason.clone(),
        })
    }

    fn accept(&mut self, id: &str, resource_type: &str, properties: Value, answer: &Answer) {
        for (key, value) in &answer.data {
            self.context
                .attributes
                .insert((id.to_owned(), key.clone()), value.clone());
        }
        self.context
            .refs
            .insert(id.to_owned(), answer.physical_resource_id.clone());
        self.deployed.insert(
            id.to_owned(),
            Deployed {
                resource_type: resource_type.to_owned(),
                physical_id: answer.physical_resource_id.clone(),
                properties,
            },
        );
    }

    /// An AWS resource is recorded as CloudFormation would name it; nothing is created.
    fn record(&mut self, id: &str, resource_type: &str, properties: Value) {
        let Physical {
            reference,
            attributes,
        } = physical(&self.context.pseudo, id, resource_type, &properties);
        self.ledger
            .created(self.stack_id(), id, resource_type, &reference, &properties);
        self.context.attributes.retain(|(owner, _), _| owner != id);
        for (name, value) in attributes {
            self.context
                .attributes
                .insert((id.to_owned(), name.to_owned()), value);
        }
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

/// CloudFormation refuses a parameter value outside its declaration before anything else.
pub(crate) fn check_parameters(template: &Template, context: &Context) -> Result<(), PlayError> {
    match template.refused_parameters(context)?.into_iter().next() {
        None => Ok(()),
        Some(refused) => Err(PlayError::ParameterRefused {
            parameter: refused.parameter,
            problem: refused.problem,
        }),
    }
}

/// A custom resource a failed update changed: what it was (`None`: the update created it) and
/// what it became.
struct Applied {
    id: String,
    old: Option<Deployed>,
    now: Deployed,
}

/// A FAILED answer as the stack keeps it: without a physical ID, CloudFormation makes one up
/// (and says "Invalid PhysicalResourceId"), and the rollback's Delete carries that.
fn failed_answer(answer: &Answer, stack_name: &str, id: &str) -> Answer {
    let mut kept = answer.clone();
    if kept.physical_resource_id.is_empty() {
        kept.physical_resource_id = format!("{stack_name}-{id}-GENERATEDBYCFN");
    }
    kept.data.clear();
    kept
}
