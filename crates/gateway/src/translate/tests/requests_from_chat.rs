//! Chat request → Responses request.

use serde_json::{Value, json};

use super::{json, rejected};
use crate::error::GatewayError;
use crate::translate::{Translated, chat_to_responses_request};

fn translate(request: Value) -> Translated {
    chat_to_responses_request(request.to_string().as_bytes()).unwrap()
}

fn body(request: Value) -> Value {
    json(&translate(request).body)
}

fn user(text: &str) -> Value {
    json!({"role": "user", "content": text})
}

#[test]
fn multimodal_system_and_developer_messages_keep_their_order() {
    let got = translate(json!({
        "stream": true,
        "model": "gpt-5-codex",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "high"}},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                {"type": "file", "file": {"file_id": "file-abc", "filename": "a.pdf"}},
                {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE", "filename": "b.pdf"}},
            ]},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
        ],
        "stream_options": {"include_usage": true},
    }));
    assert!(got.include_usage);
    assert!(got.dropped.is_empty());
    let want = json!({
        "model": "gpt-5-codex",
        "stream": true,
        "input": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [
                {"type": "input_text", "text": "What is this?"},
                {"type": "input_image", "image_url": "https://example.com/cat.png", "detail": "high"},
                {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "auto"},
                {"type": "input_file", "file_id": "file-abc", "filename": "a.pdf"},
                {"type": "input_file", "file_data": "data:application/pdf;base64,JVBE", "filename": "b.pdf"},
            ]},
            {"role": "developer", "content": [{"type": "input_text", "text": "Answer in French."}]},
        ],
        "store": false,
    });
    let body = json(&got.body);
    assert_eq!(body, want);
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["model", "stream", "input", "store"],
        "model first, then the client's order"
    );
}

#[test]
fn assistant_tool_calls_and_tool_results() {
    let got = body(json!({
        "model": "m",
        "messages": [
            user("Weather in Paris and Rome?"),
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call_2", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Rome\"}"}},
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18°C"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "21"}, {"type": "text", "text": "°C"}]},
            {"role": "assistant", "content": "Paris 18°C, Rome 21°C.", "refusal": null},
            {"role": "assistant", "content": [{"type": "text", "text": "Let me check."}], "tool_calls": [
                {"id": "call_3", "type": "function", "function": {"name": "weather", "arguments": "{}"}},
            ]},
            {"role": "assistant", "content": "", "refusal": "I can’t do that."},
        ],
    }));
    let want = json!([
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"type": "function_call", "call_id": "call_1", "name": "weather", "arguments": "{\"city\":\"Paris\"}"},
        {"type": "function_call", "call_id": "call_2", "name": "weather", "arguments": "{\"city\":\"Rome\"}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "18°C"},
        {"type": "function_call_output", "call_id": "call_2", "output": "21°C"},
        {"role": "assistant", "content": [{"type": "output_text", "text": "Paris 18°C, Rome 21°C."}]},
        {"role": "assistant", "content": [{"type": "output_text", "text": "Let me check."}]},
        {"type": "function_call", "call_id": "call_3", "name": "weather", "arguments": "{}"},
        {"role": "assistant", "content": [{"type": "refusal", "refusal": "I can’t do that."}]},
    ]);
    assert_eq!(got["input"], want);
}

#[test]
fn legacy_functions_become_tools() {
    let got = body(json!({
        "model": "m",
        "functions": [{"name": "lookup", "description": "Look up", "parameters": {"type": "object", "properties": {}}}],
        "function_call": {"name": "lookup"},
        "messages": [
            user("Find it"),
            {"role": "assistant", "content": null, "function_call": {"name": "lookup", "arguments": "{}"}},
            {"role": "function", "name": "lookup", "content": "found"},
        ],
    }));
    assert_eq!(
        got["tools"],
        json!([{"type": "function", "name": "lookup", "description": "Look up",
                "parameters": {"type": "object", "properties": {}}, "strict": false}])
    );
    assert_eq!(
        got["tool_choice"],
        json!({"type": "function", "name": "lookup"})
    );
    assert_eq!(
        got["input"],
        json!([
            {"role": "user", "content": "Find it"},
            {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "found"},
        ])
    );
}

