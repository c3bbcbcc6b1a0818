//! How a function reaches the appliance, read once from its environment: the address, how its
//! certificate is trusted, the API revision, and where the credentials are.
//!
//! Reading is a pure function of a lookup, so tests pass values instead of changing the
//! process's environment.

use vbaws_client::{Fingerprint, Secret, Trust};

/// The appliance's REST port unless `VEEAM_API_PORT` says otherwise.
const DEFAULT_API_PORT: u16 = 11005;
/// Where the Parameters and Secrets Lambda Extension listens by default.
const DEFAULT_EXTENSION_PORT: u16 = 2773;
/// What a function needs to know of the appliance before its first call.
#[derive(Debug, Clone)]
pub struct Appliance {
    /// `https://host:port`
    pub api_url: String,
    /// The name or ARN of the secret with the appliance user's credentials.
    pub secret_id: String,
    /// `x-api-version` to use as is; `None` to negotiate.
    pub api_version: Option<String>,
    pub trust: Trust,
    pub extension_port: u16,
    /// Proves to the extension that the caller runs in this Lambda sandbox.
    pub session_token: Option<Secret>,
}

/// A setting that is missing or wrong. Each message names the variable and what it should hold.
#[derive(Debug, thiserror::Error)]
pub enum Misconfiguration {
    #[error(
        "VEEAM_API_URL is not set; it must hold the appliance's REST address, such as https://10.0.1.20:11005 \
         (or set VEEAM_INSTANCE_IP, and VEEAM_API_PORT when it is not 11005)"
    )]
    NoApiUrl,
    #[error(
        "VEEAM_API_URL is {0:?}; it must start with https:// (the appliance serves its API over HTTPS only), such as https://10.0.1.20:11005"
    )]
    NotHttps(String),
    #[error("{variable} is {value:?}; it must be a TCP port, 1 to 65535 (default {default})")]
    NotAPort {
        variable: &'static str,
        value: String,
        default: u16,
    },
    #[error(
        "SECRET_ID is not set; it must hold the name or ARN of the secret with the appliance user's username and password"
    )]
    NoSecretId,
    #[error("{variable} is {value:?}; it must be true or false")]
    NotABoolean { variable: &'static str, value: String },
    #[error("VEEAM_CERT_SHA256 is wrong: {0}")]
    Fingerprint(vbaws_client::Error),
    #[error("VEEAM_CA_CERT must hold PEM text, one or more -----BEGIN CERTIFICATE----- blocks")]
    NotPem,
    #[error(
        "no way to check the appliance's identity is set, so its credentials will not be sent: set \
         VEEAM_CERT_SHA256 to the SHA-256 fingerprint of the appliance's certificate (read it with: \
         openssl s_client -connect <appliance>:11005 </dev/null | openssl x509 -noout -fingerprint -sha256), \
         or VEEAM_CA_CERT to the PEM of the CA that signed it, or VEEAM_TLS_INSECURE=true to skip the check"
    )]
    NoTrust,
    #[error(
        "more than one of VEEAM_CERT_SHA256, VEEAM_CA_CERT and VEEAM_TLS_INSECURE=true is set; set exactly one"
    )]
    SeveralTrusts,
    #[error("the appliance client cannot be built from these settings: {0}")]
    Client(vbaws_client::Error),
    #[error("cannot build the HTTP client for the extension: {0}")]
    ExtensionClient(reqwest::Error),
}

/// Reads trimmed, non-empty values.
struct Environment<F>(F);

impl<F: Fn(&str) -> Option<String>> Environment<F> {
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn port(&self, variable: &'static str, default: u16) -> Result<u16, Misconfiguration> {
        let Some(value) = self.get(variable) else {
            return Ok(default);
        };
        value
            .parse()
            .ok()
            .filter(|p| *p > 0)
            .ok_or(Misconfiguration::NotAPort {
                variable,
                value,
                default,
            })
    }

    fn flag(&self, variable: &'static str) -> Result<bool, Misconfiguration> {
        match self.get(variable).map(|v| v.to_ascii_lowercase()) {
            None => Ok(false),
            Some(v) if v == "true" => Ok(true),
            Some(v) if v == "false" => Ok(false),
            Some(value) => Err(Misconfiguration::NotABoolean { variable, value }),
        }
    }

    /// `VEEAM_API_URL`, or the earlier `VEEAM_INSTANCE_IP` and `VEEAM_API_PORT`.
    fn api_url(&self) -> Result<String, Misconfiguration> {
        let url = match (self.get("VEEAM_API_URL"), self.get("VEEAM_INSTANCE_IP")) {
            (Some(url), _) => url,
            (None, Some(ip)) => {
                let port = self.port("VEEAM_API_PORT", DEFAULT_API_PORT)?;
                let host = if ip.contains(':') && !ip.starts_with('[') {
                    format!("[{ip}]")
                } else {
                    ip
                };
                format!("https://{host}:{port}")
            }
            (None, None) => return Err(Misconfiguration::NoApiUrl),
        };
        if url.starts_with("https://") {
            Ok(url)
        } else {
            Err(Misconfiguration::NotHttps(url))
        }
    }

