//! The resource's properties, and what is derived from them.

use serde::{Deserialize, Deserializer, de::Error as _};
use vbaws_cfn::props::{self, FromProperties, PropertiesError};
use vbaws_client::Secret;

use crate::WorkerProperties;

/// What an event's properties describe, read by its ResourceType.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// `Custom::VeeamAwsConfigurator`, and any type this function does not serve (the
    /// confirmation refuses those).
    Registration(Properties),
    /// `Custom::VeeamWorkerConfiguration`.
    Workers(WorkerProperties),
}

impl FromProperties for Resource {
    fn from_properties(resource_type: &str, value: serde_json::Value) -> Result<Self, PropertiesError> {
        if resource_type == crate::WORKERS_TYPE {
            props::read(value).map(Self::Workers)
        } else {
            props::read(value).map(Self::Registration)
        }
    }
}

impl Resource {
    pub(crate) fn on_delete(&self) -> OnDelete {
        match self {
            Self::Registration(props) => props.on_delete,
            Self::Workers(props) => props.on_delete,
        }
    }
}

/// The appliance's web UI limits display names to this many characters.
pub const MAX_DISPLAY_NAME: usize = 127;

/// What happens to the registration when the resource is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnDelete {
    #[default]
    Remove,
    Retain,
}

/// `Custom::VeeamAwsConfigurator`'s properties.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Properties {
    /// When given, must equal the account in StackId.
    #[serde(default, deserialize_with = "props::optional_text")]
    pub member_account_id: Option<String>,
    #[serde(deserialize_with = "role_name")]
    pub role_name: String,
    #[serde(deserialize_with = "external_id")]
    pub role_ext_id: Secret,
    #[serde(deserialize_with = "purpose")]
    pub purpose: String,
    #[serde(default, deserialize_with = "props::optional_text")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "on_delete")]
    pub on_delete: OnDelete,
}

// The external ID is printed by no one.
impl std::fmt::Debug for Properties {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Properties")
            .field("member_account_id", &self.member_account_id)
            .field("role_name", &self.role_name)
            .field("purpose", &self.purpose)
            .field("on_delete", &self.on_delete)
            .finish_non_exhaustive()
    }
}

impl Properties {
    /// What identifies a registration: a replacement happens when this changes.
    pub fn identity(&self) -> (&str, &str) {
        (self.role_name.as_str(), self.purpose.as_str())
    }

    /// `<account>-<purpose>`, the registration's display name in the appliance.
    pub fn display_name(&self, account: &str) -> String {
        format!("{account}-{}", self.purpose)
    }
}

fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    props::optional_text(deserializer)?.ok_or_else(|| D::Error::custom("it is required"))
}

/// IAM role names: 1 to 64 characters of `[A-Za-z0-9+=,.@_-]`, optionally after a path of at
/// most 512 characters (IAM's quotas page: each has its own limit).
fn role_name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let value = text(deserializer)?;
    let name = value.rsplit('/').next().unwrap_or_default();
    let path = value.len() - name.len();
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
        && path <= 512;
    if valid {
        Ok(value)
    } else {
        Err(D::Error::custom(format!(
            "{value:?} is not an IAM role name: 1 to 64 characters of letters, digits and +=,.@_- (a path before it is allowed)"
        )))
    }
}

/// IAM external IDs: 2 to 1224 characters of `[\w+=,.@:/-]`.
fn external_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
    let value = text(deserializer)?;
    let valid = (2..=1224).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@:/-".contains(&b));
    if valid {
        Ok(Secret::new(value))
    } else {
        // The value itself is never repeated: it is a credential of sorts.
        Err(D::Error::custom(
            "it is not an IAM external ID: 2 to 1224 characters of letters, digits and _+=,.@:/-",
        ))
    }
}

fn purpose<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let value = text(deserializer)?;
    let longest = MAX_DISPLAY_NAME - 13;
    if value.trim().is_empty() || value.chars().count() > longest {
        return Err(D::Error::custom(format!(
            "it must be 1 to {longest} characters, so that the display name <account>-<purpose> stays within the appliance's {MAX_DISPLAY_NAME}"
        )));
    }
    Ok(value)
}

