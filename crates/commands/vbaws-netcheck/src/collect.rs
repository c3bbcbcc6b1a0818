//! `--collect`: the facts the `--aws` input reads, fetched with read-only EC2 `Describe*` calls
//! (and SSM `GetParameters` for a published worker network) per account and Region (from a named profile, or a role assumed in the account) and saved in
//! the same folder layout, so that a snapshot can be checked again offline or attached to a
//! support case. A snapshot is written into a hidden folder beside its destination and moved
//! into place only when every account and Region was read: a half-written one never looks done.

mod convert;

use std::path::{Path, PathBuf};

use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata};
use serde::Deserialize;

use crate::aws::files::Files;

/// An account to collect from, and how to reach it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The folder its outputs are saved in.
    pub name: String,
    /// The Regions its VPCs are in.
    pub regions: Vec<String>,
    /// A named profile to read it with.
    #[serde(default)]
    pub profile: Option<String>,
    /// A role to assume in it (with the default credentials, or the profile's).
    #[serde(default)]
    pub role_arn: Option<String>,
    /// A production account that publishes its worker network for the roles StackSet: its
    /// parameters are read too (`ssm:GetParameters`).
    #[serde(default)]
    pub workers: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error(
        "the roles file names no accounts to collect from: add `accounts:` with each account's name and Regions"
    )]
    NoAccounts,
    #[error("{0} already exists: collect into a new folder, or remove it")]
    Exists(PathBuf),
    #[error("account {account}, Region {region}{via}: {call} failed: {reason}")]
    Call {
        account: String,
        region: String,
        via: String,
        call: &'static str,
        reason: String,
    },
    #[error("account {account}: {problem}")]
    SignIn {
        account: String,
        problem: vbaws_sdk::Error,
    },
    #[error("cannot write the snapshot at {path}: {problem}")]
    Write { path: PathBuf, problem: std::io::Error },
}

/// Collects every account and Region into `out`, reporting progress through `progress`. The
/// SDK's usual settings apply (`AWS_ENDPOINT_URL` too, which is how tests point it at moto).
/// In the accounts marked `workers`, the worker network published under `worker_parameters` is
/// read too.
pub async fn collect(
    accounts: &[Account],
    worker_parameters: &str,
    out: &Path,
    mut progress: impl FnMut(&str),
) -> Result<(), CollectError> {
    if accounts.is_empty() {
        return Err(CollectError::NoAccounts);
    }
    if out.exists() {
        return Err(CollectError::Exists(out.to_owned()));
    }
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let partial = out.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    let result = async {
        for account in accounts {
            for region in &account.regions {
                progress(&format!("collecting account {} in {region}", account.name));
                let reader =
                    Reader::new(account, region, account.workers.then_some(worker_parameters)).await?;
                let dir = partial.join(&account.name).join(region);
                for (file, files) in reader.read_all().await? {
                    write(&dir.join(file), &files)?;
                }
            }
        }
        std::fs::rename(&partial, out).map_err(|problem| CollectError::Write {
            path: out.to_owned(),
            problem,
        })
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    result
}

fn write(path: &Path, files: &Files) -> Result<(), CollectError> {
    let failed = |problem| CollectError::Write {
        path: path.to_owned(),
        problem,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    let json = serde_json::to_string_pretty(files).map_err(|e| failed(std::io::Error::other(e)))?;
    std::fs::write(path, json + "\n").map_err(failed)
}

/// One account in one Region.
struct Reader<'a> {
    ec2: aws_sdk_ec2::Client,
    ssm: aws_sdk_ssm::Client,
    account: &'a Account,
    region: &'a str,
    worker_parameters: Option<&'a str>,
}

impl<'a> Reader<'a> {
    async fn new(
        account: &'a Account,
        region: &'a str,
        worker_parameters: Option<&'a str>,
    ) -> Result<Self, CollectError> {
        let config = vbaws_sdk::signed_in(&vbaws_sdk::Access {
            region: Some(region.to_owned()),
            profile: account.profile.clone(),
            role_arn: account.role_arn.clone(),
            session_name: Some("vbaws-netcheck"),
            endpoint: None,
        })
        .await
        .map_err(|problem| CollectError::SignIn {
            account: account.name.clone(),
            problem,
        })?;
        Ok(Self {
            ec2: aws_sdk_ec2::Client::new(&config),
            ssm: aws_sdk_ssm::Client::new(&config),
            account,
            region,
            worker_parameters,
        })
    }

    /// The error of one call, naming the account, the Region and how they were reached.
    fn failed<E: ProvideErrorMetadata + std::error::Error + 'static>(
        &self,
        call: &'static str,
    ) -> impl FnOnce(aws_sdk_ec2::error::SdkError<E>) -> CollectError + '_ {
        move |error| {
            let reason = match (error.code(), error.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                _ => DisplayErrorContext(&error).to_string(),
            };
            let via = match (&self.account.profile, &self.account.role_arn) {
                (_, Some(role)) => format!(" (role {role})"),
                (Some(profile), None) => format!(" (profile {profile})"),
                (None, None) => String::new(),
            };
            CollectError::Call {
                account: self.account.name.clone(),
                region: self.region.to_owned(),
                via,
                call,
                reason,
            }
        }
    }
}
