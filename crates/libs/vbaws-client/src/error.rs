use serde::Deserialize;
use serde_json::Value;
use thiserror::Error;

use crate::Fingerprint;

/// Everything that can go wrong talking to the appliance. Messages say what happened and, where
/// there is one, what to do about it. None of them holds a password or a token.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{text:?} is not a usable appliance URL ({problem}); expected https://host:port")]
    InvalidBaseUrl { text: String, problem: url::ParseError },
    #[error("{text:?} is not a usable appliance URL ({why}); expected https://host:port")]
    UnusableBaseUrl { text: String, why: &'static str },
    #[error(
        "no way to trust the appliance's certificate was given: pin its SHA-256 fingerprint, give a CA bundle, or choose insecure mode explicitly"
    )]
    NoTrust,
    #[error("no credentials were given")]
    NoCredentials,
    #[error(
        "{text:?} is not a SHA-256 fingerprint: expected 64 hexadecimal digits, colons allowed (as `openssl x509 -noout -fingerprint -sha256` prints them)"
    )]
    InvalidFingerprint { text: String },
    #[error("the CA bundle is not valid PEM: {0}")]
    CaBundlePem(rustls_pki_types::pem::Error),
    #[error("the CA bundle holds a certificate rustls cannot use: {0}")]
    CaBundleCertificate(rustls::Error),
    #[error("the CA bundle holds no certificate")]
    EmptyCaBundle,
    #[error("TLS setup failed: {0}")]
    TlsSetup(rustls::Error),
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(reqwest::Error),
    #[error("cannot encode the body of {operation}: {problem}")]
    EncodeBody {
        operation: String,
        problem: serde_json::Error,
    },

    /// The appliance refused the credentials (400 or 401 from `/token`, not about the revision).
    #[error("the appliance refused to log in user {username:?} ({})", .answer.summary())]
    Authentication { username: String, answer: Box<ApiError> },

    #[error("the appliance user {username:?} has MFA enabled; automation needs a user without MFA")]
    MfaRequired { username: String },

    /// No revision tried was accepted: each one with what the appliance answered, in order.
    #[error("the appliance accepted none of the API revisions tried ({}). {}", refusals(.tried), if *.configured {
        "The revision was configured: configure one the appliance accepts, or none to let the client negotiate"
    } else {
        "The appliance is older or newer than this client; if its REST reference keeps the IAM-role endpoints, configure the revision it names"
    })]
    UnsupportedApiVersion {
        tried: Vec<Refusal>,
        /// True when the one revision tried was configured rather than negotiated.
        configured: bool,
    },

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

/// One revision the appliance refused, and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub revision: String,
    pub answer: ApiError,
}

fn refusals(tried: &[Refusal]) -> String {
    tried
        .iter()
        .map(|r| format!("{}: {}", r.revision, r.answer.summary()))
        .collect::<Vec<_>>()
        .join("; ")
}

fn server_text(title: &Option<String>, details: &Option<String>) -> String {
    match (title, details) {
        (Some(t), Some(d)) => format!(": {t}: {d}"),
        (Some(t), None) | (None, Some(t)) => format!(": {t}"),
        (None, None) => String::new(),
    }
}

/// An error answer, in any shape the appliance may give: Veeam's (`type`, `title`, `status`,
/// `errorCode`, `details`), ASP.NET Core's problem details (`detail`, `errors`, `code`), ASP.NET
/// API Versioning's classic `{"error": {"code", "message"}}`, or plain text. Every field is
/// optional; the status is always kept.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{operation}: the appliance answered {}", self.summary())]
pub struct ApiError {
    pub operation: String,
    pub status: u16,
    /// `errorCode`, else `code`, else the classic body's `error.code`.
    pub error_code: Option<String>,
    pub title: Option<String>,
    /// `details`, else `detail`, `error.message`, `errors`, or a plain-text body.
    pub details: Option<String>,
    pub problem_type: Option<String>,
    /// Whether any text of the body, at any depth, speaks of the API version.
    mentions_api_version: bool,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    #[serde(rename = "type")]
    problem_type: Option<String>,
    title: Option<String>,
    error_code: Option<String>,
    code: Option<String>,
    details: Option<String>,
    detail: Option<String>,
    errors: Option<Value>,
    /// ASP.NET API Versioning's classic shape: `{"error": {"code": …, "message": …}}`.
    error: Option<Value>,
}

/// Most characters of a plain-text body kept as `details`.
const MAX_TEXT: usize = 300;

