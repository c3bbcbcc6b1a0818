//! `Custom::VeeamWorkerConfiguration`'s properties.

use serde::{Deserialize, Deserializer, de::Error as _};
use vbaws_cfn::props;

use crate::OnDelete;

/// Where production workers of one account and Region run, and which registration the appliance
/// lists the account's network through.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WorkerProperties {
    /// The appliance's ID of the worker-configuration role's registration (the `VeeamRoleId`
    /// a `Custom::VeeamAwsConfigurator` returns).
    #[serde(deserialize_with = "uuid")]
    pub veeam_role_id: String,
    /// The Region's name; the stack's Region when not given.
    #[serde(default, deserialize_with = "region")]
    pub region: Option<String>,
    #[serde(deserialize_with = "zone")]
    pub availability_zone: String,
    #[serde(deserialize_with = "vpc")]
    pub vpc_id: String,
    #[serde(deserialize_with = "subnet")]
    pub subnet_id: String,
    #[serde(deserialize_with = "security_group")]
    pub security_group_id: String,
    #[serde(default, deserialize_with = "crate::properties::on_delete")]
    pub on_delete: OnDelete,
}

impl WorkerProperties {
    /// The Region the configuration is for.
    pub fn region_or<'a>(&'a self, stack_region: &'a str) -> &'a str {
        self.region.as_deref().unwrap_or(stack_region)
    }

    /// `<account>-<region>-workers`: what the physical ID shows.
    pub fn display_name(&self, account: &str, stack_region: &str) -> String {
        format!("{account}-{}-workers", self.region_or(stack_region))
    }
}

fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    props::optional_text(deserializer)?
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| D::Error::custom("it is required"))
}

fn uuid<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let value = text(deserializer)?;
    uuid::Uuid::try_parse(&value)
        .map(|_| value.to_ascii_lowercase())
        .map_err(|_| {
            D::Error::custom(format!(
                "{value:?} is not an appliance role ID (a UUID); use !GetAtt <registration>.VeeamRoleId"
            ))
        })
}

/// Region and zone names: lowercase letters, digits and hyphens (`eu-central-1`,
/// `eu-central-1a`, `us-west-2-lax-1a`).
fn aws_name(value: &str) -> bool {
    (2..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn region<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    match props::optional_text(deserializer)?.filter(|t| !t.is_empty()) {
        Some(value) if !aws_name(&value) => Err(D::Error::custom(format!(
            "{value:?} is not a Region name such as eu-central-1"
        ))),
        other => Ok(other),
    }
}

fn zone<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let value = text(deserializer)?;
    if aws_name(&value) && value.ends_with(|c: char| c.is_ascii_lowercase()) {
        Ok(value)
    } else {
        Err(D::Error::custom(format!(
            "{value:?} is not an Availability Zone name such as eu-central-1a (a zone ID such as euc1-az2 is not accepted)"
        )))
    }
}

/// EC2 resource IDs: a prefix, then 8 or 17 hexadecimal digits (the EC2 User Guide's "Resource
/// IDs" page; IDs made before 2018 have 8).
fn ec2_id<'de, D: Deserializer<'de>>(deserializer: D, prefix: &str, what: &str) -> Result<String, D::Error> {
    let value = text(deserializer)?;
    let digits = value.strip_prefix(prefix).unwrap_or_default();
    if matches!(digits.len(), 8 | 17)
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(value)
    } else {
        Err(D::Error::custom(format!(
            "{value:?} is not {what} ID: {prefix} and 8 or 17 hexadecimal digits"
        )))
    }
}

fn vpc<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    ec2_id(deserializer, "vpc-", "a VPC")
}

fn subnet<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    ec2_id(deserializer, "subnet-", "a subnet")
}

fn security_group<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    ec2_id(deserializer, "sg-", "a security group")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(value: serde_json::Value) -> Result<WorkerProperties, String> {
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    fn good() -> serde_json::Value {
        json!({"ServiceToken": "arn", "VeeamRoleId": "D98F4D37-7874-4BE1-9702-770078F5C9CD",
            "AvailabilityZone": "eu-central-1b", "VpcId": "vpc-0123456789abcdef0",
            "SubnetId": "subnet-01234567", "SecurityGroupId": "sg-0123456789abcdef0"})
    }

    #[test]
    fn worker_properties_parse_and_validate() {
        let props = parse(good()).expect("valid");
        assert_eq!(props.veeam_role_id, "d98f4d37-7874-4be1-9702-770078f5c9cd");
        assert_eq!(props.region_or("eu-central-1"), "eu-central-1");
        assert_eq!(
            props.display_name("111122223333", "eu-central-1"),
            "111122223333-eu-central-1-workers"
        );
        assert_eq!(props.on_delete, OnDelete::Remove);

        for (field, bad, expected) in [
            ("VeeamRoleId", "role-1", "not an appliance role ID"),
            ("Region", "EU Central", "not a Region name"),
            ("AvailabilityZone", "euc1-az2", "not an Availability Zone name"),
            ("AvailabilityZone", "", "it is required"),
            ("VpcId", "vpc-123", "not a VPC ID"),
            ("SubnetId", "sg-0123456789abcdef0", "not a subnet ID"),
            (
                "SecurityGroupId",
                "sg-0123456789ABCDEF0",
                "not a security group ID",
            ),
            ("OnDelete", "Keep", "neither Remove nor Retain"),
        ] {
            let mut value = good();
            value[field] = json!(bad);
            let error = parse(value).expect_err(expected);
            assert!(error.contains(expected), "{field}: {error}");
        }
        let mut missing = good();
        missing.as_object_mut().expect("object").remove("SubnetId");
        assert!(parse(missing).expect_err("missing").contains("SubnetId"));
    }
}
