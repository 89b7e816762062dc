//! Helpers shared by the integration tests: real HTTP over TCP with reqwest.
// Not every test file uses every helper; helpers fail loudly like the tests do.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use mock_azure::{MockConfig, MockServer};
use serde_json::Value;

pub const KEY: &str = "test-key";
pub const API: &str = "api-version=2024-10-21";
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// A mock that accepts only [`KEY`].
pub async fn server() -> MockServer {
    MockServer::start(MockConfig {
        key: Some(KEY.to_owned()),
        ..MockConfig::default()
    })
    .await
    .unwrap()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// `POST base+path` with `api-key: KEY` and a JSON body.
pub fn post(server: &MockServer, path: &str, body: &Value) -> reqwest::RequestBuilder {
    client()
        .post(format!("{}{path}", server.base_url()))
        .header("api-key", KEY)
        .json(body)
}

pub async fn send_json(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

pub async fn send_text(request: reqwest::RequestBuilder) -> (u16, String) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// POSTs `body` and returns the SSE text after checking status and content type.
pub async fn stream_text(mock: &MockServer, path: &str, body: Value) -> String {
    let response = post(mock, path, &body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/event-stream; charset=utf-8"
    );
    response.text().await.unwrap()
}

/// Splits an SSE body into its events (without the blank-line terminator).
pub fn split_events(text: &str) -> Vec<&str> {
    let events: Vec<&str> = text.split_terminator("\n\n").collect();
    assert!(
        text.ends_with("\n\n"),
        "body does not end with a blank line"
    );
    events
}

/// The JSON of a `data: {…}` event.
pub fn data(event: &str) -> Value {
    let line = event
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap_or_else(|| panic!("no data line in {event:?}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}"))
}

/// Reads SSE events one at a time, noting when each arrived.
pub struct EventReader {
    stream: futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buf: Vec<u8>,
}

impl EventReader {
    pub fn new(response: reqwest::Response) -> Self {
        Self {
            stream: response.bytes_stream().boxed(),
            buf: Vec::new(),
        }
    }

    /// `Ok(None)` at a clean end of body, `Err` when the connection broke.
    pub async fn next(&mut self) -> Result<Option<(String, Instant)>, reqwest::Error> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let event: Vec<u8> = self.buf.drain(..end + 2).collect();
                let text = String::from_utf8(event[..end].to_vec()).unwrap();
                return Ok(Some((text, Instant::now())));
            }
            match self.stream.next().await {
                Some(chunk) => self.buf.extend_from_slice(&chunk?),
                None => {
                    assert!(self.buf.is_empty(), "trailing bytes without blank line");
                    return Ok(None);
                }
            }
        }
    }
}

/// `GET base+path` with `api-key: KEY`.
pub fn get(server: &MockServer, path: &str) -> reqwest::RequestBuilder {
    client()
        .get(format!("{}{path}", server.base_url()))
        .header("api-key", KEY)
}

/// `DELETE base+path` with `api-key: KEY`.
pub fn delete(server: &MockServer, path: &str) -> reqwest::RequestBuilder {
    client()
        .delete(format!("{}{path}", server.base_url()))
        .header("api-key", KEY)
}

/// `POST base+path` with `api-key: KEY` and a multipart body.
pub fn post_form(server: &MockServer, path: &str, form: Multipart) -> reqwest::RequestBuilder {
    let (content_type, body) = form.finish();
    client()
        .post(format!("{}{path}", server.base_url()))
        .header("api-key", KEY)
        .header("content-type", content_type)
        .body(body)
}

/// A `multipart/form-data` body built by hand, so a test controls the field order and
/// every byte (reqwest's multipart feature is not enabled in the workspace).
pub struct Multipart {
    body: Vec<u8>,
}

impl Multipart {
    pub const BOUNDARY: &'static str = "----mock-azure-test-7MA4YWxkTrZu0gW";

    pub fn new() -> Self {
        Self { body: Vec::new() }
    }

    fn head(&mut self, disposition: &str) {
        self.body
            .extend_from_slice(format!("--{}\r\n", Self::BOUNDARY).as_bytes());
        self.body.extend_from_slice(
            format!("Content-Disposition: form-data; {disposition}\r\n").as_bytes(),
        );
    }

    pub fn text(mut self, name: &str, value: &str) -> Self {
        self.head(&format!("name=\"{name}\""));
        self.body.extend_from_slice(b"\r\n");
        self.body.extend_from_slice(value.as_bytes());
        self.body.extend_from_slice(b"\r\n");
        self
    }

    pub fn file(mut self, name: &str, filename: &str, content_type: &str, data: &[u8]) -> Self {
        self.head(&format!("name=\"{name}\"; filename=\"{filename}\""));
        self.body
            .extend_from_slice(format!("Content-Type: {content_type}\r\n\r\n").as_bytes());
        self.body.extend_from_slice(data);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    /// The `Content-Type` header value and the finished body.
    pub fn finish(mut self) -> (String, Vec<u8>) {
        self.body
            .extend_from_slice(format!("--{}--\r\n", Self::BOUNDARY).as_bytes());
        (
            format!("multipart/form-data; boundary={}", Self::BOUNDARY),
            self.body,
        )
    }
}

/// Bytes that look like trouble for a multipart parser: CR LF, a near-boundary, NULs.
pub fn awkward_bytes(len: usize) -> Vec<u8> {
    let mut data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
    let trap = format!("\r\n--{}", &Multipart::BOUNDARY[..20]);
    let at = len / 2;
    if len > at + trap.len() {
        data[at..at + trap.len()].copy_from_slice(trap.as_bytes());
    }
    data
}

/// The first 16 hex digits of the SHA-256 of `data`, as the mock's transcripts show it.
pub fn sha256_16(data: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(data)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
