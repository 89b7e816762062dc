use bytes::Bytes;
use serde_json::{Value, json};

use super::*;

fn reasoning() -> Rules {
    Rules::new(None, ModelFamily::Reasoning, &[UpstreamKind::Azure])
}

fn chat() -> Rules {
    Rules::new(None, ModelFamily::Chat, &[UpstreamKind::Azure])
}

fn run(op: Operation, body: Value, stream: bool, rules: &Rules) -> (Option<Value>, Normalized) {
    let bytes = Bytes::from(serde_json::to_vec(&body).unwrap());
    let out = apply(op, &bytes, stream, rules).unwrap();
    let value = out
        .body
        .as_ref()
        .map(|b| serde_json::from_slice::<Value>(b).unwrap());
    (value, out)
}

fn text(op: Operation, body: &str, stream: bool, rules: &Rules) -> Option<String> {
    let out = apply(op, &Bytes::from(body.to_owned()), stream, rules).unwrap();
    out.body.map(|b| String::from_utf8(b.to_vec()).unwrap())
}

#[test]
fn reasoning_chat_rules_keep_key_order() {
    let body = r#"{"model":"o3","max_tokens":50,"messages":[],"temperature":0.2,"top_logprobs":2,"reasoning_effort":"XHigh","service_tier":"auto","verbosity":"low","top_k":5}"#;
    let out = apply(
        Operation::ChatCompletions,
        &Bytes::from_static(body.as_bytes()),
        false,
        &reasoning(),
    )
    .unwrap();
    assert_eq!(
        std::str::from_utf8(out.body.as_deref().unwrap()).unwrap(),
        r#"{"model":"o3","max_completion_tokens":50,"messages":[],"top_logprobs":2,"reasoning_effort":"high","logprobs":true}"#
    );
    assert_eq!(
        out.dropped,
        ["temperature", "service_tier", "verbosity", "top_k"]
    );
    assert!(!out.strip_usage);
}