impl ApiError {
    pub(crate) fn from_body(operation: &str, status: u16, body: &[u8]) -> Self {
        let json: Option<Value> = serde_json::from_slice(body).ok();
        let parsed = json
            .as_ref()
            .and_then(|value| ErrorBody::deserialize(value).ok())
            .unwrap_or_default();
        let classic = |field: &str| {
            parsed
                .error
                .as_ref()
                .and_then(|e| e.get(field))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let text = String::from_utf8_lossy(body);
        let details = parsed
            .details
            .clone()
            .or_else(|| parsed.detail.clone())
            .or_else(|| classic("message"))
            .or_else(|| parsed.error.as_ref().and_then(Value::as_str).map(str::to_owned))
            .or_else(|| parsed.errors.as_ref().map(Value::to_string))
            .or_else(|| json.is_none().then(|| plain_text(&text)).flatten());
        let mentions_api_version = match &json {
            Some(value) => strings(value).into_iter().any(speaks_of_api_version),
            None => speaks_of_api_version(&text),
        };
        Self {
            operation: operation.to_owned(),
            status,
            error_code: parsed
                .error_code
                .clone()
                .or_else(|| parsed.code.clone())
                .or_else(|| classic("code")),
            title: parsed.title,
            details,
            problem_type: parsed.problem_type,
            mentions_api_version,
        }
    }

    /// `HTTP 400 UnsupportedApiVersion: title: details`, without the operation.
    pub fn summary(&self) -> String {
        format!(
            "HTTP {}{}{}",
            self.status,
            self.error_code
                .as_ref()
                .map(|c| format!(" {c}"))
                .unwrap_or_default(),
            server_text(&self.title, &self.details)
        )
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

    /// The answer to a request whose `x-api-version` the appliance does not accept, in whatever
    /// shape: a client error whose body speaks of the API version in any field at any depth
    /// (`type`, `title`, `errorCode`, `code`, `error.code`, messages) or in its plain text. ASP.NET
    /// API Versioning answers 400 by default, and 404, 405, 406 or 415 in some setups; a 401 or
    /// 403 is about the caller, never the version.
    pub fn is_unsupported_version(&self) -> bool {
        matches!(self.status, 400 | 404 | 405 | 406 | 415) && self.mentions_api_version
    }

    /// A create or rename refused because the display name is taken: 409, or a 400 that says
    /// so. The error code comes first: the documented codes name no conflict, so a 400 with any
    /// code but the catch-all `UnknownError` (which the appliance answers a taken name with) is
    /// something else. The wording is not documented; only whole phrases count, so that "does
    /// not exist" or "not a duplicate" is never a conflict.
    pub fn is_name_taken(&self) -> bool {
        if self.status == 409 {
            return true;
        }
        let specific_code = self
            .error_code
            .as_deref()
            .is_some_and(|code| !code.eq_ignore_ascii_case("UnknownError"));
        if self.status != 400 || specific_code || self.is_assume_role_failure() {
            return false;
        }
        let text = self.text();
        NAME_TAKEN.iter().any(|phrase| text.contains(phrase))
    }

    /// The role is in use (by policies or repositories) and cannot be deleted.
    pub fn is_in_use(&self) -> bool {
        self.status == 409 || (self.status == 400 && self.text().contains("in use"))
    }
}

/// How a refused create says its name is taken, in lower case.
const NAME_TAKEN: &[&str] = &[
    "already exists",
    "already taken",
    "is taken",
    "is a duplicate",
    "duplicate name",
    "name is already in use",
];

/// Every string in a JSON document, keys left out.
fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(text) => vec![text],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::Object(fields) => fields.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// "API version", "api-version", "ApiVersion", "x-api-version", "unsupportedApiVersion": the
/// words with case and separators ignored.
fn speaks_of_api_version(text: &str) -> bool {
    let squeezed: String = text
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    squeezed.contains("apiversion")
}

/// A plain-text body, trimmed and cut short; `None` for an empty one or an HTML page (a proxy's
/// error page says nothing the status does not).
fn plain_text(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() || text.starts_with('<') {
        return None;
    }
    Some(match text.char_indices().nth(MAX_TEXT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    })
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

    #[test]
    fn a_refused_revision_is_recognised_in_every_shape_and_status() {
        let shapes: [(u16, &[u8]); 7] = [
            (400, br#"{"type":"/api/v1/problems/unsupportedApiVersion","title":"Unsupported API version","status":400,"errorCode":"UnknownError","details":"x"}"#),
            (400, br#"{"error":{"code":"UnsupportedApiVersion","message":"The HTTP resource that matches the request URI 'https://h/api/v1/token' does not support the API version '1.9-rev0'.","innerError":null}}"#),
            (400, br#"{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.1","title":"Bad Request","status":400,"errorCode":"InvalidApiVersion"}"#),
            (400, br#"{"title":"Bad Request","status":400,"code":"ApiVersionUnspecified","traceId":"00-1"}"#),
            (400, b"The requested API version '1.9-rev0' is not supported."),
            (404, br#"{"error":{"code":"UnsupportedApiVersion","message":"not here"}}"#),
            (415, br#"{"title":"Unsupported Media Type","data":{"hint":["x-api-version 1.9-rev0"]}}"#),
        ];
        for (status, body) in shapes {
            let api = ApiError::from_body("log in", status, body);
            assert!(
                api.is_unsupported_version(),
                "{status} {}",
                String::from_utf8_lossy(body)
            );
        }
        let classic = ApiError::from_body("log in", 400, shapes[1].1);
        assert_eq!(classic.error_code.as_deref(), Some("UnsupportedApiVersion"));
        assert!(
            classic
                .summary()
                .contains("does not support the API version '1.9-rev0'"),
            "{}",
            classic.summary()
        );
        let plain = ApiError::from_body("log in", 400, shapes[4].1);
        assert_eq!(
            plain.details.as_deref(),
            Some("The requested API version '1.9-rev0' is not supported.")
        );

        for (status, body) in [
            (400, &br#"{"title":"Access denied","errorCode":"AccessDenied","details":"Invalid username or password."}"#[..]),
            (401, br#"{"error":{"code":"UnsupportedApiVersion"}}"#),
            (400, b""),
        ] {
            let api = ApiError::from_body("log in", status, body);
            assert!(!api.is_unsupported_version(), "{status} {}", String::from_utf8_lossy(body));
        }
        let taken = ApiError::from_body(
            "create",
            400,
            br#"{"title":"Validation error","errorCode":"UnknownError","details":"An IAM role with the name 'x' already exists."}"#,
        );
        assert!(taken.is_name_taken() && !taken.is_unsupported_version());
        let other = ApiError::from_body(
            "create",
            400,
            br#"{"title":"Validation error","details":"IAMRoleFromAnotherAccount needs a 12-digit accountId and a roleName."}"#,
        );
        assert!(!other.is_name_taken());
        let proxy = ApiError::from_body("log in", 502, b"<html><body>Bad gateway</body></html>");
        assert_eq!(proxy.details, None, "an HTML page is not a message");
    }

    #[test]
    fn a_taken_name_is_told_by_its_code_first_and_by_whole_phrases_only() {
        let taken = |status: u16, body: &[u8]| ApiError::from_body("create", status, body).is_name_taken();
        for (status, body) in [
            (409, &b""[..]),
            (400, br#"{"title":"Validation error","errorCode":"UnknownError","details":"An IAM role with the name 'x' already exists."}"#),
            (400, br#"{"title":"Validation error","details":"The name 'x' is already taken."}"#),
            // ASP.NET's problem shape, its messages under `errors`.
            (400, br#"{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.1","title":"One or more validation errors occurred.","status":400,"errors":{"Name":["Duplicate name: x"]},"traceId":"00-1"}"#),
        ] {
            assert!(taken(status, body), "{status} {}", String::from_utf8_lossy(body));
        }
        for (status, body) in [
            (400, &br#"{"title":"Validation error","errorCode":"UnknownError","details":"The IAM role does not exist in the account."}"#[..]),
            (400, br#"{"title":"Validation error","details":"The account 123456789012 does not exist."}"#),
            (400, br#"{"title":"Not found","errorCode":"NotFound","details":"A role with this name already exists in the trash."}"#),
            (400, br#"{"title":"Validation error","details":"The external ID is not a duplicate of any other."}"#),
            (400, br#"{"title":"Validation error","errorCode":"UnknownError","details":"Failed to assume role arn:aws:iam::1:role/x: it already exists but is not assumable"}"#),
            (404, br#"{"title":"Not found","errorCode":"NotFound","details":"The name is taken."}"#),
        ] {
            assert!(!taken(status, body), "{status} {}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn a_proxys_page_is_no_message() {
        let proxy = ApiError::from_body("log in", 502, b"<html><body>Bad gateway</body></html>");
        assert_eq!(proxy.details, None, "an HTML page is not a message");
    }
}
