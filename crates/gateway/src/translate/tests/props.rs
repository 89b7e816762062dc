//! Property tests: framing never changes a stream's translation, and no input panics or
//! yields malformed output.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde_json::{Value, json};

use super::fixtures::{AZURE_TEXT, CHAT_TOOLS, RESPONSES, RESPONSES_INCOMPLETE};
use super::{json, parse_sse, run};
use crate::translate::{
    ChatToResponsesStream, EventTranslator, RequestEcho, ResponsesToChatStream,
    chat_to_responses_request, chat_to_responses_response, responses_to_chat_request,
    responses_to_chat_response,
};

/// Upstream streams, and whether each is a chat stream (else a Responses one).
const STREAMS: [(&str, bool); 4] = [
    (AZURE_TEXT, true),
    (CHAT_TOOLS, true),
    (RESPONSES, false),
    (RESPONSES_INCOMPLETE, false),
];

fn translator(chat: bool) -> Box<dyn EventTranslator> {
    if chat {
        let request =
            r#"{"input":"x","tools":[{"type":"function","name":"f"}],"metadata":{"a":"é"}}"#
                .as_bytes();
        let echo = responses_to_chat_request(request)
            .map(|t| t.1)
            .unwrap_or_default();
        Box::new(ChatToResponsesStream::new(echo))
    } else {
        Box::new(ResponsesToChatStream::new(true))
    }
}

fn translate(chat: bool, frames: &[&[u8]]) -> Vec<u8> {
    run(translator(chat).as_mut(), frames, true)
}

fn crlf(stream: &str) -> String {
    stream.replace('\n', "\r\n")
}

/// Cuts inside every multi-byte character and every `\r\n` pair (CRLF endings), and every
/// seventh byte besides, each give the bytes of the unsplit run.
#[test]
fn cuts_inside_characters_and_line_endings_give_the_same_bytes() {
    for (stream, chat) in STREAMS {
        let body = crlf(stream);
        let body = body.as_bytes();
        let whole = translate(chat, &[body]);
        assert!(parse_sse(&whole).len() > 5);
        let inside_char = |cut: usize| body[cut] & 0xC0 == 0x80;
        let inside_crlf = |cut: usize| body[cut - 1] == b'\r' && body[cut] == b'\n';
        let cuts: Vec<usize> = (1..body.len())
            .filter(|&cut| inside_char(cut) || inside_crlf(cut) || cut % 7 == 0)
            .collect();
        assert!(
            cuts.iter().filter(|&&c| inside_char(c)).count() >= 1,
            "multi-byte characters"
        );
        assert!(
            cuts.iter().filter(|&&c| inside_crlf(c)).count() >= 5,
            "CRLF pairs"
        );
        for cut in cuts {
            let (a, b) = body.split_at(cut);
            assert!(translate(chat, &[a, b]) == whole, "cut at {cut}");
        }
    }
}

fn frames<'a>(body: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|i| i.index(body.len() + 1)).collect();
    at.sort_unstable();
    let mut frames = Vec::with_capacity(at.len() + 1);
    let mut start = 0;
    for cut in at {
        frames.push(&body[start..cut]);
        start = cut;
    }
    frames.push(&body[start..]);
    frames
}

/// Keys and strings the translators look at, so random JSON reaches their branches.
const KEYS: &[&str] = &[
    "model",
    "messages",
    "input",
    "role",
    "content",
    "type",
    "text",
    "image_url",
    "url",
    "detail",
    "file",
    "file_id",
    "file_data",
    "tool_calls",
    "id",
    "function",
    "name",
    "arguments",
    "tool_call_id",
    "tools",
    "tool_choice",
    "function_call",
    "functions",
    "response_format",
    "json_schema",
    "schema",
    "strict",
    "n",
    "modalities",
    "audio",
    "stream",
    "stream_options",
    "include_usage",
    "store",
    "max_tokens",
    "max_completion_tokens",
    "reasoning_effort",
    "reasoning",
    "effort",
    "summary",
    "format",
    "verbosity",
    "instructions",
    "call_id",
    "output",
    "refusal",
    "status",
    "incomplete_details",
    "reason",
    "usage",
    "input_tokens",
    "output_tokens",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "choices",
    "message",
    "finish_reason",
    "index",
    "delta",
    "error",
    "created",
    "created_at",
    "annotations",
    "url_citation",
    "allowed_tools",
    "mode",
    "previous_response_id",
    "background",
    "item",
    "output_index",
    "content_index",
    "response",
    "code",
    "param",
    "item_id",
    "service_tier",
    "object",
];

