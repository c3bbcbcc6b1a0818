//! The appliance user's credentials, from Secrets Manager.
//!
//! First through the AWS Parameters and Secrets Lambda Extension on localhost, which caches the
//! secret inside the sandbox. When no extension answers at all (not deployed with the layer),
//! through the AWS SDK's GetSecretValue. The SDK is also how a cached, outdated secret is
//! bypassed after the appliance refused it: the extension would answer from its cache.

use std::{sync::Arc, time::Duration};

use aws_sdk_secretsmanager::{
    error::{DisplayErrorContext, ProvideErrorMetadata, SdkError},
    operation::get_secret_value::GetSecretValueError,
};
use serde::Deserialize;
use tokio::{sync::OnceCell, time::Instant};
use tracing::{info, warn};
use vbaws_client::{Credentials, Secret};

use crate::Appliance;

/// How long a cold sandbox waits for the extension to start listening.
const EXTENSION_WARM_UP: Duration = Duration::from_millis(1500);

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("the Parameters and Secrets extension answered HTTP {status} for secret {secret_id}: {hint}")]
    Extension {
        status: u16,
        secret_id: String,
        hint: &'static str,
    },
    #[error("Secrets Manager's GetSecretValue failed for secret {secret_id}: {detail}")]
    Sdk { secret_id: String, detail: String },
    #[error(
        "secret {secret_id} {problem}; it must hold JSON like {{\"username\": \"…\", \"password\": \"…\"}}"
    )]
    Shape {
        secret_id: String,
        problem: &'static str,
    },
    #[error("reading secret {secret_id} did not finish within the time budget")]
    Timeout { secret_id: String },
    /// The extension could not be used, and the SDK, tried instead, failed too: both causes,
    /// the first one first.
    #[error("{extension}; reading the secret with the AWS SDK instead failed too: {sdk}")]
    ExtensionAndSdk {
        extension: ExtensionUnavailable,
        sdk: Box<CredentialsError>,
    },
}

/// Why the extension was passed over for the SDK.
#[derive(Debug, thiserror::Error)]
pub enum ExtensionUnavailable {
    #[error(
        "no Parameters and Secrets extension answered on localhost:{port} (is its layer attached to the function, and PARAMETERS_SECRETS_EXTENSION_HTTP_PORT right?)"
    )]
    NotListening { port: u16 },
    #[error("the Parameters and Secrets extension's answer could not be read ({0})")]
    Unreadable(String),
}

/// Where credentials come from.
#[derive(Debug)]
pub struct CredentialsSource {
    secret_id: String,
    extension_port: u16,
    extension_url: String,
    session_token: Option<Secret>,
    http: reqwest::Client,
    sdk: OnceCell<aws_sdk_secretsmanager::Client>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SecretValue {
    secret_string: Option<String>,
}

impl CredentialsSource {
    pub fn new(appliance: &Appliance) -> Result<Self, reqwest::Error> {
        // The extension speaks plain HTTP on localhost; the TLS configuration is never used.
        let tls =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map(|b| {
                    b.with_root_certificates(rustls::RootCertStore::empty())
                        .with_no_client_auth()
                });
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(5));
        if let Ok(tls) = tls {
            builder = builder.tls_backend_preconfigured(tls);
        }
        Ok(Self {
            secret_id: appliance.secret_id.clone(),
            extension_port: appliance.extension_port,
            extension_url: format!("http://localhost:{}/secretsmanager/get", appliance.extension_port),
            session_token: appliance.session_token.clone(),
            http: builder.build()?,
            sdk: OnceCell::new(),
        })
    }

    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    /// The credentials as the extension has them (possibly cached), or from Secrets Manager
    /// when no extension runs.
    pub async fn current(&self, deadline: Instant) -> Result<Credentials, CredentialsError> {
        match self.read_extension(deadline).await? {
            Ok(text) => self.parse(&text),
            Err(extension) => {
                info!(%extension, "reading the secret with the AWS SDK");
                self.fresh(deadline)
                    .await
                    .map_err(|sdk| CredentialsError::ExtensionAndSdk {
                        extension,
                        sdk: Box::new(sdk),
                    })
            }
        }
    }

