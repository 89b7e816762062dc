//! Upstreams: one per configured `upstreams[]` entry, each with its own connection pools.

pub mod client;
pub mod credential;
pub mod dialect;
pub mod entra;
pub mod failover;
pub mod headers;
pub mod out_body;
pub mod pool;
pub mod realtime;
pub mod retry_after;
pub mod send;
#[cfg(test)]
pub mod test_tls;
pub mod ws;

use std::collections::BTreeMap;
use std::sync::Arc;

use http::uri::{Authority, Scheme};
use http::{HeaderValue, Uri};

pub use client::{ClientSettings, HttpClient, WorkerClients};
pub use credential::Credential;
pub use out_body::OutBody;

use crate::call::Operation;
use crate::config::{DEFAULT_API_VERSION, UpstreamConfig, UpstreamKind};
use crate::error::GatewayError;

/// A ready-to-use upstream.
#[derive(Debug)]
pub struct Upstream {
    /// Shared, not copied, into every request's record.
    pub name: Arc<str>,
    pub kind: UpstreamKind,
    pub api_version: String,
    scheme: Scheme,
    authority: Authority,
    /// `Host` for every request, from the base URL's authority.
    pub host: HeaderValue,
    /// The base URL's path without a trailing slash (APIM and other prefixes are kept).
    prefix: String,
    routes: BTreeMap<String, String>,
    pub credential: Credential,
    pub client: WorkerClients,
    /// For error messages: the connect timeout `client` enforces.
    pub connect_timeout: std::time::Duration,
}

impl Upstream {
    pub fn new(
        cfg: &UpstreamConfig,
        credential: Credential,
        settings: ClientSettings,
        tls: &Arc<rustls::ClientConfig>,
    ) -> Result<Self, String> {
        let uri: Uri = cfg.base_url.parse().map_err(|e| format!("baseUrl: {e}"))?;
        let scheme = uri.scheme().cloned().ok_or("baseUrl: missing scheme")?;
        let authority = uri.authority().cloned().ok_or("baseUrl: missing host")?;
        let prefix = uri.path().trim_end_matches('/').to_owned();
        let host =
            HeaderValue::from_str(authority.as_str()).map_err(|e| format!("baseUrl: {e}"))?;
        Ok(Self {
            name: Arc::from(cfg.name.as_str()),
            kind: cfg.kind,
            // An `inference` upstream left at the Azure OpenAI default gets Model Inference's.
            api_version: if cfg.api_version == DEFAULT_API_VERSION {
                cfg.kind.default_api_version().to_owned()
            } else {
                cfg.api_version.clone()
            },
            client: WorkerClients::build(settings, tls, &scheme, &authority),
            scheme,
            authority,
            host,
            prefix,
            routes: cfg.routes.clone(),
            credential,
            connect_timeout: settings.connect_timeout,
        })
    }

    /// The configured template for a route key, if any.
    pub fn route(&self, key: &str) -> Option<&str> {
        self.routes.get(key).map(String::as_str)
    }

    /// The path (and query) for `op`, from this upstream's `routes` or its kind's default.
    pub fn path_for(&self, op: Operation, deployment: &str) -> String {
        match self.route(op.route_key()) {
            Some(t) => dialect::fill_template(t, deployment, &self.api_version),
            None => dialect::default_path(self.kind, op, deployment, &self.api_version),
        }
    }

    /// The absolute URI for a path computed by [`Self::path_for`] or a literal route.
    pub fn uri(&self, path_and_query: &str) -> Result<Uri, GatewayError> {
        let mut full = String::with_capacity(self.prefix.len() + path_and_query.len());
        full.push_str(&self.prefix);
        full.push_str(path_and_query);
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(full)
            .build()
            .map_err(|e| {
                GatewayError::Internal(format!("bad upstream URL for `{}`: {e}", self.name))
            })
    }
}
