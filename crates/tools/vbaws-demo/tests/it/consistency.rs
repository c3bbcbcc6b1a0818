//! The templates and the functions agree: the properties CloudFormation sends are ones the
//! functions accept, every attribute the templates read is one the functions return, and every
//! environment variable the functions read is set by the Lambdas template.

use std::path::Path;

use crate::support::{ALL_SERVICES, CONFIGURATOR_ROLE, template, walk_roles_stack};

#[tokio::test]
async fn the_functions_accept_the_properties_of_every_custom_resource() {
    let (_, custom) = walk_roles_stack(&[]).await;
    assert_eq!(
        custom, 4,
        "EC2 by default: two external IDs and two registrations"
    );
    let (stack, custom) = walk_roles_stack(&[
        ("Services", ALL_SERVICES),
        ("RolePath", "/veeam/"),
        ("OnDelete", "Retain"),
        ("ExternalIdLength", "64"),
        ("WorkerNetwork", "Parameters"),
    ])
    .await;
    assert_eq!(
        custom, 21,
        "an external ID and a registration per role (EC2, worker, 7 services, worker configuration), and the worker configuration"
    );
    assert_eq!(
        stack.aws_resources().len() + custom,
        template("roles.yaml").resources().count(),
        "every resource is created with every service"
    );
}

/// The worker network is read from the account's Parameter Store only when it is asked for: an
/// account without the parameters deploys as before, and fails by name when they are needed.
#[tokio::test]
async fn the_worker_network_parameters_are_read_only_when_worker_network_is_parameters() {
    use vbaws_template::Stack;
    let roles = std::sync::Arc::new(template("roles.yaml"));
    let parameters = |worker_network| {
        [
            ("HomeRegion", "us-east-1"),
            (
                "VeeamApplianceRoleArn",
                "arn:aws:iam::111111111111:role/VeeamBackupInstance",
            ),
            (
                "RandomExtIdFunctionArn",
                "arn:aws:lambda:us-east-1:111111111111:function:r",
            ),
            (
                "VeeamConfiguratorFunctionArn",
                "arn:aws:lambda:us-east-1:111111111111:function:c",
            ),
            ("ConfiguratorRoleArn", CONFIGURATOR_ROLE),
            ("WorkerNetwork", worker_network),
        ]
    };
    let mut without = Stack::new(
        roles.clone(),
        crate::support::ACCOUNT,
        "us-east-1",
        "s",
        &parameters("None"),
    );
    assert_eq!(
        without.create(&crate::support::Functions).await.expect("created"),
        4
    );
    let mut missing = Stack::new(
        roles,
        crate::support::ACCOUNT,
        "us-east-1",
        "s",
        &parameters("Parameters"),
    );
    let error = missing
        .create(&crate::support::Functions)
        .await
        .expect_err("no parameters")
        .to_string();
    assert!(
        error.contains("SSM parameter /vbaws/workers/availability-zone does not exist"),
        "{error}"
    );
}

