//! The settings of a simulated appliance, and what tests read back from it.

use std::time::Duration;

use crate::VersionRefusal;

/// Settings of a simulated appliance. Where the real API's behaviour is undocumented, the choice
/// is a setting, so tests can try both answers.
#[derive(Debug, Clone)]
pub struct Config {
    /// `x-api-version` values accepted; anything else is refused.
    pub accepted_versions: Vec<String>,
    /// How a refused revision is answered (undocumented: each shape is a guess).
    pub version_refusal: VersionRefusal,
    /// The status of that answer: 400, API Versioning's default (guess; 404 is possible).
    pub version_refusal_status: u16,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub users: Vec<User>,
    /// The account the appliance runs in (its default role's account).
    pub appliance_account: String,
    /// Most roles one page holds, whatever `Limit` asks for.
    pub max_page_size: usize,
    /// The JSON name of a role's AWS account (by default, as the request's revision has it).
    pub account_field: AccountField,
    /// The status for a wrong password (undocumented: 400 or 401).
    pub bad_credentials_status: u16,
    /// The status for deleting a role in use (undocumented: 400 or 409).
    pub in_use_status: u16,
    /// The status of a successful delete (200 in 1.0-rev0; 204 possible later).
    pub delete_status: u16,
    /// The shape of error answers (Veeam's documented one, or ASP.NET Core's).
    pub problem_shape: ProblemShape,
}

/// How error answers are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ProblemShape {
    /// Veeam's documented shape: `type`, `title`, `status`, `errorCode`, `details`.
    #[default]
    Veeam,
    /// ASP.NET Core's problem details, as a third-party client decodes the appliance's errors:
    /// `type`, `title`, `status`, `detail`, `errors` (messages by field), `traceId`; no
    /// `errorCode`. Whether and where the appliance answers so is a guess.
    AspNet,
}

impl Config {
    /// An 11.0 appliance (11.0.0.85, the first to speak 1.9-rev0, the newest revision there is).
    /// Its window is not published (guess: the four newest revisions, as for 10.x).
    pub fn appliance_11() -> Self {
        Self {
            accepted_versions: ["1.9-rev0", "1.8-rev0", "1.7-rev0", "1.6-rev0"]
                .map(String::from)
                .to_vec(),
            ..Self::default()
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            // A 10.x appliance. Its window is not published (guess: four revisions, as the 7.0
            // and 8.0 tables list).
            accepted_versions: ["1.8-rev0", "1.7-rev0", "1.6-rev0", "1.5-rev1"]
                .map(String::from)
                .to_vec(),
            version_refusal: VersionRefusal::default(),
            version_refusal_status: 400,
            access_token_ttl: Duration::from_secs(3600),
            refresh_token_ttl: Duration::from_secs(7200),
            users: vec![User::admin("admin", "admin-password")],
            appliance_account: "111111111111".into(),
            max_page_size: 100,
            account_field: AccountField::ByRevision,
            bad_credentials_status: 401,
            in_use_status: 400,
            delete_status: 200,
            problem_shape: ProblemShape::Veeam,
        }
    }
}

/// The JSON name of a role's AWS account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountField {
    /// `awsid`, as 1.0-rev0 names it.
    Awsid,
    /// `awsAccountId`, as clients of 1.5-rev0 and 1.8-rev0 read it.
    AwsAccountId,
    /// As the request's `x-api-version` has it: `awsAccountId` from 1.5-rev0 on, `awsid` before
    /// (seen for 1.0-rev0; 1.1 to 1.4 are a guess) and when no revision is sent.
    ByRevision,
}

impl AccountField {
    /// The field a request of `revision` reads.
    pub fn for_revision(self, revision: Option<&str>) -> Self {
        match self {
            Self::ByRevision => {
                let newer = revision
                    .and_then(revision_number)
                    .is_some_and(|number| number >= (1, 5));
                if newer { Self::AwsAccountId } else { Self::Awsid }
            }
            fixed => fixed,
        }
    }
}

/// `1.8-rev0` as (1, 8).
fn revision_number(revision: &str) -> Option<(u32, u32)> {
    let (major, rest) = revision.split_once('.')?;
    let minor = rest.split('-').next()?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// An appliance user.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub password: String,
    pub role: UserRole,
    pub mfa: bool,
}

impl User {
    pub fn admin(name: &str, password: &str) -> Self {
        Self {
            name: name.into(),
            password: password.into(),
            role: UserRole::PortalAdministrator,
            mfa: false,
        }
    }

    pub fn operator(name: &str, password: &str) -> Self {
        Self {
            role: UserRole::PortalOperator,
            ..Self::admin(name, password)
        }
    }

    pub fn with_mfa(name: &str, password: &str) -> Self {
        Self {
            mfa: true,
            ..Self::admin(name, password)
        }
    }

    pub(crate) fn may_write(&self) -> bool {
        self.role == UserRole::PortalAdministrator
    }
}

/// The appliance's user roles that matter here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserRole {
    /// May write.
    PortalAdministrator,
    /// May only read.
    PortalOperator,
}

impl UserRole {
    /// As the token answer's `roleName` says it.
    pub fn name(self) -> &'static str {
        match self {
            Self::PortalAdministrator => "Portal Administrator",
            Self::PortalOperator => "Portal Operator",
        }
    }
}

/// A registered IAM role, with the external ID the API never returns.
#[derive(Debug, Clone)]
pub struct Role {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub account_id: String,
    pub role_name: String,
    pub external_id: Option<String>,
    pub is_default: bool,
    /// Policies or repositories that use the role; a role in use cannot be deleted.
    pub used_by: Vec<String>,
}

/// Misbehaviour on request. Each count is used up one request at a time.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Answer this many requests with 503.
    pub unavailable: u32,
    /// Fail this many creates and updates with "cannot assume role", as the appliance does while
    /// a new IAM role has not propagated yet.
    pub assume_failures: u32,
    /// Answer this many role listings (`GET /accounts/amazon`) with 500, a failure no retry
    /// cures.
    pub list_failures: u32,
    /// Answer this many role updates (`PUT /accounts/amazon/{id}`) with 500, as an appliance
    /// in trouble might; no retry cures it, so the stack's update fails and rolls back.
    pub update_failures: u32,
    /// Added to every answer.
    pub latency: Duration,
    /// Break this many connections mid-answer.
    pub drops: u32,
    /// Never answer this many requests.
    pub hangs: u32,
}

/// One request as the appliance saw it. Bodies are never kept: they hold passwords.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub revision: Option<String>,
    pub status: u16,
}
