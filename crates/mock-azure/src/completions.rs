//! Legacy text completions bodies, JSON and SSE, with Azure's filter annotations. A
//! [`Script`] here is always text; the output filter can still stop it.

use bytes::Bytes;

use crate::config::MockUsage;
use crate::fragments::{
    CHOICE_FILTER, COMPLETIONS_MODEL, DELTA_FILTER, DONE_EVENT, FILTERED_CHOICE, FILTERED_DELTA,
    PROMPT_FILTER, PROMPT_FILTER_EVENT, completions_usage,
};
use crate::ids;
use crate::script::Script;

/// A non-streaming `text_completion`.
pub(crate) fn json(usage: MockUsage, script: &Script) -> Bytes {
    let id = ids::token("cmpl-", 29);
    let created = ids::unix_now();
    let content = script.answer.pieces().concat();
    let usage = completions_usage(usage);
    let (filter, finish) = finish(script, CHOICE_FILTER, FILTERED_CHOICE);
    Bytes::from(format!(
        r#"{{"choices":[{{"content_filter_results":{filter},"finish_reason":{finish},"index":0,"logprobs":null,"text":"{content}"}}],"created":{created},"id":"{id}","model":"{COMPLETIONS_MODEL}","object":"text_completion","prompt_filter_results":{PROMPT_FILTER},"usage":{usage}}}"#
    ))
}

/// The finishing choice's filter results (`normal` or `filtered`) and `finish_reason`.
fn finish(
    script: &Script,
    normal: &'static str,
    filtered: &'static str,
) -> (&'static str, &'static str) {
    if script.filter_finish {
        (filtered, r#""content_filter""#)
    } else {
        (normal, r#""stop""#)
    }
}

/// Prompt-filter chunk, the text chunks, finish chunk, optional usage chunk, `[DONE]`.
pub(crate) fn events(usage: MockUsage, script: &Script, include_usage: bool) -> Vec<Bytes> {
    let id = ids::token("cmpl-", 29);
    let created = ids::unix_now();
    let usage_null = if include_usage {
        r#","usage":null"#
    } else {
        ""
    };
    let chunk = |choices: &str, usage: &str| {
        Bytes::from(
            format!(
                r#"data: {{"choices":{choices},"created":{created},"id":"{id}","model":"{COMPLETIONS_MODEL}","object":"text_completion"{usage}}}"#
            ) + "\n\n",
        )
    };
    let choice = |filter: &str, text: &str, finish: &str| {
        let choices = format!(
            r#"[{{"content_filter_results":{filter},"finish_reason":{finish},"index":0,"logprobs":null,"text":"{text}"}}]"#
        );
        chunk(&choices, usage_null)
    };
    let pieces = script.answer.pieces();
    let mut events = Vec::with_capacity(pieces.len() + 4);
    events.push(Bytes::from_static(PROMPT_FILTER_EVENT.as_bytes()));
    for piece in pieces {
        events.push(choice(DELTA_FILTER, piece, "null"));
    }
    let (filter, finish) = finish(script, "{}", FILTERED_DELTA);
    events.push(choice(filter, "", finish));
    if include_usage {
        events.push(chunk(
            "[]",
            &format!(r#","usage":{}"#, completions_usage(usage)),
        ));
    }
    events.push(Bytes::from_static(DONE_EVENT.as_bytes()));
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Behavior;
    use serde_json::Value;

    fn plain(pieces: usize) -> Script {
        Script::plain(&Behavior {
            content_events: Some(pieces),
            ..Behavior::default()
        })
    }

    #[test]
    fn json_shape() {
        let v: Value = serde_json::from_slice(&json(MockUsage::default(), &plain(2))).unwrap();
        assert_eq!(v["object"], "text_completion");
        assert_eq!(v["choices"][0]["text"], "Hello from");
        assert!(v["choices"][0]["logprobs"].is_null());
    }

    #[test]
    fn stream_events_parse() {
        let events = events(MockUsage::default(), &plain(2), true);
        assert_eq!(events.len(), 2 + 4);
        for e in &events[..events.len() - 1] {
            let s = std::str::from_utf8(e).unwrap();
            let data = s.strip_prefix("data: ").unwrap().trim_end();
            serde_json::from_str::<Value>(data).unwrap();
        }
    }
}
