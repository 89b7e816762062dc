//! `aoai-gateway demo`: the real gateway in front of an in-process mock Azure resource, both on
//! loopback, so a newcomer sees every feature work without an Azure account.

use std::collections::{BTreeMap, HashMap};

use mock_azure::{Behavior, MockConfig, MockServer};

use crate::config::{
    AdminAuthConfig, ApiKeyConfig, AuthConfig, AuthMode, Config, KeyStatus, ModelConfig,
    ResourcesConfig, ServerConfig, UpstreamConfig, UpstreamKind,
};
use crate::server;
use crate::state::AppState;

pub struct DemoOptions {
    pub port: u16,
    pub key: Option<String>,
    /// The admin log ring the logger writes to (`GET /admin/api/logs`).
    pub logs: std::sync::Arc<crate::telemetry::LogBuffer>,
}

fn random_token(prefix: &str) -> String {
    format!(
        "{prefix}{:016x}{:016x}",
        rand::random::<u64>(),
        rand::random::<u64>()
    )
}

fn model(id: &str, upstream: &str, deployment: &str) -> ModelConfig {
    ModelConfig {
        id: id.to_owned(),
        upstream: Some(upstream.to_owned()),
        target_model: Some(deployment.to_owned()),
        routes: BTreeMap::new(),
        ..ModelConfig::default()
    }
}

/// The demo's config: a legacy (dated api-version) upstream and a v1 upstream on one mock
/// resource, with a chat, a reasoning, an embeddings and an image model.
pub fn demo_config(
    mock_url: &str,
    mock_key: &str,
    client_key: &str,
    admin_password: &str,
    port: u16,
) -> Config {
    let auth = AuthConfig {
        mode: AuthMode::ApiKey,
        api_key: mock_key.to_owned(),
        ..AuthConfig::default()
    };
    let upstream = |name: &str, kind| UpstreamConfig {
        name: name.to_owned(),
        base_url: mock_url.to_owned(),
        kind,
        api_version: crate::config::DEFAULT_API_VERSION.to_owned(),
        routes: BTreeMap::new(),
        auth: None,
    };
    Config {
        server: ServerConfig {
            host: "127.0.0.1".to_owned(),
            port,
            admin_auth: AdminAuthConfig {
                enabled: true,
                username: "admin".to_owned(),
                password: admin_password.to_owned(),
            },
            ..ServerConfig::default()
        },
        auth,
        api_keys: vec![ApiKeyConfig {
            id: "demo".to_owned(),
            key: client_key.to_owned(),
            status: KeyStatus::Active,
        }],
        upstreams: vec![
            upstream("demo-azure", UpstreamKind::Azure),
            upstream("demo-foundry-v1", UpstreamKind::AzureV1),
        ],
        models: vec![
            model("gpt-4o-mini", "demo-azure", "gpt-4o-mini"),
            model("gpt-5-mini", "demo-foundry-v1", "gpt-5-mini"),
            model(
                "text-embedding-3-small",
                "demo-azure",
                "text-embedding-3-small",
            ),
            model("dall-e-3", "demo-azure", "dall-e-3"),
        ],
        model_fallback: None,
        // Files, batches and fine-tuning go to the v1 surface, where Azure serves all three.
        resources: Some(ResourcesConfig {
            upstream: "demo-foundry-v1".to_owned(),
        }),
    }
}

/// Runs the demo until Ctrl-C; `say` prints the banner.
pub async fn run(opts: DemoOptions, say: fn(&str)) -> Result<(), String> {
    let mock_key = random_token("mock-");
    // Streams are paced so the demo visibly streams, as Azure does.
    let paced = Behavior {
        event_delay_ms: 60,
        ..Behavior::default()
    };
    let behaviors: HashMap<String, Behavior> = ["gpt-4o-mini", "gpt-5-mini"]
        .into_iter()
        .map(|d| (d.to_owned(), paced.clone()))
        .collect();
    let mock = MockServer::start(MockConfig {
        key: Some(mock_key.clone()),
        record: false,
        deployments: None,
        behaviors,
        ..MockConfig::default()
    })
    .await
    .map_err(|e| format!("cannot start the mock upstream: {e}"))?;
    let client_key = opts.key.unwrap_or_else(|| random_token("sk-demo-"));
    let admin_password = random_token("");
    let config = demo_config(
        &mock.base_url(),
        &mock_key,
        &client_key,
        &admin_password,
        opts.port,
    );
    let telemetry =
        crate::telemetry::Telemetry::new(crate::telemetry::Ledger::disabled(), opts.logs);
    let app = AppState::with_telemetry(config, telemetry)?;
    let listener = server::bind("127.0.0.1", opts.port)
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e} (try --port)", opts.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let base = format!("http://{addr}");
    say(
        "aoai-gateway demo: the gateway in front of a mock Azure OpenAI resource, all on loopback.",
    );
    say(&format!("aoai-gateway listening on {base}"));
    say(&format!("  base URL    {base}/v1"));
    say(&format!("  client key  {client_key}"));
    say(
        "  models      gpt-4o-mini (chat), gpt-5-mini (reasoning), text-embedding-3-small, dall-e-3",
    );
    say(&format!(
        "  admin       {base}/admin/api/stats  (user admin, password {admin_password})"
    ));
    say("Try:");
    say(&format!(
        "  curl {base}/v1/chat/completions -H 'Authorization: Bearer {client_key}' \
         -H 'content-type: application/json' \
         -d '{{\"model\":\"gpt-4o-mini\",\"messages\":[{{\"role\":\"user\",\"content\":\"Hello\"}}]}}'"
    ));
    say("Press Ctrl-C to stop.");
    let result = server::serve(listener, app, server::shutdown_signal()).await;
    drop(mock);
    result.map_err(|e| e.to_string())
}
