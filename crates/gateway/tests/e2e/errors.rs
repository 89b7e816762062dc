//! Every error the gateway makes is OpenAI-shaped, with the right status; nothing panics.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::*;

async fn error_of(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "status {status}"
    );
    let body: Value = resp.json().await.unwrap();
    for field in ["message", "type", "param", "code"] {
        assert!(
            body["error"].get(field).is_some(),
            "missing error.{field} in {body}"
        );
    }
    (status, body)
}

#[tokio::test]
async fn bad_requests_get_openai_errors() {
    let mock = mock().await;
    let gw = Gateway::start_with_env(&config(&mock.base_url()), &[("BODY_LIMIT", "2048")]).await;
    let raw = |body: &'static str| post_raw(&gw, "/v1/chat/completions", body);
    let (s, b) = error_of(raw("{\"model\": \"gpt-4o-mini\", ").await).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (400, Some("invalid_json"))
    );
    let (s, b) = error_of(raw("{\"messages\": []}").await).await;
    assert_eq!((s, b["error"]["param"].as_str()), (400, Some("model")));
    let (s, b) = error_of(post(&gw, "/v1/chat/completions", &chat_body("gpt-9-ultra")).await).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (404, Some("model_not_found"))
    );
    let big = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x".repeat(4096)}]});
    let (s, b) = error_of(post(&gw, "/v1/chat/completions", &big).await).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (413, Some("request_too_large"))
    );
    // A chunked body without content-length is cut at the limit too.
    let stream =
        futures_util::stream::iter((0..8).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1024])));
    let resp = post_raw(
        &gw,
        "/v1/chat/completions",
        reqwest::Body::wrap_stream(stream),
    )
    .await;
    assert_eq!(error_of(resp).await.0, 413);
    let (s, b) = error_of(post_raw(&gw, "/v1/nope", "{}").await).await;
    assert_eq!((s, b["error"]["code"].as_str()), (404, Some("unknown_url")));
    let (s, _) = error_of(
        client()
            .get(gw.url("/v1/chat/completions"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 405);
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn garbage_never_crashes_the_gateway() {
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let samples: Vec<Vec<u8>> = (0..60)
        .map(|i| match i % 6 {
            0 => (0..(next() % 300)).map(|_| (next() % 256) as u8).collect(),
            1 => b"{\"model\":\"gpt-4o-mini\",\"stream\":\"yes\"}".to_vec(),
            2 => b"{\"model\":null}".to_vec(),
            3 => b"{\"model\":\"\\ud800\"}".to_vec(),
            4 => format!(
                "{{\"model\":\"{}\"}}",
                "\u{1F600}".repeat((next() % 50) as usize)
            )
            .into_bytes(),
            _ => b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[".to_vec(),
        })
        .collect();
    for body in samples {
        for path in ["/v1/chat/completions", "/v1/embeddings", "/v1/responses"] {
            let resp = post_raw(&gw, path, body.clone()).await;
            let status = resp.status().as_u16();
            assert!((400..500).contains(&status), "{path}: {status}");
            error_of(resp).await;
        }
    }
    let health = client().get(gw.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn unreachable_upstream_is_502() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cfg = config("http://127.0.0.1:1");
    cfg["upstreams"][0]["baseUrl"] = json!(format!("http://127.0.0.1:{port}"));
    let gw = Gateway::start(&cfg).await;
    let (s, b) = error_of(post(&gw, "/v1/chat/completions", &chat_body("gpt-4o-mini")).await).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (502, Some("upstream_unreachable"))
    );
    assert_eq!(b["error"]["type"], "upstream_error");
}

#[tokio::test]
async fn first_byte_timeout_is_504_and_not_resent() {
    let mock = mock().await;
    let mut cfg = config(&mock.base_url());
    cfg["server"]["upstream"]["firstByteTimeoutMs"] = json!(300);
    cfg["server"]["upstream"]["maxRetries"] = json!(2);
    let gw = Gateway::start(&cfg).await;
    let started = Instant::now();
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &[("x-mock-header-delay-ms", "1500")],
        &chat_body("gpt-4o-mini"),
    )
    .await;
    let (s, b) = error_of(resp).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (504, Some("upstream_first_byte_timeout"))
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(280) && took < Duration::from_millis(1400),
        "{took:?}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        mock.requests().len(),
        1,
        "a request whose headers timed out must not be re-sent"
    );
}

#[tokio::test]
async fn connect_timeout_covers_the_tls_handshake() {
    // A TCP listener that accepts but never answers the TLS ClientHello.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = silent.accept().await {
            held.push(sock);
        }
    });
    let mut cfg = config("http://127.0.0.1:1");
    cfg["upstreams"][0]["baseUrl"] = json!(format!("https://127.0.0.1:{port}"));
    cfg["server"]["upstream"]["connectTimeoutMs"] = json!(300);
    let gw = Gateway::start(&cfg).await;
    let started = Instant::now();
    let (s, b) = error_of(post(&gw, "/v1/chat/completions", &chat_body("gpt-4o-mini")).await).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (504, Some("upstream_connect_timeout"))
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    hold.abort();
}

