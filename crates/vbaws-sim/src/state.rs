//! The simulated appliance's state: users, tokens, IAM roles, faults, and the request log.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use serde_json::{Value, json};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use tokio::time::Instant;
use uuid::Uuid;

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
    /// The JSON name of a role's AWS account: `awsid` (1.0-rev0) or `awsAccountId`.
    pub account_field: String,
    /// The status for a wrong password (undocumented: 400 or 401).
    pub bad_credentials_status: u16,
    /// The status for deleting a role in use (undocumented: 400 or 409).
    pub in_use_status: u16,
    /// The status of a successful delete (200 in 1.0-rev0; 204 possible later).
    pub delete_status: u16,
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
            account_field: "awsid".into(),
            bad_credentials_status: 401,
            in_use_status: 400,
            delete_status: 200,
        }
    }
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

    fn may_write(&self) -> bool {
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

#[derive(Debug)]
struct Session {
    user: String,
    expires: Instant,
    /// The other token of the pair issued together (access ↔ refresh), ended with it at logout.
    pair: String,
}

#[derive(Debug)]
pub(crate) struct State {
    pub config: Config,
    pub roles: Vec<Role>,
    pub faults: Faults,
    pub log: Vec<LoggedRequest>,
    access: HashMap<String, Session>,
    refresh: HashMap<String, Session>,
    /// Every token ever issued, so tests can look for them where they must not be.
    issued: Vec<String>,
    logins: u64,
}

/// A shared handle on one simulated appliance.
#[derive(Debug, Clone)]
pub struct Sim(Arc<Mutex<State>>);

/// An error answer: status, Veeam's problem name, title and details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub status: u16,
    pub kind: &'static str,
    pub error_code: &'static str,
    pub title: &'static str,
    pub details: String,
}

impl Problem {
    pub(crate) fn new(
        status: u16,
        kind: &'static str,
        error_code: &'static str,
        title: &'static str,
        details: impl Into<String>,
    ) -> Self {
        Self {
            status,
            kind,
            error_code,
            title,
            details: details.into(),
        }
    }

    pub(crate) fn validation(details: impl Into<String>) -> Self {
        Self::new(
            400,
            "validationError",
            "UnknownError",
            "Validation error",
            details,
        )
    }

    fn not_found(id: &str) -> Self {
        Self::new(
            404,
            "resourceNotFound",
            "NotFound",
            "Resource not found",
            format!("IAM role {id} was not found."),
        )
    }
}

impl Sim {
    /// An appliance with `config`, holding only its built-in default role (its name is a guess).
    pub fn new(config: Config) -> Self {
        let default_role = Role {
            id: new_id(),
            name: "Default Backup Restore".into(),
            description: Some("The appliance's own role".into()),
            account_id: config.appliance_account.clone(),
            role_name: "Default Backup Restore".into(),
            external_id: None,
            is_default: true,
            used_by: Vec::new(),
        };
        Self(Arc::new(Mutex::new(State {
            config,
            roles: vec![default_role],
            faults: Faults::default(),
            log: Vec::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            issued: Vec::new(),
            logins: 0,
        })))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Replaces the faults to inject.
    pub fn set_faults(&self, faults: Faults) {
        self.lock().faults = faults;
    }

    /// The faults still to inject: a count falls as soon as a request is picked for its fault.
    pub fn faults(&self) -> Faults {
        self.lock().faults.clone()
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.lock().log.clone()
    }

    /// Password logins so far.
    pub fn logins(&self) -> u64 {
        self.lock().logins
    }

    /// Every access, refresh and MFA token issued so far.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.lock().issued.clone()
    }

    /// Every registered role, the default one included.
    pub fn roles(&self) -> Vec<Role> {
        self.lock().roles.clone()
    }

    /// Registers a role directly, as a person would in the web UI.
    pub fn add_role(
        &self,
        name: &str,
        account_id: &str,
        role_name: &str,
        external_id: Option<&str>,
    ) -> String {
        let role = Role {
            id: new_id(),
            name: name.into(),
            description: None,
            account_id: account_id.into(),
            role_name: role_name.into(),
            external_id: external_id.map(Into::into),
            is_default: false,
            used_by: Vec::new(),
        };
        let id = role.id.clone();
        self.lock().roles.push(role);
        id
    }

