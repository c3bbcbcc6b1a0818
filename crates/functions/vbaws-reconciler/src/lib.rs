//! `vbaws-reconciler`: the scheduled face of `vbaws-reconcile`. Once a day (by default) it
//! compares the appliance with the Organization and the roles StackSet, logs what drifted and
//! why, publishes the counts as CloudWatch metrics (Embedded Metric Format), and removes the
//! orphaned registrations this project made only when `RECONCILE_FIX=true`.
//!
//! It runs in the configurator's VPC with the same appliance settings and secret (read through
//! the Parameters and Secrets extension), so it reaches the appliance the same private way.

use serde::Serialize;
use tokio::time::Instant;
use tracing::{info, warn};
use vbaws_appliance::{CredentialsError, CredentialsSource};
use vbaws_reconcile::{
    AccountReport, Drift, Options, Sources, StackSet, fix, gather, read::ReadError, reconcile,
};

/// The function's own environment variables (beyond the configurator's appliance settings).
pub const VARIABLES: &[&str] = &[
    "TARGET_OUS",
    "STACK_SET_NAME",
    "STACK_SET_CALL_AS",
    "ORGANIZATION_READER_ROLE_ARN",
    "RECONCILE_FIX",
];

/// Everything the function needs to know.
#[derive(Debug, Clone)]
pub struct Settings {
    pub appliance: vbaws_appliance::Appliance,
    pub target_ous: Vec<String>,
    pub stack_set: String,
    pub delegated_admin: bool,
    /// A role in the management account to read the Organization and the StackSet through.
    pub reader_role_arn: Option<String>,
    pub fix: bool,
}

/// What stops a run. Each message is what an operator reads in the function's error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the reconciler is misconfigured: {0}; fix the Lambdas stack's parameters")]
    Config(String),
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error("the appliance client cannot be built: {0}")]
    Client(vbaws_client::Error),
    #[error(
        "{0}. Check the reconciler's access: its role (or ORGANIZATION_READER_ROLE_ARN) needs {actions}, and its subnets a path to those APIs (OrganizationsPath, CloudFormationPath)",
        actions = vbaws_reconcile::read::AWS_ACTIONS.join(", ")
    )]
    Read(vbaws_reconcile::read::ReadError),
}

impl From<Error> for lambda_runtime::Diagnostic {
    fn from(error: Error) -> Self {
        let kind = match &error {
            Error::Config(_) => "Misconfigured",
            Error::Credentials(_) => "Credentials",
            Error::Client(_) => "ApplianceClient",
            Error::Read(_) => "Unreadable",
        };
        Self {
            error_type: format!("Reconciler.{kind}"),
            error_message: error.to_string(),
        }
    }
}

impl Settings {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let appliance =
            vbaws_appliance::Appliance::from_lookup(&lookup).map_err(|e| Error::Config(e.to_string()))?;
        let target_ous: Vec<String> = get("TARGET_OUS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|ou| !ou.is_empty())
            .map(str::to_owned)
            .collect();
        if target_ous.is_empty() {
            return Err(Error::Config(
                "TARGET_OUS is empty; it must list the OUs the roles StackSet targets (ou-…, comma-separated)".into(),
            ));
        }
        let stack_set = get("STACK_SET_NAME").ok_or_else(|| {
            Error::Config("STACK_SET_NAME is not set; it must name the roles StackSet".into())
        })?;
        let delegated_admin = match get("STACK_SET_CALL_AS").as_deref() {
            None | Some("SELF") => false,
            Some("DELEGATED_ADMIN") => true,
            Some(other) => {
                return Err(Error::Config(format!(
                    "STACK_SET_CALL_AS is {other:?}; it must be SELF or DELEGATED_ADMIN"
                )));
            }
        };
        let fix = match get("RECONCILE_FIX").map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(Error::Config(format!(
                    "RECONCILE_FIX is {other:?}; it must be true or false"
                )));
            }
        };
        Ok(Self {
            appliance,
            target_ous,
            stack_set,
            delegated_admin,
            reader_role_arn: get("ORGANIZATION_READER_ROLE_ARN"),
            fix,
        })
    }
}