#[tokio::test]
async fn retries_honour_statuses_and_give_the_last_answer() {
    let mock = mock().await;
    let mut cfg = config(&mock.base_url());
    cfg["server"]["upstream"]["maxRetries"] = json!(2);
    cfg["server"]["upstream"]["retryBaseMs"] = json!(10);
    cfg["server"]["upstream"]["retryMaxMs"] = json!(1000);
    let gw = Gateway::start(&cfg).await;
    let started = Instant::now();
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &[
            ("x-mock-status", "429"),
            ("x-mock-retry-after-ms", "150"),
            ("x-mock-retry-after", "1"),
        ],
        &chat_body("gpt-4o-mini"),
    )
    .await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after-ms"], "150");
    assert_eq!(mock.requests().len(), 3);
    // Two waits of the 150 ms the upstream asked for.
    assert!(
        started.elapsed() >= Duration::from_millis(290),
        "{:?}",
        started.elapsed()
    );
    // A pause longer than retryMaxMs is not waited out: one attempt only.
    mock.clear();
    let resp = post_with(
        &gw,
        "/v1/chat/completions",
        &[("x-mock-status", "429"), ("x-mock-retry-after", "30")],
        &chat_body("gpt-4o-mini"),
    )
    .await;
    assert_eq!(resp.status(), 429);
    assert_eq!(mock.requests().len(), 1);
}

#[tokio::test]
async fn sequential_latency_shows_no_nagle_stall() {
    // Without TCP_NODELAY on both sides, small exchanges stall ~40 ms on delayed ACKs.
    let mock = mock().await;
    let gw = Gateway::start(&config(&mock.base_url())).await;
    let c = client();
    let mut times = Vec::new();
    for _ in 0..40 {
        let t = Instant::now();
        let resp = c
            .post(gw.url("/v1/chat/completions"))
            .bearer_auth(CLIENT_KEY)
            .json(&chat_body("gpt-4o-mini"))
            .send()
            .await
            .unwrap();
        resp.bytes().await.unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    let median = times[times.len() / 2];
    assert!(median < Duration::from_millis(20), "median {median:?}");
}

#[tokio::test]
async fn upstream_connections_are_pooled_and_reused() {
    let mock = mock().await;
    let mut cfg = config(&mock.base_url());
    cfg["server"]["workers"] = json!(2);
    let gw = Gateway::start(&cfg).await;
    for _ in 0..20 {
        let resp = post(&gw, "/v1/chat/completions", &chat_body("gpt-4o-mini")).await;
        assert_eq!(resp.status(), 200);
        resp.bytes().await.unwrap();
    }
    // Each worker thread keeps its own upstream connections: at most one each here.
    let peers: std::collections::HashSet<_> =
        mock.requests().iter().map(|r| r.peer.unwrap()).collect();
    assert!(
        (1..=2).contains(&peers.len()),
        "sequential calls should reuse one keep-alive connection per worker: {peers:?}"
    );
}

/// `server.workers` threads serve, each named; `GATEWAY_WORKERS` overrides the file.
#[tokio::test]
async fn worker_threads_follow_config_and_env() {
    let mock = mock().await;
    let worker_threads = |gw: &Gateway| {
        std::fs::read_dir(format!("/proc/{}/task", gw.pid))
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|name| name.starts_with("gw-worker-"))
            .count()
    };
    let mut cfg = config(&mock.base_url());
    cfg["server"]["workers"] = json!(3);
    let gw = Gateway::start(&cfg).await;
    assert_eq!(worker_threads(&gw), 3);
    // Fresh connections, whichever worker accepts each, are all served.
    for _ in 0..12 {
        let resp = post(&gw, "/v1/chat/completions", &chat_body("gpt-4o-mini")).await;
        assert_eq!(resp.status(), 200);
    }
    let gw = Gateway::start_with_env(&cfg, &[("GATEWAY_WORKERS", "1")]).await;
    assert_eq!(worker_threads(&gw), 1);
}
