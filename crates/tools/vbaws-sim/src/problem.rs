//! Error answers in Veeam's shape, or rewritten in ASP.NET Core's.

use axum::{
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

/// An error answer: status, Veeam's problem name, title and details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub status: u16,
    pub kind: &'static str,
    pub error_code: &'static str,
    pub title: &'static str,
    pub details: String,
}

impl Problem {
    pub(crate) fn new(
        status: u16,
        kind: &'static str,
        error_code: &'static str,
        title: &'static str,
        details: impl Into<String>,
    ) -> Self {
        Self {
            status,
            kind,
            error_code,
            title,
            details: details.into(),
        }
    }

    pub(crate) fn validation(details: impl Into<String>) -> Self {
        Self::new(
            400,
            "validationError",
            "UnknownError",
            "Validation error",
            details,
        )
    }

    /// `what` (an IAM role, a Region, …) with this ID is not there.
    pub(crate) fn not_found(what: &str, id: &str) -> Self {
        Self::new(
            404,
            "resourceNotFound",
            "NotFound",
            "Resource not found",
            format!("{what} {id} was not found."),
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = json!({
            "type": format!("/api/v1/problems/{}", self.kind),
            "title": self.title,
            "status": self.status,
            "errorCode": self.error_code,
            "details": self.details,
        });
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response()
    }
}

/// A Veeam problem body rewritten as ASP.NET Core writes problem details: the message as
/// `detail`, and, for a validation error, also under `errors` (the field is a guess: `name`);
/// no `errorCode`. Anything else is left as it is.
pub(crate) fn as_aspnet(body: &serde_json::Value) -> Option<serde_json::Value> {
    let code = body.get("errorCode")?.as_str()?;
    let details = body["details"].as_str().unwrap_or_default();
    let mut aspnet = json!({
        "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        "title": body["title"],
        "status": body["status"],
        "detail": details,
        "traceId": "00-8a3fb0c2d1e4f5a6b7c8d9e0f1a2b3c4-1a2b3c4d5e6f7a8b-00",
    });
    if code == "UnknownError" && body["status"] == 400 {
        aspnet["errors"] = json!({ "name": [details] });
    }
    Some(aspnet)
}
