//! What the functions that talk to the appliance share: how to reach it ([`Appliance`], read from
//! the environment the Lambdas template sets), the appliance user's credentials from Secrets
//! Manager ([`CredentialsSource`]: the Parameters and Secrets extension first, the SDK when it
//! does not answer, the SDK again past its cache when the appliance refused them), and the
//! client built from both ([`Appliance::client`]). The configurator and the scheduled
//! reconciler use it alike; neither depends on the other.

mod credentials;
mod settings;

pub use credentials::{CredentialsError, CredentialsSource, ExtensionUnavailable};
pub use settings::{Appliance, LEGACY_VARIABLES, Misconfiguration, VARIABLES};

use vbaws_client::{Client, Credentials};

impl Appliance {
    /// A client of the appliance with these settings, logging in with `credentials` at its
    /// first request.
    pub fn client(&self, credentials: Credentials) -> Result<Client, vbaws_client::Error> {
        let mut builder = Client::builder(&self.api_url)
            .trust(self.trust.clone())
            .credentials(credentials);
        if let Some(revision) = &self.api_version {
            builder = builder.api_version(revision);
        }
        builder.build()
    }
}
