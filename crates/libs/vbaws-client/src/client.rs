//! The client, its builder, and the one place requests are sent.

use std::{
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use rand::Rng;
use reqwest::{Method, StatusCode, header};
use serde::{Serialize, de::DeserializeOwned};
use tokio::time::{Instant, sleep};
use tracing::debug;
use url::Url;

use crate::{
    ApiError, Credentials, Error, Fingerprint, Roles, Trust, Workers,
    auth::Tokens,
    tls::{Mismatches, client_config},
};

const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const LONGEST_BACKOFF: Duration = Duration::from_secs(4);

/// A client for one appliance. Cheap to clone: clones share the connection pool, the tokens
/// and the negotiated API revision, so a Lambda sandbox logs in once while its token is valid.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    http: reqwest::Client,
    /// `https://host:port/api/v1/`
    base: Url,
    pinned: Option<Fingerprint>,
    mismatches: Arc<Mismatches>,
    pub(crate) credentials: RwLock<Credentials>,
    /// The configured revision, or the one negotiation settled on.
    pub(crate) revision: Mutex<Option<String>>,
    pub(crate) revision_is_configured: bool,
    pub(crate) tokens: tokio::sync::Mutex<Option<Tokens>>,
    request_timeout: Duration,
    /// How long connection failures are retried, from the first; `None`: until the deadline.
    connect_patience: Option<Duration>,
    pub(crate) token_margin: Duration,
    requests: AtomicU64,
    pub(crate) logins: AtomicU64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base.as_str())
            .field("revision", &self.revision())
            .finish_non_exhaustive()
    }
}

/// Counters, for benchmarks and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// HTTP requests sent, retries and logins included.
    pub requests: u64,
    /// Password logins.
    pub logins: u64,
}

/// Configures a [`Client`].
#[derive(Debug)]
pub struct ClientBuilder {
    base_url: String,
    trust: Option<Trust>,
    revision: Option<String>,
    credentials: Option<Credentials>,
    request_timeout: Duration,
    connect_patience: Option<Duration>,
    token_margin: Duration,
}

