//! Semantic checks of a parsed configuration: every rule reports at the JSON path it concerns.

use std::collections::HashMap;

use super::observe::MetricsAuth;
use super::schema::{
    AuthConfig, AuthMode, Config, DEFAULT_API_VERSION, INFERENCE_API_VERSIONS,
    ImageCompressionConfig, ModelConfig, ROUTE_OPERATIONS, ServerConfig, Strategy, UpstreamConfig,
    UpstreamKind,
};
use super::shape::join_key;
use super::{Problem, Severity};

/// Why `origin` cannot match a browser's `Origin` header: it is `*` or `scheme://host[:port]`
/// exactly, with no path and no trailing slash.
fn origin_problem(origin: &str) -> Option<&'static str> {
    if origin == "*" {
        return None;
    }
    let Some((scheme, rest)) = origin.split_once("://") else {
        return Some("must be \"*\" or an origin such as \"https://chat.example.com\"");
    };
    if !matches!(scheme, "http" | "https") || rest.is_empty() {
        return Some("must start with http:// or https:// and name a host");
    }
    if rest.contains(['/', '?', '#', ' ']) {
        return Some("an origin has no path, query or trailing slash");
    }
    None
}

/// Every semantic problem of `cfg`, errors and warnings, in file order.
pub fn validate(cfg: &Config) -> Vec<Problem> {
    let mut v = Validator::default();
    v.server(&cfg.server);
    v.client_keys(cfg);
    v.upstream_auth(cfg);
    v.upstreams(&cfg.upstreams);
    v.models(cfg);
    if let Some(fallback) = &cfg.model_fallback
        && !cfg.upstreams.iter().any(|u| u.name == fallback.upstream)
    {
        v.error("$.modelFallback.upstream", no_upstream(&fallback.upstream));
    }
    v.resources(cfg);
    v.out
}

