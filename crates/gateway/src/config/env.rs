//! Environment variables: overrides on top of a file, and the file-less env-only mode.
//!
//! Env wins over the file (the seed read its pool variables only as a fallback that defaults
//! always pre-empted, so they never took effect). Bad values are problems at `env:NAME`.

use std::collections::HashMap;

use super::schema::{
    ApiKeyConfig, AuthConfig, AuthMode, Config, CorsConfig, DEFAULT_API_VERSION, KeyStatus,
    ModelConfig, ModelFallbackConfig, ResourcesConfig, ServerConfig, UpstreamConfig, UpstreamKind,
};
use super::validate::validate;
use super::{Problem, Severity};

pub(super) const ENDPOINT: &str = "AZURE_OPENAI_ENDPOINT";
const API_VERSION: &str = "AZURE_OPENAI_APIVERSION";
const MODEL_MAPPER: &str = "AZURE_OPENAI_MODEL_MAPPER";
const PROXY_ADDRESS: &str = "AZURE_OPENAI_PROXY_ADDRESS";
const SERVER_KEY: &str = "AZURE_OPENAI_API_KEY";
const CLIENT_KEYS: &str = "GATEWAY_API_KEYS";
const ADMIN_PASSWORD: &str = "GATEWAY_ADMIN_PASSWORD";

/// The env-only upstream's name, which `models[]` and `modelFallback` refer to.
const ENV_UPSTREAM: &str = "azure";
/// gyarbij/azure-oai-proxy's listen address.
const DEFAULT_PROXY_PORT: u16 = 11437;

