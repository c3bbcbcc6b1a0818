//! The answer PUT to the ResponseURL, and the limits CloudFormation puts on it.

use std::collections::BTreeMap;

use aws_lambda_events::cloudformation::CloudFormationCustomResourceResponseStatus as Status0;
use serde::Serialize;

use crate::routing::Routing;

/// CloudFormation rejects a response body longer than this ("Response object is too long").
pub const MAX_BODY_BYTES: usize = 4096;
/// CloudFormation rejects a longer PhysicalResourceId.
pub const MAX_PHYSICAL_ID_BYTES: usize = 1024;

const TRUNCATED: &str = " [truncated]";

pub(crate) type Status = Status0;

/// What we tell CloudFormation, before the routing fields are added.
#[derive(Clone, PartialEq)]
pub(crate) struct Response {
    pub status: Status,
    pub reason: Option<String>,
    pub physical_resource_id: String,
    pub no_echo: bool,
    pub data: BTreeMap<String, String>,
}

// Data may hold a secret (an external ID), so only its keys are shown.
impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("reason", &self.reason)
            .field("physical_resource_id", &self.physical_resource_id)
            .field("no_echo", &self.no_echo)
            .field("data_keys", &self.data.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Body<'a> {
    status: &'a Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    physical_resource_id: &'a str,
    stack_id: &'a str,
    request_id: &'a str,
    logical_resource_id: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    no_echo: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    data: &'a BTreeMap<String, String>,
}

impl Response {
    pub(crate) fn failed(reason: impl Into<String>, physical_resource_id: impl Into<String>) -> Self {
        Self {
            status: Status::Failed,
            reason: Some(reason.into()),
            physical_resource_id: physical_resource_id.into(),
            no_echo: false,
            data: BTreeMap::new(),
        }
    }

    pub(crate) fn to_json(&self, routing: &Routing) -> Vec<u8> {
        self.to_json_with_reason(routing, self.reason.as_deref())
    }

    fn to_json_with_reason(&self, routing: &Routing, reason: Option<&str>) -> Vec<u8> {
        let body = Body {
            status: &self.status,
            reason,
            physical_resource_id: &self.physical_resource_id,
            stack_id: &routing.stack_id,
            request_id: &routing.request_id,
            logical_resource_id: &routing.logical_resource_id,
            no_echo: self.no_echo,
            data: &self.data,
        };
        // Serializing strings and a map of strings cannot fail.
        serde_json::to_vec(&body).unwrap_or_default()
    }

    /// The body to PUT, never longer than [`MAX_BODY_BYTES`].
    ///
    /// Data that cannot fit turns the answer into FAILED that says so, rather than letting
    /// CloudFormation fail it with a message that names no cause. A Reason that cannot fit is cut
    /// on a character boundary, keeping its head, where the cause is.
    pub(crate) fn into_body(mut self, routing: &Routing) -> (Self, Vec<u8>) {
        let body = self.to_json(routing);
        if body.len() <= MAX_BODY_BYTES {
            return (self, body);
        }
        if !self.data.is_empty() && self.to_json_with_reason(routing, None).len() > MAX_BODY_BYTES {
            let data_bytes = serde_json::to_vec(&self.data)
                .map(|d| d.len())
                .unwrap_or_default();
            self.status = Status::Failed;
            self.no_echo = false;
            self.data.clear();
            self.reason = Some(format!(
                "the function's response Data is {data_bytes} bytes, and CloudFormation accepts at most \
                 {MAX_BODY_BYTES} bytes for a whole response: the function must return less Data"
            ));
            let body = self.to_json(routing);
            if body.len() <= MAX_BODY_BYTES {
                return (self, body);
            }
        }
        let body = self.fit_reason(routing);
        if body.len() <= MAX_BODY_BYTES {
            return (self, body);
        }
        // Only a PhysicalResourceId that grows long once JSON-escaped gets here. The routing
        // checked that a FAILED answer with `failed_id` always fits.
        let mut fallback = Self::failed(
            "the answer would be longer than CloudFormation's 4096 bytes because of the \
             PhysicalResourceId the function chose; this is a bug in the function",
            routing.failed_id.clone(),
        );
        let body = fallback.fit_reason(routing);
        (fallback, body)
    }

