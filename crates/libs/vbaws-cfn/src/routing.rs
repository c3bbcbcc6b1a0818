//! The fields that decide where and how an answer goes, read before anything else in the event.
//!
//! Everything here is lenient on purpose: a field that is missing or of the wrong type becomes an
//! empty string, so that as long as the event names a ResponseURL it still gets an answer (FAILED,
//! naming what was wrong) instead of leaving the stack to wait for ServiceTimeout.

use std::fmt;

use serde_json::{Map, Value};
use url::Url;

use crate::{
    ResponseUrlPolicy,
    physical_id::{self, create_failed_marker},
    response::{MAX_BODY_BYTES, Response},
};

/// A pre-signed URL that answers go to. Its query string is a bearer credential (anyone holding
/// it can answer for the stack), so neither `Debug` nor `Display` ever print it.
#[derive(Clone, PartialEq, Eq)]
pub struct ResponseUrl(Url);

impl ResponseUrl {
    /// Parses a URL, accepting only `http` and `https` with a host.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let url = Url::parse(raw).map_err(|_| "the ResponseURL is not a valid URL")?;
        match url.scheme() {
            "https" | "http" if url.host_str().is_some() => Ok(Self(url)),
            "https" | "http" => Err("the ResponseURL has no host"),
            _ => Err("the ResponseURL is neither http nor https"),
        }
    }

    /// The full URL, query included: only for sending the answer.
    pub(crate) fn as_url(&self) -> &Url {
        &self.0
    }

    /// The host (with a port when one is given), which is safe to log.
    pub fn host(&self) -> String {
        match (self.0.host_str(), self.0.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => String::new(),
        }
    }
}

/// Prints `scheme://host/path?***`: enough to find the bucket and key, never the signature.
impl fmt::Display for ResponseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}{}", self.0.scheme(), self.host(), self.0.path())?;
        if self.0.query().is_some() {
            f.write_str("?***")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ResponseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResponseUrl({self})")
    }
}

/// Why an event cannot be answered at all. Logged, never sent anywhere.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unroutable {
    #[error("the event is a JSON {0}, not an object")]
    NotAnObject(&'static str),
    #[error("the event has no ResponseURL")]
    NoResponseUrl,
    #[error("{0}")]
    BadResponseUrl(&'static str),
    #[error("the event's StackId, RequestId and LogicalResourceId leave no room for an answer")]
    TooLarge,
    /// The URL is not one the function may answer to (see [`crate::ResponseUrlPolicy`]).
    #[error(
        "{why} (host {host}); no answer is sent. Add the host to RESPONSE_URL_ALLOWED_HOSTS only for local tests"
    )]
    Refused { host: String, why: &'static str },
}

/// The routing fields of one event.
#[derive(Debug, Clone)]
pub struct Routing {
    pub response_url: ResponseUrl,
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
    pub physical_resource_id: Option<String>,
    pub request_type: RequestType,
    /// The PhysicalResourceId of a FAILED answer: the event's own on Update and Delete, or on
    /// Create the marker that the rollback's Delete recognises.
    pub failed_id: String,
}

impl Routing {
    pub fn from_event(event: &Value, policy: &ResponseUrlPolicy) -> Result<Self, Unroutable> {
        let object = event
            .as_object()
            .ok_or_else(|| Unroutable::NotAnObject(json_kind(event)))?;
        let raw_url = object
            .get("ResponseURL")
            .and_then(Value::as_str)
            .ok_or(Unroutable::NoResponseUrl)?;
        let response_url = ResponseUrl::parse(raw_url).map_err(Unroutable::BadResponseUrl)?;
        if let Some(why) = policy.refusal(response_url.as_url()) {
            return Err(Unroutable::Refused {
                host: response_url.host(),
                why,
            });
        }
        let routing = Self {
            response_url,
            stack_id: text(object, "StackId"),
            request_id: text(object, "RequestId"),
            logical_resource_id: text(object, "LogicalResourceId"),
            physical_resource_id: object
                .get("PhysicalResourceId")
                .and_then(Value::as_str)
                .map(str::to_owned),
            request_type: RequestType::from(text(object, "RequestType")),
            failed_id: String::new(),
        };
        let routing = Self {
            failed_id: match (&routing.physical_resource_id, &routing.request_type) {
                (Some(id), RequestType::Update | RequestType::Delete) if physical_id::is_valid(id) => {
                    id.clone()
                }
                _ => create_failed_marker(&routing.request_id),
            },
            ..routing
        };
        // The three copied fields must fit in a body of 4096 bytes together with a short reason;
        // CloudFormation never sends more than a few hundred bytes of them, so anything larger is
        // forged and would make every answer we could build too long.
        // Every answer must fit in 4096 bytes, and the last resort is a FAILED answer with a
        // short reason and `failed_id`: when even that does not fit, no answer can. Only a
        // forged event gets here; CloudFormation's fields are a few hundred bytes.
        let probe = Response::failed("x".repeat(64), routing.failed_id.clone());
        if probe.to_json(&routing).len() > MAX_BODY_BYTES {
            return Err(Unroutable::TooLarge);
        }
        Ok(routing)
    }

