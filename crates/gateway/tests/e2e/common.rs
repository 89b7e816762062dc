//! Harness: the real `aoai-gateway` binary on port 0 in front of an in-process mock-azure.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use mock_azure::{MockConfig, MockServer};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const CLIENT_KEY: &str = "sk-test-client";
pub const UPSTREAM_KEY: &str = "azure-upstream-key";
pub const ADMIN_PASSWORD: &str = "admin-pass-123";

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_aoai-gateway")
}

/// A running gateway process; killed on drop.
pub struct Gateway {
    pub base: String,
    /// The separate `/metrics` URL, when `server.metrics.port` is set (announced on stdout).
    pub metrics: Option<String>,
    pub pid: u32,
    /// Where the log (the gateway's stdout) is copied, for gateways started with
    /// [`Gateway::start_logged`].
    pub log: Option<PathBuf>,
    _child: Child,
    _dir: tempfile::TempDir,
}

impl Gateway {
    /// Writes `config` to a temp file and starts `aoai-gateway serve --config FILE`.
    pub async fn start(config: &Value) -> Gateway {
        Self::start_with_env(config, &[]).await
    }

    pub async fn start_with_env(config: &Value, env: &[(&str, &str)]) -> Gateway {
        let (cmd, dir) = Self::serve_command(config);
        Self::spawn(cmd, env, dir).await
    }

    /// Like [`Self::start_with_env`], with the log (at `info`) written to [`Gateway::log`].
    pub async fn start_logged(config: &Value, env: &[(&str, &str)]) -> Gateway {
        let (cmd, dir) = Self::serve_command(config);
        let log = dir.path().join("gateway.log");
        Self::spawn_inner(cmd, env, dir, Some(log)).await
    }

    fn serve_command(config: &Value) -> (Command, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, serde_json::to_vec_pretty(config).unwrap()).unwrap();
        let mut cmd = Command::new(bin());
        cmd.arg("serve").arg("--config").arg(&path);
        (cmd, dir)
    }

    /// Starts the binary with arbitrary arguments and environment (env-only mode, demo, …).
    pub async fn spawn(cmd: Command, env: &[(&str, &str)], dir: tempfile::TempDir) -> Gateway {
        Self::spawn_inner(cmd, env, dir, None).await
    }

    async fn spawn_inner(
        mut cmd: Command,
        env: &[(&str, &str)],
        dir: tempfile::TempDir,
        log: Option<PathBuf>,
    ) -> Gateway {
        for (k, _) in std::env::vars() {
            if k.starts_with("AZURE_")
                || k.starts_with("UPSTREAM_")
                || k.starts_with("GATEWAY_")
                || k.starts_with("IDENTITY_")
                || k.starts_with("MSI_")
                || k == "IMDS_ENDPOINT"
                || k == "CONFIG_PATH"
                || k == "BODY_LIMIT"
                || k == "SERVER_BODY_LIMIT"
                || k == "MAX_UPLOAD_BYTES"
                || k == "RUST_LOG"
                || k.starts_with("USAGE_")
                || k.starts_with("METRICS_")
                || k.starts_with("LOG_")
                || k.starts_with("OTEL_")
                || k == "DATA_DIR"
                || k.starts_with("ADMIN_LOG_")
            {
                cmd.env_remove(k);
            }
        }
        // Managed identity off Azure would dial IMDS at 169.254.169.254: point it at a closed
        // local port unless the test provides an IMDS of its own.
        cmd.env("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:1");
        // The log is on stdout: at `info` into the file for `start_logged`, else at `warn`
        // into the test's captured output (shown when the test fails).
        cmd.env("LOG_LEVEL", if log.is_some() { "info" } else { "warn" });
        cmd.envs(env.iter().copied())
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = cmd.spawn().unwrap();
        let pid = child.id().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut copy = LogCopy::new(log.as_deref());
        let mut metrics = None;
        let base = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(rest) = line.strip_prefix("aoai-gateway metrics on ") {
                    metrics = Some(rest.trim().to_owned());
                    continue;
                }
                if let Some(rest) = line.strip_prefix("aoai-gateway listening on ") {
                    return rest.trim().to_owned();
                }
                copy.line(&line);
            }
            panic!("gateway exited before listening");
        })
        .await
        .expect("gateway did not start within 30 s");
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                copy.line(&line);
            }
        });
        Gateway {
            base,
            metrics,
            pid,
            log,
            _child: child,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The log so far (gateways started with [`Self::start_logged`]).
    pub fn log_text(&self) -> String {
        let path = self.log.as_ref().expect("started with start_logged");
        std::fs::read_to_string(path).unwrap()
    }

    /// SIGTERM, then waits (at most 15 s) for a clean exit, as an orchestrator stops it.
    pub async fn stop(mut self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = tokio::time::timeout(Duration::from_secs(15), self._child.wait())
            .await
            .expect("gateway did not stop within 15 s")
            .unwrap();
        assert!(exit.success(), "gateway exited with {exit}");
    }
}

/// Where the gateway's stdout lines go once read: the log file, or the test's output.
struct LogCopy(Option<std::fs::File>);

impl LogCopy {
    fn new(path: Option<&std::path::Path>) -> Self {
        Self(path.map(|p| std::fs::File::create(p).unwrap()))
    }

    fn line(&mut self, line: &str) {
        use std::io::Write as _;
        match &mut self.0 {
            // Unbuffered: tests read the file while the gateway runs.
            Some(file) => {
                let _ = writeln!(file, "{line}");
            }
            None => eprintln!("{line}"),
        }
    }
}

