//! SSE streams: Azure's event order, usage chunk, delays, cuts, cancellation.

mod common;

use std::time::Duration;

use common::{API, EventReader, TIMEOUT, data, post, send_json, server, split_events, stream_text};
use mock_azure::{Behavior, Outcome};
use serde_json::{Value, json};

const CHAT: &str = "/openai/deployments/d/chat/completions?api-version=2024-10-21";

#[tokio::test]
async fn chat_stream_in_azure_order_without_usage() {
    let mock = server().await;
    let text = stream_text(&mock, CHAT, json!({"stream": true})).await;
    let events = split_events(&text);
    assert_eq!(events.len(), 1 + 1 + 5 + 1 + 1);
    assert_eq!(*events.last().unwrap(), "data: [DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1].iter().map(|e| data(e)).collect();

    let first = &chunks[0];
    assert_eq!(first["choices"], json!([]));
    assert_eq!(
        (&first["id"], &first["object"], &first["model"]),
        (&json!(""), &json!(""), &json!(""))
    );
    assert_eq!(first["created"], 0);
    assert_eq!(
        first["prompt_filter_results"][0]["content_filter_results"]["jailbreak"]["detected"],
        false
    );

    let role = &chunks[1]["choices"][0];
    assert_eq!(
        role["delta"],
        json!({"role": "assistant", "content": "", "refusal": null})
    );
    assert_eq!(role["content_filter_results"], json!({}));

    let mut content = String::new();
    for chunk in &chunks[2..7] {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert!(chunk["id"].as_str().unwrap().starts_with("chatcmpl-"));
        assert_eq!(chunk["id"], chunks[1]["id"]);
        assert!(chunk.get("usage").is_none());
        let choice = &chunk["choices"][0];
        assert!(choice["finish_reason"].is_null());
        assert_eq!(choice["content_filter_results"]["hate"]["severity"], "safe");
        assert_eq!(
            choice["content_filter_results"]["self_harm"]["filtered"],
            false
        );
        content.push_str(choice["delta"]["content"].as_str().unwrap());
    }
    let finish = &chunks[7]["choices"][0];
    assert_eq!(finish["finish_reason"], "stop");
    assert_eq!(finish["delta"], json!({}));
    assert_eq!(finish["content_filter_results"], json!({}));

    // Same text as the JSON answer, multi-byte characters intact.
    let (_, v) = send_json(post(&mock, CHAT, &json!({}))).await;
    assert_eq!(
        content,
        v["choices"][0]["message"]["content"].as_str().unwrap()
    );
    assert!(content.contains("héllo 🌍"));
    assert_eq!(mock.wait_for_outcome(0, TIMEOUT).await, Outcome::Completed);
}

#[tokio::test]
async fn usage_chunk_only_with_include_usage() {
    let mock = server().await;
    let body = json!({"stream": true, "stream_options": {"include_usage": true}});
    let text = stream_text(&mock, CHAT, body).await;
    let events = split_events(&text);
    assert_eq!(events.len(), 10);
    assert_eq!(events[9], "data: [DONE]");
    let usage = data(events[8]);
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["prompt_tokens"], 11);
    assert_eq!(usage["usage"]["total_tokens"], 18);
    assert_eq!(
        usage["usage"]["completion_tokens_details"]["reasoning_tokens"],
        2
    );
    for event in &events[1..8] {
        let chunk = data(event);
        assert!(chunk["usage"].is_null() && chunk.get("usage").is_some());
    }
    let body = json!({"stream": true, "stream_options": {"include_usage": false}});
    assert_eq!(split_events(&stream_text(&mock, CHAT, body).await).len(), 9);
}

#[tokio::test]
async fn completions_stream() {
    let mock = server().await;
    let path = format!("/openai/deployments/d/completions?{API}");
    let body = json!({"stream": true, "stream_options": {"include_usage": true}});
    let request = post(&mock, &path, &body).header("x-mock-events", "7");
    let text = request.send().await.unwrap().text().await.unwrap();
    let events = split_events(&text);
    assert_eq!(events.len(), 1 + 7 + 1 + 1 + 1);
    assert_eq!(data(events[0])["choices"], json!([]));
    assert_eq!(data(events[1])["object"], "text_completion");
    assert_eq!(data(events[1])["choices"][0]["text"], "Hello");
    assert_eq!(data(events[8])["choices"][0]["finish_reason"], "stop");
    assert_eq!(data(events[9])["usage"]["total_tokens"], 18);
    assert_eq!(events[10], "data: [DONE]");
}

