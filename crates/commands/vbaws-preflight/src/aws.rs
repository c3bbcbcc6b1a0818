//! The AWS clients: the backup account's, and the Organization's (the management or
//! delegated-administrator account), each from the default chain or a named profile.

use vbaws_sdk::Access;

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
    /// Each account's credentials are loaded first: a profile that cannot sign in is one error.
    pub async fn new(
        region: &str,
        profile: Option<&str>,
        org_profile: Option<&str>,
        endpoint: Option<&str>,
    ) -> Result<Self, vbaws_sdk::Error> {
        let access = |profile: Option<&str>| Access {
            region: Some(region.to_owned()),
            profile: profile.map(str::to_owned),
            endpoint: endpoint.map(str::to_owned),
            ..Access::default()
        };
        let backup = vbaws_sdk::signed_in(&access(profile)).await?;
        let org = match org_profile {
            Some(_) => vbaws_sdk::signed_in(&access(org_profile)).await?,
            None => backup.clone(),
        };
        Ok(Self {
            ec2: aws_sdk_ec2::Client::new(&backup),
            lambda: aws_sdk_lambda::Client::new(&backup),
            cloudformation: aws_sdk_cloudformation::Client::new(&backup),
            secrets: aws_sdk_secretsmanager::Client::new(&backup),
            organizations: aws_sdk_organizations::Client::new(&org),
        })
    }
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
