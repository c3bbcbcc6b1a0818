//! What the Lambdas template promises a real deployment: the configurator's network path
//! outlives the StackSet, and its Rules refuse the parameter sets that cannot work.

use std::path::Path;

use vbaws_template::{Context, Template};

fn template(name: &str) -> Template {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../template")
        .join(name);
    Template::from_yaml(&std::fs::read_to_string(&path).expect("template")).expect("valid template")
}

/// Parameters of a deployment that works: an S3 gateway endpoint on one route table, a new
/// Secrets Manager endpoint, in a Region the layer mapping knows.
const WORKING: &[(&str, &str)] = &[
    ("ArtifactBucket", "artifacts"),
    ("ApplianceAddress", "10.0.1.20"),
    ("VpcId", "vpc-0123"),
    ("SubnetIds", "subnet-a,subnet-b"),
    ("OrganizationId", "o-abcdefghij"),
    ("S3Path", "CreateGatewayEndpoint"),
    ("S3GatewayRouteTableIds", "rtb-a"),
    ("SecretsManagerPath", "CreateEndpoint"),
    ("StsPath", "CreateEndpoint"),
    ("CloudFormationPath", "Nat"),
];

fn broken(region: &str, changes: &[(&str, &str)]) -> Vec<String> {
    crate::support::broken_rules("lambdas.yaml", region, WORKING, changes)
}

#[test]
fn every_resource_on_the_configurators_path_outlives_the_stackset() {
    let lambdas = template("lambdas.yaml");
    let before = lambdas.depends_on_transitively("RolesStackSet");
    // The reconciler is not on that path: removing it cannot leave a stack waiting.
    let missing: Vec<&str> = lambdas
        .resources()
        .map(|r| r.logical_id)
        .filter(|id| *id != "RolesStackSet" && !id.starts_with("Reconciler") && !before.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "CloudFormation may delete these while the stack instances' Delete events still need them: {missing:?}"
    );
}

#[test]
fn a_working_deployment_breaks_no_rule() {
    assert_eq!(broken("eu-west-1", &[]), Vec::<String>::new());
    assert_eq!(
        broken("eu-west-1", &[("S3Path", "Nat"), ("S3GatewayRouteTableIds", "")]),
        Vec::<String>::new()
    );
    assert_eq!(
        broken(
            "eu-west-1",
            &[
                ("SecretsManagerPath", "ExistingEndpoint"),
                ("SecretsManagerEndpointSecurityGroupId", "sg-0abc")
            ]
        ),
        Vec::<String>::new()
    );
}

#[test]
fn a_gateway_endpoint_without_route_tables_is_refused() {
    assert_eq!(
        broken("eu-west-1", &[("S3GatewayRouteTableIds", "")]),
        ["GatewayEndpointNeedsRouteTables"]
    );
}

#[test]
fn route_tables_without_a_new_gateway_endpoint_are_refused() {
    for path in ["Nat", "ExistingGatewayEndpoint"] {
        assert_eq!(
            broken("eu-west-1", &[("S3Path", path)]),
            ["RouteTablesOnlyForANewGatewayEndpoint"],
            "{path}"
        );
    }
}

#[test]
fn an_endpoint_security_group_needs_an_existing_endpoint() {
    assert_eq!(
        broken(
            "eu-west-1",
            &[("SecretsManagerEndpointSecurityGroupId", "sg-0abc")]
        ),
        ["EndpointSecurityGroupOnlyForAnExistingEndpoint"]
    );
}

#[test]
fn the_confirmation_endpoints_security_group_needs_an_existing_endpoint() {
    let given = ("ExistingEndpointsSecurityGroupId", "sg-0endpoints");
    assert_eq!(
        broken("eu-west-1", &[given]),
        ["EndpointsSecurityGroupOnlyForExistingEndpoints"]
    );
    assert!(
        broken(
            "eu-west-1",
            &[
                given,
                ("CloudFormationPath", "ExistingEndpoint"),
                ("S3PrefixListId", "pl-6da54004")
            ]
        )
        .is_empty()
    );
}