    /// The credentials straight from Secrets Manager, bypassing the extension's cache.
    pub async fn fresh(&self, deadline: Instant) -> Result<Credentials, CredentialsError> {
        let sdk = self
            .sdk
            .get_or_init(|| async { aws_sdk_secretsmanager::Client::new(vbaws_sdk::in_function().await) })
            .await;
        let call = sdk.get_secret_value().secret_id(&self.secret_id).send();
        let output = tokio::time::timeout_at(deadline, call)
            .await
            .map_err(|_| CredentialsError::Timeout {
                secret_id: self.secret_id.clone(),
            })?
            .map_err(|e| CredentialsError::Sdk {
                secret_id: self.secret_id.clone(),
                detail: sdk_detail(&e),
            })?;
        let text = output
            .secret_string()
            .ok_or_else(|| self.shape("holds no SecretString (binary secrets are not supported)"))?;
        self.parse(text)
    }

    /// The SecretString from the extension; an inner error when the extension cannot be used
    /// (nothing listens on its port, or its answer broke off), so the SDK is tried instead.
    async fn read_extension(
        &self,
        deadline: Instant,
    ) -> Result<Result<String, ExtensionUnavailable>, CredentialsError> {
        let warm_up_ends = Instant::now() + EXTENSION_WARM_UP;
        loop {
            let mut request = self
                .http
                .get(&self.extension_url)
                .query(&[("secretId", &self.secret_id)]);
            if let Some(token) = &self.session_token {
                request = request.header("X-Aws-Parameters-Secrets-Token", token.expose());
            }
            let answer = tokio::time::timeout_at(deadline, request.send())
                .await
                .map_err(|_| CredentialsError::Timeout {
                    secret_id: self.secret_id.clone(),
                })?;
            match answer {
                Ok(response) if response.status().is_success() => {
                    let body: SecretValue = response
                        .json()
                        .await
                        .map_err(|_| self.shape("could not be read from the extension's answer"))?;
                    return body.secret_string.map(Ok).ok_or_else(|| {
                        self.shape("holds no SecretString (binary secrets are not supported)")
                    });
                }
                Ok(response) => {
                    let status = response.status().as_u16();
                    return Err(CredentialsError::Extension {
                        status,
                        secret_id: self.secret_id.clone(),
                        hint: extension_hint(status),
                    });
                }
                Err(error) if error.is_connect() && Instant::now() < warm_up_ends.min(deadline) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) if error.is_connect() => {
                    return Ok(Err(ExtensionUnavailable::NotListening {
                        port: self.extension_port,
                    }));
                }
                Err(error) => {
                    warn!("the extension's answer could not be read");
                    return Ok(Err(ExtensionUnavailable::Unreadable(error.to_string())));
                }
            }
        }
    }

    fn parse(&self, text: &str) -> Result<Credentials, CredentialsError> {
        Credentials::from_secret_json(text).map_err(|problem| self.shape(problem))
    }

    fn shape(&self, problem: &'static str) -> CredentialsError {
        CredentialsError::Shape {
            secret_id: self.secret_id.clone(),
            problem,
        }
    }
}

fn extension_hint(status: u16) -> &'static str {
    match status {
        400 => "the secret ID was refused; check SECRET_ID",
        403 => {
            "access denied; the function's role needs secretsmanager:GetSecretValue on the secret (and kms:Decrypt when a customer managed key encrypts it)"
        }
        404 => "no such secret; check SECRET_ID and that the secret is in this account and Region",
        _ => "the extension could not read the secret; see its log lines in the function's log group",
    }
}

/// What went wrong, in a line an operator can act on; the SDK's full chain only where nothing
/// shorter says it.
fn sdk_detail(error: &SdkError<GetSecretValueError>) -> String {
    match error {
        SdkError::DispatchFailure(failure) if failure.is_io() || failure.is_timeout() => {
            "Secrets Manager could not be reached (the function's subnets need a route to it: the Lambdas stack's SecretsManagerPath, an interface endpoint or a NAT)".to_owned()
        }
        SdkError::TimeoutError(_) => "Secrets Manager did not answer in time".to_owned(),
        SdkError::ServiceError(service) => {
            let error = service.err();
            format!(
                "{}: {}",
                error.code().unwrap_or("error"),
                error.message().unwrap_or("no message")
            )
        }
        other => DisplayErrorContext(other).to_string(),
    }
}
