//! AWS's documented limits (`vbaws_template::limits`, each with its page) against every template
//! as the commands send it, and against what each stack creates under the largest parameters
//! the templates accept: the stand-ins would take what AWS refuses.

use std::sync::Arc;

use crate::support::{NoCustomResources, template, template_text};
use vbaws_template::{Stack, limits};

/// How the commands send each template: `make deploy-lambdas` through `--s3-bucket`, the
/// StackSet by `--template-url` (`make publish`), the worker network inline as the guide shows.
const SENT: &[(&str, limits::Limit)] = &[
    ("lambdas.yaml", limits::TEMPLATE_BODY_BY_URL),
    ("roles.yaml", limits::TEMPLATE_BODY_BY_URL),
    ("worker-network.yaml", limits::TEMPLATE_BODY_INLINE),
];

#[test]
fn every_template_fits_what_cloudformation_accepts_as_it_is_sent() {
    for (name, sent) in SENT {
        let text = template_text(name);
        let breaches = limits::declared(name, &text, &template(name).body, sent);
        assert!(breaches.is_empty(), "{breaches:#?}");
    }
    // Every template in the folder is sent one way or another.
    let listed: Vec<String> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../template"))
        .expect("template folder")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    for name in listed {
        assert!(
            SENT.iter().any(|(sent, _)| *sent == name),
            "{name}: how is it sent?"
        );
    }
}

/// The Lambdas stack with the reconciler and every optional value at its longest.
#[tokio::test]
async fn the_largest_lambdas_stack_fits_lambda_and_iam() {
    let lambdas = Arc::new(template("lambdas.yaml"));
    // PEM-shaped: 64 characters a line, each newline one more byte once escaped.
    let ca: String = "C"
        .repeat(max_length(&lambdas, "ApplianceCaCert"))
        .chars()
        .enumerate()
        .map(|(i, c)| if i % 65 == 64 { '\n' } else { c })
        .collect();
    let parameters = [
        ("ArtifactBucket", "artifacts"),
        ("FunctionNamePrefix", &"f".repeat(30)[..]),
        ("ApplianceAddress", "10.100.200.250"),
        ("ApplianceCertSha256", &"AB:".repeat(32)[..95]),
        ("ApplianceCaCert", &ca),
        ("ApplianceApiVersion", "1.10-rev10"),
        ("VpcId", "vpc-0123456789abcdef0"),
        ("SubnetIds", "subnet-0123456789abcdef0,subnet-0123456789abcdef1"),
        ("OrganizationId", "o-abcdefghij0123456789abcdefghij"),
        ("S3Path", "Nat"),
        ("SecretsManagerPath", "Nat"),
        ("StsPath", "Nat"),
        ("CloudFormationPath", "Nat"),
        ("Reconciler", "ReportAndFix"),
        (
            "ReconcilerOrganizationalUnitIds",
            "ou-abcd-12345678,ou-efgh-12345678,ou-ijkl-12345678",
        ),
        ("RolesStackSetName", &"r".repeat(128)[..]),
        (
            "OrganizationReaderRoleArn",
            &format!("arn:aws:iam::111111111111:role/{}", "o".repeat(64)),
        ),
        (
            "ExtensionLayerArn",
            &format!(
                "arn:aws:lambda:eu-west-1:111111111111:layer:{}:99",
                "l".repeat(64)
            ),
        ),
    ];
    let mut stack = Stack::new(lambdas, "111111111111", "eu-west-1", "vbaws-lambdas", &parameters);
    stack
        .create(&NoCustomResources)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let resources = stack.aws_resources();
    let breaches = limits::created("lambdas.yaml", &resources);
    assert!(breaches.is_empty(), "{breaches:#?}");
}

fn max_length(template: &vbaws_template::Template, parameter: &str) -> usize {
    template.body["Parameters"][parameter]["MaxLength"]
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or_else(|| panic!("{parameter} declares no MaxLength: AWS's limits need one"))
}

/// docs/templates.md's table lists every limit the tests measure, with its number and its page.
#[test]
fn the_readme_lists_every_limit_with_its_page() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../docs/templates.md"))
        .expect("docs/templates.md");
    for limit in limits::ALL {
        let max = limit.max.to_string();
        let grouped: String = max
            .chars()
            .rev()
            .enumerate()
            .flat_map(|(i, c)| (i > 0 && i % 3 == 0).then_some(',').into_iter().chain([c]))
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let row = format!("| {} | {grouped} | ", limit.what);
        assert!(
            readme
                .lines()
                .any(|l| l.starts_with(&row) && l.contains(limit.page)),
            "docs/templates.md has no row {row}… ({})",
            limit.page
        );
    }
}
