//! Whole 2xx answers, both directions.

use http::StatusCode;
use serde_json::{Value, json};

use super::json;
use crate::error::GatewayError;
use crate::translate::{
    RequestEcho, chat_to_responses_response, responses_to_chat_request, responses_to_chat_response,
};

fn to_chat(response: Value) -> Value {
    json(&responses_to_chat_response(response.to_string().as_bytes()).unwrap())
}

fn to_responses(chat: Value, echo: &RequestEcho) -> Value {
    json(&chat_to_responses_response(chat.to_string().as_bytes(), echo).unwrap())
}

fn upstream_error(result: Result<Vec<u8>, GatewayError>) -> (String, Value) {
    match result {
        Err(GatewayError::Shaped {
            status,
            body,
            message,
            ..
        }) => {
            assert_eq!(status, StatusCode::BAD_GATEWAY);
            (message, json(body.as_bytes()))
        }
        other => panic!("expected a 502, got {other:?}"),
    }
}

#[test]
fn responses_object_to_chat_completion() {
    let response = json!({
        "id": "resp_67cc", "object": "response", "created_at": 1741476542, "status": "completed",
        "error": null, "incomplete_details": null, "model": "gpt-5-codex", "service_tier": "default",
        "output": [
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant", "content": [
                {"type": "output_text", "text": "Checking the ", "annotations": []},
                {"type": "output_text", "text": "wéather 🌦", "annotations": [{"type": "url_citation", "start_index": 0, "end_index": 1, "url": "https://x", "title": "X"}]},
            ]},
            {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "weather", "arguments": "{\"city\":\"Paris\"}", "status": "completed"},
            {"type": "function_call", "id": "fc_2", "call_id": "call_2", "name": "time", "arguments": "{}", "status": "completed"},
        ],
        "usage": {"input_tokens": 36, "input_tokens_details": {"cached_tokens": 8}, "output_tokens": 87,
                  "output_tokens_details": {"reasoning_tokens": 64}, "total_tokens": 123},
    });
    let got = to_chat(response);
    let want = json!({
        "id": "resp_67cc", "object": "chat.completion", "created": 1741476542, "model": "gpt-5-codex",
        "choices": [{
            "index": 0,
            "message": {
                "role": "assistant", "content": "Checking the wéather 🌦", "refusal": null,
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "call_2", "type": "function", "function": {"name": "time", "arguments": "{}"}},
                ],
            },
            "logprobs": null, "finish_reason": "tool_calls",
        }],
        "usage": {"prompt_tokens": 36, "completion_tokens": 87, "total_tokens": 123,
                  "prompt_tokens_details": {"cached_tokens": 8},
                  "completion_tokens_details": {"reasoning_tokens": 64}},
        "service_tier": "default", "system_fingerprint": null,
    });
    assert_eq!(got, want);
}

#[test]
fn finish_reasons_and_refusals_from_status() {
    let cases = [
        (json!("completed"), Value::Null, "stop"),
        (
            json!("incomplete"),
            json!({"reason": "max_output_tokens"}),
            "length",
        ),
        (
            json!("incomplete"),
            json!({"reason": "content_filter"}),
            "content_filter",
        ),
    ];
    for (status, details, want) in cases {
        let got = to_chat(json!({
            "id": "resp_1", "created_at": 1.5e9, "model": "o3-pro", "status": status,
            "incomplete_details": details,
            "output": [{"type": "message", "role": "assistant", "content": [{"type": "refusal", "refusal": "No."}]}],
        }));
        assert_eq!(got["choices"][0]["finish_reason"], want);
        assert_eq!(
            got["choices"][0]["message"],
            json!({"role": "assistant", "content": null, "refusal": "No."})
        );
        assert_eq!(got["created"], 1_500_000_000);
        assert_eq!(got.get("usage"), None);
    }
}

#[test]
fn failed_or_malformed_upstream_answers_are_502s() {
    let failed = json!({"id": "resp_1", "status": "failed", "error": {"code": "server_error", "message": "The model broke."}, "output": []});
    let (message, body) = upstream_error(responses_to_chat_response(failed.to_string().as_bytes()));
    assert_eq!(message, "The model broke.");
    assert_eq!(body["error"]["code"], "server_error");
    for bad in [&b"{\"id\":"[..], b"[]", b"", b"\xff"] {
        let (message, body) = upstream_error(responses_to_chat_response(bad));
        assert!(message.contains("Responses"), "{message}");
        assert_eq!(body["error"]["code"], "bad_upstream_response");
        let (message, _) = upstream_error(chat_to_responses_response(bad, &RequestEcho::default()));
        assert!(message.contains("Chat Completions"), "{message}");
    }
    let chat_error = br#"{"error":{"message":"Nope","code":"content_filter"}}"#;
    let (message, _) = upstream_error(chat_to_responses_response(
        chat_error,
        &RequestEcho::default(),
    ));
    assert_eq!(message, "Nope");
}

/// Azure's chat completion, with its filter annotations (WIRE-FACTS A5).
fn azure_completion(message: Value, finish: &str) -> Value {
    json!({
        "id": "chatcmpl-AEj7pKFoiTqDPHuxOcirA9KIvf3yz",
        "object": "chat.completion", "created": 1728073417, "model": "o1-2024-12-17",
        "choices": [{
            "index": 0, "finish_reason": finish, "logprobs": null, "message": message,
            "content_filter_results": {"hate": {"filtered": false, "severity": "safe"}},
        }],
        "usage": {"completion_tokens": 1843, "prompt_tokens": 20, "total_tokens": 1863,
                  "completion_tokens_details": {"audio_tokens": null, "reasoning_tokens": 448},
                  "prompt_tokens_details": {"audio_tokens": null, "cached_tokens": 4}},
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
    })
}

