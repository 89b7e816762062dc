//! Pre-serialised JSON pieces shared by the body builders, so the hot path
//! formats strings instead of building `serde_json::Value` trees.

use crate::config::MockUsage;

/// Model name Azure reports for chat and responses (not the deployment name).
pub(crate) const CHAT_MODEL: &str = "gpt-4o-mini-2024-07-18";
/// Model name Azure reports for legacy text completions.
pub(crate) const COMPLETIONS_MODEL: &str = "gpt-35-turbo-instruct";
pub(crate) const EMBEDDINGS_MODEL: &str = "text-embedding-3-small";
pub(crate) const FINGERPRINT: &str = "fp_b705f0c291";

/// Safe verdicts for the four harm categories, as on every streamed delta (A7).
macro_rules! harm_safe {
    () => {
        r#""hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}"#
    };
}

/// The four harm categories with `violence` filtered: an answer the output filter stopped.
macro_rules! harm_violent {
    () => {
        r#""hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":true,"severity":"medium"}"#
    };
}

/// `content_filter_results` of a streamed delta choice.
pub(crate) const DELTA_FILTER: &str = concat!("{", harm_safe!(), "}");

/// `content_filter_results` of the finish chunk of a stream the output filter stopped.
pub(crate) const FILTERED_DELTA: &str = concat!("{", harm_violent!(), "}");

/// `content_filter_results` of a complete choice, with protected-material checks (A5).
pub(crate) const CHOICE_FILTER: &str = concat!(
    "{",
    harm_safe!(),
    r#","protected_material_code":{"filtered":false,"detected":false},"protected_material_text":{"filtered":false,"detected":false}}"#
);

/// [`CHOICE_FILTER`] of a choice that finished with `content_filter`.
pub(crate) const FILTERED_CHOICE: &str = concat!(
    "{",
    harm_violent!(),
    r#","protected_material_code":{"filtered":false,"detected":false},"protected_material_text":{"filtered":false,"detected":false}}"#
);

/// The prompt's own verdicts, including the jailbreak check.
pub(crate) const PROMPT_VERDICTS: &str = concat!(
    "{",
    harm_safe!(),
    r#","jailbreak":{"filtered":false,"detected":false}}"#
);

/// Top-level `prompt_filter_results` array (A5, A7).
pub(crate) const PROMPT_FILTER: &str = concat!(
    r#"[{"prompt_index":0,"content_filter_results":{"#,
    harm_safe!(),
    r#","jailbreak":{"filtered":false,"detected":false}}}]"#
);

/// Azure's first chat/completions stream event: empty choices, empty id/object/model,
/// `created:0`, carrying the prompt's filter results (A7 item 1).
pub(crate) const PROMPT_FILTER_EVENT: &str = concat!(
    r#"data: {"choices":[],"created":0,"id":"","model":"","object":"","system_fingerprint":null,"prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"#,
    harm_safe!(),
    r#","jailbreak":{"filtered":false,"detected":false}}}]}"#,
    "\n\n"
);

pub(crate) const DONE_EVENT: &str = "data: [DONE]\n\n";

/// What a refusing model says; needs no JSON escaping.
pub(crate) const REFUSAL: &str = "I'm sorry, I can't help with that.";

/// [`REFUSAL`] as streamed deltas.
pub(crate) const REFUSAL_PIECES: [&str; 3] = ["I'm sorry,", " I can't", " help with that."];

/// Text pieces; contain no characters that need JSON escaping. The multi-byte
/// ones exercise UTF-8 handling in stream scanners.
const PIECES: [&str; 5] = [" from", " mock-azure", " — héllo", " 🌍.", " Hello"];

/// The `i`-th content delta; the first five read "Hello from mock-azure — héllo 🌍.".
pub(crate) fn piece(i: usize) -> &'static str {
    match i {
        0 => "Hello",
        _ => PIECES[(i - 1) % PIECES.len()],
    }
}

/// The full text carried by `n` deltas (answers build it through `script::Text`).
#[cfg(test)]
pub(crate) fn text(n: usize) -> String {
    (0..n).map(piece).collect()
}

/// `s` as a JSON string literal, quotes included: model names can come from a
/// request header or body, so they are escaped rather than pasted.
pub(crate) fn json_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// Chat completions `usage` object.
pub(crate) fn chat_usage(u: MockUsage) -> String {
    format!(
        r#"{{"completion_tokens":{},"completion_tokens_details":{{"accepted_prediction_tokens":0,"audio_tokens":0,"reasoning_tokens":{},"rejected_prediction_tokens":0}},"prompt_tokens":{},"prompt_tokens_details":{{"audio_tokens":0,"cached_tokens":{}}},"total_tokens":{}}}"#,
        u.completion,
        u.reasoning,
        u.prompt,
        u.cached,
        u.total()
    )
}

/// Legacy completions `usage` object.
pub(crate) fn completions_usage(u: MockUsage) -> String {
    format!(
        r#"{{"completion_tokens":{},"prompt_tokens":{},"total_tokens":{}}}"#,
        u.completion,
        u.prompt,
        u.total()
    )
}

/// Responses API `usage` object.
pub(crate) fn responses_usage(u: MockUsage) -> String {
    format!(
        r#"{{"input_tokens":{},"input_tokens_details":{{"cached_tokens":{}}},"output_tokens":{},"output_tokens_details":{{"reasoning_tokens":{}}},"total_tokens":{}}}"#,
        u.prompt,
        u.cached,
        u.completion,
        u.reasoning,
        u.total()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn constants_are_valid_json() {
        for s in [
            DELTA_FILTER,
            CHOICE_FILTER,
            FILTERED_DELTA,
            FILTERED_CHOICE,
            PROMPT_VERDICTS,
            PROMPT_FILTER,
        ] {
            serde_json::from_str::<Value>(s).unwrap();
        }
        let event = PROMPT_FILTER_EVENT.strip_prefix("data: ").unwrap();
        let v: Value = serde_json::from_str(event.trim_end()).unwrap();
        assert_eq!(v["choices"], serde_json::json!([]));
        assert_eq!(v["created"], 0);
    }

    #[test]
    fn usage_objects_are_valid_json() {
        let u = MockUsage::default();
        let chat: Value = serde_json::from_str(&chat_usage(u)).unwrap();
        assert_eq!(chat["total_tokens"], 18);
        assert_eq!(chat["prompt_tokens_details"]["cached_tokens"], 3);
        let resp: Value = serde_json::from_str(&responses_usage(u)).unwrap();
        assert_eq!(resp["output_tokens_details"]["reasoning_tokens"], 2);
        let comp: Value = serde_json::from_str(&completions_usage(u)).unwrap();
        assert_eq!(comp["prompt_tokens"], 11);
    }

    #[test]
    fn text_is_json_safe_and_multibyte() {
        let t = text(12);
        assert!(!t.contains(['"', '\\']));
        assert!(text(5).contains("héllo 🌍"));
        assert_eq!(text(0), "");
        assert_eq!(REFUSAL_PIECES.concat(), REFUSAL);
    }
}
