//! The AWS SDK's configuration for the reconciler: the default chain (which honours
//! `AWS_ENDPOINT_URL`, how tests point it at moto), on rustls with ring, optionally through a
//! named profile and then an assumed role (an Organization reader in the management account).

pub use aws_config::SdkConfig;

use aws_config::{BehaviorVersion, ConfigLoader, Region, sts::AssumeRoleProvider};

/// Whose credentials, where.
#[derive(Debug, Clone, Default)]
pub struct Access {
    pub region: Option<String>,
    pub profile: Option<String>,
    /// A role to assume with those credentials.
    pub role_arn: Option<String>,
}

/// The SDK configuration `access` describes.
pub async fn config(access: &Access) -> SdkConfig {
    let loader = || {
        use aws_smithy_http_client::{Builder, tls};
        let mut loader: ConfigLoader = aws_config::defaults(BehaviorVersion::latest()).http_client(
            Builder::new()
                .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::Ring))
                .build_https(),
        );
        if let Some(region) = &access.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(profile) = &access.profile {
            loader = loader.profile_name(profile);
        }
        loader
    };
    let config = loader().load().await;
    let Some(role) = &access.role_arn else {
        return config;
    };
    let provider = AssumeRoleProvider::builder(role)
        .session_name("vbaws-reconcile")
        .configure(&config)
        .build()
        .await;
    loader().credentials_provider(provider).load().await
}
