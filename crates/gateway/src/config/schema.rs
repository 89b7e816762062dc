//! The configuration file's shape: strict serde structs with named defaults.
//!
//! The shape is a superset of the seed "AOAI Foundry Proxy" `config/sample_config.json`
//! (`server`, `auth`, `apiKeys`, `upstreams[].routes`, `models[].targetModel/routes`), so such a
//! file loads unchanged. Every struct denies unknown keys: a typo is an error naming its JSON path,
//! never a silently ignored setting. Semantic checks live in `validate.rs`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Route keys the gateway itself knows; `models[].routes` may also name an upstream's own keys.
pub const ROUTE_OPERATIONS: &[&str] = &[
    "chat/completions",
    "completions",
    "embeddings",
    "responses",
    "images/generations",
    "audio/speech",
    "audio/transcriptions",
    "audio/translations",
    "images/edits",
    "images/variations",
    "realtime",
];

/// The whole configuration file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    /// The default upstream credential; `upstreams[].auth` overrides it per upstream.
    #[serde(default)]
    pub auth: AuthConfig,
    /// Client keys the gateway accepts.
    #[serde(default)]
    pub api_keys: Vec<ApiKeyConfig>,
    #[serde(default)]
    pub upstreams: Vec<UpstreamConfig>,
    #[serde(default)]
    pub models: Vec<ModelConfig>,
    /// Where a `model` that matches no alias goes (the env-only mode of the seed
    /// gyarbij/azure-oai-proxy: the model name is the deployment name). Absent: 404.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_fallback: Option<ModelFallbackConfig>,
    /// Where the resource-level APIs go (files, batches, fine-tuning). Absent: they answer 501.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourcesConfig>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServerConfig {
    #[serde(default = "default_host")]
    pub host: String,
    #[serde(default = "default_port")]
    pub port: u16,
    /// Accepted for seed compatibility; the admin API is always served under `/admin`.
    #[serde(default = "default_admin_path")]
    pub admin_path: String,
    #[serde(default)]
    pub admin_auth: AdminAuthConfig,
    /// Largest request body accepted, in bytes (env `BODY_LIMIT` / `SERVER_BODY_LIMIT`).
    #[serde(default = "default_body_limit")]
    pub body_limit: u64,
    /// Largest multipart upload accepted (audio, image edits, files), in bytes (env
    /// `MAX_UPLOAD_BYTES`). Uploads are spooled to disk or streamed, never held in memory, so
    /// this bounds disk use and upstream traffic rather than memory.
    #[serde(default = "default_max_upload_bytes")]
    pub max_upload_bytes: u64,
    /// Worker threads, each with its own listener (SO_REUSEPORT), event loop and upstream
    /// connections; 0 means one per CPU (env `GATEWAY_WORKERS`).
    #[serde(default)]
    pub workers: u32,
    #[serde(default)]
    pub upstream: UpstreamPolicyConfig,
    /// Seed Caddy settings; kept and validated so seed files load. Used by the TLS issue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caddy: Option<CaddyConfig>,
    /// Recompression of large inline request images (seed `imageCompression`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_compression: Option<ImageCompressionConfig>,
    /// Cross-origin access for browser clients; absent, no CORS headers are sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cors: Option<CorsConfig>,
    /// Where the gateway keeps its own files (the usage ledger); env `DATA_DIR`.
    #[serde(default = "super::observe::default_data_dir")]
    pub data_dir: String,
    /// The persistent usage ledger.
    #[serde(default)]
    pub usage: super::observe::UsageConfig,
    /// The Prometheus endpoint.
    #[serde(default)]
    pub metrics: super::observe::MetricsConfig,
}

/// Which browser origins may call the API routes (not the admin API).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CorsConfig {
    /// `*`, or exact origins such as `https://chat.example.com` (scheme, host, optional port).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
}

impl CorsConfig {
    /// Whether a request's `Origin` may read the response.
    pub fn allows(&self, origin: &[u8]) -> bool {
        self.allowed_origins
            .iter()
            .any(|o| o == "*" || o.as_bytes().eq_ignore_ascii_case(origin))
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: default_host(),
            port: default_port(),
            admin_path: default_admin_path(),
            admin_auth: AdminAuthConfig::default(),
            body_limit: default_body_limit(),
            max_upload_bytes: default_max_upload_bytes(),
            workers: 0,
            upstream: UpstreamPolicyConfig::default(),
            caddy: None,
            image_compression: None,
            cors: None,
            data_dir: super::observe::default_data_dir(),
            usage: super::observe::UsageConfig::default(),
            metrics: super::observe::MetricsConfig::default(),
        }
    }
}

