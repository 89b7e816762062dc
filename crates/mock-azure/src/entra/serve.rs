//! Accept loops for the identity provider's listeners: TLS (tokio-rustls) or plain TCP,
//! each connection served by hyper-util (HTTP/1.1 or h2) with an axum router.
//!
//! `axum::serve` only takes plain listeners, hence this small loop. Connections live in
//! a `JoinSet` owned by the loop's task, so aborting that task (the server handle's
//! drop) closes the listener and every open connection at once.

use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

/// A client that opens a connection and never finishes the handshake is dropped after this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `router` on `listener` (behind TLS when `tls` is set) until the task is aborted.
pub(super) fn spawn(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _peer)) => stream,
                Err(_) => {
                    // Out of descriptors or a reset before accept: try again shortly.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            while connections.try_join_next().is_some() {}
            let _ = stream.set_nodelay(true);
            let (router, tls) = (router.clone(), tls.clone());
            connections.spawn(async move {
                match tls {
                    Some(acceptor) => {
                        let handshake =
                            tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
                        if let Ok(Ok(stream)) = handshake.await {
                            connection(stream, router).await;
                        }
                    }
                    None => connection(stream, router).await,
                }
            });
        }
    })
}

/// Serves one connection until the peer closes it.
async fn connection<I>(io: I, router: Router)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = TowerToHyperService::new(router);
    let _ = auto::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(io), service)
        .await;
}
