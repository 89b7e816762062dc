use std::collections::HashMap;

use super::super::env::{apply_overrides, env_only};
use super::*;

use Severity::{Error, Warning};

/// An injected environment: tests never touch the process's own.
pub(super) fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name: &str| map.get(name).cloned()
}

#[test]
fn overrides_win_over_the_file() {
    let mut cfg = valid();
    let env = vars(&[
        ("BODY_LIMIT", "1000"),
        ("SERVER_BODY_LIMIT", "2000"),
        ("GATEWAY_HOST", "127.0.0.1"),
        ("GATEWAY_PORT", "8080"),
        ("GATEWAY_ADMIN_PASSWORD", " from-env-pw "),
        ("UPSTREAM_CONNECT_TIMEOUT_MS", "11"),
        ("UPSTREAM_FIRST_BYTE_TIMEOUT_MS", "12"),
        ("UPSTREAM_IDLE_TIMEOUT_MS", "13"),
        ("UPSTREAM_REQUEST_TIMEOUT_MS", "14"),
        ("UPSTREAM_MAX_RETRIES", "0"),
        ("UPSTREAM_MAX_CONNECTIONS", "3"),
        ("UPSTREAM_KEEPALIVE_TIMEOUT_MS", "15"),
    ]);
    cfg.server.admin_auth.enabled = false;
    cfg.server.upstream.max_retries = 4;
    assert_eq!(apply_overrides(&mut cfg, &env), vec![]);
    let s = &cfg.server;
    assert_eq!(
        (s.body_limit, s.host.as_str(), s.port),
        (1000, "127.0.0.1", 8080)
    );
    assert_eq!(
        (s.admin_auth.enabled, s.admin_auth.password.as_str()),
        (true, "from-env-pw")
    );
    let u = &s.upstream;
    let timeouts = [
        u.connect_timeout_ms,
        u.first_byte_timeout_ms,
        u.idle_timeout_ms,
        u.request_timeout_ms,
    ];
    assert_eq!(timeouts, [11, 12, 13, 14]);
    assert_eq!(
        (
            u.max_retries,
            u.pool.connections,
            u.pool.keep_alive_timeout_ms
        ),
        (0, 3, 15)
    );

    apply_overrides(&mut cfg, &vars(&[("SERVER_BODY_LIMIT", "2000")]));
    assert_eq!(cfg.server.body_limit, 2000);
}

#[test]
fn unset_and_empty_variables_change_nothing() {
    let mut cfg = valid();
    let env = vars(&[("GATEWAY_HOST", ""), ("UPSTREAM_MAX_CONNECTIONS", "  ")]);
    assert_eq!(apply_overrides(&mut cfg, &env), vec![]);
    assert_eq!(cfg, valid());
}

#[test]
fn bad_override_values_are_problems_at_the_variable() {
    let mut cfg = valid();
    let env = vars(&[
        ("BODY_LIMIT", "50MB"),
        ("GATEWAY_PORT", "70000"),
        ("UPSTREAM_CONNECT_TIMEOUT_MS", "0"),
        ("UPSTREAM_MAX_CONNECTIONS", "0"),
        ("UPSTREAM_MAX_RETRIES", "-1"),
    ]);
    let problems = apply_overrides(&mut cfg, &env);
    assert_eq!(
        found(&problems),
        vec![
            (Error, "env:BODY_LIMIT"),
            (Error, "env:GATEWAY_PORT"),
            (Error, "env:UPSTREAM_CONNECT_TIMEOUT_MS"),
            (Error, "env:UPSTREAM_MAX_RETRIES"),
            (Error, "env:UPSTREAM_MAX_CONNECTIONS"),
        ]
    );
    assert_eq!(
        problems[1].message,
        "must be an integer from 0 to 65535, got \"70000\""
    );
    assert_eq!(cfg, valid());
}

