//! What a handler receives and returns.

use std::{collections::BTreeMap, fmt, future::Future};

use tokio::time::Instant;

/// The custom resource type(s) one Lambda function serves.
pub trait CustomResource: Send + Sync + 'static {
    /// The typed ResourceProperties, usually a `Deserialize` struct. See [`crate::props`] for
    /// CloudFormation's stringified scalars, and for reading them by resource type.
    type Properties: crate::props::FromProperties + Send + Sync + 'static;
    /// A failure whose `Display` (and source chain) becomes the FAILED answer's Reason, so it
    /// should say what is wrong and how to fix it.
    type Error: std::error::Error + Send + 'static;

    /// Does the work for one request. The protocol core has already answered malformed events,
    /// and it answers for the handler when the handler fails, panics or runs past
    /// [`Request::deadline`].
    fn handle(
        &self,
        request: Request<Self::Properties>,
    ) -> impl Future<Output = Result<Outcome, Self::Error>> + Send;
}

/// What CloudFormation asks for.
pub enum Action<P> {
    Create,
    Update {
        physical_resource_id: String,
        /// `None` when the previous properties no longer parse, so that the rollback of a bad
        /// update can still succeed.
        old_properties: Option<P>,
    },
    Delete {
        physical_resource_id: String,
    },
}

// Old properties may carry secrets, so only the IDs are printed.
impl<P> fmt::Debug for Action<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Create => f.write_str("Create"),
            Self::Update {
                physical_resource_id, ..
            } => f
                .debug_struct("Update")
                .field("physical_resource_id", physical_resource_id)
                .finish_non_exhaustive(),
            Self::Delete { physical_resource_id } => f
                .debug_struct("Delete")
                .field("physical_resource_id", physical_resource_id)
                .finish(),
        }
    }
}

/// One request, with its properties already typed.
pub struct Request<P> {
    pub action: Action<P>,
    pub properties: P,
    pub stack_id: String,
    pub request_id: String,
    pub logical_resource_id: String,
    pub resource_type: String,
    /// Work still running at this instant is abandoned and answered FAILED.
    pub deadline: Instant,
}

impl<P> Request<P> {
    /// `Create`, `Update` or `Delete`.
    pub fn request_type(&self) -> &'static str {
        match self.action {
            Action::Create => "Create",
            Action::Update { .. } => "Update",
            Action::Delete { .. } => "Delete",
        }
    }

    /// The account that owns the stack, read from StackId
    /// (`arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<id>`).
    pub fn stack_account(&self) -> Option<&str> {
        self.stack_arn_field(4)
    }

    /// The stack's Region, read from StackId.
    pub fn stack_region(&self) -> Option<&str> {
        self.stack_arn_field(3)
    }

    fn stack_arn_field(&self, at: usize) -> Option<&str> {
        self.stack_id.split(':').nth(at).filter(|field| !field.is_empty())
    }
}

// Properties may carry secrets (an external ID), so they are never printed.
impl<P> fmt::Debug for Request<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("request_type", &self.request_type())
            .field("stack_id", &self.stack_id)
            .field("request_id", &self.request_id)
            .field("logical_resource_id", &self.logical_resource_id)
            .finish_non_exhaustive()
    }
}

/// A successful result.
#[derive(Default)]
pub struct Outcome {
    pub(crate) physical_resource_id: Option<String>,
    pub(crate) data: BTreeMap<String, String>,
    pub(crate) no_echo: bool,
    pub(crate) warning: Option<String>,
}

impl Outcome {
    /// Keeps the event's PhysicalResourceId on Update and Delete. On Create, the ID becomes
    /// `<LogicalResourceId>-<RequestId>`; handlers should name a meaningful one instead.
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the PhysicalResourceId. On Update, an ID different from the event's means the
    /// resource was replaced, and CloudFormation later sends a Delete for the old one.
    pub fn physical_id(mut self, id: impl Into<String>) -> Self {
        self.physical_resource_id = Some(id.into());
        self
    }

    /// Adds a value that the template reads with `Fn::GetAtt`.
    pub fn data(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.data.insert(key.into(), value.into());
        self
    }

    /// Asks CloudFormation to mask the Data values wherever it shows them.
    pub fn no_echo(mut self) -> Self {
        self.no_echo = true;
        self
    }

    /// A note sent as the Reason of the SUCCESS answer, where people see it in the stack events.
    pub fn warning(mut self, text: impl Into<String>) -> Self {
        self.warning = Some(text.into());
        self
    }
}

impl fmt::Debug for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outcome")
            .field("physical_resource_id", &self.physical_resource_id)
            .field("data_keys", &self.data.keys().collect::<Vec<_>>())
            .field("no_echo", &self.no_echo)
            .field("warning", &self.warning)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stack_account_and_region_come_from_the_stack_arn() {
        let request = Request {
            action: Action::<()>::Create,
            properties: (),
            stack_id: "arn:aws:cloudformation:eu-west-1:210987654321:stack/StackSet-roles-1/guid".into(),
            request_id: "r".into(),
            logical_resource_id: "l".into(),
            resource_type: "Custom::X".into(),
            deadline: Instant::now(),
        };
        assert_eq!(request.stack_account(), Some("210987654321"));
        assert_eq!(request.stack_region(), Some("eu-west-1"));
        let nonsense = Request {
            stack_id: "nonsense".into(),
            ..request
        };
        assert_eq!((nonsense.stack_account(), nonsense.stack_region()), (None, None));
    }
}
