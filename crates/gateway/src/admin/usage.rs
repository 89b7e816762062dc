//! The usage ledger over HTTP (`docs/usage.md`):
//! - `GET /admin/api/usage?from=&to=&groupBy=key|model|deployment|day`: aggregates;
//! - `GET /admin/api/usage/requests?from=&to=&requestId=&model=&key=&limit=`: raw rows,
//!   newest first.
//!
//! Both answer JSON, or CSV with `format=csv` or `Accept: text/csv`. `from`/`to` take Unix
//! seconds, a date (UTC midnight) or RFC 3339; the range is `[from, to)`, by default the 30
//! days before now. Queries run on a blocking thread: SQLite never runs on an event loop.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, HeaderValue, header};
use serde::Serialize;

use super::auth;
use crate::error::GatewayError;
use crate::state::AppState;
use crate::telemetry::ledger::civil::{format_compact, format_rfc3339_ms, parse_instant};
use crate::telemetry::ledger::{self, Counts, Group, GroupBy, QueryError, RowFilter};

const DEFAULT_SPAN_MS: i64 = 30 * 86_400_000;
const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/admin/api/usage", get(aggregate))
        .route("/admin/api/usage/requests", get(requests))
}

fn invalid(param: &'static str, message: String) -> GatewayError {
    GatewayError::InvalidRequest {
        message,
        param: Some(param),
        code: "invalid_value",
    }
}

/// The query string, checked against the parameters an endpoint knows: a misspelt one
/// (`groupby`) is refused rather than silently ignored.
struct Params(Vec<(&'static str, String)>);

impl Params {
    fn parse(query: Option<&str>, known: &[&'static str]) -> Result<Self, GatewayError> {
        let mut found = Vec::new();
        for (name, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            let Some(&name) = known.iter().find(|k| **k == name) else {
                return Err(GatewayError::InvalidRequest {
                    message: format!(
                        "Unknown parameter `{name}`; this endpoint takes {}.",
                        known.join(", ")
                    ),
                    param: None,
                    code: "unknown_parameter",
                });
            };
            found.push((name, value.into_owned()));
        }
        Ok(Self(found))
    }

    /// The last value given for `name`; an empty value counts as absent.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn instant(&self, name: &'static str) -> Result<Option<i64>, GatewayError> {
        self.get(name)
            .map(|v| parse_instant(v).map_err(|e| invalid(name, format!("Invalid `{name}`: {e}"))))
            .transpose()
    }

    /// `[from, to)` in Unix ms. `from` defaults to 30 days before `to`, or to the epoch when
    /// `unbounded_from` (a lookup by request id should find the request whenever it was).
    fn range(&self, unbounded_from: bool) -> Result<(i64, i64), GatewayError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let to = self.instant("to")?.unwrap_or(now);
        let from = match self.instant("from")? {
            Some(from) => from,
            None if unbounded_from => 0,
            None => to.saturating_sub(DEFAULT_SPAN_MS),
        };
        if from >= to {
            return Err(invalid(
                "from",
                format!(
                    "`from` ({}) must be before `to` ({}).",
                    format_rfc3339_ms(from),
                    format_rfc3339_ms(to)
                ),
            ));
        }
        Ok((from, to))
    }

    /// CSV for `format=csv`, else JSON for `format=json`, else whatever `Accept` prefers
    /// between the two (JSON unless it names `text/csv`).
    fn csv(&self, headers: &HeaderMap) -> Result<bool, GatewayError> {
        match self.get("format") {
            Some("csv") => Ok(true),
            Some("json") => Ok(false),
            Some(other) => Err(invalid(
                "format",
                format!("Invalid `format` `{other}`: expected `json` or `csv`."),
            )),
            None => Ok(headers
                .get_all(header::ACCEPT)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .any(|range| {
                    let media = range.split(';').next().unwrap_or("").trim();
                    media.eq_ignore_ascii_case("text/csv")
                })),
        }
    }
}

/// A CSV download named after what it holds.
fn csv_response(body: String, what: &str, from: i64, to: i64) -> Response {
    let name = format!(
        "attachment; filename=\"usage-{what}-{}-{}.csv\"",
        format_compact(from),
        format_compact(to)
    );
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&name) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// Runs a ledger query on a blocking thread.
async fn run<T: Send + 'static>(
    app: &Arc<AppState>,
    f: impl FnOnce(&ledger::Ledger) -> Result<T, QueryError> + Send + 'static,
) -> Result<T, GatewayError> {
    let app = Arc::clone(app);
    match tokio::task::spawn_blocking(move || f(&app.telemetry.ledger)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(QueryError::Disabled)) => Err(GatewayError::UsageLedgerDisabled),
        Ok(Err(QueryError::Failed(e))) => {
            tracing::error!(error = %e, "usage ledger query failed");
            Err(GatewayError::Internal(format!("usage query failed: {e}")))
        }
        Err(e) => Err(GatewayError::Internal(format!("usage query failed: {e}"))),
    }
}