#[tokio::test]
async fn every_service_has_its_role_its_external_id_and_its_registration() {
    let (stack, _) = walk_roles_stack(&[("Services", ALL_SERVICES)]).await;
    let mut purposes: Vec<(String, String)> = Vec::new();
    for (id, resource_type, properties) in stack.aws_resources() {
        // The configurator's, not the appliance's (see the next test).
        if resource_type == "AWS::IAM::Role" && id != "EventReaderRole" {
            let trust = &properties["AssumeRolePolicyDocument"]["Statement"][0];
            assert!(
                trust["Condition"]["StringEquals"]["sts:ExternalId"]
                    .as_str()
                    .is_some_and(|e| e.len() == 32),
                "{id} trusts the appliance under its external ID: {trust}"
            );
            purposes.push((
                id.clone(),
                properties["RoleName"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    let mut names: Vec<&str> = purposes.iter().map(|(_, name)| name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "VeeamBackup-dynamodb",
            "VeeamBackup-efs",
            "VeeamBackup-fsx",
            "VeeamBackup-rds",
            "VeeamBackup-redshift",
            "VeeamBackup-redshift-serverless",
            "VeeamBackup-vpc",
            "VeeamBackupRestoreRole",
            "VeeamWorkerRole",
        ]
    );
    let template = template("roles.yaml");
    let parameters = [("Services", ALL_SERVICES)];
    let mut declared = vbaws_reconcile::declared_purposes(&template, &parameters);
    declared.sort();
    let mut expected: Vec<&str> = ALL_SERVICES.split(',').chain(["worker"]).collect();
    expected.sort();
    assert_eq!(
        declared, expected,
        "the reconciliation expects one registration per role"
    );
    assert_eq!(
        vbaws_reconcile::declared_purposes(&template, &[]),
        ["ec2", "worker"]
    );
    assert_eq!(
        vbaws_reconcile::declared_purposes(&template, &[("WorkerNetwork", "Parameters")]),
        ["ec2", "worker", "worker-config"]
    );
}

#[test]
fn every_attribute_read_from_a_custom_resource_is_one_the_function_returns() {
    let roles = template("roles.yaml");
    let mut checked = 0;
    for (resource, attribute) in roles.get_atts() {
        let returned = match roles.resource(&resource).map(|r| r.resource_type) {
            Some("Custom::RandomExtIdGenerator") => random_ext_id::DATA_KEYS,
            Some("Custom::VeeamAwsConfigurator") => veeam_configurator::DATA_KEYS,
            Some("Custom::VeeamWorkerConfiguration") => veeam_configurator::WORKER_DATA_KEYS,
            _ => continue,
        };
        assert!(
            returned.contains(&attribute.as_str()),
            "{resource}.{attribute} is not returned (only {returned:?})"
        );
        checked += 1;
    }
    assert!(
        checked >= 6,
        "the roles read the external IDs and the registrations' names"
    );
}

#[test]
fn every_variable_the_functions_read_is_set_by_the_lambdas_template() {
    let lambdas = template("lambdas.yaml");
    let set = |suffix: &str| -> Vec<String> {
        let function = lambdas
            .resources()
            .find(|r| {
                r.resource_type == "AWS::Lambda::Function"
                    && r.properties["FunctionName"]["Fn::Sub"]
                        .as_str()
                        .is_some_and(|n| n.ends_with(suffix))
            })
            .unwrap_or_else(|| panic!("no function named *{suffix}"));
        function.properties["Environment"]["Variables"]
            .as_object()
            .map(|v| v.keys().cloned().collect())
            .unwrap_or_default()
    };
    let ext_id = set("-random-ext-id");
    let configurator = set("-veeam-configurator");
    for variable in vbaws_cfn::VARIABLES {
        assert!(
            ext_id.iter().any(|v| v == variable),
            "random-ext-id: {variable} is not set"
        );
        assert!(
            configurator.iter().any(|v| v == variable),
            "veeam-configurator: {variable} is not set"
        );
    }
    for variable in veeam_configurator::VARIABLES
        .iter()
        .chain(veeam_configurator::CONFIRMATION_VARIABLES)
    {
        assert!(
            configurator.iter().any(|v| v == variable),
            "veeam-configurator: {variable} is not set"
        );
    }
    let reconciler = set("-vbaws-reconciler");
    for variable in veeam_configurator::VARIABLES
        .iter()
        .chain(vbaws_reconciler::VARIABLES)
    {
        assert!(
            reconciler.iter().any(|v| v == variable),
            "vbaws-reconciler: {variable} is not set"
        );
    }
    for legacy in veeam_configurator::LEGACY_VARIABLES {
        assert!(
            !configurator.iter().any(|v| v == legacy),
            "{legacy} is only for stacks of earlier versions"
        );
    }
}

/// The confirmation holds together: every registration depends on the event reader role (so
/// the role exists before the first Create and after the last Delete), the role trusts exactly
/// the configurator's execution role and reads exactly its own stack, and the names the
/// Lambdas template gives the configurator are the ones the roles StackSet gets.
#[tokio::test]
async fn every_registration_can_be_confirmed_from_its_first_event_to_its_last() {
    let (stack, _) = walk_roles_stack(&[("Services", ALL_SERVICES)]).await;
    let roles = template("roles.yaml");
    for (id, resource_type, _) in stack.custom_resources() {
        if resource_type == "Custom::VeeamAwsConfigurator" {
            assert!(
                roles.depends_on_transitively(&id).contains("EventReaderRole"),
                "{id} does not depend on EventReaderRole: CloudFormation may delete the role first"
            );
        }
    }
    let role = stack.properties("EventReaderRole").expect("the role is created");
    let trust = &role["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(trust["Principal"]["AWS"], "arn:aws:iam::111111111111:root");
    assert_eq!(
        trust["Condition"]["ArnEquals"]["aws:PrincipalArn"],
        CONFIGURATOR_ROLE
    );
    let read = &role["Policies"][0]["PolicyDocument"]["Statement"][0];
    assert_eq!(read["Resource"].as_str(), Some(stack.stack_id()));
    assert_eq!(role["RoleName"], "vbaws-event-reader");
    assert_eq!(
        role["Path"], "/",
        "the configurator builds the role's ARN without a path"
    );

    // The Lambdas stack names the role the same for the function and for the StackSet.
    let lambdas = template("lambdas.yaml");
    let body = &lambdas.body["Resources"];
    let env = &body["ConfiguratorFunction"]["Properties"]["Environment"]["Variables"];
    let passed: Vec<&serde_json::Value> = body["RolesStackSet"]["Properties"]["Parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter(|p| p["ParameterKey"] == "EventReaderRoleName")
        .map(|p| &p["ParameterValue"])
        .collect();
    assert_eq!(passed, [&env["EVENT_READER_ROLE_NAME"]]);
    let policy = serde_json::to_string(&body["ConfiguratorRole"]).expect("json");
    assert!(
        policy.contains("role/${FunctionNamePrefix}-event-reader"),
        "the configurator may assume the roles it is told to: {policy}"
    );
}

/// The scheduled reconciler's role, and the Organization reader role docs/reconciliation.md gives, allow
/// every action the reconciliation calls (moto does not enforce IAM, so only this catches a
/// call added without its permission).
#[test]
fn the_reconcilers_roles_allow_every_call_it_makes() {
    let lambdas = template("lambdas.yaml");
    let role = lambdas
        .resources()
        .find(|r| r.logical_id == "ReconcilerRole")
        .expect("ReconcilerRole");
    let granted = role.properties["Policies"].to_string();
    let readme = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../docs/reconciliation.md"),
    )
    .expect("docs/reconciliation.md");
    // Lines wrap anywhere in prose: compare it with its whitespace folded.
    let readme = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    let reader_policy = readme
        .split("A reader role must trust the `ReconcilerRoleArn` output")
        .nth(1)
        .and_then(|rest| rest.split("```json").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("docs/reconciliation.md's reader policy");
    for action in vbaws_reconcile::read::AWS_ACTIONS {
        assert!(
            granted.contains(&format!("\"{action}\"")),
            "ReconcilerRole lacks {action}"
        );
        assert!(
            reader_policy.contains(&format!("\"{action}\"")),
            "docs/reconciliation.md's reader policy lacks {action}"
        );
    }
}

/// What docs/production-workers.md promises of turning it off: an update to `WorkerNetwork: None`
/// deletes, in every stack, the worker configuration, its registration, the external ID and the
/// worker-configuration role, and nothing else.
#[tokio::test]
async fn worker_network_none_removes_the_worker_configuration_and_only_it() {
    let (mut stack, _) = walk_roles_stack(&[("WorkerNetwork", "Parameters")]).await;
    let ids = |stack: &vbaws_template::Stack| -> Vec<String> {
        let mut all: Vec<String> = stack
            .custom_resources()
            .into_iter()
            .chain(stack.aws_resources())
            .map(|(id, _, _)| id)
            .collect();
        all.sort();
        all
    };
    let before = ids(&stack);
    stack
        .update(&crate::support::Functions, &[("WorkerNetwork", "None")])
        .await
        .expect("updated");
    let after = ids(&stack);
    let removed: Vec<&String> = before.iter().filter(|id| !after.contains(id)).collect();
    assert_eq!(
        removed,
        [
            "WorkerConfiguration",
            "WorkerConfigurationRegistration",
            "WorkerConfigurationRole",
            "WorkerConfigurationRoleExtId",
            "WorkerNetworkListingPolicy",
        ]
    );
    assert!(
        after.iter().all(|id| before.contains(id)),
        "nothing added: {after:?}"
    );
}
