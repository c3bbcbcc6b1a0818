//! The AWS clients: the backup account's, and the Organization's (the management or
//! delegated-administrator account), each from the default chain or a named profile.

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// Clients for the two accounts the preflight reads.
#[derive(Debug, Clone)]
pub struct Aws {
    pub ec2: aws_sdk_ec2::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub organizations: aws_sdk_organizations::Client,
}

impl Aws {
    /// `profile` names the backup account's profile, `org_profile` the Organization's (the
    /// backup account's when `None`). `endpoint` points every client at one local stand-in.
    pub async fn new(
        region: &str,
        profile: Option<&str>,
        org_profile: Option<&str>,
        endpoint: Option<&str>,
    ) -> Self {
        let backup = config(region, profile, endpoint).await;
        let org = match org_profile {
            Some(_) => config(region, org_profile, endpoint).await,
            None => backup.clone(),
        };
        Self {
            ec2: aws_sdk_ec2::Client::new(&backup),
            lambda: aws_sdk_lambda::Client::new(&backup),
            cloudformation: aws_sdk_cloudformation::Client::new(&backup),
            secrets: aws_sdk_secretsmanager::Client::new(&backup),
            organizations: aws_sdk_organizations::Client::new(&org),
        }
    }
}

/// The default chain on rustls with ring; `AWS_ENDPOINT_URL` is honoured as well.
async fn config(region: &str, profile: Option<&str>, endpoint: Option<&str>) -> SdkConfig {
    use aws_smithy_http_client::{Builder, tls};
    let http = Builder::new()
        .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .region(Region::new(region.to_owned()));
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

/// An SDK error as one line: the service's code and message when it sent them.
pub(crate) fn describe<E, R>(error: &aws_sdk_ec2::error::SdkError<E, R>) -> String
where
    E: aws_sdk_ec2::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_ec2::error::ProvideErrorMetadata;
    match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => {
            let mut text = error.to_string();
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                text = format!("{text}: {cause}");
                source = cause.source();
            }
            text
        }
    }
}
