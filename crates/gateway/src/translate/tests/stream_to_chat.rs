//! Responses events → chat chunks.

use serde_json::{Value, json};

use super::fixtures::{RESPONSES, RESPONSES_INCOMPLETE};
use super::{parse_sse, run};
use crate::translate::ResponsesToChatStream;

fn translate(stream: &str, include_usage: bool) -> Vec<(Option<String>, Value)> {
    let mut translator = ResponsesToChatStream::new(include_usage);
    let out = run(&mut translator, &[stream.as_bytes()], true);
    parse_sse(&out)
}

/// The chunk a client expects: this response's id, created and model, one choice.
fn chunk(delta: Value, finish: Value, usage: bool) -> (Option<String>, Value) {
    let mut chunk = json!({
        "id": "resp_68a1", "object": "chat.completion.chunk", "created": 1741290958,
        "model": "gpt-5-codex", "service_tier": "default", "system_fingerprint": null,
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
    });
    if usage {
        chunk["usage"] = Value::Null;
    }
    (None, chunk)
}

fn done() -> (Option<String>, Value) {
    (None, json!("[DONE]"))
}

#[test]
fn text_and_function_call_with_usage() {
    let got = translate(RESPONSES, true);
    let want = vec![
        chunk(
            json!({"role": "assistant", "content": "", "refusal": null}),
            Value::Null,
            true,
        ),
        chunk(json!({"content": "héllo "}), Value::Null, true),
        chunk(json!({"content": "🌍"}), Value::Null, true),
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                   "function": {"name": "get_weather", "arguments": ""}}]}),
            Value::Null,
            true,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}),
            Value::Null,
            true,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Zürich\"}"}}]}),
            Value::Null,
            true,
        ),
        chunk(json!({}), json!("tool_calls"), true),
        (
            None,
            json!({
                "id": "resp_68a1", "object": "chat.completion.chunk", "created": 1741290958,
                "model": "gpt-5-codex", "service_tier": "default", "system_fingerprint": null,
                "choices": [],
                "usage": {
                    "prompt_tokens": 36, "completion_tokens": 87, "total_tokens": 123,
                    "prompt_tokens_details": {"cached_tokens": 8},
                    "completion_tokens_details": {"reasoning_tokens": 64},
                },
            }),
        ),
        done(),
    ];
    assert_eq!(got, want);
}

#[test]
fn without_include_usage_no_usage_anywhere() {
    let got = translate(RESPONSES, false);
    assert_eq!(
        got.len(),
        8,
        "role, 2 text, tool start, 2 args, finish, [DONE]"
    );
    assert_eq!(
        got[0],
        chunk(
            json!({"role": "assistant", "content": "", "refusal": null}),
            Value::Null,
            false
        )
    );
    assert!(got.iter().all(|(_, c)| c.get("usage").is_none()));
    assert_eq!(got.last(), Some(&done()));
}

#[test]
fn argument_deltas_concatenate_to_valid_json() {
    let got = translate(RESPONSES, false);
    let arguments: String = got
        .iter()
        .filter_map(|(_, c)| c.pointer("/choices/0/delta/tool_calls/0/function/arguments"))
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        json!(serde_json::from_str::<Value>(&arguments).unwrap()),
        json!({"city": "Zürich"})
    );
    let content: String = got
        .iter()
        .filter_map(|(_, c)| c.pointer("/choices/0/delta/content")?.as_str())
        .collect();
    assert_eq!(content, "héllo 🌍");
}

#[test]
fn incomplete_refusal_and_done_fallback() {
    // The refusal's `done` says more than its deltas did: only the rest is sent. A float
    // `created_at` becomes an integer `created`.
    let got = translate(RESPONSES_INCOMPLETE, true);
    let refusals: Vec<&Value> = got
        .iter()
        .filter_map(|(_, c)| c.pointer("/choices/0/delta/refusal"))
        .collect();
    assert_eq!(refusals, [&Value::Null, &json!("I can’t"), &json!(" help")]);
    let finish = &got[got.len() - 3].1;
    assert_eq!(finish["choices"][0]["finish_reason"], "length");
    assert_eq!(finish["created"], 1741290999);
    assert_eq!(finish["id"], "resp_2");
    assert_eq!(
        got[got.len() - 2].1["usage"],
        json!({"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7,
               "prompt_tokens_details": {"cached_tokens": 0},
               "completion_tokens_details": {"reasoning_tokens": 0}})
    );
    assert_eq!(got.last(), Some(&done()));
}

