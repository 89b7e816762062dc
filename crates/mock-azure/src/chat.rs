//! Chat completions bodies: the JSON answer and the Azure-ordered SSE stream (A7), for
//! every [`Script`]: text, refusal or tool call, finished normally or by the output
//! filter, with asynchronous-filter annotations when asked.

use bytes::Bytes;

use crate::config::MockUsage;
use crate::fragments::{
    CHOICE_FILTER, DELTA_FILTER, DONE_EVENT, FILTERED_CHOICE, FILTERED_DELTA, FINGERPRINT,
    PROMPT_FILTER, PROMPT_FILTER_EVENT, REFUSAL, chat_usage, json_string,
};
use crate::ids;
use crate::script::{Answer, Script};
use crate::tools;

/// Content deltas between two asynchronous-filter annotations.
const ANNOTATE_EVERY: usize = 2;

/// A non-streaming `chat.completion` with Azure's filter annotations (A5);
/// `model` is the name the answer reports.
pub(crate) fn json(model: &str, usage: MockUsage, script: &Script) -> Bytes {
    let id = ids::token("chatcmpl-", 29);
    let created = ids::unix_now();
    let message = match &script.answer {
        Answer::Text(text) => format!(
            r#"{{"annotations":[],"content":"{}","refusal":null,"role":"assistant"}}"#,
            text.full()
        ),
        Answer::Refusal => format!(
            r#"{{"annotations":[],"content":null,"refusal":"{REFUSAL}","role":"assistant"}}"#
        ),
        Answer::Tool(call) => format!(
            r#"{{"annotations":[],"content":null,"refusal":null,"role":"assistant","tool_calls":[{}]}}"#,
            call.chat_json()
        ),
    };
    let filter = if script.filter_finish {
        FILTERED_CHOICE
    } else {
        CHOICE_FILTER
    };
    let finish = script.finish_reason();
    let usage = chat_usage(usage);
    let model = json_string(model);
    Bytes::from(format!(
        r#"{{"choices":[{{"content_filter_results":{filter},"finish_reason":"{finish}","index":0,"logprobs":null,"message":{message}}}],"created":{created},"id":"{id}","model":{model},"object":"chat.completion","prompt_filter_results":{PROMPT_FILTER},"system_fingerprint":"{FINGERPRINT}","usage":{usage}}}"#
    ))
}

/// Identity shared by every chunk of one stream.
struct Chunker {
    id: String,
    created: u64,
    /// The reported model name, already a JSON string literal.
    model: String,
    /// `,"usage":null` when the client asked for a usage chunk, as OpenAI does.
    usage_null: &'static str,
}

impl Chunker {
    fn chunk(&self, choices: &str, usage: &str) -> Bytes {
        let Self {
            id, created, model, ..
        } = self;
        Bytes::from(
            format!(
                r#"data: {{"choices":{choices},"created":{created},"id":"{id}","model":{model},"object":"chat.completion.chunk","system_fingerprint":"{FINGERPRINT}"{usage}}}"#
            ) + "\n\n",
        )
    }

    fn choice(&self, filter: &str, delta: &str, finish: &str) -> Bytes {
        let choices = format!(
            r#"[{{"content_filter_results":{filter},"delta":{delta},"finish_reason":{finish},"index":0,"logprobs":null}}]"#
        );
        self.chunk(&choices, self.usage_null)
    }
}

