//! The floor: a bare forwarding proxy built from the same parts as the gateway (hyper's
//! HTTP/1 server, hyper-util's pooled client, tokio's multi-thread runtime, mimalloc excluded)
//! and nothing else — no routing, auth, body inspection or accounting. Its throughput against
//! the direct call is the best any hyper-based proxy can do on this machine; the gateway is
//! judged against both.

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;

use http::Uri;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

/// Serves on 127.0.0.1 (any port) and forwards every request, unchanged, to `upstream`.
pub async fn run(upstream: SocketAddr) -> Result<(), String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "bare-proxy listening on http://{addr}");
        let _ = out.flush();
    }
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<_, Incoming> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(256)
        .build(connector);
    let authority = upstream.to_string();
    loop {
        let (tcp, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let _ = tcp.set_nodelay(true);
        let client = client.clone();
        let authority = authority.clone();
        tokio::spawn(async move {
            let service = service_fn(move |mut req: hyper::Request<Incoming>| {
                let client = client.clone();
                let uri = Uri::builder()
                    .scheme("http")
                    .authority(authority.as_str())
                    .path_and_query(req.uri().path_and_query().map_or("/", |p| p.as_str()))
                    .build();
                async move {
                    let Ok(uri) = uri else {
                        return Ok::<_, Infallible>(status(400));
                    };
                    *req.uri_mut() = uri;
                    Ok(match client.request(req).await {
                        Ok(resp) => resp.map(Body::Incoming),
                        Err(_) => status(502),
                    })
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}

/// Either the upstream's body or nothing (for the proxy's own error answers).
enum Body {
    Incoming(Incoming),
    Empty,
}

impl hyper::body::Body for Body {
    type Data = bytes::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        match self.get_mut() {
            Body::Incoming(b) => std::pin::Pin::new(b).poll_frame(cx),
            Body::Empty => std::task::Poll::Ready(None),
        }
    }
}

fn status(code: u16) -> hyper::Response<Body> {
    let mut resp = hyper::Response::new(Body::Empty);
    *resp.status_mut() = http::StatusCode::from_u16(code).unwrap_or(http::StatusCode::BAD_GATEWAY);
    resp
}
