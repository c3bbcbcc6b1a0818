use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use vbaws_reconciler::{Reconciler, Settings};
use vbaws_sdk::Access;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    vbaws_lambda::init_tracing();
    let settings = Settings::from_lookup(|name| std::env::var(name).ok());
    let role_arn = settings.as_ref().ok().and_then(|s| s.reader_role_arn.clone());
    let aws = vbaws_sdk::config(&Access {
        role_arn,
        session_name: Some("vbaws-reconciler"),
        ..Access::default()
    })
    .await;
    let reconciler = Reconciler::new(settings, &aws);
    let timing = vbaws_lambda::Timing::default();
    // The scheduled event carries nothing the run needs; only its deadline counts.
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let deadline = vbaws_lambda::work_deadline(event.context.deadline, &timing);
        let reconciler = &reconciler;
        async move { reconciler.run(deadline).await }
    }))
    .await
}