    /// Exactly one of a pin, a CA bundle and insecure mode.
    fn trust(&self) -> Result<Trust, Misconfiguration> {
        let insecure = self.flag("VEEAM_TLS_INSECURE")?;
        match (self.get("VEEAM_CERT_SHA256"), self.get("VEEAM_CA_CERT"), insecure) {
            (Some(pin), None, false) => pin
                .parse::<Fingerprint>()
                .map(Trust::Pinned)
                .map_err(Misconfiguration::Fingerprint),
            (None, Some(pem), false) if pem.contains("-----BEGIN CERTIFICATE-----") => {
                Ok(Trust::CaBundle(pem))
            }
            (None, Some(_), false) => Err(Misconfiguration::NotPem),
            (None, None, true) => Ok(Trust::Insecure),
            (None, None, false) => Err(Misconfiguration::NoTrust),
            _ => Err(Misconfiguration::SeveralTrusts),
        }
    }
}

impl Appliance {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Misconfiguration> {
        let env = Environment(lookup);
        let api_url = env.api_url()?;
        let secret_id = env
            .get("SECRET_ID")
            .or_else(|| env.get("SECRET_NAME"))
            .ok_or(Misconfiguration::NoSecretId)?;
        Ok(Self {
            api_url,
            secret_id,
            api_version: env.get("VEEAM_API_VERSION"),
            trust: env.trust()?,
            extension_port: env.port("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", DEFAULT_EXTENSION_PORT)?,
            session_token: env.get("AWS_SESSION_TOKEN").map(Secret::new),
        })
    }
}

/// The environment variables read here, which the Lambdas template sets for every function
/// that reaches the appliance.
pub const VARIABLES: &[&str] = &[
    "VEEAM_API_URL",
    "SECRET_ID",
    "VEEAM_API_VERSION",
    "VEEAM_CERT_SHA256",
    "VEEAM_CA_CERT",
    "VEEAM_TLS_INSECURE",
    "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT",
];

/// Older spellings still read, so that stacks of earlier versions keep working.
pub const LEGACY_VARIABLES: &[&str] = &["VEEAM_INSTANCE_IP", "VEEAM_API_PORT", "SECRET_NAME"];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(pairs: &[(&str, &str)]) -> Result<Appliance, Misconfiguration> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Appliance::from_lookup(|name| env.get(name).cloned())
    }

    const PIN: &str =
        "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";

    #[test]
    fn the_legacy_ip_and_port_variables_still_work() {
        let settings = read(&[
            ("VEEAM_INSTANCE_IP", "10.0.1.20"),
            ("SECRET_NAME", "veeam"),
            ("VEEAM_CERT_SHA256", PIN),
        ])
        .expect("valid");
        assert_eq!(settings.api_url, "https://10.0.1.20:11005");
        assert_eq!(settings.secret_id, "veeam");
        assert_eq!(settings.extension_port, 2773);
        let settings = read(&[
            ("VEEAM_INSTANCE_IP", "10.0.1.20"),
            ("VEEAM_API_PORT", "8443"),
            ("SECRET_ID", "s"),
            ("VEEAM_TLS_INSECURE", "TRUE"),
        ])
        .expect("valid");
        assert_eq!(
            (settings.api_url.as_str(), settings.trust),
            ("https://10.0.1.20:8443", Trust::Insecure)
        );
    }

    #[test]
    fn every_problem_names_its_variable() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("SECRET_ID", "s"), ("VEEAM_CERT_SHA256", PIN)],
                "VEEAM_API_URL is not set",
            ),
            (
                &[
                    ("VEEAM_API_URL", "http://h:1"),
                    ("SECRET_ID", "s"),
                    ("VEEAM_CERT_SHA256", PIN),
                ],
                "must start with https://",
            ),
            (
                &[
                    ("VEEAM_INSTANCE_IP", "h"),
                    ("VEEAM_API_PORT", "eleven"),
                    ("SECRET_ID", "s"),
                ],
                "VEEAM_API_PORT is \"eleven\"; it must be a TCP port, 1 to 65535 (default 11005)",
            ),
            (
                &[("VEEAM_API_URL", "https://h:1"), ("VEEAM_CERT_SHA256", PIN)],
                "SECRET_ID is not set",
            ),
            (
                &[("VEEAM_API_URL", "https://h:1"), ("SECRET_ID", "s")],
                "openssl s_client -connect",
            ),
            (
                &[
                    ("VEEAM_API_URL", "https://h:1"),
                    ("SECRET_ID", "s"),
                    ("VEEAM_CERT_SHA256", "zz"),
                ],
                "VEEAM_CERT_SHA256 is wrong",
            ),
            (
                &[
                    ("VEEAM_API_URL", "https://h:1"),
                    ("SECRET_ID", "s"),
                    ("VEEAM_CA_CERT", "nope"),
                ],
                "VEEAM_CA_CERT must hold PEM",
            ),
            (
                &[
                    ("VEEAM_API_URL", "https://h:1"),
                    ("SECRET_ID", "s"),
                    ("VEEAM_TLS_INSECURE", "yes"),
                ],
                "VEEAM_TLS_INSECURE is \"yes\"",
            ),
            (
                &[
                    ("VEEAM_API_URL", "https://h:1"),
                    ("SECRET_ID", "s"),
                    ("VEEAM_CERT_SHA256", PIN),
                    ("VEEAM_TLS_INSECURE", "true"),
                ],
                "set exactly one",
            ),
            (
                &[
                    ("VEEAM_API_URL", "https://h:1"),
                    ("SECRET_ID", "s"),
                    ("VEEAM_CERT_SHA256", PIN),
                    ("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "0"),
                ],
                "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT is \"0\"",
            ),
        ];
        for (env, expected) in cases {
            let error = read(env).expect_err(expected).to_string();
            assert!(error.contains(expected), "{expected}: {error}");
        }
    }
}
