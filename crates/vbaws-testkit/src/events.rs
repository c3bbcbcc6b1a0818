//! Custom-resource events as CloudFormation sends them: `ServiceToken` repeated inside
//! ResourceProperties, and every scalar property turned into a string.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

/// A custom resource in a stack, from which events are made.
#[derive(Debug, Clone)]
pub struct Resource {
    pub stack_id: String,
    pub logical_resource_id: String,
    pub resource_type: String,
    pub service_token: String,
}

impl Resource {
    /// A resource of `resource_type` in a stack of account 123456789012, us-east-1.
    pub fn new(resource_type: &str, logical_resource_id: &str) -> Self {
        Self {
            stack_id: stack_id("123456789012", "us-east-1", "StackSet-veeam-roles-0a1b2c3d"),
            logical_resource_id: logical_resource_id.to_owned(),
            resource_type: resource_type.to_owned(),
            service_token: "arn:aws:lambda:us-east-1:111111111111:function:vbaws-function".to_owned(),
        }
    }

    /// The same resource in a stack of another account.
    pub fn in_account(mut self, account: &str) -> Self {
        self.stack_id = stack_id(account, "us-east-1", "StackSet-veeam-roles-0a1b2c3d");
        self
    }

    pub fn create(&self, response_url: &str, request_id: &str, properties: Value) -> Value {
        let mut event = self.common("Create", response_url, request_id, properties);
        event.as_object_mut().map(|o| o.remove("PhysicalResourceId"));
        event
    }

    pub fn update(
        &self,
        response_url: &str,
        request_id: &str,
        physical_resource_id: &str,
        properties: Value,
        old_properties: Value,
    ) -> Value {
        let mut event = self.common("Update", response_url, request_id, properties);
        event["PhysicalResourceId"] = json!(physical_resource_id);
        event["OldResourceProperties"] = self.properties(old_properties);
        event
    }

    pub fn delete(
        &self,
        response_url: &str,
        request_id: &str,
        physical_resource_id: &str,
        properties: Value,
    ) -> Value {
        let mut event = self.common("Delete", response_url, request_id, properties);
        event["PhysicalResourceId"] = json!(physical_resource_id);
        event
    }

    fn common(&self, request_type: &str, response_url: &str, request_id: &str, properties: Value) -> Value {
        json!({
            "RequestType": request_type,
            "ServiceToken": self.service_token,
            "ResponseURL": response_url,
            "StackId": self.stack_id,
            "RequestId": request_id,
            "LogicalResourceId": self.logical_resource_id,
            "PhysicalResourceId": null,
            "ResourceType": self.resource_type,
            "ResourceProperties": self.properties(properties),
        })
    }

    fn properties(&self, properties: Value) -> Value {
        let mut properties = stringify(properties);
        if let Some(object) = properties.as_object_mut() {
            object.insert("ServiceToken".into(), json!(self.service_token));
        }
        properties
    }
}

/// A stack ARN.
pub fn stack_id(account: &str, region: &str, name: &str) -> String {
    format!("arn:aws:cloudformation:{region}:{account}:stack/{name}/5b3a7c10-4e2f-11f1-9a2b-0e8c1d2f3a4b")
}

/// A request ID unique within this process, shaped like CloudFormation's (a UUID).
pub fn request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{:08x}-5d4e-4f25-8bd1-{:012x}", std::process::id(), n)
}

/// Turns every number and boolean into a string, as CloudFormation does to custom-resource
/// properties.
pub fn stringify(value: Value) -> Value {
    match value {
        Value::Number(n) => Value::String(n.to_string()),
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Array(items) => Value::Array(items.into_iter().map(stringify).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, stringify(v))).collect()),
        other => other,
    }
}