#[test]
fn chat_completion_to_responses_object() {
    let request = json!({
        "model": "o1", "instructions": "Be brief.", "input": "hi", "max_output_tokens": 2000,
        "tools": [{"type": "function", "name": "weather", "parameters": {"type": "object"}}],
        "tool_choice": "required", "parallel_tool_calls": false, "reasoning": {"effort": "high"},
        "text": {"format": {"type": "json_object"}}, "metadata": {"trace": "1"}, "user": "u",
        "top_p": 0.5, "truncation": "auto", "store": true, "service_tier": "auto",
    });
    let (_, echo) = responses_to_chat_request(request.to_string().as_bytes()).unwrap();
    let message = json!({
        "role": "assistant", "content": "{\"ok\":true}", "refusal": null,
        "annotations": [{"type": "url_citation", "url_citation": {"start_index": 0, "end_index": 3, "url": "https://x", "title": "X"}}],
        "tool_calls": [{"id": "call_9", "type": "function", "function": {"name": "weather", "arguments": "{}"}}],
    });
    let got = to_responses(azure_completion(message, "tool_calls"), &echo);
    let id = "chatcmpl-AEj7pKFoiTqDPHuxOcirA9KIvf3yz";
    let want = json!({
        "id": format!("resp_{id}"), "object": "response", "created_at": 1728073417,
        "status": "completed", "background": false, "error": null, "incomplete_details": null,
        "instructions": "Be brief.", "max_output_tokens": 2000, "max_tool_calls": null,
        "model": "o1-2024-12-17",
        "output": [
            {"id": format!("msg_{id}"), "type": "message", "status": "completed", "role": "assistant",
             "content": [{"type": "output_text", "text": "{\"ok\":true}", "annotations": [
                 {"type": "url_citation", "start_index": 0, "end_index": 3, "url": "https://x", "title": "X"}]}]},
            {"type": "function_call", "id": format!("fc_{id}_0"), "call_id": "call_9", "name": "weather",
             "arguments": "{}", "status": "completed"},
        ],
        "parallel_tool_calls": false, "previous_response_id": null, "prompt_cache_key": null,
        "reasoning": {"effort": "high", "summary": null}, "safety_identifier": null,
        "service_tier": "auto", "store": false, "temperature": 1.0,
        "text": {"format": {"type": "json_object"}, "verbosity": "medium"},
        "tool_choice": "required",
        "tools": [{"type": "function", "name": "weather", "parameters": {"type": "object"}}],
        "top_logprobs": 0, "top_p": 0.5, "truncation": "auto",
        "usage": {"input_tokens": 20, "input_tokens_details": {"cached_tokens": 4}, "output_tokens": 1843,
                  "output_tokens_details": {"reasoning_tokens": 448}, "total_tokens": 1863},
        "user": "u", "metadata": {"trace": "1"},
    });
    assert_eq!(got, want);
}

#[test]
fn chat_finish_reasons_to_status() {
    let echo = RequestEcho::default();
    let text = json!({"role": "assistant", "content": "Once upon", "refusal": null});
    let got = to_responses(azure_completion(text.clone(), "length"), &echo);
    assert_eq!(got["status"], "incomplete");
    assert_eq!(
        got["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    assert_eq!(got["output"][0]["status"], "incomplete");
    let got = to_responses(
        azure_completion(
            json!({"role": "assistant", "content": null}),
            "content_filter",
        ),
        &echo,
    );
    assert_eq!(
        got["incomplete_details"],
        json!({"reason": "content_filter"})
    );
    assert_eq!(got["output"], json!([]));
    let refusal = json!({"role": "assistant", "content": null, "refusal": "I can’t."});
    let got = to_responses(azure_completion(refusal, "stop"), &echo);
    assert_eq!(got["status"], "completed");
    assert_eq!(
        got["output"][0]["content"],
        json!([{"type": "refusal", "refusal": "I can’t."}])
    );
    // Defaults when the client's request said nothing.
    assert_eq!(got["tool_choice"], "auto");
    assert_eq!(got["tools"], json!([]));
    assert_eq!(
        got["text"],
        json!({"format": {"type": "text"}, "verbosity": "medium"})
    );
    assert_eq!(got["service_tier"], "default");
    // An empty text with tool calls is no message item; an empty text alone is one.
    let empty = json!({"role": "assistant", "content": "", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{}"}}]});
    let got = to_responses(azure_completion(empty, "tool_calls"), &echo);
    assert_eq!(got["output"].as_array().unwrap().len(), 1);
    assert_eq!(got["output"][0]["type"], "function_call");
    let got = to_responses(
        azure_completion(json!({"role": "assistant", "content": ""}), "stop"),
        &echo,
    );
    assert_eq!(got["output"][0]["content"][0]["text"], "");
}

#[test]
fn ids_derive_from_the_upstream() {
    let echo = RequestEcho::default();
    let bare =
        json!({"choices": [{"index": 0, "message": {"content": "x"}, "finish_reason": "stop"}]});
    let first = to_responses(bare.clone(), &echo);
    assert_eq!(first, to_responses(bare, &echo));
    let id = first["id"].as_str().unwrap();
    assert!(id.starts_with("resp_") && id.len() == 21, "{id}");
    let got = to_responses(json!({"id": "resp_abc", "choices": []}), &echo);
    assert_eq!(got["id"], "resp_abc");
    assert_eq!(got["output"], json!([]));
    assert_eq!(got["usage"], Value::Null);
}
