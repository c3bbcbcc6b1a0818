use random_ext_id::ExtIdGenerator;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    vbaws_lambda::init_tracing();
    vbaws_cfn::run(ExtIdGenerator, vbaws_cfn::Config::from_env()).await
}
