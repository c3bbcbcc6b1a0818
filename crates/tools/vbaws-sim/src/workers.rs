//! Production worker configurations, and the cloud infrastructure they are chosen from: Regions,
//! their Availability Zones, and the connections a role makes to a Region.
//!
//! What is known comes from one third-party client at 1.5-rev0 (the project's reference, "Worker
//! configurations for production accounts"): the paths of the Region and zone searches, of the
//! connection and of the configuration's POST, and the request bodies. Everything else here is a
//! guess and says so: the answers' shapes and statuses, the listing, PUT and DELETE of a
//! configuration, what a duplicate or an unknown role gets.

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};

use crate::{
    http::bearer,
    listing::{self, Listing, role_id},
    problem::Problem,
    state::{Sim, new_id},
};

/// Guess: the commercial Regions an appliance lists, each with zones `a` to `c` (us-east-1 has
/// six). Real appliances list what their AWS partition offers.
const REGIONS: &[(&str, &str)] = &[
    ("us-east-1", "abcdef"),
    ("us-east-2", "abc"),
    ("us-west-1", "ac"),
    ("us-west-2", "abcd"),
    ("ca-central-1", "abd"),
    ("eu-west-1", "abc"),
    ("eu-west-2", "abc"),
    ("eu-west-3", "abc"),
    ("eu-central-1", "abc"),
    ("eu-north-1", "abc"),
    ("ap-southeast-1", "abc"),
    ("ap-southeast-2", "abc"),
    ("ap-northeast-1", "acd"),
    ("ap-south-1", "abc"),
    ("sa-east-1", "abc"),
];

#[derive(Debug, Clone)]
struct Region {
    id: String,
    name: &'static str,
    /// `(id, name)` of each zone.
    zones: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
struct Connection {
    id: String,
    role_id: String,
    region_id: String,
}

/// A production worker configuration as the simulator keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConfiguration {
    pub id: String,
    pub account_id: String,
    pub role_id: String,
    pub region: String,
    pub zone: String,
    /// The appliance's ID of the zone, as the request named it.
    pub zone_id: String,
    pub vpc_id: String,
    pub subnet_id: String,
    pub security_group_id: String,
}

/// The cloud infrastructure the appliance knows, and the worker configurations made from it.
#[derive(Debug)]
pub(crate) struct Workers {
    regions: Vec<Region>,
    connections: Vec<Connection>,
    pub configurations: Vec<WorkerConfiguration>,
}

impl Workers {
    pub(crate) fn new() -> Self {
        let regions = REGIONS
            .iter()
            .map(|(name, letters)| Region {
                id: new_id(),
                name,
                zones: letters
                    .chars()
                    .map(|l| (new_id(), format!("{name}{l}")))
                    .collect(),
            })
            .collect();
        Self {
            regions,
            connections: Vec::new(),
            configurations: Vec::new(),
        }
    }

    /// The configuration that uses a role, for the role's `validateDelete`.
    pub(crate) fn user_of(&self, role_id: &str) -> Option<&WorkerConfiguration> {
        self.configurations.iter().find(|c| c.role_id == role_id)
    }

    fn region_of_zone(&self, zone_id: &str) -> Option<(&Region, &str)> {
        self.regions.iter().find_map(|region| {
            region
                .zones
                .iter()
                .find(|(id, _)| id == zone_id)
                .map(|(_, name)| (region, name.as_str()))
        })
    }
}

pub(crate) fn routes() -> Router<Sim> {
    Router::new()
        .route("/api/v1/cloudInfrastructure/regions", get(regions))
        .route("/api/v1/cloudInfrastructure/regions/{id}/zones", get(zones))
        .route("/api/v1/amazonConnections", post(connect))
        .route(
            "/api/v1/amazonConnections/{id}/availabilityZones",
            get(connection_zones),
        )
        // Guess: the POST is known; listing, reading, replacing and removing follow the API's
        // usual collection shape.
        .route(
            "/api/v1/workers/networkConfiguration/production",
            get(list).post(create),
        )
        .route(
            "/api/v1/workers/networkConfiguration/production/{id}",
            get(read).put(update).delete(remove),
        )
}

/// Guess: a page like every other listing, `results` and `totalCount`.
#[derive(Debug, Serialize)]
struct Page<T> {
    results: Vec<T>,
    #[serde(rename = "totalCount")]
    total_count: usize,
}

