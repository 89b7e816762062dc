//! Files, batches, fine-tuning jobs and stored responses end to end against mock-azure, an
//! upstream that keeps real state per resource: every route works on every client face with
//! `resources.upstream` of each kind (uploads byte for byte, lifecycles advanced by reads,
//! the upstream's 404s passed through), each call reaching the upstream on its own path with
//! its own credential; and stored responses go back to the resource (mock) that created them,
//! are found again by a restarted gateway, and continuations through a pool land on the owner.

use mock_azure::{MockConfig, MockServer, RecordedRequest};
use serde_json::{Value, json};

use crate::common::*;

/// The dated version clients send on the legacy face.
const CLIENT_VERSION: &str = "2025-04-01-preview";
/// The `apiVersion` of every `azure` upstream here.
const UPSTREAM_VERSION: &str = "2024-10-21";
/// The `openai` (engine) upstream's own key, sent as `Authorization: Bearer`.
const ENGINE_KEY: &str = "engine-key";
/// The one deployment the resources mock has; batch lines name it.
const BATCH_DEPLOYMENT: &str = "dep-batch";
const BOUNDARY: &str = "gw-mock-e2e-boundary-4f1c9a";

/// A client face, as its SDKs call it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Face {
    /// `/v1/…`, key as `Authorization: Bearer`.
    OpenAi,
    /// `/openai/v1/…`, key as `api-key`.
    AzureV1,
    /// `/openai/…?api-version=2025-04-01-preview`, key as `api-key`.
    AzureDated,
}

const FACES: [Face; 3] = [Face::OpenAi, Face::AzureV1, Face::AzureDated];

impl Face {
    /// `path` (under the API root) with the client's `query`; the legacy face puts its dated
    /// `api-version` first.
    fn url(self, gw: &Gateway, path: &str, query: &str) -> String {
        let (prefix, version) = match self {
            Face::OpenAi => ("/v1/", None),
            Face::AzureV1 => ("/openai/v1/", None),
            Face::AzureDated => ("/openai/", Some(CLIENT_VERSION)),
        };
        gw.url(&with_query(&format!("{prefix}{path}"), version, query))
    }

    fn request(
        self,
        gw: &Gateway,
        method: &str,
        path: &str,
        query: &str,
    ) -> reqwest::RequestBuilder {
        let req = client().request(method.parse().unwrap(), self.url(gw, path, query));
        match self {
            Face::OpenAi => req.bearer_auth(CLIENT_KEY),
            Face::AzureV1 | Face::AzureDated => req.header("api-key", CLIENT_KEY),
        }
    }
}

/// `path?api-version={version}&{query}`, leaving out what is empty.
fn with_query(path: &str, version: Option<&str>, query: &str) -> String {
    let params: Vec<String> = version
        .map(|v| format!("api-version={v}"))
        .into_iter()
        .chain((!query.is_empty()).then(|| query.to_owned()))
        .collect();
    if params.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", params.join("&"))
    }
}

/// Where mock-azure must see a call on `path` (under the API root) with the client's `query`,
/// from `face`, on an upstream of `kind`: `(path, query)`. Stored responses (`responses`)
/// use the v1 surface of an `azure` upstream unless the client chose a dated version.
fn upstream_target(
    kind: &str,
    face: Face,
    responses: bool,
    path: &str,
    query: &str,
) -> (String, Option<String>) {
    let dated = face == Face::AzureDated;
    let (root, version) = match kind {
        "azure" if dated => ("/openai/", Some(CLIENT_VERSION)),
        "azure" if responses => ("/openai/v1/", None),
        "azure" => ("/openai/", Some(UPSTREAM_VERSION)),
        "azure-v1" => ("/openai/v1/", None),
        _ => ("/v1/", None),
    };
    let full = with_query(&format!("{root}{path}"), version, query);
    match full.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (full, None),
    }
}

