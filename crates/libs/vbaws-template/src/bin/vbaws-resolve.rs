//! `vbaws-resolve TEMPLATE REGION ACCOUNT STACK_NAME [Key=Value …]`: the template as the
//! player resolves it, as JSON (`stack_id`, `resources` with their `Type` and resolved
//! `Properties`, `outputs`), for a cross-check against an evaluator written elsewhere
//! (`tests/deploy/resolve_crosscheck.py`). As such evaluators do, a resource's `Ref` is its
//! logical ID and `Fn::GetAtt` gives `Resource.Attribute`.

use std::process::ExitCode;

use serde_json::{Map, Value, json};
use vbaws_template::{Context, Template};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path, region, account, stack_name, given @ ..] = args.as_slice() else {
        eprintln!("usage: vbaws-resolve TEMPLATE REGION ACCOUNT STACK_NAME [Key=Value …]");
        return ExitCode::from(2);
    };
    match resolve(path, region, account, stack_name, given) {
        Ok(resolved) => {
            println!("{resolved:#}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{path}: {error}");
            ExitCode::FAILURE
        }
    }
}

fn resolve(
    path: &str,
    region: &str,
    account: &str,
    stack_name: &str,
    given: &[String],
) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let template = Template::from_yaml(&text).map_err(|e| e.to_string())?;
    let parameters: Vec<(&str, &str)> = given.iter().filter_map(|p| p.split_once('=')).collect();
    let mut context = Context::for_stack(&template, account, region, stack_name, &parameters);
    // What CloudFormation refuses before it resolves anything.
    if let Some(refused) = template
        .refused_parameters(&context)
        .map_err(|e| e.to_string())?
        .first()
    {
        return Err(format!("parameter {} {}", refused.parameter, refused.problem));
    }
    if let Some(broken) = template
        .broken_rules(&context)
        .map_err(|e| e.to_string())?
        .first()
    {
        return Err(format!("rule {}: {}", broken.rule, broken.description));
    }
    for resource in template.resources() {
        let id = resource.logical_id.to_owned();
        context.refs.insert(id.clone(), id);
    }
    for (resource, attribute) in template.get_atts() {
        let value = format!("{resource}.{attribute}");
        context.attributes.insert((resource, attribute), value);
    }
    let mut resources = Map::new();
    for resource in template.resources() {
        if !context
            .creates(&template, resource.condition)
            .map_err(|e| e.to_string())?
        {
            continue;
        }
        let properties = context
            .resolve(&template, resource.properties)
            .map_err(|e| format!("{}: {e}", resource.logical_id))?;
        resources.insert(
            resource.logical_id.to_owned(),
            json!({"Type": resource.resource_type, "Properties": properties}),
        );
    }
    let mut outputs = Map::new();
    for (name, output) in template.body["Outputs"].as_object().into_iter().flatten() {
        if context
            .creates(&template, output["Condition"].as_str())
            .map_err(|e| e.to_string())?
        {
            let value = context
                .resolve(&template, &output["Value"])
                .map_err(|e| format!("output {name}: {e}"))?;
            outputs.insert(name.clone(), value);
        }
    }
    Ok(json!({
        "stack_id": context.pseudo.get("AWS::StackId"),
        "resources": resources,
        "outputs": outputs,
    }))
}
