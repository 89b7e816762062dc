//! The command line: help, version, check-config.

use std::process::Command;

use crate::common::*;

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(bin()).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn help_and_version() {
    let (code, text) = run(&["--help"]);
    assert_eq!(code, 0);
    for sub in ["serve", "check-config", "demo"] {
        assert!(text.contains(sub), "{text}");
    }
    let (code, text) = run(&["--version"]);
    assert_eq!(code, 0);
    assert!(text.contains(env!("CARGO_PKG_VERSION")), "{text}");
}

#[test]
fn check_config_accepts_the_seed_sample_with_warnings() {
    let (code, text) = run(&[
        "check-config",
        fixture("seed_sample_config.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("warning: $.upstreams[0].baseUrl"), "{text}");
    assert!(!text.contains("error:"), "{text}");
}

#[test]
fn check_config_reports_every_problem_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    let bad = serde_json::json!({
        "server": {"port": 3000, "colour": "blue", "upstream": {"connectTimeoutMs": 0}},
        "apiKeys": [{"id": "a", "key": "k"}, {"id": "a", "key": "k2", "extra": 1}],
        "upstreams": [{"name": "u", "baseUrl": "ftp://x", "kind": "azure"}],
        "models": [{"id": "m", "upstream": "missing"}]
    });
    std::fs::write(&path, bad.to_string()).unwrap();
    let (code, text) = run(&["check-config", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{text}");
    for p in ["$.server.colour", "$.apiKeys[1].extra"] {
        assert!(text.contains(p), "missing {p} in:\n{text}");
    }
    let errors = text.lines().filter(|l| l.starts_with("error:")).count();
    assert!(errors >= 2, "{text}");
    // Once the unknown keys are gone, the semantic problems are all listed too.
    let mut fixed = bad.clone();
    fixed["server"].as_object_mut().unwrap().remove("colour");
    fixed["apiKeys"][1].as_object_mut().unwrap().remove("extra");
    std::fs::write(&path, fixed.to_string()).unwrap();
    let (code, text) = run(&["check-config", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{text}");
    for p in [
        "$.server.upstream.connectTimeoutMs",
        "$.apiKeys[1].id",
        "$.upstreams[0].baseUrl",
        "$.models[0].upstream",
    ] {
        assert!(text.contains(p), "missing {p} in:\n{text}");
    }
    let (code, text) = run(&["check-config", "/nonexistent/config.json"]);
    assert_ne!(code, 0);
    assert!(text.contains("/nonexistent/config.json"), "{text}");
}