/// The one request `mock` received since it had `before`, checked against `want`: method,
/// path, query, the upstream's own credential, and never the client's key.
fn forwarded(
    mock: &MockServer,
    before: usize,
    kind: &str,
    method: &str,
    want: &(String, Option<String>),
) -> RecordedRequest {
    let log = mock.requests();
    assert_eq!(
        log.len(),
        before + 1,
        "{method} {want:?}: one upstream call"
    );
    let seen = log.last().unwrap().clone();
    let context = format!("{kind}: {method} {want:?}");
    assert_eq!(
        (seen.method.as_str(), &seen.path, &seen.query),
        (method, &want.0, &want.1),
        "{context}"
    );
    if kind == "openai" {
        let bearer = format!("Bearer {ENGINE_KEY}");
        assert_eq!(
            seen.header("authorization"),
            Some(bearer.as_str()),
            "{context}"
        );
        assert_eq!(seen.header("api-key"), None, "{context}");
    } else {
        assert_eq!(seen.header("api-key"), Some(UPSTREAM_KEY), "{context}");
        assert_eq!(seen.header("authorization"), None, "{context}");
    }
    for (name, value) in &seen.headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        assert!(
            !value.contains(CLIENT_KEY),
            "{context}: client key in {name}"
        );
    }
    assert!(
        !seen
            .query
            .as_deref()
            .unwrap_or_default()
            .contains(CLIENT_KEY),
        "{context}"
    );
    seen
}

// ---------------------------------------------------------------------------------------------
// Files, batches and fine-tuning on `resources.upstream`.

/// One upstream `res` of `kind` on `mock`, holding the resources.
fn resources_config(kind: &str, mock: &MockServer) -> Value {
    let mut upstream = json!({"name": "res", "baseUrl": mock.base_url(), "kind": kind});
    match kind {
        "azure" => upstream["apiVersion"] = json!(UPSTREAM_VERSION),
        "openai" => upstream["auth"] = json!({"mode": "apiKey", "apiKey": ENGINE_KEY}),
        _ => {}
    }
    json!({
        "server": {
            "host": "127.0.0.1",
            "port": 0,
            "adminAuth": {"enabled": true, "username": "admin", "password": ADMIN_PASSWORD},
            "upstream": {"firstByteTimeoutMs": 5000, "idleTimeoutMs": 5000, "requestTimeoutMs": 20000}
        },
        "auth": {"mode": "apiKey", "apiKey": UPSTREAM_KEY},
        "apiKeys": [{"id": "team-a", "key": CLIENT_KEY}],
        "upstreams": [upstream],
        "models": [{"id": "gpt-4o-mini", "upstream": "res", "targetModel": BATCH_DEPLOYMENT}],
        "resources": {"upstream": "res"}
    })
}

/// A mock that accepts only the credential an upstream of `kind` is configured with.
async fn resource_mock(kind: &str) -> MockServer {
    let key = if kind == "openai" {
        ENGINE_KEY
    } else {
        UPSTREAM_KEY
    };
    MockServer::start(MockConfig {
        key: Some(key.to_owned()),
        deployments: Some(vec![BATCH_DEPLOYMENT.to_owned()]),
        ..MockConfig::default()
    })
    .await
    .unwrap()
}

/// A batch input file of `n` chat lines, `task-0`…, each naming the mock's deployment; about
/// 8 KB a line, so three lines span two of the mock's 16 KiB content frames.
fn batch_input(n: usize) -> Vec<u8> {
    let mut out = String::new();
    for i in 0..n {
        let question = format!("question {i}: {}", "lorem ipsum ".repeat(680));
        let line = json!({
            "custom_id": format!("task-{i}"),
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": BATCH_DEPLOYMENT, "messages": [{"role": "user", "content": question}]}
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out.into_bytes()
}

/// A fine-tuning training file (chat format).
fn training_input() -> Vec<u8> {
    let line = json!({"messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": "Paris."}
    ]});
    format!("{line}\n{line}\n").into_bytes()
}

/// A `multipart/form-data` upload: `purpose`, then the file.
fn upload_form(purpose: &str, filename: &str, content: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n{purpose}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
         Content-Type: application/jsonl\r\n\r\n"
    )
    .into_bytes();
    out.extend_from_slice(content);
    out.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    out
}

/// One face of a gateway whose `resources.upstream` is of `kind`, on `mock`.
struct Resources<'a> {
    gw: &'a Gateway,
    mock: &'a MockServer,
    kind: &'static str,
    face: Face,
}

