//! The pool against real local servers: reuse, closes under it, idle expiry, HTTP/2 by ALPN.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use super::*;
use crate::upstream::client::{self, ClientSettings};

fn settings(idle: Duration) -> ClientSettings {
    ClientSettings {
        connect_timeout: Duration::from_secs(5),
        pool_idle_timeout: idle,
        pool_max_idle_per_host: 8,
    }
}

/// What a test server saw.
#[derive(Default)]
struct Seen {
    connections: AtomicUsize,
    requests: AtomicUsize,
    /// Connections the server has seen end.
    closed: AtomicUsize,
}

/// An HTTP/1.1 server on 127.0.0.1 answering `path:version` after `delay`; with `close_after`
/// it closes each connection once it answered that many requests.
async fn h1_server(seen: Arc<Seen>, close_after: Option<usize>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            seen.connections.fetch_add(1, Ordering::SeqCst);
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let answered = Arc::new(AtomicUsize::new(0));
                let svc = {
                    let seen = Arc::clone(&seen);
                    let answered = Arc::clone(&answered);
                    service_fn(move |req: Request<Incoming>| {
                        let seen = Arc::clone(&seen);
                        let n = answered.fetch_add(1, Ordering::SeqCst) + 1;
                        async move {
                            seen.requests.fetch_add(1, Ordering::SeqCst);
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let mut resp = Response::new(Full::new(body));
                            if close_after.is_some_and(|max| n >= max) {
                                resp.headers_mut()
                                    .insert("connection", "close".parse().unwrap());
                            }
                            Ok::<_, std::convert::Infallible>(resp)
                        }
                    })
                };
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
                seen.closed.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    port
}

fn pool(port: u16, idle: Duration, tls: Arc<rustls::ClientConfig>, scheme: &str) -> Pool {
    let uri: Uri = format!("{scheme}://localhost:{port}/").parse().unwrap();
    client::WorkerClients::build(
        settings(idle),
        &tls,
        uri.scheme().unwrap(),
        uri.authority().unwrap(),
    )
    .get()
    .clone()
}

