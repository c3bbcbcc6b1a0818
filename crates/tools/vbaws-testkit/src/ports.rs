//! Ports that refuse connections, for tests of what happens when nothing answers.

use std::net::{Ipv4Addr, SocketAddr};

use tokio::net::{TcpListener, TcpSocket};

/// A port on 127.0.0.1 that refuses connections for as long as this value lives: its socket is
/// bound but not listening, so no other process can take the port in the meantime, as one could
/// take a port found free and released.
#[derive(Debug)]
pub struct ClosedPort {
    socket: TcpSocket,
    port: u16,
}

impl ClosedPort {
    pub fn new() -> std::io::Result<Self> {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
        let port = socket.local_addr()?.port();
        Ok(Self { socket, port })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Starts listening on the port: a server that comes up after its address was handed out.
    pub fn listen(self) -> std::io::Result<TcpListener> {
        self.socket.listen(1024)
    }
}

/// A port on 127.0.0.1 that refuses connections until the test process ends (its socket is
/// kept open, bound and not listening, until then).
pub fn closed_port() -> std::io::Result<u16> {
    let port = ClosedPort::new()?;
    let number = port.port();
    std::mem::forget(port);
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_closed_port_refuses_connections_until_it_listens() {
        let port = ClosedPort::new().expect("bound");
        let address = (Ipv4Addr::LOCALHOST, port.port());
        let refused = tokio::net::TcpStream::connect(address)
            .await
            .expect_err("refused");
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
        assert!(
            std::net::TcpListener::bind(address).is_err(),
            "no one else can take the port meanwhile"
        );
        let listener = port.listen().expect("listening");
        let (accepted, connected) = tokio::join!(listener.accept(), tokio::net::TcpStream::connect(address));
        accepted.expect("accepted");
        connected.expect("connected");
    }
}