/// A variable's trimmed value; empty counts as unset (compose files often write `NAME=`).
pub(super) fn var(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    env(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Applies every override variable to `cfg`; returns the problems with their values.
pub(super) fn apply_overrides(
    cfg: &mut Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<Problem> {
    let mut out = Vec::new();
    let body_var = if var(env, "BODY_LIMIT").is_some() {
        "BODY_LIMIT"
    } else {
        "SERVER_BODY_LIMIT"
    };
    let mut int = |name: &str, min: u64, max: u64| integer(env, name, min, max, &mut out);

    let server = &mut cfg.server;
    if let Some(v) = int(body_var, 1, u64::MAX) {
        server.body_limit = v;
    }
    if let Some(v) = int("MAX_UPLOAD_BYTES", 1, u64::MAX) {
        server.max_upload_bytes = v;
    }
    if let Some(v) = int("GATEWAY_PORT", 0, u64::from(u16::MAX)).and_then(|v| v.try_into().ok()) {
        server.port = v;
    }
    if let Some(v) = int("GATEWAY_WORKERS", 0, 1024).and_then(|v| v.try_into().ok()) {
        server.workers = v;
    }
    if let Some(v) = var(env, "CORS_ALLOWED_ORIGINS") {
        let allowed_origins = v
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect();
        server.cors = Some(CorsConfig { allowed_origins });
    }
    let up = &mut server.upstream;
    let timeouts = [
        ("UPSTREAM_CONNECT_TIMEOUT_MS", &mut up.connect_timeout_ms),
        (
            "UPSTREAM_FIRST_BYTE_TIMEOUT_MS",
            &mut up.first_byte_timeout_ms,
        ),
        ("UPSTREAM_IDLE_TIMEOUT_MS", &mut up.idle_timeout_ms),
        ("UPSTREAM_REQUEST_TIMEOUT_MS", &mut up.request_timeout_ms),
        (
            "UPSTREAM_KEEPALIVE_TIMEOUT_MS",
            &mut up.pool.keep_alive_timeout_ms,
        ),
    ];
    for (name, field) in timeouts {
        if let Some(v) = int(name, 1, u64::MAX) {
            *field = v;
        }
    }
    let u32_max = u64::from(u32::MAX);
    if let Some(v) = int("UPSTREAM_MAX_RETRIES", 0, u32_max).and_then(|v| v.try_into().ok()) {
        up.max_retries = v;
    }
    if let Some(v) = int("UPSTREAM_MAX_CONNECTIONS", 1, u32_max).and_then(|v| v.try_into().ok()) {
        up.pool.connections = v;
    }

    if let Some(v) = int("USAGE_RETENTION_DAYS", 0, 36_500).and_then(|v| v.try_into().ok()) {
        server.usage.retention_days = v;
    }
    if let Some(v) = int("METRICS_PORT", 1, u64::from(u16::MAX)).and_then(|v| v.try_into().ok()) {
        server.metrics.port = Some(v);
    }
    if let Some(dir) = var(env, "DATA_DIR") {
        server.data_dir = dir;
    }
    if let Some(path) = var(env, "USAGE_DB_PATH") {
        server.usage.path = Some(path);
    }
    if let Some(token) = var(env, "METRICS_BEARER_TOKEN") {
        server.metrics.bearer_token = Some(token);
        server
            .metrics
            .auth
            .get_or_insert(crate::config::MetricsAuth::Bearer);
    }
    if let Some(host) = var(env, "GATEWAY_HOST") {
        server.host = host;
    }
    if let Some(password) = var(env, ADMIN_PASSWORD) {
        server.admin_auth.password = password;
        server.admin_auth.enabled = true;
    }
    out
}

/// Parses an integer variable within `min..=max`; unset is `None`, invalid is a problem.
fn integer(
    env: &dyn Fn(&str) -> Option<String>,
    name: &str,
    min: u64,
    max: u64,
    out: &mut Vec<Problem>,
) -> Option<u64> {
    let raw = var(env, name)?;
    match raw.parse::<u64>() {
        Ok(v) if (min..=max).contains(&v) => Some(v),
        _ => {
            let message = format!("must be an integer from {min} to {max}, got \"{raw}\"");
            out.push(error(name, message));
            None
        }
    }
}

/// Builds the whole config from variables (seed gyarbij/azure-oai-proxy), then applies the
/// overrides and validation. Validation problems are reported at the variable they came from.
pub(super) fn env_only(env: &dyn Fn(&str) -> Option<String>) -> (Config, Vec<Problem>) {
    let mut out = Vec::new();
    // Checked by validation (`$.upstreams[0].baseUrl`), reported at this variable.
    let endpoint = var(env, ENDPOINT).unwrap_or_default();
    let api_version = var(env, API_VERSION).unwrap_or_else(|| DEFAULT_API_VERSION.to_owned());
    let (host, port) = match var(env, PROXY_ADDRESS) {
        None => ("0.0.0.0".to_owned(), DEFAULT_PROXY_PORT),
        Some(address) => parse_address(&address).unwrap_or_else(|message| {
            out.push(error(PROXY_ADDRESS, message));
            ("0.0.0.0".to_owned(), DEFAULT_PROXY_PORT)
        }),
    };
    let models = var(env, MODEL_MAPPER)
        .map(|m| parse_mapper(&m, &mut out))
        .unwrap_or_default();
    let server_key = var(env, SERVER_KEY);

    let (api_keys, auth) = match var(env, CLIENT_KEYS) {
        Some(list) => {
            let keys: Vec<ApiKeyConfig> = split_list(&list)
                .enumerate()
                .map(|(i, key)| ApiKeyConfig {
                    id: format!("env-{}", i + 1),
                    key: key.to_owned(),
                    status: KeyStatus::Active,
                })
                .collect();
            if keys.is_empty() {
                out.push(error(CLIENT_KEYS, "lists no keys"));
            }
            if server_key.is_none() {
                let message = "required when GATEWAY_API_KEYS is set: the gateway then \
                               authenticates to Azure with it";
                out.push(error(SERVER_KEY, message));
            }
            let api_key = server_key.unwrap_or_default();
            (
                keys,
                AuthConfig {
                    mode: AuthMode::ApiKey,
                    api_key,
                    ..AuthConfig::default()
                },
            )
        }
        None => {
            if server_key.is_some() {
                out.push(Problem {
                    severity: Severity::Warning,
                    path: format!("env:{SERVER_KEY}"),
                    message: "unused without GATEWAY_API_KEYS: each client's own key is passed \
                              through to Azure, and the server key is never lent to \
                              unauthenticated clients"
                        .to_owned(),
                });
            }
            (
                Vec::new(),
                AuthConfig {
                    mode: AuthMode::Passthrough,
                    ..AuthConfig::default()
                },
            )
        }
    };

    let mut config = Config {
        server: ServerConfig {
            host,
            port,
            ..ServerConfig::default()
        },
        auth,
        api_keys,
        upstreams: vec![UpstreamConfig {
            name: ENV_UPSTREAM.to_owned(),
            base_url: endpoint,
            kind: UpstreamKind::Azure,
            api_version,
            routes: Default::default(),
            auth: None,
        }],
        models,
        model_fallback: Some(ModelFallbackConfig {
            upstream: ENV_UPSTREAM.to_owned(),
        }),
        // The one resource is where files, batches and fine-tuning jobs live, as in the seed.
        resources: Some(ResourcesConfig {
            upstream: ENV_UPSTREAM.to_owned(),
        }),
    };
    out.extend(apply_overrides(&mut config, env));
    // A missing server key was already reported above, with the reason it is needed.
    let problems = validate(&config)
        .into_iter()
        .filter(|p| p.path != "$.auth.apiKey");
    out.extend(problems.map(at_variable));
    (config, out)
}

/// Moves a validation problem from the synthesized JSON path to the variable behind it.
fn at_variable(problem: Problem) -> Problem {
    const ORIGINS: &[(&str, &str)] = &[
        ("$.upstreams[0].baseUrl", ENDPOINT),
        ("$.upstreams[0].apiVersion", API_VERSION),
        ("$.auth", SERVER_KEY),
        ("$.models", MODEL_MAPPER),
        ("$.apiKeys", CLIENT_KEYS),
        ("$.server.adminAuth", ADMIN_PASSWORD),
    ];
    match ORIGINS
        .iter()
        .find(|(prefix, _)| problem.path.starts_with(prefix))
    {
        Some((_, name)) => Problem {
            severity: problem.severity,
            message: format!("{} ({})", problem.message, problem.path),
            path: format!("env:{name}"),
        },
        None => problem,
    }
}

/// `alias=deployment,…` → models on the env upstream. Aliases keep their case, but two that
/// differ only by case are refused: the router matches them case-insensitively.
fn parse_mapper(mapper: &str, out: &mut Vec<Problem>) -> Vec<ModelConfig> {
    let mut models = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    for (i, entry) in split_list(mapper).enumerate() {
        let pair = entry.split_once('=').map(|(a, d)| (a.trim(), d.trim()));
        let Some((alias, deployment)) = pair.filter(|(a, d)| !a.is_empty() && !d.is_empty()) else {
            let message = format!("entry {} \"{entry}\": expected alias=deployment", i + 1);
            out.push(error(MODEL_MAPPER, message));
            continue;
        };
        if let Some(first) = seen.get(&alias.to_ascii_lowercase()) {
            let message =
                format!("alias \"{alias}\" repeats \"{first}\" (aliases match case-insensitively)");
            out.push(error(MODEL_MAPPER, message));
            continue;
        }
        seen.insert(alias.to_ascii_lowercase(), alias.to_owned());
        models.push(ModelConfig {
            id: alias.to_owned(),
            upstream: Some(ENV_UPSTREAM.to_owned()),
            target_model: Some(deployment.to_owned()),
            ..ModelConfig::default()
        });
    }
    models
}

/// `host:port`, `[v6]:port` or `:port` (all interfaces), as Go's `net.Listen` takes it.
fn parse_address(address: &str) -> Result<(String, u16), String> {
    let expected = || format!("expected host:port, got \"{address}\"");
    let (host, port) = address.rsplit_once(':').ok_or_else(expected)?;
    let port = port.parse::<u16>().map_err(|_| expected())?;
    let host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6,
        None if host.contains(':') => {
            return Err(format!("{}; write IPv6 as [addr]:port", expected()));
        }
        None => host,
    };
    let host = if host.is_empty() { "0.0.0.0" } else { host };
    Ok((host.to_owned(), port))
}

/// Comma-separated items, trimmed; empty items (a trailing comma) are skipped.
fn split_list(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn error(name: &str, message: impl Into<String>) -> Problem {
    Problem {
        severity: Severity::Error,
        path: format!("env:{name}"),
        message: message.into(),
    }
}
