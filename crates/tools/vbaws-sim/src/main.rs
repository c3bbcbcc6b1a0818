//! `vbaws-sim`: the appliance simulator as a standalone HTTPS server, to try by hand with curl.

use std::{net::SocketAddr, time::Duration};

use clap::Parser;
use vbaws_sim::{Chaos, Config, Faults, Sim, User, VersionRefusal};

/// A simulated Veeam Backup for AWS appliance REST API, over HTTPS.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:11005")]
    listen: SocketAddr,
    /// An administrator, as user:password. May be repeated.
    #[arg(long = "admin", default_value = "admin:admin-password")]
    admins: Vec<String>,
    /// A read-only Portal Operator, as user:password. May be repeated.
    #[arg(long = "operator")]
    operators: Vec<String>,
    /// A user with MFA enabled, as user:password. May be repeated.
    #[arg(long = "mfa-user")]
    mfa_users: Vec<String>,
    /// Accepted x-api-version revisions, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1.8-rev0,1.7-rev0,1.6-rev0,1.5-rev1"
    )]
    accept: Vec<String>,
    /// How a refused revision is answered: veeam-problem, code-only, error-code-only, classic
    /// or plain-text.
    #[arg(long, default_value = "veeam-problem")]
    version_refusal: VersionRefusal,
    /// The status of that answer.
    #[arg(long, default_value_t = 400)]
    version_refusal_status: u16,
    /// Access-token lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    token_ttl: u64,
    /// Answer the first N requests with 503.
    #[arg(long, default_value_t = 0)]
    fail_503: u32,
    /// Fail the first N creates and updates with "cannot assume role".
    #[arg(long, default_value_t = 0)]
    assume_failures: u32,
    /// Answer the first N role listings with 500.
    #[arg(long, default_value_t = 0)]
    list_failures: u32,
    /// Answer the first N role updates with 500.
    #[arg(long, default_value_t = 0)]
    update_failures: u32,
    /// Latency added to every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Break the first N connections mid-answer.
    #[arg(long, default_value_t = 0)]
    drop: u32,
    /// Never answer the first N requests.
    #[arg(long, default_value_t = 0)]
    hang: u32,
    /// Seed of the fault rates below (the same seed, the same faults).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Share of requests (0 to 1) answered 503.
    #[arg(long, default_value_t = 0.0)]
    unavailable_rate: f64,
    /// Share of requests broken mid-answer.
    #[arg(long, default_value_t = 0.0)]
    drop_rate: f64,
    /// Share of requests never answered.
    #[arg(long, default_value_t = 0.0)]
    hang_rate: f64,
    /// Added to every password login, in milliseconds.
    #[arg(long, default_value_t = 0)]
    login_latency_ms: u64,
    /// How long a role stays unassumable after its first registration attempt, in seconds.
    #[arg(long, default_value_t = 0)]
    propagation_seconds: u64,
}

fn users(pairs: &[String], make: fn(&str, &str) -> User) -> Result<Vec<User>, String> {
    pairs
        .iter()
        .map(|pair| {
            pair.split_once(':')
                .map(|(name, password)| make(name, password))
                .ok_or_else(|| format!("{pair:?} is not user:password"))
        })
        .collect()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_target(false).init();
    let args = Args::parse();
    let mut all_users = users(&args.admins, User::admin)?;
    all_users.extend(users(&args.operators, User::operator)?);
    all_users.extend(users(&args.mfa_users, User::with_mfa)?);
    let first = all_users.first().cloned().ok_or("give at least one user")?;
    let sim = Sim::new(Config {
        accepted_versions: args.accept.clone(),
        version_refusal: args.version_refusal,
        version_refusal_status: args.version_refusal_status,
        access_token_ttl: Duration::from_secs(args.token_ttl),
        users: all_users,
        ..Config::default()
    });
    sim.set_faults(Faults {
        unavailable: args.fail_503,
        assume_failures: args.assume_failures,
        list_failures: args.list_failures,
        update_failures: args.update_failures,
        latency: Duration::from_millis(args.latency_ms),
        drops: args.drop,
        hangs: args.hang,
    });
    sim.set_chaos(Chaos {
        seed: args.seed,
        unavailable: args.unavailable_rate,
        drop: args.drop_rate,
        hang: args.hang_rate,
        login_latency: Duration::from_millis(args.login_latency_ms),
        propagation: Duration::from_secs(args.propagation_seconds),
    });
    let running = vbaws_sim::spawn(sim, args.listen).await?;
    let revision = args.accept.first().cloned().unwrap_or_default();
    println!("Veeam Backup for AWS simulator on {}", running.url());
    println!(
        "certificate SHA-256 fingerprint: {}",
        running.identity.fingerprint
    );
    println!("accepted x-api-version: {}", args.accept.join(", "));
    println!("\nlog in (curl -k skips the check; pin the fingerprint above in real clients):");
    println!(
        "  curl -k -X POST {}/api/v1/token -H 'x-api-version: {revision}' \\\n    -d grant_type=password -d username={} -d password={}",
        running.url(),
        first.name,
        first.password
    );
    println!("then list IAM roles:");
    println!(
        "  curl -k {}/api/v1/accounts/amazon -H 'x-api-version: {revision}' -H 'Authorization: Bearer <access_token>'",
        running.url()
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}
