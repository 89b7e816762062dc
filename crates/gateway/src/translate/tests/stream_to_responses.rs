//! Chat chunks → Responses events.

use serde_json::{Value, json};

use super::fixtures::{AZURE_TEXT, CHAT_TOOLS};
use super::{parse_sse, run};
use crate::translate::{ChatToResponsesStream, RequestEcho, responses_to_chat_request};

const ID: &str = "chatcmpl-9bS7dOqCqAyNUo1zPdvCDUQ4wRMNm";

fn echo() -> RequestEcho {
    let request = json!({
        "model": "gpt-4o", "instructions": "Be brief.", "input": "hi", "temperature": 0.2,
        "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
        "tool_choice": "auto", "reasoning": {"effort": "low"},
        "text": {"format": {"type": "text"}, "verbosity": "low"}, "metadata": {"k": "v"},
        "user": "u1", "store": true, "stream": true,
    });
    responses_to_chat_request(request.to_string().as_bytes())
        .unwrap()
        .1
}

/// Events as `(name, data)`, checking each names its own type and the sequence numbers count
/// up from 0.
fn translate(stream: &str, echo: RequestEcho, complete: bool) -> Vec<(String, Value)> {
    let mut translator = ChatToResponsesStream::new(echo);
    let out = run(&mut translator, &[stream.as_bytes()], complete);
    let events = parse_sse(&out);
    for (seq, (name, data)) in events.iter().enumerate() {
        assert_eq!(name.as_deref(), data["type"].as_str(), "{data}");
        assert_eq!(data["sequence_number"], seq, "{data}");
    }
    events
        .into_iter()
        .map(|(name, mut data)| {
            let fields = data.as_object_mut().unwrap();
            fields.shift_remove("type");
            fields.shift_remove("sequence_number");
            (name.unwrap_or_default(), data)
        })
        .collect()
}

fn names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(n, _)| n.as_str()).collect()
}

#[test]
fn azure_text_stream_exact_events() {
    let events = translate(AZURE_TEXT, echo(), true);
    let msg = format!("msg_{ID}");
    let text = "héllo 🌍 \"ok\"\n";
    let part = json!({"type": "output_text", "text": text, "annotations": []});
    let item = json!({"id": msg, "type": "message", "status": "completed", "role": "assistant", "content": [part]});
    let response = json!({
        "id": format!("resp_{ID}"), "object": "response", "created_at": 1718756652,
        "status": "completed", "background": false, "error": null, "incomplete_details": null,
        "instructions": "Be brief.", "max_output_tokens": null, "max_tool_calls": null,
        "model": "gpt-4o-2024-08-06", "output": [item], "parallel_tool_calls": true,
        "previous_response_id": null, "prompt_cache_key": null,
        "reasoning": {"effort": "low", "summary": null}, "safety_identifier": null,
        "service_tier": "default", "store": false, "temperature": 0.2,
        "text": {"format": {"type": "text"}, "verbosity": "low"}, "tool_choice": "auto",
        "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
        "top_logprobs": 0, "top_p": 1.0, "truncation": "disabled",
        "usage": {
            "input_tokens": 308, "input_tokens_details": {"cached_tokens": 256},
            "output_tokens": 68, "output_tokens_details": {"reasoning_tokens": 32},
            "total_tokens": 376,
        },
        "user": "u1", "metadata": {"k": "v"},
    });
    let mut started = response.clone();
    started["status"] = json!("in_progress");
    started["output"] = json!([]);
    started["usage"] = Value::Null;
    let at = |content_index: u64| json!({"item_id": msg, "output_index": 0, "content_index": content_index});
    let with = |mut base: Value, extra: Value| {
        base.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        base
    };
    let want = vec![
        ("response.created", json!({"response": started})),
        ("response.in_progress", json!({"response": started})),
        (
            "response.output_item.added",
            json!({"output_index": 0, "item": {"id": msg, "type": "message", "status": "in_progress", "role": "assistant", "content": []}}),
        ),
        (
            "response.content_part.added",
            with(
                at(0),
                json!({"part": {"type": "output_text", "text": "", "annotations": []}}),
            ),
        ),
        (
            "response.output_text.delta",
            with(at(0), json!({"delta": "héllo ", "logprobs": []})),
        ),
        (
            "response.output_text.delta",
            with(at(0), json!({"delta": "🌍 \"ok\"\n", "logprobs": []})),
        ),
        (
            "response.output_text.done",
            with(at(0), json!({"text": text, "logprobs": []})),
        ),
        (
            "response.content_part.done",
            with(at(0), json!({"part": part})),
        ),
        (
            "response.output_item.done",
            json!({"output_index": 0, "item": item}),
        ),
        ("response.completed", json!({"response": response})),
    ];
    let got: Vec<(&str, &Value)> = events.iter().map(|(n, d)| (n.as_str(), d)).collect();
    let want: Vec<(&str, &Value)> = want.iter().map(|(n, d)| (*n, d)).collect();
    assert_eq!(got, want);
    // The response object's keys come in the API's order.
    let keys: Vec<&String> = events[9].1["response"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        keys[..5],
        ["id", "object", "created_at", "status", "background"]
    );
}

