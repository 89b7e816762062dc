//! The HTTP transport `azure_identity` mints tokens over: the gateway's own hyper client.
//!
//! The crate's default transport is reqwest with its own TLS stack. Handing it ours keeps one
//! set of trust roots (`SSL_CERT_FILE` included, which is how tests trust a CA made at test
//! time), one connect timeout and no second TLS library in the binary.
//!
//! One Azure SDK convention the Rust crate lacks is kept here: `AZURE_POD_IDENTITY_AUTHORITY_HOST`
//! replaces the fixed IMDS address (`http://169.254.169.254`), as the Python, .NET and Java
//! SDKs do for AAD Pod Identity and IMDS proxies.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use azure_core::error::{Error, ErrorKind};
use azure_core::http::headers::{HeaderName, HeaderValue, Headers};
use azure_core::http::{AsyncRawResponse, Body, HttpClient, Method, Request, Url};
use http_body_util::{BodyExt, Limited};

use crate::upstream::OutBody;
use crate::upstream::client::{self, ClientSettings, HttpClient as Hyper};

/// Token answers are a few KiB; anything larger is not an identity provider talking.
const MAX_ANSWER: usize = 1 << 20;
const IMDS_HOST: &str = "169.254.169.254";
const POD_IDENTITY_HOST: &str = "AZURE_POD_IDENTITY_AUTHORITY_HOST";

/// `azure_core`'s [`HttpClient`] over the gateway's pooled hyper client.
#[derive(Debug)]
pub struct TokenTransport {
    client: Hyper,
    /// Bounds one exchange with the identity provider, connect to last byte.
    timeout: Duration,
    /// Where IMDS requests go instead of 169.254.169.254.
    imds: Option<Url>,
}

impl TokenTransport {
    pub fn new(tls: &Arc<rustls::ClientConfig>, timeout: Duration) -> Self {
        let settings = ClientSettings {
            connect_timeout: timeout.min(Duration::from_secs(10)),
            pool_idle_timeout: Duration::from_secs(30),
            pool_max_idle_per_host: 2,
        };
        let imds = std::env::var(POD_IDENTITY_HOST)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .and_then(|v| match Url::parse(v.trim()) {
                Ok(url) => Some(url),
                Err(e) => {
                    tracing::warn!("{POD_IDENTITY_HOST} is not a URL ({e}); using IMDS directly");
                    None
                }
            });
        Self {
            client: client::build(settings, Arc::clone(tls)),
            timeout,
            imds,
        }
    }

    /// The URL actually dialled: IMDS requests are redirected when configured.
    fn target(&self, url: &Url) -> Url {
        match &self.imds {
            Some(base) if url.host_str() == Some(IMDS_HOST) => {
                let mut moved = base.clone();
                let prefix = base.path().trim_end_matches('/');
                moved.set_path(&format!("{prefix}{}", url.path()));
                moved.set_query(url.query());
                moved
            }
            _ => url.clone(),
        }
    }

    async fn exchange(&self, request: &Request) -> Result<AsyncRawResponse, Error> {
        let url = self.target(request.url());
        let body = match request.body() {
            Body::Bytes(bytes) => bytes.clone(),
            // Token requests are small forms; the crate never streams one.
            Body::SeekableStream(_) => {
                return Err(Error::with_message(
                    ErrorKind::Other,
                    "streamed request bodies are not supported by the token transport",
                ));
            }
        };
        let Some(method) = method(request.method()) else {
            return Err(Error::with_message(
                ErrorKind::Other,
                format!("unsupported method {:?}", request.method()),
            ));
        };
        let mut builder = http::Request::builder().method(method).uri(url.as_str());
        for (name, value) in request.headers().iter() {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let req = builder
            .body(OutBody::full(body))
            .map_err(|e| Error::with_error(ErrorKind::Other, e, "invalid token request"))?;
        let resp = self.client.request(req).await.map_err(|e| {
            let kind = if e.is_connect() {
                ErrorKind::Connection
            } else {
                ErrorKind::Io
            };
            Error::with_message(kind, format!("{}: {}", redacted_url(&url), chain(&e)))
        })?;
        let status = resp.status().as_u16();
        let mut headers = Headers::new();
        for (name, value) in resp.headers() {
            if let Ok(v) = value.to_str() {
                headers.insert(
                    HeaderName::from(name.as_str().to_owned()),
                    HeaderValue::from(v.to_owned()),
                );
            }
        }
        let bytes = Limited::new(resp.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| {
                Error::with_message(ErrorKind::Io, format!("reading the token answer: {e}"))
            })?
            .to_bytes();
        Ok(AsyncRawResponse::from_bytes(status.into(), headers, bytes))
    }
}

#[async_trait]
impl HttpClient for TokenTransport {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        match tokio::time::timeout(self.timeout, self.exchange(request)).await {
            Ok(result) => result,
            Err(_) => Err(Error::with_message(
                ErrorKind::Io,
                format!(
                    "{}: no answer within {} ms",
                    redacted_url(&self.target(request.url())),
                    self.timeout.as_millis()
                ),
            )),
        }
    }
}

fn method(m: Method) -> Option<http::Method> {
    Some(match m {
        Method::Delete => http::Method::DELETE,
        Method::Get => http::Method::GET,
        Method::Head => http::Method::HEAD,
        Method::Patch => http::Method::PATCH,
        Method::Post => http::Method::POST,
        Method::Put => http::Method::PUT,
        _ => return None,
    })
}

/// The URL without its query (which may name an identity) for error messages.
fn redacted_url(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.to_string()
}

/// An error and its causes on one line ("connection refused" sits a few levels down).
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(imds: Option<&str>) -> TokenTransport {
        let tls = client::tls_config().unwrap();
        let mut t = TokenTransport::new(&tls, Duration::from_secs(1));
        t.imds = imds.map(|u| Url::parse(u).unwrap());
        t
    }

    #[test]
    fn imds_is_redirected_only_when_asked() {
        let imds = Url::parse(
            "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2019-08-01&resource=x",
        )
        .unwrap();
        let moved = transport(Some("http://127.0.0.1:9/")).target(&imds);
        assert_eq!(
            moved.as_str(),
            "http://127.0.0.1:9/metadata/identity/oauth2/token?api-version=2019-08-01&resource=x"
        );
        assert_eq!(transport(None).target(&imds), imds);
        let sts = Url::parse("https://login.microsoftonline.com/t/oauth2/v2.0/token").unwrap();
        assert_eq!(transport(Some("http://127.0.0.1:9")).target(&sts), sts);
    }

    #[tokio::test]
    async fn a_closed_port_is_a_connection_error() {
        let t = transport(None);
        let req = Request::new(
            Url::parse("http://127.0.0.1:1/x?secret=1").unwrap(),
            Method::Get,
        );
        let err = t.execute_request(&req).await.unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Connection), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("http://127.0.0.1:1/x"), "{text}");
        assert!(!text.contains("secret"), "{text}");
    }
}