pub async fn mock() -> MockServer {
    MockServer::start(MockConfig::default()).await.unwrap()
}

/// A config with one upstream of each kind on the same mock and a model on each.
pub fn config(mock_url: &str) -> Value {
    json!({
        "server": {
            "host": "127.0.0.1",
            "port": 0,
            "adminAuth": {"enabled": true, "username": "admin", "password": ADMIN_PASSWORD},
            "upstream": {"firstByteTimeoutMs": 5000, "idleTimeoutMs": 5000, "requestTimeoutMs": 20000}
        },
        "auth": {"mode": "apiKey", "apiKey": UPSTREAM_KEY},
        "apiKeys": [
            {"id": "team-a", "key": CLIENT_KEY, "status": "active"},
            {"id": "old", "key": "sk-disabled", "status": "disabled"}
        ],
        "upstreams": [
            {"name": "legacy", "baseUrl": mock_url, "kind": "azure", "apiVersion": "2024-10-21"},
            {"name": "v1", "baseUrl": format!("{mock_url}/"), "kind": "azure-v1"},
            {"name": "engine", "baseUrl": mock_url, "kind": "openai",
             "auth": {"mode": "apiKey", "apiKey": "engine-key"}}
        ],
        "models": [
            {"id": "gpt-4o-mini", "upstream": "legacy", "targetModel": "dep-4o-mini"},
            {"id": "gpt-5-mini", "upstream": "v1", "targetModel": "dep-gpt5"},
            {"id": "llama", "upstream": "engine", "targetModel": "meta-llama/Llama-3.1-8B"},
            {"id": "text-embedding-3-small", "upstream": "legacy", "targetModel": "emb"},
            {"id": "dall-e-3", "upstream": "legacy", "targetModel": "img"}
        ]
    })
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

pub fn chat_body(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "Hello"}]})
}

/// POST JSON with the client key as Bearer.
pub async fn post(gw: &Gateway, path: &str, body: &Value) -> reqwest::Response {
    client()
        .post(gw.url(path))
        .bearer_auth(CLIENT_KEY)
        .json(body)
        .send()
        .await
        .unwrap()
}

pub async fn admin_stats(gw: &Gateway) -> Value {
    client()
        .get(gw.url("/admin/api/stats"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `GET /admin/api/deployments`: every pool and its deployments' health.
pub async fn deployments(gw: &Gateway) -> Value {
    let resp = client()
        .get(gw.url("/admin/api/deployments"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// Deployment `name` of `model`'s pool in `/admin/api/deployments`.
pub async fn pool_member(gw: &Gateway, model: &str, name: &str) -> Value {
    let all = deployments(gw).await;
    let pool = all["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["model"] == model)
        .unwrap_or_else(|| panic!("no pool {model} in {all}"));
    pool["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["deployment"] == name)
        .unwrap_or_else(|| panic!("no {name} in {pool}"))
        .clone()
}

/// Polls the stats until `pred` holds (stats are recorded when a body ends, which can be a
/// moment after the client saw the last byte).
pub async fn stats_until(gw: &Gateway, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let s = admin_stats(gw).await;
        if pred(&s) || tokio::time::Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Reads an SSE response to the end, returning each `data:` payload and when it arrived.
pub async fn sse_events(
    resp: reqwest::Response,
) -> Result<Vec<(std::time::Instant, String)>, String> {
    use futures_util::StreamExt;
    let mut out = Vec::new();
    let mut buf = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| format!("stream error: {e}"))?;
        let now = std::time::Instant::now();
        buf.extend_from_slice(&chunk);
        while let Some(pos) = buf.windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = buf.drain(..pos + 2).collect();
            let text = String::from_utf8(event).map_err(|e| e.to_string())?;
            for line in text.lines() {
                if let Some(data) = line.strip_prefix("data: ") {
                    out.push((now, data.to_owned()));
                }
            }
        }
    }
    Ok(out)
}

/// POST JSON with the client key and extra headers (mock-azure's `x-mock-*` controls pass
/// through the gateway like any other client header).
pub async fn post_with(
    gw: &Gateway,
    path: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> reqwest::Response {
    let mut req = client()
        .post(gw.url(path))
        .bearer_auth(CLIENT_KEY)
        .json(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

/// POST a raw body (not necessarily JSON) with the client key, as `application/json`.
pub async fn post_raw(
    gw: &Gateway,
    path: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    client()
        .post(gw.url(path))
        .bearer_auth(CLIENT_KEY)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// GET with the client key.
pub async fn get(gw: &Gateway, path: &str) -> reqwest::Response {
    client()
        .get(gw.url(path))
        .bearer_auth(CLIENT_KEY)
        .send()
        .await
        .unwrap()
}

/// Reads a body to its end or its break: the text that arrived, and whether it broke.
pub async fn read_all(resp: reqwest::Response) -> (String, bool) {
    use futures_util::StreamExt;
    let mut stream = resp.bytes_stream();
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => body.extend_from_slice(&bytes),
            Err(_) => return (String::from_utf8(body).unwrap(), true),
        }
    }
    (String::from_utf8(body).unwrap(), false)
}

/// The `data:` payloads of an SSE text, in order.
pub fn sse_data(text: &str) -> Vec<String> {
    text.split_terminator("\n\n")
        .flat_map(|event| event.lines())
        .filter_map(|line| line.strip_prefix("data: "))
        .map(str::to_owned)
        .collect()
}