/// Why `base_url` is not usable as an upstream base URL, if it is not.
fn base_url_problem(base_url: &str) -> Option<String> {
    const MUST: &str = "must be an absolute http(s) URL";
    let url = match url::Url::parse(base_url) {
        Ok(url) => url,
        Err(e) => return Some(format!("{MUST} ({e})")),
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Some(format!("{MUST}, not {}:", url.scheme()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Some(format!("{MUST} with a host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Some("must not have a query or fragment (the gateway adds api-version)".to_owned());
    }
    None
}

#[derive(Default)]
struct Validator {
    out: Vec<Problem>,
}

impl Validator {
    fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let (path, message) = (path.into(), message.into());
        self.out.push(Problem {
            severity: Severity::Error,
            path,
            message,
        });
    }

    fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let (path, message) = (path.into(), message.into());
        self.out.push(Problem {
            severity: Severity::Warning,
            path,
            message,
        });
    }

    fn positive(&mut self, path: &str, value: u64) {
        if value == 0 {
            self.error(path, "must be greater than 0");
        }
    }

    fn server(&mut self, s: &ServerConfig) {
        if s.host.trim().is_empty() {
            self.error("$.server.host", "must not be empty");
        }
        self.positive("$.server.bodyLimit", s.body_limit);
        self.positive("$.server.maxUploadBytes", s.max_upload_bytes);
        if s.workers > 1024 {
            self.error("$.server.workers", "must be at most 1024 (0 = one per CPU)");
        }
        if let Some(cors) = &s.cors {
            for (i, origin) in cors.allowed_origins.iter().enumerate() {
                if let Some(message) = origin_problem(origin) {
                    self.error(format!("$.server.cors.allowedOrigins[{i}]"), message);
                }
            }
        }

        let admin = &s.admin_auth;
        if admin.enabled && admin.password.is_empty() {
            self.warn(
                "$.server.adminAuth.password",
                "admin API disabled until a password is set",
            );
        } else if admin.enabled && is_weak_password(&admin.password) {
            self.warn(
                "$.server.adminAuth.password",
                "weak admin password: use at least 8 characters, not a default such as \
                 \"admin\" or \"change-me\"",
            );
        }

        let u = &s.upstream;
        for (key, value) in [
            ("connectTimeoutMs", u.connect_timeout_ms),
            ("requestTimeoutMs", u.request_timeout_ms),
            ("firstByteTimeoutMs", u.first_byte_timeout_ms),
            ("idleTimeoutMs", u.idle_timeout_ms),
        ] {
            self.positive(&format!("$.server.upstream.{key}"), value);
        }
        if u.retry_base_ms > u.retry_max_ms {
            let message = format!("must not exceed retryMaxMs ({})", u.retry_max_ms);
            self.error("$.server.upstream.retryBaseMs", message);
        }
        self.error_statuses("retryStatuses", &u.retry_statuses);
        self.error_statuses("failoverStatuses", &u.failover_statuses);
        if u.max_attempts == 0 {
            let message = "must be at least 1 (the first attempt counts)";
            self.error("$.server.upstream.maxAttempts", message);
        }
        // cooldownDefaultMs above cooldownMaxMs is simply capped, like any cooldown.
        self.positive("$.server.upstream.cooldownMaxMs", u.cooldown_max_ms);
        if u.breaker_failures > 0 {
            self.positive("$.server.upstream.breakerOpenMs", u.breaker_open_ms);
        }
        if u.pool.connections == 0 {
            self.error("$.server.upstream.pool.connections", "must be at least 1");
        }
        self.positive(
            "$.server.upstream.pool.keepAliveTimeoutMs",
            u.pool.keep_alive_timeout_ms,
        );
        if u.pool.pipelining != 1 {
            self.warn(
                "$.server.upstream.pool.pipelining",
                "ignored: requests are never pipelined",
            );
        }

        if let Some(caddy) = s.caddy.as_ref().filter(|c| c.enabled) {
            if caddy.domain.trim().is_empty() {
                self.error("$.server.caddy.domain", "required when caddy is enabled");
            }
            if caddy.email.trim().is_empty() {
                self.error("$.server.caddy.email", "required when caddy is enabled");
            }
        }
        self.observe(s);
        if let Some(image) = &s.image_compression {
            self.image_compression(image, s.body_limit);
        }
    }

    fn observe(&mut self, s: &ServerConfig) {
        if s.data_dir.trim().is_empty() {
            self.error("$.server.dataDir", "must not be empty");
        }
        let m = &s.metrics;
        if m.auth_mode() == MetricsAuth::Bearer
            && m.bearer_token
                .as_deref()
                .is_none_or(|t| t.trim().is_empty())
        {
            self.error(
                "$.server.metrics.bearerToken",
                "auth `bearer` needs a bearerToken",
            );
        }
        if m.port.is_some_and(|p| p == s.port && p != 0) {
            self.error(
                "$.server.metrics.port",
                "must differ from server.port (leave it out to serve /metrics on the main port)",
            );
        }
    }

    fn image_compression(&mut self, image: &ImageCompressionConfig, body_limit: u64) {
        if !(image.quality > 0.0 && image.quality <= 1.0) {
            let message = "must be greater than 0 and at most 1";
            self.error("$.server.imageCompression.quality", message);
        }
        if !(1..=MAX_IMAGE_SIZE).contains(&image.max_size) {
            let message = format!("must be between 1 and {MAX_IMAGE_SIZE} (WebP's largest side)");
            self.error("$.server.imageCompression.maxSize", message);
        }
        // Base64 takes 4 bytes of body per 3 of image.
        if image.enabled && image.min_bytes >= body_limit / 4 * 3 {
            let message = format!(
                "no image can be larger than this in a body of at most bodyLimit ({body_limit}) \
                 bytes, so none is compressed"
            );
            self.warn("$.server.imageCompression.minBytes", message);
        }
    }

    fn error_statuses(&mut self, key: &str, statuses: &[u16]) {
        for (i, status) in statuses.iter().enumerate() {
            if !(400..=599).contains(status) {
                let path = format!("$.server.upstream.{key}[{i}]");
                self.error(
                    path,
                    format!("{status} is not an HTTP error status (400-599)"),
                );
            }
        }
    }

    fn client_keys(&mut self, cfg: &Config) {
        let mut ids: HashMap<&str, usize> = HashMap::new();
        let mut keys: HashMap<&str, usize> = HashMap::new();
        for (i, k) in cfg.api_keys.iter().enumerate() {
            let path = format!("$.apiKeys[{i}]");
            if k.id.trim().is_empty() {
                self.error(format!("{path}.id"), "must not be empty");
            } else if let Some(j) = ids.insert(k.id.as_str(), i) {
                let message = format!("duplicate id \"{}\" (also $.apiKeys[{j}])", k.id);
                self.error(format!("{path}.id"), message);
            }
            // Messages about keys never quote them: they are secrets.
            if k.key.trim().is_empty() {
                self.error(format!("{path}.key"), "must not be empty");
            } else if let Some(j) = keys.insert(k.key.as_str(), i) {
                self.error(format!("{path}.key"), format!("same key as $.apiKeys[{j}]"));
            }
        }

        let passthrough = cfg
            .upstreams
            .iter()
            .find(|u| effective_auth(cfg, u).mode == AuthMode::Passthrough);
        if let (Some(u), false) = (passthrough, cfg.api_keys.is_empty()) {
            let message = format!(
                "must be empty: upstream \"{}\" uses auth.mode passthrough, which forwards each \
                 client's own key instead of checking it against apiKeys",
                u.name
            );
            self.error("$.apiKeys", message);
        }
        let keyed = cfg
            .upstreams
            .iter()
            .any(|u| effective_auth(cfg, u).mode != AuthMode::Passthrough);
        if keyed && cfg.api_keys.is_empty() {
            self.error(
                "$.apiKeys",
                "no client keys: configure apiKeys, or use auth.mode passthrough",
            );
        }
    }

    /// Checks each credential that some upstream actually uses, once, at its own path.
    fn upstream_auth(&mut self, cfg: &Config) {
        if cfg.upstreams.iter().any(|u| u.auth.is_none()) {
            self.auth(&cfg.auth, "$.auth");
        }
        for (i, u) in cfg.upstreams.iter().enumerate() {
            if let Some(auth) = &u.auth {
                self.auth(auth, &format!("$.upstreams[{i}].auth"));
            }
        }
    }

    fn auth(&mut self, a: &AuthConfig, path: &str) {
        match a.mode {
            AuthMode::ApiKey if a.api_key.trim().is_empty() => {
                self.error(format!("{path}.apiKey"), "required when mode is apiKey");
            }
            AuthMode::Bearer if a.token.trim().is_empty() => {
                self.error(format!("{path}.token"), "required when mode is bearer");
            }
            mode if mode.is_entra() => {
                if let Some(problem) = scope_problem(&a.scope) {
                    self.error(format!("{path}.scope"), problem);
                }
                if let Some(problem) = authority_problem(&a.authority_host) {
                    self.error(format!("{path}.authorityHost"), problem);
                }
            }
            _ => {}
        }
        if a.mode == AuthMode::ServicePrincipal {
            let parts = [
                ("tenantId", &a.tenant_id),
                ("clientId", &a.client_id),
                ("clientSecret", &a.client_secret),
            ];
            if parts.iter().any(|(_, v)| !v.trim().is_empty()) {
                for (key, _) in parts.iter().filter(|(_, v)| v.trim().is_empty()) {
                    let message = "required when any of tenantId, clientId, clientSecret is set";
                    self.error(format!("{path}.{key}"), message);
                }
            }
        }
    }

    fn upstreams(&mut self, upstreams: &[UpstreamConfig]) {
        if upstreams.is_empty() {
            self.error("$.upstreams", "at least one upstream is required");
        }
        let mut names: HashMap<&str, usize> = HashMap::new();
        for (i, u) in upstreams.iter().enumerate() {
            let path = format!("$.upstreams[{i}]");
            if u.name.trim().is_empty() {
                self.error(format!("{path}.name"), "must not be empty");
            } else if let Some(j) = names.insert(u.name.as_str(), i) {
                let message = format!("duplicate name \"{}\" (also $.upstreams[{j}])", u.name);
                self.error(format!("{path}.name"), message);
            }
            if let Some(message) = base_url_problem(&u.base_url) {
                self.error(format!("{path}.baseUrl"), message);
            } else if u
                .base_url
                .to_ascii_lowercase()
                .contains("your-resource-name")
            {
                let message = "placeholder host: set your Azure resource's endpoint";
                self.warn(format!("{path}.baseUrl"), message);
            }
            if u.kind == UpstreamKind::Azure && u.api_version.trim().is_empty() {
                self.error(format!("{path}.apiVersion"), "required for kind azure");
            }
            if u.kind == UpstreamKind::Inference
                && u.api_version != DEFAULT_API_VERSION
                && !INFERENCE_API_VERSIONS.contains(&u.api_version.as_str())
            {
                let message = format!(
                    "kind inference takes {} (the default) or {}",
                    INFERENCE_API_VERSIONS[0], INFERENCE_API_VERSIONS[1]
                );
                self.error(format!("{path}.apiVersion"), message);
            }
            for (key, value) in &u.routes {
                let at = join_key(&format!("{path}.routes"), key);
                if key.trim().is_empty() {
                    self.error(at, "route key must not be empty");
                } else if !value.starts_with('/') {
                    self.error(at, "must be a path starting with \"/\"");
                }
            }
        }
    }

    fn models(&mut self, cfg: &Config) {
        if cfg.models.is_empty() && cfg.model_fallback.is_none() {
            self.error(
                "$.models",
                "at least one model is required (or set modelFallback)",
            );
        }
        let mut ids: HashMap<String, usize> = HashMap::new();
        for (i, m) in cfg.models.iter().enumerate() {
            let path = format!("$.models[{i}]");
            if m.id.is_empty() {
                self.error(format!("{path}.id"), "must not be empty");
            } else if m.id.chars().any(char::is_whitespace) {
                self.error(format!("{path}.id"), "must not contain whitespace");
            } else if let Some(j) = ids.insert(m.id.to_ascii_lowercase(), i) {
                let message = format!(
                    "duplicate id \"{}\" (also $.models[{j}]; ids match case-insensitively)",
                    m.id
                );
                self.error(format!("{path}.id"), message);
            }
            let upstreams = self.model_upstreams(cfg, m, &path);
            if m.deployments.is_empty()
                && m.target_model
                    .as_deref()
                    .is_some_and(|t| t.trim().is_empty())
            {
                self.error(
                    format!("{path}.targetModel"),
                    "must not be empty (omit it to use id)",
                );
            }
            let is_route_key = |key: &str| {
                ROUTE_OPERATIONS.contains(&key)
                    || upstreams.iter().any(|u| u.routes.contains_key(key))
            };
            for (key, value) in &m.routes {
                let at = join_key(&format!("{path}.routes"), key);
                if key != "*" && !is_route_key(key) {
                    let message = format!(
                        "unknown route key \"{key}\"; expected \"*\", one of {}, or a key of \
                         the upstream's routes",
                        ROUTE_OPERATIONS.join(", ")
                    );
                    self.error(at, message);
                } else if !value.starts_with('/') && !is_route_key(value) {
                    let message = format!(
                        "\"{value}\" is neither a path starting with \"/\" nor a route key ({}, \
                         or a key of the upstream's routes)",
                        ROUTE_OPERATIONS.join(", ")
                    );
                    self.error(at, message);
                }
            }
        }
    }
}

impl Validator {
    /// `resources.upstream` must name an upstream whose kind has files, batches and fine-tuning.
    fn resources(&mut self, cfg: &Config) {
        let Some(resources) = &cfg.resources else {
            return;
        };
        let path = "$.resources.upstream";
        match cfg.upstreams.iter().find(|u| u.name == resources.upstream) {
            None => self.error(path, no_upstream(&resources.upstream)),
            Some(u) if u.kind == UpstreamKind::Inference => {
                let message = format!(
                    "upstream \"{}\" is of kind inference, which has no files, batches or \
                     fine-tuning APIs; name an azure, azure-v1 or openai upstream",
                    u.name
                );
                self.error(path, message);
            }
            Some(_) => {}
        }
    }

    /// Checks how model `m` names its deployments (one `upstream`, or a `deployments` pool) and
    /// returns the upstreams it uses, for route-key checks.
    fn model_upstreams<'c>(
        &mut self,
        cfg: &'c Config,
        m: &ModelConfig,
        path: &str,
    ) -> Vec<&'c UpstreamConfig> {
        let find = |name: &str| cfg.upstreams.iter().find(|u| u.name == name);
        if m.deployments.is_empty() {
            if m.strategy != Strategy::default() {
                let message = "has no effect without deployments (a pool)";
                self.warn(format!("{path}.strategy"), message);
            }
            let Some(name) = &m.upstream else {
                let message = "missing \"upstream\" (one deployment) or \"deployments\" (a pool)";
                self.error(path, message);
                return Vec::new();
            };
            let found = find(name);
            if found.is_none() {
                self.error(format!("{path}.upstream"), no_upstream(name));
            }
            return found.into_iter().collect();
        }
        if m.upstream.is_some() {
            let message = "set either upstream (one deployment) or deployments (a pool), not both";
            self.error(format!("{path}.upstream"), message);
        }
        if m.target_model.is_some() {
            let message = "with deployments, set targetModel on each deployment";
            self.error(format!("{path}.targetModel"), message);
        }
        if m.deployments.len() > MAX_POOL {
            let message = format!("at most {MAX_POOL} deployments per model");
            self.error(format!("{path}.deployments"), message);
        }
        let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
        let mut used = Vec::new();
        for (j, d) in m.deployments.iter().enumerate() {
            let at = format!("{path}.deployments[{j}]");
            match find(&d.upstream) {
                Some(u) => used.push(u),
                None => self.error(format!("{at}.upstream"), no_upstream(&d.upstream)),
            }
            let target = d.target_model.as_deref().unwrap_or(&m.id);
            if target.trim().is_empty() {
                let message = "must not be empty (omit it to use the model id)";
                self.error(format!("{at}.targetModel"), message);
            } else if let Some(k) = seen.insert((d.upstream.as_str(), target), j) {
                let message = format!(
                    "same upstream and targetModel as {path}.deployments[{k}]; a deployment is \
                     listed once"
                );
                self.error(at.clone(), message);
            }
            if !(1..=MAX_WEIGHT).contains(&d.weight) {
                let message = format!("must be between 1 and {MAX_WEIGHT}");
                self.error(format!("{at}.weight"), message);
            }
        }
        used
    }
}

