//! A reconciliation of a large Organization: moto holds the Organization (nested OUs) and the
//! roles StackSet's instances, the simulator holds two registrations per account, and some
//! drift is planted. Measured: the wall time of reading and comparing, the appliance requests
//! (pages, not one call per account), and the AWS API calls by operation.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use aws_sdk_organizations::config::{
    ConfigBag, Intercept, RuntimeComponents, interceptors::BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::{box_error::BoxError, client::orchestrator::Metadata};
use vbaws_reconcile::{Drift, Sources, StackSet, fix, gather, reconcile};
use vbaws_sim::{Config, Sim, User};
use vbaws_testkit::{
    Moto,
    organization::{EMPTY_TEMPLATE, Organization, sdk_config, stack_set},
};

use crate::Error;

/// OUs below the target OU; the accounts are spread over them, so the reader walks a tree.
const CHILD_OUS: usize = 10;
/// Accounts closed (orphans), accounts never registered (missing), foreign registrations.
const PLANTED: (usize, usize, usize) = (10, 10, 5);
const STACK_SET: &str = "vbaws-veeam-roles";

/// What one reconciliation measured.
#[derive(Debug, Clone, Default)]
pub struct Reconciliation {
    pub accounts: usize,
    pub registrations: usize,
    pub planted: Drift,
    pub found: Drift,
    /// Reading the appliance, the Organization and the StackSet, concurrently.
    pub read: Duration,
    pub compare: Duration,
    pub appliance_requests: usize,
    /// Listing pages among them.
    pub appliance_pages: usize,
    pub aws_calls: BTreeMap<String, u64>,
    /// `--fix` of the orphans: how long, and the appliance requests it took.
    pub fix: Duration,
    pub fix_requests: usize,
    pub removed: usize,
}

/// Counts each AWS API call by operation, as it is sent.
#[derive(Debug, Clone, Default)]
struct Calls(Arc<Mutex<BTreeMap<String, u64>>>);

impl Intercept for Calls {
    fn name(&self) -> &'static str {
        "Calls"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let name = cfg
            .load::<Metadata>()
            .map_or("unknown", Metadata::name)
            .to_owned();
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(name)
            .or_default() += 1;
        Ok(())
    }
}

pub async fn measure(accounts: usize) -> Result<Reconciliation, Error> {
    let moto = Moto::start().await.map_err(Error::start)?;
    let sdk = sdk_config(&moto).await;
    let organization = Organization::create(&sdk).await.map_err(Error::start)?;
    let target = organization
        .ou(&organization.root, "Workloads")
        .await
        .map_err(Error::start)?;
    let mut children = Vec::new();
    for n in 0..CHILD_OUS {
        children.push(
            organization
                .ou(&target, &format!("Team-{n:02}"))
                .await
                .map_err(Error::start)?,
        );
    }
    let mut ids = Vec::with_capacity(accounts);
    for n in 0..accounts {
        let parent = &children[n % CHILD_OUS];
        ids.push(
            organization
                .account(&format!("member-{n:05}"), parent)
                .await
                .map_err(Error::start)?,
        );
    }
    stack_set(&sdk, STACK_SET, EMPTY_TEMPLATE, &ids)
        .await
        .map_err(Error::start)?;

    let (closed, missing, foreign) = PLANTED;
    let appliance = vbaws_sim::spawn(
        Sim::new(Config {
            users: vec![User::admin("reader", "pw")],
            ..Config::default()
        }),
        "127.0.0.1:0".parse().map_err(Error::start)?,
    )
    .await
    .map_err(Error::start)?;
    let made_by =
        vbaws_client::MadeBy::new("arn:aws:cloudformation:us-east-1:1:stack/s/uuid", "Registration");
    for id in ids.iter().skip(missing) {
        for purpose in ["ec2", "worker"] {
            let sim = &appliance.sim;
            let role = sim.add_role(&format!("{id}-{purpose}"), id, "VeeamRole", None);
            sim.describe_role(&role, &made_by.describe(None));
        }
    }
    for (n, id) in ids.iter().enumerate().take(foreign) {
        appliance
            .sim
            .add_role(&format!("hand-made {n}"), id, "Manual", None);
    }
    for id in ids.iter().rev().take(closed) {
        organization
            .client
            .close_account()
            .account_id(id)
            .send()
            .await
            .map_err(Error::start)?;
    }
    let registrations = appliance.sim.registrations().len();

    let calls = Calls::default();
    let organizations = aws_sdk_organizations::Client::from_conf(
        aws_sdk_organizations::config::Builder::from(&sdk)
            .interceptor(calls.clone())
            .build(),
    );
    let cloudformation = aws_sdk_cloudformation::Client::from_conf(
        aws_sdk_cloudformation::config::Builder::from(&sdk)
            .interceptor(calls.clone())
            .build(),
    );
    let client = vbaws_client::Client::builder(appliance.url())
        .trust(vbaws_client::Trust::Pinned(
            appliance.identity.fingerprint.parse().map_err(Error::start)?,
        ))
        .credentials(vbaws_client::Credentials::new("reader", "pw"))
        .build()
        .map_err(Error::start)?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    let declared = vbaws_reconcile::read::DeclaredStackSet {
        template: vbaws_template::Template::from_yaml(include_str!("../../../../template/roles.yaml"))
            .map_err(Error::start)?,
        parameters: Vec::new(),
        organizational_units: Vec::new(),
    };
    let before = appliance.sim.requests().len();
    let started = Instant::now();
    let facts = gather(
        Sources {
            appliance: &client,
            organizations: &organizations,
            ous: std::slice::from_ref(&target),
            stack_set: Some(StackSet {
                client: &cloudformation,
                name: STACK_SET,
                delegated_admin: false,
            }),
            declared: Some(&declared),
        },
        deadline,
    )
    .await
    .map_err(Error::start)?;
    let read = started.elapsed();
    let started = Instant::now();
    let report = reconcile(&facts, vbaws_reconcile::Options::default());
    let compare = started.elapsed();
    let requests = appliance.sim.requests();
    let appliance_requests = requests.len() - before;
    let appliance_pages = requests[before..]
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("accounts/amazon"))
        .count();

    let before = requests.len();
    let started = Instant::now();
    let fixed = fix::apply(&client, &fix::plan(&report), deadline).await;
    let fix = started.elapsed();
    let aws_calls = calls
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    Ok(Reconciliation {
        accounts,
        registrations,
        planted: Drift {
            accounts: closed + missing,
            orphaned: 2 * closed,
            missing: 2 * missing,
            foreign,
        },
        found: report.drift(),
        read,
        compare,
        appliance_requests,
        appliance_pages,
        aws_calls,
        fix,
        fix_requests: appliance.sim.requests().len() - before,
        removed: fixed.removed.len(),
    })
}