impl Resources<'_> {
    /// `method` on `path` with `query` and an optional `(body, content type)`; checks the one
    /// upstream call it made (the body byte for byte) and returns the status and answer bytes.
    async fn raw(
        &self,
        method: &str,
        path: &str,
        query: &str,
        body: Option<(Vec<u8>, String)>,
    ) -> (u16, Vec<u8>) {
        let before = self.mock.requests().len();
        let mut req = self.face.request(self.gw, method, path, query);
        if let Some((bytes, content_type)) = &body {
            req = req.header("content-type", content_type).body(bytes.clone());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        let (apim, request_id) = (header("apim-request-id"), header("x-request-id"));
        let answer = resp.bytes().await.unwrap().to_vec();
        let want = upstream_target(self.kind, self.face, false, path, query);
        let seen = forwarded(self.mock, before, self.kind, method, &want);
        // The upstream's headers come back (its `apim-request-id`), and the client can quote
        // the request id the upstream saw.
        assert!(apim.is_some(), "{method} {path}: no apim-request-id");
        assert_eq!(request_id.as_deref(), seen.header("x-request-id"));
        if let Some((bytes, content_type)) = &body {
            assert_eq!(seen.body.as_ref(), bytes.as_slice(), "{method} {path}");
            assert_eq!(seen.header("content-type"), Some(content_type.as_str()));
        }
        (status, answer)
    }

    /// [`Self::raw`] with a JSON body (if any) and a JSON answer.
    async fn json(
        &self,
        method: &str,
        path: &str,
        query: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let body = body.map(|b| (b.to_string().into_bytes(), "application/json".to_owned()));
        let (status, answer) = self.raw(method, path, query, body).await;
        let value = serde_json::from_slice(&answer).unwrap_or_else(|e| {
            panic!("{method} {path}: {e}: {}", String::from_utf8_lossy(&answer))
        });
        (status, value)
    }

    async fn get(&self, path: &str, query: &str) -> (u16, Value) {
        self.json("GET", path, query, None).await
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.json("POST", path, "", Some(body)).await
    }

    /// Uploads `content`; returns the file object.
    async fn upload(&self, purpose: &str, content: &[u8]) -> Value {
        let form = upload_form(purpose, "input.jsonl", content);
        let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
        let (status, answer) = self
            .raw("POST", "files", "", Some((form, content_type)))
            .await;
        let file: Value = serde_json::from_slice(&answer).unwrap();
        // Created objects: 201 on the dated API (what an `azure` upstream is asked on), 200
        // on v1 and the engine; the gateway passes either on.
        assert_eq!(status, self.created_status(), "{file}");
        assert!(file["id"].as_str().unwrap().starts_with("file-"), "{file}");
        assert_eq!(file["purpose"], purpose);
        assert_eq!(file["bytes"], content.len());
        file
    }

    fn created_status(&self) -> u16 {
        if self.kind == "azure" { 201 } else { 200 }
    }

    /// Upload → list → retrieve → content → batch to completion → output → another batch,
    /// cancelled → fine-tuning job through events and checkpoints → another job, cancelled →
    /// delete the file → it is gone (the upstream's 404).
    async fn lifecycle(&self) {
        let context = format!("{} on {:?}", self.kind, self.face);
        let input = batch_input(3);
        let batch_file = self.upload("batch", &input).await;
        let batch_file = batch_file["id"].as_str().unwrap().to_owned();
        let training = self.upload("fine-tune", &training_input()).await;
        let training = training["id"].as_str().unwrap().to_owned();

        // `purpose` and `limit` reach the upstream: the newest file of each purpose, alone.
        for (purpose, id) in [("batch", &batch_file), ("fine-tune", &training)] {
            let (status, list) = self
                .get("files", &format!("purpose={purpose}&limit=1"))
                .await;
            assert_eq!(status, 200, "{context}: {list}");
            assert_eq!(list["object"], "list");
            assert_eq!(
                list["data"].as_array().unwrap().len(),
                1,
                "{context}: {list}"
            );
            assert_eq!(list["data"][0]["id"], id.as_str(), "{context}: {list}");
        }
        let (status, file) = self.get(&format!("files/{batch_file}"), "").await;
        assert_eq!(status, 200, "{context}: {file}");
        assert_eq!(
            (file["id"].as_str(), file["bytes"].as_u64()),
            (Some(batch_file.as_str()), Some(input.len() as u64))
        );
        let (status, content) = self
            .raw("GET", &format!("files/{batch_file}/content"), "", None)
            .await;
        assert_eq!(status, 200, "{context}");
        assert_eq!(
            content, input,
            "{context}: the content is the upload, byte for byte"
        );

        // A batch runs to completion, one step per read.
        let create = json!({"input_file_id": batch_file, "endpoint": "/v1/chat/completions",
                            "completion_window": "24h", "metadata": {"run": context}});
        let (status, batch) = self.post("batches", &create).await;
        assert_eq!(status, 200, "{context}: {batch}");
        assert_eq!(batch["status"], "validating");
        assert_eq!(batch["input_file_id"], batch_file.as_str());
        let id = batch["id"].as_str().unwrap().to_owned();
        let mut statuses = Vec::new();
        let mut batch = Value::Null;
        while statuses.last().map(String::as_str) != Some("completed") && statuses.len() < 5 {
            let (status, read) = self.get(&format!("batches/{id}"), "").await;
            assert_eq!(status, 200, "{context}: {read}");
            statuses.push(read["status"].as_str().unwrap().to_owned());
            batch = read;
        }
        assert_eq!(
            statuses,
            ["in_progress", "finalizing", "completed"],
            "{context}"
        );
        assert_eq!(
            batch["request_counts"],
            json!({"total": 3, "completed": 3, "failed": 0})
        );
        let output = batch["output_file_id"].as_str().unwrap();
        let (status, text) = self
            .raw("GET", &format!("files/{output}/content"), "", None)
            .await;
        assert_eq!(status, 200, "{context}");
        let lines: Vec<Value> = String::from_utf8(text)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3, "{context}: one output line per input line");
        for (i, line) in lines.iter().enumerate() {
            assert_eq!(line["custom_id"], format!("task-{i}"), "{context}");
            assert_eq!(line["response"]["status_code"], 200, "{context}: {line}");
            assert_eq!(line["response"]["body"]["object"], "chat.completion");
        }

        // Another batch, cancelled: cancelling, then cancelled on the next read.
        let (status, second) = self.post("batches", &create).await;
        assert_eq!(status, 200, "{context}: {second}");
        let second = second["id"].as_str().unwrap().to_owned();
        let (status, listed) = self.get("batches", "limit=1").await;
        assert_eq!(status, 200, "{context}: {listed}");
        assert_eq!(
            listed["data"].as_array().unwrap().len(),
            1,
            "{context}: {listed}"
        );
        assert_eq!(listed["data"][0]["id"], second.as_str());
        let (status, cancelled) = self
            .json(
                "POST",
                &format!("batches/{second}/cancel"),
                "",
                Some(&json!({})),
            )
            .await;
        assert_eq!(
            (status, &cancelled["status"]),
            (200, &json!("cancelling")),
            "{context}: {cancelled}"
        );
        let (_, read) = self.get(&format!("batches/{second}"), "").await;
        assert_eq!(read["status"], "cancelled", "{context}: {read}");

        // A fine-tuning job: created, listed, run to success, its events and checkpoints.
        let create = json!({"model": "gpt-4o-mini", "training_file": training, "suffix": "e2e"});
        let (status, job) = self.post("fine_tuning/jobs", &create).await;
        assert_eq!(status, self.created_status(), "{context}: {job}");
        assert_eq!(
            (job["status"].as_str(), job["training_file"].as_str()),
            (Some("pending"), Some(training.as_str()))
        );
        let job = job["id"].as_str().unwrap().to_owned();
        let (status, jobs) = self.get("fine_tuning/jobs", "limit=1").await;
        assert_eq!(status, 200, "{context}: {jobs}");
        assert_eq!(
            jobs["data"].as_array().unwrap().len(),
            1,
            "{context}: {jobs}"
        );
        assert_eq!(jobs["data"][0]["id"], job.as_str());
        let mut read = Value::Null;
        for want in ["running", "succeeded"] {
            let (status, v) = self.get(&format!("fine_tuning/jobs/{job}"), "").await;
            assert_eq!(
                (status, v["status"].as_str()),
                (200, Some(want)),
                "{context}: {v}"
            );
            read = v;
        }
        let hex = job.trim_start_matches("ftjob-");
        assert_eq!(
            read["fine_tuned_model"],
            format!("gpt-4o-mini.ft-{hex}-e2e")
        );
        let (status, events) = self
            .get(&format!("fine_tuning/jobs/{job}/events"), "limit=10")
            .await;
        assert_eq!(status, 200, "{context}: {events}");
        let messages: Vec<&str> = events["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["message"].as_str().unwrap())
            .collect();
        assert_eq!(
            messages,
            [
                "Job enqueued. Waiting for jobs ahead to complete.",
                "Job started.",
                "Job succeeded."
            ],
            "{context}"
        );
        let (status, checkpoints) = self
            .get(&format!("fine_tuning/jobs/{job}/checkpoints"), "")
            .await;
        assert_eq!(status, 200, "{context}: {checkpoints}");
        let steps: Vec<u64> = checkpoints["data"]
            .as_array()
            .unwrap()
            .iter()
            .inspect(|c| assert_eq!(c["fine_tuning_job_id"], job.as_str()))
            .map(|c| c["step_number"].as_u64().unwrap())
            .collect();
        assert_eq!(steps, [10, 20, 30], "{context}");

        // Another job, cancelled while pending.
        let (_, other) = self.post("fine_tuning/jobs", &create).await;
        let other = other["id"].as_str().unwrap().to_owned();
        let (status, cancelled) = self
            .json(
                "POST",
                &format!("fine_tuning/jobs/{other}/cancel"),
                "",
                Some(&json!({})),
            )
            .await;
        assert_eq!(
            (status, &cancelled["status"]),
            (200, &json!("cancelled")),
            "{context}: {cancelled}"
        );

        // Deleted, the file is gone: the upstream's own 404 reaches the client unchanged.
        let (status, deleted) = self
            .json("DELETE", &format!("files/{batch_file}"), "", None)
            .await;
        assert_eq!(status, 200, "{context}: {deleted}");
        assert_eq!(
            deleted,
            json!({"id": batch_file, "object": "file", "deleted": true})
        );
        let gone = json!({"error": {
            "message": format!("File with id '{batch_file}' not found."),
            "type": "invalid_request_error", "param": null, "code": null
        }});
        for path in [
            format!("files/{batch_file}"),
            format!("files/{batch_file}/content"),
        ] {
            let (status, body) = self.get(&path, "").await;
            assert_eq!((status, &body), (404, &gone), "{context}: {path}");
        }
    }
}