    /// Marks a role as used by a policy, so that it cannot be deleted.
    pub fn mark_in_use(&self, id: &str, by: &str) {
        if let Some(role) = self.lock().roles.iter_mut().find(|r| r.id == id) {
            role.used_by.push(by.into());
        }
    }

    /// Makes every access token expired, as if their lifetime had passed.
    pub fn expire_access_tokens(&self) {
        let now = Instant::now();
        self.lock().access.values_mut().for_each(|s| s.expires = now);
    }

    /// Forgets every refresh token, as after a restart of the appliance's service.
    pub fn revoke_refresh_tokens(&self) {
        self.lock().refresh.clear();
    }

    /// Changes a user's password, as an administrator rotating it would.
    pub fn set_password(&self, user: &str, password: &str) {
        if let Some(u) = self.lock().config.users.iter_mut().find(|u| u.name == user) {
            u.password = password.into();
        }
    }
}

impl State {
    /// The password grant. A refusal's status is a setting; its body's wording is a guess.
    pub(crate) fn login(&mut self, username: &str, password: &str) -> Result<Value, Problem> {
        let user = self
            .config
            .users
            .iter()
            .find(|u| u.name == username && u.password == password)
            .cloned();
        let Some(user) = user else {
            let status = self.config.bad_credentials_status;
            return Err(Problem::new(
                status,
                "accessDenied",
                "AccessDenied",
                "Access denied",
                "Invalid username or password.",
            ));
        };
        self.logins += 1;
        if user.mfa {
            let mfa_token = new_id();
            self.issued.push(mfa_token.clone());
            return Ok(
                json!({"mfa_enabled": true, "mfa_token": mfa_token, "access_token": null, "username": user.name}),
            );
        }
        Ok(self.issue(&user))
    }

    /// The refresh grant; a refresh token is good once. 400 for a dead one is a guess (OAuth's
    /// `invalid_grant` is 400).
    pub(crate) fn refresh(&mut self, token: &str) -> Result<Value, Problem> {
        let now = Instant::now();
        let session = self.refresh.remove(token).filter(|s| s.expires > now);
        let user = session.and_then(|s| self.config.users.iter().find(|u| u.name == s.user).cloned());
        match user {
            Some(user) => Ok(self.issue(&user)),
            None => Err(Problem::new(
                400,
                "invalidAccessToken",
                "InvalidToken",
                "Invalid token",
                "The refresh token is invalid or expired.",
            )),
        }
    }

    fn issue(&mut self, user: &User) -> Value {
        let (access, refresh) = (new_id(), new_id());
        self.issued.extend([access.clone(), refresh.clone()]);
        let now = Instant::now();
        let ttl = self.config.access_token_ttl;
        self.access.insert(
            access.clone(),
            Session {
                user: user.name.clone(),
                expires: now + ttl,
                pair: refresh.clone(),
            },
        );
        self.refresh.insert(
            refresh.clone(),
            Session {
                user: user.name.clone(),
                expires: now + self.config.refresh_token_ttl,
                pair: access.clone(),
            },
        );
        let issued = OffsetDateTime::now_utc();
        let expires = issued + ttl;
        // The spec's RESTLogin: the dotted names are part of the JSON.
        json!({
            "access_token": access, "token_type": "bearer", "refresh_token": refresh,
            "expires_in": ttl.as_secs(), ".issued": rfc3339(issued), ".expires": rfc3339(expires),
            "username": user.name, "roleName": user.role.name(), "mfa_enabled": false, "mfa_token": null
        })
    }

    /// `DELETE /token`: ends the access token and the refresh token issued with it. The spec
    /// says 204; that the refresh token ends too is a guess.
    pub(crate) fn logout(&mut self, token: Option<&str>) -> Result<(), Problem> {
        self.authorize(token, false)?;
        if let Some(session) = token.and_then(|t| self.access.remove(t)) {
            self.refresh.remove(&session.pair);
        }
        Ok(())
    }

