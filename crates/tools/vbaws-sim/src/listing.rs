//! What a request's path and query ask for: the listing parameters and role IDs.

use uuid::Uuid;

use crate::problem::Problem;

/// The query of `GET /accounts/amazon`, its names matched without case (ASP.NET binds query
/// parameters so; inferred, not documented).
#[derive(Debug, Default)]
pub(crate) struct Listing {
    pub offset: usize,
    /// `None` for no limit: `Limit` absent or -1 (guess: the spec allows -1 and says no more).
    pub limit: Option<usize>,
    /// A case-insensitive substring of the name (guess: the spec does not say substring or
    /// wildcard).
    pub search: Option<String>,
    pub sort: Option<Sort>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sort {
    NameAsc,
    NameDesc,
}

impl Listing {
    /// Reads the query's pairs; a value that does not fit its parameter is a 400, as ASP.NET's
    /// model binding answers (the message is a guess).
    pub(crate) fn parse(pairs: &[(String, String)]) -> Result<Self, Problem> {
        let invalid = |name: &str, value: &str| {
            Problem::validation(format!("The value '{value}' is not valid for {name}."))
        };
        let mut listing = Self::default();
        for (name, value) in pairs {
            match name.to_ascii_lowercase().as_str() {
                "offset" => listing.offset = value.parse().map_err(|_| invalid("Offset", value))?,
                "limit" => {
                    listing.limit = match value.parse::<i64>() {
                        Ok(-1) => None,
                        Ok(n) => Some(usize::try_from(n).map_err(|_| invalid("Limit", value))?),
                        Err(_) => return Err(invalid("Limit", value)),
                    };
                }
                "searchpattern" => listing.search = Some(value.to_lowercase()).filter(|v| !v.is_empty()),
                "sort" => {
                    listing.sort = Some(match value.to_ascii_lowercase().as_str() {
                        "nameasc" => Sort::NameAsc,
                        "namedesc" => Sort::NameDesc,
                        _ => return Err(invalid("Sort", value)),
                    });
                }
                _ => {}
            }
        }
        Ok(listing)
    }

    pub(crate) fn matches(&self, name: &str) -> bool {
        self.search
            .as_deref()
            .is_none_or(|pattern| name.to_lowercase().contains(pattern))
    }
}

/// An ID from a path or a body: a UUID in any case, or a 400 naming `field` (guess: ASP.NET's
/// binding of a `Guid` parameter; a route constraint would answer 404 instead).
pub(crate) fn id(text: &str, field: &str) -> Result<String, Problem> {
    Uuid::try_parse(text)
        .map(|id| id.to_string())
        .map_err(|_| Problem::validation(format!("The value '{text}' is not valid for {field}.")))
}

/// A role ID (`IAMRoleId`).
pub(crate) fn role_id(text: &str) -> Result<String, Problem> {
    id(text, "IAMRoleId")
}
