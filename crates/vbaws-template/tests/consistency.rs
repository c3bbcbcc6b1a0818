//! The templates and the functions agree: the properties CloudFormation sends are ones the
//! functions accept, every attribute the templates read is one the functions return, and every
//! environment variable the functions read is set by the Lambdas template.

use std::path::Path;

use serde_json::Value;
use vbaws_template::{Context, Template};
use vbaws_testkit::events::stringify;

fn template(name: &str) -> Template {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../template")
        .join(name);
    Template::from_yaml(&std::fs::read_to_string(&path).expect("template")).expect("valid template")
}

/// Creates the roles stack as CloudFormation would, checking each custom resource's properties
/// against the function that receives them, and feeding the functions' Data to what follows.
fn walk_roles_stack(parameters: &[(&str, &str)]) {
    let roles = template("roles.yaml");
    let mut all: Vec<(&str, &str)> = vec![
        ("HomeRegion", "us-east-1"),
        (
            "VeeamApplianceRoleArn",
            "arn:aws:iam::111111111111:role/VeeamBackupInstance",
        ),
        (
            "RandomExtIdFunctionArn",
            "arn:aws:lambda:us-east-1:111111111111:function:vbaws-random-ext-id",
        ),
        (
            "VeeamConfiguratorFunctionArn",
            "arn:aws:lambda:us-east-1:111111111111:function:vbaws-veeam-configurator",
        ),
    ];
    all.extend_from_slice(parameters);
    let mut context = Context::for_stack(&roles, "123456789012", "us-east-1", "StackSet-veeam-roles", &all);
    assert_eq!(roles.broken_rules(&context).expect("rules"), []);
    let mut custom = 0;
    for id in roles.creation_order().expect("no cycle") {
        let resource = roles.resource(&id).expect("resource");
        assert!(context.creates(&roles, resource.condition).expect("condition"));
        let properties = stringify(
            context
                .resolve(&roles, resource.properties)
                .unwrap_or_else(|e| panic!("{id}: {e}")),
        );
        let attribute = |key: &str| (id.clone(), key.to_owned());
        match resource.resource_type {
            "Custom::RandomExtIdGenerator" => {
                let props: random_ext_id::Properties = serde_json::from_value(properties)
                    .unwrap_or_else(|e| panic!("{id}: random-ext-id refuses its properties: {e}"));
                let seed = random_ext_id::Seed::generate().expect("entropy");
                context.attributes.insert(
                    attribute(random_ext_id::RANDOM_EXT_ID),
                    random_ext_id::external_id(&seed, props.length),
                );
                context.refs.insert(id.clone(), seed.physical_id());
                custom += 1;
            }
            "Custom::VeeamAwsConfigurator" => {
                let props: veeam_configurator::Properties = serde_json::from_value(properties)
                    .unwrap_or_else(|e| panic!("{id}: veeam-configurator refuses its properties: {e}"));
                assert_eq!(props.member_account_id.as_deref(), Some("123456789012"));
                context.attributes.insert(
                    attribute(veeam_configurator::VEEAM_ROLE_ID),
                    "d98f4d37-7874-4be1-9702-770078f5c9cd".into(),
                );
                context.attributes.insert(
                    attribute(veeam_configurator::VEEAM_ROLE_NAME),
                    props.display_name("123456789012"),
                );
                custom += 1;
            }
            other => {
                let name = properties
                    .get("RoleName")
                    .and_then(Value::as_str)
                    .unwrap_or(&id)
                    .to_owned();
                assert!(other.starts_with("AWS::"), "{id}: unexpected type {other}");
                context
                    .attributes
                    .insert(attribute("Arn"), format!("arn:aws:iam::123456789012:role/{name}"));
                context.refs.insert(id.clone(), name);
            }
        }
    }
    assert_eq!(custom, 4, "two external IDs and two registrations");
}

#[test]
fn the_functions_accept_the_properties_of_every_custom_resource() {
    walk_roles_stack(&[]);
    walk_roles_stack(&[
        ("RolePath", "/veeam/"),
        ("OnDelete", "Retain"),
        ("ExternalIdLength", "64"),
    ]);
}

#[test]
fn every_attribute_read_from_a_custom_resource_is_one_the_function_returns() {
    let roles = template("roles.yaml");
    let mut checked = 0;
    for (resource, attribute) in roles.get_atts() {
        let returned = match roles.resource(&resource).map(|r| r.resource_type) {
            Some("Custom::RandomExtIdGenerator") => random_ext_id::DATA_KEYS,
            Some("Custom::VeeamAwsConfigurator") => veeam_configurator::DATA_KEYS,
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
    for variable in veeam_configurator::VARIABLES {
        assert!(
            configurator.iter().any(|v| v == variable),
            "veeam-configurator: {variable} is not set"
        );
    }
    for legacy in veeam_configurator::LEGACY_VARIABLES {
        assert!(
            !configurator.iter().any(|v| v == legacy),
            "{legacy} is only for stacks of earlier versions"
        );
    }
}