#[test]
fn observability_overrides() {
    let mut cfg = valid();
    let env = vars(&[
        ("DATA_DIR", "/var/lib/gw"),
        ("USAGE_DB_PATH", "/mnt/usage.db"),
        ("USAGE_RETENTION_DAYS", "0"),
        ("METRICS_PORT", "9464"),
        ("METRICS_BEARER_TOKEN", "scrape"),
    ]);
    assert_eq!(apply_overrides(&mut cfg, &env), vec![]);
    assert_eq!(cfg.server.data_dir, "/var/lib/gw");
    assert_eq!(cfg.server.usage.path.as_deref(), Some("/mnt/usage.db"));
    assert_eq!(cfg.server.usage.retention_days, 0);
    assert_eq!(cfg.server.metrics.port, Some(9464));
    // A token implies bearer auth unless the file chose a mode.
    assert_eq!(cfg.server.metrics.auth_mode(), MetricsAuth::Bearer);
    let problems = apply_overrides(&mut cfg, &vars(&[("USAGE_RETENTION_DAYS", "-3")]));
    assert_eq!(found(&problems), vec![(Error, "env:USAGE_RETENTION_DAYS")]);
}

const ENDPOINT: (&str, &str) = ("AZURE_OPENAI_ENDPOINT", "https://east.openai.azure.com/");