/// What one run found and did: the function's response, and its metrics.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub checked: usize,
    pub drift: Drift,
    pub accounts: Vec<AccountReport>,
    /// With `RECONCILE_FIX=true`: what the fix did.
    pub fixed: Option<fix::Fixed>,
}

impl Summary {
    /// The counts published as metrics.
    pub fn metrics(&self) -> Vec<(&'static str, u64)> {
        let mut metrics = vec![
            ("DriftedAccounts", self.drift.accounts as u64),
            ("OrphanedRegistrations", self.drift.orphaned as u64),
            ("MissingRegistrations", self.drift.missing as u64),
            ("ForeignRegistrations", self.drift.foreign as u64),
        ];
        if let Some(fixed) = &self.fixed {
            metrics.push(("OrphansRemoved", fixed.removed.len() as u64));
            metrics.push(("OrphansKeptInUse", fixed.in_use.len() as u64));
        }
        metrics
    }
}

/// The function: its settings (or why they are wrong) and the clients it reads through.
#[derive(Debug)]
pub struct Reconciler {
    ready: Result<Ready, String>,
}

#[derive(Debug)]
struct Ready {
    settings: Settings,
    credentials: CredentialsSource,
    organizations: aws_sdk_organizations::Client,
    cloudformation: aws_sdk_cloudformation::Client,
}

impl Reconciler {
    /// A misconfiguration is kept, and each run fails with it, so the schedule shows it.
    pub fn new(settings: Result<Settings, Error>, aws: &vbaws_sdk::SdkConfig) -> Self {
        let ready = settings.map_err(|e| e.to_string()).and_then(|settings| {
            let credentials = CredentialsSource::new(&settings.appliance)
                .map_err(|e| format!("cannot build the HTTP client for the extension: {e}"))?;
            Ok(Ready {
                settings,
                credentials,
                organizations: aws_sdk_organizations::Client::new(aws),
                cloudformation: aws_sdk_cloudformation::Client::new(aws),
            })
        });
        Self { ready }
    }

    /// One run; its metrics are printed whatever the outcome (`ReconcileFailed` when it fails).
    pub async fn run(&self, deadline: Instant) -> Result<Summary, Error> {
        let result = self.reconcile(deadline).await;
        let line = match &result {
            Ok(summary) => vbaws_lambda::metrics::emf_line("vbaws-reconciler", &summary.metrics()),
            Err(_) => vbaws_lambda::metrics::emf_line("vbaws-reconciler", &[("ReconcileFailed", 1)]),
        };
        println!("{line}");
        result
    }

    async fn reconcile(&self, deadline: Instant) -> Result<Summary, Error> {
        let ready = self.ready.as_ref().map_err(|e| Error::Config(e.clone()))?;
        let settings = &ready.settings;
        let credentials = ready.credentials.current(deadline).await?;
        let client = settings.appliance.client(credentials).map_err(Error::Client)?;
        let facts = gather(
            Sources {
                appliance: &client,
                organizations: &ready.organizations,
                ous: &settings.target_ous,
                stack_set: Some(StackSet {
                    client: &ready.cloudformation,
                    name: &settings.stack_set,
                    delegated_admin: settings.delegated_admin,
                }),
                declared: None,
            },
            deadline,
        )
        .await
        .map_err(|error| match error {
            ReadError::NoStackSet { .. } => Error::Config(format!(
                "{error}; set RolesStackSetName to the roles StackSet's name and StackSetCallAs to \
                 who made it (SELF or DELEGATED_ADMIN)"
            )),
            other => Error::Read(other),
        })?;
        // Registrations without this project's note are never this function's to remove.
        let report = reconcile(&facts, Options::default());
        for line in report.to_string().lines().filter(|l| !l.is_empty()) {
            if report.has_drift() {
                warn!("{line}");
            } else {
                info!("{line}");
            }
        }
        let fixed = if settings.fix {
            let plan = fix::plan(&report);
            let fixed = fix::apply(&client, &plan, deadline).await;
            for line in fixed.to_string().lines() {
                info!("{line}");
            }
            Some(fixed)
        } else {
            None
        };
        Ok(Summary {
            checked: report.checked,
            drift: report.drift(),
            accounts: report.accounts,
            fixed,
        })
    }
}
