//! A client for the REST API of the Veeam Backup for AWS appliance: login, tokens, and the
//! registration of IAM roles (`/api/v1/accounts/amazon`).
//!
//! ```no_run
//! # async fn example() -> Result<(), vbaws_client::Error> {
//! use std::time::Duration;
//! use vbaws_client::{Client, Credentials, Trust};
//!
//! let client = Client::builder("https://10.0.1.20:11005")
//!     .trust(Trust::Pinned("3F:8A:…".parse()?))
//!     .credentials(Credentials::new("automation", "…"))
//!     .build()?;
//! let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
//! let roles = client.until(deadline).roles().list().await?;
//! # Ok(()) }
//! ```
//!
//! How it behaves:
//! - The base URL is the only thing that points it somewhere; it reads no environment variable.
//! - `x-api-version` goes with every request, `/token` included. A configured revision is used as
//!   is; otherwise the first login negotiates (newest of [`KNOWN_REVISIONS`] first, stepping down
//!   on each "unsupported API version" answer, in whatever shape it comes: see
//!   [`ApiError::is_unsupported_version`]) and the client keeps the result. When none is
//!   accepted, [`Error::UnsupportedApiVersion`] lists each revision tried with its answer.
//! - One login while the token is valid; renewal by refresh token, and a new login when that
//!   fails. A 401 from any call logs in again once and retries that call once. A user with MFA
//!   gets [`Error::MfaRequired`]: automation cannot answer a one-time code.
//! - Connection errors and 502, 503, 504 and 429 (after Retry-After) are retried with backoff
//!   until the caller's deadline; each request has its own timeout.
//! - Trust is explicit ([`Trust`]): a pinned fingerprint, a CA bundle, or insecure mode that logs a
//!   warning at every handshake. A pin mismatch names the fingerprint presented.
//!   [`presents_pinned_certificate`] asks only that, without credentials (the preflight).
//! - Passwords and tokens never appear in `Debug` or `Display` output.
//!
//! Where the published API reference is old or silent (the only complete schema published is
//! revision 1.0-rev0; the project README's client section says more), the client is tolerant:
//! both `awsid` and `awsAccountId`, errors in Veeam's shape (`details`), ASP.NET's (`detail`,
//! `errors`, `code`) or API Versioning's classic one, any 2xx for success, 200 or 204 for a
//! delete, 400 or 409 for a role in use, and an assume-role failure recognised by its text.

mod auth;
mod client;
mod error;
mod made_by;
mod models;
mod probe;
mod roles;
mod secret;
mod tls;
mod version;
mod workers;

pub use client::{Api, Client, ClientBuilder, Stats};
pub use error::{ApiError, Error, Refusal};
pub use made_by::{MAX_DESCRIPTION, MadeBy};
pub use models::{
    AmazonAccount, AmazonAccountsPage, CrossAccountRole, CrossAccountSpec, OwnRole, RoleSpec,
    ValidationMessage,
};
pub use probe::presents_pinned_certificate;
pub use roles::{Deleted, Roles};
pub use secret::{Credentials, Secret};
pub use tls::{Fingerprint, Trust};
pub use version::KNOWN_REVISIONS;
pub use workers::{Connection, Place, WorkerConfiguration, WorkerSpec, Workers};