impl Client {
    /// A builder for the appliance at `base_url` (`https://host:port`; the API lives under
    /// `/api/v1`).
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            trust: None,
            revision: None,
            credentials: None,
            request_timeout: Duration::from_secs(10),
            connect_patience: None,
            token_margin: Duration::from_secs(60),
        }
    }

    /// Operations that must finish by `deadline`, retries included.
    pub fn until(&self, deadline: Instant) -> Api<'_> {
        Api {
            client: self,
            deadline,
        }
    }

    /// The API revision in use: the configured one, or the one negotiated at the first login.
    pub fn revision(&self) -> Option<String> {
        lock(&self.inner.revision).clone()
    }

    /// Replaces the credentials, for example after the secret was rotated. Cached tokens are
    /// dropped when the credentials differ.
    pub async fn set_credentials(&self, credentials: Credentials) {
        let changed = {
            let mut current = self
                .inner
                .credentials
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let changed = *current != credentials;
            *current = credentials;
            changed
        };
        if changed {
            *self.inner.tokens.lock().await = None;
        }
    }

    pub fn stats(&self) -> Stats {
        Stats {
            requests: self.inner.requests.load(Ordering::Relaxed),
            logins: self.inner.logins.load(Ordering::Relaxed),
        }
    }

    /// The URL of `path` under `/api/v1/`, for logs and errors too: it never has a query.
    pub(crate) fn url(&self, path: &str) -> Result<Url, Error> {
        self.inner
            .base
            .join(path)
            .map_err(|problem| Error::InvalidBaseUrl {
                text: format!("{}{path}", self.inner.base),
                problem,
            })
    }

    /// `https://host:port/api/v1/`, as configured.
    pub(crate) fn base(&self) -> &Url {
        &self.inner.base
    }

    /// An authorized request: a token first, then the request with its retries, and after a 401
    /// one new login and one more try.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        deadline: Instant,
        operation: &str,
        method: Method,
        url: Url,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<Option<T>, Error> {
        let repeatable = method == Method::GET || method == Method::PUT || method == Method::DELETE;
        self.send(deadline, operation, method, url, body, repeatable)
            .await
    }

    /// A POST that only reads (the appliance's `validate…` actions): as safe to send again
    /// after it broke mid-way as a GET.
    pub(crate) async fn call_reading<T: DeserializeOwned>(
        &self,
        deadline: Instant,
        operation: &str,
        url: Url,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<Option<T>, Error> {
        self.send(deadline, operation, Method::POST, url, body, true)
            .await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        deadline: Instant,
        operation: &str,
        method: Method,
        url: Url,
        body: Option<&(impl Serialize + ?Sized)>,
        repeatable: bool,
    ) -> Result<Option<T>, Error> {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|problem| Error::EncodeBody {
                operation: operation.to_owned(),
                problem,
            })?;
        let mut token = self.access_token(deadline).await?;
        for second_try in [false, true] {
            let revision = self.revision().unwrap_or_default();
            let (status, bytes) = self
                .execute(deadline, operation, repeatable, || {
                    let mut request = self
                        .inner
                        .http
                        .request(method.clone(), url.clone())
                        .header("x-api-version", &revision)
                        .header(header::ACCEPT, "application/json")
                        .bearer_auth(token.expose());
                    if let Some(body) = &body {
                        request = request
                            .header(header::CONTENT_TYPE, "application/json")
                            .body(body.clone());
                    }
                    request
                })
                .await?;
            if status == StatusCode::UNAUTHORIZED && !second_try {
                debug!(operation, "token refused; logging in again");
                token = self.relogin(deadline, &token).await?;
                continue;
            }
            if !status.is_success() {
                return Err(ApiError::from_body(operation, status.as_u16(), &bytes).into());
            }
            if bytes.is_empty() || status == StatusCode::NO_CONTENT {
                return Ok(None);
            }
            return serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Error::UnexpectedBody {
                    operation: operation.to_owned(),
                    status: status.as_u16(),
                    problem: e.to_string(),
                });
        }
        unreachable!("the loop returns on its second pass")
    }

    /// Sends a request until it gets an answer that is not transient, or the deadline passes.
    /// Transient: connection errors, and for `idempotent` requests any transport error; 502,
    /// 503, 504 and 429, after Retry-After when given.
    pub(crate) async fn execute(
        &self,
        deadline: Instant,
        operation: &str,
        idempotent: bool,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<(StatusCode, bytes::Bytes), Error> {
        let mut backoff = FIRST_BACKOFF;
        let mut last: Option<String> = None;
        let mut unreachable_since: Option<Instant> = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left < Duration::from_millis(20) {
                return Err(Error::DeadlineExceeded {
                    operation: operation.to_owned(),
                    last,
                });
            }
            self.inner.requests.fetch_add(1, Ordering::Relaxed);
            let request = build().timeout(self.inner.request_timeout.min(left));
            let attempt = async {
                let response = request.send().await?;
                let status = response.status();
                let retry_after = retry_after(response.headers());
                Ok::<_, reqwest::Error>((status, retry_after, response.bytes().await?))
            };
            let wait = match attempt.await {
                Ok((status, retry_after, bytes)) if matches!(status.as_u16(), 429 | 502..=504) => {
                    debug!(operation, status = status.as_u16(), "appliance busy; will retry");
                    last = Some(format!("HTTP {}", status.as_u16()));
                    let wait = retry_after.unwrap_or_else(|| jitter(backoff));
                    if Instant::now() + wait >= deadline {
                        return Err(ApiError::from_body(operation, status.as_u16(), &bytes).into());
                    }
                    wait
                }
                Ok((status, _, bytes)) => {
                    debug!(operation, status = status.as_u16(), "answered");
                    return Ok((status, bytes));
                }
                Err(error) => {
                    let since = *unreachable_since.get_or_insert_with(Instant::now);
                    if error.is_connect()
                        && self
                            .inner
                            .connect_patience
                            .is_some_and(|patience| since.elapsed() >= patience)
                    {
                        return Err(Error::Transport {
                            url: self.inner.base.to_string(),
                            kind: transport_kind(&error),
                            source: error,
                        });
                    }
                    let kind = self.transient(error, idempotent)?;
                    debug!(operation, kind, "transport error; will retry");
                    last = Some(kind.to_owned());
                    jitter(backoff)
                }
            };
            sleep(wait.min(deadline.saturating_duration_since(Instant::now()))).await;
            backoff = (backoff * 2).min(LONGEST_BACKOFF);
        }
    }

    /// What a failed request means: a certificate problem or a broken non-idempotent request is
    /// final; anything else is a transient failure worth another attempt, named by its kind.
    fn transient(&self, error: reqwest::Error, idempotent: bool) -> Result<&'static str, Error> {
        let inner = &self.inner;
        if let Some(problem) = certificate_problem(&error, &inner.base, inner.pinned, &inner.mismatches) {
            return Err(problem);
        }
        let kind = transport_kind(&error);
        if idempotent || error.is_connect() {
            Ok(kind)
        } else {
            Err(Error::Transport {
                url: self.inner.base.to_string(),
                kind,
                source: error,
            })
        }
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }
}