#[test]
fn parallel_tool_calls_exact_events() {
    let events = translate(CHAT_TOOLS, RequestEcho::default(), true);
    assert_eq!(
        names(&events),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.delta",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    let call = |n: u64, call_id: &str, name: &str, arguments: &str, status: &str| {
        json!({"type": "function_call", "id": format!("fc_chatcmpl-tools1_{n}"), "call_id": call_id,
               "name": name, "arguments": arguments, "status": status})
    };
    assert_eq!(
        events[2].1,
        json!({"output_index": 0, "item": call(0, "call_w", "get_weather", "", "in_progress")})
    );
    assert_eq!(
        events[3].1,
        json!({"item_id": "fc_chatcmpl-tools1_0", "output_index": 0, "delta": "{\"city\":\"Mün"})
    );
    assert_eq!(events[4].1["delta"], "chen\"}");
    assert_eq!(
        events[5].1,
        json!({"output_index": 1, "item": call(1, "call_t", "get_time", "", "in_progress")})
    );
    assert_eq!(
        events[6].1,
        json!({"item_id": "fc_chatcmpl-tools1_1", "output_index": 1, "delta": "{}"})
    );
    let first = call(
        0,
        "call_w",
        "get_weather",
        "{\"city\":\"München\"}",
        "completed",
    );
    let second = call(1, "call_t", "get_time", "{}", "completed");
    assert_eq!(
        events[7].1,
        json!({"item_id": "fc_chatcmpl-tools1_0", "output_index": 0, "arguments": "{\"city\":\"München\"}"})
    );
    assert_eq!(events[8].1, json!({"output_index": 0, "item": first}));
    assert_eq!(events[10].1, json!({"output_index": 1, "item": second}));
    let response = &events[11].1["response"];
    assert_eq!(response["output"], json!([first, second]));
    assert_eq!(response["id"], "resp_chatcmpl-tools1");
    assert_eq!(response["created_at"], 1741290000);
    assert_eq!(response["model"], "qwen3");
    assert_eq!(
        response["usage"],
        json!({"input_tokens": 50, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 20,
               "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 70})
    );
    // Argument deltas rebuild each call's arguments, which parse.
    let arguments: String = events[3..5]
        .iter()
        .map(|(_, d)| d["delta"].as_str().unwrap())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&arguments).unwrap(),
        json!({"city": "München"})
    );
}

fn chunk(delta: Value, finish: Value) -> String {
    let chunk = json!({"id": "chatcmpl-x", "object": "chat.completion.chunk", "created": 7, "model": "m",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]});
    format!("data: {chunk}\n\n")
}

