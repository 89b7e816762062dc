//! `server.dataDir`, `server.usage` and `server.metrics`: where the gateway keeps what it
//! records, and how Prometheus reads it. These are process settings: they take effect at start
//! (a reload that changes them is reported as needing a restart).

use serde::{Deserialize, Serialize};

/// `./data`, relative to the working directory (the container image sets `/app/data`).
pub fn default_data_dir() -> String {
    "data".to_owned()
}

/// `server.usage`: the persistent usage ledger (SQLite, one row per request).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UsageConfig {
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Rows older than this many days are deleted; 0 keeps them forever (env
    /// `USAGE_RETENTION_DAYS`).
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
    /// The database file; default `{dataDir}/usage.db` (env `USAGE_DB_PATH`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl Default for UsageConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            retention_days: default_retention_days(),
            path: None,
        }
    }
}

/// Who may read `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MetricsAuth {
    /// Anyone who can reach the listener (meant for a separate, internal port).
    None,
    /// The admin API's Basic credentials (Prometheus `basic_auth`).
    Admin,
    /// `Authorization: Bearer {bearerToken}` (Prometheus `authorization`).
    Bearer,
}

/// `server.metrics`: the Prometheus endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MetricsConfig {
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// A separate listener for `/metrics` only (env `METRICS_PORT`); absent, `/metrics` is
    /// served on the main port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The separate listener's address; default `server.host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Default: `admin` on the main port, `none` on a separate port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<MetricsAuth>,
    /// The token for `auth: bearer` (env `METRICS_BEARER_TOKEN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<String>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            port: None,
            host: None,
            auth: None,
            bearer_token: None,
        }
    }
}

impl MetricsConfig {
    /// The auth mode in force, defaults applied.
    pub fn auth_mode(&self) -> MetricsAuth {
        self.auth.unwrap_or(match self.port {
            Some(_) => MetricsAuth::None,
            None => MetricsAuth::Admin,
        })
    }
}

fn default_true() -> bool {
    true
}

fn default_retention_days() -> u32 {
    90
}