/// HTTP Basic credentials for `/admin/*`. With no password the admin API is refused.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AdminAuthConfig {
    #[serde(default = "default_true")]
    pub enabled: bool,
    #[serde(default = "default_admin_user")]
    pub username: String,
    #[serde(default)]
    pub password: String,
}

impl Default for AdminAuthConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            username: default_admin_user(),
            password: String::new(),
        }
    }
}

/// Timeouts, retries and the connection pool, with the seed's names.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpstreamPolicyConfig {
    /// TCP connect plus TLS handshake.
    #[serde(default = "default_connect_ms")]
    pub connect_timeout_ms: u64,
    /// Whole exchange: request sent until the last body byte.
    #[serde(default = "default_request_ms")]
    pub request_timeout_ms: u64,
    /// Request sent until the response headers arrive.
    #[serde(default = "default_first_byte_ms")]
    pub first_byte_timeout_ms: u64,
    /// Longest silence between two response body chunks.
    #[serde(default = "default_idle_ms")]
    pub idle_timeout_ms: u64,
    #[serde(default)]
    pub max_retries: u32,
    #[serde(default = "default_retry_base_ms")]
    pub retry_base_ms: u64,
    #[serde(default = "default_retry_max_ms")]
    pub retry_max_ms: u64,
    #[serde(default = "default_retry_statuses")]
    pub retry_statuses: Vec<u16>,
    /// Pools: upstream requests in one round over the deployments (the first included);
    /// failover to an untried deployment is immediate. `maxRetries` adds rounds after a pause.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Pools: statuses that send a request on to the next deployment; all but 429 also count
    /// toward the deployment's circuit breaker.
    #[serde(default = "default_failover_statuses")]
    pub failover_statuses: Vec<u16>,
    /// How long a 429 without any retry-after header takes a pooled deployment out of rotation.
    #[serde(default = "default_cooldown_default_ms")]
    pub cooldown_default_ms: u64,
    /// The longest cooldown honoured, whatever the upstream asked (Azure can say a day).
    #[serde(default = "default_cooldown_max_ms")]
    pub cooldown_max_ms: u64,
    /// Consecutive failures (5xx, connect errors, first-byte timeouts, broken streams) that
    /// open a pooled deployment's circuit breaker; 0 turns the breaker off.
    #[serde(default = "default_breaker_failures")]
    pub breaker_failures: u32,
    /// How long an open breaker keeps its deployment out before one probe request is let through.
    #[serde(default = "default_breaker_open_ms")]
    pub breaker_open_ms: u64,
    #[serde(default)]
    pub pool: PoolConfig,
}

impl Default for UpstreamPolicyConfig {
    fn default() -> Self {
        Self {
            connect_timeout_ms: default_connect_ms(),
            request_timeout_ms: default_request_ms(),
            first_byte_timeout_ms: default_first_byte_ms(),
            idle_timeout_ms: default_idle_ms(),
            max_retries: 0,
            retry_base_ms: default_retry_base_ms(),
            retry_max_ms: default_retry_max_ms(),
            retry_statuses: default_retry_statuses(),
            max_attempts: default_max_attempts(),
            failover_statuses: default_failover_statuses(),
            cooldown_default_ms: default_cooldown_default_ms(),
            cooldown_max_ms: default_cooldown_max_ms(),
            breaker_failures: default_breaker_failures(),
            breaker_open_ms: default_breaker_open_ms(),
            pool: PoolConfig::default(),
        }
    }
}

/// The pooled upstream client.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PoolConfig {
    /// Idle keep-alive connections kept per upstream host.
    #[serde(default = "default_pool_connections")]
    pub connections: u32,
    /// How long an idle pooled connection is kept.
    #[serde(default = "default_keep_alive_ms")]
    pub keep_alive_timeout_ms: u64,
    /// Seed compatibility (undici); not used by this gateway's client.
    #[serde(default = "default_keep_alive_max_ms")]
    pub keep_alive_max_timeout_ms: u64,
    /// Seed compatibility; `firstByteTimeoutMs` bounds the wait for headers.
    #[serde(default = "default_first_byte_ms")]
    pub headers_timeout_ms: u64,
    /// Seed compatibility; `idleTimeoutMs` bounds body gaps.
    #[serde(default)]
    pub body_timeout_ms: u64,
    /// Seed compatibility; HTTP/1 pipelining is never used (must be 1).
    #[serde(default = "default_pipelining")]
    pub pipelining: u32,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            connections: default_pool_connections(),
            keep_alive_timeout_ms: default_keep_alive_ms(),
            keep_alive_max_timeout_ms: default_keep_alive_max_ms(),
            headers_timeout_ms: default_first_byte_ms(),
            body_timeout_ms: 0,
            pipelining: default_pipelining(),
        }
    }
}