impl<T> Page<T> {
    fn of(results: Vec<T>) -> Json<Self> {
        Json(Self {
            total_count: results.len(),
            results,
        })
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Named {
    id: String,
    name: String,
}

async fn regions(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Page<Named>>, Problem> {
    let state = sim.lock();
    state.authorize(bearer(&headers), false)?;
    let listing = Listing::parse(&pairs)?;
    Ok(Page::of(
        state
            .workers
            .regions
            .iter()
            .filter(|r| listing.matches(r.name))
            .map(|r| Named {
                id: r.id.clone(),
                name: r.name.to_owned(),
            })
            .collect(),
    ))
}

async fn zones(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Page<Named>>, Problem> {
    let state = sim.lock();
    state.authorize(bearer(&headers), false)?;
    let listing = Listing::parse(&pairs)?;
    let id = listing::id(&id, "regionId")?;
    let region = state
        .workers
        .regions
        .iter()
        .find(|r| r.id == id)
        .ok_or_else(|| Problem::not_found("Region", &id))?;
    Ok(Page::of(
        region
            .zones
            .iter()
            .filter(|(_, name)| listing.matches(name))
            .map(|(id, name)| Named {
                id: id.clone(),
                name: name.clone(),
            })
            .collect(),
    ))
}

/// `AmazonConnectionSpec` since 1.5-rev0.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConnectionSpec {
    authentication_specification: Authentication,
    region_id: String,
}

#[derive(Debug, Deserialize)]
struct Authentication {
    #[serde(rename = "authenticationType")]
    kind: String,
    #[serde(rename = "IAMRoleId")]
    role_id: String,
}

/// Guess: 200 with the connection's id. A connection is a session the appliance opens with the
/// role in the Region; a second one for the same pair is answered with the first (guess).
async fn connect(
    State(sim): State<Sim>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, Problem> {
    let mut state = sim.lock();
    state.authorize(bearer(&headers), true)?;
    let spec: ConnectionSpec = crate::bodies::read(&body)?;
    if spec.authentication_specification.kind != "CloudAccount" {
        return Err(Problem::validation(format!(
            "The value '{}' is not valid for authenticationType.",
            spec.authentication_specification.kind
        )));
    }
    let role_id = role_id(&spec.authentication_specification.role_id)?;
    let region_id = listing::id(&spec.region_id, "regionId")?;
    if !state.roles.iter().any(|r| r.id == role_id) {
        return Err(Problem::not_found("IAM role", &role_id));
    }
    if !state.workers.regions.iter().any(|r| r.id == region_id) {
        return Err(Problem::not_found("Region", &region_id));
    }
    let workers = &mut state.workers;
    let id = match workers
        .connections
        .iter()
        .find(|c| c.role_id == role_id && c.region_id == region_id)
    {
        Some(existing) => existing.id.clone(),
        None => {
            let id = new_id();
            workers.connections.push(Connection {
                id: id.clone(),
                role_id,
                region_id,
            });
            id
        }
    };
    Ok(Json(serde_json::json!({ "id": id, "regionId": spec.region_id })))
}

async fn connection_zones(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Page<Named>>, Problem> {
    let state = sim.lock();
    state.authorize(bearer(&headers), false)?;
    let id = listing::id(&id, "id")?;
    let workers = &state.workers;
    let connection = workers
        .connections
        .iter()
        .find(|c| c.id == id)
        .ok_or_else(|| Problem::not_found("Connection", &id))?;
    let region = workers
        .regions
        .iter()
        .find(|r| r.id == connection.region_id)
        .ok_or_else(|| Problem::not_found("Region", &connection.region_id))?;
    Ok(Page::of(
        region
            .zones
            .iter()
            .map(|(id, name)| Named {
                id: id.clone(),
                name: name.clone(),
            })
            .collect(),
    ))
}

/// The known POST body, also (guess) the PUT's and the answer's, with an `id` added.
#[derive(Debug, Clone, Deserialize, Serialize)]
struct Spec {
    #[serde(rename = "awsAccountId")]
    account_id: String,
    #[serde(rename = "IAMRoleId")]
    role_id: String,
    #[serde(rename = "availableZoneId")]
    zone_id: String,
    #[serde(rename = "cloudNetworkId")]
    vpc_id: String,
    #[serde(rename = "cloudSubnetworkId")]
    subnet_id: String,
    #[serde(rename = "cloudSecurityGroupId")]
    security_group_id: String,
}

#[derive(Debug, Serialize)]
struct Rendered {
    id: String,
    #[serde(flatten)]
    spec: Spec,
}

fn render(configuration: &WorkerConfiguration) -> Rendered {
    Rendered {
        id: configuration.id.clone(),
        spec: Spec {
            account_id: configuration.account_id.clone(),
            role_id: configuration.role_id.clone(),
            zone_id: configuration.zone_id.clone(),
            vpc_id: configuration.vpc_id.clone(),
            subnet_id: configuration.subnet_id.clone(),
            security_group_id: configuration.security_group_id.clone(),
        },
    }
}

async fn list(State(sim): State<Sim>, headers: HeaderMap) -> Result<Json<Page<Rendered>>, Problem> {
    let state = sim.lock();
    state.authorize(bearer(&headers), false)?;
    let workers = &state.workers;
    Ok(Page::of(workers.configurations.iter().map(render).collect()))
}

async fn read(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Rendered>, Problem> {
    let state = sim.lock();
    state.authorize(bearer(&headers), false)?;
    let id = listing::id(&id, "id")?;
    let workers = &state.workers;
    workers
        .configurations
        .iter()
        .find(|c| c.id == id)
        .map(|c| Json(render(c)))
        .ok_or_else(|| Problem::not_found("Worker configuration", &id))
}

/// Guess: 201 with the configuration, as a role's POST answers.
async fn create(
    State(sim): State<Sim>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Rendered>), Problem> {
    let mut state = sim.lock();
    state.authorize(bearer(&headers), true)?;
    let spec: Spec = crate::bodies::read(&body)?;
    let configuration = check(&state, &spec, None)?;
    state.workers.configurations.push(configuration.clone());
    Ok((StatusCode::CREATED, Json(render(&configuration))))
}

async fn update(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Rendered>, Problem> {
    let mut state = sim.lock();
    state.authorize(bearer(&headers), true)?;
    let id = listing::id(&id, "id")?;
    if !state.workers.configurations.iter().any(|c| c.id == id) {
        return Err(Problem::not_found("Worker configuration", &id));
    }
    let spec: Spec = crate::bodies::read(&body)?;
    let configuration = check(&state, &spec, Some(&id))?;
    let workers = &mut state.workers;
    for existing in &mut workers.configurations {
        if existing.id == id {
            *existing = configuration.clone();
        }
    }
    Ok(Json(render(&configuration)))
}

async fn remove(
    State(sim): State<Sim>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let mut state = sim.lock();
    state.authorize(bearer(&headers), true)?;
    let id = listing::id(&id, "id")?;
    let workers = &mut state.workers;
    let before = workers.configurations.len();
    workers.configurations.retain(|c| c.id != id);
    if workers.configurations.len() == before {
        return Err(Problem::not_found("Worker configuration", &id));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// What the appliance would check before it keeps a configuration (each rule a guess): a
/// registered role of the same account, a zone it knows, AWS ID shapes, and one configuration
/// per account and Region (the wizard configures one per Region).
fn check(
    state: &crate::state::State,
    spec: &Spec,
    except: Option<&str>,
) -> Result<WorkerConfiguration, Problem> {
    let role_id = role_id(&spec.role_id)?;
    let role = state
        .roles
        .iter()
        .find(|r| r.id == role_id)
        .ok_or_else(|| Problem::not_found("IAM role", &role_id))?;
    if role.account_id != spec.account_id {
        return Err(Problem::validation(format!(
            "The IAM role {} does not belong to account {}.",
            role.name, spec.account_id
        )));
    }
    let zone_id = listing::id(&spec.zone_id, "availableZoneId")?;
    let (region, zone) = state
        .workers
        .region_of_zone(&zone_id)
        .ok_or_else(|| Problem::not_found("Availability Zone", &zone_id))?;
    for (value, prefix, field) in [
        (&spec.vpc_id, "vpc-", "cloudNetworkId"),
        (&spec.subnet_id, "subnet-", "cloudSubnetworkId"),
        (&spec.security_group_id, "sg-", "cloudSecurityGroupId"),
    ] {
        if !value.starts_with(prefix) || value.len() <= prefix.len() {
            return Err(Problem::validation(format!(
                "The value '{value}' is not valid for {field}."
            )));
        }
    }
    let taken =
        state.workers.configurations.iter().any(|c| {
            Some(c.id.as_str()) != except && c.account_id == spec.account_id && c.region == region.name
        });
    if taken {
        return Err(Problem::new(
            409,
            "conflict",
            "Conflict",
            "Conflict",
            format!(
                "A worker configuration for account {} in region {} already exists.",
                spec.account_id, region.name
            ),
        ));
    }
    Ok(WorkerConfiguration {
        id: except.map_or_else(new_id, str::to_owned),
        account_id: spec.account_id.clone(),
        role_id,
        region: region.name.to_owned(),
        zone: zone.to_owned(),
        zone_id,
        vpc_id: spec.vpc_id.clone(),
        subnet_id: spec.subnet_id.clone(),
        security_group_id: spec.security_group_id.clone(),
    })
}
