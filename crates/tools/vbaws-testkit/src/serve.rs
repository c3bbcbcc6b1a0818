//! How every stand-in serves its router.

use std::net::SocketAddr;

use axum::{Router, serve::ListenerExt};
use tokio::{net::TcpListener, task::JoinHandle};

/// Serves `app` on a free port of 127.0.0.1 until the returned task is aborted.
pub(crate) async fn serve(app: Router) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    serve_on(TcpListener::bind(("127.0.0.1", 0)).await?, app)
}

/// Serves `app` on `listener` until the returned task is aborted.
pub(crate) fn serve_on(listener: TcpListener, app: Router) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let addr = listener.local_addr()?;
    // Small request/answer exchanges: without TCP_NODELAY, Nagle's algorithm could delay them.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((addr, server))
}
