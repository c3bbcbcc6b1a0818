//! The protocol core's guarantees, proven on a real process: `cfn-probe` runs as a Lambda sandbox
//! against the Runtime API stand-in, and answers land in the ResponseURL stand-in.

use std::{path::Path, time::Duration};

use serde_json::{Value, json};
use tokio::time::Instant;
use vbaws_testkit::{
    Completion, Deadline, Lambda, RecordedPut, ResponseBucket, SIGNATURE,
    events::{StackResource, resource},
};

const PATIENCE: Duration = Duration::from_secs(10);

struct Rig {
    lambda: Lambda,
    resource: StackResource,
}

impl Rig {
    async fn start(env: &[(&str, &str)]) -> Self {
        let lambda = Lambda::start(Path::new(env!("CARGO_BIN_EXE_cfn-probe")), env)
            .await
            .expect("probe starts");
        Self {
            lambda,
            resource: resource("Custom::Probe", "Probe"),
        }
    }

    /// Sends `event` and returns how the invocation ended and the delivered answer for `key`.
    async fn send(&self, key: &str, event: Value, deadline: Deadline) -> (Completion, Option<RecordedPut>) {
        let delivery = self.lambda.deliver_json(key, &event, deadline).await;
        (delivery.completion, delivery.answer)
    }

    async fn create(&self, props: Value) -> (String, Completion, Option<RecordedPut>) {
        let event = self.resource.create(props);
        let key = event.request_id().to_owned();
        let event = event.to_json(&self.lambda.bucket.url(&key));
        let (completion, put) = self
            .send(&key, event, Deadline::In(Duration::from_secs(30)))
            .await;
        (key, completion, put)
    }

    fn output(&self) -> String {
        self.lambda.sandbox.output()
    }
}

fn answered(put: Option<RecordedPut>) -> Value {
    put.expect("an answer was delivered").json()
}

#[tokio::test]
async fn create_is_answered_once_with_exact_headers_and_copied_routing_fields() {
    let rig = Rig::start(&[]).await;
    let (key, completion, put) = rig.create(json!({"SleepMs": 1, "Panic": false})).await;
    assert_eq!(completion, Completion::Response("null".into()));
    let put = put.expect("delivered");
    assert_eq!(put.method, "PUT");
    assert_eq!(
        put.content_type.as_deref(),
        Some(""),
        "CloudFormation expects an empty Content-Type"
    );
    assert_eq!(put.content_length, Some(put.body.len()));
    let body = put.json();
    assert_eq!(body["Status"], "SUCCESS");
    assert_eq!(body["StackId"], rig.resource.stack_id.as_str());
    assert_eq!(body["RequestId"], key.as_str());
    assert_eq!(body["LogicalResourceId"], "Probe");
    assert_eq!(body["PhysicalResourceId"], format!("Probe-{key}"));
    assert_eq!(body["Data"]["Echo"], "Probe");
    assert_eq!(rig.lambda.bucket.all_puts().len(), 1, "exactly one PUT");
}

#[tokio::test]
async fn update_and_delete_keep_the_event_physical_id_unless_the_handler_replaces() {
    let rig = Rig::start(&[]).await;
    let update = rig.resource.update("probe-1", json!({}), json!({}));
    let url_key = update.request_id().to_owned();
    let update = update.to_json(&rig.lambda.bucket.url(&url_key));
    assert_eq!(
        answered(
            rig.send(&url_key, update, Deadline::In(Duration::from_secs(30)))
                .await
                .1
        )["PhysicalResourceId"],
        "probe-1"
    );

    let replace = rig
        .resource
        .update("probe-1", json!({"PhysicalId": "probe-2"}), json!({}));
    let url_key = replace.request_id().to_owned();
    let replace = replace.to_json(&rig.lambda.bucket.url(&url_key));
    assert_eq!(
        answered(
            rig.send(&url_key, replace, Deadline::In(Duration::from_secs(30)))
                .await
                .1
        )["PhysicalResourceId"],
        "probe-2"
    );

    let delete = rig.resource.delete("probe-1", json!({"PhysicalId": "other"}));
    let url_key = delete.request_id().to_owned();
    let delete = delete.to_json(&rig.lambda.bucket.url(&url_key));
    assert_eq!(
        answered(
            rig.send(&url_key, delete, Deadline::In(Duration::from_secs(30)))
                .await
                .1
        )["PhysicalResourceId"],
        "probe-1"
    );
}

