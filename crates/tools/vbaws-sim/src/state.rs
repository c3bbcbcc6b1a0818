//! The simulated appliance's state: users, tokens, IAM roles, faults, and the request log.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use tokio::time::Instant;

use crate::chaos::{Chaos, Draws};
use crate::config::{AccountField, Config, Faults, LoggedRequest, Role, User};
pub(crate) use crate::problem::Problem;
use crate::workers::{WorkerConfiguration, Workers};
use crate::{
    bodies::{Account, CrossAccount, Link, Login, Message, OwnRole, Page, RoleSpec},
    listing::{Listing, Sort},
};

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
    /// The appliance's initial account, every role's `parentAmazonAccountId` (documented as an
    /// object of its own, not the default role).
    initial_account: String,
    pub roles: Vec<Role>,
    pub faults: Faults,
    pub draws: Draws,
    pub log: Vec<LoggedRequest>,
    pub workers: Workers,
    access: HashMap<String, Session>,
    refresh: HashMap<String, Session>,
    /// Every token ever issued, so tests can look for them where they must not be.
    issued: Vec<String>,
    logins: u64,
}

/// How the caller sees the appliance: links are absolute, on the host it asked for (the
/// documented examples: `https://<host>:11005/api/v1/…`), and a role's account field is the
/// one its revision reads.
#[derive(Debug, Clone, Default)]
pub(crate) struct View {
    /// `https://<Host header>`.
    pub base: String,
    /// The request's `x-api-version`.
    pub revision: Option<String>,
}

