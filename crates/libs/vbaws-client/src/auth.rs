//! Logging in, keeping tokens, and settling on an API revision.
//!
//! One password login per client while its token is valid: tokens are cached until `expires_in`
//! (or `.expires`) minus a margin, then renewed with the refresh token, and only when that fails
//! by logging in again. Without a configured revision, the first login negotiates one: newest
//! known first, stepping down on each "unsupported API version" answer.
//!
//! Concurrent callers share one login: the first caller that finds no valid token logs in while
//! it holds the token lock, bounded by its own deadline; the others wait for that login, each no
//! longer than its own deadline, and then use the token it got.

use std::time::{Duration, SystemTime};

use serde::Deserialize;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use tokio::time::Instant;
use tracing::{debug, info};

use crate::{ApiError, Client, Error, KNOWN_REVISIONS, Refusal, Secret, client::lock};

/// When the appliance names no lifetime: the shortest default any product version used.
const ASSUMED_LIFETIME: Duration = Duration::from_secs(900);

#[derive(Clone)]
pub(crate) struct Tokens {
    access: Secret,
    refresh: Option<Secret>,
    renew_at: Instant,
}

/// The `/token` answer. A user with MFA gets `mfa_token` instead of `access_token`.
#[derive(Deserialize)]
struct TokenBody {
    access_token: Option<String>,
    refresh_token: Option<String>,
    expires_in: Option<u64>,
    #[serde(rename = ".expires")]
    expires: Option<String>,
    mfa_token: Option<String>,
}

impl Client {
    /// A valid access token: the cached one, a refreshed one, or a new login.
    pub(crate) async fn access_token(&self, deadline: Instant) -> Result<Secret, Error> {
        let mut tokens = self.lock_tokens(deadline).await?;
        if let Some(current) = tokens.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(current.access.clone());
        }
        let refreshed = match tokens.take().and_then(|t| t.refresh) {
            Some(refresh) => match self
                .grant(
                    deadline,
                    "refresh the token",
                    &[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", refresh.expose()),
                    ],
                )
                .await
            {
                Ok(fresh) => Some(fresh),
                // Not a cause worth reporting: refresh tokens expire and die with an appliance
                // restart. What the password login says is what the caller needs to know.
                Err(error) => {
                    debug!(%error, "refresh failed; logging in again");
                    None
                }
            },
            None => None,
        };
        let fresh = match refreshed {
            Some(fresh) => fresh,
            None => self.password_login(deadline).await?,
        };
        let access = fresh.access.clone();
        *tokens = Some(fresh);
        Ok(access)
    }

    /// After `rejected` drew a 401: log in again, unless another task already did.
    pub(crate) async fn relogin(&self, deadline: Instant, rejected: &Secret) -> Result<Secret, Error> {
        let mut tokens = self.lock_tokens(deadline).await?;
        if let Some(current) = tokens
            .as_ref()
            .filter(|t| t.access != *rejected && Instant::now() < t.renew_at)
        {
            return Ok(current.access.clone());
        }
        let fresh = self.password_login(deadline).await?;
        let access = fresh.access.clone();
        *tokens = Some(fresh);
        Ok(access)
    }

    /// The token lock, waited for no longer than `deadline`: another caller may hold it through a
    /// slow login bounded by a later deadline than ours.
    async fn lock_tokens(
        &self,
        deadline: Instant,
    ) -> Result<tokio::sync::MutexGuard<'_, Option<Tokens>>, Error> {
        tokio::time::timeout_at(deadline, self.inner.tokens.lock())
            .await
            .map_err(|_| Error::DeadlineExceeded {
                operation: "log in".to_owned(),
                last: Some("waiting for the login another caller has under way".to_owned()),
            })
    }

    async fn password_login(&self, deadline: Instant) -> Result<Tokens, Error> {
        let credentials = self
            .inner
            .credentials
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        self.inner
            .logins
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let form = [
            ("grant_type", "password"),
            ("username", credentials.username.as_str()),
            ("password", credentials.password.expose()),
        ];
        self.grant(deadline, "log in", &form)
            .await
            .map_err(|error| match error {
                Error::Authentication { answer, .. } => Error::Authentication {
                    username: credentials.username.clone(),
                    answer,
                },
                Error::MfaRequired { .. } => Error::MfaRequired {
                    username: credentials.username.clone(),
                },
                other => other,
            })
    }

    /// `POST /token` with `form`, trying revisions until one is accepted when none is settled.
    async fn grant(
        &self,
        deadline: Instant,
        operation: &str,
        form: &[(&str, &str)],
    ) -> Result<Tokens, Error> {
        // A configured revision is used as is. A negotiated one is tried first, then the others,
        // so that an appliance upgraded past it is followed.
        let known = KNOWN_REVISIONS.iter().map(|r| (*r).to_owned());
        let configured = self.inner.revision_is_configured;
        let candidates: Vec<String> = match (self.revision(), configured) {
            (Some(revision), true) => vec![revision],
            (Some(revision), false) => std::iter::once(revision.clone())
                .chain(known.filter(|r| *r != revision))
                .collect(),
            (None, _) => known.collect(),
        };
        let url = self.url("token")?;
        let mut tried = Vec::new();
        for revision in candidates {
            let (status, bytes) = self
                .execute(deadline, operation, true, || {
                    self.http()
                        .post(url.clone())
                        .header("x-api-version", &revision)
                        .form(form)
                })
                .await?;
            if status.is_success() {
                let tokens = read_tokens(operation, status.as_u16(), &bytes, self.inner.token_margin)?;
                self.settle(revision);
                return Ok(tokens);
            }
            let answer = ApiError::from_body(operation, status.as_u16(), &bytes);
            // Asked before the credentials are blamed: a version error is a 400 too.
            if answer.is_unsupported_version() {
                debug!(revision, answer = %answer.summary(), "revision refused");
                tried.push(Refusal { revision, answer });
                continue;
            }
            // The token endpoint itself refused the grant, so it accepted the revision: the
            // login that follows (say, with a password read again) need not negotiate again.
            if matches!(status.as_u16(), 400 | 401) {
                self.settle(revision);
            }
            return Err(match status.as_u16() {
                400 | 401 => Error::Authentication {
                    username: String::new(),
                    answer: Box::new(answer),
                },
                _ => Error::from(answer),
            });
        }
        Err(Error::UnsupportedApiVersion { tried, configured })
    }

    /// Keeps `revision` as the negotiated one (a configured one never changes).
    fn settle(&self, revision: String) {
        if self.inner.revision_is_configured {
            return;
        }
        let mut settled = lock(&self.inner.revision);
        if settled.as_deref() != Some(revision.as_str()) {
            info!(revision, "API revision negotiated");
            *settled = Some(revision);
        }
    }
}

