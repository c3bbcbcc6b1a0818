//! Property-based tests of event parsing and answer building: whatever arrives, nothing panics,
//! and every routable event gets exactly one answer that CloudFormation accepts.

use std::{collections::BTreeMap, time::SystemTime};

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use vbaws_lambda::Budget;

use crate::{
    Config, MAX_BODY_BYTES, MAX_PHYSICAL_ID_BYTES, ResponseUrlPolicy, Routing, echo, response::Response,
};

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(".{0,12}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Events shaped like CloudFormation's, with every field free to be odd.
fn any_event() -> impl Strategy<Value = Value> {
    let request_type = prop_oneof![
        Just("Create".to_owned()),
        Just("Update".to_owned()),
        Just("Delete".to_owned()),
        ".{0,10}"
    ];
    let properties = prop_oneof![
        any_json(),
        ".{0,6000}".prop_map(|fail| json!({ "Fail": fail })),
        prop::collection::btree_map("[A-Za-z]{1,20}", ".{0,3000}", 0..6)
            .prop_map(|data| json!({ "Data": data })),
        ".{0,1500}".prop_map(|id| json!({ "Id": id })),
    ];
    (request_type, ".{0,300}", ".{0,1500}", ".{0,300}", prop::option::of(".{0,1500}"), properties, any_json()).prop_map(
        |(request_type, stack_id, request_id, logical_id, physical_id, properties, extra)| {
            let mut event = Map::new();
            event.insert("RequestType".into(), json!(request_type));
            event.insert("ResponseURL".into(), json!("https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/k?X-Amz-Signature=s"));
            event.insert("StackId".into(), json!(stack_id));
            event.insert("RequestId".into(), json!(request_id));
            event.insert("LogicalResourceId".into(), json!(logical_id));
            event.insert("ResourceType".into(), json!("Custom::Echo"));
            event.insert("ResourceProperties".into(), properties.clone());
            event.insert("OldResourceProperties".into(), extra);
            if let Some(id) = physical_id {
                event.insert("PhysicalResourceId".into(), json!(id));
            }
            Value::Object(event)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_panics_the_router(event in any_json()) {
        let _ = Routing::from_event(&event, &ResponseUrlPolicy::s3_only());
    }

    #[test]
    fn every_routable_event_gets_one_acceptable_answer(event in any_event()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
        let shared = echo::shared(Config::default());
        if let Ok(routing) = Routing::from_event(&event, &shared.config.response_urls) {
            let answer = runtime.block_on(async {
                let budget = Budget::new(0, SystemTime::now(), Instant::now(), &shared.config.timing());
                shared.decide(&routing, event.clone(), &budget).await
            });
            let (answer, body) = answer.into_body(&routing);
            prop_assert!(body.len() <= MAX_BODY_BYTES, "{} bytes", body.len());
            let parsed: Value = serde_json::from_slice(&body).expect("valid JSON");
            prop_assert!(parsed["Status"] == "SUCCESS" || parsed["Status"] == "FAILED");
            let id = parsed["PhysicalResourceId"].as_str().unwrap_or_default();
            prop_assert!(!id.is_empty() && id.len() <= MAX_PHYSICAL_ID_BYTES, "{}", id.len());
            prop_assert_eq!(&parsed["RequestId"], &event["RequestId"]);
            prop_assert_eq!(parsed["Status"] == "FAILED", parsed.get("Reason").is_some() && answer.status != crate::response::Status::Success);
        }
    }

    #[test]
    fn reasons_are_cut_on_character_boundaries_keeping_their_head(reason in ".{0,5000}", stack in ".{0,400}") {
        let routing = Routing::from_event(
            &json!({"ResponseURL": "https://b.s3.amazonaws.com/k", "StackId": stack, "RequestId": "r", "LogicalResourceId": "l", "RequestType": "Create"}),
            &ResponseUrlPolicy::s3_only(),
        ).expect("routable");
        let (_, body) = Response::failed(reason.clone(), "id").into_body(&routing);
        prop_assert!(body.len() <= MAX_BODY_BYTES);
        let parsed: Value = serde_json::from_slice(&body).expect("valid UTF-8 JSON");
        let sent = parsed["Reason"].as_str().expect("reason");
        match sent.strip_suffix(" [truncated]") {
            Some(head) if sent != reason => prop_assert!(reason.starts_with(head)),
            _ => prop_assert_eq!(sent, reason.as_str()),
        }
    }

    #[test]
    fn data_either_fits_whole_or_turns_the_answer_into_failed(data in prop::collection::btree_map("[A-Za-z]{1,16}", ".{0,2500}", 0..5)) {
        let routing = Routing::from_event(
            &json!({"ResponseURL": "https://b.s3.amazonaws.com/k", "StackId": "s", "RequestId": "r", "LogicalResourceId": "l", "RequestType": "Create"}),
            &ResponseUrlPolicy::s3_only(),
        ).expect("routable");
        let answer = Response { status: crate::response::Status::Success, reason: None, physical_resource_id: "id".into(), no_echo: true, data: data.clone() };
        let (sent, body) = answer.into_body(&routing);
        prop_assert!(body.len() <= MAX_BODY_BYTES);
        prop_assert!(sent.data == data || (sent.data == BTreeMap::new() && sent.status == crate::response::Status::Failed));
    }

    /// Regions yet to come have the same shape: their response buckets must pass too.
    #[test]
    fn response_buckets_of_any_region_shaped_name_are_accepted(
        region in "[a-z]{2,4}(-[a-z]{2,9}){1,2}-[0-9]{1,2}",
        partition in 0..crate::allow::PARTITION_SUFFIXES.len(),
        path_style in any::<bool>(),
    ) {
        let suffix = crate::allow::PARTITION_SUFFIXES[partition];
        let bucket = format!("cloudformation-custom-resource-response-{}", region.replace('-', ""));
        let url = if path_style {
            format!("https://s3.{region}{suffix}/{bucket}/k?X-Amz-Signature=s")
        } else {
            format!("https://{bucket}.s3.{region}{suffix}/k?X-Amz-Signature=s")
        };
        let url = url::Url::parse(&url).expect("url");
        prop_assert_eq!(ResponseUrlPolicy::s3_only().refusal(&url), None, "{}", url);
    }
}
