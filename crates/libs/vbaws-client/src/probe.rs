//! Whether an appliance presents the pinned certificate, asked without credentials: what the
//! preflight checks before anything is deployed, so a wrong pin is found before every member
//! account's registration fails on it.

use std::{sync::Arc, time::Duration};

use crate::{
    Error, Fingerprint, Trust,
    client::{certificate_problem, parse_base, transport_kind},
    tls::{Mismatches, client_config},
};

/// Completes a TLS handshake with the appliance at `base_url` (as [`Client::builder`] takes it)
/// under `pin`, within `patience`. `Ok` when the appliance presented the pinned certificate;
/// [`Error::CertificateMismatch`] names the one it presented instead,
/// [`Error::UntrustedCertificate`] any other handshake failure, [`Error::Transport`] an
/// appliance that did not answer.
///
/// One `GET` of the API's root is sent once the handshake has succeeded, with no credentials
/// and no token; whatever the appliance answers to it, the certificate was the pinned one.
///
/// [`Client::builder`]: crate::Client::builder
pub async fn presents_pinned_certificate(
    base_url: &str,
    pin: Fingerprint,
    patience: Duration,
) -> Result<(), Error> {
    let base = parse_base(base_url)?;
    let mismatches = Arc::new(Mismatches::default());
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(client_config(&Trust::Pinned(pin), Arc::clone(&mismatches))?)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(patience)
        .build()
        .map_err(Error::HttpClient)?;
    let Err(error) = http.get(base.clone()).send().await else {
        return Ok(());
    };
    Err(
        certificate_problem(&error, &base, Some(pin), &mismatches).unwrap_or_else(|| Error::Transport {
            url: base.to_string(),
            kind: transport_kind(&error),
            source: error,
        }),
    )
}
