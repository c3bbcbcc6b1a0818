//! CloudFormation's own record of the stacks the player plays: each resource's type, physical ID,
//! status and resolved properties, and each stack's events, newest last. It is what
//! DescribeStackResource and DescribeStackEvents would report about those stacks, and what the
//! testkit's stand-in for those APIs answers from, so a function that asks AWS whether an event
//! is real gets the answer CloudFormation would give at that moment.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::SystemTime,
};

use serde_json::Value;

use crate::{Answer, event::Event};

/// A resource's status, as the CloudFormation API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceStatus {
    CreateInProgress,
    CreateComplete,
    CreateFailed,
    UpdateInProgress,
    UpdateComplete,
    UpdateFailed,
    DeleteInProgress,
    DeleteComplete,
    DeleteFailed,
}

impl ResourceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreateInProgress => "CREATE_IN_PROGRESS",
            Self::CreateComplete => "CREATE_COMPLETE",
            Self::CreateFailed => "CREATE_FAILED",
            Self::UpdateInProgress => "UPDATE_IN_PROGRESS",
            Self::UpdateComplete => "UPDATE_COMPLETE",
            Self::UpdateFailed => "UPDATE_FAILED",
            Self::DeleteInProgress => "DELETE_IN_PROGRESS",
            Self::DeleteComplete => "DELETE_COMPLETE",
            Self::DeleteFailed => "DELETE_FAILED",
        }
    }

    /// The status an operation puts a resource in while it runs, and once it ended.
    fn of(request_type: &str, phase: Phase) -> Self {
        match (request_type, phase) {
            ("Create", Phase::Running) => Self::CreateInProgress,
            ("Create", Phase::Succeeded) => Self::CreateComplete,
            ("Create", Phase::Failed) => Self::CreateFailed,
            ("Update", Phase::Running) => Self::UpdateInProgress,
            ("Update", Phase::Succeeded) => Self::UpdateComplete,
            ("Update", Phase::Failed) => Self::UpdateFailed,
            (_, Phase::Running) => Self::DeleteInProgress,
            (_, Phase::Succeeded) => Self::DeleteComplete,
            (_, Phase::Failed) => Self::DeleteFailed,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Running,
    Succeeded,
    Failed,
}

/// A resource as the stack holds it now.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceRecord {
    pub resource_type: String,
    pub physical_id: String,
    pub status: ResourceStatus,
    /// Resolved, as the player recorded them (an AWS resource's, or a custom resource's).
    pub properties: Value,
    pub updated: SystemTime,
}

/// One line of the stack's events.
#[derive(Debug, Clone, PartialEq)]
pub struct StackEvent {
    pub logical_id: String,
    pub physical_id: String,
    pub resource_type: String,
    pub status: ResourceStatus,
    pub timestamp: SystemTime,
}

/// One stack.
#[derive(Debug, Clone, PartialEq)]
pub struct StackRecord {
    pub stack_id: String,
    pub account: String,
    pub region: String,
    pub name: String,
    pub resources: BTreeMap<String, ResourceRecord>,
    /// Oldest first.
    pub events: Vec<StackEvent>,
}

impl StackRecord {
    fn log(&mut self, logical_id: &str, physical_id: &str, resource_type: &str, status: ResourceStatus) {
        self.events.push(StackEvent {
            logical_id: logical_id.to_owned(),
            physical_id: physical_id.to_owned(),
            resource_type: resource_type.to_owned(),
            status,
            timestamp: SystemTime::now(),
        });
    }

    /// Sets a resource's status (and physical ID, when the operation gave one), with its event.
    fn set(
        &mut self,
        logical_id: &str,
        resource_type: &str,
        physical_id: Option<&str>,
        status: ResourceStatus,
        properties: Option<&Value>,
    ) {
        let record = self
            .resources
            .entry(logical_id.to_owned())
            .or_insert_with(|| ResourceRecord {
                resource_type: resource_type.to_owned(),
                physical_id: String::new(),
                status,
                properties: Value::Null,
                updated: SystemTime::now(),
            });
        if let Some(id) = physical_id.filter(|id| !id.is_empty()) {
            id.clone_into(&mut record.physical_id);
        }
        if let Some(properties) = properties {
            record.properties = properties.clone();
        }
        record.status = status;
        record.updated = SystemTime::now();
        let physical = record.physical_id.clone();
        self.log(logical_id, &physical, resource_type, status);
    }
}

/// The record of every stack played with it; clones share it.
#[derive(Debug, Clone, Default)]
pub struct Ledger(Arc<Mutex<BTreeMap<String, StackRecord>>>);

impl Ledger {
    /// Starts the record of a stack (once; a stack played again keeps its record).
    pub fn open(&self, stack_id: &str, account: &str, region: &str, name: &str) {
        self.lock()
            .entry(stack_id.to_owned())
            .or_insert_with(|| StackRecord {
                stack_id: stack_id.to_owned(),
                account: account.to_owned(),
                region: region.to_owned(),
                name: name.to_owned(),
                resources: BTreeMap::new(),
                events: Vec::new(),
            });
    }

    /// An AWS resource, created (the player creates nothing, it records); recorded again by an
    /// update, it keeps its status and takes the new properties.
    pub fn created(
        &self,
        stack_id: &str,
        logical_id: &str,
        resource_type: &str,
        physical_id: &str,
        properties: &Value,
    ) {
        self.with_stack(stack_id, |stack| {
            if let Some(existing) = stack.resources.get_mut(logical_id) {
                existing.properties = properties.clone();
                return;
            }
            stack.set(
                logical_id,
                resource_type,
                Some(physical_id),
                ResourceStatus::CreateInProgress,
                Some(properties),
            );
            stack.set(
                logical_id,
                resource_type,
                None,
                ResourceStatus::CreateComplete,
                None,
            );
        });
    }