/// Largest `imageCompression.maxSize`: libwebp's limit, so every format can encode the result.
pub const MAX_IMAGE_SIZE: u32 = 16_383;

/// Most deployments in one pool (a request tracks the ones it tried in a 64-bit set).
pub const MAX_POOL: usize = 64;
/// Largest weight; keeps the round-robin arithmetic far from overflow.
pub const MAX_WEIGHT: u32 = 1_000_000;

/// Entra ID accepts one scope, `<resource>/.default` for the client-credentials and managed
/// identity flows the gateway uses.
fn scope_problem(scope: &str) -> Option<&'static str> {
    let scope = scope.trim();
    if scope.is_empty() {
        return Some("required for Entra ID modes");
    }
    if scope.contains(char::is_whitespace) {
        return Some("one scope only (no spaces)");
    }
    (!scope.ends_with("/.default"))
        .then_some("must end with /.default, e.g. https://cognitiveservices.azure.com/.default")
}

/// `azure_identity` refuses a non-HTTPS authority; say so at load rather than per request.
fn authority_problem(host: &str) -> Option<&'static str> {
    let host = host.trim();
    if host.is_empty() {
        return None;
    }
    match url::Url::parse(host) {
        Ok(u) if u.scheme() == "https" && u.host_str().is_some() => None,
        Ok(_) => Some("must be an https:// URL, e.g. https://login.microsoftonline.us"),
        Err(_) => Some("not a URL; e.g. https://login.microsoftonline.us"),
    }
}

/// The upstream credential in force for `u`: its own, else the global one.
fn effective_auth<'a>(cfg: &'a Config, u: &'a UpstreamConfig) -> &'a AuthConfig {
    u.auth.as_ref().unwrap_or(&cfg.auth)
}

fn is_weak_password(password: &str) -> bool {
    password.chars().count() < 8 || matches!(password, "admin" | "change-me")
}

fn no_upstream(name: &str) -> String {
    format!("no upstream named \"{name}\"")
}
