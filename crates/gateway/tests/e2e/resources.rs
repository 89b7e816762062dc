//! Files, batches and fine-tuning on every face, forwarded to `resources.upstream`, against a
//! recording upstream: paths, queries, credentials, streamed uploads and downloads, limits.

use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::common::*;
use crate::recorder::{Recorder, Seen, hex_sha256, json};

const CLIENT_VERSION: &str = "2025-04-01-preview";

/// One upstream `res` of `kind` at `base_url`, holding the resources (unless `resources` is
/// false), and `server` merged into the defaults.
fn resource_config(kind: &str, base_url: &str, resources: bool, server: Value) -> Value {
    let mut upstream = json!({"name": "res", "baseUrl": base_url, "kind": kind});
    match kind {
        "azure" => upstream["apiVersion"] = json!("2024-10-21"),
        "openai" => upstream["auth"] = json!({"mode": "apiKey", "apiKey": "engine-key"}),
        _ => {}
    }
    let mut cfg = json!({
        "server": {
            "host": "127.0.0.1",
            "port": 0,
            "adminAuth": {"enabled": true, "username": "admin", "password": ADMIN_PASSWORD},
            "upstream": {"firstByteTimeoutMs": 5000, "idleTimeoutMs": 5000, "requestTimeoutMs": 20000}
        },
        "auth": {"mode": "apiKey", "apiKey": UPSTREAM_KEY},
        "apiKeys": [{"id": "team-a", "key": CLIENT_KEY}],
        "upstreams": [upstream],
        "models": [{"id": "gpt-4o-mini", "upstream": "res"}]
    });
    if resources {
        cfg["resources"] = json!({"upstream": "res"});
    }
    if let (Some(base), Some(extra)) = (cfg["server"].as_object_mut(), server.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    cfg
}

/// Echoes what the upstream saw.
fn echo(seen: &Seen) -> Response {
    json(
        200,
        json!({"method": seen.method, "uri": seen.uri, "len": seen.len}),
    )
}

/// A multipart body with one file part of `size` bytes, and its content type.
fn multipart(size: usize) -> (Vec<u8>, String) {
    let boundary = "----gw-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"in.jsonl\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    // Bytes that do not repeat, so a dropped or reordered chunk changes the hash.
    let mut x: u32 = 0x1234_5678;
    body.extend((0..size).map(|_| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as u8
    }));
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (body, format!("multipart/form-data; boundary={boundary}"))
}

/// The client key in the header each face's clients use.
fn keyed(req: reqwest::RequestBuilder, face: &str) -> reqwest::RequestBuilder {
    if face == "/v1/" {
        req.bearer_auth(CLIENT_KEY)
    } else {
        req.header("api-key", CLIENT_KEY)
    }
}

