//! Lambda: the extension layer exists in the Region, and the account's concurrency has room.

use crate::{Aws, Check, Plan, aws::describe};

/// Lambda keeps this many executions of the account's quota unreserved.
const UNRESERVED_MINIMUM: i32 = 100;

pub(crate) async fn layer(aws: &Aws, plan: &Plan) -> Check {
    const NAME: &str = "extension-layer";
    let Some(arn) = &plan.layer_arn else {
        return Check::fail(
            NAME,
            format!(
                "lambdas.yaml knows no Parameters and Secrets extension layer for {}",
                plan.region
            ),
            "give --layer-arn (and ExtensionLayerArn to the stack) with the arm64 layer of this Region",
        );
    };
    let Some((name, version)) = arn
        .rsplit_once(':')
        .and_then(|(n, v)| Some((n, v.parse::<i64>().ok()?)))
    else {
        return Check::fail(
            NAME,
            format!("{arn} is not a layer version ARN"),
            "end the ARN with :<version>",
        );
    };
    match aws
        .lambda
        .get_layer_version()
        .layer_name(name)
        .version_number(version)
        .send()
        .await
    {
        Ok(found) => {
            let arm64 = found
                .compatible_architectures()
                .iter()
                .any(|a| a.as_str() == "arm64");
            if found.compatible_architectures().is_empty() || arm64 {
                Check::pass(NAME, format!("{arn} exists"))
            } else {
                Check::fail(
                    NAME,
                    format!("{arn} is not built for arm64"),
                    "use the -Arm64 layer: the functions run on arm64",
                )
            }
        }
        Err(error) => Check::fail(
            NAME,
            format!("{arn}: {}", describe(&error)),
            "find the current version of the arm64 layer for this Region in AWS's list of Parameters and Secrets extension ARNs, and give it as ExtensionLayerArn",
        ),
    }
}

pub(crate) async fn concurrency(aws: &Aws, plan: &Plan) -> Check {
    const NAME: &str = "concurrency";
    if plan.reserved_concurrency == 0 {
        return Check::pass(NAME, "no reserved concurrency asked for");
    }
    // moto does not answer GetAccountSettings; the check is then a skip that says so.
    let settings = match aws.lambda.get_account_settings().send().await {
        Ok(settings) => settings,
        Err(error) => {
            return Check::skip(
                NAME,
                format!("cannot read the account's Lambda settings ({})", describe(&error)),
            )
            .with_fix("check Service Quotas > Lambda > Concurrent executions");
        }
    };
    let unreserved = settings
        .account_limit()
        .and_then(|l| l.unreserved_concurrent_executions())
        .unwrap_or_default();
    verdict(unreserved, plan.reserved_concurrency)
}

/// Whether reserving `wanted` leaves Lambda its unreserved minimum.
fn verdict(unreserved: i32, wanted: i32) -> Check {
    const NAME: &str = "concurrency";
    if unreserved - wanted >= UNRESERVED_MINIMUM {
        Check::pass(
            NAME,
            format!(
                "{unreserved} unreserved executions; reserving {wanted} leaves {}",
                unreserved - wanted
            ),
        )
    } else {
        Check::fail(
            NAME,
            format!(
                "{unreserved} unreserved executions: reserving {wanted} would leave fewer than the {UNRESERVED_MINIMUM} Lambda keeps"
            ),
            format!(
                "deploy with RESERVED_CONCURRENCY=0, or raise the account's quota until {} executions are unreserved (Service Quotas > Lambda > Concurrent executions)",
                wanted + UNRESERVED_MINIMUM
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;

    #[test]
    fn a_reservation_must_leave_a_hundred_unreserved() {
        assert_eq!(verdict(1000, 10).status, Status::Pass);
        assert_eq!(verdict(110, 10).status, Status::Pass);
        assert_eq!(verdict(109, 10).status, Status::Fail);
        // A new account with a quota of 50.
        let check = verdict(50, 10);
        assert_eq!(check.status, Status::Fail);
        assert!(
            check
                .fix
                .as_deref()
                .unwrap_or_default()
                .contains("RESERVED_CONCURRENCY=0")
        );
    }
}
