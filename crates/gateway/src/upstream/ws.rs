//! The WebSocket client handshake to an upstream, over the gateway's own TCP and TLS setup.
//!
//! The handshake is an HTTP/1.1 request on hyper's client connection rather than
//! tokio-tungstenite's `connect_async`, so an upstream that refuses (401, 404, 429) is read like
//! any HTTP answer: status, headers and the whole (bounded) body reach the client unchanged,
//! where tungstenite keeps only the bytes that happened to arrive with the headers. Once the
//! upstream answers 101, tokio-tungstenite takes over the upgraded connection. TLS uses the
//! gateway's rustls configuration (ring; webpki and platform roots) as the pooled clients do,
//! every socket gets TCP_NODELAY, and the connect timeout bounds TCP plus TLS.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{
    CONNECTION, HOST, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE,
};
use http::uri::Scheme;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

use crate::error::{GatewayError, Phase};

/// An open WebSocket to an upstream.
pub type UpstreamSocket = WebSocketStream<TokioIo<Upgraded>>;

/// The most of a refusal's body that is kept for the client; error bodies are far smaller.
const MAX_REFUSAL_BODY: usize = 64 * 1024;

/// One handshake to make.
pub struct WsRequest<'a> {
    /// `http://` or `https://` (the scheme says whether TLS is used); path and query included.
    pub uri: &'a Uri,
    /// Headers besides the handshake's own (`Host`, `Connection`, `Upgrade`, `Sec-WebSocket-*`).
    pub headers: HeaderMap,
    pub tls: &'a Arc<ClientConfig>,
    pub connect_timeout: Duration,
    /// From the request being written to the upstream's answer (and a refusal's body).
    pub answer_timeout: Duration,
    /// The upstream's name, for errors.
    pub upstream: &'a str,
}

/// How the upstream answered the handshake.
#[derive(Debug)]
pub enum Handshake {
    /// 101: the socket, and the headers of the upstream's 101 (request ids, region).
    Open {
        socket: Box<UpstreamSocket>,
        headers: HeaderMap,
    },
    /// Any other status, with its headers and body.
    Refused(Response<Bytes>),
}

impl std::fmt::Debug for WsRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Headers carry the upstream credential: never printed.
        f.debug_struct("WsRequest")
            .field("uri", self.uri)
            .field("upstream", &self.upstream)
            .finish_non_exhaustive()
    }
}