/// Auth, then whether there is a ledger at all, then the parameters.
fn admit(
    app: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
    known: &[&'static str],
) -> Result<Params, GatewayError> {
    auth::check(app.runtime.load().admin.as_ref(), headers)?;
    if !app.telemetry.ledger.is_enabled() {
        return Err(GatewayError::UsageLedgerDisabled);
    }
    Params::parse(query, known)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AggregateBody<'a> {
    from: String,
    to: String,
    group_by: &'static str,
    totals: &'a Counts,
    rows: &'a [Group],
}

async fn aggregate(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    aggregate_inner(&app, &headers, query.as_deref())
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn aggregate_inner(
    app: &Arc<AppState>,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Response, GatewayError> {
    let params = admit(app, headers, query, &["from", "to", "groupBy", "format"])?;
    let (from, to) = params.range(false)?;
    let by = match params.get("groupBy") {
        None => GroupBy::Model,
        Some(v) => GroupBy::parse(v).ok_or_else(|| {
            invalid(
                "groupBy",
                format!("Invalid `groupBy` `{v}`: expected key, model, deployment or day."),
            )
        })?,
    };
    let csv = params.csv(headers)?;
    let report = run(app, move |l| l.aggregate(from, to, by)).await?;
    if csv {
        return Ok(csv_response(
            ledger::csv::aggregates(&report, by),
            by.as_str(),
            from,
            to,
        ));
    }
    Ok(Json(AggregateBody {
        from: format_rfc3339_ms(from),
        to: format_rfc3339_ms(to),
        group_by: by.as_str(),
        totals: &report.totals,
        rows: &report.groups,
    })
    .into_response())
}

#[derive(Serialize)]
struct RequestsBody<'a> {
    from: String,
    to: String,
    limit: u32,
    rows: &'a [ledger::StoredRequest],
}

async fn requests(
    State(app): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    requests_inner(&app, &headers, query.as_deref())
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn requests_inner(
    app: &Arc<AppState>,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Response, GatewayError> {
    let known = ["from", "to", "requestId", "model", "key", "limit", "format"];
    let params = admit(app, headers, query, &known)?;
    let request_id = params.get("requestId").map(str::to_owned);
    let (from, to) = params.range(request_id.is_some())?;
    let limit = match params.get("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                invalid(
                    "limit",
                    format!("Invalid `limit` `{v}`: expected a number from 1 to {MAX_LIMIT}."),
                )
            })?,
    };
    let csv = params.csv(headers)?;
    let filter = RowFilter {
        from_ms: from,
        to_ms: to,
        request_id,
        model: params.get("model").map(str::to_owned),
        key: params.get("key").map(str::to_owned),
        limit,
    };
    let rows = run(app, move |l| l.requests(&filter)).await?;
    if csv {
        return Ok(csv_response(
            ledger::csv::requests(&rows),
            "requests",
            from,
            to,
        ));
    }
    Ok(Json(RequestsBody {
        from: format_rfc3339_ms(from),
        to: format_rfc3339_ms(to),
        limit,
        rows: &rows,
    })
    .into_response())
}
