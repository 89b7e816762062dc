//! Unit tests of the config module, one file per concern, sharing a known-good config.

mod env;
mod load;
mod parse;
mod validate;

use super::observe::MetricsAuth;
use super::schema::*;
use super::{Problem, Severity};

/// A minimal config that validates with no problem at all; tests break one thing at a time.
fn valid() -> Config {
    Config {
        server: ServerConfig {
            admin_auth: AdminAuthConfig {
                password: "s3cret-admin-pw".to_owned(),
                ..Default::default()
            },
            ..Default::default()
        },
        auth: AuthConfig {
            api_key: "upstream-key".to_owned(),
            ..Default::default()
        },
        api_keys: vec![ApiKeyConfig {
            id: "team-a".to_owned(),
            key: "sk-team-a".to_owned(),
            status: KeyStatus::Active,
        }],
        upstreams: vec![UpstreamConfig {
            name: "east".to_owned(),
            base_url: "https://east.openai.azure.com".to_owned(),
            kind: UpstreamKind::Azure,
            api_version: DEFAULT_API_VERSION.to_owned(),
            routes: Default::default(),
            auth: None,
        }],
        models: vec![ModelConfig {
            id: "gpt-4o".to_owned(),
            upstream: Some("east".to_owned()),
            ..Default::default()
        }],
        model_fallback: None,
        resources: None,
    }
}

/// `(severity, path)` pairs, the part most assertions care about.
fn found(problems: &[Problem]) -> Vec<(Severity, &str)> {
    problems
        .iter()
        .map(|p| (p.severity.clone(), p.path.as_str()))
        .collect()
}

fn has(problems: &[Problem], severity: Severity, path: &str) -> bool {
    problems
        .iter()
        .any(|p| p.severity == severity && p.path == path)
}