const WORDS: &[&str] = &[
    "user",
    "assistant",
    "system",
    "developer",
    "tool",
    "function",
    "text",
    "image_url",
    "file",
    "input_audio",
    "input_text",
    "input_image",
    "input_file",
    "output_text",
    "refusal",
    "message",
    "function_call",
    "function_call_output",
    "reasoning",
    "item_reference",
    "json_schema",
    "json_object",
    "auto",
    "none",
    "required",
    "allowed_tools",
    "custom",
    "web_search_preview",
    "completed",
    "incomplete",
    "failed",
    "max_output_tokens",
    "content_filter",
    "length",
    "stop",
    "tool_calls",
    "response.created",
    "response.output_text.delta",
    "response.output_text.done",
    "response.refusal.delta",
    "response.output_item.added",
    "response.output_item.done",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.completed",
    "response.incomplete",
    "response.failed",
    "error",
    "[DONE]",
    "",
    "héllo 🌍",
];

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (0u64..5).prop_map(Value::from),
        (-1e9f64..1e9).prop_map(Value::from),
        select(WORDS).prop_map(Value::from),
        ".{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Value::Array),
            vec((select(KEYS), inner), 0..6).prop_map(|members| {
                Value::Object(
                    members
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect(),
                )
            }),
        ]
    })
}

/// Valid inputs of every kind, for mutation.
fn bases() -> Vec<Value> {
    let mut bases = vec![
        json!({"model": "m", "messages": [
            {"role": "system", "content": "s"},
            {"role": "user", "content": [{"type": "text", "text": "t"}, {"type": "image_url", "image_url": {"url": "u", "detail": "low"}}, {"type": "file", "file": {"file_id": "f"}}]},
            {"role": "assistant", "content": "a", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}], "function_call": {"name": "g", "arguments": ""}},
            {"role": "tool", "tool_call_id": "c", "content": [{"type": "text", "text": "r"}]},
            {"role": "function", "name": "g", "content": "r"},
        ], "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
        "functions": [{"name": "g"}], "tool_choice": {"type": "allowed_tools", "allowed_tools": {"mode": "auto", "tools": [{"type": "function", "function": {"name": "f"}}]}},
        "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": {}}}, "n": 1, "stream": true}),
        json!({"model": "m", "instructions": "i", "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "t"}, {"type": "input_image", "image_url": "u"}, {"type": "input_file", "file_id": "f"}]},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "a"}, {"type": "refusal", "refusal": "r"}]},
            {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c", "output": [{"type": "input_text", "text": "o"}]},
            {"type": "reasoning", "summary": []},
        ], "tools": [{"type": "function", "name": "f"}], "tool_choice": {"type": "function", "name": "f"},
        "text": {"format": {"type": "json_schema", "name": "n", "schema": {}}, "verbosity": "low"},
        "reasoning": {"effort": "low", "summary": "auto"}, "stream": true}),
        json!({"id": "chatcmpl-1", "created": 1, "model": "m", "choices": [{"index": 0, "finish_reason": "length",
            "message": {"content": "c", "refusal": "r", "annotations": [{"type": "url_citation", "url_citation": {"url": "u"}}],
            "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{}"}}]}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "prompt_tokens_details": {"cached_tokens": 1}}}),
    ];
    for stream in [AZURE_TEXT, CHAT_TOOLS, RESPONSES, RESPONSES_INCOMPLETE] {
        for line in stream.lines().filter_map(|l| l.strip_prefix("data: ")) {
            if let Ok(value) = serde_json::from_str(line) {
                bases.push(value);
            }
        }
    }
    bases
}

