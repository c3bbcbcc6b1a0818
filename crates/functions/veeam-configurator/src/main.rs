use std::time::Duration;

use veeam_configurator::{Configurator, Settings};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    vbaws_lambda::init_tracing();
    let configurator = Configurator::new(Settings::from_lookup(|name| std::env::var(name).ok()));
    // The appliance and IAM propagation can be slow, so the answer keeps a wider margin.
    let config = vbaws_cfn::Config {
        safety_margin: Duration::from_secs(8),
        ..vbaws_cfn::Config::from_env()
    };
    vbaws_cfn::run(configurator, config).await
}
