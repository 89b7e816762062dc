//! The rig: mock-azure in fast mode, the gateway in front of it, and the two endpoints every
//! scenario compares (the mock called directly, and the same deployment through the gateway).

use std::path::PathBuf;

use bytes::Bytes;
use serde_json::json;

use crate::client::Endpoint;
use crate::procs::{self, Proc};

pub const CLIENT_KEY: &str = "sk-bench-client";
pub const UPSTREAM_KEY: &str = "bench-upstream-key";
pub const ADMIN_PASSWORD: &str = "bench-admin-password-0123456789";
/// Deployment the plain scenarios use.
pub const DEPLOYMENT: &str = "bench-4o-mini";
/// The failover pool: one deployment that always answers 429, one healthy.
pub const THROTTLED: &str = "bench-throttled";
pub const HEALTHY: &str = "bench-healthy";
/// What the throttled deployment asks for; Azure says seconds, `retry-after-ms` is its hint.
pub const THROTTLE_RETRY_MS: u64 = 1000;
const API_VERSION: &str = "2024-10-21";

/// Paths to the release binaries.
pub struct Binaries {
    pub gateway: PathBuf,
    pub mock: PathBuf,
    /// Extra environment for the gateway only (`--gateway-env`).
    pub gateway_env: Vec<(String, String)>,
}

/// The running rig.
pub struct Rig {
    pub mock: Proc,
    pub gateway: Proc,
    /// Kept so the config file outlives the gateway.
    _dir: TempDir,
}

impl Rig {
    pub async fn start(bins: &Binaries, with_pool: bool) -> Result<Self, String> {
        let mut mock_cmd = procs::command(&bins.mock);
        mock_cmd.args([
            "--port",
            "0",
            "--no-record",
            "--key",
            UPSTREAM_KEY,
            "--behavior",
            &format!(
                "{THROTTLED}:status=429,retry-after-ms={THROTTLE_RETRY_MS},retry-after={}",
                THROTTLE_RETRY_MS.div_ceil(1000)
            ),
        ]);
        let mock = Proc::start("mock-azure", mock_cmd).await?;
        let dir = TempDir::new()?;
        let config_path = dir.0.join("config.json");
        let config = gateway_config(&format!("http://{}", mock.addr), with_pool);
        let text = serde_json::to_vec_pretty(&config).map_err(|e| e.to_string())?;
        std::fs::write(&config_path, text).map_err(|e| format!("write config: {e}"))?;
        // The log is on stdout, which `Proc` drains (at `warn`, nothing per request); stderr
        // has only fatal startup errors.
        let log = std::fs::File::create(dir.0.join("gateway.stderr")).map_err(|e| e.to_string())?;
        let mut gw_cmd = procs::command(&bins.gateway);
        gw_cmd
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            .env("LOG_LEVEL", "warn")
            .env("DATA_DIR", dir.0.join("data"))
            .envs(bins.gateway_env.iter().map(|(k, v)| (k, v)))
            .stderr(log);
        let gateway = Proc::start("aoai-gateway", gw_cmd).await?;
        Ok(Self {
            mock,
            gateway,
            _dir: dir,
        })
    }

    /// The mock's chat route for `deployment`, called as an Azure client would.
    pub fn direct(&self, deployment: &str) -> Endpoint {
        let path =
            format!("/openai/deployments/{deployment}/chat/completions?api-version={API_VERSION}");
        Endpoint::new(self.mock.addr, &path, &[("api-key", UPSTREAM_KEY)])
    }

    /// The gateway's OpenAI route, called as an OpenAI SDK would.
    pub fn gateway(&self) -> Endpoint {
        let bearer = format!("Bearer {CLIENT_KEY}");
        Endpoint::new(
            self.gateway.addr,
            "/v1/chat/completions",
            &[("authorization", &bearer)],
        )
    }

    pub async fn stop(self) {
        self.gateway.stop().await;
        self.mock.stop().await;
    }
}

/// A small chat request, as SDKs send it; the alias differs from the deployment name so the
/// gateway's body rewrite is on the measured path.
pub fn chat_body(model: &str, stream: bool) -> Bytes {
    let mut body = json!({
        "model": model,
        "messages": [
            {"role": "system", "content": "You are a terse assistant."},
            {"role": "user", "content": "Name three primary colours, comma separated."}
        ],
        "max_tokens": 32,
        "temperature": 0.2
    });
    if stream {
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
    }
    Bytes::from(body.to_string())
}

fn gateway_config(mock_url: &str, with_pool: bool) -> serde_json::Value {
    let mut models =
        vec![json!({"id": "gpt-4o-mini", "upstream": "mock", "targetModel": DEPLOYMENT})];
    if with_pool {
        models.push(json!({
            "id": "pool",
            "deployments": [
                {"upstream": "mock", "targetModel": THROTTLED},
                {"upstream": "mock", "targetModel": HEALTHY}
            ]
        }));
    }
    json!({
        "server": {
            "host": "127.0.0.1",
            "port": 0,
            "adminAuth": {"enabled": true, "username": "admin", "password": ADMIN_PASSWORD},
            "upstream": {"idleTimeoutMs": 120000, "requestTimeoutMs": 300000}
        },
        "auth": {"mode": "apiKey", "apiKey": UPSTREAM_KEY},
        "apiKeys": [{"id": "bench", "key": CLIENT_KEY, "status": "active"}],
        "upstreams": [{"name": "mock", "baseUrl": mock_url, "kind": "azure", "apiVersion": API_VERSION}],
        "models": models
    })
}

/// A private directory removed at the end of the run.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self, String> {
        let path = std::env::temp_dir().join(format!("aoai-bench-{}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
