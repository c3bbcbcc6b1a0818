//! `vbaws-reconcile`: what the appliance holds against what the Organization is. Exit 0 without
//! drift, 1 with drift (after `--fix`, the drift that remains), 2 when the facts cannot be read.

use std::{path::PathBuf, process::ExitCode, time::Duration};

use clap::{Parser, ValueEnum};
use tokio::time::Instant;
use vbaws_client::{Client, Credentials, Trust};
use vbaws_reconcile::{
    Options, Progress, RetryTarget, Sources, StackSet, fix, gather_tracked,
    read::{DeclaredStackSet, ReadError},
    reconcile, retry_commands,
    wire::Document,
};
use vbaws_sdk::Access;

/// How often a slow read says what it is waiting for.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// How long connection failures to the appliance are retried.
const CONNECT_PATIENCE: Duration = Duration::from_secs(8);

/// Compares the Veeam Backup for AWS appliance's registrations with the Organization's accounts
/// and the roles StackSet, says what drifted and why, and with --fix removes the orphaned
/// registrations this project made whose accounts AWS says are closed, suspended or gone, or
/// whose stack instance is gone.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The appliance's REST address, such as https://10.0.1.20:11005.
    #[arg(long, env = "VEEAM_API_URL")]
    api_url: String,
    /// SHA-256 fingerprint of the appliance's certificate.
    #[arg(long, env = "VEEAM_CERT_SHA256")]
    cert_sha256: Option<String>,
    /// PEM file of the CA that signed the appliance's certificate (instead of a fingerprint).
    #[arg(long)]
    ca_cert: Option<PathBuf>,
    /// Skip the certificate check (not recommended).
    #[arg(long)]
    insecure: bool,
    /// x-api-version to use; negotiated when not given.
    #[arg(long)]
    api_version: Option<String>,
    /// The secret with the appliance user's credentials (the Lambdas stack's
    /// ApplianceCredentialsSecretArn). Without it: VEEAM_USERNAME and VEEAM_PASSWORD.
    #[arg(long)]
    secret_id: Option<String>,
    /// The profile that may read the secret (the backup account), when not --profile.
    #[arg(long)]
    secret_profile: Option<String>,
    /// Compare only the accounts below these OUs (repeat, or comma-separated). The StackSet's
    /// own OUs say which accounts it targets; with --no-stack-set, these do.
    #[arg(long = "ou", value_delimiter = ',')]
    ous: Vec<String>,
    /// The roles StackSet: its OUs, instances (with their parameter overrides) and template say
    /// which registrations each account should have.
    #[arg(long, default_value = "vbaws-veeam-roles")]
    stack_set: String,
    /// Read no StackSet: the OUs (--ou) say which accounts are compared and --roles-template
    /// which registrations each should have; missing registrations cannot be explained.
    #[arg(long, conflicts_with = "stack_set", requires_all = ["ous", "roles_template"])]
    no_stack_set: bool,
    /// Who calls the StackSet APIs: the management account (SELF) or a delegated administrator.
    #[arg(long, value_enum, default_value_t = CallAs::Self_)]
    call_as: CallAs,
    /// The roles template, when the purposes are not read from --stack-set.
    #[arg(long)]
    roles_template: Option<PathBuf>,
    /// A parameter of the roles template's stacks, as Key=Value (repeat), such as
    /// Services=ec2,rds; the others take their defaults. Only with --roles-template.
    #[arg(long = "parameter", requires = "roles_template", value_parser = key_value)]
    parameters: Vec<(String, String)>,
    /// Region of the StackSet and the secret.
    #[arg(long)]
    region: Option<String>,
    /// Profile for Organizations and CloudFormation (management or delegated-admin account).
    #[arg(long)]
    profile: Option<String>,
    /// A role to assume for Organizations and CloudFormation.
    #[arg(long)]
    role_arn: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Remove the orphaned registrations this project made whose reason to exist AWS says is
    /// gone (after printing the plan).
    #[arg(long)]
    fix: bool,
    /// Remove this orphaned registration (its ID, as the report prints it) even though AWS does
    /// not say it is gone; repeat for more.
    #[arg(long = "remove", value_name = "ID")]
    remove: Vec<String>,
    /// Registrations named <account>-<purpose> without this project's note in their
    /// description (made before it wrote one) are this project's too.
    #[arg(long)]
    adopt_unmarked: bool,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout_seconds: u64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum CallAs {
    #[value(name = "SELF")]
    Self_,
    #[value(name = "DELEGATED_ADMIN")]
    DelegatedAdmin,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args).await {
        Ok(code) => code,
        Err(message) => {
            eprintln!("vbaws-reconcile: {message}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: &Args) -> Result<ExitCode, String> {
    let deadline = Instant::now() + Duration::from_secs(args.timeout_seconds);
    let aws = vbaws_sdk::signed_in(&Access {
        region: args.region.clone(),
        profile: args.profile.clone(),
        role_arn: args.role_arn.clone(),
        session_name: Some("vbaws-reconcile"),
        endpoint: None,
    })
    .await
    .map_err(|e| e.to_string())?;
    let client = appliance(args).await?;
    let organizations = aws_sdk_organizations::Client::new(&aws);
    let cloudformation = aws_sdk_cloudformation::Client::new(&aws);
    let declared = match &args.roles_template {
        Some(path) => Some(read_declared(path, &args.parameters)?),
        None => None,
    };
    let delegated_admin = matches!(args.call_as, CallAs::DelegatedAdmin);
    let sources = Sources {
        appliance: &client,
        organizations: &organizations,
        ous: &args.ous,
        stack_set: stack_set_name(args).map(|name| StackSet {
            client: &cloudformation,
            name,
            delegated_admin,
        }),
        declared: declared.as_ref(),
    };
    // A person is waiting: say what for, every few seconds, on stderr.
    let progress = Progress::default();
    let ticker = {
        let progress = progress.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            loop {
                tokio::time::sleep(PROGRESS_EVERY).await;
                let pending = progress.pending();
                if !pending.is_empty() {
                    eprintln!(
                        "still reading after {} s: {}",
                        started.elapsed().as_secs(),
                        pending.join(", ")
                    );
                }
            }
        })
    };
    let facts = gather_tracked(sources, deadline, &progress).await;
    ticker.abort();
    let facts = facts.map_err(|error| match error {
        ReadError::NoStackSet { .. } => format!(
            "{error}: name the roles StackSet with --stack-set, add --call-as DELEGATED_ADMIN if a \
             delegated administrator made it, or compare without one (--no-stack-set --ou <OU> \
             --roles-template <roles.yaml>)"
        ),
        other => other.to_string(),
    })?;
    let report = reconcile(
        &facts,
        Options {
            adopt_unmarked: args.adopt_unmarked,
        },
    );
    let retry = stack_set_name(args).map_or_else(Vec::new, |stack_set| {
        let region = aws.region().map(|r| r.to_string()).unwrap_or_default();
        retry_commands(
            &report,
            RetryTarget {
                stack_set,
                target_ous: &facts.target_ous,
                region: &region,
                delegated_admin,
            },
        )
    });
    // What --fix removes (shown in the JSON either way), and what this run removes.
    let plan = fix::plan(&report);
    let mut removals = if args.fix { plan.clone() } else { Vec::new() };
    for chosen in fix::chosen(&report, &args.remove)? {
        if !removals.contains(&chosen) {
            removals.push(chosen);
        }
    }
    let undecided = fix::undecided(&report);
    let text = matches!(args.format, Format::Text);
    if text {
        print!("{report}");
        print_retry(&report, &retry, !args.no_stack_set);
        if !removals.is_empty() {
            println!("\nThe plan: remove {} orphaned registrations", removals.len());
            for removal in &removals {
                let r = &removal.registration;
                println!("  {} ({}): {}", r.name, r.id, removal.problem);
            }
        }
    }
    let fixed = if !removals.is_empty() {
        let fixed = fix::apply(&client, &removals, deadline).await;
        if text {
            print!("\n{fixed}");
        }
        Some(fixed)
    } else {
        None
    };
    if !text {
        let document = Document {
            fixed: fixed.as_ref(),
            retry_commands: &retry,
            ..Document::new(&report, &plan, &undecided)
        };
        let document = serde_json::to_string_pretty(&document)
            .map_err(|e| format!("the report cannot be written as JSON: {e}"))?;
        println!("{document}");
    }
    let remains = match &fixed {
        Some(fixed) => {
            let removed = fixed.removed.len() + fixed.removed_workers.len();
            let left = report.drift().orphaned.saturating_sub(removed);
            report.drift().missing > 0 || left > 0 || fixed.has_failures()
        }
        None => report.has_drift(),
    };
    Ok(if remains {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn stack_set_name(args: &Args) -> Option<&str> {
    (!args.no_stack_set).then_some(args.stack_set.as_str())
}

fn print_retry(report: &vbaws_reconcile::Report, retry: &[String], knows_stack_set: bool) {
    if report.drift().missing == 0 {
        return;
    }
    if !knows_stack_set {
        println!(
            "\nMissing registrations are the StackSet's to make: without --no-stack-set the report shows its instances and the command that retries them."
        );
        return;
    }
    println!("\nMissing registrations are the StackSet's to make; to retry those accounts' stack instances:");
    for command in retry {
        println!("  {command}");
    }
}

fn key_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .filter(|(key, _)| !key.is_empty())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{text:?} is not Key=Value, such as Services=ec2,rds"))
}

fn read_declared(
    path: &std::path::Path,
    parameters: &[(String, String)],
) -> Result<DeclaredStackSet, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the roles template {}: {e}", path.display()))?;
    let template = vbaws_template::Template::from_yaml(&text)
        .map_err(|e| format!("the roles template {} is not a template: {e}", path.display()))?;
    Ok(DeclaredStackSet {
        template,
        parameters: parameters.to_vec(),
        organizational_units: Vec::new(),
    })
}

/// The appliance client: trust from the flags, credentials from the secret or the environment.
async fn appliance(args: &Args) -> Result<Client, String> {
    let trust = match (&args.cert_sha256, &args.ca_cert, args.insecure) {
        (Some(pin), None, false) => {
            Trust::Pinned(pin.parse().map_err(|e| format!("--cert-sha256 is wrong: {e}"))?)
        }
        (None, Some(path), false) => Trust::CaBundle(
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read --ca-cert {}: {e}", path.display()))?,
        ),
        (None, None, true) => Trust::Insecure,
        (None, None, false) => {
            return Err("say how to check the appliance's identity: --cert-sha256 <fingerprint> (openssl s_client -connect <appliance>:11005 </dev/null | openssl x509 -noout -fingerprint -sha256), --ca-cert <pem file>, or --insecure".into());
        }
        _ => return Err("give only one of --cert-sha256, --ca-cert and --insecure".into()),
    };
    // The password is never a flag: a command line is visible to every user of the machine.
    let from_env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let credentials = match (
        &args.secret_id,
        from_env("VEEAM_USERNAME"),
        from_env("VEEAM_PASSWORD"),
    ) {
        (Some(secret_id), _, _) => secret(args, secret_id).await?,
        (None, Some(username), Some(password)) => Credentials::new(username, password),
        _ => {
            return Err("give --secret-id <the Lambdas stack's ApplianceCredentialsSecretArn>, or set VEEAM_USERNAME and VEEAM_PASSWORD".into());
        }
    };
    // A refused or unrouted connection is a wrong URL or a missing tunnel, not an appliance
    // restarting: say so after a few seconds rather than at --timeout-seconds.
    let mut builder = Client::builder(&args.api_url)
        .trust(trust)
        .credentials(credentials)
        .connect_patience(CONNECT_PATIENCE);
    if let Some(revision) = &args.api_version {
        builder = builder.api_version(revision);
    }
    builder
        .build()
        .map_err(|e| format!("the appliance client cannot be built: {e}"))
}

async fn secret(args: &Args, secret_id: &str) -> Result<Credentials, String> {
    use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata};
    let config = vbaws_sdk::signed_in(&Access {
        region: args.region.clone(),
        profile: args.secret_profile.clone().or_else(|| args.profile.clone()),
        ..Access::default()
    })
    .await
    .map_err(|e| format!("to read the secret {secret_id}: {e}"))?;
    let answer = aws_sdk_secretsmanager::Client::new(&config)
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| {
            let why = match (e.code(), e.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                _ => DisplayErrorContext(&e).to_string(),
            };
            format!("GetSecretValue failed for secret {secret_id}: {why}")
        })?;
    Credentials::from_secret_json(answer.secret_string().unwrap_or_default())
        .map_err(|problem| format!("secret {secret_id} {problem}; it must hold JSON like {{\"username\": \"…\", \"password\": \"…\"}}"))
}
