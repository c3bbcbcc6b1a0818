//! What the functions return and publish fits what the templates do with it: the longest
//! external IDs in the largest roles stack stay within IAM's limits, and the alarms watch
//! metrics the functions publish.

use vbaws_template::limits;

use crate::support::{ALL_SERVICES, template, walk_roles_stack};

/// The roles stack with every service and each name, path and external ID at the longest its
/// parameters allow.
#[tokio::test]
async fn the_largest_roles_stack_fits_iam() {
    let path = format!("/{}/", "p".repeat(510));
    let (stack, _) = walk_roles_stack(&[
        ("Services", ALL_SERVICES),
        ("RolePath", &path),
        ("Ec2RoleName", &"e".repeat(64)),
        ("WorkerRoleName", &"w".repeat(64)),
        ("ServiceRoleNamePrefix", &"s".repeat(40)),
        ("EventReaderRoleName", &"r".repeat(64)),
        ("ExternalIdLength", "1224"),
        ("WorkerNetwork", "Parameters"),
        ("WorkerConfigurationRoleName", &"c".repeat(64)),
    ])
    .await;
    let breaches = limits::created("roles.yaml", &stack.aws_resources());
    assert!(breaches.is_empty(), "{breaches:#?}");
}

#[test]
fn the_alarms_watch_the_metrics_the_functions_publish() {
    let lambdas = template("lambdas.yaml");
    let watched: Vec<(String, String)> = lambdas
        .resources()
        .filter(|r| r.resource_type == "AWS::CloudWatch::Alarm")
        .filter(|r| r.properties["Namespace"] == veeam_configurator::METRICS_NAMESPACE)
        .map(|r| {
            (
                r.properties["Dimensions"][0]["Value"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                r.properties["MetricName"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let configurator_failed = veeam_configurator::Effect::Failed.metric().expect("counted");
    assert!(
        watched.contains(&("veeam-configurator".to_owned(), configurator_failed.to_owned())),
        "{watched:?}"
    );
    let drift = vbaws_reconciler::Summary {
        checked: 1,
        drift: vbaws_reconcile::Drift::default(),
        accounts: Vec::new(),
        fixed: None,
    };
    let published: Vec<&str> = drift.metrics().into_iter().map(|(name, _)| name).collect();
    for (function, metric) in watched.iter().filter(|(f, _)| f == "vbaws-reconciler") {
        assert!(
            published.contains(&metric.as_str()),
            "{function} publishes no {metric}"
        );
    }
    assert!(
        watched.iter().any(|(f, _)| f == "vbaws-reconciler"),
        "{watched:?}"
    );
}
