use thiserror::Error;

/// Failures of the protocol machinery itself. A variant prints its cause and does not also
/// report it as a `source`, so a message is whole and a chain never repeats itself. A handler's own failures never show up here: they
/// become FAILED answers.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    #[error("could not build the TLS configuration for answers: {0}")]
    Tls(rustls::Error),
    #[error("could not build the HTTP client for answers: {0}")]
    HttpClient(reqwest::Error),
    /// Every attempt to PUT the answer failed before the deadline. Returning this error from the
    /// invocation lets Lambda retry the event, which answers it again.
    #[error("the answer to {host} was not delivered before the deadline (last attempt: {last_failure})")]
    Undelivered { host: String, last_failure: String },
}

/// Lambda reports the error type and message of a failed invocation in the function's log.
impl From<Error> for lambda_runtime::Diagnostic {
    fn from(error: Error) -> Self {
        let error_type = match &error {
            Error::Tls(_) | Error::HttpClient(_) => "Setup",
            Error::Undelivered { .. } => "AnswerUndelivered",
        };
        Self {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}
