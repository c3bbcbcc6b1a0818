//! Whether an appliance presents the pinned certificate, asked without credentials: what the
//! preflight checks before anything is deployed, so a wrong pin is found before every member
//! account's registration fails on it.

use std::{sync::Arc, time::Duration};

use crate::{
    Error, Fingerprint, Trust,
    client::{parse_base, tls_failure, transport_kind},
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
    let host = base.host_str().unwrap_or_default().to_owned();
    if let Some(presented) = mismatches.take() {
        return Err(Error::CertificateMismatch {
            host,
            presented,
            pinned: pin,
        });
    }
    Err(match tls_failure(&error) {
        Some(detail) => Error::UntrustedCertificate { host, detail },
        None => Error::Transport {
            url: base.to_string(),
            kind: transport_kind(&error),
            source: error,
        },
    })
}
