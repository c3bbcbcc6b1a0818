//! Deserializers for ResourceProperties.
//!
//! CloudFormation turns every scalar in a custom resource's properties into a string before it
//! invokes the function: `Length: 12` arrives as `"12"` and `Enabled: true` as `"true"`. These
//! helpers accept both spellings, so property structs can use real types. Use them with
//! `#[serde(deserialize_with = "…")]`, and never `deny_unknown_fields`: CloudFormation also
//! passes `ServiceToken` (and `ServiceTimeout`) inside the properties.

use std::{fmt::Display, str::FromStr};

use serde::{Deserialize, Deserializer, de::DeserializeOwned, de::Error as _};
use serde_json::Value;

/// Why properties do not parse, with the path of the field at fault.
pub type PropertiesError = serde_path_to_error::Error<serde_json::Error>;

/// How a function reads ResourceProperties. Every `Deserialize` type reads them alike for any
/// resource type; a function that serves several types implements this to read them by type.
pub trait FromProperties: Sized {
    fn from_properties(resource_type: &str, value: Value) -> Result<Self, PropertiesError>;
}

impl<T: DeserializeOwned> FromProperties for T {
    fn from_properties(_resource_type: &str, value: Value) -> Result<Self, PropertiesError> {
        read(value)
    }
}

/// Reads `value` as `T`, keeping the path of the field at fault.
pub fn read<T: DeserializeOwned>(value: Value) -> Result<T, PropertiesError> {
    serde_path_to_error::deserialize(value)
}

/// A whole number given as a JSON number or a string.
pub fn number<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: Display,
{
    let value = Value::deserialize(deserializer)?;
    let text = scalar_text(&value)
        .ok_or_else(|| D::Error::custom(format!("expected a whole number, got {value}")))?;
    text.trim()
        .parse()
        .map_err(|_| D::Error::custom(format!("expected a whole number, got {value}")))
}

/// A boolean given as `true`/`false` or as the strings `"true"`/`"false"` (any letter case).
pub fn flag<'de, D>(deserializer: D) -> Result<bool, D::Error>
where
    D: Deserializer<'de>,
{
    let value = Value::deserialize(deserializer)?;
    match &value {
        Value::Bool(flag) => Ok(*flag),
        Value::String(text) if text.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(text) if text.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(D::Error::custom(format!("expected true or false, got {value}"))),
    }
}

/// Any scalar as text: `"abc"`, `12` and `true` all become strings; null becomes `None`.
pub fn optional_text<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: Deserializer<'de>,
{
    let value = Value::deserialize(deserializer)?;
    if value.is_null() {
        return Ok(None);
    }
    scalar_text(&value)
        .map(Some)
        .ok_or_else(|| D::Error::custom(format!("expected text, got {value}")))
}

/// The text of a string, number or boolean; `None` for null, arrays and objects.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "PascalCase")]
    struct Props {
        #[serde(deserialize_with = "number")]
        count: u32,
        #[serde(deserialize_with = "flag")]
        enabled: bool,
        #[serde(default, deserialize_with = "optional_text")]
        label: Option<String>,
    }

    #[test]
    fn stringified_scalars_are_accepted_and_unknown_keys_ignored() {
        let props: Props = serde_json::from_value(json!({
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:f",
            "ServiceTimeout": "600",
            "Count": "12", "Enabled": "TRUE", "Label": 7
        }))
        .expect("lenient");
        assert_eq!(
            props,
            Props {
                count: 12,
                enabled: true,
                label: Some("7".into())
            }
        );
        let native: Props =
            serde_json::from_value(json!({"Count": 3, "Enabled": false})).expect("native types too");
        assert_eq!(
            native,
            Props {
                count: 3,
                enabled: false,
                label: None
            }
        );
    }

    #[test]
    fn bad_scalars_say_what_was_expected() {
        for (count, enabled, expected) in [
            (
                json!("12.5"),
                json!("true"),
                "expected a whole number, got \"12.5\"",
            ),
            (
                json!("abc"),
                json!("true"),
                "expected a whole number, got \"abc\"",
            ),
            (json!("-1"), json!("true"), "expected a whole number, got \"-1\""),
            (json!("1"), json!("yes"), "expected true or false, got \"yes\""),
        ] {
            let error = serde_json::from_value::<Props>(json!({"Count": count, "Enabled": enabled}))
                .expect_err("rejected");
            assert!(error.to_string().contains(expected), "{error}");
        }
    }
}