#[test]
fn a_region_without_a_known_layer_needs_the_layer_arn() {
    assert_eq!(broken("eu-central-2", &[]), ["ExtensionLayerIsKnown"]);
    let arn =
        "arn:aws:lambda:eu-central-2:123456789012:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:17";
    assert_eq!(
        broken("eu-central-2", &[("ExtensionLayerArn", arn)]),
        Vec::<String>::new()
    );
}

#[test]
fn the_layer_rule_and_the_layer_mapping_name_the_same_regions() {
    let lambdas = template("lambdas.yaml");
    let mapped: Vec<&String> = lambdas.body["Mappings"]["ExtensionLayer"]
        .as_object()
        .expect("mapping")
        .keys()
        .collect();
    assert!(mapped.len() >= 27, "{mapped:?}");
    for region in &mapped {
        assert_eq!(broken(region, &[]), Vec::<String>::new(), "{region}");
        let arn = lambdas.body["Mappings"]["ExtensionLayer"][region.as_str()]["Arn"]
            .as_str()
            .expect("Arn");
        assert!(
            arn.contains(&format!(":lambda:{region}:")) && arn.contains("-Arm64:"),
            "{region}: {arn}"
        );
    }
}

#[test]
fn the_stackset_needs_its_template_and_the_appliance_role() {
    assert_eq!(
        broken(
            "eu-west-1",
            &[("TargetOrganizationalUnitIds", "ou-ab12-cdef3456")]
        ),
        ["StackSetNeedsItsParameters"]
    );
}

#[test]
fn the_roles_stackset_deploys_to_its_home_region_only() {
    let roles = template("roles.yaml");
    let context = |region: &str| {
        Context::for_stack(
            &roles,
            "222222222222",
            region,
            "StackSet-roles",
            &[("HomeRegion", "eu-west-1")],
        )
    };
    assert!(
        roles
            .broken_rules(&context("eu-west-1"))
            .expect("rules")
            .is_empty()
    );
    let second = roles.broken_rules(&context("us-east-1")).expect("rules");
    assert_eq!(second.len(), 1);
    assert!(second[0].description.contains("HomeRegion"), "{second:?}");
}

#[test]
fn the_reconciler_needs_the_ous_it_compares() {
    assert_eq!(
        broken("eu-west-1", &[("Reconciler", "Report")]),
        ["ReconcilerNeedsTargetOus"]
    );
    assert_eq!(
        broken(
            "eu-west-1",
            &[
                ("Reconciler", "Report"),
                ("ReconcilerOrganizationalUnitIds", "ou-ab12-cdef3456")
            ]
        ),
        Vec::<String>::new()
    );
}

/// The reconciler's environment as CloudFormation would resolve it.
fn reconciler_env(changes: &[(&str, &str)]) -> Option<serde_json::Value> {
    let lambdas = template("lambdas.yaml");
    let mut parameters = WORKING.to_vec();
    parameters.extend_from_slice(changes);
    let mut context = Context::for_stack(
        &lambdas,
        "111111111111",
        "eu-west-1",
        "vbaws-lambdas",
        &parameters,
    );
    let secret = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:ApplianceCredentials-AbCdEf";
    context.refs.insert("ApplianceCredentials".into(), secret.into());
    let function = lambdas.resource("ReconcilerFunction").expect("declared");
    if !context.creates(&lambdas, function.condition).expect("conditions") {
        return None;
    }
    let environment = context
        .resolve(&lambdas, &function.properties["Environment"])
        .expect("resolves");
    Some(environment["Variables"].clone())
}