/// The seed's Caddy front end (`server.caddy`), with the seed's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CaddyConfig {
    #[serde(default)]
    pub enabled: bool,
    /// Site name Caddy obtains a certificate for; required when enabled.
    #[serde(default)]
    pub domain: String,
    /// ACME account e-mail; required when enabled.
    #[serde(default)]
    pub email: String,
    #[serde(default = "default_https_port")]
    pub https_port: u16,
    /// Where Caddy reaches this gateway.
    #[serde(default = "default_caddy_upstream_host")]
    pub upstream_host: String,
    #[serde(default = "default_port")]
    pub upstream_port: u16,
    #[serde(default)]
    pub transport: CaddyTransportConfig,
}

impl Default for CaddyConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            domain: String::new(),
            email: String::new(),
            https_port: default_https_port(),
            upstream_host: default_caddy_upstream_host(),
            upstream_port: default_port(),
            transport: CaddyTransportConfig::default(),
        }
    }
}

/// Caddy's `reverse_proxy` transport timeouts (rendered as whole seconds, rounded up).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CaddyTransportConfig {
    #[serde(default = "default_caddy_dial_ms")]
    pub dial_timeout_ms: u64,
    #[serde(default = "default_caddy_response_header_ms")]
    pub response_header_timeout_ms: u64,
    #[serde(default = "default_caddy_keep_alive_ms")]
    pub keep_alive_timeout_ms: u64,
}

impl Default for CaddyTransportConfig {
    fn default() -> Self {
        Self {
            dial_timeout_ms: default_caddy_dial_ms(),
            response_header_timeout_ms: default_caddy_response_header_ms(),
            keep_alive_timeout_ms: default_caddy_keep_alive_ms(),
        }
    }
}

/// Downscaling of inline request images (`server.imageCompression`), with the seed's defaults;
/// absent, images are forwarded untouched.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageCompressionConfig {
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Longest image side in pixels after downscaling.
    #[serde(default = "default_image_max_size")]
    pub max_size: u32,
    /// Encoder quality, `0 < quality <= 1`.
    #[serde(default = "default_image_quality")]
    pub quality: f64,
    /// The re-encoding format; under `jpeg`, an image with transparency becomes a PNG instead.
    #[serde(default)]
    pub format: ImageFormat,
    /// Images whose decoded size is at most this many bytes are forwarded untouched (not in
    /// the seed, which recompressed every image).
    #[serde(default = "default_image_min_bytes")]
    pub min_bytes: u64,
}

impl Default for ImageCompressionConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_size: default_image_max_size(),
            quality: default_image_quality(),
            format: ImageFormat::default(),
            min_bytes: default_image_min_bytes(),
        }
    }
}

/// The re-encoding format of compressed images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    #[default]
    Jpeg,
    Webp,
}

/// How the gateway authenticates itself upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum AuthMode {
    /// A static key: `api-key` header for Azure kinds, `Authorization: Bearer` for `openai`.
    #[default]
    ApiKey,
    /// A static token sent as `Authorization: Bearer`.
    Bearer,
    /// The client's own key is forwarded upstream; `apiKeys` must then be empty.
    Passthrough,
    /// No upstream credential (a local engine without auth).
    None,
    /// Entra ID client secret (seed `servicePrincipal`).
    ServicePrincipal,
    /// Entra ID managed identity.
    ManagedIdentity,
    /// Entra ID workload identity (AKS federated token).
    WorkloadIdentity,
    /// Entra ID through the Azure CLI's login.
    AzureCli,
    /// Entra ID through the first that works of: environment service principal, workload
    /// identity, managed identity, Azure CLI.
    #[serde(rename = "default")]
    DefaultChain,
}

impl AuthMode {
    /// The Entra ID modes, which need a token credential.
    pub fn is_entra(self) -> bool {
        matches!(
            self,
            Self::ServicePrincipal
                | Self::ManagedIdentity
                | Self::WorkloadIdentity
                | Self::AzureCli
                | Self::DefaultChain
        )
    }

    /// The name used in config, logs and error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiKey => "apiKey",
            Self::Bearer => "bearer",
            Self::Passthrough => "passthrough",
            Self::None => "none",
            Self::ServicePrincipal => "servicePrincipal",
            Self::ManagedIdentity => "managedIdentity",
            Self::WorkloadIdentity => "workloadIdentity",
            Self::AzureCli => "azureCli",
            Self::DefaultChain => "default",
        }
    }
}

