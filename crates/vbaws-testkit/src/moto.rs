//! moto's server, a local stand-in for AWS APIs (Secrets Manager here), run as a child process.
//!
//! `make test` installs it into the workspace's `.venv`; `MOTO_SERVER` may name another one.

use std::{path::PathBuf, process::Stdio, time::Duration};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    process::{Child, Command},
    time::Instant,
};

/// A running moto server on 127.0.0.1, stopped when dropped.
#[derive(Debug)]
pub struct Moto {
    _child: Child,
    port: u16,
}

impl Moto {
    pub async fn start() -> std::io::Result<Self> {
        let program = std::env::var_os("MOTO_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/moto_server"));
        if !program.exists() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "{} is missing: run the tests with `make test`, which installs moto",
                    program.display()
                ),
            ));
        }
        let port = free_port()?;
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let moto = Self { _child: child, port };
        let give_up = Instant::now() + Duration::from_secs(30);
        while !moto.ready().await {
            if Instant::now() > give_up {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "moto did not start within 30 s",
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(moto)
    }

    /// `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn ready(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)).await else {
            return false;
        };
        if stream
            .write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .await
            .is_err()
        {
            return false;
        }
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await.is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