#[test]
fn the_reconciler_exists_only_when_asked_for_and_fixes_only_when_allowed() {
    assert_eq!(reconciler_env(&[]), None, "Disabled by default");
    let report = reconciler_env(&[
        ("Reconciler", "Report"),
        ("TargetOrganizationalUnitIds", "ou-ab12-aaaaaaaa,ou-ab12-bbbbbbbb"),
    ])
    .expect("created");
    assert_eq!(report["RECONCILE_FIX"], "false");
    assert_eq!(
        report["TARGET_OUS"], "ou-ab12-aaaaaaaa,ou-ab12-bbbbbbbb",
        "the StackSet's OUs by default"
    );
    assert_eq!(report["STACK_SET_NAME"], "vbaws-veeam-roles");
    assert!(
        report["SECRET_ID"]
            .as_str()
            .is_some_and(|s| s.ends_with(":secret:ApplianceCredentials-AbCdEf")),
        "the configurator's secret: {report:#}"
    );
    assert_eq!(
        report["SECRET_ID"],
        "arn:aws:secretsmanager:eu-west-1:111111111111:secret:ApplianceCredentials-AbCdEf",
        "the configurator's secret"
    );
    let fix = reconciler_env(&[
        ("Reconciler", "ReportAndFix"),
        ("ReconcilerOrganizationalUnitIds", "ou-ab12-cccccccc"),
        ("RolesStackSetName", "veeam-roles"),
        ("StackSetCallAs", "SELF"),
    ])
    .expect("created");
    assert_eq!(fix["RECONCILE_FIX"], "true");
    assert_eq!(fix["TARGET_OUS"], "ou-ab12-cccccccc");
    assert_eq!(fix["STACK_SET_NAME"], "veeam-roles");
    assert_eq!(fix["STACK_SET_CALL_AS"], "SELF");
}

/// Where the configurator's security group lets HTTPS go, as `(destination property, value as
/// written)`, under `changes` to the working parameters.
fn https_destinations(changes: &[(&str, &str)]) -> Vec<(String, String)> {
    https_destinations_in("eu-west-1", changes)
}

fn https_destinations_in(region: &str, changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let lambdas = template("lambdas.yaml");
    let mut parameters = WORKING.to_vec();
    parameters.extend_from_slice(changes);
    let context = Context::for_stack(&lambdas, "111111111111", region, "vbaws-lambdas", &parameters);
    lambdas
        .resources()
        .filter(|r| r.resource_type == "AWS::EC2::SecurityGroupEgress")
        .filter(|r| r.properties["GroupId"]["Ref"] == "ConfiguratorSecurityGroup")
        .filter(|r| r.properties["FromPort"] == 443)
        .filter(|r| {
            context
                .creates(&lambdas, r.condition)
                .expect("conditions evaluate")
        })
        .filter_map(|r| {
            ["CidrIp", "DestinationPrefixListId", "DestinationSecurityGroupId"]
                .into_iter()
                .find_map(|key| r.properties.get(key).map(|v| (key.to_owned(), v.to_string())))
        })
        .collect()
}