/// An upstream credential (the global `auth`, or `upstreams[].auth`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AuthConfig {
    #[serde(default)]
    pub mode: AuthMode,
    #[serde(default)]
    pub tenant_id: String,
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub client_secret: String,
    /// A user-assigned managed identity's client id (`managedIdentity`; empty: system-assigned).
    #[serde(default)]
    pub managed_identity_client_id: String,
    /// The workload identity's projected token (`workloadIdentity`; empty:
    /// `AZURE_FEDERATED_TOKEN_FILE`).
    #[serde(default)]
    pub federated_token_file: String,
    /// The Entra ID host for sovereign clouds, e.g. `https://login.microsoftonline.us` (empty:
    /// `AZURE_AUTHORITY_HOST`, else the public cloud).
    #[serde(default)]
    pub authority_host: String,
    /// The token scope; `https://ai.azure.com/.default` for Foundry's own APIs.
    #[serde(default = "default_scope")]
    pub scope: String,
    /// The key for `apiKey` mode.
    #[serde(default)]
    pub api_key: String,
    /// The token for `bearer` mode.
    #[serde(default)]
    pub token: String,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            mode: AuthMode::default(),
            tenant_id: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            managed_identity_client_id: String::new(),
            federated_token_file: String::new(),
            authority_host: String::new(),
            scope: default_scope(),
            api_key: String::new(),
            token: String::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    #[default]
    Active,
    Disabled,
}

/// A client key of the gateway.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApiKeyConfig {
    pub id: String,
    pub key: String,
    #[serde(default)]
    pub status: KeyStatus,
}

/// The wire dialect an upstream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum UpstreamKind {
    /// `{baseUrl}/openai/deployments/{deployment}/{op}?api-version=…`
    #[default]
    Azure,
    /// `{baseUrl}/openai/v1/{op}`, body `model` = deployment.
    AzureV1,
    /// `{baseUrl}/v1/{op}` (vLLM, TGI, SGLang, …), body `model` = deployment.
    Openai,
    /// Azure AI Model Inference (Foundry `/models`, serverless endpoints):
    /// `{baseUrl}/{op}?api-version=…`, body `model` = deployment, `extra-parameters: pass-through`.
    Inference,
}

impl UpstreamKind {
    /// The `api-version` an upstream of this kind gets when `apiVersion` is left at its default.
    pub fn default_api_version(self) -> &'static str {
        match self {
            Self::Inference => INFERENCE_API_VERSION,
            _ => DEFAULT_API_VERSION,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpstreamConfig {
    pub name: String,
    pub base_url: String,
    #[serde(default)]
    pub kind: UpstreamKind,
    /// `api-version` for the `azure` and `inference` kinds. Left at the default, an `inference`
    /// upstream uses [`INFERENCE_API_VERSION`] instead.
    #[serde(default = "default_api_version")]
    pub api_version: String,
    /// Route key (`chat/completions`, …) → path template with `{deployment}`/`{apiVersion}`.
    #[serde(default)]
    pub routes: BTreeMap<String, String>,
    /// Overrides the global `auth` for this upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthConfig>,
}

/// A client-facing model alias: one deployment (`upstream` + `targetModel`), or a pool of them
/// (`deployments`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ModelConfig {
    pub id: String,
    /// The single deployment's upstream; absent when `deployments` lists a pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// The deployment name (Azure) or served model name (engines); defaults to `id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_model: Option<String>,
    /// Route key or `*` → another route key, or a literal path starting with `/`.
    #[serde(default)]
    pub routes: BTreeMap<String, String>,
    /// A pool: several deployments serving this alias (instead of `upstream`/`targetModel`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deployments: Vec<DeploymentConfig>,
    /// How a pool spreads requests inside one priority tier.
    #[serde(default)]
    pub strategy: Strategy,
    /// What the Model Inference face's `GET /info` reports as `model_type`; guessed from the
    /// id when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_type: Option<ModelType>,
    /// What `GET /info` reports as `model_provider_name`; guessed from the id when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The parameter rules the model needs; inferred from the alias and deployment names
    /// (gpt-5*, o1*, o3*, o4*, codex* are `reasoning`) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<super::ModelFamily>,
    /// Switches for each normalization rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<super::NormalizeConfig>,
}

/// Azure AI Model Inference's `model_type` values (WIRE-FACTS A6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelType {
    AudioGeneration,
    ChatCompletions,
    Embeddings,
    ImageEmbeddings,
    ImageGeneration,
    TextGeneration,
}