/// An asynchronous-filter annotation (A7 item 3): no identity, no `delta`, the verdict
/// on the characters `start..end` of the streamed text.
fn annotation(start: usize, end: usize, filtered: bool) -> Bytes {
    let (finish, filter) = if filtered {
        (r#""content_filter""#, FILTERED_DELTA)
    } else {
        ("null", DELTA_FILTER)
    };
    Bytes::from(format!(
        "data: {{\"id\":\"\",\"object\":\"\",\"created\":0,\"model\":\"\",\"choices\":[{{\"index\":0,\"finish_reason\":{finish},\"content_filter_results\":{filter},\"content_filter_offsets\":{{\"check_offset\":{start},\"start_offset\":{start},\"end_offset\":{end}}}}}],\"usage\":null}}\n\n"
    ))
}

/// The whole stream, in Azure's order: prompt-filter chunk, role chunk, the deltas
/// (content, refusal, or a tool call's opening and argument pieces), finish chunk, the
/// usage chunk if asked for, `[DONE]`. Annotations, if asked for, follow every
/// [`ANNOTATE_EVERY`] text deltas and the finish chunk.
pub(crate) fn events(
    model: &str,
    usage: MockUsage,
    script: &Script,
    include_usage: bool,
) -> Vec<Bytes> {
    let chunker = Chunker {
        id: ids::token("chatcmpl-", 29),
        created: ids::unix_now(),
        model: json_string(model),
        usage_null: if include_usage {
            r#","usage":null"#
        } else {
            ""
        },
    };
    let pieces = script.answer.pieces();
    let mut events = Vec::with_capacity(2 * pieces.len() + 8);
    events.push(Bytes::from_static(PROMPT_FILTER_EVENT.as_bytes()));
    let role = match &script.answer {
        Answer::Text(_) => r#"{"content":"","refusal":null,"role":"assistant"}"#,
        Answer::Refusal => r#"{"content":null,"refusal":"","role":"assistant"}"#,
        Answer::Tool(_) => r#"{"content":null,"refusal":null,"role":"assistant"}"#,
    };
    events.push(chunker.choice("{}", role, "null"));
    let field = match script.answer {
        Answer::Refusal => "refusal",
        _ => "content",
    };
    // Offsets in characters of the text streamed so far, for the annotations.
    let (mut annotated, mut offset) = (0, 0);
    for (i, piece) in pieces.iter().enumerate() {
        let delta = format!(r#"{{"{field}":"{piece}"}}"#);
        events.push(chunker.choice(DELTA_FILTER, &delta, "null"));
        offset += piece.chars().count();
        if script.async_filter && (i + 1) % ANNOTATE_EVERY == 0 {
            events.push(annotation(annotated, offset, false));
            annotated = offset;
        }
    }
    if let Answer::Tool(call) = &script.answer {
        events.push(chunker.choice("{}", &call.chat_opening_delta(), "null"));
        for piece in call.argument_pieces() {
            let delta = tools::chat_arguments_delta(piece);
            events.push(chunker.choice("{}", &delta, "null"));
        }
    }
    let finish_filter = if script.filter_finish {
        FILTERED_DELTA
    } else {
        "{}"
    };
    let finish = format!(r#""{}""#, script.finish_reason());
    events.push(chunker.choice(finish_filter, "{}", &finish));
    if script.async_filter {
        events.push(annotation(annotated, offset, script.filter_finish));
    }
    if include_usage {
        let usage = format!(r#","usage":{}"#, chat_usage(usage));
        events.push(chunker.chunk("[]", &usage));
    }
    events.push(Bytes::from_static(DONE_EVENT.as_bytes()));
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Behavior;
    use crate::fragments::text;
    use serde_json::Value;

    fn plain(pieces: usize) -> Script {
        Script::plain(&Behavior {
            content_events: Some(pieces),
            ..Behavior::default()
        })
    }

    fn parse(event: &Bytes) -> Value {
        let s = std::str::from_utf8(event).unwrap();
        let data = s
            .strip_prefix("data: ")
            .unwrap()
            .strip_suffix("\n\n")
            .unwrap();
        serde_json::from_str(data).unwrap()
    }

    #[test]
    fn json_shape() {
        let v: Value =
            serde_json::from_slice(&json("m\"1", MockUsage::default(), &plain(5))).unwrap();
        assert_eq!(v["object"], "chat.completion");
        assert_eq!(v["model"], "m\"1");
        assert_eq!(v["choices"][0]["message"]["content"], text(5));
        assert_eq!(v["usage"]["total_tokens"], 18);
    }

    #[test]
    fn stream_order_with_usage() {
        let events = events("dep", MockUsage::default(), &plain(3), true);
        assert_eq!(events.len(), 3 + 5);
        let all: Vec<Value> = events[..events.len() - 1].iter().map(parse).collect();
        assert_eq!(all[0]["choices"], serde_json::json!([]));
        assert_eq!(all[1]["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(all[1]["model"], "dep");
        assert_eq!(all[5]["choices"][0]["finish_reason"], "stop");
        assert_eq!(all[6]["usage"]["completion_tokens"], 7);
        assert!(all[2]["usage"].is_null() && all[2].get("usage").is_some());
        assert_eq!(events.last().unwrap().as_ref(), b"data: [DONE]\n\n");
    }

    #[test]
    fn stream_without_usage_omits_the_field() {
        let events = events("dep", MockUsage::default(), &plain(2), false);
        assert_eq!(events.len(), 2 + 4);
        assert!(parse(&events[2]).get("usage").is_none());
    }
}