    /// Cuts the Reason, keeping its head, until the body fits (if it can).
    fn fit_reason(&mut self, routing: &Routing) -> Vec<u8> {
        let body = self.to_json(routing);
        if body.len() <= MAX_BODY_BYTES {
            return body;
        }
        let reason = self.reason.take().unwrap_or_default();
        let cut = longest_fitting_prefix(&reason, |prefix| {
            let candidate = format!("{prefix}{TRUNCATED}");
            self.to_json_with_reason(routing, Some(&candidate)).len() <= MAX_BODY_BYTES
        });
        self.reason = Some(format!("{}{TRUNCATED}", &reason[..cut]));
        self.to_json(routing)
    }
}

/// The byte length of the longest prefix of `text`, ending on a character boundary, that `fits`.
/// `fits` must be monotonic: if a prefix fits, every shorter one does.
fn longest_fitting_prefix(text: &str, fits: impl Fn(&str) -> bool) -> usize {
    let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
    let (mut low, mut high) = (0, boundaries.len() - 1);
    while low < high {
        let mid = (low + high).div_ceil(2);
        if fits(&text[..boundaries[mid]]) {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    boundaries[low]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn routing() -> Routing {
        Routing::from_event(
            &json!({
                "ResponseURL": "https://bucket.s3.amazonaws.com/key?sig=1",
                "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/guid",
                "RequestId": "8d8ffbe2-5d4e-4f25-8bd1-6ef6a1b5d6c1",
                "LogicalResourceId": "ExtId",
                "RequestType": "Create",
            }),
            &crate::ResponseUrlPolicy::s3_only(),
        )
        .expect("routable")
    }

    fn success(data: BTreeMap<String, String>) -> Response {
        Response {
            status: Status::Success,
            reason: None,
            physical_resource_id: "id".into(),
            no_echo: true,
            data,
        }
    }

    #[test]
    fn a_small_answer_is_sent_as_is_and_omits_empty_fields() {
        let (answer, body) = success(BTreeMap::new()).into_body(&routing());
        let parsed: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(parsed["Status"], "SUCCESS");
        assert_eq!(parsed["NoEcho"], true);
        assert!(parsed.get("Reason").is_none() && parsed.get("Data").is_none());
        assert_eq!(answer.status, Status::Success);
    }

    #[test]
    fn a_long_reason_keeps_its_head_and_stays_utf8() {
        let reason = format!("CAUSE: {}", "é€𝄞".repeat(2000));
        let (answer, body) = Response::failed(reason, "id").into_body(&routing());
        assert!(body.len() <= MAX_BODY_BYTES, "{}", body.len());
        assert!(
            body.len() > MAX_BODY_BYTES - 8,
            "the cut wastes room: {}",
            body.len()
        );
        let parsed: Value = serde_json::from_slice(&body).expect("valid json, so valid utf-8");
        let sent = parsed["Reason"].as_str().expect("reason");
        assert!(
            sent.starts_with("CAUSE: é€𝄞") && sent.ends_with(TRUNCATED),
            "{sent}"
        );
        assert_eq!(answer.reason.as_deref(), Some(sent));
    }

    #[test]
    fn data_that_cannot_fit_turns_the_answer_into_failed() {
        let data = BTreeMap::from([("Blob".to_owned(), "x".repeat(5000))]);
        let (answer, body) = success(data).into_body(&routing());
        let parsed: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(parsed["Status"], "FAILED");
        assert!(parsed.get("Data").is_none());
        assert!(
            answer
                .reason
                .as_deref()
                .unwrap_or_default()
                .contains("Data is 5011 bytes")
        );
    }

    #[test]
    fn data_that_fits_exactly_is_kept() {
        let empty = success(BTreeMap::from([("K".to_owned(), String::new())]))
            .to_json(&routing())
            .len();
        let data = BTreeMap::from([("K".to_owned(), "v".repeat(MAX_BODY_BYTES - empty))]);
        let (answer, body) = success(data).into_body(&routing());
        assert_eq!(body.len(), MAX_BODY_BYTES);
        assert_eq!(answer.status, Status::Success);
    }
}