async fn post(pool: &Pool, scheme: &str, port: u16, body: &'static str) -> (Response<()>, Bytes) {
    let uri: Uri = format!("{scheme}://localhost:{port}/echo?x=1")
        .parse()
        .unwrap();
    let req = Request::post(uri)
        .header("host", format!("localhost:{port}"))
        .body(OutBody::full(Bytes::from_static(body.as_bytes())))
        .unwrap();
    let resp = pool.request(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (Response::from_parts(parts, ()), bytes)
}

fn plain_tls() -> Arc<rustls::ClientConfig> {
    client::tls_config().unwrap()
}

#[tokio::test]
async fn sequential_requests_share_one_connection_and_concurrent_ones_get_their_own() {
    let seen = Arc::new(Seen::default());
    let port = h1_server(Arc::clone(&seen), None).await;
    let pool = pool(port, Duration::from_secs(30), plain_tls(), "http");
    for _ in 0..5 {
        let (resp, body) = post(&pool, "http", port, "hello").await;
        assert_eq!(resp.status(), 200);
        assert_eq!(&body[..], b"hello");
    }
    assert_eq!(seen.connections.load(Ordering::SeqCst), 1);
    let all = futures_util::future::join_all((0..4).map(|_| post(&pool, "http", port, "x"))).await;
    assert!(all.iter().all(|(r, b)| r.status() == 200 && &b[..] == b"x"));
    let after = seen.connections.load(Ordering::SeqCst);
    assert!((2..=4).contains(&after), "{after} connections");
    // Every connection went back: four more at once need no new one.
    futures_util::future::join_all((0..4).map(|_| post(&pool, "http", port, "y"))).await;
    assert_eq!(seen.connections.load(Ordering::SeqCst), after);
    assert_eq!(seen.requests.load(Ordering::SeqCst), 13);
}

#[tokio::test]
async fn a_connection_the_upstream_closes_is_not_reused() {
    let seen = Arc::new(Seen::default());
    let port = h1_server(Arc::clone(&seen), Some(1)).await;
    let pool = pool(port, Duration::from_secs(30), plain_tls(), "http");
    for i in 0..4 {
        let (resp, _) = post(&pool, "http", port, "x").await;
        assert_eq!(resp.status(), 200, "request {i}");
    }
    assert_eq!(seen.connections.load(Ordering::SeqCst), 4);
    assert_eq!(
        seen.requests.load(Ordering::SeqCst),
        4,
        "nothing sent twice"
    );
}

#[tokio::test]
async fn an_idle_connection_closed_by_the_upstream_is_replaced() {
    // A server that answers one request per connection without saying so, then closes.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let svc = service_fn(|_req: Request<Incoming>| async {
                    Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from("ok"))))
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), svc);
                // Ends the connection (idle, keep-alive) shortly after the first answer.
                let _ = tokio::time::timeout(Duration::from_millis(50), conn).await;
            });
        }
    });
    let pool = pool(port, Duration::from_secs(30), plain_tls(), "http");
    for _ in 0..3 {
        let (resp, body) = post(&pool, "http", port, "x").await;
        assert_eq!(resp.status(), 200);
        assert_eq!(&body[..], b"ok");
        tokio::time::sleep(Duration::from_millis(120)).await;
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn idle_connections_close_after_the_idle_timeout() {
    let seen = Arc::new(Seen::default());
    let port = h1_server(Arc::clone(&seen), None).await;
    let pool = pool(port, Duration::from_millis(200), plain_tls(), "http");
    post(&pool, "http", port, "x").await;
    assert_eq!(seen.closed.load(Ordering::SeqCst), 0);
    // The reaper closes it without any further request.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while seen.closed.load(Ordering::SeqCst) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "never closed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    post(&pool, "http", port, "x").await;
    assert_eq!(seen.connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_streamed_body_returns_its_connection_once_read() {
    let seen = Arc::new(Seen::default());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let counter = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            counter.connections.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let svc = service_fn(|_req: Request<Incoming>| async {
                    // Three chunks, 20 ms apart: the head goes out before the body ends.
                    let chunks = futures_util::stream::unfold(0u8, |i| async move {
                        if i == 3 {
                            return None;
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        let frame = hyper::body::Frame::data(Bytes::from(vec![b'a' + i]));
                        Some((Ok::<_, std::convert::Infallible>(frame), i + 1))
                    });
                    let body = http_body_util::StreamBody::new(chunks);
                    Ok::<_, std::convert::Infallible>(Response::new(body))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    let pool = pool(port, Duration::from_secs(30), plain_tls(), "http");
    for _ in 0..3 {
        let (_, body) = post(&pool, "http", port, "x").await;
        assert_eq!(&body[..], b"abc");
        // The connection goes back from its own small task once the body ended.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(seen.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn connect_errors_and_timeouts_are_told_apart() {
    let free = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let pool = pool(port, Duration::from_secs(30), plain_tls(), "http");
    let uri: Uri = format!("http://localhost:{port}/").parse().unwrap();
    let err = pool
        .request(
            Request::post(uri)
                .body(OutBody::full(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Connect(_)), "{err:?}");
    assert!(!client::is_connect_timeout(&err));
    // Another origin is refused, never sent.
    let other: Uri = "http://127.0.0.1:9/".parse().unwrap();
    let err = pool
        .request(
            Request::post(other)
                .body(OutBody::full(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::WrongOrigin(_)), "{err:?}");
}

#[tokio::test]
async fn https_upstreams_offering_h2_share_one_http2_connection() {
    let acceptor = crate::upstream::test_tls::acceptor(&[b"h2", b"http/1.1"]);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Seen::default());
    let counter = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            counter.connections.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let tls = acceptor.accept(tcp).await.unwrap();
                assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
                let svc = service_fn(|req: Request<Incoming>| async move {
                    let version = format!("{:?}", req.version());
                    Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from(
                        version,
                    ))))
                });
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    let client_tls = crate::upstream::test_tls::client();
    let pool = pool(port, Duration::from_secs(30), Arc::new(client_tls), "https");
    // The first request learns that the upstream speaks HTTP/2; then requests share it.
    post(&pool, "https", port, "x").await;
    let all = futures_util::future::join_all((0..6).map(|_| post(&pool, "https", port, "x"))).await;
    for (resp, body) in &all {
        assert_eq!(resp.status(), 200);
        assert_eq!(&body[..], b"HTTP/2.0");
    }
    post(&pool, "https", port, "x").await;
    assert_eq!(
        seen.connections.load(Ordering::SeqCst),
        1,
        "one multiplexed connection"
    );
}
