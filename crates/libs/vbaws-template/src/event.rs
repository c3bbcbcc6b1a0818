//! Custom-resource events as CloudFormation builds them: `ServiceToken` repeated inside
//! ResourceProperties, every scalar property turned into a string, and a RequestId per request.
//! The ResponseURL is not part of building an event: whatever delivers it pre-signs one and
//! adds it ([`Event::to_json`]).

use serde_json::{Value, json};

/// A custom resource as a stack holds it: what every event about it repeats. (Not
/// `vbaws_cfn::CustomResource`, the trait a function implements to serve one.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackResource {
    pub stack_id: String,
    pub logical_resource_id: String,
    pub resource_type: String,
    pub service_token: String,
}

/// One request about a custom resource, ready to be delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct Event(Value);

impl StackResource {
    pub fn new(
        stack_id: impl Into<String>,
        logical_resource_id: impl Into<String>,
        resource_type: impl Into<String>,
        service_token: impl Into<String>,
    ) -> Self {
        Self {
            stack_id: stack_id.into(),
            logical_resource_id: logical_resource_id.into(),
            resource_type: resource_type.into(),
            service_token: service_token.into(),
        }
    }

    pub fn create(&self, properties: Value) -> Event {
        self.event("Create", properties)
    }

    pub fn update(&self, physical_resource_id: &str, properties: Value, old_properties: Value) -> Event {
        let mut event = self.event("Update", properties);
        event.0["PhysicalResourceId"] = json!(physical_resource_id);
        event.0["OldResourceProperties"] = self.properties(old_properties);
        event
    }

    pub fn delete(&self, physical_resource_id: &str, properties: Value) -> Event {
        let mut event = self.event("Delete", properties);
        event.0["PhysicalResourceId"] = json!(physical_resource_id);
        event
    }

    fn event(&self, request_type: &str, properties: Value) -> Event {
        Event(json!({
            "RequestType": request_type,
            "ServiceToken": self.service_token,
            "StackId": self.stack_id,
            "RequestId": request_id(),
            "LogicalResourceId": self.logical_resource_id,
            "ResourceType": self.resource_type,
            "ResourceProperties": self.properties(properties),
        }))
    }

    fn properties(&self, properties: Value) -> Value {
        let mut properties = stringify(properties);
        if let Some(object) = properties.as_object_mut() {
            object.insert("ServiceToken".into(), json!(self.service_token));
        }
        properties
    }
}

impl Event {
    pub fn request_id(&self) -> &str {
        self.field("RequestId")
    }

    pub fn resource_type(&self) -> &str {
        self.field("ResourceType")
    }

    pub fn stack_id(&self) -> &str {
        self.field("StackId")
    }

    pub fn logical_resource_id(&self) -> &str {
        self.field("LogicalResourceId")
    }

    /// `Create`, `Update` or `Delete`.
    pub fn request_type(&self) -> &str {
        self.field("RequestType")
    }

    /// The PhysicalResourceId an Update or Delete carries; empty on Create.
    pub fn physical_resource_id(&self) -> &str {
        self.field("PhysicalResourceId")
    }

    /// The ResourceProperties, as sent (strings, ServiceToken inside).
    pub fn properties(&self) -> &Value {
        &self.0["ResourceProperties"]
    }

    /// The same request under another RequestId; a delivery retried keeps its own.
    pub fn with_request_id(mut self, request_id: &str) -> Self {
        self.0["RequestId"] = json!(request_id);
        self
    }

    /// The JSON the function receives, with the ResponseURL its answer goes to.
    pub fn to_json(&self, response_url: &str) -> Value {
        let mut value = self.0.clone();
        value["ResponseURL"] = json!(response_url);
        value
    }

    fn field(&self, name: &str) -> &str {
        self.0[name].as_str().unwrap_or_default()
    }
}

/// A stack's ARN, as CloudFormation makes it (the UUID made unique per account).
pub fn stack_id(account: &str, region: &str, name: &str) -> String {
    let partition = partition(region);
    format!(
        "arn:{partition}:cloudformation:{region}:{account}:stack/{name}/5b3a7c10-0000-4000-8000-{account}"
    )
}

/// The partition a Region belongs to.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else {
        "aws"
    }
}

/// A fresh RequestId, a UUID as CloudFormation's are.
pub fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_carry_what_cloudformation_sends_and_the_url_only_when_delivered() {
        let resource = StackResource::new(
            stack_id("123456789012", "us-east-1", "s"),
            "Id",
            "Custom::X",
            "arn:f",
        );
        let create = resource.create(json!({"Length": 32, "On": true}));
        assert_eq!(
            create.properties(),
            &json!({"Length": "32", "On": "true", "ServiceToken": "arn:f"})
        );
        assert_eq!(create.request_id().len(), 36);
        assert_ne!(create.request_id(), resource.create(json!({})).request_id());
        let update = resource.update("pid", json!({"Length": 64}), json!({"Length": 32}));
        let sent = update.to_json("https://b.s3.amazonaws.com/k");
        assert_eq!(sent["RequestType"], "Update");
        assert_eq!(sent["PhysicalResourceId"], "pid");
        assert_eq!(sent["OldResourceProperties"]["Length"], "32");
        assert_eq!(sent["ResponseURL"], "https://b.s3.amazonaws.com/k");
        assert!(update.clone().with_request_id("r").to_json("u")["RequestId"] == "r");
        assert!(
            resource
                .delete("pid", json!({}))
                .to_json("u")
                .get("OldResourceProperties")
                .is_none()
        );
    }
}
