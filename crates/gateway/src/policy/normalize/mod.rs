//! Request normalization: the client's body adjusted for the model family behind its alias,
//! so parameters a reasoning model refuses, and `stream_options` where Azure refuses it, never
//! cost the client a 400 (WIRE-FACTS A7, A8; the seed proxy's rules, keyed on the configured
//! family rather than a deployment-name regex, and taking `minimal`/`none` effort).
//!
//! Every rule can be switched per model (`models[].normalize`). Parameters the gateway removes
//! are named in [`DROPPED_HEADER`] on the response, so the client can see what happened. A body
//! no rule touches is forwarded byte for byte and, for most requests, not even parsed.

mod family;
mod reasoning;
mod stream_options;

use std::sync::LazyLock;

use bytes::Bytes;
use memchr::memmem;
use serde_json::{Map, Value};

pub use family::{infer as infer_family, resolve as resolve_family};

use crate::call::Operation;
use crate::config::{Annotations, ModelFamily, NormalizeConfig, UpstreamKind};
use crate::error::GatewayError;

/// Response header naming the request parameters the gateway removed, comma-separated.
pub const DROPPED_HEADER: &str = "x-aoai-gateway-dropped-params";

/// The rules in force for one alias, compiled from its family and `normalize` switches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub family: ModelFamily,
    pub max_completion_tokens: bool,
    pub implied_logprobs: bool,
    pub reasoning_effort: bool,
    pub drop_unsupported: bool,
    /// Parameters `drop_unsupported` leaves alone.
    pub keep: Vec<String>,
    pub reject_web_search: bool,
    pub stream_options: bool,
    pub stream_usage: bool,
    pub annotations: Annotations,
}

impl Rules {
    /// A switch the config leaves unset takes its default: the reasoning rules follow the
    /// family; web-search refusal is off when only `openai`-kind upstreams serve the model
    /// (they may run it); forcing stream usage is off when only `inference`-kind upstreams do
    /// (Model Inference has no `stream_options`).
    pub fn new(cfg: Option<&NormalizeConfig>, family: ModelFamily, kinds: &[UpstreamKind]) -> Self {
        let unset = NormalizeConfig::default();
        let cfg = cfg.unwrap_or(&unset);
        let on = cfg.enabled.unwrap_or(true);
        let only = |kind| !kinds.is_empty() && kinds.iter().all(|k| *k == kind);
        let reasoning = family == ModelFamily::Reasoning;
        let pick = |value: Option<bool>, default: bool| on && value.unwrap_or(default);
        Self {
            family,
            max_completion_tokens: pick(cfg.max_completion_tokens, reasoning),
            implied_logprobs: pick(cfg.implied_logprobs, reasoning),
            reasoning_effort: pick(cfg.reasoning_effort, reasoning),
            drop_unsupported: pick(cfg.drop_unsupported, reasoning),
            keep: cfg.keep_params.clone(),
            reject_web_search: pick(cfg.reject_web_search, !only(UpstreamKind::Openai)),
            stream_options: pick(cfg.stream_options, true),
            stream_usage: pick(cfg.stream_usage, !only(UpstreamKind::Inference)),
            annotations: match on {
                true => cfg.annotations.unwrap_or_default(),
                false => Annotations::Pass,
            },
        }
    }

    /// Rules for a model the config does not list (sent to `modelFallback`): the family is
    /// guessed from its name, every switch at its default.
    pub fn for_unlisted(alias: &str, kind: UpstreamKind) -> Self {
        let family = infer_family(alias).unwrap_or(ModelFamily::Chat);
        Self::new(None, family, &[kind])
    }

    fn reasoning_rules(&self) -> bool {
        self.max_completion_tokens
            || self.implied_logprobs
            || self.reasoning_effort
            || self.drop_unsupported
    }
}

/// What normalization did to one request body.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Normalized {
    /// The new body; `None` when nothing changed (the client's bytes go upstream).
    pub body: Option<Bytes>,
    /// Parameters removed, in the order they were found.
    pub dropped: Vec<&'static str>,
    /// The gateway asked upstream for a usage chunk the client did not ask for: remove it
    /// from the client's stream.
    pub strip_usage: bool,
}

/// Applies `rules` to a JSON body of `op` (already known to be valid JSON).
pub fn apply(
    op: Operation,
    body: &Bytes,
    stream: bool,
    rules: &Rules,
) -> Result<Normalized, GatewayError> {
    let mut out = Normalized::default();
    if !worth_parsing(op, body, stream, rules) {
        return Ok(out);
    }
    // Not an object (Azure will say what is wrong with it): nothing to normalize.
    let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(body) else {
        return Ok(out);
    };
    let mut changed = match op {
        Operation::ChatCompletions => reasoning::chat(&mut map, rules, &mut out.dropped)?,
        Operation::Responses => reasoning::responses(&mut map, rules, &mut out.dropped)?,
        _ => false,
    };
    if rules.stream_options {
        changed |= stream_options::remove_refused(op, stream, &mut map, &mut out.dropped);
    }
    if rules.stream_usage && stream_options::force_usage(op, stream, &mut map) {
        changed = true;
        out.strip_usage = true;
    }
    if changed {
        out.body = Some(serialize(&map)?);
    }
    Ok(out)
}

/// Whether any rule could change this body; most requests answer `false` without a parse.
fn worth_parsing(op: Operation, body: &[u8], stream: bool, rules: &Rules) -> bool {
    // Built once: a `memmem::find` builds its searcher on every call (about 0.6k instructions).
    static WEB_SEARCH: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(b"web_search"));
    static STREAM_OPTIONS: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(b"\"stream_options\""));
    match op {
        Operation::ChatCompletions | Operation::Responses if rules.reasoning_rules() => true,
        Operation::ChatCompletions | Operation::Completions if stream && rules.stream_usage => true,
        Operation::ChatCompletions
            if rules.reject_web_search && WEB_SEARCH.find(body).is_some() =>
        {
            true
        }
        _ => rules.stream_options && STREAM_OPTIONS.find(body).is_some(),
    }
}

fn serialize(map: &Map<String, Value>) -> Result<Bytes, GatewayError> {
    serde_json::to_vec(map)
        .map(Bytes::from)
        .map_err(|e| GatewayError::InvalidJson(e.to_string()))
}

/// Renames `from` to `to` where it stands, keeping the body's key order.
fn rename(map: &mut Map<String, Value>, from: &str, to: &str) {
    let old = std::mem::take(map);
    *map = old
        .into_iter()
        .map(|(k, v)| {
            if k == from {
                (to.to_owned(), v)
            } else {
                (k, v)
            }
        })
        .collect();
}

#[cfg(test)]
mod tests;