/// `(method, path under the face, client query, JSON body)`.
const ROUTES: &[(&str, &str, &str, Option<&str>)] = &[
    ("GET", "files", "purpose=batch&limit=2", None),
    ("GET", "files/file-abc", "", None),
    ("DELETE", "files/file-abc", "", None),
    ("GET", "files/file-abc/content", "", None),
    (
        "POST",
        "batches",
        "",
        Some(
            r#"{"input_file_id":"file-abc","endpoint":"/chat/completions","completion_window":"24h"}"#,
        ),
    ),
    ("GET", "batches", "limit=1&after=batch_0", None),
    ("GET", "batches/batch_1", "", None),
    ("POST", "batches/batch_1/cancel", "", Some("")),
    (
        "POST",
        "fine_tuning/jobs",
        "",
        Some(r#"{"model":"gpt-4o-mini","training_file":"file-abc"}"#),
    ),
    ("GET", "fine_tuning/jobs", "limit=3", None),
    ("GET", "fine_tuning/jobs/ftjob-1", "", None),
    ("POST", "fine_tuning/jobs/ftjob-1/cancel", "", Some("")),
    ("GET", "fine_tuning/jobs/ftjob-1/events", "limit=2", None),
    ("GET", "fine_tuning/jobs/ftjob-1/checkpoints", "", None),
];

/// What the upstream must receive for `path` (+ `query`) from `face` on an upstream of `kind`.
fn expected(kind: &str, face: &str, path: &str, query: &str) -> String {
    let (base, version) = match kind {
        "azure" if face == "/openai/" => ("/openai/", Some(CLIENT_VERSION)),
        "azure" => ("/openai/", Some("2024-10-21")),
        "azure-v1" => ("/apim/openai/v1/", None),
        _ => ("/v1/", None),
    };
    let mut params: Vec<String> = version
        .map(|v| format!("api-version={v}"))
        .into_iter()
        .collect();
    if !query.is_empty() {
        params.push(query.to_owned());
    }
    if params.is_empty() {
        format!("{base}{path}")
    } else {
        format!("{base}{path}?{}", params.join("&"))
    }
}

fn assert_credential(kind: &str, seen: &Seen) {
    let context = format!("{kind}: {} {}", seen.method, seen.uri);
    if kind == "openai" {
        assert_eq!(
            seen.header("authorization"),
            Some("Bearer engine-key"),
            "{context}"
        );
        assert_eq!(seen.header("api-key"), None, "{context}");
    } else {
        assert_eq!(seen.header("api-key"), Some(UPSTREAM_KEY), "{context}");
        assert_eq!(seen.header("authorization"), None, "{context}");
    }
    assert!(seen.header("x-request-id").is_some(), "{context}");
}

#[tokio::test]
async fn every_route_on_every_face_reaches_the_resource_upstream() {
    for kind in ["azure", "azure-v1", "openai"] {
        let upstream = Recorder::start(echo).await;
        // azure-v1 behind a path prefix (APIM style): the prefix is kept.
        let base = match kind {
            "azure-v1" => format!("{}/apim", upstream.url),
            _ => upstream.url.clone(),
        };
        let gw = Gateway::start(&resource_config(kind, &base, true, json!({}))).await;
        for face in ["/v1/", "/openai/v1/", "/openai/"] {
            for (method, path, query, body) in ROUTES {
                // Each face's own api-version habits: required and dated on the legacy face,
                // optional `v1` on the v1 face; never passed on as is.
                let client_query = match face {
                    "/openai/" => format!("api-version={CLIENT_VERSION}&{query}"),
                    "/openai/v1/" => format!("{query}&api-version=v1"),
                    _ => (*query).to_owned(),
                };
                let client_query = client_query.trim_matches('&');
                let url = gw.url(&format!("{face}{path}?{client_query}"));
                let mut req = keyed(client().request(method.parse().unwrap(), url), face);
                if let Some(body) = body {
                    req = req
                        .header("content-type", "application/json")
                        .body(body.to_string());
                }
                let resp = req.send().await.unwrap();
                let context = format!("{kind} {method} {face}{path}");
                assert_eq!(
                    resp.status(),
                    200,
                    "{context}: {}",
                    resp.text().await.unwrap()
                );
                let seen = upstream.last();
                assert_eq!(seen.method, *method, "{context}");
                assert_eq!(seen.uri, expected(kind, face, path, query), "{context}");
                assert_credential(kind, &seen);
                if let Some(body) = body {
                    assert_eq!(seen.body, body.as_bytes(), "{context}");
                    assert_eq!(seen.header("content-type"), Some("application/json"));
                } else {
                    assert_eq!(seen.len, 0, "{context}");
                    assert_eq!(seen.header("content-type"), None, "{context}");
                }
            }
            // The upload, with its multipart type and boundary.
            let (body, content_type) = multipart(1000);
            let url = gw.url(&format!("{face}files?api-version={CLIENT_VERSION}"));
            let resp = keyed(client().post(url), face)
                .header("content-type", &content_type)
                .body(body.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200, "{kind} {face}files");
            let seen = upstream.last();
            assert_eq!(seen.uri, expected(kind, face, "files", ""));
            assert_eq!(seen.header("content-type"), Some(content_type.as_str()));
            assert_eq!(seen.body, body);
            assert_credential(kind, &seen);
        }
        assert_eq!(upstream.count(), 3 * (ROUTES.len() + 1), "{kind}");
    }
}

#[tokio::test]
async fn keys_come_first_then_the_legacy_api_version_then_the_path() {
    let upstream = Recorder::start(echo).await;
    let gw = Gateway::start(&resource_config("azure", &upstream.url, true, json!({}))).await;
    let azure_404 = json!({"error": {"code": "404", "message": "Resource not found"}});
    for (method, path) in [("GET", "/openai/files"), ("POST", "/openai/batches")] {
        let resp = client()
            .request(method.parse().unwrap(), gw.url(path))
            .header("api-key", CLIENT_KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404, "{path}");
        assert_eq!(resp.json::<Value>().await.unwrap(), azure_404);
        // Without a key, the key is what the client hears about, in Azure's shape.
        let resp = client()
            .request(method.parse().unwrap(), gw.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
        assert_eq!(resp.json::<Value>().await.unwrap()["error"]["code"], "401");
    }
    let resp = client()
        .get(gw.url("/v1/files"))
        .bearer_auth("sk-wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"]["code"],
        "invalid_api_key"
    );
    // A dot segment cannot climb out of `fine_tuning/` (sent raw: HTTP clients would fold it).
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = gw.base.trim_start_matches("http://").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let raw = format!(
        "GET /v1/fine_tuning/jobs/../../files HTTP/1.1\r\nhost: {addr}\r\n\
         authorization: Bearer {CLIENT_KEY}\r\nconnection: close\r\n\r\n"
    );
    tcp.write_all(raw.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("invalid_path"), "{answer}");
    assert_eq!(upstream.count(), 0, "{:?}", upstream.calls());
}

#[tokio::test]
async fn without_resources_the_routes_say_what_to_configure() {
    let upstream = Recorder::start(echo).await;
    let gw = Gateway::start(&resource_config("azure", &upstream.url, false, json!({}))).await;
    for path in [
        "/v1/files",
        "/openai/v1/batches",
        "/openai/fine_tuning/jobs?api-version=2024-10-21",
    ] {
        let resp = keyed(client().get(gw.url(path)), "/openai/")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 501, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_supported", "{path}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("resources.upstream"), "{message}");
    }
    let (body, content_type) = multipart(10);
    let resp = client()
        .post(gw.url("/v1/files"))
        .bearer_auth(CLIENT_KEY)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 501);
    assert_eq!(upstream.count(), 0);
}