/// Operations bounded by a deadline.
#[derive(Debug, Clone, Copy)]
pub struct Api<'a> {
    pub(crate) client: &'a Client,
    pub(crate) deadline: Instant,
}

impl<'a> Api<'a> {
    /// IAM roles (`/accounts/amazon`).
    pub fn roles(&self) -> Roles<'a> {
        Roles {
            client: self.client,
            deadline: self.deadline,
        }
    }

    /// Production worker configurations, and the Regions and zones they are made from.
    pub fn workers(&self) -> Workers<'a> {
        Workers {
            client: self.client,
            deadline: self.deadline,
        }
    }

    /// Makes sure the client holds a valid token, logging in when it does not.
    pub async fn login(&self) -> Result<(), Error> {
        self.client.access_token(self.deadline).await.map(|_| ())
    }
}

impl ClientBuilder {
    /// How to trust the appliance's certificate. There is no default: without a pin, a CA bundle
    /// or an explicit [`Trust::Insecure`], the client cannot be built, so credentials are never
    /// sent to a server whose identity nobody checked.
    pub fn trust(mut self, trust: Trust) -> Self {
        self.trust = Some(trust);
        self
    }

    /// Uses this `x-api-version` as is, instead of negotiating one.
    pub fn api_version(mut self, revision: impl Into<String>) -> Self {
        self.revision = Some(revision.into());
        self
    }

    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// The longest one HTTP request may take (10 s by default).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Gives up on connection failures (refused, unreachable) once they have lasted `patience`,
    /// instead of retrying them until the deadline: for a person waiting at a terminal, not for
    /// a function that must ride out an appliance's restart.
    pub fn connect_patience(mut self, patience: Duration) -> Self {
        self.connect_patience = Some(patience);
        self
    }

    /// Tokens are renewed this long before they expire (60 s by default).
    pub fn token_margin(mut self, margin: Duration) -> Self {
        self.token_margin = margin;
        self
    }

    pub fn build(self) -> Result<Client, Error> {
        let base = parse_base(&self.base_url)?;
        let trust = self.trust.ok_or(Error::NoTrust)?;
        let credentials = self.credentials.ok_or(Error::NoCredentials)?;
        let mismatches = Arc::new(Mismatches::default());
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(client_config(&trust, Arc::clone(&mismatches))?)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.request_timeout.min(Duration::from_secs(5)))
            .pool_idle_timeout(Duration::from_secs(50))
            .build()
            .map_err(Error::HttpClient)?;
        let pinned = match trust {
            Trust::Pinned(pin) => Some(pin),
            _ => None,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                pinned,
                mismatches,
                credentials: RwLock::new(credentials),
                revision_is_configured: self.revision.is_some(),
                revision: Mutex::new(self.revision),
                tokens: tokio::sync::Mutex::new(None),
                request_timeout: self.request_timeout,
                connect_patience: self.connect_patience,
                token_margin: self.token_margin,
                requests: AtomicU64::new(0),
                logins: AtomicU64::new(0),
            }),
        })
    }
}