    /// The user a bearer token belongs to, if it may do this. The problem names are the spec's;
    /// the details' wording is a guess.
    pub(crate) fn authorize(&self, token: Option<&str>, write: bool) -> Result<(), Problem> {
        let Some(session) = token.and_then(|t| self.access.get(t)) else {
            return Err(Problem::new(
                401,
                "invalidAccessToken",
                "InvalidToken",
                "Unauthorized",
                "The access token is missing or invalid.",
            ));
        };
        if session.expires <= Instant::now() {
            return Err(Problem::new(
                401,
                "expiredAccessToken",
                "ExpiredToken",
                "Unauthorized",
                "The access token has expired.",
            ));
        }
        let may_write = self
            .config
            .users
            .iter()
            .find(|u| u.name == session.user)
            .is_some_and(User::may_write);
        if write && !may_write {
            return Err(Problem::new(
                403,
                "accessDenied",
                "AccessDenied",
                "Forbidden",
                "Your role does not allow this operation.",
            ));
        }
        Ok(())
    }

    /// Uses up one injected listing failure, if any is left.
    pub(crate) fn take_list_failure(&mut self) -> Result<(), Problem> {
        if self.faults.list_failures == 0 {
            return Ok(());
        }
        self.faults.list_failures -= 1;
        Err(Problem::new(
            500,
            "unknownError",
            "UnknownError",
            "Internal server error",
            "The IAM roles could not be read.",
        ))
    }

    /// One page of the roles that match the listing's `SearchPattern`, in its order.
    /// `totalCount` counts the matches, not the page (guess: the spec calls it the total).
    pub(crate) fn page(&self, listing: &Listing) -> Value {
        let mut matches: Vec<&Role> = self.roles.iter().filter(|r| listing.matches(&r.name)).collect();
        match listing.sort {
            Some(Sort::NameAsc) => matches.sort_by_key(|r| r.name.to_lowercase()),
            Some(Sort::NameDesc) => {
                matches.sort_by_key(|r| std::cmp::Reverse(r.name.to_lowercase()));
            }
            None => {}
        }
        let limit = listing.limit.unwrap_or(usize::MAX);
        let results: Vec<Value> = matches
            .iter()
            .skip(listing.offset)
            .take(limit.min(self.config.max_page_size))
            .map(|r| self.render(r))
            .collect();
        json!({"results": results, "totalCount": matches.len(), "_links": [{"rel": "self", "method": "GET", "href": "/api/v1/accounts/amazon"}]})
    }

    pub(crate) fn get(&self, id: &str) -> Result<Value, Problem> {
        self.roles
            .iter()
            .find(|r| r.id == id)
            .map(|r| self.render(r))
            .ok_or_else(|| Problem::not_found(id))
    }

    /// Names are unique without regard to case (guess: the web UI refuses a name that differs in
    /// case only; the API was not seen doing either).
    pub(crate) fn validate_name(&self, name: &str, except: Option<&str>) -> Vec<Value> {
        if name.trim().is_empty() {
            return vec![
                json!({"severity": "Error", "message": "The name must not be empty.", "contextId": new_id()}),
            ];
        }
        if name.chars().count() > 255 {
            return vec![
                json!({"severity": "Error", "message": "The name must be at most 255 characters.", "contextId": new_id()}),
            ];
        }
        if self
            .roles
            .iter()
            .any(|r| r.name.eq_ignore_ascii_case(name) && Some(r.id.as_str()) != except)
        {
            return vec![
                json!({"severity": "Error", "message": format!("An IAM role with the name '{name}' already exists."), "contextId": new_id()}),
            ];
        }
        Vec::new()
    }

