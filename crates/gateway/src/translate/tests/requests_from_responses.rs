//! Responses request → chat request.

use serde_json::{Value, json};

use super::{json, rejected};
use crate::error::GatewayError;
use crate::translate::{Translated, responses_to_chat_request};

fn translate(request: Value) -> Translated {
    responses_to_chat_request(request.to_string().as_bytes())
        .unwrap()
        .0
}

fn body(request: Value) -> Value {
    json(&translate(request).body)
}

#[test]
fn instructions_lead_and_a_string_input_is_one_user_message() {
    let got = translate(json!({
        "input": "Hi there", "model": "qwen3", "instructions": "Be brief.", "stream": true,
        "stream_options": {"include_obfuscation": false},
    }));
    assert!(got.dropped.is_empty());
    let body = json(&got.body);
    assert_eq!(
        body,
        json!({
            "model": "qwen3",
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"}],
            "stream": true,
            "stream_options": {"include_usage": true},
        })
    );
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["model", "messages", "stream", "stream_options"]);
    let got = body_of_stream(false);
    assert_eq!(got.get("stream_options"), None);
}

fn body_of_stream(stream: bool) -> Value {
    body(json!({"input": "x", "stream": stream}))
}

#[test]
fn input_items_in_order() {
    let got = body(json!({
        "model": "m",
        "instructions": "Top rules.",
        "input": [
            {"role": "system", "content": "System says."},
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Dev says."}]},
            {"role": "user", "content": [
                {"type": "input_text", "text": "Look:"},
                {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "low"},
                {"type": "input_image", "image_url": "data:image/png;base64,AAAA"},
                {"type": "input_file", "file_id": "file-1"},
                {"type": "input_file", "filename": "b.pdf", "file_data": "data:application/pdf;base64,JVBE"},
            ]},
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAA"},
            {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
             "content": [{"type": "output_text", "text": "Checking ", "annotations": []}, {"type": "output_text", "text": "both."}]},
            {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "weather", "arguments": "{\"city\":\"Paris\"}", "status": "completed"},
            {"type": "function_call", "call_id": "call_2", "name": "weather", "arguments": "{\"city\":\"Rome\"}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "18°C"},
            {"type": "function_call_output", "call_id": "call_2", "output": [{"type": "input_text", "text": "21°C"}]},
            {"type": "reasoning", "id": "rs_2", "summary": []},
            {"type": "function_call", "call_id": "call_3", "name": "time", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_3", "output": "noon"},
            {"role": "assistant", "content": [{"type": "refusal", "refusal": "No."}]},
            {"role": "assistant", "content": "Plain."},
        ],
    }));
    let want = json!([
        {"role": "system", "content": "Top rules."},
        {"role": "system", "content": "System says."},
        {"role": "developer", "content": [{"type": "text", "text": "Dev says."}]},
        {"role": "user", "content": [
            {"type": "text", "text": "Look:"},
            {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            {"type": "file", "file": {"file_id": "file-1"}},
            {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE", "filename": "b.pdf"}},
        ]},
        {"role": "assistant", "content": "Checking both.", "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
            {"id": "call_2", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Rome\"}"}},
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18°C"},
        {"role": "tool", "tool_call_id": "call_2", "content": "21°C"},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_3", "type": "function", "function": {"name": "time", "arguments": "{}"}},
        ]},
        {"role": "tool", "tool_call_id": "call_3", "content": "noon"},
        {"role": "assistant", "content": null, "refusal": "No."},
        {"role": "assistant", "content": "Plain."},
    ]);
    assert_eq!(got["messages"], want);
}

#[test]
fn tools_tool_choice_format_reasoning_and_limits() {
    let schema = json!({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"], "additionalProperties": false});
    let got = translate(json!({
        "model": "m", "input": "x",
        "tools": [
            {"type": "function", "name": "a", "description": "A", "parameters": schema, "strict": true},
            {"type": "function", "name": "b", "parameters": null, "strict": null},
        ],
        "tool_choice": {"type": "function", "name": "a"},
        "parallel_tool_calls": false,
        "text": {"format": {"type": "json_schema", "name": "count", "schema": schema, "strict": true}, "verbosity": "high"},
        "reasoning": {"effort": "minimal", "summary": "auto"},
        "max_output_tokens": 256, "temperature": 0.5, "top_p": 0.8, "user": "u",
        "metadata": {"k": "v"}, "service_tier": "priority", "safety_identifier": "s",
        "prompt_cache_key": "pk",
        "store": true, "include": ["reasoning.encrypted_content"], "truncation": "auto",
        "max_tool_calls": 3, "prompt_cache_retention": "24h", "context_management": [{"type": "compaction"}],
        "top_logprobs": 2, "background": false, "previous_response_id": null, "future": 1,
    }));
    assert_eq!(
        got.dropped,
        [
            "reasoning.summary",
            "store",
            "include",
            "truncation",
            "max_tool_calls",
            "prompt_cache_retention",
            "context_management",
            "top_logprobs",
        ]
    );
    assert_eq!(
        json(&got.body),
        json!({
            "model": "m",
            "messages": [{"role": "user", "content": "x"}],
            "tools": [
                {"type": "function", "function": {"name": "a", "description": "A", "parameters": schema, "strict": true}},
                {"type": "function", "function": {"name": "b"}},
            ],
            "tool_choice": {"type": "function", "function": {"name": "a"}},
            "parallel_tool_calls": false,
            "response_format": {"type": "json_schema", "json_schema": {"name": "count", "schema": schema, "strict": true}},
            "verbosity": "high",
            "reasoning_effort": "minimal",
            "max_completion_tokens": 256, "temperature": 0.5, "top_p": 0.8, "user": "u",
            "metadata": {"k": "v"}, "service_tier": "priority", "safety_identifier": "s",
            "prompt_cache_key": "pk", "future": 1,
        })
    );
    let choices = [
        (json!("required"), json!("required")),
        (
            json!({"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "a"}]}),
            json!({"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": [{"type": "function", "function": {"name": "a"}}]}}),
        ),
    ];
    for (choice, want) in choices {
        assert_eq!(
            body(json!({"input": "x", "tool_choice": choice}))["tool_choice"],
            want
        );
    }
    let got = body(json!({"input": "x", "text": {"format": {"type": "json_object"}}}));
    assert_eq!(got["response_format"], json!({"type": "json_object"}));
    let got = body(json!({"input": "x", "text": {"format": {"type": "text"}}}));
    assert_eq!(got.get("response_format"), None);
}

#[test]
fn what_cannot_work_is_refused_with_its_param() {
    let cases = [
        (
            json!({"input": "x", "previous_response_id": "resp_1"}),
            "previous_response_id",
        ),
        (
            json!({"input": "x", "conversation": "conv_1"}),
            "conversation",
        ),
        (json!({"input": "x", "background": true}), "background"),
        (json!({"prompt": {"id": "pmpt_1"}}), "prompt"),
        (
            json!({"input": "x", "tools": [{"type": "web_search_preview"}]}),
            "tools",
        ),
        (
            json!({"input": "x", "tools": [{"type": "file_search", "vector_store_ids": ["vs"]}]}),
            "tools",
        ),
        (
            json!({"input": "x", "tools": [{"type": "code_interpreter", "container": {"type": "auto"}}]}),
            "tools",
        ),
        (
            json!({"input": "x", "tools": [{"type": "image_generation"}]}),
            "tools",
        ),
        (
            json!({"input": "x", "tools": [{"type": "mcp", "server_label": "s"}]}),
            "tools",
        ),
        (
            json!({"input": "x", "tools": [{"type": "computer_use_preview"}]}),
            "tools",
        ),
        (
            json!({"input": "x", "tool_choice": {"type": "web_search_preview"}}),
            "tool_choice",
        ),
        (
            json!({"input": [{"type": "item_reference", "id": "msg_1"}]}),
            "input",
        ),
        (
            json!({"input": [{"type": "web_search_call", "id": "ws_1", "status": "completed"}]}),
            "input",
        ),
        (
            json!({"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file-1"}]}]}),
            "input",
        ),
        (
            json!({"input": [{"role": "user", "content": [{"type": "input_file", "file_url": "https://x/a.pdf"}]}]}),
            "input",
        ),
        (
            json!({"input": [{"type": "function_call_output", "call_id": "c", "output": [{"type": "input_image", "image_url": "x"}]}]}),
            "input",
        ),
        (
            json!({"input": [{"type": "function_call", "name": "f"}]}),
            "input",
        ),
        (
            json!({"input": [{"role": "narrator", "content": "x"}]}),
            "input",
        ),
        (json!({"input": 5}), "input"),
        (json!({"model": "m"}), "input"),
        (json!({"input": "x", "instructions": ["x"]}), "instructions"),
        (json!({"input": "x", "text": {"format": {}}}), "text"),
    ];
    for (request, param) in cases {
        let (got, message) = rejected(responses_to_chat_request(request.to_string().as_bytes()));
        assert_eq!(got, Some(param), "{request}: {message}");
    }
    let (_, message) = rejected(responses_to_chat_request(
        json!({"input": "x", "tools": [{"type": "web_search_preview"}]})
            .to_string()
            .as_bytes(),
    ));
    assert!(message.contains("`web_search_preview`"), "{message}");
    let (_, message) = rejected(responses_to_chat_request(
        br#"{"input":"x","previous_response_id":"r"}"#,
    ));
    assert!(message.contains("Send the whole conversation"), "{message}");
    assert!(matches!(
        responses_to_chat_request(b"nope"),
        Err(GatewayError::InvalidJson(_))
    ));
}
