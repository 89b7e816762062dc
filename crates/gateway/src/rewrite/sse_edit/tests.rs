use bytes::Bytes;

use super::*;

const PROMPT: &str = r#"data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}"#;
const DELTA: &str = r#"data: {"choices":[{"content_filter_results":{},"delta":{"content":"h\u00e9llo 🌍"},"finish_reason":null,"index":0}],"id":"c1","object":"chat.completion.chunk","usage":null}"#;
const ANNOTATION: &str = r#"data: {"id":"","object":"","created":0,"model":"","choices":[{"index":0,"finish_reason":null,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}},"content_filter_offsets":{"check_offset":44,"start_offset":44,"end_offset":198}}],"usage":null}"#;
const FINISH: &str = r#"data: {"choices":[{"content_filter_results":{},"delta":{},"finish_reason":"stop","index":0}],"id":"c1","object":"chat.completion.chunk","usage":null}"#;
const USAGE: &str = r#"data: {"id":"c1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#;
const DONE: &str = "data: [DONE]";

fn stream(events: &[&str]) -> String {
    events.iter().map(|e| format!("{e}\n\n")).collect()
}

fn run(edit: &mut SseEdit, input: &[u8], cuts: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut from = 0;
    for &cut in cuts.iter().chain([input.len()].iter()) {
        out.extend_from_slice(&edit.frame(&Bytes::copy_from_slice(&input[from..cut])));
        from = cut;
    }
    out.extend_from_slice(&edit.end().unwrap());
    out
}

#[test]
fn strips_only_the_usage_chunk_in_any_framing() {
    let input = stream(&[PROMPT, DELTA, ANNOTATION, FINISH, ANNOTATION, USAGE, DONE]);
    let want = stream(&[PROMPT, DELTA, ANNOTATION, FINISH, ANNOTATION, DONE]);
    let bytes = input.as_bytes();
    for cut in 0..bytes.len() {
        for step in [1, 7, 64] {
            let cuts: Vec<usize> = (cut..bytes.len()).step_by(step.max(1) * 50).collect();
            let mut cuts = cuts;
            cuts.insert(0, cut);
            cuts.dedup();
            let got = run(&mut SseEdit::filter(true, false), bytes, &cuts);
            assert_eq!(String::from_utf8(got).unwrap(), want, "cuts {cuts:?}");
        }
    }
}

#[test]
fn drops_annotations_when_asked() {
    let input = stream(&[PROMPT, DELTA, ANNOTATION, FINISH, ANNOTATION, USAGE, DONE]);
    let got = run(&mut SseEdit::filter(false, true), input.as_bytes(), &[]);
    assert_eq!(
        String::from_utf8(got).unwrap(),
        stream(&[PROMPT, DELTA, FINISH, USAGE, DONE]),
        "the prompt-filter chunk is not an annotation"
    );
}

#[test]
fn clean_frames_pass_without_a_copy() {
    let mut edit = SseEdit::filter(true, false);
    let frame = Bytes::from(stream(&[DELTA]));
    let out = edit.frame(&frame);
    assert_eq!(out.as_ptr(), frame.as_ptr(), "the same buffer goes out");
    // A frame that ends inside an event is held until the rest arrives.
    let half = Bytes::from(&DELTA[..20]);
    assert!(edit.frame(&half).is_empty());
    let rest = Bytes::from(format!("{}\n\n", &DELTA[20..]));
    assert_eq!(edit.frame(&rest), Bytes::from(stream(&[DELTA])));
}

#[test]
fn a_break_drops_the_half_event_and_ends_with_an_error_event() {
    let mut edit = SseEdit::filter(true, false);
    assert!(edit.frame(&Bytes::from(&DELTA[..30])).is_empty());
    let last = edit
        .broken("upstream_idle_timeout", "upstream sent nothing")
        .unwrap();
    let text = std::str::from_utf8(&last).unwrap();
    assert!(
        text.starts_with("data: {\"error\":{") && text.ends_with("\n\n"),
        "{text}"
    );
    let value: serde_json::Value =
        serde_json::from_str(text.trim_start_matches("data: ").trim()).unwrap();
    assert_eq!(value["error"]["code"], "upstream_idle_timeout");
}

#[test]
fn usage_and_annotation_recognition() {
    let data = |s: &str| s.trim_start_matches("data: ").as_bytes().to_vec();
    assert!(is_usage_only(&data(USAGE)));
    assert!(!is_usage_only(&data(DELTA)));
    assert!(!is_usage_only(&data(PROMPT)));
    assert!(!is_usage_only(br#"{"choices":[],"usage":null}"#));
    assert!(is_annotation(&data(ANNOTATION)));
    assert!(!is_annotation(&data(PROMPT)));
    assert!(!is_annotation(&data(DELTA)));
    assert!(!is_annotation(b"not json content_filter_offsets"));
}

#[test]
fn usage_objects_are_found_in_any_spacing() {
    assert!(has_usage_object(br#"{"usage" : {"a":1}}"#));
    assert!(has_usage_object(br#"{"usage":null,"x":{"usage":{}}}"#));
    assert!(!has_usage_object(
        br#"{"usage":null,"text":"\"usage\" is a word"}"#
    ));
    assert!(!has_usage_object(br#"{"usage""#));
}

mod props {
    use bytes::Bytes;
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::{Index, select};

    use super::super::{BodyEdit, SseEdit};
    use super::{ANNOTATION, DELTA, DONE, FINISH, PROMPT, USAGE, stream};

    fn run(strip: bool, drop: bool, body: &[u8], cuts: &[Index]) -> Vec<u8> {
        let mut at: Vec<usize> = cuts.iter().map(|i| i.index(body.len() + 1)).collect();
        at.sort_unstable();
        let mut edit = SseEdit::filter(strip, drop);
        let mut out = Vec::new();
        let mut from = 0;
        for cut in at.into_iter().chain([body.len()]) {
            out.extend_from_slice(&edit.frame(&Bytes::copy_from_slice(&body[from..cut])));
            from = cut;
        }
        out.extend_from_slice(&edit.end().unwrap());
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        /// Any stream of Azure's events, cut anywhere (inside "é", "🌍" and `\r\n` included):
        /// the client gets exactly the kept events, byte for byte.
        #[test]
        fn any_framing_keeps_exactly_the_other_events(
            events in vec(select(vec![PROMPT, DELTA, ANNOTATION, FINISH, USAGE, DONE]), 0..12),
            crlf in any::<bool>(),
            strip in any::<bool>(),
            drop in any::<bool>(),
            cuts in vec(any::<Index>(), 0..16),
        ) {
            let eol = |s: String| if crlf { s.replace('\n', "\r\n") } else { s };
            let body = eol(stream(&events));
            let kept: Vec<&str> = events
                .iter()
                .copied()
                .filter(|e| !((strip && *e == USAGE) || (drop && *e == ANNOTATION)))
                .collect();
            let want = eol(stream(&kept));
            let got = run(strip, drop, body.as_bytes(), &cuts);
            prop_assert_eq!(String::from_utf8(got).unwrap(), want);
        }
    }
}
