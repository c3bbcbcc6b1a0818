//! The AWS SDK's configuration, one way for every part of the project: the default credential
//! and Region chain (which honours `AWS_ENDPOINT_URL`, how tests point it at moto), on rustls
//! with ring (no aws-lc, no OpenSSL), optionally through a named profile and then an assumed role.
//!
//! The operator commands add [`signed_in`]: the credentials are resolved once, before any call,
//! so that an expired IAM Identity Center session or a misspelt profile is one sentence that says
//! what to run, not the same dispatch failure repeated by every call. Profiles that sign in
//! through IAM Identity Center or a `credential_process` need the `sign-in` feature.

use std::borrow::Cow;

pub use aws_config::SdkConfig;

use aws_config::{BehaviorVersion, ConfigLoader, Region, sts::AssumeRoleProvider};
use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// Whose credentials, where.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// The Region; the chain's (`AWS_REGION`, the profile's) when `None`.
    pub region: Option<String>,
    /// A named profile; the chain's (`AWS_PROFILE`, `default`) when `None`.
    pub profile: Option<String>,
    /// A role to assume with those credentials.
    pub role_arn: Option<String>,
    /// The assumed role's session name, which CloudTrail shows ("vbaws" when `None`).
    pub session_name: Option<&'static str>,
    /// Every call to this endpoint instead of AWS's (a local stand-in such as moto).
    pub endpoint: Option<String>,
}

/// Why the credentials cannot be loaded, with what to do. The SDK's own cause comes first.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "the profile {profile} signs in through IAM Identity Center and has no valid session ({cause}): \
         run `aws sso login --profile {profile}`, then this command again"
    )]
    SsoSession { profile: String, cause: String },
    #[error(
        "there is no profile {profile} in the AWS config and credentials files ({cause}): \
         `aws configure list-profiles` lists them, `aws configure sso` adds one"
    )]
    NoProfile { profile: String, cause: String },
    #[error(
        "the credential_process of the profile {profile} failed ({cause}): run it by hand to see \
         why; it must print the credentials as JSON"
    )]
    Process { profile: String, cause: String },
    #[error(
        "no AWS credentials could be loaded for {who} ({cause}): give --profile, or set \
         AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )]
    Credentials { who: String, cause: String },
    #[error(
        "the role {role_arn} cannot be assumed ({cause}): its trust policy must allow the \
         signed-in principal, and that principal sts:AssumeRole on it"
    )]
    AssumeRole { role_arn: String, cause: String },
}

/// The SDK's HTTPS client on rustls with ring: every AWS client of the project uses it.
pub fn https_client() -> SharedHttpClient {
    use aws_smithy_http_client::{Builder, tls};
    Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
        .build_https()
}

/// A loader for `access` without its role: rustls on ring, the Region, profile and endpoint.
/// Callers add what only they need (timeouts, a credentials provider).
pub fn loader(access: &Access) -> ConfigLoader {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(https_client());
    if let Some(region) = &access.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &access.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(endpoint) = &access.endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    loader
}

/// The configuration of a function's AWS clients: the default credential and Region chain
/// (which honours `AWS_ENDPOINT_URL` and its per-service variants, how tests point it at local
/// stand-ins), with timeouts short enough that an unreachable endpoint is reported well within
/// the function's time budget. Loaded once per sandbox, at the first call that needs it.
pub async fn in_function() -> &'static SdkConfig {
    static CONFIG: tokio::sync::OnceCell<SdkConfig> = tokio::sync::OnceCell::const_new();
    CONFIG
        .get_or_init(|| async {
            let timeouts = aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(std::time::Duration::from_secs(3))
                .operation_attempt_timeout(std::time::Duration::from_secs(5))
                .build();
            loader(&Access::default()).timeout_config(timeouts).load().await
        })
        .await
}

/// The configuration `access` describes, credentials resolved lazily (by the first call).
pub async fn config(access: &Access) -> SdkConfig {
    let base = loader(access).load().await;
    match &access.role_arn {
        Some(role) => assumed(access, role, &base).await,
        None => base,
    }
}

/// The configuration `access` describes, once its credentials (the profile's, then the role's)
/// have been loaded: for a command a person runs, which should fail once and clearly.
pub async fn signed_in(access: &Access) -> Result<SdkConfig, Error> {
    let base = loader(access).load().await;
    if let Err(cause) = resolve(&base).await {
        return Err(explain(access, cause).await);
    }
    let Some(role) = &access.role_arn else {
        return Ok(base);
    };
    let config = assumed(access, role, &base).await;
    match resolve(&config).await {
        Ok(()) => Ok(config),
        Err(cause) => Err(Error::AssumeRole {
            role_arn: role.clone(),
            cause,
        }),
    }
}

async fn assumed(access: &Access, role: &str, base: &SdkConfig) -> SdkConfig {
    let provider = AssumeRoleProvider::builder(role)
        .session_name(access.session_name.unwrap_or("vbaws"))
        .configure(base)
        .build()
        .await;
    loader(access).credentials_provider(provider).load().await
}

/// Loads the credentials once; the error's causes as one line.
async fn resolve(config: &SdkConfig) -> Result<(), String> {
    let provider = config
        .credentials_provider()
        .ok_or_else(|| "no credentials provider is configured".to_owned())?;
    provider
        .provide_credentials()
        .await
        .map(drop)
        .map_err(|error| causes(&error))
}

/// What the profile in use is, read from the same files the SDK read, to say how to sign in.
async fn explain(access: &Access, cause: String) -> Error {
    use aws_config::profile::parser::load;
    use aws_runtime::env_config::file::EnvConfigFiles;
    use aws_types::os_shim_internal::{Env, Fs};
    let chosen = access.profile.clone().map(Cow::Owned);
    let Ok(profiles) = load(&Fs::real(), &Env::real(), &EnvConfigFiles::default(), chosen).await else {
        return Error::Credentials {
            who: who(access),
            cause,
        };
    };
    let name = profiles.selected_profile().to_owned();
    match profiles.get_profile(&name) {
        None if access.profile.is_some() => Error::NoProfile { profile: name, cause },
        Some(profile)
            if profile
                .get("sso_session")
                .or(profile.get("sso_start_url"))
                .is_some() =>
        {
            Error::SsoSession { profile: name, cause }
        }
        Some(profile) if profile.get("credential_process").is_some() => {
            Error::Process { profile: name, cause }
        }
        _ => Error::Credentials {
            who: who(access),
            cause,
        },
    }
}

fn who(access: &Access) -> String {
    match &access.profile {
        Some(profile) => format!("the profile {profile}"),
        None => "the default credential chain".to_owned(),
    }
}

/// An error and its sources, each said once (the SDK wraps the same sentence several times).
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut said: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(error) = next {
        let text = error.to_string();
        if said.last() != Some(&text) {
            said.push(text);
        }
        next = error.source();
    }
    said.join(": ")
}
