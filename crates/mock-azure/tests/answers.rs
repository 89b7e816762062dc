//! Answer variations driven by `x-mock-*` headers and the request: refusals, the output
//! filter stopping an answer, asynchronous-filter annotations, re-cut frames and the
//! note on images the model saw.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{API, EventReader, data, post, send_json, server, split_events};
use futures_util::StreamExt;
use mock_azure::{Behavior, Outcome};
use serde_json::{Value, json};

const CHAT: &str = "/openai/deployments/d/chat/completions?api-version=2024-10-21";
const RESPONSES: &str = "/openai/v1/responses";
const REFUSAL: &str = "I'm sorry, I can't help with that.";
const TEXT: &str = "Hello from mock-azure — héllo 🌍.";

fn user() -> Value {
    json!([{"role": "user", "content": "hi"}])
}

async fn sse(request: reqwest::RequestBuilder) -> String {
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

fn chunks(text: &str) -> Vec<Value> {
    let events = split_events(text);
    assert_eq!(*events.last().unwrap(), "data: [DONE]");
    events[..events.len() - 1].iter().map(|e| data(e)).collect()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn chat_refusal_json_and_stream() {
    let mock = server().await;
    let request = post(&mock, CHAT, &json!({"messages": user()})).header("x-mock-refusal", "true");
    let (status, v) = send_json(request).await;
    assert_eq!(status, 200);
    let choice = &v["choices"][0];
    assert_eq!(choice["finish_reason"], "stop");
    assert_eq!(
        choice["message"],
        json!({"annotations": [], "content": null, "refusal": REFUSAL, "role": "assistant"})
    );

    let body = json!({"messages": user(), "stream": true});
    let text = sse(post(&mock, CHAT, &body).header("x-mock-refusal", "true")).await;
    let chunks = chunks(&text);
    assert_eq!(
        chunks[1]["choices"][0]["delta"],
        json!({"content": null, "refusal": "", "role": "assistant"})
    );
    let deltas = &chunks[2..chunks.len() - 1];
    let refusal: String = deltas
        .iter()
        .map(|c| {
            let delta = &c["choices"][0]["delta"];
            assert!(delta.get("content").is_none(), "{delta}");
            delta["refusal"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(refusal, REFUSAL);
    assert!(deltas.len() > 1);
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "stop"
    );
}

#[tokio::test]
async fn responses_refusal_json_and_stream() {
    let mock = server().await;
    mock.set_behavior(
        "refuser",
        Behavior {
            refusal: true,
            ..Behavior::default()
        },
    );
    let body = json!({"model": "refuser", "input": "hi"});
    let (_, v) = send_json(post(&mock, RESPONSES, &body)).await;
    assert_eq!(
        v["output"][0]["content"],
        json!([{"type": "refusal", "refusal": REFUSAL}])
    );
    let body = json!({"model": "refuser", "input": "hi", "stream": true});
    let text = sse(post(&mock, RESPONSES, &body)).await;
    let events: Vec<Value> = split_events(&text).iter().map(|e| data(e)).collect();
    let kinds = kinds(&events);
    let deltas = kinds
        .iter()
        .filter(|k| **k == "response.refusal.delta")
        .count();
    let mut expected = vec![
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ];
    expected.extend(vec!["response.refusal.delta"; deltas]);
    expected.extend([
        "response.refusal.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]);
    assert_eq!(kinds, expected);
    assert_eq!(events[3]["part"], json!({"type": "refusal", "refusal": ""}));
    let streamed: String = events[4..4 + deltas]
        .iter()
        .map(|e| {
            assert_eq!(
                (&e["output_index"], &e["content_index"]),
                (&json!(0), &json!(0))
            );
            e["delta"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(streamed, REFUSAL);
    assert_eq!(events[4 + deltas]["refusal"], REFUSAL);
    assert_eq!(
        events[5 + deltas]["part"],
        json!({"type": "refusal", "refusal": REFUSAL})
    );
}

#[tokio::test]
async fn chat_filter_finish() {
    let mock = server().await;
    let filtered = json!({"filtered": true, "severity": "medium"});
    let request =
        post(&mock, CHAT, &json!({"messages": user()})).header("x-mock-filter-finish", "true");
    let (status, v) = send_json(request).await;
    assert_eq!(status, 200);
    let choice = &v["choices"][0];
    assert_eq!(choice["finish_reason"], "content_filter");
    assert_eq!(choice["content_filter_results"]["violence"], filtered);
    assert_eq!(choice["content_filter_results"]["hate"]["filtered"], false);

    let body = json!({"messages": user(), "stream": true});
    let text = sse(post(&mock, CHAT, &body).header("x-mock-filter-finish", "true")).await;
    let all = chunks(&text);
    let finish = &all.last().unwrap()["choices"][0];
    assert_eq!(finish["finish_reason"], "content_filter");
    assert_eq!(finish["content_filter_results"]["violence"], filtered);

    // Legacy completions end the same way.
    let path = format!("/openai/deployments/d/completions?{API}");
    let request =
        post(&mock, &path, &json!({"prompt": "x"})).header("x-mock-filter-finish", "true");
    let (_, v) = send_json(request).await;
    assert_eq!(v["choices"][0]["finish_reason"], "content_filter");
}

#[tokio::test]
async fn responses_filter_finish_is_incomplete() {
    let mock = server().await;
    let body = json!({"model": "m", "input": "hi"});
    let request = post(&mock, RESPONSES, &body).header("x-mock-filter-finish", "true");
    let (_, v) = send_json(request).await;
    assert_eq!(v["status"], "incomplete");
    assert_eq!(v["incomplete_details"], json!({"reason": "content_filter"}));
    assert_eq!(v["output"][0]["status"], "incomplete");
    assert_eq!(v["usage"]["output_tokens"], 7);

    let body = json!({"model": "m", "input": "hi", "stream": true});
    let text = sse(post(&mock, RESPONSES, &body).header("x-mock-filter-finish", "true")).await;
    let events: Vec<Value> = split_events(&text).iter().map(|e| data(e)).collect();
    let last = events.last().unwrap();
    assert_eq!(last["type"], "response.incomplete");
    assert_eq!(last["response"]["status"], "incomplete");
    assert_eq!(
        last["response"]["incomplete_details"]["reason"],
        "content_filter"
    );
    assert!(!kinds(&events).contains(&"response.completed"));
    // Stored, it reads back the same.
    let id = last["response"]["id"].as_str().unwrap();
    let (_, stored) = send_json(common::get(&mock, &format!("/openai/v1/responses/{id}"))).await;
    assert_eq!(stored["status"], "incomplete");
}

#[tokio::test]
async fn async_filter_annotations() {
    let mock = server().await;
    let body = json!({"messages": user(), "stream": true,
                      "stream_options": {"include_usage": true}});
    let text = sse(post(&mock, CHAT, &body).header("x-mock-async-filter", "true")).await;
    let all = chunks(&text);
    let annotation = |c: &Value| c["object"] == "";
    let positions: Vec<usize> = all
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(_, c)| annotation(c))
        .map(|(i, _)| i)
        .collect();
    // prompt, role, d, d, A, d, d, A, d, finish, A, usage.
    assert_eq!(positions, [4, 7, 10]);
    assert_eq!(all[9]["choices"][0]["finish_reason"], "stop");
    assert_eq!(all[11]["choices"], json!([]));
    let mut expected_start = 0;
    for &at in &positions {
        let a = &all[at];
        assert_eq!(
            (&a["id"], &a["model"], &a["created"]),
            (&json!(""), &json!(""), &json!(0))
        );
        assert!(a["usage"].is_null() && a.get("usage").is_some());
        let choice = &a["choices"][0];
        assert!(choice.get("delta").is_none());
        assert!(choice["finish_reason"].is_null());
        assert_eq!(choice["index"], 0);
        assert_eq!(
            choice["content_filter_results"]["violence"]["severity"],
            "safe"
        );
        let offsets = &choice["content_filter_offsets"];
        assert_eq!(offsets["start_offset"], expected_start);
        assert_eq!(offsets["check_offset"], expected_start);
        expected_start = offsets["end_offset"].as_u64().unwrap();
    }
    assert_eq!(expected_start, TEXT.chars().count() as u64);
    // The content deltas are those of the plain stream.
    let content: String = all
        .iter()
        .filter(|c| c["object"] == "chat.completion.chunk")
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(content, TEXT);

    // With the filter finish, the late annotation says so too.
    let text = sse(
        post(&mock, CHAT, &json!({"messages": user(), "stream": true}))
            .header("x-mock-async-filter", "true")
            .header("x-mock-filter-finish", "true"),
    )
    .await;
    let all = chunks(&text);
    let late = &all.last().unwrap()["choices"][0];
    assert_eq!(late["finish_reason"], "content_filter");
    assert_eq!(late["content_filter_results"]["violence"]["filtered"], true);
}

/// The raw frames of a streamed answer, as they came off the wire.
async fn frames(request: reqwest::RequestBuilder) -> Vec<bytes::Bytes> {
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    let mut frames = Vec::new();
    while let Some(frame) = stream.next().await {
        frames.push(frame.unwrap());
    }
    frames
}

/// Strips the parts every answer makes unique (ids, timestamps).
fn normalize(text: &str) -> String {
    let mut out = String::new();
    for event in split_events(text) {
        let line = event.lines().last().unwrap_or_default();
        let mut v: Value = match line.strip_prefix("data: ") {
            Some(json) if json.starts_with('{') => serde_json::from_str(json).unwrap(),
            _ => {
                out.push_str(event);
                continue;
            }
        };
        for key in ["id", "created"] {
            if v.get(key).is_some_and(|id| id != "" && id != 0) {
                v[key] = json!("x");
            }
        }
        if let Some(response) = v.get_mut("response") {
            response["id"] = json!("x");
            response["created_at"] = json!(0);
            for item in response["output"].as_array_mut().into_iter().flatten() {
                item["id"] = json!("x");
            }
        }
        for key in ["item_id"] {
            if v.get(key).is_some() {
                v[key] = json!("x");
            }
        }
        if let Some(item) = v.get_mut("item") {
            item["id"] = json!("x");
        }
        out.push_str(&v.to_string());
    }
    out
}

#[tokio::test]
async fn split_frames_reassemble_to_the_same_stream() {
    let mock = server().await;
    let completions = format!("/openai/deployments/d/completions?{API}");
    let cases = [
        (CHAT, json!({"messages": user(), "stream": true})),
        (completions.as_str(), json!({"prompt": "x", "stream": true})),
        (
            RESPONSES,
            json!({"model": "m", "input": "hi", "stream": true}),
        ),
    ];
    for (path, body) in cases {
        let plain = frames(post(&mock, path, &body)).await;
        let unsplit = String::from_utf8(plain.concat()).unwrap();
        for size in [1, 7, 100] {
            let request = post(&mock, path, &body).header("x-mock-split", size.to_string());
            let split = frames(request).await;
            assert!(split.iter().all(|f| f.len() <= size), "{path}");
            assert!(split.len() > plain.len(), "{path}");
            // Frames cross event boundaries; single bytes split every multi-byte character.
            let crosses = |f: &bytes::Bytes| {
                let at = f.windows(2).position(|w| w == b"\n\n");
                at.is_some_and(|at| at + 2 < f.len())
            };
            assert_eq!(split.iter().any(crosses), size > 2, "{path} {size}");
            if size == 1 {
                assert!(split.iter().any(|f| std::str::from_utf8(f).is_err()));
            }
            let whole = String::from_utf8(split.concat()).unwrap();
            assert_eq!(whole.len(), unsplit.len(), "{path}");
            assert_eq!(normalize(&whole), normalize(&unsplit), "{path}");
        }
    }
}

#[tokio::test]
async fn split_frames_with_delay_and_cut() {
    let mock = server().await;
    let body = json!({"messages": user(), "stream": true});
    // Delays apply per frame: 3 events in frames of 64 bytes take several pauses.
    let request = post(&mock, CHAT, &body)
        .header("x-mock-split", "64")
        .header("x-mock-event-delay-ms", "20")
        .header("x-mock-events", "1");
    let started = std::time::Instant::now();
    let got = frames(request).await;
    assert!(got.len() > 5, "{}", got.len());
    assert!(started.elapsed() >= Duration::from_millis(20 * (got.len() as u64 - 1)));

    // The cut still counts events: the bytes of the first three, then the abort.
    let request = post(&mock, CHAT, &body)
        .header("x-mock-split", "5")
        .header("x-mock-cut-after", "3");
    let mut reader = EventReader::new(request.send().await.unwrap());
    let mut seen = 0;
    loop {
        match reader.next().await {
            Ok(Some(_)) => seen += 1,
            Ok(None) => panic!("clean end after {seen}"),
            Err(_) => break,
        }
    }
    assert_eq!(seen, 3);
    assert_eq!(
        mock.wait_for_outcome(1, common::TIMEOUT).await,
        Outcome::Cut
    );
}

#[tokio::test]
async fn images_are_noted_in_the_answer() {
    let mock = server().await;
    let image =
        json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}});
    let messages = json!([{"role": "user",
                           "content": [{"type": "text", "text": "What is this?"}, image]}]);
    let (_, v) = send_json(post(&mock, CHAT, &json!({"messages": messages}))).await;
    assert_eq!(
        v["choices"][0]["message"]["content"],
        format!(" [saw 1 image(s)]{TEXT}")
    );
    let body = json!({"messages": messages, "stream": true});
    let chunks = chunks(&sse(post(&mock, CHAT, &body)).await);
    assert_eq!(
        chunks[2]["choices"][0]["delta"]["content"],
        " [saw 1 image(s)]"
    );
    assert_eq!(chunks[3]["choices"][0]["delta"]["content"], "Hello");

    let input = json!([{"role": "user", "content": [
        {"type": "input_text", "text": "Compare"},
        {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="},
        {"type": "input_image", "image_url": "https://example.invalid/b.png"}]}]);
    let (_, v) = send_json(post(
        &mock,
        RESPONSES,
        &json!({"model": "m", "input": input}),
    ))
    .await;
    assert_eq!(
        v["output"][0]["content"][0]["text"],
        format!(" [saw 2 image(s)]{TEXT}")
    );
    // No images, no note.
    let (_, v) = send_json(post(&mock, CHAT, &json!({"messages": user()}))).await;
    assert_eq!(v["choices"][0]["message"]["content"], TEXT);
}