#[tokio::test]
async fn bad_input_is_failed_with_a_reason_that_names_it() {
    let rig = Rig::start(&[]).await;
    let (_, _, put) = rig.create(json!({"SleepMs": "soon"})).await;
    let body = answered(put);
    assert_eq!(body["Status"], "FAILED");
    let reason = body["Reason"].as_str().expect("reason");
    assert!(
        reason.contains("ResourceProperties.SleepMs is invalid"),
        "{reason}"
    );
    assert!(
        reason.contains("expected a whole number, got \"soon\""),
        "{reason}"
    );
    assert!(
        body["PhysicalResourceId"]
            .as_str()
            .expect("id")
            .starts_with("vbaws:create-failed:")
    );

    let event = rig.resource.create(json!({}));
    let key = event.request_id().to_owned();
    let mut event = event.to_json(&rig.lambda.bucket.url(&key));
    event["RequestType"] = json!("Destroy");
    let body = answered(
        rig.send(&key, event, Deadline::In(Duration::from_secs(30)))
            .await
            .1,
    );
    assert_eq!(body["Status"], "FAILED");
    assert!(
        body["Reason"]
            .as_str()
            .expect("reason")
            .contains("not Create, Update or Delete"),
        "{body}"
    );

    let event = rig.resource.create(json!({}));
    let key = event.request_id().to_owned();
    let mut event = event.to_json(&rig.lambda.bucket.url(&key));
    event.as_object_mut().expect("object").remove("StackId");
    let body = answered(
        rig.send(&key, event, Deadline::In(Duration::from_secs(30)))
            .await
            .1,
    );
    assert_eq!(body["Status"], "FAILED");
    assert!(
        body["Reason"].as_str().expect("reason").contains("lacks StackId"),
        "{body}"
    );
}

#[tokio::test]
async fn a_handler_error_becomes_the_reason() {
    let rig = Rig::start(&[]).await;
    let (_, _, put) = rig
        .create(json!({"FailWith": "the appliance said no; check its log"}))
        .await;
    let body = answered(put);
    assert_eq!(body["Status"], "FAILED");
    assert_eq!(body["Reason"], "the appliance said no; check its log");
}

#[tokio::test]
async fn a_panic_is_answered_failed_and_the_sandbox_serves_the_next_event() {
    let rig = Rig::start(&[]).await;
    let (_, completion, put) = rig.create(json!({"Panic": "true"})).await;
    assert_eq!(completion, Completion::Response("null".into()));
    let body = answered(put);
    assert_eq!(body["Status"], "FAILED");
    assert!(
        body["Reason"]
            .as_str()
            .expect("reason")
            .contains("the probe was asked to panic"),
        "{body}"
    );

    let (_, _, put) = rig.create(json!({})).await;
    assert_eq!(answered(put)["Status"], "SUCCESS");
}

#[tokio::test]
async fn slow_work_is_abandoned_and_answered_before_a_close_deadline() {
    let rig = Rig::start(&[("PROBE_SAFETY_MARGIN_MS", "1500")]).await;
    let event = rig.resource.create(json!({"SleepMs": 60_000}));
    let key = event.request_id().to_owned();
    let event = event.to_json(&rig.lambda.bucket.url(&key));
    let sent = Instant::now();
    let deadline = Duration::from_secs(4);
    let (completion, put) = rig.send(&key, event, Deadline::In(deadline)).await;
    let put = put.expect("answered");
    assert!(
        put.at - sent < deadline,
        "answered {:?} after sending, past the deadline",
        put.at - sent
    );
    assert!(
        put.at - sent >= Duration::from_millis(2400),
        "the work had its budget: {:?}",
        put.at - sent
    );
    assert_eq!(completion, Completion::Response("null".into()));
    let body = put.json();
    assert_eq!(body["Status"], "FAILED");
    assert!(
        body["Reason"].as_str().expect("reason").contains("time budget"),
        "{body}"
    );
}

