use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use vbaws_reconciler::{Reconciler, Settings};
use vbaws_sdk::Access;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    vbaws_cfn::init_tracing();
    let settings = Settings::from_lookup(|name| std::env::var(name).ok());
    let role_arn = settings.as_ref().ok().and_then(|s| s.reader_role_arn.clone());
    let aws = vbaws_sdk::config(&Access {
        role_arn,
        session_name: Some("vbaws-reconciler"),
        ..Access::default()
    })
    .await;
    let reconciler = Reconciler::new(settings, &aws);
    let config = vbaws_cfn::Config::from_env();
    // The scheduled event carries nothing the run needs; only its deadline counts.
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let deadline = vbaws_cfn::work_deadline(event.context.deadline, &config);
        let reconciler = &reconciler;
        async move { reconciler.run(deadline).await }
    }))
    .await
}
