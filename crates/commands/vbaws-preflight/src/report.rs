//! The checklist: one line per check, for people or as JSON.

use std::fmt::Write as _;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

/// One line of the checklist.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// A stable name, for scripts: `trusted-access`, `s3-path`, …
    pub name: &'static str,
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do, on fail (and on skip, how to check it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn pass(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            status: Status::Pass,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            name,
            status: Status::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn skip(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            status: Status::Skip,
            detail: detail.into(),
            fix: None,
        }
    }

    /// A skip that says how to check it another way.
    pub fn with_fix(self, fix: impl Into<String>) -> Self {
        Self {
            fix: Some(fix.into()),
            ..self
        }
    }
}

/// The schema the JSON document follows (`schemas/vbaws-preflight.v1.json`), named in it.
pub const SCHEMA: &str = "vbaws-preflight.v1";

#[derive(Debug, Clone)]
pub struct Report {
    pub checks: Vec<Check>,
}

/// As JSON: `{"schema", "passed", "failed", "skipped", "checks"}`.
impl Serialize for Report {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(5))?;
        map.serialize_entry("schema", SCHEMA)?;
        map.serialize_entry("passed", &self.count(Status::Pass))?;
        map.serialize_entry("failed", &self.count(Status::Fail))?;
        map.serialize_entry("skipped", &self.count(Status::Skip))?;
        map.serialize_entry("checks", &self.checks)?;
        map.end()
    }
}

impl Report {
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.status == Status::Fail)
    }

    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    pub fn text(&self) -> String {
        let mut out = String::new();
        for check in &self.checks {
            let mark = match check.status {
                Status::Pass => "pass",
                Status::Fail => "FAIL",
                Status::Skip => "skip",
            };
            let _ = writeln!(out, "{mark}  {:<20} {}", check.name, check.detail);
            if let Some(fix) = &check.fix {
                let _ = writeln!(out, "      {:<20} → {fix}", "");
            }
        }
        let _ = writeln!(
            out,
            "\n{} passed, {} failed, {} skipped",
            self.count(Status::Pass),
            self.count(Status::Fail),
            self.count(Status::Skip)
        );
        out
    }

    fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }
}
