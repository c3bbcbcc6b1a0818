//! Production worker configurations (`/api/v1/workers/networkConfiguration/production`) and what
//! they are made from: the Region and Availability Zone the appliance knows, and a connection
//! of a registered role to that Region.
//!
//! The sequence and the request bodies are those one third-party client sends at 1.5-rev0 (the
//! project's reference, "Worker configurations for production accounts"); no Veeam reference
//! page was reachable. The answers are read leniently (an `id` is all that is required), and the
//! listing, reading, replacing and removing of a configuration use the API's usual collection
//! paths, which no source confirms: the caller treats a 404 or 405 from them as "not offered".

use reqwest::Method;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::json;
use tokio::time::Instant;
use url::Url;

use crate::{Client, Deleted, Error};

const PRODUCTION: &str = "workers/networkConfiguration/production";

/// Worker-configuration operations, bounded by a deadline. From [`crate::Api::workers`].
#[derive(Debug, Clone, Copy)]
pub struct Workers<'a> {
    pub(crate) client: &'a Client,
    pub(crate) deadline: Instant,
}

/// A Region or an Availability Zone as the appliance names it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Place {
    pub id: String,
    pub name: String,
}

/// A registered role's connection to a Region.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Connection {
    pub id: String,
}

/// The body of a production worker configuration, as the third-party client sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerSpec {
    #[serde(rename = "awsAccountId")]
    pub account_id: String,
    /// The registration (appliance role ID) of the role that lists the account's network.
    #[serde(rename = "IAMRoleId")]
    pub role_id: String,
    /// The appliance's ID of the Availability Zone (not its AWS name).
    #[serde(rename = "availableZoneId")]
    pub zone_id: String,
    #[serde(rename = "cloudNetworkId")]
    pub vpc_id: String,
    #[serde(rename = "cloudSubnetworkId")]
    pub subnet_id: String,
    #[serde(rename = "cloudSecurityGroupId")]
    pub security_group_id: String,
}

/// A production worker configuration the appliance holds.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WorkerConfiguration {
    pub id: String,
    #[serde(flatten)]
    pub spec: WorkerSpec,
}

/// A list the appliance answers: a page (`results`) or, leniently, a bare array.
#[derive(Deserialize)]
#[serde(untagged)]
enum Listed<T> {
    Page { results: Vec<T> },
    Array(Vec<T>),
}

impl<T> Listed<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            Self::Page { results } | Self::Array(results) => results,
        }
    }
}