#[test]
fn length_finish_is_incomplete() {
    let stream = [
        chunk(
            json!({"role": "assistant", "content": "Once upon"}),
            Value::Null,
        ),
        chunk(json!({}), json!("length")),
        "data: [DONE]\n\n".to_owned(),
    ]
    .concat();
    let events = translate(&stream, RequestEcho::default(), true);
    let (name, last) = events.last().unwrap();
    assert_eq!(name, "response.incomplete");
    assert_eq!(last["response"]["status"], "incomplete");
    assert_eq!(
        last["response"]["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    assert_eq!(last["response"]["output"][0]["status"], "incomplete");
    assert_eq!(last["response"]["usage"], Value::Null);
    assert_eq!(
        events[2].1["output_index"], 0,
        "the role chunk's text opened the message"
    );
}

#[test]
fn late_content_filter_annotation_makes_it_incomplete() {
    let late = concat!(
        r#"data: {"id":"","object":"","created":0,"model":"","choices":[{"index":0,"finish_reason":"content_filter","content_filter_results":{"protected_material_text":{"detected":true,"filtered":true}},"content_filter_offsets":{"check_offset":65,"start_offset":65,"end_offset":1056}}],"usage":null}"#,
        "\n\n"
    );
    let done_at = AZURE_TEXT.find("data: [DONE]").unwrap();
    let stream = format!("{}{late}{}", &AZURE_TEXT[..done_at], &AZURE_TEXT[done_at..]);
    let events = translate(&stream, RequestEcho::default(), true);
    let plain = translate(AZURE_TEXT, RequestEcho::default(), true);
    assert_eq!(
        events[..9],
        plain[..9],
        "the annotation itself emits nothing"
    );
    assert_eq!(events[9].0, "response.incomplete");
    assert_eq!(
        events[9].1["response"]["incomplete_details"]["reason"],
        "content_filter"
    );
}

#[test]
fn refusal_stream() {
    let stream = [
        chunk(
            json!({"role": "assistant", "refusal": "I can’t"}),
            Value::Null,
        ),
        chunk(json!({"refusal": " help."}), json!("stop")),
        "data: [DONE]\n\n".to_owned(),
    ]
    .concat();
    let events = translate(&stream, RequestEcho::default(), true);
    assert_eq!(
        names(&events)[2..],
        [
            "response.output_item.added",
            "response.content_part.added",
            "response.refusal.delta",
            "response.refusal.delta",
            "response.refusal.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    assert_eq!(
        events[3].1["part"],
        json!({"type": "refusal", "refusal": ""})
    );
    assert_eq!(
        events[4].1,
        json!({"item_id": "msg_chatcmpl-x", "output_index": 0, "content_index": 0, "delta": "I can’t"})
    );
    assert_eq!(
        events[6].1,
        json!({"item_id": "msg_chatcmpl-x", "output_index": 0, "content_index": 0, "refusal": "I can’t help."})
    );
    assert_eq!(
        events[9].1["response"]["output"][0]["content"],
        json!([{"type": "refusal", "refusal": "I can’t help."}])
    );
}

#[test]
fn upstream_error_becomes_error_then_failed() {
    let error = "data: {\"error\":{\"message\":\"The server had an error.\",\"type\":\"server_error\",\"param\":null,\"code\":\"server_error\"}}\n\n";
    let stream = format!(
        "{}{error}{}",
        chunk(json!({"content": "Hi"}), Value::Null),
        chunk(json!({"content": "x"}), Value::Null)
    );
    let events = translate(&stream, RequestEcho::default(), true);
    assert_eq!(
        names(&events),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "error",
            "response.failed",
        ]
    );
    assert_eq!(
        events[5].1,
        json!({"code": "server_error", "message": "The server had an error.", "param": null})
    );
    let response = &events[6].1["response"];
    assert_eq!(response["status"], "failed");
    assert_eq!(
        response["error"],
        json!({"code": "server_error", "message": "The server had an error."})
    );
    assert_eq!(response["output"][0]["content"][0]["text"], "Hi");

    // Before any real chunk: the response is still created first (SDK helpers require it).
    let azure_429 = "data: {\"error\":{\"code\":\"429\",\"message\":\"Rate limit.\"}}\n\n";
    let events = translate(azure_429, RequestEcho::default(), true);
    assert_eq!(
        names(&events),
        [
            "response.created",
            "response.in_progress",
            "error",
            "response.failed"
        ]
    );
    assert_eq!(events[2].1["code"], "429");
}

#[test]
fn how_the_upstream_ended_decides_the_close() {
    let finished = [
        chunk(json!({"content": "Hi"}), Value::Null),
        chunk(json!({}), json!("stop")),
    ]
    .concat();
    // Finish chunk but no [DONE]: a clean end still closes the response; a broken one does not.
    let clean = translate(&finished, RequestEcho::default(), true);
    assert_eq!(clean.last().unwrap().0, "response.completed");
    let broken = translate(&finished, RequestEcho::default(), false);
    assert_eq!(broken.last().unwrap().0, "response.output_item.done");
    // No finish chunk: nothing is owed either way.
    let cut = chunk(json!({"content": "Hi"}), Value::Null);
    for complete in [true, false] {
        let events = translate(&cut, RequestEcho::default(), complete);
        assert_eq!(events.last().unwrap().0, "response.output_text.delta");
    }
    // Events after the end change nothing.
    let extra = format!(
        "{finished}data: [DONE]\n\n{}data: [DONE]\n\n",
        chunk(json!({"content": "more"}), Value::Null)
    );
    assert_eq!(translate(&extra, RequestEcho::default(), true), clean);
}

#[test]
fn ids_without_an_upstream_id_are_stable() {
    let stream = concat!(
        "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n",
        "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n",
        "data: [DONE]\n\n",
    );
    let first = translate(stream, RequestEcho::default(), true);
    assert_eq!(first, translate(stream, RequestEcho::default(), true));
    let response = &first.last().unwrap().1["response"];
    let id = response["id"].as_str().unwrap();
    let base = id.strip_prefix("resp_").unwrap();
    assert_eq!(base.len(), 16, "{id}");
    assert_eq!(response["output"][0]["id"], format!("msg_{base}"));
    assert_eq!(response["output"][1]["id"], format!("fc_{base}_0"));
    assert_eq!(response["output"][1]["call_id"], format!("call_{base}_0"));
    assert_eq!(response["created_at"], 0);
    assert_eq!(response["model"], "");
}

#[test]
fn only_done_still_answers() {
    let events = translate("data: [DONE]\n\n", RequestEcho::default(), true);
    assert_eq!(
        names(&events),
        [
            "response.created",
            "response.in_progress",
            "response.completed"
        ]
    );
    assert_eq!(events[2].1["response"]["output"], json!([]));
}