/// Every face, in turn, against one gateway and one mock of `kind`: the objects of earlier
/// faces stay on the resource, so each list also proves its filters reached it.
async fn every_face_on(kind: &'static str) {
    let mock = resource_mock(kind).await;
    let gw = Gateway::start(&resources_config(kind, &mock)).await;
    for face in FACES {
        Resources {
            gw: &gw,
            mock: &mock,
            kind,
            face,
        }
        .lifecycle()
        .await;
    }
    // Each call counts once under its family, and never with tokens: the batch output file
    // (full of `usage`) is content, not this request's generation.
    let upstream_calls = |family: &str| {
        let family = format!("/{family}");
        mock.requests()
            .iter()
            .filter(|r| r.path.contains(&family))
            .count()
    };
    let want: Vec<(&str, usize)> = ["files", "batches", "fine_tuning"]
        .into_iter()
        .map(|f| (f, upstream_calls(f)))
        .collect();
    let stats = stats_until(&gw, |s| {
        want.iter()
            .all(|(f, n)| s["perModel"][format!("({f})")]["requests"] == *n)
    })
    .await;
    for (family, n) in want {
        let bucket = &stats["perModel"][format!("({family})")];
        assert_eq!(bucket["requests"], n, "{kind} {family}: {stats}");
        assert_eq!(bucket["totalTokens"], 0, "{kind} {family}: {stats}");
    }
}

