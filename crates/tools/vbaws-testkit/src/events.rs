//! Custom-resource events for tests, built by `vbaws-template`'s one event builder: a resource
//! in a member account's stack, as the roles StackSet makes it.

pub use vbaws_template::event::{Event, StackResource, request_id, stack_id, stringify};

/// The account the tests' stacks run in unless they say otherwise.
pub const ACCOUNT: &str = "123456789012";
/// The name of the tests' stacks: a stack instance of the StackSet `vbaws-veeam-roles`.
pub const STACK_NAME: &str = "StackSet-vbaws-veeam-roles-0a1b2c3d";
/// The ServiceToken of the tests' custom resources.
pub const SERVICE_TOKEN: &str = "arn:aws:lambda:us-east-1:111111111111:function:vbaws-function";

/// A custom resource of `resource_type` in a stack of account 123456789012, us-east-1.
pub fn resource(resource_type: &str, logical_resource_id: &str) -> StackResource {
    resource_in(ACCOUNT, resource_type, logical_resource_id)
}

/// The same, in a stack of `account`.
pub fn resource_in(account: &str, resource_type: &str, logical_resource_id: &str) -> StackResource {
    StackResource::new(
        stack_id(account, "us-east-1", STACK_NAME),
        logical_resource_id,
        resource_type,
        SERVICE_TOKEN,
    )
}