#[test]
fn content_filter_finish() {
    let stream = concat!(
        "event: response.created\n",
        r#"data: {"type":"response.created","response":{"id":"resp_3","created_at":1,"model":"m"}}"#,
        "\n\n",
        "event: response.incomplete\n",
        r#"data: {"type":"response.incomplete","response":{"id":"resp_3","status":"incomplete","incomplete_details":{"reason":"content_filter"},"output":[]}}"#,
        "\n\n",
    );
    let got = translate(stream, false);
    assert_eq!(got[1].1["choices"][0]["finish_reason"], "content_filter");
    assert_eq!(got.len(), 3);
}

#[test]
fn failures_become_chat_error_events_without_done() {
    let head = concat!(
        "event: response.created\n",
        r#"data: {"type":"response.created","response":{"id":"resp_4","created_at":1,"model":"m"}}"#,
        "\n\n",
        "event: response.output_text.delta\n",
        r#"data: {"type":"response.output_text.delta","output_index":0,"content_index":0,"delta":"par"}"#,
        "\n\n",
    );
    let cases = [
        (
            concat!(
                "event: response.failed\n",
                r#"data: {"type":"response.failed","response":{"id":"resp_4","status":"failed","error":{"code":"server_error","message":"The model failed."}}}"#,
                "\n\n"
            ),
            json!({"error": {"message": "The model failed.", "type": "server_error", "param": null, "code": "server_error"}}),
        ),
        (
            concat!(
                "event: error\n",
                r#"data: {"type":"error","code":"rate_limit_exceeded","message":"Slow down.","param":null,"sequence_number":3}"#,
                "\n\n"
            ),
            json!({"error": {"message": "Slow down.", "type": "server_error", "param": null, "code": "rate_limit_exceeded"}}),
        ),
        (
            concat!(
                "event: error\n",
                r#"data: {"type":"error","error":{"type":"invalid_request_error","code":"context_length_exceeded","message":"Too long.","param":"input"}}"#,
                "\n\n"
            ),
            json!({"error": {"message": "Too long.", "type": "invalid_request_error", "param": "input", "code": "context_length_exceeded"}}),
        ),
        (
            "data: {\"error\":{\"message\":\"Boom\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n",
            json!({"error": {"message": "Boom", "type": "server_error", "param": null, "code": null}}),
        ),
    ];
    for (tail, want) in cases {
        // A `response.failed` after the error event adds nothing.
        let late =
            "event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{}}\n\n";
        let got = translate(&format!("{head}{tail}{late}"), true);
        assert_eq!(got.len(), 3, "{tail}");
        assert_eq!(got[1].1["choices"][0]["delta"]["content"], "par");
        assert_eq!(got[2], (None, want), "{tail}");
    }
}

#[test]
fn malformed_and_foreign_events_are_skipped() {
    let stream = format!(
        "{}{}{}",
        ": keep-alive\n\ndata: {not json\n\nevent: response.output_text.delta\ndata: [1,2]\n\n",
        "data: [DONE]\n\n",
        RESPONSES,
    );
    assert_eq!(translate(&stream, true), translate(RESPONSES, true));
}

#[test]
fn an_unfinished_stream_owes_nothing() {
    let cut = RESPONSES.find("event: response.completed").unwrap();
    for complete in [true, false] {
        let mut translator = ResponsesToChatStream::new(true);
        let out = run(&mut translator, &[&RESPONSES.as_bytes()[..cut]], complete);
        let got = parse_sse(&out);
        assert_eq!(got.len(), 6, "no finish chunk, no [DONE]");
        assert!(
            got.iter()
                .all(|(_, c)| c["choices"][0]["finish_reason"].is_null())
        );
    }
}

#[test]
fn deltas_without_created_still_get_a_role_chunk() {
    let stream = "data: {\"type\":\"response.output_text.delta\",\"output_index\":0,\"content_index\":0,\"delta\":\"x\"}\n\n";
    let got = translate(stream, false);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].1["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(got[0].1["id"], "");
    assert_eq!(got[1].1["choices"][0]["delta"]["content"], "x");
}
