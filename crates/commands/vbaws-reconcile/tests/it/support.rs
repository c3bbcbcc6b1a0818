//! Shared by the test files: the published schema of the JSON document.

/// The schema, `schemas/vbaws-reconcile.v1.json`.
pub(crate) fn schema() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../schemas/vbaws-reconcile.v1.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("schema file")).expect("JSON")
}

/// Asserts `document` follows the schema, listing every violation.
pub(crate) fn assert_valid(document: &serde_json::Value) {
    let validator = jsonschema::validator_for(&schema()).expect("a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(document)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{document:#}");
}