impl View {
    pub(crate) fn href(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// A shared handle on one simulated appliance.
#[derive(Debug, Clone)]
pub struct Sim(Arc<Mutex<State>>);

impl Sim {
    /// An appliance with `config`, holding only its built-in default role (its name is a guess).
    pub fn new(config: Config) -> Self {
        // The documented example: description "Default Backup Restore", a role name AWS
        // generated (its shape here is a guess), the registration's name a guess.
        let default_role = Role {
            id: new_id(),
            name: "Default Backup Restore".into(),
            description: Some("Default Backup Restore".into()),
            account_id: config.appliance_account.clone(),
            role_name: "VeeamBackupAppliance-DefaultRole-1Q2W3E4R5T6Y".into(),
            external_id: None,
            is_default: true,
            used_by: Vec::new(),
        };
        Self(Arc::new(Mutex::new(State {
            config,
            initial_account: new_id(),
            roles: vec![default_role],
            faults: Faults::default(),
            draws: Draws::default(),
            log: Vec::new(),
            workers: Workers::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            issued: Vec::new(),
            logins: 0,
        })))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The production worker configurations, in the order they were made.
    pub fn worker_configurations(&self) -> Vec<WorkerConfiguration> {
        self.lock().workers.configurations.clone()
    }

    /// Replaces the faults to inject.
    pub fn set_faults(&self, faults: Faults) {
        self.lock().faults = faults;
    }

    /// Replaces the fault rates, the login latency and the propagation time, and reseeds the
    /// draws from `chaos.seed`.
    pub fn set_chaos(&self, chaos: Chaos) {
        self.lock().draws = Draws::new(chaos);
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

    /// The registrations: every role but the appliance's own.
    pub fn registrations(&self) -> Vec<Role> {
        self.roles().into_iter().filter(|r| !r.is_default).collect()
    }

    /// The names of the registrations, sorted.
    pub fn registration_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.registrations().into_iter().map(|r| r.name).collect();
        names.sort();
        names
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

    /// Sets a role's description, as a client's PUT would.
    pub fn describe_role(&self, id: &str, description: &str) {
        if let Some(role) = self.lock().roles.iter_mut().find(|r| r.id == id) {
            role.description = Some(description.into());
        }
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
    pub(crate) fn login(&mut self, username: &str, password: &str) -> Result<Login, Problem> {
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
            return Ok(Login {
                access_token: None,
                token_type: None,
                refresh_token: None,
                expires_in: None,
                issued: None,
                expires: None,
                username: user.name,
                role_name: None,
                mfa_enabled: true,
                mfa_token: Some(mfa_token),
            });
        }
        Ok(self.issue(&user))
    }

    /// The refresh grant; a refresh token is good once. 400 for a dead one is a guess (OAuth's
    /// `invalid_grant` is 400).
    pub(crate) fn refresh(&mut self, token: &str) -> Result<Login, Problem> {
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

    fn issue(&mut self, user: &User) -> Login {
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
        Login {
            access_token: Some(access),
            // Guess: OAuth's convention; the spec shows no value.
            token_type: Some("bearer"),
            refresh_token: Some(refresh),
            expires_in: Some(ttl.as_secs()),
            issued: Some(rfc3339(issued)),
            expires: Some(rfc3339(issued + ttl)),
            username: user.name.clone(),
            role_name: Some(user.role.name()),
            mfa_enabled: false,
            mfa_token: None,
        }
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

    /// Uses up one injected update failure, if any is left. The wording is a guess.
    pub(crate) fn take_update_failure(&mut self) -> Result<(), Problem> {
        if self.faults.update_failures == 0 {
            return Ok(());
        }
        self.faults.update_failures -= 1;
        Err(Problem::new(
            500,
            "unknownError",
            "UnknownError",
            "Internal server error",
            "The IAM role could not be saved.",
        ))
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
    pub(crate) fn page(&self, listing: &Listing, view: &View) -> Page {
        let mut matches: Vec<&Role> = self.roles.iter().filter(|r| listing.matches(&r.name)).collect();
        match listing.sort {
            Some(Sort::NameAsc) => matches.sort_by_key(|r| r.name.to_lowercase()),
            Some(Sort::NameDesc) => {
                matches.sort_by_key(|r| std::cmp::Reverse(r.name.to_lowercase()));
            }
            None => {}
        }
        let limit = listing.limit.unwrap_or(usize::MAX);
        let results = matches
            .iter()
            .skip(listing.offset)
            .take(limit.min(self.config.max_page_size))
            .map(|r| self.render(r, view))
            .collect();
        let href = view.href("/api/v1/accounts/amazon");
        Page {
            results,
            total_count: matches.len(),
            links: vec![
                Link {
                    method: "GET",
                    rel: "self",
                    href: href.clone(),
                },
                Link {
                    method: "POST",
                    rel: "create",
                    href,
                },
            ],
        }
    }

    pub(crate) fn get(&self, id: &str, view: &View) -> Result<Account, Problem> {
        self.roles
            .iter()
            .find(|r| r.id == id)
            .map(|r| self.render(r, view))
            .ok_or_else(|| Problem::not_found("IAM role", id))
    }

    /// Names are unique without regard to case (guess: the web UI refuses a name that differs in
    /// case only; the API was not seen doing either).
    pub(crate) fn validate_name(&self, name: &str, except: Option<&str>) -> Vec<Message> {
        let problem = if name.trim().is_empty() {
            "The name must not be empty.".to_owned()
        } else if name.chars().count() > 255 {
            "The name must be at most 255 characters.".to_owned()
        } else if self
            .roles
            .iter()
            .any(|r| r.name.eq_ignore_ascii_case(name) && Some(r.id.as_str()) != except)
        {
            format!("An IAM role with the name '{name}' already exists.")
        } else {
            return Vec::new();
        };
        vec![error_message(problem)]
    }

    /// POST (`id` None) or PUT of a role spec.
    pub(crate) fn save(&mut self, id: Option<&str>, spec: RoleSpec, view: &View) -> Result<Account, Problem> {
        if let Some(id) = id
            && !self.roles.iter().any(|r| r.id == id)
        {
            return Err(Problem::not_found("IAM role", id));
        }
        let RoleSpec {
            name,
            description,
            cross_account: other,
        } = spec;
        let (account_id, role_name) = (other.account_id.as_str(), other.role_name.as_str());
        if let Some(problem) = self.validate_name(&name, id).into_iter().next() {
            return Err(Problem::validation(problem.message));
        }
        // The REST reference's maxLength for AmazonAccountCreateSpec.description.
        if description.as_ref().is_some_and(|d| d.chars().count() > 512) {
            return Err(Problem::validation(
                "The description must be at most 512 characters.",
            ));
        }
        if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) || role_name.is_empty() {
            return Err(Problem::validation(
                "IAMRoleFromAnotherAccount needs a 12-digit accountId and a roleName.",
            ));
        }
        let propagating = self.draws.propagating(account_id, role_name);
        if self.faults.assume_failures > 0 || propagating {
            self.faults.assume_failures = self.faults.assume_failures.saturating_sub(1);
            // The wording is a guess; the client recognises it by "assume".
            return Err(Problem::validation(format!(
                "Failed to assume role arn:aws:iam::{account_id}:role/{role_name}: AccessDenied, not authorized to perform sts:AssumeRole."
            )));
        }
        let saved = Role {
            id: id.map_or_else(new_id, str::to_owned),
            name,
            description,
            account_id: account_id.to_owned(),
            role_name: role_name.to_owned(),
            external_id: other.external_id,
            is_default: false,
            used_by: Vec::new(),
        };
        let rendered = self.render(&saved, view);
        match self.roles.iter_mut().find(|r| Some(r.id.as_str()) == id) {
            Some(existing) => {
                let used_by = std::mem::take(&mut existing.used_by);
                *existing = Role { used_by, ..saved };
            }
            None => self.roles.push(saved),
        }
        Ok(rendered)
    }

    pub(crate) fn validate_delete(&self, id: &str) -> Result<Vec<Message>, Problem> {
        let role = self
            .roles
            .iter()
            .find(|r| r.id == id)
            .ok_or_else(|| Problem::not_found("IAM role", id))?;
        let mut messages: Vec<Message> = role
            .used_by
            .iter()
            .map(|by| error_message(format!("The IAM role is in use by {by}.")))
            .collect();
        // Guess: a production worker configuration holds on to its role as a policy does.
        if let Some(user) = self.workers.user_of(id) {
            messages.push(error_message(format!(
                "The IAM role is in use by the production worker configuration of account {} in region {}.",
                user.account_id, user.region
            )));
        }
        if role.is_default {
            messages.push(error_message("The default IAM role cannot be removed.".into()));
        }
        Ok(messages)
    }

    pub(crate) fn delete(&mut self, id: &str) -> Result<(), Problem> {
        let messages = self.validate_delete(id)?;
        if let Some(blocker) = messages.into_iter().next() {
            let status = self.config.in_use_status;
            let details = blocker.message;
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

    fn render(&self, role: &Role, view: &View) -> Account {
        let href = view.href(&format!("/api/v1/accounts/amazon/{}", role.id));
        let link = |method, rel| Link {
            method,
            rel,
            href: href.clone(),
        };
        let parent = self.initial_account.clone();
        let awsid = self.config.account_field.for_revision(view.revision.as_deref()) == AccountField::Awsid;
        Account {
            id: role.id.clone(),
            name: role.name.clone(),
            description: role.description.clone(),
            awsid: awsid.then(|| role.account_id.clone()),
            aws_account_id: (!awsid).then(|| role.account_id.clone()),
            region_type: "Global",
            own_role: role.is_default.then(|| OwnRole {
                parent_amazon_account_id: parent.clone(),
                role_name: role.role_name.clone(),
                is_default: true,
            }),
            cross_account: (!role.is_default).then(|| CrossAccount {
                parent_amazon_account_id: parent.clone(),
                account_id: role.account_id.clone(),
                role_name: role.role_name.clone(),
            }),
            links: vec![
                link("GET", "self"),
                link("PUT", "update"),
                link("DELETE", "delete"),
            ],
        }
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
        self.draws.draw()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Injected {
    Hang,
    Drop,
    Unavailable,
}

fn error_message(message: String) -> Message {
    Message {
        severity: "Error",
        message,
        context_id: new_id(),
    }
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}