#[test]
fn without_a_nat_path_https_leaves_only_for_s3_and_the_endpoints() {
    let private = [
        ("S3Path", "ExistingGatewayEndpoint"),
        ("S3GatewayRouteTableIds", ""),
        ("S3PrefixListId", "pl-6da54004"),
        ("CloudFormationPath", "CreateEndpoint"),
    ];
    assert!(broken("eu-west-1", &private).is_empty());
    let mut destinations = https_destinations(&private);
    destinations.sort();
    assert_eq!(
        destinations,
        [
            (
                "DestinationPrefixListId".to_owned(),
                r#"{"Ref":"S3PrefixListId"}"#.to_owned()
            ),
            (
                "DestinationSecurityGroupId".to_owned(),
                r#"{"Ref":"ConfirmationEndpointSecurityGroup"}"#.to_owned()
            ),
            (
                "DestinationSecurityGroupId".to_owned(),
                r#"{"Ref":"SecretsManagerEndpointSecurityGroup"}"#.to_owned()
            ),
        ]
    );
    let mut without_list = private.to_vec();
    without_list.push(("S3PrefixListId", ""));
    assert_eq!(
        broken("eu-west-1", &without_list),
        ["PrivatePathsNeedTheirDestinations"]
    );
    let mut existing = private.to_vec();
    existing.push(("StsPath", "ExistingEndpoint"));
    assert_eq!(
        broken("eu-west-1", &existing),
        ["PrivatePathsNeedTheirDestinations"]
    );

    // A NAT path (here CloudFormation's) reaches public addresses.
    assert_eq!(
        https_destinations(&[]),
        [("CidrIp".to_owned(), r#""0.0.0.0/0""#.to_owned())]
    );
}

/// Organizations' API is in us-east-1 only: the reconciler reaches it through a NAT gateway,
/// or, in us-east-1, through an existing endpoint whose group the stack opens.
#[test]
fn the_reconciler_reaches_organizations_through_a_nat_or_an_endpoint_in_its_region() {
    let private_with_reconciler = [
        ("S3Path", "ExistingGatewayEndpoint"),
        ("S3GatewayRouteTableIds", ""),
        ("S3PrefixListId", "pl-6da54004"),
        ("CloudFormationPath", "CreateEndpoint"),
        ("Reconciler", "Report"),
        ("ReconcilerOrganizationalUnitIds", "ou-ab12-cdef3456"),
    ];
    let anywhere = ("CidrIp".to_owned(), r#""0.0.0.0/0""#.to_owned());
    // OrganizationsPath defaults to Nat: public HTTPS for the reconciler.
    assert!(broken("eu-west-1", &private_with_reconciler).is_empty());
    assert!(https_destinations(&private_with_reconciler).contains(&anywhere));

    let mut through_endpoint = private_with_reconciler.to_vec();
    through_endpoint.push(("OrganizationsPath", "ExistingEndpoint"));
    let mut with_group = through_endpoint.clone();
    with_group.push(("ExistingEndpointsSecurityGroupId", "sg-0endpoints"));
    assert_eq!(
        broken("eu-west-1", &with_group),
        ["OrganizationsEndpointOnlyInItsRegion"]
    );
    assert!(broken("us-east-1", &with_group).is_empty());
    let destinations = https_destinations_in("us-east-1", &with_group);
    assert!(!destinations.contains(&anywhere), "{destinations:?}");
    assert!(
        destinations.contains(&(
            "DestinationSecurityGroupId".to_owned(),
            r#"{"Ref":"ExistingEndpointsSecurityGroupId"}"#.to_owned()
        )),
        "{destinations:?}"
    );
    // Without the endpoint's group, the configurator's group could not reach it.
    assert_eq!(
        broken("us-east-1", &through_endpoint),
        ["PrivatePathsNeedTheirDestinations"]
    );
}

/// A change of ApplianceUsername would change the secret's GenerateSecretString, and with it the
/// password (the appliance user keeps the old one): the stack policy that make deploy-lambdas
/// sets denies every update of the secret, and names a resource the template has.
#[test]
fn the_stack_policy_keeps_the_generated_password() {
    let lambdas = template("lambdas.yaml");
    let secret = lambdas.resource("ApplianceCredentials").expect("the secret");
    assert!(
        secret.properties["GenerateSecretString"]
            .to_string()
            .contains("ApplianceUsername"),
        "the username is part of what generates the password"
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../template/lambdas-stack-policy.json");
    let policy: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("policy")).expect("JSON");
    let denied: Vec<&str> = policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .filter(|s| s["Effect"] == "Deny")
        .filter(|s| {
            ["Update:Modify", "Update:Replace"]
                .iter()
                .all(|a| s["Action"].as_array().is_some_and(|l| l.iter().any(|x| x == a)))
        })
        .filter_map(|s| s["Resource"].as_str())
        .collect();
    assert_eq!(denied, ["LogicalResourceId/ApplianceCredentials"]);
}

/// The Lambdas stack of a first release, with every optional part: the appliance's ingress rule,
/// the reconciler, the alarm e-mail and the in-stack StackSet.
async fn first_release() -> (std::sync::Arc<Template>, vbaws_template::Stack) {
    let lambdas = std::sync::Arc::new(template("lambdas.yaml"));
    let mut parameters = WORKING.to_vec();
    parameters.extend_from_slice(&[
        ("RandomExtIdKey", "random-ext-id-1111111111111111.zip"),
        ("ConfiguratorKey", "veeam-configurator-1111111111111111.zip"),
        ("ReconcilerKey", "vbaws-reconciler-1111111111111111.zip"),
        (
            "RolesTemplateUrl",
            "https://artifacts.s3.eu-west-1.amazonaws.com/roles-1111111111111111.yaml",
        ),
        ("TargetOrganizationalUnitIds", "ou-ab12-cdef3456"),
        (
            "VeeamApplianceRoleArn",
            "arn:aws:iam::111111111111:role/VeeamBackupInstance",
        ),
        ("ApplianceSecurityGroupId", "sg-0appliance"),
        ("Reconciler", "Report"),
        ("AlarmEmail", "platform@example.com"),
    ]);
    let mut stack = vbaws_template::Stack::new(
        std::sync::Arc::clone(&lambdas),
        "111111111111",
        "eu-west-1",
        "vbaws-lambdas",
        &parameters,
    );
    stack
        .create(&crate::support::NoCustomResources)
        .await
        .expect("the stack is created");
    (lambdas, stack)
}

fn lines(changes: &[vbaws_template::Change]) -> Vec<String> {
    changes.iter().map(ToString::to_string).collect()
}

#[tokio::test]
async fn a_new_build_changes_the_functions_code_and_the_stacksets_template_and_nothing_else() {
    let (lambdas, stack) = first_release().await;
    assert_eq!(
        lines(&stack.change_set(&lambdas, &[]).expect("change set")),
        Vec::<String>::new(),
        "the same release again changes nothing"
    );
    let release = stack
        .change_set(
            &lambdas,
            &[
                ("ConfiguratorKey", "veeam-configurator-2222222222222222.zip"),
                (
                    "RolesTemplateUrl",
                    "https://artifacts.s3.eu-west-1.amazonaws.com/roles-2222222222222222.yaml",
                ),
            ],
        )
        .expect("change set");
    assert_eq!(
        lines(&release),
        [
            "Modify ConfiguratorFunction (AWS::Lambda::Function): Code",
            "Modify RolesStackSet (AWS::CloudFormation::StackSet): TemplateURL",
        ]
    );
}

#[tokio::test]
async fn a_parameter_emptied_by_hand_shows_what_it_would_remove() {
    let (lambdas, stack) = first_release().await;
    let changes = stack
        .change_set(
            &lambdas,
            &[("ApplianceSecurityGroupId", ""), ("Reconciler", "Disabled")],
        )
        .expect("change set");
    let removed: Vec<&str> = changes
        .iter()
        .filter(|c| c.action == vbaws_template::ChangeAction::Remove)
        .map(|c| c.logical_id.as_str())
        .collect();
    assert!(removed.contains(&"ApplianceFromConfigurator"), "{changes:#?}");
    assert!(removed.contains(&"ReconcilerFunction"), "{changes:#?}");
}

#[tokio::test]
async fn the_outputs_name_what_the_stack_made() {
    let (_, stack) = first_release().await;
    let outputs = stack.outputs().expect("outputs resolve");
    assert_eq!(
        outputs["VeeamConfiguratorFunctionArn"],
        "arn:aws:lambda:eu-west-1:111111111111:function:vbaws-veeam-configurator"
    );
    assert_eq!(
        outputs["ConfiguratorRoleArn"],
        "arn:aws:iam::111111111111:role/vbaws-lambdas-ConfiguratorRole-1A2B3C4D"
    );
}
