//! The PhysicalResourceId of a Create that failed.
//!
//! CloudFormation needs an ID even in a FAILED answer; without one it replaces the Reason with
//! "Invalid PhysicalResourceId" and then sends the rollback's Delete with an ID of its own. We
//! answer a marker instead, derived from the request so that a duplicate delivery answers the same,
//! and a Delete that carries a marker succeeds without touching anything: nothing was created.

const CREATE_FAILED_PREFIX: &str = "vbaws:create-failed:";

pub(crate) fn create_failed_marker(request_id: &str) -> String {
    format!("{CREATE_FAILED_PREFIX}{request_id}")
}

/// True for the marker of a failed Create.
pub fn is_create_failed_marker(physical_resource_id: &str) -> bool {
    physical_resource_id.starts_with(CREATE_FAILED_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_recognised_and_stable() {
        let marker = create_failed_marker("5c2b6d0e");
        assert_eq!(marker, create_failed_marker("5c2b6d0e"));
        assert!(is_create_failed_marker(&marker));
        assert!(!is_create_failed_marker("rxid1-00ff"));
    }
}