#[test]
fn env_only_passthrough_with_mapper() {
    let env = vars(&[
        ENDPOINT,
        (
            "AZURE_OPENAI_MODEL_MAPPER",
            " gpt-4o = prod-4o ,GPT-4-Mini=mini,",
        ),
        ("AZURE_OPENAI_APIVERSION", "2025-04-01-preview"),
        ("GATEWAY_ADMIN_PASSWORD", "long-enough-pw"),
    ]);
    let (cfg, problems) = env_only(&env);
    assert_eq!(problems, vec![]);
    assert_eq!(
        (cfg.server.host.as_str(), cfg.server.port),
        ("0.0.0.0", 11437)
    );
    assert_eq!(cfg.auth.mode, AuthMode::Passthrough);
    assert!(cfg.api_keys.is_empty());
    let u = &cfg.upstreams[0];
    assert_eq!((u.name.as_str(), u.kind), ("azure", UpstreamKind::Azure));
    assert_eq!(
        (u.base_url.as_str(), u.api_version.as_str()),
        (ENDPOINT.1, "2025-04-01-preview")
    );
    let models: Vec<_> = cfg
        .models
        .iter()
        .map(|m| {
            (
                m.id.as_str(),
                m.upstream.as_deref().unwrap_or_default(),
                m.target_model.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        models,
        vec![
            ("gpt-4o", "azure", Some("prod-4o")),
            ("GPT-4-Mini", "azure", Some("mini"))
        ]
    );
    assert_eq!(
        cfg.model_fallback,
        Some(ModelFallbackConfig {
            upstream: "azure".to_owned()
        })
    );
    // Files, batches and fine-tuning go to the one resource.
    assert_eq!(
        cfg.resources,
        Some(ResourcesConfig {
            upstream: "azure".to_owned()
        })
    );
    assert!(cfg.server.admin_auth.enabled);
}

#[test]
fn env_only_defaults() {
    let (cfg, problems) = env_only(&vars(&[ENDPOINT]));
    assert_eq!(cfg.upstreams[0].api_version, DEFAULT_API_VERSION);
    assert!(cfg.models.is_empty());
    assert_eq!(
        found(&problems),
        vec![(Warning, "env:GATEWAY_ADMIN_PASSWORD")]
    );
}

#[test]
fn env_only_server_key_is_not_lent_to_unauthenticated_clients() {
    let (cfg, problems) = env_only(&vars(&[ENDPOINT, ("AZURE_OPENAI_API_KEY", "azure-key")]));
    assert_eq!(cfg.auth.mode, AuthMode::Passthrough);
    assert_eq!(cfg.auth.api_key, "");
    assert!(
        has(&problems, Warning, "env:AZURE_OPENAI_API_KEY"),
        "{problems:#?}"
    );
}

#[test]
fn env_only_with_client_keys() {
    let env = vars(&[
        ENDPOINT,
        ("AZURE_OPENAI_API_KEY", "azure-key"),
        ("GATEWAY_API_KEYS", "sk-one, sk-two ,"),
        ("GATEWAY_ADMIN_PASSWORD", "long-enough-pw"),
    ]);
    let (cfg, problems) = env_only(&env);
    assert_eq!(problems, vec![]);
    assert_eq!(
        (cfg.auth.mode, cfg.auth.api_key.as_str()),
        (AuthMode::ApiKey, "azure-key")
    );
    let keys: Vec<_> = cfg
        .api_keys
        .iter()
        .map(|k| (k.id.as_str(), k.key.as_str()))
        .collect();
    assert_eq!(keys, vec![("env-1", "sk-one"), ("env-2", "sk-two")]);

    let (_, problems) = env_only(&vars(&[ENDPOINT, ("GATEWAY_API_KEYS", "sk-one,sk-one")]));
    let errors: Vec<_> = problems.iter().filter(|p| p.is_error()).collect();
    let paths: Vec<&str> = errors.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        vec!["env:AZURE_OPENAI_API_KEY", "env:GATEWAY_API_KEYS"],
        "{problems:#?}"
    );
    assert!(
        errors[1].message.contains("$.apiKeys[1].key"),
        "{}",
        errors[1].message
    );
    assert!(
        !errors[1].message.contains("sk-one"),
        "key leaked: {}",
        errors[1].message
    );
}

#[test]
fn env_only_proxy_address() {
    let address = |a: &str| {
        let (cfg, problems) = env_only(&vars(&[ENDPOINT, ("AZURE_OPENAI_PROXY_ADDRESS", a)]));
        let errors: Vec<_> = problems.into_iter().filter(Problem::is_error).collect();
        (cfg.server.host, cfg.server.port, errors)
    };
    assert_eq!(
        address("127.0.0.1:8080"),
        ("127.0.0.1".to_owned(), 8080, vec![])
    );
    assert_eq!(address(":9000"), ("0.0.0.0".to_owned(), 9000, vec![]));
    assert_eq!(address("[::1]:9001"), ("::1".to_owned(), 9001, vec![]));
    for bad in ["localhost", "host:http", "::1:80", "h:70000"] {
        let (_, _, errors) = address(bad);
        assert_eq!(
            found(&errors),
            vec![(Error, "env:AZURE_OPENAI_PROXY_ADDRESS")],
            "{bad}"
        );
    }
    let env = vars(&[
        ENDPOINT,
        ("AZURE_OPENAI_PROXY_ADDRESS", "1.2.3.4:1"),
        ("GATEWAY_PORT", "2"),
    ]);
    assert_eq!(env_only(&env).0.server.port, 2);
}

#[test]
fn env_only_bad_mapper_entries() {
    let mapper = "a=b, c , =d, e=, gpt 4=x, A=other";
    let (cfg, problems) = env_only(&vars(&[ENDPOINT, ("AZURE_OPENAI_MODEL_MAPPER", mapper)]));
    let errors: Vec<_> = problems.iter().filter(|p| p.is_error()).collect();
    let messages: Vec<&str> = errors.iter().map(|p| p.message.as_str()).collect();
    assert!(
        errors
            .iter()
            .all(|p| p.path == "env:AZURE_OPENAI_MODEL_MAPPER"),
        "{problems:#?}"
    );
    assert_eq!(
        messages,
        vec![
            "entry 2 \"c\": expected alias=deployment",
            "entry 3 \"=d\": expected alias=deployment",
            "entry 4 \"e=\": expected alias=deployment",
            "alias \"A\" repeats \"a\" (aliases match case-insensitively)",
            "must not contain whitespace ($.models[1].id)",
        ]
    );
    assert_eq!(cfg.models.len(), 2);
}

#[test]
fn env_only_bad_endpoint_is_reported_at_the_variable() {
    let (_, problems) = env_only(&vars(&[("AZURE_OPENAI_ENDPOINT", "east.openai.azure.com")]));
    let errors: Vec<_> = problems.into_iter().filter(Problem::is_error).collect();
    assert_eq!(found(&errors), vec![(Error, "env:AZURE_OPENAI_ENDPOINT")]);
}
