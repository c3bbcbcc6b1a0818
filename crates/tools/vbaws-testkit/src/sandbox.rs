//! A function binary run as Lambda runs it: one process per sandbox, polling the Runtime API.

use std::{
    path::Path,
    process::Stdio,
    sync::{Arc, Mutex},
};

use tokio::{
    io::{AsyncBufReadExt, AsyncRead, BufReader},
    process::{Child, Command},
    time::Instant,
};

use crate::RuntimeApi;

/// A running function process. Its output (stdout and stderr) is kept for assertions, and the
/// process is killed when the sandbox is dropped.
#[derive(Debug)]
pub struct Sandbox {
    child: Child,
    output: Arc<Mutex<String>>,
    /// When the process was spawned: the start of its cold start.
    pub started: Instant,
}

impl Sandbox {
    /// Starts `binary` with a clean environment: the variables Lambda sets for every function,
    /// pointed at `runtime`, plus `extra`.
    pub fn start(binary: &Path, runtime: &RuntimeApi, extra: &[(&str, &str)]) -> std::io::Result<Self> {
        let name = binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", runtime.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", &name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .env("AWS_REGION", "us-east-1")
            .envs(extra.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let started = Instant::now();
        let mut child = command.spawn()?;
        let output = Arc::new(Mutex::new(String::new()));
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(collect(stdout, Arc::clone(&output)));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(collect(stderr, Arc::clone(&output)));
        }
        Ok(Self {
            child,
            output,
            started,
        })
    }

    /// Everything the process printed so far.
    pub fn output(&self) -> String {
        self.output
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The process ID, for measuring it.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

async fn collect(stream: impl AsyncRead + Unpin, into: Arc<Mutex<String>>) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let mut text = into.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        text.push_str(&line);
        text.push('\n');
    }
}

/// The environment the Lambdas template gives `veeam-configurator`, pointed at local
/// stand-ins: the appliance (pinned by its certificate's fingerprint), the extension's port and
/// session token, and the secret's ID. The host its answers may go to is the rig's to add.
pub fn configurator_env(
    api_url: &str,
    cert_sha256: &str,
    extension_port: u16,
    secret_id: &str,
    session_token: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("VEEAM_API_URL", api_url.to_owned()),
        ("SECRET_ID", secret_id.to_owned()),
        ("VEEAM_CERT_SHA256", cert_sha256.to_owned()),
        (
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT",
            extension_port.to_string(),
        ),
        ("AWS_SESSION_TOKEN", session_token.to_owned()),
    ]
}
