//! Dynamic references (`{{resolve:ssm:<name>}}`), resolved as CloudFormation does once the
//! intrinsic functions are: from the Parameter Store of the stack's account and Region. A
//! parameter that does not exist fails the operation, as it fails a stack operation (the
//! "Get a plaintext value from Systems Manager Parameter Store" page of the CloudFormation User
//! Guide). The store holds one version of each parameter: a version in the reference is read
//! as that one (a guess that suffices for one stack operation).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::Error;

const OPEN: &str = "{{resolve:";
const CLOSE: &str = "}}";

/// `value` with every dynamic reference in its strings replaced.
pub(crate) fn resolve(value: &Value, store: &BTreeMap<String, String>) -> Result<Value, Error> {
    Ok(match value {
        Value::String(text) => Value::String(resolve_text(text, store)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| resolve(item, store))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| Ok((key.clone(), resolve(item, store)?)))
                .collect::<Result<_, Error>>()?,
        ),
        other => other.clone(),
    })
}

fn resolve_text(text: &str, store: &BTreeMap<String, String>) -> Result<String, Error> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let reference = &rest[start + OPEN.len()..];
        let end = reference
            .find(CLOSE)
            .ok_or_else(|| Error::Unsupported(format!("an unclosed dynamic reference in {text:?}")))?;
        out.push_str(&lookup(&reference[..end], store)?);
        rest = &reference[end + CLOSE.len()..];
    }
    out.push_str(rest);
    Ok(out)
}

fn lookup(reference: &str, store: &BTreeMap<String, String>) -> Result<String, Error> {
    let Some(key) = reference.strip_prefix("ssm:") else {
        return Err(Error::Unsupported(format!(
            "the dynamic reference {{{{resolve:{reference}}}}} is not one the player resolves (only ssm)"
        )));
    };
    // `<name>:<version>`: a version is digits after the last colon.
    let name = match key.rsplit_once(':') {
        Some((name, version)) if !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => key,
    };
    store.get(name).cloned().ok_or_else(|| {
        Error::Unsupported(format!(
            "the SSM parameter {name} does not exist in the stack's account and Region (a dynamic reference reads it)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ssm_references_are_replaced_wherever_they_are_and_a_missing_one_fails() {
        let store = BTreeMap::from([
            ("/net/subnet".to_owned(), "subnet-01234567".to_owned()),
            ("/net/zone".to_owned(), "eu-west-1a".to_owned()),
        ]);
        let value = json!({"A": "{{resolve:ssm:/net/subnet}}", "B": ["x-{{resolve:ssm:/net/zone:3}}-{{resolve:ssm:/net/subnet}}"], "C": 1});
        assert_eq!(
            resolve(&value, &store).expect("resolved"),
            json!({"A": "subnet-01234567", "B": ["x-eu-west-1a-subnet-01234567"], "C": 1})
        );
        for (bad, expected) in [
            (
                "{{resolve:ssm:/net/vpc}}",
                "SSM parameter /net/vpc does not exist",
            ),
            ("{{resolve:ssm-secure:/net/zone}}", "not one the player resolves"),
            ("{{resolve:ssm:/net/zone", "unclosed"),
        ] {
            let error = resolve(&json!(bad), &store).expect_err(expected).to_string();
            assert!(error.contains(expected), "{bad}: {error}");
        }
    }
}