#[tokio::test]
async fn uploads_stream_through_byte_for_byte_and_are_never_resent() {
    let upstream = Recorder::start(|seen: &Seen| {
        if seen.method == "POST" {
            json(
                200,
                json!({"id": "file-1", "bytes": seen.len, "sha256": seen.sha256}),
            )
        } else {
            json(503, json!({"error": {"message": "busy"}}))
        }
    })
    .await;
    let server = json!({"upstream": {
        "firstByteTimeoutMs": 5000, "idleTimeoutMs": 5000, "requestTimeoutMs": 20000,
        "maxRetries": 2, "retryBaseMs": 10, "retryMaxMs": 50
    }});
    let gw = Gateway::start(&resource_config("azure-v1", &upstream.url, true, server)).await;

    // 8 MiB with a Content-Length: it goes upstream with the same length, intact.
    let (body, content_type) = multipart(8 << 20);
    let digest = hex_sha256(&body);
    let resp = client()
        .post(gw.url("/v1/files"))
        .bearer_auth(CLIENT_KEY)
        .header("content-type", &content_type)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["bytes"], body.len());
    assert_eq!(answer["sha256"], digest);
    let seen = upstream.last();
    assert_eq!(
        seen.header("content-length"),
        Some(body.len().to_string().as_str())
    );
    assert_eq!(seen.header("content-type"), Some(content_type.as_str()));
    assert!(seen.complete);

    // Chunked, and held back halfway: the upstream has the first half before the client sends
    // the rest. A gateway that buffered the upload would never get there.
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, std::io::Error>(chunk), rx))
    });
    let before = upstream.progress();
    let request = client()
        .post(gw.url("/openai/v1/files"))
        .header("api-key", CLIENT_KEY)
        .header("content-type", &content_type)
        .body(reqwest::Body::wrap_stream(stream))
        .send();
    let request = tokio::spawn(request);
    let half = body.len() / 2;
    tx.send(body[..half].to_vec()).await.unwrap();
    let arrived = tokio::time::timeout(Duration::from_secs(10), async {
        while upstream.progress() < before + half as u64 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(arrived.is_ok(), "the first half never reached the upstream");
    tx.send(body[half..].to_vec()).await.unwrap();
    drop(tx);
    let resp = request.await.unwrap().unwrap();
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["sha256"], digest);
    assert_eq!(upstream.last().header("transfer-encoding"), Some("chunked"));

    // A 503 to an upload comes back as it is: the body cannot be replayed. A GET is retried.
    let uploads = upstream.count();
    let resp = client()
        .get(gw.url("/v1/files"))
        .bearer_auth(CLIENT_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(upstream.count(), uploads + 3, "{:?}", upstream.calls());
}

#[tokio::test]
async fn uploads_over_max_upload_bytes_are_413() {
    let upstream = Recorder::start(|seen: &Seen| json(200, json!({"bytes": seen.len}))).await;
    let server = json!({"maxUploadBytes": 65536, "bodyLimit": 1024});
    let gw = Gateway::start(&resource_config("openai", &upstream.url, true, server)).await;
    let post = |body: reqwest::Body| {
        client()
            .post(gw.url("/v1/files"))
            .bearer_auth(CLIENT_KEY)
            .header("content-type", "multipart/form-data; boundary=x")
            .body(body)
            .send()
    };
    // Exactly at the limit (and far above bodyLimit, which uploads do not use): accepted.
    let resp = post(vec![b'a'; 65536].into()).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["bytes"], 65536);
    assert_eq!(upstream.count(), 1);
    // Declared too large: refused before anything goes upstream.
    let resp = post(vec![b'a'; 65537].into()).await.unwrap();
    assert_eq!(resp.status(), 413);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "request_too_large");
    assert_eq!(upstream.count(), 1);
    // Chunked, no length: cut off at the limit; the upstream never gets a complete body.
    let chunks =
        futures_util::stream::iter((0..8).map(|_| Ok::<_, std::io::Error>(vec![b'a'; 16 * 1024])));
    let resp = post(reqwest::Body::wrap_stream(chunks)).await.unwrap();
    assert_eq!(resp.status(), 413);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"]["code"],
        "request_too_large"
    );
    assert!(upstream.seen().iter().skip(1).all(|s| !s.complete));
}