/// `base` with the node at `at` (in depth-first order) replaced by `with`.
fn mutate(mut base: Value, at: Index, with: Value) -> Value {
    fn pointers(value: &Value, here: String, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    pointers(
                        v,
                        format!("{here}/{}", k.replace('~', "~0").replace('/', "~1")),
                        out,
                    );
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    pointers(v, format!("{here}/{i}"), out);
                }
            }
            _ => {}
        }
        out.push(here);
    }
    let mut all = Vec::new();
    pointers(&base, String::new(), &mut all);
    let pointer = &all[at.index(all.len())];
    if let Some(node) = base.pointer_mut(pointer) {
        *node = with;
    }
    base
}

/// Every translator on one body: no panic, and whatever comes out is well formed.
fn check_body(body: &[u8]) {
    if let Ok(t) = chat_to_responses_request(body) {
        assert!(json(&t.body).is_object());
    }
    if let Ok((t, echo)) = responses_to_chat_request(body) {
        assert!(json(&t.body).is_object());
        if let Ok(out) = chat_to_responses_response(body, &echo) {
            assert!(json(&out).is_object());
        }
    }
    if let Ok(out) = responses_to_chat_response(body) {
        assert!(json(&out).is_object());
    }
    if let Ok(out) = chat_to_responses_response(body, &RequestEcho::default()) {
        assert!(json(&out).is_object());
    }
}

/// Both stream translators on events made of `datas`: no panic, well-formed SSE out.
fn check_stream(datas: &[(Option<&str>, Vec<u8>)], complete: bool) {
    let mut body = Vec::new();
    for (name, data) in datas {
        if let Some(name) = name {
            body.extend_from_slice(format!("event: {name}\n").as_bytes());
        }
        body.extend_from_slice(b"data: ");
        body.extend(
            data.iter()
                .map(|b| if matches!(b, b'\n' | b'\r') { b' ' } else { *b }),
        );
        body.extend_from_slice(b"\n\n");
    }
    for chat in [true, false] {
        let out = run(translator(chat).as_mut(), &[&body], complete);
        parse_sse(&out);
    }
}

fn event_data() -> impl Strategy<Value = (Option<&'static str>, Vec<u8>)> {
    let bases = bases();
    let data = prop_oneof![
        3 => (select(bases), any::<Index>(), arb_json()).prop_map(|(b, at, with)| {
            serde_json::to_vec(&mutate(b, at, with)).unwrap_or_default()
        }),
        1 => arb_json().prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
        1 => vec(any::<u8>(), 0..24),
        1 => Just(b"[DONE]".to_vec()),
    ];
    (proptest::option::of(select(WORDS)), data)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_framing_gives_the_same_bytes(
        which in 0..STREAMS.len(),
        line_endings in any::<bool>(),
        cuts in vec(any::<Index>(), 0..24),
    ) {
        let (stream, chat) = STREAMS[which];
        let body = if line_endings { crlf(stream) } else { stream.to_owned() };
        let body = body.as_bytes();
        let whole = translate(chat, &[body]);
        prop_assert_eq!(translate(chat, &frames(body, &cuts)), whole);
    }

    #[test]
    fn arbitrary_bodies_never_panic(
        base in select(bases()),
        at in any::<Index>(),
        with in arb_json(),
        random in arb_json(),
        garbage in vec(any::<u8>(), 0..64),
    ) {
        check_body(&serde_json::to_vec(&mutate(base, at, with)).unwrap_or_default());
        check_body(&serde_json::to_vec(&random).unwrap_or_default());
        check_body(&garbage);
    }

    #[test]
    fn arbitrary_events_never_panic(datas in vec(event_data(), 0..12), complete in any::<bool>()) {
        check_stream(&datas, complete);
    }
}
