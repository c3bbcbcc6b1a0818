//! CloudWatch metrics in Embedded Metric Format: one JSON line on stdout, which Lambda sends to
//! the function's log group and CloudWatch turns into metrics, with no API call and no
//! permission beyond writing logs. The project's functions all publish this way.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// The namespace of the project's metrics.
pub const NAMESPACE: &str = "VeeamBackupForAws/Onboarding";

/// One EMF line with `values` (counts), under the dimension `Function` = `function`.
pub fn emf_line(function: &str, values: &[(&str, u64)]) -> String {
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let definitions: Vec<Value> = values
        .iter()
        .map(|(name, _)| json!({"Name": name, "Unit": "Count"}))
        .collect();
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Function"]],
                "Metrics": definitions,
            }],
        }),
    );
    line.insert("Function".into(), function.into());
    for (name, value) in values {
        line.insert((*name).to_owned(), (*value).into());
    }
    Value::Object(line).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_declares_each_value_under_the_function_dimension() {
        let line: Value = serde_json::from_str(&emf_line("f", &[("A", 2), ("B", 0)])).expect("JSON");
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([["Function"]]));
        assert_eq!(directive["Metrics"][1]["Name"], "B");
        assert_eq!(
            (line["Function"].clone(), line["A"].clone(), line["B"].clone()),
            (json!("f"), json!(2), json!(0))
        );
        assert!(
            line["_aws"]["Timestamp"]
                .as_u64()
                .is_some_and(|t| t > 1_700_000_000_000)
        );
    }
}