#[tokio::test]
async fn files_batches_and_fine_tuning_on_an_azure_legacy_upstream() {
    every_face_on("azure").await;
}

#[tokio::test]
async fn files_batches_and_fine_tuning_on_an_azure_v1_upstream() {
    every_face_on("azure-v1").await;
}

#[tokio::test]
async fn files_batches_and_fine_tuning_on_an_openai_engine_upstream() {
    every_face_on("openai").await;
}

// ---------------------------------------------------------------------------------------------
// Stored responses on two resources.

/// Two Azure resources, `a` (kind `azure`) and `b` (kind `azure-v1`), in that order, each
/// with its own deployment; models `ma` on a, `mb` on b, `mp` a pool over both.
struct TwoResources {
    a: MockServer,
    b: MockServer,
}

impl TwoResources {
    async fn start() -> Self {
        let mock = |deployment: &str| {
            MockServer::start(MockConfig {
                key: Some(UPSTREAM_KEY.to_owned()),
                deployments: Some(vec![deployment.to_owned()]),
                ..MockConfig::default()
            })
        };
        Self {
            a: mock("dep-a").await.unwrap(),
            b: mock("dep-b").await.unwrap(),
        }
    }

    fn config(&self) -> Value {
        json!({
            "server": {
                "host": "127.0.0.1", "port": 0,
                "adminAuth": {"enabled": true, "username": "admin", "password": ADMIN_PASSWORD},
                "upstream": {"firstByteTimeoutMs": 5000, "idleTimeoutMs": 5000, "requestTimeoutMs": 20000}
            },
            "auth": {"mode": "apiKey", "apiKey": UPSTREAM_KEY},
            "apiKeys": [{"id": "team-a", "key": CLIENT_KEY}],
            "upstreams": [
                {"name": "a", "baseUrl": self.a.base_url(), "kind": "azure",
                 "apiVersion": UPSTREAM_VERSION},
                {"name": "b", "baseUrl": self.b.base_url(), "kind": "azure-v1"}
            ],
            "models": [
                {"id": "ma", "upstream": "a", "targetModel": "dep-a"},
                {"id": "mb", "upstream": "b", "targetModel": "dep-b"},
                {"id": "mp", "deployments": [
                    {"upstream": "a", "targetModel": "dep-a"},
                    {"upstream": "b", "targetModel": "dep-b"}
                ]}
            ]
        })
    }