    /// An AWS resource, deleted.
    pub fn deleted(&self, stack_id: &str, logical_id: &str) {
        self.with_stack(stack_id, |stack| {
            let Some(resource_type) = stack.resources.get(logical_id).map(|r| r.resource_type.clone()) else {
                return;
            };
            stack.set(
                logical_id,
                &resource_type,
                None,
                ResourceStatus::DeleteInProgress,
                None,
            );
            stack.set(
                logical_id,
                &resource_type,
                None,
                ResourceStatus::DeleteComplete,
                None,
            );
        });
    }

    /// A custom resource's event is about to be sent: the resource is in progress (with the
    /// event's physical ID, if the record had none). A Delete of an ID the resource no longer has
    /// (the cleanup after a replacement) leaves the resource as it is and only shows in the
    /// events.
    pub fn sending(&self, event: &Event) {
        self.transition(event, Phase::Running, None);
    }

    /// The answer to `event` arrived.
    pub fn answered(&self, event: &Event, answer: &Answer) {
        let phase = if answer.success {
            Phase::Succeeded
        } else {
            Phase::Failed
        };
        self.transition(event, phase, Some(&answer.physical_resource_id));
    }

    fn transition(&self, event: &Event, phase: Phase, answered_id: Option<&str>) {
        let request = event.request_type();
        let status = ResourceStatus::of(request, phase);
        let logical_id = event.logical_resource_id();
        let resource_type = event.resource_type();
        self.with_stack(event.stack_id(), |stack| {
            if request == "Delete" {
                let current = stack.resources.get(logical_id).map(|r| r.physical_id.as_str());
                if current.is_some_and(|current| current != event.physical_resource_id()) {
                    stack.log(logical_id, event.physical_resource_id(), resource_type, status);
                    return;
                }
            }
            let physical_id = match request {
                "Create" => answered_id,
                _ => answered_id.or(Some(event.physical_resource_id())),
            };
            stack.set(
                logical_id,
                resource_type,
                physical_id,
                status,
                Some(event.properties()),
            );
        });
    }

    /// The stack `stack_id`, as it stands.
    pub fn stack(&self, stack_id: &str) -> Option<StackRecord> {
        self.lock().get(stack_id).cloned()
    }

    /// Every stack of `account`.
    pub fn stacks_of(&self, account: &str) -> Vec<StackRecord> {
        self.lock()
            .values()
            .filter(|s| s.account == account)
            .cloned()
            .collect()
    }

    fn with_stack(&self, stack_id: &str, change: impl FnOnce(&mut StackRecord)) {
        if let Some(stack) = self.lock().get_mut(stack_id) {
            change(stack);
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, StackRecord>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::event::StackResource;

    const STACK: &str = "arn:aws:cloudformation:us-east-1:111111111111:stack/s/1";

    fn ledger() -> (Ledger, StackResource) {
        let ledger = Ledger::default();
        ledger.open(STACK, "111111111111", "us-east-1", "s");
        let resource = StackResource::new(STACK, "Reg", "Custom::Thing", "arn:fn");
        (ledger, resource)
    }

    fn answer(id: &str) -> Answer {
        Answer {
            success: true,
            physical_resource_id: id.to_owned(),
            ..Answer::default()
        }
    }

    fn status(ledger: &Ledger) -> (ResourceStatus, String) {
        let stack = ledger.stack(STACK).expect("stack");
        let reg = &stack.resources["Reg"];
        (reg.status, reg.physical_id.clone())
    }

    #[test]
    fn a_resource_is_in_progress_while_its_event_is_out_and_complete_after() {
        let (ledger, resource) = ledger();
        let create = resource.create(json!({}));
        ledger.sending(&create);
        assert_eq!(status(&ledger), (ResourceStatus::CreateInProgress, String::new()));
        ledger.answered(&create, &answer("p1"));
        assert_eq!(status(&ledger), (ResourceStatus::CreateComplete, "p1".into()));

        let update = resource.update("p1", json!({"a": 1}), json!({}));
        ledger.sending(&update);
        assert_eq!(status(&ledger), (ResourceStatus::UpdateInProgress, "p1".into()));
        ledger.answered(&update, &answer("p2"));
        assert_eq!(status(&ledger), (ResourceStatus::UpdateComplete, "p2".into()));
    }

    #[test]
    fn the_cleanup_of_a_replaced_id_shows_in_the_events_only() {
        let (ledger, resource) = ledger();
        let create = resource.create(json!({}));
        ledger.sending(&create);
        ledger.answered(&create, &answer("new"));
        let cleanup = resource.delete("old", json!({}));
        ledger.sending(&cleanup);
        assert_eq!(status(&ledger), (ResourceStatus::CreateComplete, "new".into()));
        let stack = ledger.stack(STACK).expect("stack");
        let last = stack.events.last().expect("event");
        assert_eq!(
            (last.physical_id.as_str(), last.status),
            ("old", ResourceStatus::DeleteInProgress)
        );

        let delete = resource.delete("new", json!({}));
        ledger.sending(&delete);
        assert_eq!(status(&ledger), (ResourceStatus::DeleteInProgress, "new".into()));
    }
}
