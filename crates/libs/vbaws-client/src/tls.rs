//! How the client decides to trust the appliance.
//!
//! The appliance creates a self-signed certificate at install, so the usual web PKI cannot vouch
//! for it. Three modes:
//! - [`Trust::Pinned`]: the SHA-256 fingerprint of the leaf certificate must match. Host names are
//!   not checked (the appliance is usually reached by private IP); the handshake signature is.
//! - [`Trust::CaBundle`]: a PEM bundle of CAs to trust, with normal host-name checks.
//! - [`Trust::Insecure`]: anything goes. A warning is logged at every handshake.

use std::{
    fmt,
    str::FromStr,
    sync::{Arc, Mutex},
};

use rustls::{
    DigitallySignedStruct, SignatureScheme,
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature},
};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime, pem::PemObject};

use crate::Error;

/// A SHA-256 certificate fingerprint.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of_der(der: &[u8]) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA256, der);
        let mut bytes = [0; 32];
        bytes.copy_from_slice(digest.as_ref());
        Self(bytes)
    }
}

/// Accepts 64 hex digits, in either case, with or without colons (as `openssl x509 -fingerprint
/// -sha256` prints them).
impl FromStr for Fingerprint {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        let hex: String = text.trim().chars().filter(|c| *c != ':').collect();
        let invalid = || Error::InvalidFingerprint {
            text: text.to_owned(),
        };
        if hex.len() != 64 || !hex.is_ascii() {
            return Err(invalid());
        }
        let mut bytes = [0; 32];
        for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| invalid())?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| invalid())?;
        }
        Ok(Self(bytes))
    }
}

/// `AB:CD:…`, the form `openssl` prints.
impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{byte:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// How to trust the appliance's certificate.
#[derive(Clone, PartialEq, Eq)]
pub enum Trust {
    Pinned(Fingerprint),
    /// PEM text holding one or more CA certificates.
    CaBundle(String),
    Insecure,
}

impl fmt::Debug for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pinned(pin) => write!(f, "Pinned({pin})"),
            Self::CaBundle(_) => f.write_str("CaBundle(..)"),
            Self::Insecure => f.write_str("Insecure"),
        }
    }
}

/// The fingerprint a pinned appliance presented instead of the pinned one, kept so that the
/// error the client returns can show it: rustls and reqwest only report "invalid certificate".
#[derive(Debug, Default)]
pub(crate) struct Mismatches(Mutex<Option<Fingerprint>>);

impl Mismatches {
    pub(crate) fn take(&self) -> Option<Fingerprint> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    fn record(&self, presented: Fingerprint) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(presented);
    }
}

pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A rustls client configuration for `trust`.
pub(crate) fn client_config(
    trust: &Trust,
    mismatches: Arc<Mismatches>,
) -> Result<rustls::ClientConfig, Error> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(Error::TlsSetup)?;
    let config = match trust {
        Trust::CaBundle(pem) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert = cert.map_err(Error::CaBundlePem)?;
                roots.add(cert).map_err(Error::CaBundleCertificate)?;
            }
            if roots.is_empty() {
                return Err(Error::EmptyCaBundle);
            }
            builder.with_root_certificates(roots)
        }
        Trust::Pinned(pin) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Verifier {
                pin: Some(*pin),
                mismatches,
                provider,
            })),
        Trust::Insecure => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Verifier {
                pin: None,
                mismatches,
                provider,
            })),
    };
    Ok(config.with_no_client_auth())
}

/// Checks the leaf certificate against a pin (or, without one, accepts it with a warning). The
/// handshake signatures are always verified, so the server must hold the certificate's key.
#[derive(Debug)]
struct Verifier {
    pin: Option<Fingerprint>,
    mismatches: Arc<Mismatches>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = Fingerprint::of_der(end_entity.as_ref());
        match self.pin {
            Some(pin) if pin == presented => Ok(ServerCertVerified::assertion()),
            Some(_) => {
                self.mismatches.record(presented);
                Err(rustls::Error::General(
                    "the certificate does not match the pinned fingerprint".into(),
                ))
            }
            None => {
                tracing::warn!(
                    server = ?server_name,
                    presented = %presented,
                    "TLS certificate NOT verified (insecure mode); pin this fingerprint instead"
                );
                Ok(ServerCertVerified::assertion())
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_with_or_without_colons_and_print_as_openssl_does() {
        let plain = "ab".repeat(32);
        let colons = vec!["AB"; 32].join(":");
        let a: Fingerprint = plain.parse().expect("plain hex");
        let b: Fingerprint = colons.parse().expect("openssl style");
        assert_eq!(a, b);
        assert_eq!(a.to_string(), colons);
        for bad in ["", "ab", &"zz".repeat(32), &"ab".repeat(33)] {
            let error = bad.parse::<Fingerprint>().expect_err(bad).to_string();
            assert!(error.contains("64 hexadecimal digits"), "{error}");
        }
    }
}
