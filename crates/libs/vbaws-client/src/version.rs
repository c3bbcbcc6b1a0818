//! The `x-api-version` revisions the client knows, newest first. This list is the only place
//! they are named; the README's configuration section is checked against it.

/// Revisions this client can speak, newest first. The IAM-role endpoints and bodies it uses are
/// the same in all of them, as far as the published references and changelogs show (1.9-rev0:
/// linked from the Veeam Backup & Replication 13.1 documentation; its IAM-role pages were not
/// seen, so it is tried first and left behind on the first version error).
pub const KNOWN_REVISIONS: &[&str] = &[
    "1.9-rev0", "1.8-rev0", "1.7-rev0", "1.6-rev0", "1.5-rev1", "1.5-rev0", "1.4-rev0",
];
