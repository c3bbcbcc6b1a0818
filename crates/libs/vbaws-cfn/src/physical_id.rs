//! The PhysicalResourceId of a Create that failed.
//!
//! CloudFormation needs an ID even in a FAILED answer; without one it replaces the Reason with
//! "Invalid PhysicalResourceId" and then sends the rollback's Delete with an ID of its own. We
//! answer a marker instead, derived from the request so that a duplicate delivery answers the same,
//! and a Delete that carries a marker succeeds without touching anything: nothing was created.

const CREATE_FAILED_PREFIX: &str = "vbaws:create-failed:";

/// CloudFormation's RequestIds are UUIDs; a longer one (only a forged event has one) is cut so
/// that the marker stays a valid PhysicalResourceId.
const LONGEST_REQUEST_ID: usize = 512;

pub(crate) fn create_failed_marker(request_id: &str) -> String {
    let mut end = request_id.len().min(LONGEST_REQUEST_ID);
    while !request_id.is_char_boundary(end) {
        end -= 1;
    }
    format!("{CREATE_FAILED_PREFIX}{}", &request_id[..end])
}

/// True for an ID CloudFormation accepts: not empty, at most 1 KB.
pub(crate) fn is_valid(id: &str) -> bool {
    !id.is_empty() && id.len() <= crate::MAX_PHYSICAL_ID_BYTES
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

    #[test]
    fn a_marker_stays_a_valid_physical_id_whatever_the_request_id() {
        for request_id in ["", "é".repeat(700).as_str(), "x".repeat(3000).as_str()] {
            let marker = create_failed_marker(request_id);
            assert!(marker.len() <= crate::MAX_PHYSICAL_ID_BYTES && is_create_failed_marker(&marker));
        }
    }
}
