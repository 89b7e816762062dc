//! A minimal HTTP/1.1 client on hyper's connection API: one TCP connection per [`Conn`],
//! TCP_NODELAY, no pool, so each measurement is one request on a known, warm connection and
//! the client costs the same whichever side it calls.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// One side of a comparison: where to send the request and how to authenticate.
#[derive(Clone)]
pub struct Endpoint {
    pub addr: SocketAddr,
    pub path: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Endpoint {
    pub fn new(addr: SocketAddr, path: &str, headers: &[(&'static str, &str)]) -> Self {
        let headers = headers
            .iter()
            .filter_map(|(k, v)| Some((HeaderName::from_static(k), HeaderValue::from_str(v).ok()?)))
            .collect();
        Self {
            addr,
            path: path.to_owned(),
            headers,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}{}", self.addr, self.path)
    }
}

/// What one exchange looked like from the client, times measured from just before sending.
pub struct Exchange {
    pub status: u16,
    /// When each SSE event (a blank-line terminator) had fully arrived; empty for JSON.
    pub events: Vec<Duration>,
    /// When the body ended.
    pub done_at: Duration,
}

/// One kept-alive HTTP/1.1 connection.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> Result<Self, String> {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(|e| format!("handshake {addr}: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Self { sender })
    }

    /// Sends a POST and waits for the response headers; the body is left to the caller.
    pub async fn start(
        &mut self,
        ep: &Endpoint,
        body: &Bytes,
        extra: &[(HeaderName, HeaderValue)],
    ) -> Result<hyper::Response<hyper::body::Incoming>, String> {
        self.sender
            .ready()
            .await
            .map_err(|e| format!("connection to {} closed: {e}", ep.addr))?;
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(&ep.path)
            .header(http::header::HOST, ep.addr.to_string())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(body.clone()))
            .map_err(|e| e.to_string())?;
        for (k, v) in ep.headers.iter().chain(extra) {
            req.headers_mut().insert(k.clone(), v.clone());
        }
        self.sender
            .send_request(req)
            .await
            .map_err(|e| format!("request to {}: {e}", ep.addr))
    }

    /// One whole exchange, timing the headers, every SSE event and the end of the body.
    pub async fn exchange(
        &mut self,
        ep: &Endpoint,
        body: &Bytes,
        extra: &[(HeaderName, HeaderValue)],
    ) -> Result<Exchange, String> {
        let t0 = Instant::now();
        let resp = self.start(ep, body, extra).await?;
        let status = resp.status().as_u16();
        let mut body = resp.into_body();
        let mut events = Vec::new();
        let mut counter = EventCounter::default();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| format!("body from {}: {e}", ep.addr))?;
            if let Some(data) = frame.data_ref() {
                let at = t0.elapsed();
                for _ in 0..counter.feed(data) {
                    events.push(at);
                }
            }
        }
        Ok(Exchange {
            status,
            events,
            done_at: t0.elapsed(),
        })
    }
}

/// Counts SSE event terminators (`\n\n`) across arbitrary chunk boundaries.
#[derive(Default)]
pub struct EventCounter {
    last_was_newline: bool,
}

impl EventCounter {
    pub fn feed(&mut self, data: &[u8]) -> usize {
        let mut n = 0;
        for &b in data {
            if b == b'\n' {
                if self.last_was_newline {
                    n += 1;
                    self.last_was_newline = false;
                } else {
                    self.last_was_newline = true;
                }
            } else if b != b'\r' {
                self.last_was_newline = false;
            }
        }
        n
    }
}

/// `x-mock-*` headers for the mock's behaviour on this request.
pub fn mock_headers(pairs: &[(&'static str, &str)]) -> Vec<(HeaderName, HeaderValue)> {
    pairs
        .iter()
        .filter_map(|(k, v)| Some((HeaderName::from_static(k), HeaderValue::from_str(v).ok()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::EventCounter;

    #[test]
    fn counts_events_across_splits() {
        let mut c = EventCounter::default();
        assert_eq!(c.feed(b"data: a\n"), 0);
        assert_eq!(c.feed(b"\ndata: b\n\ndata: c\r\n"), 2);
        assert_eq!(c.feed(b"\r\n"), 1);
    }
}
