//! IAM roles: `/api/v1/accounts/amazon`.

use reqwest::Method;
use serde_json::json;
use tokio::time::Instant;

use crate::{AmazonAccount, AmazonAccountsPage, Client, Error, RoleSpec, ValidationMessage};

/// Roles asked for per page. The appliance may answer fewer; paging goes on until `totalCount`.
const PAGE_SIZE: usize = 200;

/// IAM-role operations, bounded by a deadline. From [`crate::Api::roles`].
#[derive(Debug, Clone, Copy)]
pub struct Roles<'a> {
    pub(crate) client: &'a Client,
    pub(crate) deadline: Instant,
}

/// What a delete did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    Removed,
    /// The role was not there (404): someone removed it already.
    AlreadyGone,
}

impl Roles<'_> {
    /// Every registered role, across as many pages as it takes.
    pub async fn list(self) -> Result<Vec<AmazonAccount>, Error> {
        let mut all = Vec::new();
        loop {
            let mut url = self.client.url("accounts/amazon")?;
            url.query_pairs_mut()
                .append_pair("Offset", &all.len().to_string())
                .append_pair("Limit", &PAGE_SIZE.to_string());
            let page: AmazonAccountsPage = self
                .client
                .call(self.deadline, "list IAM roles", Method::GET, url, None::<&()>)
                .await?
                .ok_or_else(|| empty("list IAM roles"))?;
            let received = page.results.len();
            all.extend(page.results);
            if received == 0 || all.len() as u64 >= page.total_count {
                return Ok(all);
            }
        }
    }

    /// The role with this ID; `None` when there is none.
    pub async fn get(self, id: &str) -> Result<Option<AmazonAccount>, Error> {
        let url = self.item_url(id, None)?;
        match self
            .client
            .call(self.deadline, "get an IAM role", Method::GET, url, None::<&()>)
            .await
        {
            Ok(role) => Ok(role),
            Err(Error::Api(api)) if api.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The registration of the role `role_name` of account `account_id`.
    pub async fn find_cross_account(
        &self,
        account_id: &str,
        role_name: &str,
    ) -> Result<Option<AmazonAccount>, Error> {
        Ok(self
            .list()
            .await?
            .into_iter()
            .find(|role| role.is_cross_account(account_id, role_name)))
    }

    /// The role whose display name is `name` (the appliance compares names without case).
    pub async fn find_by_name(self, name: &str) -> Result<Option<AmazonAccount>, Error> {
        Ok(self
            .list()
            .await?
            .into_iter()
            .find(|role| role.name.eq_ignore_ascii_case(name)))
    }

    /// What the appliance thinks of a display name; empty when it is fine.
    pub async fn validate_name(self, name: &str) -> Result<Vec<ValidationMessage>, Error> {
        let url = self.client.url("accounts/amazon/validateName")?;
        let body = json!({ "name": name });
        let messages = self
            .client
            .call_reading(self.deadline, "validate an IAM role name", url, Some(&body))
            .await?;
        Ok(messages.unwrap_or_default())
    }

    /// Registers a role (201).
    pub async fn create(self, spec: &RoleSpec) -> Result<AmazonAccount, Error> {
        let url = self.client.url("accounts/amazon")?;
        self.client
            .call(
                self.deadline,
                "register an IAM role",
                Method::POST,
                url,
                Some(spec),
            )
            .await?
            .ok_or_else(|| empty("register an IAM role"))
    }

    /// Replaces a role's settings (200). The spec must be complete: see [`RoleSpec`].
    pub async fn update(self, id: &str, spec: &RoleSpec) -> Result<AmazonAccount, Error> {
        let url = self.item_url(id, None)?;
        self.client
            .call(self.deadline, "update an IAM role", Method::PUT, url, Some(spec))
            .await?
            .ok_or_else(|| empty("update an IAM role"))
    }

    /// What stands in the way of deleting a role (policies, repositories); empty when nothing.
    pub async fn validate_delete(self, id: &str) -> Result<Vec<ValidationMessage>, Error> {
        let url = self.item_url(id, Some("validateDelete"))?;
        let messages = self
            .client
            .call_reading(
                self.deadline,
                "check an IAM role can be removed",
                url,
                None::<&()>,
            )
            .await?;
        Ok(messages.unwrap_or_default())
    }

    /// Removes a registration (200 or 204; 404 means it was already gone). The appliance's
    /// built-in default role is never deleted.
    pub async fn delete(self, role: &AmazonAccount) -> Result<Deleted, Error> {
        if role.is_default() {
            return Err(Error::DefaultRole {
                name: role.name.clone(),
            });
        }
        let url = self.item_url(&role.id, None)?;
        match self
            .client
            .call::<serde_json::Value>(
                self.deadline,
                "remove an IAM role",
                Method::DELETE,
                url,
                None::<&()>,
            )
            .await
        {
            Ok(_) => Ok(Deleted::Removed),
            Err(Error::Api(api)) if api.is_not_found() => Ok(Deleted::AlreadyGone),
            Err(error) => Err(error),
        }
    }

    fn item_url(self, id: &str, action: Option<&str>) -> Result<url::Url, Error> {
        let mut url = self.client.url("accounts/amazon")?;
        url.path_segments_mut()
            .map_err(|()| Error::UnusableBaseUrl {
                text: self.client.base().to_string(),
                why: "it cannot have paths",
            })?
            .push(id)
            .extend(action);
        Ok(url)
    }
}

fn empty(operation: &str) -> Error {
    Error::UnexpectedBody {
        operation: operation.to_owned(),
        status: 200,
        problem: "the body is empty".into(),
    }
}