    /// `(owner mock, its kind, the other mock)` for model `ma` or `mb`.
    fn owner(&self, model: &str) -> (&MockServer, &'static str, &MockServer) {
        match model {
            "ma" => (&self.a, "azure", &self.b),
            _ => (&self.b, "azure-v1", &self.a),
        }
    }

    fn counts(&self) -> (usize, usize) {
        (self.a.requests().len(), self.b.requests().len())
    }
}

/// `POST responses` through `face` with `body`; the new response's id and the answer (for a
/// stream, the `response.completed` event's response).
async fn create_response(gw: &Gateway, face: Face, body: &Value) -> (String, Value) {
    let resp = face
        .request(gw, "POST", "responses", "")
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    if body["stream"] == true {
        assert_eq!(status, 200);
        let events: Vec<Value> = sse_events(resp)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|(_, data)| serde_json::from_str(&data).ok())
            .collect();
        assert_eq!(events[0]["type"], "response.created", "{events:?}");
        let done = events.iter().find(|e| e["type"] == "response.completed");
        let done = done.unwrap_or_else(|| panic!("no response.completed in {events:?}"));
        let id = events[0]["response"]["id"].as_str().unwrap().to_owned();
        return (id, done["response"].clone());
    }
    let value: Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "{face:?} {body}: {value}");
    (value["id"].as_str().unwrap().to_owned(), value)
}

