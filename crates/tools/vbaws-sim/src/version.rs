//! `x-api-version`: the window of accepted revisions, and the shapes a refusal may take.
//!
//! The appliance's answer to a revision it does not accept is undocumented. The 1.0-rev0 spec
//! names problem pages `unsupportedApiVersion` and `apiVersionUnspecified`, and the appliance is
//! an ASP.NET application, whose API Versioning library answers (depending on its version and
//! setup) with problem details, with its classic `{"error": {…}}` body, or with whatever an
//! error handler writes. Each shape is a setting, so that the client is tested against all of
//! them; which one a real appliance uses is a guess.

use axum::{
    extract::{Request, State},
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::state::{Problem, Sim};

/// How a refused revision is answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum VersionRefusal {
    /// Veeam's problem shape: `type` …/problems/unsupportedApiVersion, `title` "Unsupported API
    /// version", `errorCode`, `details`. The reading of the 1.0-rev0 spec.
    #[default]
    VeeamProblem,
    /// ASP.NET Core problem details whose only hint is `code` (API Versioning 6 and later).
    CodeOnly,
    /// A Veeam problem body whose only hint is `errorCode` "UnsupportedApiVersion".
    ErrorCodeOnly,
    /// API Versioning's classic body: `{"error": {"code": "UnsupportedApiVersion", "message": …}}`.
    Classic,
    /// `text/plain`, as a bare error handler writes it.
    PlainText,
    /// The classic body whose message does not name the version (as another Veeam product
    /// answers): only `code` tells.
    ClassicUnnamed,
}

impl VersionRefusal {
    pub const ALL: [Self; 6] = [
        Self::VeeamProblem,
        Self::CodeOnly,
        Self::ErrorCodeOnly,
        Self::Classic,
        Self::PlainText,
        Self::ClassicUnnamed,
    ];

    /// The name the command line uses.
    pub fn name(self) -> &'static str {
        match self {
            Self::VeeamProblem => "veeam-problem",
            Self::CodeOnly => "code-only",
            Self::ErrorCodeOnly => "error-code-only",
            Self::Classic => "classic",
            Self::PlainText => "plain-text",
            Self::ClassicUnnamed => "classic-unnamed",
        }
    }

    fn answer(self, status: u16, path: &str, revision: &str) -> Response {
        let message = format!(
            "The HTTP resource that matches the request URI '{path}' does not support the API version '{revision}'."
        );
        let status_code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        let problem_json = |body: serde_json::Value| {
            (
                status_code,
                [(header::CONTENT_TYPE, "application/problem+json")],
                body.to_string(),
            )
                .into_response()
        };
        match self {
            Self::VeeamProblem => Problem::new(
                status,
                "unsupportedApiVersion",
                "UnknownError",
                "Unsupported API version",
                message,
            )
            .into_response(),
            Self::CodeOnly => problem_json(json!({
                "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
                "title": "Bad Request", "status": status,
                "code": "UnsupportedApiVersion", "traceId": "00-5c3a-01"
            })),
            Self::ErrorCodeOnly => problem_json(json!({
                "type": "/api/v1/problems/badRequest", "title": "Bad request",
                "status": status, "errorCode": "UnsupportedApiVersion"
            })),
            Self::Classic => (
                status_code,
                [(header::CONTENT_TYPE, "application/json")],
                json!({"error": {"code": "UnsupportedApiVersion", "message": message, "innerError": null}})
                    .to_string(),
            )
                .into_response(),
            Self::PlainText => (
                status_code,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                message,
            )
                .into_response(),
            Self::ClassicUnnamed => (
                status_code,
                [(header::CONTENT_TYPE, "application/json")],
                json!({"error": {"code": "UnsupportedApiVersion",
                    "message": "The requested resource is not available in this version.", "innerError": null}})
                .to_string(),
            )
                .into_response(),
        }
    }
}

impl std::str::FromStr for VersionRefusal {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|r| r.name() == text).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|r| r.name()).collect();
            format!("{text:?} is not a refusal shape; one of: {}", names.join(", "))
        })
    }
}

/// Every request must name a revision the appliance accepts.
pub(crate) async fn versions(State(sim): State<Sim>, request: Request, next: Next) -> Response {
    let header = request
        .headers()
        .get("x-api-version")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let (accepted, refusal, status) = {
        let state = sim.lock();
        (
            state.config.accepted_versions.clone(),
            state.config.version_refusal,
            state.config.version_refusal_status,
        )
    };
    match header {
        None => Problem::new(
            400,
            "apiVersionUnspecified",
            "UnknownError",
            "API version unspecified",
            "An API version is required, but was not specified.",
        )
        .into_response(),
        Some(revision) if !accepted.contains(&revision) => {
            refusal.answer(status, request.uri().path(), &revision)
        }
        Some(_) => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_is_named_on_the_command_line() {
        for refusal in VersionRefusal::ALL {
            assert_eq!(refusal.name().parse(), Ok(refusal));
        }
        assert!("veeam".parse::<VersionRefusal>().is_err());
    }
}
