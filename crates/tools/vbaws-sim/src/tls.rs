//! The simulator's certificates: a CA of its own and a leaf for 127.0.0.1 and localhost, so that
//! clients can either pin the leaf (as with the real appliance's self-signed certificate) or
//! trust the CA bundle.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A certificate chain and what clients need to trust it.
#[derive(Debug, Clone)]
pub struct Identity {
    pub(crate) leaf_der: CertificateDer<'static>,
    pub(crate) key_der: Vec<u8>,
    /// The CA certificate in PEM, for clients that trust a CA bundle.
    pub ca_pem: String,
    /// The leaf's SHA-256 fingerprint, `AB:CD:…` as `openssl` prints it.
    pub fingerprint: String,
}

impl Identity {
    pub fn generate() -> Result<Self, rcgen::Error> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Veeam Backup for AWS simulator CA");
        let ca_key = KeyPair::generate()?;
        let ca_cert = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let mut leaf_params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "vbaws-sim");
        let leaf_key = KeyPair::generate()?;
        let leaf = leaf_params.signed_by(&leaf_key, &issuer)?;
        Ok(Self {
            fingerprint: fingerprint(leaf.der()),
            leaf_der: leaf.der().clone(),
            key_der: leaf_key.serialize_der(),
            ca_pem: ca_cert.pem(),
        })
    }

    pub(crate) fn server_config(&self) -> Result<Arc<ServerConfig>, rustls::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![self.leaf_der.clone()], key)?;
        Ok(Arc::new(config))
    }
}

fn fingerprint(der: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}
