//! The note this project adds to each registration's description: which stack, and which of its
//! resources, made it. The reconciliation removes only registrations that carry it; a name that
//! merely looks like this project's (`<account>-<purpose>`, as the Python solution and people
//! name theirs too) is not enough.

/// The appliance's limit on a description (`AmazonAccountCreateSpec.description`, maxLength 512
/// in the REST reference).
pub const MAX_DESCRIPTION: usize = 512;

const OPEN: &str = " [vbaws:";

/// Where a registration came from: the stack (its ID's last part, a UUID) and the logical ID of
/// the custom resource in it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MadeBy {
    pub stack: String,
    pub resource: String,
}

impl MadeBy {
    /// From a CloudFormation event: `StackId` (`arn:…:stack/<name>/<uuid>`) and
    /// `LogicalResourceId`.
    pub fn new(stack_id: &str, logical_resource_id: &str) -> Self {
        Self {
            stack: stack_id.rsplit('/').next().unwrap_or(stack_id).to_owned(),
            resource: logical_resource_id.to_owned(),
        }
    }

    /// `description` with the note at its end (the description cut short, on a character
    /// boundary, if both would not fit the appliance's limit).
    pub fn describe(&self, description: Option<&str>) -> String {
        let note = format!("{OPEN}{}/{}]", self.stack, self.resource);
        let room = MAX_DESCRIPTION.saturating_sub(note.chars().count());
        let text: String = description
            .unwrap_or_default()
            .trim()
            .chars()
            .take(room)
            .collect();
        format!("{text}{note}").trim_start().to_owned()
    }

    /// The note in `description`, if it carries one.
    pub fn read(description: &str) -> Option<Self> {
        let start = description.rfind(OPEN.trim_start())?;
        let inner = description[start + OPEN.trim_start().len()..].strip_suffix(']')?;
        let (stack, resource) = inner.split_once('/')?;
        let plain = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        (plain(stack) && plain(resource)).then(|| Self {
            stack: stack.to_owned(),
            resource: resource.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STACK: &str = "arn:aws:cloudformation:eu-west-1:123456789012:stack/StackSet-vbaws-veeam-roles-1/5b3a7c10-4e2f-11f1-9a2b-0e8c1d2f3a4b";

    #[test]
    fn the_note_is_read_back_and_fits_the_appliances_limit() {
        let made_by = MadeBy::new(STACK, "Ec2Registration");
        let text = made_by.describe(Some("EC2 backup and restore role"));
        assert_eq!(
            text,
            "EC2 backup and restore role [vbaws:5b3a7c10-4e2f-11f1-9a2b-0e8c1d2f3a4b/Ec2Registration]"
        );
        assert_eq!(MadeBy::read(&text), Some(made_by.clone()));
        assert_eq!(MadeBy::read(&made_by.describe(None)), Some(made_by.clone()));
        let long = made_by.describe(Some(&"é".repeat(600)));
        assert_eq!(long.chars().count(), MAX_DESCRIPTION);
        assert_eq!(MadeBy::read(&long), Some(made_by));
    }

    #[test]
    fn descriptions_without_the_note_carry_none() {
        for text in [
            "",
            "EC2 role",
            "[vbaws:]",
            "x [vbaws:a/b] y",
            "[vbaws:a b/c]",
            "[vbaws:abc]",
        ] {
            assert_eq!(MadeBy::read(text), None, "{text}");
        }
    }
}
