//! The `x-api-version` revisions the client knows, newest first.

/// Revisions this client can speak, newest first. The IAM-role endpoints and bodies it uses are
/// the same in all of them.
pub const KNOWN_REVISIONS: &[&str] = &[
    "1.8-rev0", "1.7-rev0", "1.6-rev0", "1.5-rev1", "1.5-rev0", "1.4-rev0",
];