/// `method` on `responses/{rest}` through `face`.
async fn object_call(
    gw: &Gateway,
    face: Face,
    method: &str,
    rest: &str,
    query: &str,
) -> (u16, Value) {
    let resp = face
        .request(gw, method, &format!("responses/{rest}"), query)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

/// [`object_call`] that must reach only `owner` (of `kind`), on its own path.
async fn owned_call(
    res: &TwoResources,
    gw: &Gateway,
    face: Face,
    model: &str,
    method: &str,
    rest: &str,
    query: &str,
) -> (u16, Value) {
    let (owner, kind, other) = res.owner(model);
    let (before, before_other) = (owner.requests().len(), other.requests().len());
    let answer = object_call(gw, face, method, rest, query).await;
    let want = upstream_target(kind, face, true, &format!("responses/{rest}"), query);
    forwarded(owner, before, kind, method, &want);
    assert_eq!(
        other.requests().len(),
        before_other,
        "{face:?} {method} {rest}: the other resource is not asked"
    );
    answer
}

fn response_not_found(id: &str) -> Value {
    json!({"error": {
        "message": format!("Response with id '{id}' not found."),
        "type": "invalid_request_error", "param": null, "code": null
    }})
}

#[tokio::test]
async fn stored_responses_are_served_by_the_resource_that_created_them_on_every_face() {
    let res = TwoResources::start().await;
    let gw = Gateway::start(&res.config()).await;
    for face in FACES {
        for model in ["ma", "mb"] {
            let (owner, kind, other) = res.owner(model);
            let context = format!("{face:?} {model}");
            let input = format!("plain via {context}");
            let before = (owner.requests().len(), other.requests().len());
            let (plain, created) =
                create_response(&gw, face, &json!({"model": model, "input": input})).await;
            assert_eq!(created["status"], "completed", "{context}");
            // The create went to the model's resource, on its path for this face.
            let want = upstream_target(kind, face, true, "responses", "");
            let seen = forwarded(owner, before.0, kind, "POST", &want);
            assert_eq!(
                seen.json().unwrap()["model"],
                format!("dep-{}", &model[1..])
            );
            assert_eq!(other.requests().len(), before.1, "{context}");
            let (streamed, done) = create_response(
                &gw,
                face,
                &json!({"model": model, "input": "streamed", "stream": true}),
            )
            .await;
            assert_eq!(done["status"], "completed", "{context}");
            let (background, queued) = create_response(
                &gw,
                face,
                &json!({"model": model, "input": "background", "background": true}),
            )
            .await;
            assert_eq!(queued["status"], "queued", "{context}");

            let call = |method, rest: String, query| {
                let res = &res;
                let gw = &gw;
                async move { owned_call(res, gw, face, model, method, &rest, query).await }
            };
            for (id, status) in [
                (&plain, "completed"),
                (&streamed, "completed"),
                (&background, "in_progress"),
            ] {
                let (code, got) = call("GET", id.clone(), "").await;
                assert_eq!(
                    (code, got["id"].as_str(), got["status"].as_str()),
                    (200, Some(id.as_str()), Some(status)),
                    "{context}: {got}"
                );
            }
            let (code, items) =
                call("GET", format!("{plain}/input_items"), "limit=5&order=asc").await;
            assert_eq!(code, 200, "{context}: {items}");
            assert_eq!(
                items["data"][0]["content"][0]["text"],
                input.as_str(),
                "{context}: {items}"
            );
            // Only a background response can be cancelled: the mock's 400 passes through.
            let (code, refused) = call("POST", format!("{plain}/cancel"), "").await;
            assert_eq!(code, 400, "{context}: {refused}");
            assert!(
                refused["error"]["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("Only background responses can be cancelled"),
                "{context}: {refused}"
            );
            let (code, cancelled) = call("POST", format!("{background}/cancel"), "").await;
            assert_eq!(
                (code, cancelled["status"].as_str()),
                (200, Some("cancelled")),
                "{context}: {cancelled}"
            );
            let (_, read) = call("GET", background.clone(), "").await;
            assert_eq!(read["status"], "cancelled", "{context}");

            let (code, deleted) = call("DELETE", plain.clone(), "").await;
            assert_eq!(code, 200, "{context}: {deleted}");
            assert_eq!(
                deleted,
                json!({"id": plain, "object": "response", "deleted": true})
            );
            // Deleted, the id is forgotten: both resources are asked, in config order, and
            // the last one's 404 reaches the client.
            let (a0, b0) = res.counts();
            let (code, gone) = object_call(&gw, face, "GET", &plain, "").await;
            assert_eq!(
                (code, &gone),
                (404, &response_not_found(&plain)),
                "{context}"
            );
            assert_eq!(res.counts(), (a0 + 1, b0 + 1), "{context}");
            let (a_seen, b_seen) = (res.a.requests(), res.b.requests());
            let want_a = upstream_target("azure", face, true, &format!("responses/{plain}"), "");
            let want_b = upstream_target("azure-v1", face, true, &format!("responses/{plain}"), "");
            assert_eq!(
                (&a_seen.last().unwrap().path, &a_seen.last().unwrap().query),
                (&want_a.0, &want_a.1)
            );
            assert_eq!(
                (&b_seen.last().unwrap().path, &b_seen.last().unwrap().query),
                (&want_b.0, &want_b.1)
            );
        }
    }
}

#[tokio::test]
async fn a_restarted_gateway_finds_stored_responses_by_probing_in_config_order() {
    let res = TwoResources::start().await;
    let config = res.config();
    let first = Gateway::start(&config).await;
    let body = |model: &str| json!({"model": model, "input": format!("kept on {model}")});
    let (on_a, _) = create_response(&first, Face::OpenAi, &body("ma")).await;
    let (on_b, _) = create_response(&first, Face::OpenAi, &body("mb")).await;
    drop(first);

    let second = Gateway::start(&config).await;
    // Unknown to the new process: a (first in config order) says 404, b has it. On the
    // legacy face the probe of the `azure` upstream uses the client's dated version.
    let (a0, b0) = res.counts();
    let (code, got) = object_call(&second, Face::AzureDated, "GET", &on_b, "").await;
    assert_eq!(
        (code, got["id"].as_str()),
        (200, Some(on_b.as_str())),
        "{got}"
    );
    assert_eq!(res.counts(), (a0 + 1, b0 + 1));
    let a_seen = res.a.requests().last().unwrap().clone();
    assert_eq!(
        (a_seen.path.as_str(), a_seen.query.as_deref()),
        (
            format!("/openai/responses/{on_b}").as_str(),
            Some(format!("api-version={CLIENT_VERSION}").as_str())
        )
    );
    let b_seen = res.b.requests().last().unwrap().clone();
    assert_eq!(
        (b_seen.path.as_str(), b_seen.query.as_deref()),
        (format!("/openai/v1/responses/{on_b}").as_str(), None)
    );
    // Found once, remembered: straight to b from now on.
    let (code, items) = owned_call(
        &res,
        &second,
        Face::OpenAi,
        "mb",
        "GET",
        &format!("{on_b}/input_items"),
        "",
    )
    .await;
    assert_eq!(code, 200, "{items}");
    assert_eq!(items["data"][0]["content"][0]["text"], "kept on mb");
    // a's own response is found on the first try.
    let (code, got) = owned_call(&res, &second, Face::AzureV1, "ma", "GET", &on_a, "").await;
    assert_eq!(
        (code, got["id"].as_str()),
        (200, Some(on_a.as_str())),
        "{got}"
    );
}

#[tokio::test]
async fn continuations_through_a_pool_land_on_the_resource_that_stored_the_previous_response() {
    let res = TwoResources::start().await;
    let gw = Gateway::start(&res.config()).await;
    let posts = |mock: &MockServer| {
        mock.requests()
            .iter()
            .filter(|r| r.method == "POST")
            .count()
    };
    // Without a previous response the pool uses both resources…
    let (a0, b0) = (posts(&res.a), posts(&res.b));
    for _ in 0..4 {
        create_response(&gw, Face::OpenAi, &json!({"model": "mp", "input": "fresh"})).await;
    }
    assert!(
        posts(&res.a) > a0 && posts(&res.b) > b0,
        "the pool spreads: {:?}",
        (posts(&res.a) - a0, posts(&res.b) - b0)
    );
    // …with one, each continuation goes to the resource that stored it (the other one would
    // answer 400 previous_response_not_found), and so does the continuation of a continuation
    // created through the pool.
    for face in FACES {
        for model in ["ma", "mb"] {
            let (owner, kind, other) = res.owner(model);
            let context = format!("{face:?} {model}");
            let (mut previous, _) =
                create_response(&gw, face, &json!({"model": model, "input": "start"})).await;
            let (mine, theirs) = (owner.requests().len(), other.requests().len());
            for turn in 0..4 {
                // Every other turn streamed: its id is learnt from the SSE too.
                let body = json!({"model": "mp", "input": format!("turn {turn}"),
                                  "previous_response_id": previous, "stream": turn % 2 == 1});
                let (id, created) = create_response(&gw, face, &body).await;
                assert_eq!(
                    created["previous_response_id"],
                    previous.as_str(),
                    "{context}: {created}"
                );
                let want = upstream_target(kind, face, true, "responses", "");
                let seen = forwarded(owner, mine + turn, kind, "POST", &want);
                assert_eq!(
                    seen.json().unwrap()["previous_response_id"],
                    previous.as_str()
                );
                assert_eq!(
                    seen.json().unwrap()["model"],
                    format!("dep-{}", &model[1..])
                );
                previous = id;
            }
            assert_eq!(
                other.requests().len(),
                theirs,
                "{context}: nothing on the other resource"
            );
        }
    }
}
