//! Chat completions bodies: the JSON answer and the Azure-ordered SSE stream (A7).

use bytes::Bytes;

use crate::config::MockUsage;
use crate::fragments::{
    CHOICE_FILTER, DELTA_FILTER, DONE_EVENT, FINGERPRINT, PROMPT_FILTER, PROMPT_FILTER_EVENT,
    chat_usage, json_string, piece, text,
};
use crate::ids;

/// A non-streaming `chat.completion` with Azure's filter annotations (A5);
/// `model` is the name the answer reports.
pub(crate) fn json(model: &str, usage: MockUsage, pieces: usize) -> Bytes {
    let id = ids::token("chatcmpl-", 29);
    let created = ids::unix_now();
    let content = text(pieces);
    let usage = chat_usage(usage);
    let model = json_string(model);
    Bytes::from(format!(
        r#"{{"choices":[{{"content_filter_results":{CHOICE_FILTER},"finish_reason":"stop","index":0,"logprobs":null,"message":{{"annotations":[],"content":"{content}","refusal":null,"role":"assistant"}}}}],"created":{created},"id":"{id}","model":{model},"object":"chat.completion","prompt_filter_results":{PROMPT_FILTER},"system_fingerprint":"{FINGERPRINT}","usage":{usage}}}"#
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

/// The whole stream, in Azure's order: prompt-filter chunk, role chunk, `pieces`
/// content deltas, finish chunk, the usage chunk if asked for, `[DONE]`.
pub(crate) fn events(
    model: &str,
    usage: MockUsage,
    pieces: usize,
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
    let mut events = Vec::with_capacity(pieces + 5);
    events.push(Bytes::from_static(PROMPT_FILTER_EVENT.as_bytes()));
    events.push(chunker.choice(
        "{}",
        r#"{"content":"","refusal":null,"role":"assistant"}"#,
        "null",
    ));
    for i in 0..pieces {
        let delta = format!(r#"{{"content":"{}"}}"#, piece(i));
        events.push(chunker.choice(DELTA_FILTER, &delta, "null"));
    }
    events.push(chunker.choice("{}", "{}", r#""stop""#));
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
    use serde_json::Value;

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
        let v: Value = serde_json::from_slice(&json("m\"1", MockUsage::default(), 5)).unwrap();
        assert_eq!(v["object"], "chat.completion");
        assert_eq!(v["model"], "m\"1");
        assert_eq!(v["choices"][0]["message"]["content"], text(5));
        assert_eq!(v["usage"]["total_tokens"], 18);
    }

    #[test]
    fn stream_order_with_usage() {
        let events = events("dep", MockUsage::default(), 3, true);
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
        let events = events("dep", MockUsage::default(), 2, false);
        assert_eq!(events.len(), 2 + 4);
        assert!(parse(&events[2]).get("usage").is_none());
    }
}