#[tokio::test]
async fn a_nonsense_deadline_falls_back_to_the_configured_budget() {
    let rig = Rig::start(&[
        ("PROBE_FALLBACK_BUDGET_MS", "3000"),
        ("PROBE_SAFETY_MARGIN_MS", "1000"),
    ])
    .await;
    let event = rig.resource.create(json!({"SleepMs": 10}));
    let key = event.request_id().to_owned();
    let event = event.to_json(&rig.lambda.bucket.url(&key));
    let (_, put) = rig.send(&key, event, Deadline::Raw(600_000)).await;
    assert_eq!(answered(put)["Status"], "SUCCESS");
    assert!(
        rig.output().contains("deadline missing or implausible"),
        "{}",
        rig.output()
    );

    let event = rig.resource.create(json!({"SleepMs": 30_000}));
    let key = event.request_id().to_owned();
    let event = event.to_json(&rig.lambda.bucket.url(&key));
    let sent = Instant::now();
    let (_, put) = rig.send(&key, event, Deadline::Raw(0)).await;
    let put = put.expect("answered within the fallback budget");
    assert!(put.at - sent < Duration::from_secs(3), "{:?}", put.at - sent);
    assert_eq!(put.json()["Status"], "FAILED");
}

#[tokio::test]
async fn a_refusing_bucket_is_retried_until_it_accepts() {
    let rig = Rig::start(&[]).await;
    rig.lambda.bucket.refuse_next(&[503, 503]);
    let (key, completion, put) = rig.create(json!({})).await;
    assert_eq!(completion, Completion::Response("null".into()));
    assert_eq!(answered(put)["Status"], "SUCCESS");
    let statuses: Vec<u16> = rig
        .lambda
        .bucket
        .puts_for(&key)
        .iter()
        .map(|p| p.status)
        .collect();
    assert_eq!(statuses, [503, 503, 200]);
    let bodies: Vec<_> = rig
        .lambda
        .bucket
        .puts_for(&key)
        .iter()
        .map(|p| p.body.clone())
        .collect();
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every attempt sends the same answer"
    );
    assert!(rig.output().contains("put_status=503"), "{}", rig.output());
}

#[tokio::test]
async fn a_bucket_that_never_accepts_gets_up_before_the_deadline_and_lambda_is_told() {
    let rig = Rig::start(&[("PROBE_SAFETY_MARGIN_MS", "1000")]).await;
    rig.lambda.bucket.refuse_next(&[503; 1000]);
    let event = rig.resource.create(json!({}));
    let key = event.request_id().to_owned();
    let event = event.to_json(&rig.lambda.bucket.url(&key));
    let sent = Instant::now();
    let (completion, _) = rig.send(&key, event, Deadline::In(Duration::from_secs(3))).await;
    assert!(
        sent.elapsed() < Duration::from_secs(3),
        "returned after the deadline: {:?}",
        sent.elapsed()
    );
    assert!(
        matches!(&completion, Completion::Error { error_type, .. } if error_type == "AnswerUndelivered"),
        "{completion:?}"
    );
    assert!(rig.lambda.bucket.puts_for(&key).len() >= 3, "retried");
}

#[tokio::test]
async fn answers_never_exceed_4096_bytes() {
    let rig = Rig::start(&[]).await;
    let (_, _, put) = rig.create(json!({"FailWith": "HEAD é€𝄞 ", "Repeat": 2000})).await;
    let put = put.expect("answered");
    assert!(put.body.len() <= 4096, "{}", put.body.len());
    let reason = put.json()["Reason"].as_str().expect("utf-8 json").to_owned();
    assert!(
        reason.starts_with("HEAD é€𝄞") && reason.ends_with("[truncated]"),
        "{reason}"
    );

    let (_, _, put) = rig.create(json!({"DataBytes": 5000})).await;
    let body = answered(put);
    assert_eq!(body["Status"], "FAILED");
    assert!(
        body["Reason"]
            .as_str()
            .expect("reason")
            .contains("return less Data"),
        "{body}"
    );

    let (_, _, put) = rig.create(json!({"PhysicalId": "p".repeat(1025)})).await;
    let body = answered(put);
    assert_eq!(body["Status"], "FAILED");
    assert!(
        body["Reason"].as_str().expect("reason").contains("at most 1024"),
        "{body}"
    );
}