#[test]
fn tools_and_tool_choice_forms() {
    let tools = json!([
        {"type": "function", "function": {"name": "a", "description": "A", "parameters": {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"], "additionalProperties": false}, "strict": true}},
        {"type": "function", "function": {"name": "b"}},
    ]);
    let want_tools = json!([
        {"type": "function", "name": "a", "description": "A", "parameters": {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"], "additionalProperties": false}, "strict": true},
        {"type": "function", "name": "b", "parameters": {"type": "object", "properties": {}}, "strict": false},
    ]);
    let choices = [
        (json!("auto"), json!("auto")),
        (json!("required"), json!("required")),
        (json!("none"), json!("none")),
        (
            json!({"type": "function", "function": {"name": "a"}}),
            json!({"type": "function", "name": "a"}),
        ),
        (
            json!({"type": "allowed_tools", "allowed_tools": {"mode": "required", "tools": [{"type": "function", "function": {"name": "b"}}]}}),
            json!({"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "b"}]}),
        ),
    ];
    for (choice, want) in choices {
        let got = body(
            json!({"messages": [user("x")], "tools": tools, "tool_choice": choice, "parallel_tool_calls": false}),
        );
        assert_eq!(got["tools"], want_tools);
        assert_eq!(got["tool_choice"], want);
        assert_eq!(got["parallel_tool_calls"], false);
    }
}

#[test]
fn response_format_and_verbosity_become_text() {
    let schema = json!({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"], "additionalProperties": false});
    let got = body(json!({
        "messages": [user("x")],
        "response_format": {"type": "json_schema", "json_schema": {"name": "count", "description": "A count", "schema": schema, "strict": true}},
        "verbosity": "low",
    }));
    assert_eq!(
        got["text"],
        json!({"format": {"type": "json_schema", "name": "count", "description": "A count", "schema": schema, "strict": true}, "verbosity": "low"})
    );
    let got = body(json!({"messages": [user("x")], "response_format": {"type": "json_object"}}));
    assert_eq!(got["text"], json!({"format": {"type": "json_object"}}));
    let got = body(json!({"messages": [user("x")], "response_format": {"type": "text"}}));
    assert_eq!(got.get("text"), None);
}

#[test]
fn reasoning_effort_and_token_limits() {
    let got = body(
        json!({"messages": [user("x")], "reasoning_effort": "high", "max_completion_tokens": 500, "max_tokens": 100}),
    );
    assert_eq!(got["reasoning"], json!({"effort": "high"}));
    assert_eq!(got["max_output_tokens"], 500);
    assert_eq!(got.get("max_tokens"), None);
    assert_eq!(got.get("max_completion_tokens"), None);
    assert_eq!(got.get("reasoning_effort"), None);
    let got = body(json!({"messages": [user("x")], "max_tokens": 100}));
    assert_eq!(got["max_output_tokens"], 100);
}

#[test]
fn dropped_removed_and_passed_parameters() {
    let got = translate(json!({
        "model": "m",
        "messages": [{"role": "user", "content": "x", "name": "alice"}],
        "stop": ["\n"], "logprobs": true, "top_logprobs": 2, "logit_bias": {"1": 1},
        "frequency_penalty": 0.5, "presence_penalty": 0.5, "seed": 7, "n": 1,
        "prediction": {"type": "content", "content": "x"}, "modalities": ["text"],
        "temperature": 0.3, "top_p": 0.9, "user": "u", "metadata": {"a": "b"},
        "service_tier": "flex", "prompt_cache_key": "k", "safety_identifier": "s",
        "some_future_param": {"keep": true}, "store": true, "stream_options": null, "seed2": null,
        "stop2": 1, "presence_penalty2": 2, "logprobs2": null, "tools": null,
    }));
    assert_eq!(
        got.dropped,
        [
            "messages[].name",
            "stop",
            "logprobs",
            "top_logprobs",
            "logit_bias",
            "frequency_penalty",
            "presence_penalty",
            "seed",
            "n",
            "prediction",
            "modalities",
        ]
    );
    assert!(!got.include_usage);
    assert_eq!(
        json(&got.body),
        json!({
            "model": "m", "input": [{"role": "user", "content": "x"}], "temperature": 0.3,
            "top_p": 0.9, "user": "u", "metadata": {"a": "b"}, "service_tier": "flex",
            "prompt_cache_key": "k", "safety_identifier": "s", "some_future_param": {"keep": true},
            "store": true, "seed2": null, "stop2": 1, "presence_penalty2": 2, "logprobs2": null,
        })
    );
    // A stray `input` cannot replace the conversation; `n: 1.0` is one choice.
    let got = translate(json!({"input": "stray", "messages": [user("x")], "n": 1.0}));
    assert_eq!(got.dropped, ["n"]);
    assert_eq!(
        json(&got.body),
        json!({"input": [user("x")], "store": false})
    );
    // Null parameters count as not sent: nothing dropped, nothing refused.
    let got = translate(
        json!({"messages": [user("x")], "stop": null, "n": null, "audio": null, "store": null}),
    );
    assert!(got.dropped.is_empty());
    assert_eq!(
        json(&got.body),
        json!({"input": [user("x")], "store": false})
    );
}

#[test]
fn what_cannot_work_is_refused_with_its_param() {
    let audio_part =
        json!({"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}});
    let call = |kind: &str| json!({"id": "c", "type": kind, "custom": {"name": "x", "input": "y"}});
    let cases = [
        (
            json!({"messages": [{"role": "user", "content": [audio_part]}]}),
            "messages",
            "audio input",
        ),
        (json!({"messages": [user("x")], "n": 2}), "n", "`n`"),
        (
            json!({"messages": [user("x")], "modalities": ["text", "audio"]}),
            "modalities",
            "audio output",
        ),
        (
            json!({"messages": [user("x")], "audio": {"voice": "alloy", "format": "mp3"}}),
            "audio",
            "audio output",
        ),
        (
            json!({"messages": [user("x")], "web_search_options": {}}),
            "web_search_options",
            "web search",
        ),
        (
            json!({"messages": [user("x")], "tools": [{"type": "custom", "custom": {"name": "x"}}]}),
            "tools",
            "`custom` tools",
        ),
        (
            json!({"messages": [{"role": "assistant", "tool_calls": [call("custom")]}]}),
            "messages",
            "`custom` tool calls",
        ),
        (
            json!({"messages": [user("x")], "tool_choice": {"type": "custom", "custom": {"name": "x"}}}),
            "tool_choice",
            "function tools only",
        ),
        (json!({"model": "m"}), "messages", "'messages'"),
        (
            json!({"model": "m", "input": "a Responses body"}),
            "messages",
            "'messages'",
        ),
        (json!({"messages": [user("x")], "n": 1.5}), "n", "`n`"),
        (json!({"messages": "hi"}), "messages", "array"),
        (
            json!({"messages": [{"content": "x"}]}),
            "messages",
            "messages[0]",
        ),
        (
            json!({"messages": [{"role": "critic", "content": "x"}]}),
            "messages",
            "`critic`",
        ),
        (
            json!({"messages": [{"role": "tool", "content": "x"}]}),
            "messages",
            "tool_call_id",
        ),
        (
            json!({"messages": [user("x")], "response_format": "json"}),
            "response_format",
            "object",
        ),
    ];
    for (request, param, says) in cases {
        let (got, message) = rejected(chat_to_responses_request(request.to_string().as_bytes()));
        assert_eq!(got, Some(param), "{request}: {message}");
        assert!(message.contains(says), "{request}: {message}");
    }
    assert!(matches!(
        chat_to_responses_request(b"{nope"),
        Err(GatewayError::InvalidJson(_))
    ));
    let (param, _) = rejected(chat_to_responses_request(b"[1]"));
    assert_eq!(param, None);
}