#[test]
fn minimal_and_none_efforts_pass_and_unknown_is_refused() {
    for effort in ["minimal", "none", "low", "medium", "high"] {
        let body = format!(r#"{{"model":"gpt-5","reasoning_effort":"{effort}"}}"#);
        assert_eq!(
            text(Operation::ChatCompletions, &body, false, &reasoning()),
            None,
            "{effort} is untouched"
        );
    }
    let err = apply(
        Operation::ChatCompletions,
        &Bytes::from_static(br#"{"reasoning_effort":"extreme"}"#),
        false,
        &reasoning(),
    )
    .unwrap_err();
    let GatewayError::InvalidRequest {
        param,
        code,
        message,
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!((param, code), (Some("reasoning_effort"), "invalid_value"));
    assert!(message.contains("'minimal'") && message.contains("extreme"));
}

#[test]
fn both_token_limits_keep_the_new_one() {
    let (body, out) = run(
        Operation::ChatCompletions,
        json!({"max_tokens": 9, "max_completion_tokens": 20}),
        false,
        &reasoning(),
    );
    assert_eq!(body.unwrap(), json!({"max_completion_tokens": 20}));
    assert_eq!(out.dropped, ["max_tokens"]);
}

#[test]
fn responses_rules() {
    let (body, out) = run(
        Operation::Responses,
        json!({"model": "codex", "input": "hi", "max_tokens": 30, "temperature": 1,
               "reasoning_effort": "xhigh", "top_p": 0.5}),
        true,
        &reasoning(),
    );
    assert_eq!(
        body.unwrap(),
        json!({"model": "codex", "input": "hi", "max_output_tokens": 30,
               "reasoning": {"effort": "high"}})
    );
    assert_eq!(out.dropped, ["temperature", "top_p"]);
    assert!(!out.strip_usage, "responses streams always carry usage");
}

#[test]
fn chat_family_bodies_are_left_alone_without_parsing() {
    let body = r#"{"model":"gpt-4o","max_tokens":5,"temperature":0.3,"messages":[]}"#;
    assert_eq!(text(Operation::ChatCompletions, body, false, &chat()), None);
    // Not even valid JSON reaches the parser when no rule could apply.
    assert!(!worth_parsing(
        Operation::ChatCompletions,
        b"{",
        false,
        &chat()
    ));
}

#[test]
fn every_rule_can_be_switched_off() {
    let off = NormalizeConfig {
        enabled: Some(false),
        ..Default::default()
    };
    let rules = Rules::new(Some(&off), ModelFamily::Reasoning, &[UpstreamKind::Azure]);
    let body = r#"{"max_tokens":5,"temperature":0.3,"stream_options":{"include_usage":false},"tools":[{"type":"web_search_preview"}]}"#;
    assert_eq!(text(Operation::ChatCompletions, body, true, &rules), None);
    assert_eq!(text(Operation::ChatCompletions, body, false, &rules), None);

    let only_keep = NormalizeConfig {
        keep_params: vec!["verbosity".into()],
        max_completion_tokens: Some(false),
        ..Default::default()
    };
    let rules = Rules::new(
        Some(&only_keep),
        ModelFamily::Reasoning,
        &[UpstreamKind::Azure],
    );
    let (body, out) = run(
        Operation::ChatCompletions,
        json!({"max_tokens": 5, "verbosity": "low", "top_p": 1}),
        false,
        &rules,
    );
    assert_eq!(body.unwrap(), json!({"max_tokens": 5, "verbosity": "low"}));
    assert_eq!(out.dropped, ["top_p"]);
}

#[test]
fn web_search_is_refused_early() {
    for (body, param) in [
        (
            json!({"tools": [{"type": "function", "function": {"name": "f"}}, {"type": "web_search_preview"}]}),
            "tools",
        ),
        (
            json!({"tool_choice": {"type": "web_search"}}),
            "tool_choice",
        ),
        (json!({"web_search_options": {}}), "web_search_options"),
    ] {
        let bytes = Bytes::from(serde_json::to_vec(&body).unwrap());
        let err = apply(Operation::ChatCompletions, &bytes, false, &chat()).unwrap_err();
        let GatewayError::InvalidRequest {
            param: got,
            code,
            message,
        } = err
        else {
            panic!()
        };
        assert_eq!((got, code), (Some(param), "unsupported_parameter"));
        assert!(message.contains("web search"), "{message}");
    }
    let openai_only = Rules::new(None, ModelFamily::Chat, &[UpstreamKind::Openai]);
    let body = Bytes::from_static(br#"{"tools":[{"type":"web_search_preview"}]}"#);
    assert!(
        apply(Operation::ChatCompletions, &body, false, &openai_only)
            .unwrap()
            .body
            .is_none(),
        "an OpenAI-compatible upstream may run it"
    );
}

#[test]
fn stream_options_removed_kept_and_forced() {
    let rules = chat();
    // Not streaming: removed.
    let (body, out) = run(
        Operation::ChatCompletions,
        json!({"model": "m", "stream_options": {"include_usage": true}}),
        false,
        &rules,
    );
    assert_eq!(body.unwrap(), json!({"model": "m"}));
    assert_eq!(out.dropped, ["stream_options"]);
    // Embeddings never stream.
    let (body, _) = run(
        Operation::Embeddings,
        json!({"input": "x", "stream_options": null}),
        false,
        &rules,
    );
    assert_eq!(body.unwrap(), json!({"input": "x"}));
    // Streaming and asked: kept byte for byte.
    let asked = r#"{"stream":true,"stream_options":{"include_usage":true}}"#;
    assert_eq!(text(Operation::ChatCompletions, asked, true, &rules), None);
    // Streaming, not asked: forced, and the usage chunk will be stripped.
    for (op, body) in [
        (Operation::ChatCompletions, r#"{"stream":true}"#),
        (
            Operation::Completions,
            r#"{"stream":true,"stream_options":{"include_usage":false}}"#,
        ),
    ] {
        let out = apply(op, &Bytes::from_static(body.as_bytes()), true, &rules).unwrap();
        let v: Value = serde_json::from_slice(out.body.as_deref().unwrap()).unwrap();
        assert_eq!(v["stream_options"]["include_usage"], true);
        assert!(out.strip_usage && out.dropped.is_empty());
    }
    // Responses streams always report usage: kept, not forced.
    let body = r#"{"stream":true,"stream_options":{"include_obfuscation":false}}"#;
    assert_eq!(text(Operation::Responses, body, true, &rules), None);
    // Inference-only models are not forced.
    let inference = Rules::new(None, ModelFamily::Chat, &[UpstreamKind::Inference]);
    assert_eq!(
        text(
            Operation::ChatCompletions,
            r#"{"stream":true}"#,
            true,
            &inference
        ),
        None
    );
}