#[tokio::test]
async fn responses_stream_is_typed_and_has_no_done() {
    let mock = server().await;
    let text = stream_text(
        &mock,
        "/openai/v1/responses",
        json!({"model": "m", "stream": true}),
    )
    .await;
    let events = split_events(&text);
    let kinds: Vec<String> = events
        .iter()
        .enumerate()
        .map(|(n, e)| {
            let (head, _) = e.split_once('\n').unwrap();
            let kind = head.strip_prefix("event: ").unwrap();
            let v = data(e);
            assert_eq!(v["type"], kind);
            assert_eq!(v["sequence_number"], n);
            kind.to_owned()
        })
        .collect();
    let mut expected = vec![
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ];
    expected.extend(["response.output_text.delta"; 5]);
    expected.extend([
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]);
    assert_eq!(kinds, expected);
    let deltas: String = events[4..9]
        .iter()
        .map(|e| data(e)["delta"].as_str().unwrap().to_owned())
        .collect();
    let done = data(events[9]);
    assert_eq!(done["text"], deltas);
    let completed = data(events[12]);
    assert_eq!(completed["response"]["status"], "completed");
    assert_eq!(completed["response"]["usage"]["output_tokens"], 7);
    assert_eq!(
        completed["response"]["output"][0]["content"][0]["text"],
        deltas
    );
    assert!(!text.contains("[DONE]"));
}

#[tokio::test]
async fn event_delay_spaces_the_events() {
    let mock = server().await;
    let request = post(&mock, CHAT, &json!({"stream": true}))
        .header("x-mock-event-delay-ms", "100")
        .header("x-mock-events", "3");
    let mut reader = EventReader::new(request.send().await.unwrap());
    let mut times = Vec::new();
    while let Some((_, at)) = reader.next().await.unwrap() {
        times.push(at);
    }
    assert_eq!(times.len(), 1 + 1 + 3 + 1 + 1);
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(70) && gap <= Duration::from_millis(400),
            "{gap:?}"
        );
    }
}

#[tokio::test]
async fn cut_aborts_after_n_events() {
    let mock = server().await;
    mock.set_behavior(
        "d",
        Behavior {
            cut_after_events: Some(3),
            ..Behavior::default()
        },
    );
    let response = post(&mock, CHAT, &json!({"stream": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut reader = EventReader::new(response);
    let mut seen = Vec::new();
    let error = loop {
        match reader.next().await {
            Ok(Some((event, _))) => seen.push(event),
            Ok(None) => panic!("stream ended cleanly after {seen:?}"),
            Err(e) => break e,
        }
    };
    assert_eq!(seen.len(), 3, "{error}");
    assert!(!seen.iter().any(|e| e.contains("[DONE]")));
    assert_eq!(mock.wait_for_outcome(0, TIMEOUT).await, Outcome::Cut);

    // A header overrides it; zero cuts right after the headers.
    let request = post(&mock, CHAT, &json!({"stream": true})).header("x-mock-cut-after", "0");
    let mut reader = EventReader::new(request.send().await.unwrap());
    assert!(reader.next().await.is_err());
    assert_eq!(mock.wait_for_outcome(1, TIMEOUT).await, Outcome::Cut);
}

#[tokio::test]
async fn cut_on_a_json_answer_truncates_the_body() {
    let mock = server().await;
    let request = post(&mock, CHAT, &json!({})).header("x-mock-cut-after", "1");
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.is_err());
    assert_eq!(mock.wait_for_outcome(0, TIMEOUT).await, Outcome::Cut);
}

#[tokio::test]
async fn client_leaving_mid_stream_is_cancelled() {
    let mock = server().await;
    let request = post(&mock, CHAT, &json!({"stream": true}))
        .header("x-mock-event-delay-ms", "50")
        .header("x-mock-events", "100");
    let mut reader = EventReader::new(request.send().await.unwrap());
    for _ in 0..3 {
        reader.next().await.unwrap().unwrap();
    }
    assert_eq!(mock.requests()[0].outcome, Outcome::InProgress);
    drop(reader);
    let outcome = mock.wait_for_outcome(0, Duration::from_secs(2)).await;
    assert_eq!(outcome, Outcome::Cancelled);
}

#[tokio::test]
async fn client_leaving_during_header_delay_is_cancelled() {
    let mock = server().await;
    let request = post(&mock, CHAT, &json!({})).header("x-mock-header-delay-ms", "5000");
    let pending = tokio::spawn(request.send());
    mock.wait_for_requests(1, TIMEOUT).await;
    pending.abort();
    let outcome = mock.wait_for_outcome(0, Duration::from_secs(2)).await;
    assert_eq!(outcome, Outcome::Cancelled);
}
