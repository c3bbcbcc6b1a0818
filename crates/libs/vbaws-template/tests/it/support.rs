//! Shared by the test files: the templates, their Rules, and a stack without custom resources.

#![allow(dead_code, unreachable_pub)]

use std::path::Path;

use vbaws_template::{Answer, Deliver, DeliveryError, Template, event::Event};

pub fn template(name: &str) -> Template {
    Template::from_yaml(&template_text(name)).expect("valid template")
}

pub fn template_text(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../template")
        .join(name);
    std::fs::read_to_string(&path).expect("template")
}

/// The Rules of template `name` that a stack with `working` parameters, changed by `changes`,
/// breaks, by name.
pub fn broken_rules(
    name: &str,
    region: &str,
    working: &[(&str, &str)],
    changes: &[(&str, &str)],
) -> Vec<String> {
    let template = template(name);
    let mut parameters = working.to_vec();
    parameters.extend_from_slice(changes);
    let context = vbaws_template::Context::for_stack(&template, "111111111111", region, "vbaws", &parameters);
    template
        .broken_rules(&context)
        .expect("rules evaluate")
        .into_iter()
        .map(|b| b.rule)
        .collect()
}

/// For templates without custom resources (the Lambdas stack, the worker network): nothing is
/// ever delivered, and an event that is would fail the test.
pub struct NoCustomResources;

impl Deliver for NoCustomResources {
    async fn deliver(&self, service_token: &str, event: Event) -> Result<Answer, DeliveryError> {
        Err(format!(
            "{}: no custom resource expected, yet an event went to {service_token}",
            event.logical_resource_id()
        )
        .into())
    }
}