#[tokio::test]
async fn the_delete_of_a_failed_create_succeeds_without_calling_the_handler() {
    let rig = Rig::start(&[]).await;
    let (_, _, put) = rig.create(json!({"FailWith": "no"})).await;
    let marker = answered(put)["PhysicalResourceId"]
        .as_str()
        .expect("marker")
        .to_owned();

    // Were the handler called, it would panic and answer FAILED.
    let delete = rig.resource.delete(&marker, json!({"Panic": true}));
    let key = delete.request_id().to_owned();
    let delete = delete.to_json(&rig.lambda.bucket.url(&key));
    let body = answered(
        rig.send(&key, delete, Deadline::In(Duration::from_secs(30)))
            .await
            .1,
    );
    assert_eq!(body["Status"], "SUCCESS");
    assert_eq!(body["PhysicalResourceId"], marker.as_str());
}

#[tokio::test]
async fn events_that_cannot_be_answered_are_skipped_and_the_next_is_served() {
    let rig = Rig::start(&[]).await;
    for junk in [
        json!(["not", "an", "object"]),
        json!({"StackId": "s", "ResourceProperties": {"Secret": "hunter2"}}),
    ] {
        let completion = rig
            .lambda
            .runtime
            .invoke(&junk, Deadline::In(Duration::from_secs(30)), PATIENCE)
            .await;
        assert_eq!(completion, Completion::Response("null".into()));
    }
    let raw = rig
        .lambda
        .runtime
        .invoke_raw(
            "{truncated".into(),
            Deadline::In(Duration::from_secs(30)),
            PATIENCE,
        )
        .await;
    assert!(
        matches!(raw, Completion::Error { .. }),
        "the runtime reports JSON it cannot read: {raw:?}"
    );
    assert!(rig.lambda.bucket.all_puts().is_empty());

    let (_, _, put) = rig.create(json!({})).await;
    assert_eq!(answered(put)["Status"], "SUCCESS");
    let output = rig.output();
    assert!(
        output.contains("event cannot be answered") && output.contains("array"),
        "{output}"
    );
    assert!(
        !output.contains("hunter2"),
        "event values must not be logged: {output}"
    );
}

#[tokio::test]
async fn logs_are_structured_json_on_request_and_never_show_the_signature() {
    let rig = Rig::start(&[("AWS_LAMBDA_LOG_FORMAT", "JSON")]).await;
    rig.lambda.bucket.refuse_next(&[500]);
    let (key, _, put) = rig.create(json!({})).await;
    assert_eq!(answered(put)["Status"], "SUCCESS");
    let output = rig.output();
    assert!(
        !output.contains(SIGNATURE),
        "the signed query string leaked: {output}"
    );
    let delivered = output
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["fields"]["message"] == "answer delivered")
        .unwrap_or_else(|| panic!("no JSON line for the delivery in {output}"));
    assert_eq!(delivered["fields"]["put_status"], 200);
    assert_eq!(delivered["span"]["request_id"], key.as_str());
    assert_eq!(delivered["span"]["logical_resource_id"], "Probe");
    assert_eq!(delivered["span"]["request_type"], "Create");
    assert!(
        delivered["span"]["stack_id"]
            .as_str()
            .expect("stack id")
            .contains(":stack/")
    );
}

#[tokio::test]
async fn a_response_url_outside_the_allow_list_gets_no_put() {
    let rig = Rig::start(&[]).await;
    let elsewhere = ResponseBucket::start()
        .await
        .expect("a second server, not allowed");
    let forged = rig.resource.create(json!({}));
    let key = forged.request_id().to_owned();
    let forged = forged.to_json(&elsewhere.url(&key));
    let completion = rig
        .lambda
        .runtime
        .invoke(&forged, Deadline::In(Duration::from_secs(30)), PATIENCE)
        .await;
    assert_eq!(completion, Completion::Response("null".into()));
    assert!(
        elsewhere.all_puts().is_empty(),
        "the forged URL received a request"
    );
    let output = rig.output();
    assert!(
        output.contains("no answer is sent") && output.contains(&elsewhere.host()),
        "{output}"
    );
    assert!(
        !output.contains(SIGNATURE) && !output.contains("cloudformation-custom-resource-response"),
        "only the host is logged: {output}"
    );

    // The allowed bucket still gets its answers.
    let (_, _, put) = rig.create(json!({})).await;
    assert_eq!(answered(put)["Status"], "SUCCESS");
}
