//! A simulator of the Veeam Backup for AWS appliance's REST API, faithful enough to test the
//! client and the configurator against, over real TLS on 127.0.0.1.
//!
//! It serves `/api/v1/token` (password and refresh grants; `DELETE` signs out) and
//! `/api/v1/accounts/amazon` with the documented status codes and Veeam-shaped error bodies
//! (`type`, `title`, `status`, `errorCode`, `details`; `application/problem+json`, or
//! `application/json` when asked for). It enforces `x-api-version` against a window of accepted
//! revisions, token lifetimes (`expires_in`, `.issued`, `.expires`), user roles (a Portal
//! Operator gets 403 on writes), MFA, unique display names, UUID role IDs (malformed: 400,
//! unknown: 404), the undeletable default role, roles in use, and listing (`Offset`, `Limit`,
//! `SearchPattern`, `Sort`, names matched without case). Faults can be injected, by count
//! ([`Faults`]: 503s, "cannot assume role" failures, latency, dropped connections and requests
//! that never answer) or as rates from a seed ([`Chaos`]: 503s, drops and hangs in given shares,
//! slow password logins, and IAM propagation: a role unassumable for a while after its first
//! registration attempt).
//!
//! Where the real appliance's behaviour is undocumented (the status for a wrong password, for a
//! role in use, for a successful delete, the name of the account field, and the shape of a
//! refused revision), [`Config`] makes it a setting; the defaults follow the best reading of the
//! reference. Every other undocumented choice says "guess" beside it in the code.
//!
//! [`router`] is the whole API over in-memory state, for tests without a socket; [`spawn`]
//! serves it over TLS on a free port.

mod bodies;
mod chaos;
mod config;
mod http;
mod listing;
mod problem;
mod state;
mod tls;
mod version;
mod workers;

use std::net::SocketAddr;

use axum_server::{Handle, tls_rustls::RustlsConfig};

pub use chaos::Chaos;
pub use config::{AccountField, Config, Faults, LoggedRequest, ProblemShape, Role, User, UserRole};
pub use http::router;
pub use state::Sim;
pub use tls::Identity;
pub use version::VersionRefusal;
pub use workers::WorkerConfiguration;

/// A simulator serving HTTPS on 127.0.0.1. Dropping it stops the server.
#[derive(Debug)]
pub struct Running {
    pub sim: Sim,
    pub addr: SocketAddr,
    pub identity: Identity,
    handle: Handle<SocketAddr>,
}

impl Running {
    /// `https://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

/// Serves `sim` over TLS on `addr` (port 0 for a free one) with a fresh certificate.
pub async fn spawn(sim: Sim, addr: SocketAddr) -> std::io::Result<Running> {
    let identity = Identity::generate().map_err(std::io::Error::other)?;
    let config = RustlsConfig::from_config(identity.server_config().map_err(std::io::Error::other)?);
    let handle = Handle::new();
    let server = axum_server::bind_rustls(addr, config).handle(handle.clone());
    let app = router(sim.clone());
    tokio::spawn(async move {
        if let Err(error) = server.serve(app.into_make_service()).await {
            tracing::error!(%error, "the simulator stopped");
        }
    });
    let addr = handle
        .listening()
        .await
        .ok_or_else(|| std::io::Error::other("the simulator could not listen"))?;
    Ok(Running {
        sim,
        addr,
        identity,
        handle,
    })
}