pub(crate) fn on_delete<'de, D: Deserializer<'de>>(deserializer: D) -> Result<OnDelete, D::Error> {
    match props::optional_text(deserializer)?
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("remove") => Ok(OnDelete::Remove),
        Some("retain") => Ok(OnDelete::Retain),
        Some(other) => Err(D::Error::custom(format!(
            "{other:?} is neither Remove nor Retain"
        ))),
    }
}

/// The PhysicalResourceId of a registration: `<display name>@<appliance role ID>`. It is the
/// same for every answer about one registration, and names what the appliance shows.
pub fn physical_id(display_name: &str, veeam_id: &str) -> String {
    format!("{display_name}@{veeam_id}")
}

/// The display name and appliance role ID in one of our physical IDs; `None` for any other ID.
pub fn parse_physical_id(id: &str) -> Option<(&str, &str)> {
    let (name, veeam_id) = id.rsplit_once('@')?;
    // The appliance's IDs are UUIDs, and it answers 400 to anything else in a path: an ID of
    // another shape was not issued by us, and is looked up by name instead.
    let is_uuid = veeam_id.len() == 36 && uuid::Uuid::try_parse(veeam_id).is_ok();
    (is_uuid && !name.is_empty()).then_some((name, veeam_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: serde_json::Value) -> Result<Properties, String> {
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    #[test]
    fn properties_parse_leniently_and_validate() {
        let props = parse(json!({"ServiceToken": "arn", "ServiceTimeout": "600", "RoleName": "VeeamEc2", "RoleExtId": "abcDEF123",
            "Purpose": "ec2", "OnDelete": "retain", "MemberAccountId": 123456789012_u64}))
        .expect("valid");
        assert_eq!(props.on_delete, OnDelete::Retain);
        assert_eq!(props.member_account_id.as_deref(), Some("123456789012"));
        assert_eq!(props.display_name("123456789012"), "123456789012-ec2");
        assert!(!format!("{props:?}").contains("abcDEF123"));
        // IAM limits a path (512) and a name (64) each: together they may be longer than 512.
        let longest = format!("/{}/{}", "p".repeat(510), "r".repeat(64));
        let props = parse(json!({"RoleName": longest, "RoleExtId": "abc", "Purpose": "p"})).expect("valid");
        assert_eq!(props.role_name.len(), 576);

        for (bad, expected) in [
            (
                json!({"RoleExtId": "abc", "Purpose": "p"}),
                "missing field `RoleName`",
            ),
            (
                json!({"RoleName": "has space", "RoleExtId": "abc", "Purpose": "p"}),
                "is not an IAM role name",
            ),
            (
                json!({"RoleName": format!("/{}/r", "p".repeat(511)), "RoleExtId": "abc", "Purpose": "p"}),
                "is not an IAM role name",
            ),
            (
                json!({"RoleName": "r".repeat(65), "RoleExtId": "abc", "Purpose": "p"}),
                "is not an IAM role name",
            ),
            (
                json!({"RoleName": "r", "RoleExtId": "a", "Purpose": "p"}),
                "not an IAM external ID",
            ),
            (
                json!({"RoleName": "r", "RoleExtId": "abc", "Purpose": "p".repeat(115)}),
                "must be 1 to 114 characters",
            ),
            (
                json!({"RoleName": "r", "RoleExtId": "abc", "Purpose": "p", "OnDelete": "Keep"}),
                "neither Remove nor Retain",
            ),
        ] {
            let error = parse(bad).expect_err(expected);
            assert!(error.contains(expected), "{expected}: {error}");
        }
    }

    #[test]
    fn physical_ids_round_trip() {
        let id = physical_id("123456789012-ec2", "d98f4d37-7874-4be1-9702-770078f5c9cd");
        assert_eq!(
            parse_physical_id(&id),
            Some(("123456789012-ec2", "d98f4d37-7874-4be1-9702-770078f5c9cd"))
        );
        assert_eq!(parse_physical_id("2022/12/06/[$LATEST]abc"), None);
        assert_eq!(parse_physical_id("x@not-a-uuid"), None);
        assert_eq!(
            parse_physical_id("x@------------------------------------"),
            None,
            "36 characters of the right alphabet are not yet a UUID"
        );
    }
}