    /// The routing fields that CloudFormation always sends and that are missing here.
    pub fn missing_fields(&self) -> Vec<&'static str> {
        let mut missing: Vec<&'static str> = [
            ("StackId", &self.stack_id),
            ("RequestId", &self.request_id),
            ("LogicalResourceId", &self.logical_resource_id),
        ]
        .into_iter()
        .filter(|(_, value)| value.is_empty())
        .map(|(name, _)| name)
        .collect();
        if matches!(&self.request_type, RequestType::Other(text) if text.is_empty()) {
            missing.push("RequestType");
        }
        missing
    }
}

/// The event's RequestType, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestType {
    Create,
    Update,
    Delete,
    /// Anything else, kept for the log and the Reason; empty when the field is missing.
    Other(String),
}

impl From<String> for RequestType {
    fn from(text: String) -> Self {
        match text.as_str() {
            "Create" => Self::Create,
            "Update" => Self::Update,
            "Delete" => Self::Delete,
            _ => Self::Other(text),
        }
    }
}

impl std::fmt::Display for RequestType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Create => "Create",
            Self::Update => "Update",
            Self::Delete => "Delete",
            Self::Other(text) => text,
        })
    }
}

fn text(object: &Map<String, Value>, key: &str) -> String {
    object
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The kind of a JSON value, for logging an event without its content.
pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn open() -> ResponseUrlPolicy {
        ResponseUrlPolicy::with_hosts("h,bucket.s3.amazonaws.com")
    }

    #[test]
    fn display_and_debug_hide_the_signature() {
        let url = ResponseUrl::parse(
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3Aaws/abc?X-Amz-Signature=SECRET",
        )
        .expect("valid url");
        let shown = format!("{url} {url:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("s3.amazonaws.com/arn%3Aaws/abc?***"), "{shown}");
    }

    #[test]
    fn only_objects_with_a_usable_url_are_routable() {
        assert_eq!(
            Routing::from_event(&json!([1]), &open()).err(),
            Some(Unroutable::NotAnObject("array"))
        );
        assert_eq!(
            Routing::from_event(&json!({}), &open()).err(),
            Some(Unroutable::NoResponseUrl)
        );
        assert!(matches!(
            Routing::from_event(&json!({"ResponseURL": "ftp://x/y"}), &open()),
            Err(Unroutable::BadResponseUrl(_))
        ));
        let huge = json!({"ResponseURL": "http://h/p", "StackId": "s".repeat(5000)});
        assert_eq!(
            Routing::from_event(&huge, &open()).err(),
            Some(Unroutable::TooLarge)
        );
    }

    #[test]
    fn urls_outside_the_policy_are_refused_naming_only_the_host() {
        let forged = json!({"ResponseURL": "https://10.0.1.20:11005/api/v1/token?secret=1", "StackId": "s"});
        let refused = Routing::from_event(&forged, &ResponseUrlPolicy::s3_only()).expect_err("refused");
        assert!(
            matches!(&refused, Unroutable::Refused { host, .. } if host == "10.0.1.20:11005"),
            "{refused}"
        );
        assert!(!refused.to_string().contains("secret"), "{refused}");
    }

    #[test]
    fn missing_fields_are_named() {
        let routing = Routing::from_event(&json!({"ResponseURL": "http://h/p", "StackId": 7}), &open())
            .expect("routable");
        assert_eq!(
            routing.missing_fields(),
            ["StackId", "RequestId", "LogicalResourceId", "RequestType"]
        );
    }
}