/// `https://host[:port]`, with or without a trailing `/api/v1`.
pub(crate) fn parse_base(text: &str) -> Result<Url, Error> {
    let invalid = |why: &'static str| Error::UnusableBaseUrl {
        text: text.to_owned(),
        why,
    };
    let mut url = Url::parse(text.trim()).map_err(|problem| Error::InvalidBaseUrl {
        text: text.to_owned(),
        problem,
    })?;
    if url.scheme() != "https" {
        return Err(invalid("the appliance serves its API over HTTPS only"));
    }
    if url.host_str().is_none() {
        return Err(invalid("no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it has a query or a fragment"));
    }
    let path = url
        .path()
        .trim_end_matches('/')
        .trim_end_matches("/api/v1")
        .to_owned();
    url.set_path(&format!("{path}/api/v1/"));
    Ok(url)
}

fn retry_after(headers: &header::HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds.min(60)))
}

fn jitter(backoff: Duration) -> Duration {
    backoff.mul_f64(rand::rng().random_range(0.5..=1.0))
}

/// The certificate problem behind a failed request to `base`, if the handshake is what failed:
/// another certificate than the pinned one (named), or any other refused certificate. Final:
/// waiting does not change a certificate.
pub(crate) fn certificate_problem(
    error: &reqwest::Error,
    base: &Url,
    pinned: Option<Fingerprint>,
    mismatches: &Mismatches,
) -> Option<Error> {
    let host = base.host_str().unwrap_or_default().to_owned();
    if let (Some(presented), Some(pinned)) = (mismatches.take(), pinned) {
        return Some(Error::CertificateMismatch {
            host,
            presented,
            pinned,
        });
    }
    tls_failure(error).map(|detail| Error::UntrustedCertificate { host, detail })
}

/// The rustls error somewhere in `error`'s sources, if the handshake is what failed.
fn tls_failure(error: &reqwest::Error) -> Option<String> {
    find_rustls(error).map(ToString::to_string)
}

// `io::Error::source` skips the error it wraps, and hyper wraps rustls's error in two of them,
// so both paths are followed.
fn find_rustls<'e>(error: &'e (dyn std::error::Error + 'static)) -> Option<&'e rustls::Error> {
    if let Some(tls) = error.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let wrapped = error.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref());
    if let Some(tls) = wrapped.and_then(|inner| find_rustls(inner)) {
        return Some(tls);
    }
    error.source().and_then(find_rustls)
}

pub(crate) fn transport_kind(error: &reqwest::Error) -> &'static str {
    if error.is_connect() {
        "connection failed (is the API port open in the appliance's security group, and is it routed from here?)"
    } else if error.is_timeout() {
        "the request timed out"
    } else if error.is_body() || error.is_decode() {
        "the connection broke while reading the answer"
    } else {
        "the connection failed during the request"
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalised_under_api_v1_and_must_be_https() {
        for text in [
            "https://10.0.0.5:11005",
            "https://10.0.0.5:11005/",
            "https://10.0.0.5:11005/api/v1/",
        ] {
            assert_eq!(
                parse_base(text).expect(text).as_str(),
                "https://10.0.0.5:11005/api/v1/"
            );
        }
        for bad in ["http://10.0.0.5:11005", "10.0.0.5", "https://h/?x=1"] {
            let error = parse_base(bad).expect_err(bad).to_string();
            assert!(error.contains("expected https://host:port"), "{error}");
        }
    }
}