    /// POST (`id` None) or PUT of a role spec.
    pub(crate) fn save(&mut self, id: Option<&str>, spec: &Value) -> Result<Value, Problem> {
        if let Some(id) = id
            && !self.roles.iter().any(|r| r.id == id)
        {
            return Err(Problem::not_found(id));
        }
        let name = spec["name"].as_str().unwrap_or_default().to_owned();
        let other = &spec["IAMRoleFromAnotherAccount"];
        let (account_id, role_name) = (
            other["accountId"].as_str().unwrap_or_default(),
            other["roleName"].as_str().unwrap_or_default(),
        );
        if let Some(problem) = self.validate_name(&name, id).first() {
            return Err(Problem::validation(
                problem["message"].as_str().unwrap_or_default(),
            ));
        }
        if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) || role_name.is_empty() {
            return Err(Problem::validation(
                "IAMRoleFromAnotherAccount needs a 12-digit accountId and a roleName.",
            ));
        }
        if self.faults.assume_failures > 0 {
            self.faults.assume_failures -= 1;
            // The wording is a guess; the client recognises it by "assume".
            return Err(Problem::validation(format!(
                "Failed to assume role arn:aws:iam::{account_id}:role/{role_name}: AccessDenied, not authorized to perform sts:AssumeRole."
            )));
        }
        let saved = Role {
            id: id.map_or_else(new_id, str::to_owned),
            name,
            description: spec["description"].as_str().map(str::to_owned),
            account_id: account_id.to_owned(),
            role_name: role_name.to_owned(),
            external_id: other["externalId"].as_str().map(str::to_owned),
            is_default: false,
            used_by: Vec::new(),
        };
        let rendered = self.render(&saved);
        match self.roles.iter_mut().find(|r| Some(r.id.as_str()) == id) {
            Some(existing) => {
                let used_by = std::mem::take(&mut existing.used_by);
                *existing = Role { used_by, ..saved };
            }
            None => self.roles.push(saved),
        }
        Ok(rendered)
    }

    pub(crate) fn validate_delete(&self, id: &str) -> Result<Vec<Value>, Problem> {
        let role = self
            .roles
            .iter()
            .find(|r| r.id == id)
            .ok_or_else(|| Problem::not_found(id))?;
        let mut messages: Vec<Value> = role
            .used_by
            .iter()
            .map(|by| json!({"severity": "Error", "message": format!("The IAM role is in use by {by}."), "contextId": new_id()}))
            .collect();
        if role.is_default {
            messages.push(json!({"severity": "Error", "message": "The default IAM role cannot be removed.", "contextId": new_id()}));
        }
        Ok(messages)
    }

    pub(crate) fn delete(&mut self, id: &str) -> Result<(), Problem> {
        let messages = self.validate_delete(id)?;
        if let Some(blocker) = messages.first() {
            let status = self.config.in_use_status;
            let details = blocker["message"].as_str().unwrap_or_default().to_owned();
            return Err(Problem::new(
                status,
                "validationError",
                "UnknownError",
                "The IAM role cannot be removed",
                details,
            ));
        }
        self.roles.retain(|r| r.id != id);
        Ok(())
    }

    fn render(&self, role: &Role) -> Value {
        let mut value = json!({
            "id": role.id,
            "name": role.name,
            "description": role.description,
            "regionType": "Global", // guess: the spec's enum, the value for commercial Regions
            "_links": [
                {"method": "GET", "rel": "self", "href": format!("/api/v1/accounts/amazon/{}", role.id)},
                {"method": "PUT", "rel": "update", "href": format!("/api/v1/accounts/amazon/{}", role.id)},
                {"method": "DELETE", "rel": "delete", "href": format!("/api/v1/accounts/amazon/{}", role.id)}
            ]
        });
        value[&self.config.account_field] = json!(role.account_id);
        let parent = self.roles.first().map(|r| r.id.clone()).unwrap_or_default();
        if role.is_default {
            value["IAMRole"] =
                json!({"parentAmazonAccountId": parent, "roleName": role.role_name, "isDefault": true});
        } else {
            value["IAMRoleFromAnotherAccount"] = json!({"parentAmazonAccountId": parent, "accountId": role.account_id, "roleName": role.role_name});
        }
        value
    }

    /// Takes the next fault to inject for a request, if any.
    pub(crate) fn take_fault(&mut self) -> Option<Injected> {
        let faults = &mut self.faults;
        let counters: [(&mut u32, Injected); 3] = [
            (&mut faults.hangs, Injected::Hang),
            (&mut faults.drops, Injected::Drop),
            (&mut faults.unavailable, Injected::Unavailable),
        ];
        for (count, fault) in counters {
            if *count > 0 {
                *count -= 1;
                return Some(fault);
            }
        }
        None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Injected {
    Hang,
    Drop,
    Unavailable,
}

fn new_id() -> String {
    Uuid::new_v4().to_string()
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

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

    fn matches(&self, name: &str) -> bool {
        self.search
            .as_deref()
            .is_none_or(|pattern| name.to_lowercase().contains(pattern))
    }
}

/// A role ID from a path: a UUID in any case, or a 400 (guess: ASP.NET's binding of a `Guid`
/// parameter; a route constraint would answer 404 instead).
pub(crate) fn role_id(text: &str) -> Result<String, Problem> {
    Uuid::try_parse(text)
        .map(|id| id.to_string())
        .map_err(|_| Problem::validation(format!("The value '{text}' is not valid for IAMRoleId.")))
}
