//! Function calling on chat completions and Responses, JSON and streamed.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::{API, data, post, send_json, server, split_events, stream_text};
use serde_json::{Value, json};

const CHAT: &str = "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21";
const RESPONSES: &str = "/openai/v1/responses";

fn weather_chat() -> Value {
    json!({"type": "function", "function": {"name": "get_weather", "description": "Weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                       "unit": {"type": "string"}, "days": {"type": "integer"}},
                       "required": ["city", "unit"]}}})
}

fn weather_flat() -> Value {
    json!({"type": "function", "name": "get_weather",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                          "required": ["city"]}})
}

fn user() -> Value {
    json!([{"role": "user", "content": "Weather in Paris?"}])
}

fn is_call_id(id: &Value) -> bool {
    id.as_str().is_some_and(|id| {
        id.strip_prefix("call_")
            .is_some_and(|rest| rest.len() == 24 && rest.chars().all(|c| c.is_ascii_alphanumeric()))
    })
}

#[tokio::test]
async fn chat_json_calls_the_first_function() {
    let mock = server().await;
    let body = json!({"messages": user(), "tools": [weather_chat()]});
    let (status, v) = send_json(post(&mock, CHAT, &body)).await;
    assert_eq!(status, 200);
    let choice = &v["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    let message = &choice["message"];
    let call = &message["tool_calls"][0];
    assert!(is_call_id(&call["id"]), "{call}");
    assert_eq!(
        *message,
        json!({"annotations": [], "content": null, "refusal": null, "role": "assistant",
               "tool_calls": [{"id": call["id"], "type": "function",
                   "function": {"name": "get_weather",
                                "arguments": r#"{"city":"mock-city","unit":"mock-unit"}"#}}]})
    );
    assert_eq!(choice["content_filter_results"]["hate"]["severity"], "safe");
}

#[tokio::test]
async fn chat_tool_choice_and_tool_results() {
    let mock = server().await;
    let other = json!({"type": "function", "function": {"name": "noop"}});
    let named = json!({"messages": user(), "tools": [weather_chat(), other],
                       "tool_choice": {"type": "function", "function": {"name": "noop"}}});
    let (_, v) = send_json(post(&mock, CHAT, &named)).await;
    let function = &v["choices"][0]["message"]["tool_calls"][0]["function"];
    assert_eq!(*function, json!({"name": "noop", "arguments": "{}"}));

    let none = json!({"messages": user(), "tools": [weather_chat()], "tool_choice": "none"});
    let (_, v) = send_json(post(&mock, CHAT, &none)).await;
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "Hello from mock-azure — héllo 🌍."
    );

    // After the tool's result the model answers in text.
    let (_, first) = send_json(post(
        &mock,
        CHAT,
        &json!({"messages": user(), "tools": [weather_chat()]}),
    ))
    .await;
    let assistant = first["choices"][0]["message"].clone();
    let id = assistant["tool_calls"][0]["id"].clone();
    let messages = json!([user()[0], assistant,
                          {"role": "tool", "tool_call_id": id, "content": "20C"}]);
    let (_, v) = send_json(post(
        &mock,
        CHAT,
        &json!({"messages": messages, "tools": [weather_chat()]}),
    ))
    .await;
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert!(v["choices"][0]["message"].get("tool_calls").is_none());
    assert!(v["choices"][0]["message"]["content"].is_string());
}

#[tokio::test]
async fn chat_stream_of_a_tool_call() {
    let mock = server().await;
    let body = json!({"messages": user(), "tools": [weather_chat()], "stream": true,
                      "stream_options": {"include_usage": true}});
    let text = stream_text(&mock, CHAT, body).await;
    let events = split_events(&text);
    assert_eq!(*events.last().unwrap(), "data: [DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1].iter().map(|e| data(e)).collect();
    // prompt filter, role, opening, 3 argument pieces, finish, usage.
    assert_eq!(chunks.len(), 8);
    assert_eq!(chunks[0]["choices"], json!([]));
    assert_eq!(
        chunks[1]["choices"][0]["delta"],
        json!({"content": null, "refusal": null, "role": "assistant"})
    );
    let opening = &chunks[2]["choices"][0];
    let call = &opening["delta"]["tool_calls"][0];
    assert!(is_call_id(&call["id"]));
    assert_eq!(
        opening["delta"],
        json!({"tool_calls": [{"index": 0, "id": call["id"], "type": "function",
                               "function": {"name": "get_weather", "arguments": ""}}]})
    );
    let mut arguments = String::new();
    for chunk in &chunks[3..6] {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk["id"], chunks[1]["id"]);
        assert!(chunk["usage"].is_null() && chunk.get("usage").is_some());
        let choice = &chunk["choices"][0];
        assert_eq!(choice["content_filter_results"], json!({}));
        assert!(choice["finish_reason"].is_null());
        let delta = &choice["delta"]["tool_calls"][0];
        assert_eq!(delta["index"], 0);
        assert!(delta.get("id").is_none());
        let piece = delta["function"]["arguments"].as_str().unwrap();
        assert!(!piece.is_empty());
        arguments.push_str(piece);
    }
    assert_eq!(arguments, r#"{"city":"mock-city","unit":"mock-unit"}"#);
    let parsed: Value = serde_json::from_str(&arguments).unwrap();
    assert_eq!(parsed["city"], "mock-city");
    let finish = &chunks[6]["choices"][0];
    assert_eq!(finish["finish_reason"], "tool_calls");
    assert_eq!(finish["delta"], json!({}));
    assert_eq!(chunks[7]["choices"], json!([]));
    assert_eq!(chunks[7]["usage"]["total_tokens"], 18);
}

#[tokio::test]
async fn responses_json_function_call() {
    let mock = server().await;
    let body = json!({"model": "gpt-4o", "input": "Weather in Paris?", "tools": [weather_flat()]});
    let (status, v) = send_json(post(&mock, RESPONSES, &body)).await;
    assert_eq!(status, 200);
    assert_eq!(v["status"], "completed");
    let output = v["output"].as_array().unwrap();
    assert_eq!(output.len(), 1, "no message item: {output:?}");
    let call = &output[0];
    assert!(call["id"].as_str().unwrap().starts_with("fc_"));
    assert!(is_call_id(&call["call_id"]));
    assert_eq!(
        *call,
        json!({"id": call["id"], "type": "function_call", "status": "completed",
               "arguments": r#"{"city":"mock-city"}"#, "call_id": call["call_id"],
               "name": "get_weather"})
    );

    // Its output answers in text.
    let input = json!([{"role": "user", "content": "Weather in Paris?"}, call,
                       {"type": "function_call_output", "call_id": call["call_id"],
                        "output": "20C"}]);
    let body = json!({"model": "gpt-4o", "input": input, "tools": [weather_flat()]});
    let (_, v) = send_json(post(&mock, RESPONSES, &body)).await;
    assert_eq!(v["output"][0]["type"], "message");
    assert_eq!(
        v["output"][0]["content"][0]["text"],
        "Hello from mock-azure — héllo 🌍."
    );
    // A named choice in the flat form.
    let body = json!({"model": "gpt-4o", "input": "x",
                      "tools": [weather_flat(), {"type": "function", "name": "noop"}],
                      "tool_choice": {"type": "function", "name": "noop"}});
    let (_, v) = send_json(post(&mock, RESPONSES, &body)).await;
    assert_eq!(v["output"][0]["name"], "noop");
    assert_eq!(v["output"][0]["arguments"], "{}");
}

#[tokio::test]
async fn responses_stream_of_a_function_call() {
    let mock = server().await;
    let body = json!({"model": "gpt-4o", "input": "Weather?", "tools": [weather_flat()],
                      "stream": true});
    let text = stream_text(&mock, RESPONSES, body).await;
    let events: Vec<Value> = split_events(&text)
        .iter()
        .map(|e| {
            let v = data(e);
            assert_eq!(
                e.lines().next().unwrap(),
                format!("event: {}", v["type"].as_str().unwrap())
            );
            v
        })
        .collect();
    for (n, event) in events.iter().enumerate() {
        assert_eq!(event["sequence_number"], n);
    }
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    let mut expected = vec![
        "response.created",
        "response.in_progress",
        "response.output_item.added",
    ];
    let deltas = kinds
        .iter()
        .filter(|k| **k == "response.function_call_arguments.delta")
        .count();
    assert!(deltas >= 2, "{kinds:?}");
    expected.extend(vec!["response.function_call_arguments.delta"; deltas]);
    expected.extend([
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]);
    assert_eq!(kinds, expected);

    let added = &events[2];
    assert_eq!(added["output_index"], 0);
    let item = &added["item"];
    assert_eq!(
        *item,
        json!({"id": item["id"], "type": "function_call", "status": "in_progress",
               "arguments": "", "call_id": item["call_id"], "name": "get_weather"})
    );
    let mut arguments = String::new();
    for delta in &events[3..3 + deltas] {
        assert_eq!(delta["item_id"], item["id"]);
        assert_eq!(delta["output_index"], 0);
        arguments.push_str(delta["delta"].as_str().unwrap());
    }
    let done = &events[3 + deltas];
    assert_eq!(done["item_id"], item["id"]);
    assert_eq!(done["output_index"], 0);
    assert_eq!(done["arguments"], arguments);
    let parsed: Value = serde_json::from_str(&arguments).unwrap();
    assert_eq!(parsed, json!({"city": "mock-city"}));
    let item_done = &events[4 + deltas]["item"];
    assert_eq!(item_done["status"], "completed");
    assert_eq!(item_done["arguments"], arguments);
    assert_eq!(item_done["call_id"], item["call_id"]);
    let completed = &events.last().unwrap()["response"];
    assert_eq!(completed["output"], json!([item_done]));
    assert_eq!(completed["status"], "completed");
}

#[tokio::test]
async fn other_operations_never_call_tools() {
    let mock = server().await;
    let path = format!("/openai/deployments/d/completions?{API}");
    let body = json!({"prompt": "x", "tools": [weather_chat()]});
    let (_, v) = send_json(post(&mock, &path, &body)).await;
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    // Non-function tools alone do not make a call.
    let body = json!({"model": "gpt-4o", "input": "x", "tools": [{"type": "file_search"}]});
    let (_, v) = send_json(post(&mock, RESPONSES, &body)).await;
    assert_eq!(v["output"][0]["type"], "message");
}
