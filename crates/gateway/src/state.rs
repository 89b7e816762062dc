//! The runtime snapshot: everything a request needs, built from one config.
//!
//! A request loads one `Arc<Runtime>` from the `ArcSwap` and uses it to the end, so a reload
//! (prepare a new `Runtime`, then swap) never mixes two configs inside one request.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;

use crate::config::{AdminAuthConfig, AuthMode, Config};
use crate::policy::ClientKeys;
use crate::policy::images::ImageCompression;
use crate::resources::ResponseOwners;
use crate::route::ModelTable;
use crate::route::health::HealthPolicy;
use crate::telemetry::{Stats, Telemetry};
use crate::upstream::client::{self, ClientSettings};
use crate::upstream::{Credential, Upstream};

/// Timeouts and retry rules for upstream calls.
#[derive(Debug, Clone)]
pub struct UpstreamPolicy {
    pub first_byte: Duration,
    pub idle: Duration,
    pub total: Duration,
    pub max_retries: u32,
    pub retry_base: Duration,
    pub retry_max: Duration,
    pub retry_statuses: Vec<u16>,
    /// Pools only: upstream requests per client request across deployments.
    pub max_attempts: u32,
    /// Pools only: statuses that move a request to the next deployment.
    pub failover_statuses: Vec<u16>,
}

/// Admin Basic-auth credentials; `None` when the admin API is disabled.
#[derive(Debug, Clone)]
pub struct AdminCredentials {
    pub username: String,
    pub password: String,
}

#[derive(Debug)]
pub struct Runtime {
    pub config: Config,
    pub keys: ClientKeys,
    pub models: ModelTable,
    pub policy: UpstreamPolicy,
    pub body_limit: u64,
    /// `server.maxUploadBytes`: the limit for multipart and file uploads.
    pub max_upload: u64,
    /// Every upstream, in config order (response objects probe them in this order).
    pub upstreams: Vec<Arc<Upstream>>,
    /// `resources.upstream`: where files, batches and fine-tuning jobs live.
    pub resources: Option<Arc<Upstream>>,
    pub admin: Option<AdminCredentials>,
    /// When this runtime was built (Unix seconds): the `created` of `/v1/models` entries.
    pub created: u64,
    /// TLS for realtime WebSocket upstreams: the pooled clients' roots, ALPN `http/1.1` (a
    /// WebSocket handshake is an HTTP/1.1 upgrade).
    pub ws_tls: Arc<rustls::ClientConfig>,
    /// `server.imageCompression`, when enabled.
    pub images: Option<Arc<ImageCompression>>,
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn admin_credentials(cfg: &AdminAuthConfig) -> Option<AdminCredentials> {
    (cfg.enabled && !cfg.password.is_empty()).then(|| AdminCredentials {
        username: cfg.username.clone(),
        password: cfg.password.clone(),
    })
}

impl Runtime {
    /// The fallible half of a (re)load: builds clients and tables without touching live state.
    pub fn build(config: Config, stats: Arc<Stats>) -> Result<Self, String> {
        let server = &config.server;
        let up = &server.upstream;
        let tls = client::tls_config().map_err(|e| format!("TLS setup: {e}"))?;
        let settings = ClientSettings {
            connect_timeout: ms(up.connect_timeout_ms),
            pool_idle_timeout: ms(up.pool.keep_alive_timeout_ms),
            pool_max_idle_per_host: usize::try_from(up.pool.connections).unwrap_or(usize::MAX),
        };
        let mut upstreams = HashMap::with_capacity(config.upstreams.len());
        let mut passthrough = false;
        let mut entra = Vec::new();
        for u in &config.upstreams {
            let auth = u.auth.as_ref().unwrap_or(&config.auth);
            passthrough |= auth.mode == AuthMode::Passthrough;
            let credential = Credential::from_config(auth, u.kind)
                .map_err(|e| format!("upstream `{}` auth: {e}", u.name))?;
            match credential.entra() {
                Some(source) => entra.push((u.name.clone(), Arc::clone(source))),
                None => {
                    tracing::info!(upstream = %u.name, credential = auth.mode.as_str(), "upstream credential")
                }
            }
            let upstream = Upstream::new(u, credential, settings, &tls)
                .map_err(|e| format!("upstream `{}`: {e}", u.name))?;
            upstreams.insert(u.name.clone(), Arc::new(upstream));
        }
        crate::upstream::entra::announce(entra);
        let fallback = config.model_fallback.as_ref().map(|f| f.upstream.as_str());
        let health = HealthPolicy {
            cooldown_default: ms(up.cooldown_default_ms),
            cooldown_max: ms(up.cooldown_max_ms),
            breaker_failures: up.breaker_failures,
            breaker_open: ms(up.breaker_open_ms),
        };
        let models = ModelTable::build(&config.models, &upstreams, fallback, stats, health)?;
        let ordered = config
            .upstreams
            .iter()
            .filter_map(|u| upstreams.get(&u.name).cloned())
            .collect();
        let resources = match &config.resources {
            Some(r) => Some(Arc::clone(upstreams.get(&r.upstream).ok_or_else(|| {
                format!("resources: unknown upstream `{}`", r.upstream)
            })?)),
            None => None,
        };
        let mut ws_tls = (*tls).clone();
        ws_tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let policy = UpstreamPolicy {
            first_byte: ms(up.first_byte_timeout_ms),
            idle: ms(up.idle_timeout_ms),
            total: ms(up.request_timeout_ms),
            max_retries: up.max_retries,
            retry_base: ms(up.retry_base_ms),
            retry_max: ms(up.retry_max_ms),
            retry_statuses: up.retry_statuses.clone(),
            max_attempts: up.max_attempts,
            failover_statuses: up.failover_statuses.clone(),
        };
        let created = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Ok(Self {
            keys: ClientKeys::new(&config.api_keys, passthrough),
            models,
            policy,
            body_limit: server.body_limit,
            max_upload: server.max_upload_bytes,
            upstreams: ordered,
            resources,
            admin: admin_credentials(&server.admin_auth),
            created,
            ws_tls: Arc::new(ws_tls),
            images: ImageCompression::from_config(server.image_compression.as_ref()),
            config,
        })
    }
}

/// Shared by every handler.
#[derive(Debug)]
pub struct AppState {
    pub runtime: ArcSwap<Runtime>,
    /// Stats, metrics, the usage ledger and the log ring; they outlive config reloads.
    pub telemetry: Arc<Telemetry>,
    /// Which upstream stored each recent response (Responses API), across config reloads.
    pub responses: Arc<ResponseOwners>,
}

impl AppState {
    /// State with in-memory telemetry only (no ledger file).
    pub fn new(config: Config) -> Result<Arc<Self>, String> {
        Self::with_telemetry(config, Telemetry::in_memory())
    }

    pub fn with_telemetry(config: Config, telemetry: Telemetry) -> Result<Arc<Self>, String> {
        let runtime = Runtime::build(config, Arc::clone(&telemetry.stats))?;
        Ok(Arc::new(Self {
            runtime: ArcSwap::from_pointee(runtime),
            telemetry: Arc::new(telemetry),
            responses: Arc::new(ResponseOwners::default()),
        }))
    }

    /// The in-memory per-model counters.
    pub fn stats(&self) -> &Stats {
        &self.telemetry.stats
    }
}
