//! moto's server, a local stand-in for AWS APIs (Secrets Manager here), run as a child process.
//!
//! `make test` installs it into the workspace's `.venv`; `MOTO_SERVER` may name another one.

use std::{path::PathBuf, process::Stdio, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
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
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../.venv/bin/moto_server")
            });
        if !program.exists() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "{} is missing: run the tests with `make test`, which installs moto",
                    program.display()
                ),
            ));
        }
        // Port 0: the kernel picks a free port as moto binds it, and moto says which. (A port
        // chosen beforehand could be taken in between, by another test's moto too.)
        let mut child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| std::io::Error::other("moto's stderr was not captured"))?;
        let mut lines = BufReader::new(stderr).lines();
        let give_up = Instant::now() + Duration::from_secs(30);
        let announced = tokio::time::timeout_at(give_up, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(port) = announced_port(&line) {
                    return Ok(port);
                }
            }
            Err(std::io::Error::other("moto exited before it said its port"))
        })
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "moto did not start within 30 s"))??;
        // moto logs every request there: keep reading, or it blocks once the pipe is full.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let moto = Self {
            _child: child,
            port: announced,
        };
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

/// The port of werkzeug's " * Running on http://127.0.0.1:<port>" line.
fn announced_port(line: &str) -> Option<u16> {
    line.split("Running on http://127.0.0.1:")
        .nth(1)?
        .trim()
        .trim_end_matches('/')
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::announced_port;

    #[test]
    fn the_port_is_read_from_werkzeugs_announcement_only() {
        assert_eq!(
            announced_port(" * Running on http://127.0.0.1:45057"),
            Some(45057)
        );
        assert_eq!(
            announced_port(" * Running on http://127.0.0.1:45057/\n"),
            Some(45057)
        );
        assert_eq!(announced_port("WARNING: This is a development server."), None);
        assert_eq!(announced_port("Press CTRL+C to quit"), None);
    }
}
