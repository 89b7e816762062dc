//! The per-request families, written at scrape time. Series are sorted by their labels, so
//! two scrapes list them in the same order (diffable, and stable for tests).

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use super::families::{Families, ModelSeries, RequestSeries, RouteSeries, TokenSeries};
use super::text::{Kind, Text, Value};

pub(super) const REQUESTS: &str = "aoai_gateway_requests_total";
pub(super) const CANCELLED: &str = "aoai_gateway_requests_cancelled_total";
pub(super) const CONTENT_FILTERED: &str = "aoai_gateway_content_filtered_total";
pub(super) const TOKENS: &str = "aoai_gateway_tokens_total";
pub(super) const OVERHEAD: &str = "aoai_gateway_overhead_seconds";
pub(super) const DURATION: &str = "aoai_gateway_request_duration_seconds";
pub(super) const TTFT: &str = "aoai_gateway_time_to_first_token_seconds";
pub(super) const UPSTREAM: &str = "aoai_gateway_upstream_latency_seconds";

fn sorted<S>(mut all: Vec<Arc<S>>, key: impl Fn(&S) -> (&str, &str)) -> Vec<Arc<S>> {
    all.sort_by(|a, b| key(a).cmp(&key(b)));
    all
}

/// Every per-request family; empty families still get their `# HELP`/`# TYPE` lines, so a
/// fresh gateway documents what it will export.
pub(super) fn traffic(t: &mut Text, f: &Families) {
    let mut requests = f.requests.all();
    requests.sort_by(|a, b| {
        (
            &*a.model,
            &*a.deployment,
            a.operation,
            a.status,
            a.class as u8,
        )
            .cmp(&(
                &*b.model,
                &*b.deployment,
                b.operation,
                b.status,
                b.class as u8,
            ))
    });
    requests_family(t, &requests);
    tokens(t, sorted(f.tokens.all(), |s| (&s.key, &s.model)));
    let models = sorted(f.models.all(), |s| (&s.model, ""));
    let routes = sorted(f.routes.all(), |s| (&s.model, &s.deployment));
    per_model(
        t,
        OVERHEAD,
        "Time the gateway itself spent on a request: from the end of the client's body to the \
         response headers, minus the upstream's time.",
        &models,
        |m| &m.overhead,
    );
    per_model(
        t,
        DURATION,
        "Whole requests, from arrival to the end of the response body (streams included).",
        &models,
        |m| &m.duration,
    );
    per_route(
        t,
        TTFT,
        "Streams: from arrival to the first body bytes from the upstream.",
        &routes,
        |r| &r.ttft,
    );
    per_route(
        t,
        UPSTREAM,
        "From the first upstream attempt to the answering upstream's response headers \
         (failover included).",
        &routes,
        |r| &r.upstream,
    );
}

/// Reads one counter of a request series.
type Read = fn(&RequestSeries) -> u64;

fn requests_family(t: &mut Text, series: &[Arc<RequestSeries>]) {
    let families: [(&str, &str, Read, bool); 3] = [
        (
            REQUESTS,
            "Finished requests by model alias, deployment, operation, HTTP status and error \
             class (\"\", policy: refused by the gateway, upstream: the upstream failed).",
            |s: &RequestSeries| s.requests.load(Relaxed),
            false,
        ),
        (
            CANCELLED,
            "Requests whose client went away before the response ended (a subset of \
             aoai_gateway_requests_total, same labels).",
            |s: &RequestSeries| s.cancelled.load(Relaxed),
            true,
        ),
        (
            CONTENT_FILTERED,
            "Requests whose prompt or completion Azure's content filter stopped (a subset of \
             aoai_gateway_requests_total, same labels).",
            |s: &RequestSeries| s.content_filtered.load(Relaxed),
            true,
        ),
    ];
    for (name, help, value, skip_zero) in families {
        t.family(name, Kind::Counter, help);
        for s in series {
            let v = value(s);
            if skip_zero && v == 0 {
                continue;
            }
            let status = s.status.to_string();
            let labels = [
                ("model", &*s.model),
                ("deployment", &*s.deployment),
                ("operation", s.operation),
                ("status", status.as_str()),
                ("error_class", s.class.as_str()),
            ];
            t.sample(name, &labels, Value::Int(v));
        }
    }
}

fn tokens(t: &mut Text, series: Vec<Arc<TokenSeries>>) {
    t.family(
        TOKENS,
        Kind::Counter,
        "Tokens the upstream reported, by client key, model alias and type. cached is part of \
         prompt and reasoning part of completion: sum only prompt and completion for a total.",
    );
    for s in &series {
        for (kind, counter) in [
            ("prompt", &s.prompt),
            ("completion", &s.completion),
            ("cached", &s.cached),
            ("reasoning", &s.reasoning),
        ] {
            let labels = [("key", &*s.key), ("model", &*s.model), ("type", kind)];
            t.sample(TOKENS, &labels, Value::Int(counter.load(Relaxed)));
        }
    }
}

/// Histograms without observations are left out: a route that only ever saw refused requests
/// would otherwise export a page of zeros.
fn per_model(
    t: &mut Text,
    name: &str,
    help: &str,
    series: &[Arc<ModelSeries>],
    h: impl Fn(&ModelSeries) -> &super::histogram::Histogram,
) {
    t.family(name, Kind::Histogram, help);
    for s in series {
        let snap = h(s).snapshot();
        if snap.count > 0 {
            t.histogram(name, &[("model", &s.model)], &snap);
        }
    }
}

fn per_route(
    t: &mut Text,
    name: &str,
    help: &str,
    series: &[Arc<RouteSeries>],
    h: impl Fn(&RouteSeries) -> &super::histogram::Histogram,
) {
    t.family(name, Kind::Histogram, help);
    for s in series {
        let snap = h(s).snapshot();
        if snap.count > 0 {
            let labels = [("model", &*s.model), ("deployment", &*s.deployment)];
            t.histogram(name, &labels, &snap);
        }
    }
}