/// One member of a model's pool.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DeploymentConfig {
    pub upstream: String,
    /// The deployment name; defaults to the model's `id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_model: Option<String>,
    /// Share of its tier's traffic, relative to the tier's other members.
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// Tier: 1 is served first; a higher number only takes traffic while every deployment of
    /// the better tiers is cooling down or has an open breaker.
    #[serde(default = "default_priority")]
    pub priority: u32,
}

/// Balancing inside one priority tier of a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Smooth weighted round-robin (nginx's): exact shares, no bursts to one deployment.
    #[default]
    Weighted,
    /// Fewest requests in flight (a stream counts until it ends), relative to weight.
    LeastBusy,
    /// Lowest recent time to first byte (EWMA), scaled by requests in flight.
    Latency,
}

/// The one upstream behind the resource-level APIs. Batches and fine-tuning jobs refer to
/// uploaded file ids, so all three must live on the same resource.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResourcesConfig {
    pub upstream: String,
}

/// Unknown models go to this upstream with the model name as the deployment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ModelFallbackConfig {
    pub upstream: String,
}

fn default_host() -> String {
    "0.0.0.0".to_owned()
}
fn default_port() -> u16 {
    3000
}
fn default_admin_path() -> String {
    "/admin".to_owned()
}
fn default_admin_user() -> String {
    "admin".to_owned()
}
fn default_true() -> bool {
    true
}
/// 50 MiB, the seed's `BODY_LIMIT` default.
pub const DEFAULT_BODY_LIMIT: u64 = 52_428_800;
fn default_body_limit() -> u64 {
    DEFAULT_BODY_LIMIT
}
/// 512 MiB, OpenAI's largest file upload.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 536_870_912;
fn default_max_upload_bytes() -> u64 {
    DEFAULT_MAX_UPLOAD_BYTES
}
fn default_connect_ms() -> u64 {
    10_000
}
fn default_request_ms() -> u64 {
    900_000
}
fn default_first_byte_ms() -> u64 {
    300_000
}
fn default_idle_ms() -> u64 {
    900_000
}
fn default_retry_base_ms() -> u64 {
    800
}
fn default_retry_max_ms() -> u64 {
    8_000
}
fn default_retry_statuses() -> Vec<u16> {
    vec![408, 409, 425, 429, 500, 502, 503, 504]
}
fn default_max_attempts() -> u32 {
    3
}
fn default_failover_statuses() -> Vec<u16> {
    vec![429, 500, 502, 503, 504]
}
fn default_cooldown_default_ms() -> u64 {
    10_000
}
fn default_cooldown_max_ms() -> u64 {
    60_000
}
fn default_breaker_failures() -> u32 {
    5
}
fn default_breaker_open_ms() -> u64 {
    30_000
}
fn default_weight() -> u32 {
    1
}
fn default_priority() -> u32 {
    1
}
fn default_pool_connections() -> u32 {
    64
}
fn default_keep_alive_ms() -> u64 {
    60_000
}
fn default_keep_alive_max_ms() -> u64 {
    300_000
}
fn default_pipelining() -> u32 {
    1
}
fn default_https_port() -> u16 {
    443
}
fn default_caddy_upstream_host() -> String {
    "127.0.0.1".to_owned()
}
fn default_caddy_dial_ms() -> u64 {
    5_000
}
fn default_caddy_response_header_ms() -> u64 {
    45_000
}
fn default_caddy_keep_alive_ms() -> u64 {
    120_000
}
fn default_image_max_size() -> u32 {
    1600
}
fn default_image_quality() -> f64 {
    0.85
}
/// 256 KiB: below it, decoding and re-encoding an image costs more than the bytes it saves.
fn default_image_min_bytes() -> u64 {
    262_144
}
fn default_scope() -> String {
    "https://cognitiveservices.azure.com/.default".to_owned()
}
/// The latest GA data-plane api-version (WIRE-FACTS A1).
pub const DEFAULT_API_VERSION: &str = "2024-10-21";
/// The GA Azure AI Model Inference api-version (WIRE-FACTS A6).
pub const INFERENCE_API_VERSION: &str = "2025-04-01";
/// Every api-version the Model Inference API has had; the preview retired on 2026-04-10 but
/// older SDKs (azure-ai-inference 1.0.0b9) still send it.
pub const INFERENCE_API_VERSIONS: [&str; 2] = [INFERENCE_API_VERSION, "2024-05-01-preview"];
fn default_api_version() -> String {
    DEFAULT_API_VERSION.to_owned()
}
