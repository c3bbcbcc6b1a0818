//! One invocation, from raw JSON to a delivered answer.

use std::{sync::Arc, time::SystemTime};

use aws_lambda_events::cloudformation::CloudFormationCustomResourceRequest;
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use tokio::time::{Instant, timeout_at};
use tracing::{Instrument, error, info, info_span, warn};

use vbaws_lambda::Budget;

use crate::{
    Action, Config, CustomResource, Error, Outcome, Request,
    physical_id::{self, is_create_failed_marker},
    props::FromProperties,
    response::{MAX_PHYSICAL_ID_BYTES, Response, Status},
    routing::{RequestType, Routing, json_kind},
    sender::Sender,
};

/// What lives for the whole life of a sandbox.
#[derive(Debug)]
pub(crate) struct Shared<R> {
    pub resource: Arc<R>,
    pub sender: Sender,
    pub config: Config,
}

impl<R: CustomResource> Shared<R> {
    /// Answers the event if it can be answered at all. Returns an error only when an answer was
    /// due but could not be delivered, so that Lambda retries the event.
    pub(crate) async fn invoke(&self, event: LambdaEvent<Value>) -> Result<(), Error> {
        let started = Instant::now();
        let LambdaEvent { payload, context } = event;
        let routing = match Routing::from_event(&payload, &self.config.response_urls) {
            Ok(routing) => routing,
            Err(why) => {
                let keys: Vec<&str> = payload
                    .as_object()
                    .map(|o| o.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                error!(reason = %why, event_kind = json_kind(&payload), ?keys, "event cannot be answered; ignored");
                return Ok(());
            }
        };
        let span = info_span!(
            "custom_resource",
            stack_id = %routing.stack_id,
            request_id = %routing.request_id,
            logical_resource_id = %routing.logical_resource_id,
            request_type = %routing.request_type,
            lambda_request_id = %context.request_id,
        );
        async move {
            let budget = Budget::new(context.deadline, SystemTime::now(), started, &self.config.timing());
            if !budget.from_deadline {
                warn!(fallback_budget_s = budget.total.as_secs(), "invocation deadline missing or implausible");
            }
            let answer = self.decide(&routing, payload, &budget).await;
            let (answer, body) = answer.into_body(&routing);
            let outcome = if answer.status == Status::Success { "SUCCESS" } else { "FAILED" };
            info!(outcome, physical_resource_id = %answer.physical_resource_id, reason = answer.reason.as_deref().unwrap_or(""), body_bytes = body.len(), "answering");
            self.sender.put(&routing.response_url, body, budget.answer).await.map(|_| ()).inspect_err(|e| {
                error!(error = %e, "answer undelivered; returning an error so that Lambda retries the event");
            })
        }
        .instrument(span)
        .await
    }

    pub(crate) async fn decide(&self, routing: &Routing, payload: Value, budget: &Budget) -> Response {
        // The physical ID every FAILED answer carries: the event's own, or on Create a marker
        // that the rollback's Delete recognises.
        let failed_id = routing.failed_id.clone();
        let missing = routing.missing_fields();
        if !missing.is_empty() {
            let reason = format!(
                "the event lacks {}; CloudFormation always sends these, so the event was not sent by \
                 CloudFormation or was altered on the way",
                missing.join(", ")
            );
            return Response::failed(reason, failed_id);
        }
        // Before the properties are parsed: the Create may have failed precisely because they
        // do not parse, and its rollback must still succeed.
        if let (RequestType::Delete, Some(id)) = (&routing.request_type, &routing.physical_resource_id)
            && is_create_failed_marker(id)
            && physical_id::is_valid(id)
        {
            info!("Delete of a resource whose Create failed: nothing to remove");
            return success(Outcome::new(), id.clone());
        }
        let request = match parse::<R::Properties>(&routing.request_type, payload, budget.work) {
            Ok(request) => request,
            Err(error) => return Response::failed(error.to_string(), failed_id),
        };
        // The ID a success carries unless the handler names one: the event's own on Update (a
        // new one means a replacement) and on Delete (where the handler has no say, since nothing
        // is replaced), and on Create one made from the request.
        let (own_id, may_replace) = match &request.action {
            Action::Create => (
                format!("{}-{}", routing.logical_resource_id, routing.request_id),
                true,
            ),
            Action::Update {
                physical_resource_id, ..
            } => (physical_resource_id.clone(), true),
            Action::Delete { physical_resource_id } => (physical_resource_id.clone(), false),
        };

        // The handler runs in its own task, so a panic ends that task, not the answer.
        let resource = Arc::clone(&self.resource);
        let mut task = tokio::spawn(async move { resource.handle(request).await });
        match timeout_at(budget.work, &mut task).await {
            Ok(Ok(Ok(outcome))) => {
                let chosen = match outcome.physical_resource_id.clone() {
                    Some(id) if may_replace => id,
                    _ => own_id,
                };
                if !physical_id::is_valid(&chosen) {
                    let reason = format!(
                        "the function chose a PhysicalResourceId of {} bytes, and CloudFormation accepts \
                         at most {MAX_PHYSICAL_ID_BYTES}; this is a bug in the function",
                        chosen.len()
                    );
                    return Response::failed(reason, failed_id);
                }
                success(outcome, chosen)
            }
            Ok(Ok(Err(error))) => Response::failed(error_chain(&error), failed_id),
            Ok(Err(join_error)) => {
                let detail = join_error.try_into_panic().map(panic_message).unwrap_or_default();
                error!(panic = %detail, "the handler panicked");
                Response::failed(
                    format!(
                        "the function failed unexpectedly (panic: {detail}); this is a bug in the function, see its log"
                    ),
                    failed_id,
                )
            }
            Err(_elapsed) => {
                task.abort();
                let reason = format!(
                    "the work did not finish within the function's time budget of {:.1} s (its timeout \
                     minus a safety margin) and was abandoned; see the function's log for the step that \
                     was slow, and raise the function's Timeout if the work needs longer",
                    budget.work_time.as_secs_f32()
                );
                Response::failed(reason, failed_id)
            }
        }
    }
}

fn success(outcome: Outcome, physical_resource_id: String) -> Response {
    Response {
        status: Status::Success,
        reason: outcome.warning,
        physical_resource_id,
        no_echo: outcome.no_echo,
        data: outcome.data,
    }
}

/// Why an event that can be answered cannot be handled.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EventError {
    #[error("the RequestType is not Create, Update or Delete (it is {0:?})")]
    UnknownRequestType(String),
    #[error("the event is not a CloudFormation custom-resource request: {0}")]
    NotARequest(serde_json::Error),
    #[error("{field} is invalid: {problem}; fix it in the template")]
    InvalidProperties {
        field: String,
        problem: serde_json::Error,
    },
}