fn unreachable(upstream: &str, err: &(dyn std::error::Error + 'static)) -> GatewayError {
    let mut detail = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    GatewayError::UpstreamUnreachable {
        upstream: upstream.to_owned(),
        detail,
    }
}

fn timed_out(upstream: &str, phase: Phase, limit: Duration) -> GatewayError {
    GatewayError::UpstreamTimeout {
        upstream: upstream.to_owned(),
        phase,
        ms: u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
    }
}

/// The connection before the handshake: plain TCP or TLS over it.
enum Io {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// TCP (and TLS) to the upstream, within the connect timeout.
async fn connect(req: &WsRequest<'_>) -> Result<Io, GatewayError> {
    let upstream = req.upstream;
    let host = req
        .uri
        .host()
        .ok_or_else(|| GatewayError::Internal(format!("upstream `{upstream}` has no host")))?;
    // `Uri::host` keeps an IPv6 literal's brackets; sockets and SNI want the bare address.
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let tls = req.uri.scheme() == Some(&Scheme::HTTPS);
    let port = req.uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let connecting = async {
        let tcp = TcpStream::connect((host, port))
            .await
            .map_err(|e| unreachable(upstream, &e))?;
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
        if !tls {
            return Ok(Io::Plain(tcp));
        }
        let name = ServerName::try_from(host.to_owned()).map_err(|e| unreachable(upstream, &e))?;
        let stream = TlsConnector::from(Arc::clone(req.tls))
            .connect(name, tcp)
            .await
            .map_err(|e| unreachable(upstream, &e))?;
        Ok(Io::Tls(Box::new(stream)))
    };
    tokio::time::timeout(req.connect_timeout, connecting)
        .await
        .map_err(|_| timed_out(upstream, Phase::Connect, req.connect_timeout))?
}

/// Connects and performs the handshake.
pub async fn open(req: WsRequest<'_>) -> Result<Handshake, GatewayError> {
    let io = connect(&req).await?;
    let answering = async {
        match io {
            Io::Plain(tcp) => handshake(tcp, &req).await,
            Io::Tls(tls) => handshake(*tls, &req).await,
        }
    };
    tokio::time::timeout(req.answer_timeout, answering)
        .await
        .map_err(|_| timed_out(req.upstream, Phase::FirstByte, req.answer_timeout))?
}

/// The handshake request for `req`, with a fresh key.
fn request(req: &WsRequest<'_>, key: &str) -> Result<Request<Empty<Bytes>>, GatewayError> {
    let bad = |e: http::Error| {
        GatewayError::Internal(format!("bad handshake for `{}`: {e}", req.upstream))
    };
    let target = req.uri.path_and_query().map_or("/", |p| p.as_str());
    let host = req.uri.authority().map_or("", |a| a.as_str());
    let mut request = Request::builder()
        .method(Method::GET)
        .uri(target)
        .header(HOST, host)
        .header(CONNECTION, HeaderValue::from_static("Upgrade"))
        .header(UPGRADE, HeaderValue::from_static("websocket"))
        .header(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"))
        .header(SEC_WEBSOCKET_KEY, key)
        .body(Empty::new())
        .map_err(bad)?;
    for (name, value) in &req.headers {
        request.headers_mut().append(name.clone(), value.clone());
    }
    Ok(request)
}

async fn handshake<T>(io: T, req: &WsRequest<'_>) -> Result<Handshake, GatewayError>
where
    T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let upstream = req.upstream;
    let key = generate_key();
    let request = request(req, &key)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| unreachable(upstream, &e))?;
    // Drives the connection until it is upgraded (or refused and dropped).
    tokio::spawn(async move {
        if let Err(e) = conn.with_upgrades().await {
            tracing::debug!(error = %e, "upstream handshake connection ended");
        }
    });
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| unreachable(upstream, &e))?;
    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
        let (head, body) = response.into_parts();
        // A body cut short (or too long) still leaves the status and headers to pass on.
        let body = Limited::new(body, MAX_REFUSAL_BODY)
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        return Ok(Handshake::Refused(Response::from_parts(head, body)));
    }
    let accepted = response
        .headers()
        .get(SEC_WEBSOCKET_ACCEPT)
        .is_some_and(|v| v.as_bytes() == derive_accept_key(key.as_bytes()).as_bytes());
    if !accepted {
        return Err(GatewayError::UpstreamUnreachable {
            upstream: upstream.to_owned(),
            detail: "the WebSocket handshake answer has no valid Sec-WebSocket-Accept".to_owned(),
        });
    }
    let headers = response.headers().clone();
    let upgraded = hyper::upgrade::on(response)
        .await
        .map_err(|e| unreachable(upstream, &e))?;
    let socket = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Client, None).await;
    Ok(Handshake::Open {
        socket: Box::new(socket),
        headers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A TCP server on loopback that reads the request and sends `answer` (if any), then
    /// keeps the connection open.
    async fn server(answer: Option<&'static str>) -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let mut seen = Vec::new();
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = tcp.read(&mut buf).await.unwrap();
                if n == 0 {
                    return;
                }
                seen.extend_from_slice(&buf[..n]);
            }
            if let Some(answer) = answer {
                tcp.write_all(answer.as_bytes()).await.unwrap();
            }
            std::future::pending::<()>().await;
        });
        addr
    }

    async fn dial(uri: &str) -> Result<Handshake, GatewayError> {
        let uri: Uri = uri.parse().unwrap();
        let tls = Arc::new(
            crate::upstream::client::tls_config()
                .map(|c| (*c).clone())
                .unwrap(),
        );
        open(WsRequest {
            uri: &uri,
            headers: HeaderMap::new(),
            tls: &tls,
            connect_timeout: Duration::from_millis(300),
            answer_timeout: Duration::from_millis(300),
            upstream: "up",
        })
        .await
    }

    #[tokio::test]
    async fn wss_goes_through_tls_and_carries_frames() {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;

        let acceptor = crate::upstream::test_tls::acceptor(&[b"http/1.1"]);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let tls = acceptor.accept(tcp).await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(tls).await.unwrap();
            while let Some(Ok(m)) = ws.next().await {
                if m.is_text() {
                    ws.send(m).await.unwrap();
                }
            }
        });
        let mut client_tls = crate::upstream::test_tls::client();
        client_tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let uri: Uri = format!("https://localhost:{port}/openai/v1/realtime?model=rt")
            .parse()
            .unwrap();
        let handshake = open(WsRequest {
            uri: &uri,
            headers: HeaderMap::new(),
            tls: &Arc::new(client_tls),
            connect_timeout: Duration::from_secs(5),
            answer_timeout: Duration::from_secs(5),
            upstream: "tls",
        })
        .await
        .unwrap();
        let Handshake::Open { mut socket, .. } = handshake else {
            panic!("expected an open socket");
        };
        socket.send(Message::text("over tls")).await.unwrap();
        assert_eq!(
            socket.next().await.unwrap().unwrap(),
            Message::text("over tls")
        );
    }

    #[tokio::test]
    async fn the_connect_timeout_covers_tls() {
        // Accepts TCP but never speaks TLS.
        let addr = server(None).await;
        let err = dial(&format!("https://localhost:{}/v1/realtime", addr.port()))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                GatewayError::UpstreamTimeout {
                    phase: Phase::Connect,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_silent_upstream_is_a_first_byte_timeout() {
        let addr = server(None).await;
        let err = dial(&format!("http://{addr}/v1/realtime"))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                GatewayError::UpstreamTimeout {
                    phase: Phase::FirstByte,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_101_without_the_right_accept_key_is_refused() {
        let addr = server(Some(
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Accept: bm90IHRoZSBrZXk=\r\n\r\n",
        ))
        .await;
        let err = dial(&format!("http://{addr}/v1/realtime"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "upstream_unreachable");
    }

    #[tokio::test]
    async fn a_refusal_keeps_its_whole_body() {
        let addr = server(Some(
            "HTTP/1.1 429 Too Many Requests\r\nretry-after: 2\r\ncontent-length: 22\r\n\r\n\
             {\"error\":{\"code\":\"x\"}}",
        ))
        .await;
        let Handshake::Refused(response) =
            dial(&format!("http://{addr}/v1/realtime")).await.unwrap()
        else {
            panic!("expected a refusal");
        };
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "2");
        assert_eq!(&response.body()[..], br#"{"error":{"code":"x"}}"#);
    }
}