fn read_tokens(operation: &str, status: u16, bytes: &[u8], margin: Duration) -> Result<Tokens, Error> {
    let body: TokenBody = serde_json::from_slice(bytes).map_err(|e| Error::UnexpectedBody {
        operation: operation.to_owned(),
        status,
        problem: e.to_string(),
    })?;
    let Some(access) = body.access_token.filter(|t| !t.is_empty()) else {
        return Err(match body.mfa_token {
            Some(_) => Error::MfaRequired {
                username: String::new(),
            },
            None => Error::UnexpectedBody {
                operation: operation.to_owned(),
                status,
                problem: "no access_token".into(),
            },
        });
    };
    let lifetime = body
        .expires_in
        .map(Duration::from_secs)
        .or_else(|| body.expires.as_deref().and_then(until))
        .unwrap_or(ASSUMED_LIFETIME);
    // A token that lives no longer than the margin is renewed before every use.
    let early = margin.min(lifetime);
    Ok(Tokens {
        access: Secret::new(access),
        refresh: body.refresh_token.filter(|t| !t.is_empty()).map(Secret::new),
        renew_at: Instant::now() + (lifetime - early),
    })
}

/// How long until an RFC 3339 instant such as `2026-11-22T11:00:00Z`.
fn until(text: &str) -> Option<Duration> {
    let at = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    let now = OffsetDateTime::from(SystemTime::now());
    Duration::try_from(at - now).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_come_from_expires_in_or_the_dotted_expires_field() {
        let margin = Duration::from_secs(60);
        let tokens = read_tokens(
            "log in",
            200,
            br#"{"access_token":"a","expires_in":3600}"#,
            margin,
        )
        .expect("tokens");
        let left = tokens.renew_at - Instant::now();
        assert!(
            left > Duration::from_secs(3530) && left <= Duration::from_secs(3540),
            "{left:?}"
        );

        let expires = (OffsetDateTime::now_utc() + time::Duration::seconds(600))
            .format(&Rfc3339)
            .expect("format");
        let body = format!(r#"{{"access_token":"a","refresh_token":"r",".expires":"{expires}"}}"#);
        let tokens = read_tokens("log in", 200, body.as_bytes(), margin).expect("tokens");
        let left = tokens.renew_at - Instant::now();
        assert!(
            left > Duration::from_secs(530) && left <= Duration::from_secs(540),
            "{left:?}"
        );
        assert!(tokens.refresh.is_some());

        let short =
            read_tokens("log in", 200, br#"{"access_token":"a","expires_in":4}"#, margin).expect("tokens");
        assert!(
            short.renew_at <= Instant::now(),
            "a token shorter than the margin is renewed at once"
        );
    }

    #[test]
    fn a_login_answered_with_an_mfa_token_is_its_own_error() {
        let error = read_tokens(
            "log in",
            200,
            br#"{"mfa_token":"m","mfa_enabled":true,"access_token":null}"#,
            Duration::ZERO,
        )
        .err()
        .expect("refused");
        assert!(matches!(error, Error::MfaRequired { .. }), "{error}");
    }
}
