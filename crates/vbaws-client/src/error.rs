use serde::Deserialize;
use thiserror::Error;

use crate::Fingerprint;

/// Everything that can go wrong talking to the appliance. Messages say what happened and, where
/// there is one, what to do about it. None of them holds a password or a token.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The client was configured with something it cannot use.
    #[error("{0}")]
    Config(String),

    /// The appliance refused the credentials (400 or 401 from `/token`).
    #[error("the appliance refused to log in user {username:?} (HTTP {status}{}): check the user and the password in the secret", server_text(.title, .details))]
    Authentication {
        username: String,
        status: u16,
        title: Option<String>,
        details: Option<String>,
    },

    #[error("the appliance user {username:?} has MFA enabled; automation needs a user without MFA")]
    MfaRequired { username: String },

    #[error("the appliance accepts none of the API revisions this client knows ({}); it is older or newer than this client supports", tried.join(", "))]
    UnsupportedApiVersion { tried: Vec<String> },

    /// An error answer from the appliance.
    #[error(transparent)]
    Api(Box<ApiError>),

    #[error(
        "the appliance at {host} presented a certificate with SHA-256 fingerprint {presented}, \
         but {pinned} is pinned. If the certificate was renewed on purpose (check it on the \
         appliance), pin the new fingerprint: {presented}"
    )]
    CertificateMismatch {
        host: String,
        presented: Fingerprint,
        pinned: Fingerprint,
    },

    /// The TLS handshake failed for a reason other than a pin mismatch: an untrusted or invalid
    /// certificate. Not retried: waiting does not make a certificate trusted.
    #[error(
        "the appliance at {host} is not trusted: {detail}. Check the CA bundle, or pin the certificate's SHA-256 fingerprint"
    )]
    UntrustedCertificate { host: String, detail: String },

    /// The request could not be sent or its answer not read.
    #[error("could not reach the appliance at {url}: {kind}")]
    Transport {
        url: String,
        kind: &'static str,
        #[source]
        source: reqwest::Error,
    },

    #[error("{operation} did not finish before the deadline{}", .last.as_ref().map(|l| format!(" (last attempt: {l})")).unwrap_or_default())]
    DeadlineExceeded { operation: String, last: Option<String> },

    /// A 2xx answer whose body is not what the API documents.
    #[error(
        "the appliance answered {operation} with HTTP {status} and a body this client cannot read: {problem}"
    )]
    UnexpectedBody {
        operation: String,
        status: u16,
        problem: String,
    },

    #[error("refusing to delete the appliance's built-in default role {name:?}")]
    DefaultRole { name: String },
}

impl From<ApiError> for Error {
    fn from(api: ApiError) -> Self {
        Self::Api(Box::new(api))
    }
}

impl Error {
    /// The error answer, when this is one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Self::Api(api) => Some(api),
            _ => None,
        }
    }

    /// True for failures that may pass: the appliance unreachable, busy, or slow.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Transport { .. } | Self::DeadlineExceeded { .. })
            || self
                .api()
                .is_some_and(|api| matches!(api.status, 502..=504 | 429))
    }
}

fn server_text(title: &Option<String>, details: &Option<String>) -> String {
    match (title, details) {
        (Some(t), Some(d)) => format!(": {t}: {d}"),
        (Some(t), None) | (None, Some(t)) => format!(": {t}"),
        (None, None) => String::new(),
    }
}

/// An error answer, in Veeam's shape (`type`, `title`, `status`, `errorCode`, `details`) or in
/// ASP.NET's (`detail`, `errors`); every field is optional, and the status is always kept.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{operation}: the appliance answered HTTP {status}{}{}", .error_code.as_ref().map(|c| format!(" {c}")).unwrap_or_default(), server_text(.title, .details))]
pub struct ApiError {
    pub operation: String,
    pub status: u16,
    pub error_code: Option<String>,
    pub title: Option<String>,
    pub details: Option<String>,
    pub problem_type: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    #[serde(rename = "type")]
    problem_type: Option<String>,
    title: Option<String>,
    error_code: Option<String>,
    details: Option<String>,
    detail: Option<String>,
    errors: Option<serde_json::Value>,
}

impl ApiError {
    pub(crate) fn from_body(operation: &str, status: u16, body: &[u8]) -> Self {
        let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
        let details = parsed
            .details
            .or(parsed.detail)
            .or_else(|| parsed.errors.map(|e| e.to_string()));
        Self {
            operation: operation.to_owned(),
            status,
            error_code: parsed.error_code,
            title: parsed.title,
            details,
            problem_type: parsed.problem_type,
        }
    }

    fn text(&self) -> String {
        format!(
            "{} {} {}",
            self.title.as_deref().unwrap_or_default(),
            self.details.as_deref().unwrap_or_default(),
            self.problem_type.as_deref().unwrap_or_default()
        )
        .to_ascii_lowercase()
    }

    pub fn is_not_found(&self) -> bool {
        self.status == 404
    }

    /// The appliance could not assume the role: typically a role so new that IAM has not
    /// propagated it yet, or a trust policy or external ID that does not match.
    pub fn is_assume_role_failure(&self) -> bool {
        (400..500).contains(&self.status) && self.text().contains("assume")
    }

    /// The answer to a request whose `x-api-version` the appliance does not accept.
    pub fn is_unsupported_version(&self) -> bool {
        let text = self.text();
        self.status == 400 && (text.contains("apiversion") || text.contains("api version"))
    }

    /// The role is in use (by policies or repositories) and cannot be deleted.
    pub fn is_in_use(&self) -> bool {
        self.status == 409 || (self.status == 400 && self.text().contains("in use"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_error_shapes_keep_status_code_title_and_details() {
        let veeam = ApiError::from_body(
            "create role",
            400,
            br#"{"type":"https://h/api/v1/problems/validationError","title":"Validation error","status":400,"errorCode":"UnknownError","details":"Failed to assume role arn:aws:iam::1:role/x"}"#,
        );
        assert_eq!(veeam.error_code.as_deref(), Some("UnknownError"));
        assert!(veeam.is_assume_role_failure());
        assert_eq!(
            veeam.to_string(),
            "create role: the appliance answered HTTP 400 UnknownError: Validation error: Failed to assume role arn:aws:iam::1:role/x"
        );
        let aspnet = ApiError::from_body(
            "x",
            400,
            br#"{"title":"One or more validation errors occurred.","detail":"bad"}"#,
        );
        assert_eq!(aspnet.details.as_deref(), Some("bad"));
        let errors = ApiError::from_body("x", 400, br#"{"errors":{"name":["required"]}}"#);
        assert_eq!(errors.details.as_deref(), Some(r#"{"name":["required"]}"#));
        let empty = ApiError::from_body("x", 502, b"<html>bad gateway</html>");
        assert_eq!(empty.status, 502);
        assert!(Error::from(empty).is_unreachable());
    }
}