impl Workers<'_> {
    /// The Region whose name is `name` (exactly, without case), among those the search finds.
    pub async fn region(self, name: &str) -> Result<Option<Place>, Error> {
        let url = self.url("cloudInfrastructure/regions", &[])?;
        self.search(url, name, "find a Region").await
    }

    /// The Availability Zone `name` of a Region the appliance knows.
    pub async fn zone(self, region_id: &str, name: &str) -> Result<Option<Place>, Error> {
        let url = self.url("cloudInfrastructure/regions", &[region_id, "zones"])?;
        self.search(url, name, "find an Availability Zone").await
    }

    /// Every Availability Zone of a Region the appliance knows.
    pub async fn zones(self, region_id: &str) -> Result<Vec<Place>, Error> {
        let url = self.url("cloudInfrastructure/regions", &[region_id, "zones"])?;
        let operation = "list a Region's Availability Zones";
        let listed: Listed<Place> = self
            .send(operation, Method::GET, url, None::<&()>)
            .await?
            .ok_or_else(|| empty(operation))?;
        Ok(listed.into_vec())
    }

    /// Connects a registered role to a Region: the appliance then lists that Region's zones
    /// and network through the role.
    pub async fn connect(self, role_id: &str, region_id: &str) -> Result<Connection, Error> {
        let body = json!({
            "authenticationSpecification": { "authenticationType": "CloudAccount", "IAMRoleId": role_id },
            "regionId": region_id,
        });
        let operation = "connect a role to a Region";
        self.send(
            operation,
            Method::POST,
            self.url("amazonConnections", &[])?,
            Some(&body),
        )
        .await?
        .ok_or_else(|| empty(operation))
    }

    /// The Availability Zones a connection sees, by name.
    pub async fn connection_zones(self, connection_id: &str) -> Result<Vec<String>, Error> {
        let url = self.url("amazonConnections", &[connection_id, "availabilityZones"])?;
        let operation = "list a connection's Availability Zones";
        let zones: Listed<Named> = self
            .send(operation, Method::GET, url, None::<&()>)
            .await?
            .ok_or_else(|| empty(operation))?;
        Ok(zones.into_vec().into_iter().map(|z| z.name).collect())
    }

    /// Every production worker configuration (path unconfirmed).
    pub async fn list(self) -> Result<Vec<WorkerConfiguration>, Error> {
        let operation = "list worker configurations";
        let listed: Listed<WorkerConfiguration> = self
            .send(operation, Method::GET, self.url(PRODUCTION, &[])?, None::<&()>)
            .await?
            .ok_or_else(|| empty(operation))?;
        Ok(listed.into_vec())
    }

    /// The configuration with this ID; `None` when there is none (path unconfirmed).
    pub async fn get(self, id: &str) -> Result<Option<WorkerConfiguration>, Error> {
        let url = self.url(PRODUCTION, &[id])?;
        match self
            .send("get a worker configuration", Method::GET, url, None::<&()>)
            .await
        {
            Err(Error::Api(api)) if api.is_not_found() => Ok(None),
            other => other,
        }
    }

    /// Adds a production worker configuration.
    pub async fn create(self, spec: &WorkerSpec) -> Result<WorkerConfiguration, Error> {
        let operation = "add a worker configuration";
        self.send(operation, Method::POST, self.url(PRODUCTION, &[])?, Some(spec))
            .await?
            .ok_or_else(|| empty(operation))
    }

    /// Replaces a configuration's settings (path unconfirmed).
    pub async fn update(self, id: &str, spec: &WorkerSpec) -> Result<WorkerConfiguration, Error> {
        let operation = "update a worker configuration";
        let url = self.url(PRODUCTION, &[id])?;
        self.send(operation, Method::PUT, url, Some(spec))
            .await?
            .ok_or_else(|| empty(operation))
    }

    /// Removes a configuration; 404 means it was already gone (path unconfirmed).
    pub async fn delete(self, id: &str) -> Result<Deleted, Error> {
        let url = self.url(PRODUCTION, &[id])?;
        match self
            .send::<serde_json::Value>("remove a worker configuration", Method::DELETE, url, None::<&()>)
            .await
        {
            Ok(_) => Ok(Deleted::Removed),
            Err(Error::Api(api)) if api.is_not_found() => Ok(Deleted::AlreadyGone),
            Err(error) => Err(error),
        }
    }

    async fn search(self, mut url: Url, name: &str, operation: &str) -> Result<Option<Place>, Error> {
        url.query_pairs_mut().append_pair("SearchPattern", name);
        let found: Listed<Place> = self
            .client
            .call(self.deadline, operation, Method::GET, url, None::<&()>)
            .await?
            .ok_or_else(|| empty(operation))?;
        Ok(found
            .into_vec()
            .into_iter()
            .find(|place| place.name.eq_ignore_ascii_case(name)))
    }

    /// `path` under `/api/v1/`, then `segments`, each encoded as one path segment (an ID with a
    /// slash stays one segment).
    fn url(self, path: &str, segments: &[&str]) -> Result<Url, Error> {
        let mut url = self.client.url(path)?;
        url.path_segments_mut()
            .map_err(|()| Error::UnusableBaseUrl {
                text: self.client.base().to_string(),
                why: "it cannot have paths",
            })?
            .extend(segments);
        Ok(url)
    }

    async fn send<T: DeserializeOwned>(
        self,
        operation: &str,
        method: Method,
        url: Url,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<Option<T>, Error> {
        self.client
            .call(self.deadline, operation, method, url, body)
            .await
    }
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

fn empty(operation: &str) -> Error {
    Error::UnexpectedBody {
        operation: operation.to_owned(),
        status: 200,
        problem: "the body is empty".into(),
    }
}