#[tokio::test]
async fn file_content_streams_back_intact_and_counts_no_tokens() {
    const SIZE: usize = 6 << 20;
    let content: Vec<u8> = (0..SIZE).map(|i| (i * 7 % 251) as u8).collect();
    let digest = hex_sha256(&content);
    let served = content.clone();
    let upstream = Recorder::start(move |seen: &Seen| {
        if seen.uri.split('?').next().unwrap().ends_with("/content") {
            let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
                served.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
            let body = Body::from_stream(futures_util::stream::iter(chunks));
            (
                [
                    ("content-type", "application/octet-stream"),
                    ("content-length", &SIZE.to_string()),
                    ("apim-request-id", "apim-1"),
                ],
                body,
            )
                .into_response()
        } else {
            // A batch object with usage: it is not this request's usage.
            json(
                200,
                json!({"id": "batch_1", "object": "batch",
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}),
            )
        }
    })
    .await;
    let gw = Gateway::start(&resource_config("azure", &upstream.url, true, json!({}))).await;
    let resp = client()
        .get(gw.url("/openai/files/file-out/content?api-version=2024-10-21"))
        .header("api-key", CLIENT_KEY)
        .header("x-request-id", "req-download-1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-length"], SIZE.to_string().as_str());
    assert_eq!(resp.headers()["apim-request-id"], "apim-1");
    assert_eq!(resp.headers()["x-request-id"], "req-download-1");
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(bytes.len(), SIZE);
    assert_eq!(hex_sha256(&bytes), digest);
    assert_eq!(
        upstream.last().header("x-request-id"),
        Some("req-download-1")
    );

    let resp = get(&gw, "/v1/batches/batch_1").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["usage"]["total_tokens"],
        15
    );
    let stats = stats_until(&gw, |s| {
        s["perModel"]["(files)"]["requests"] == 1 && s["perModel"]["(batches)"]["requests"] == 1
    })
    .await;
    assert_eq!(stats["perModel"]["(files)"]["requests"], 1, "{stats}");
    assert_eq!(stats["perModel"]["(batches)"]["requests"], 1, "{stats}");
    assert_eq!(stats["totals"]["errors"], 0, "{stats}");
    assert_eq!(stats["totals"]["totalTokens"], 0, "{stats}");
}