/// Types the event: the request type (already read by the routing) first, then the request,
/// then its properties, with every problem put in words a person can act on.
pub(crate) fn parse<P: FromProperties>(
    request_type: &RequestType,
    payload: Value,
    deadline: Instant,
) -> Result<Request<P>, EventError> {
    if let RequestType::Other(text) = request_type {
        return Err(EventError::UnknownRequestType(text.clone()));
    }
    let request: CloudFormationCustomResourceRequest<Value, Value> =
        serde_json::from_value(payload).map_err(EventError::NotARequest)?;
    let resource_type = request_resource_type(&request);
    let typed = |value: Value, which: &str| -> Result<P, EventError> {
        P::from_properties(&resource_type, value).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." {
                which.to_owned()
            } else {
                format!("{which}.{path}")
            };
            EventError::InvalidProperties {
                field,
                problem: e.into_inner(),
            }
        })
    };
    // The fields every request type repeats: stack, request, logical ID and type.
    let (action, properties, (stack_id, request_id, logical_resource_id, resource_type)) = match request {
        CloudFormationCustomResourceRequest::Create(r) => (
            Action::Create,
            r.resource_properties,
            (r.stack_id, r.request_id, r.logical_resource_id, r.resource_type),
        ),
        CloudFormationCustomResourceRequest::Update(r) => (
            Action::Update {
                physical_resource_id: r.physical_resource_id,
                old_properties: typed(r.old_resource_properties, "OldResourceProperties").ok(),
            },
            r.resource_properties,
            (r.stack_id, r.request_id, r.logical_resource_id, r.resource_type),
        ),
        CloudFormationCustomResourceRequest::Delete(r) => (
            Action::Delete {
                physical_resource_id: r.physical_resource_id,
            },
            r.resource_properties,
            (r.stack_id, r.request_id, r.logical_resource_id, r.resource_type),
        ),
        // The aws_lambda_events enum is non-exhaustive; the routing already refused the rest.
        _ => return Err(EventError::UnknownRequestType(request_type.to_string())),
    };
    Ok(Request {
        properties: typed(properties, "ResourceProperties")?,
        action,
        stack_id,
        request_id,
        logical_resource_id,
        resource_type,
        deadline,
    })
}

fn request_resource_type(request: &CloudFormationCustomResourceRequest<Value, Value>) -> String {
    match request {
        CloudFormationCustomResourceRequest::Create(r) => r.resource_type.clone(),
        CloudFormationCustomResourceRequest::Update(r) => r.resource_type.clone(),
        CloudFormationCustomResourceRequest::Delete(r) => r.resource_type.clone(),
        _ => String::new(),
    }
}

/// The error and its sources, outermost first: "could not log in: connection refused". Errors
/// either print their cause or report it as a source, never both, so nothing repeats.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast::<String>()
        .map(|s| *s)
        .or_else(|payload| payload.downcast::<&'static str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|_| "a non-text panic payload".to_owned())
}
