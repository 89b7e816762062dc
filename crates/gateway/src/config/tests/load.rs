use std::path::Path;

use super::super::{ConfigError, ConfigSource, load};
use super::env::vars;
use super::*;

fn write(dir: &Path, name: &str, cfg: &Config) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        serde_json::to_string_pretty(cfg).expect("serializes"),
    )
    .expect("write");
    path
}

#[test]
fn explicit_file_with_env_overrides() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = valid();
    cfg.server.upstream.connect_timeout_ms = 1_234;
    cfg.server.upstream.pool.connections = 8;
    let path = write(dir.path(), "gw.json", &cfg);
    let env = vars(&[
        ("UPSTREAM_CONNECT_TIMEOUT_MS", "99"),
        ("UPSTREAM_MAX_CONNECTIONS", "2"),
    ]);
    let loaded = load(Some(&path), &env).expect("loads");
    assert_eq!(loaded.source, ConfigSource::File(path));
    assert_eq!(loaded.warnings, vec![]);
    assert_eq!(loaded.config.server.upstream.connect_timeout_ms, 99);
    assert_eq!(loaded.config.server.upstream.pool.connections, 2);
}

#[test]
fn config_path_variable_and_ignored_endpoint_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "c.json", &valid());
    let path_str = path.to_str().expect("utf-8 path");
    let env = vars(&[
        ("CONFIG_PATH", path_str),
        ("AZURE_OPENAI_ENDPOINT", "https://x.openai.azure.com"),
    ]);
    let loaded = load(None, &env).expect("loads");
    assert_eq!(loaded.source, ConfigSource::File(path));
    assert_eq!(
        found(&loaded.warnings),
        vec![(Severity::Warning, "env:AZURE_OPENAI_ENDPOINT")]
    );
}

#[test]
fn missing_file_falls_back_to_env_only_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("none.json");
    let missing = missing.to_str().expect("utf-8 path");
    let env = vars(&[
        ("CONFIG_PATH", missing),
        ("AZURE_OPENAI_ENDPOINT", "https://x.openai.azure.com"),
        ("GATEWAY_ADMIN_PASSWORD", "long-enough-pw"),
    ]);
    let loaded = load(None, &env).expect("env-only loads");
    assert_eq!(loaded.source, ConfigSource::Env);
    assert_eq!(loaded.warnings, vec![]);
    assert_eq!(
        loaded.config.upstreams[0].base_url,
        "https://x.openai.azure.com"
    );
}

#[test]
fn nothing_configured_says_what_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("none.json");
    let env = vars(&[("CONFIG_PATH", missing.to_str().expect("utf-8 path"))]);
    let err = load(None, &env).expect_err("nothing to load");
    assert!(matches!(&err, ConfigError::NotFound { path } if *path == missing));
    let message = err.to_string();
    for hint in [
        "--config",
        "CONFIG_PATH",
        "AZURE_OPENAI_ENDPOINT",
        "none.json",
    ] {
        assert!(message.contains(hint), "{hint} missing from: {message}");
    }
}

#[test]
fn explicit_file_must_exist_even_with_env_only_variables() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("none.json");
    let env = vars(&[("AZURE_OPENAI_ENDPOINT", "https://x.openai.azure.com")]);
    let err = load(Some(&missing), &env).expect_err("explicit file is missing");
    assert!(matches!(err, ConfigError::Io { .. }), "{err}");
}

#[test]
fn invalid_lists_every_problem_on_its_own_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.json");
    std::fs::write(
        &path,
        r#"{"server": {"port": "x", "hots": "h"}, "upstreams": 1}"#,
    )
    .expect("write");
    let err = load(Some(&path), &vars(&[])).expect_err("invalid");
    let ConfigError::Invalid { problems, .. } = &err else {
        panic!("not Invalid: {err}")
    };
    assert_eq!(problems.len(), 3);
    let text = err.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[0].ends_with("bad.json: invalid configuration:"),
        "{text}"
    );
    assert!(lines[1].starts_with("  error: $.server.port: "), "{text}");
    assert!(
        lines[2].starts_with("  error: $.server.hots: unknown key"),
        "{text}"
    );
    assert!(lines[3].starts_with("  error: $.upstreams: "), "{text}");
}

#[test]
fn validation_errors_and_env_errors_refuse_the_file_together() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = valid();
    cfg.server.body_limit = 0;
    let path = write(dir.path(), "c.json", &cfg);
    let err = load(Some(&path), &vars(&[("GATEWAY_PORT", "x")])).expect_err("invalid");
    let ConfigError::Invalid { problems, .. } = err else {
        panic!("not Invalid")
    };
    let expected = vec![
        (Severity::Error, "env:GATEWAY_PORT"),
        (Severity::Error, "$.server.bodyLimit"),
    ];
    assert_eq!(found(&problems), expected);
}
