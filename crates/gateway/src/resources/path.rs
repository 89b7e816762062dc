//! Where a resource-level request goes on each kind of upstream, and what of the client's URL
//! travels with it.
//!
//! Ids come from the client's path: each segment is decoded, refused when it could climb out
//! of its place (`.`, `..`, empty, control characters), and percent-encoded again for the
//! upstream, so an id such as `a%2F..` stays one opaque segment.

use crate::config::UpstreamKind;
use crate::error::GatewayError;
use crate::inbound::shapes::Dialect;
use crate::upstream::dialect::encode_component;

/// The API families the gateway forwards without a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Files,
    Batches,
    FineTuning,
    /// Stored Responses API objects (`/responses/{id}…`), not `POST /responses`.
    Responses,
}

impl Family {
    /// The path segment under the API root.
    pub fn root(self) -> &'static str {
        match self {
            Self::Files => "files",
            Self::Batches => "batches",
            Self::FineTuning => "fine_tuning",
            Self::Responses => "responses",
        }
    }

    /// The `/admin/api/stats` entry these calls count in (in parentheses, so no alias can
    /// collide with it).
    /// The operation name in telemetry records.
    pub fn route_key(self) -> &'static str {
        match self {
            Self::Files => "files",
            Self::Batches => "batches",
            Self::FineTuning => "fine_tuning",
            Self::Responses => "responses/objects",
        }
    }

    pub fn stats_bucket(self) -> &'static str {
        match self {
            Self::Files => "(files)",
            Self::Batches => "(batches)",
            Self::FineTuning => "(fine_tuning)",
            Self::Responses => "(responses)",
        }
    }
}

/// The client-facing form a request came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// `/v1/…`
    OpenAi,
    /// `/openai/v1/…`
    AzureV1,
    /// `/openai/…?api-version=…` (the version is required).
    AzureDated,
}

impl Face {
    pub const ALL: [Self; 3] = [Self::OpenAi, Self::AzureV1, Self::AzureDated];

    /// The path prefix the family roots hang off.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::OpenAi => "/v1/",
            Self::AzureV1 => "/openai/v1/",
            Self::AzureDated => "/openai/",
        }
    }

    pub fn dialect(self) -> Dialect {
        match self {
            Self::OpenAi => Dialect::OpenAi,
            Self::AzureV1 | Self::AzureDated => Dialect::Azure,
        }
    }
}

/// Longest id segment accepted (real ids are under 100 characters).
const MAX_SEGMENT: usize = 512;

fn invalid_path(path: &str) -> GatewayError {
    GatewayError::InvalidRequest {
        message: format!("Invalid id in the URL path `{path}`."),
        param: None,
        code: "invalid_path",
    }
}

/// `%XX` sequences decoded; `None` for a broken escape or bytes that are not UTF-8.
fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The decoded segments of `path` after `{face prefix}{family root}`, each checked.
pub fn segments(path: &str, face: Face, family: Family) -> Result<Vec<String>, GatewayError> {
    let rest = path
        .strip_prefix(face.prefix())
        .and_then(|p| p.strip_prefix(family.root()))
        .ok_or_else(|| invalid_path(path))?;
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    let rest = rest.strip_prefix('/').ok_or_else(|| invalid_path(path))?;
    rest.split('/')
        .map(|raw| {
            percent_decode(raw)
                .filter(|s| {
                    !s.is_empty()
                        && s != "."
                        && s != ".."
                        && s.len() <= MAX_SEGMENT
                        && !s.chars().any(char::is_control)
                })
                .ok_or_else(|| invalid_path(path))
        })
        .collect()
}

/// Query parameters that never travel upstream: the gateway sets its own `api-version`, and a
/// key in the URL is a client credential.
const DROPPED_PARAMS: [&str; 2] = ["api-version", "api-key"];

/// The client's query without the dropped parameters, raw (still percent-encoded).
pub fn kept_query(query: Option<&str>) -> String {
    let mut out = String::new();
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let raw_key = pair.split_once('=').map_or(pair, |(k, _)| k);
        let key = percent_decode(raw_key).unwrap_or_default();
        if DROPPED_PARAMS.iter().any(|d| d.eq_ignore_ascii_case(&key)) {
            continue;
        }
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(pair);
    }
    out
}

/// What decides the upstream path besides the family and the ids.
#[derive(Debug, Clone, Copy)]
pub struct Versions<'a> {
    /// The upstream's configured `apiVersion`.
    pub upstream: &'a str,
    /// A dated version an Azure-style client sent on the legacy face.
    pub client: Option<&'a str>,
}

/// The upstream path and query for `family` and its decoded `segments`; `None` for a kind
/// without these APIs (`inference`).
///
/// - `azure`: files, batches and fine-tuning at `/openai/{family}…?api-version=` (the
///   client's dated version when it sent one, else the upstream's); response objects on the
///   v1 surface, `/openai/v1/responses/{id}…`, unless the client chose a dated version
///   (`/openai/responses/{id}…?api-version=`), as for `POST /responses`.
/// - `azure-v1`: `/openai/v1/{family}…`; `openai`: `/v1/{family}…`.
///
/// The client's other query parameters follow.
pub fn upstream_path(
    kind: UpstreamKind,
    versions: Versions<'_>,
    family: Family,
    segments: &[String],
    client_query: Option<&str>,
) -> Option<String> {
    let (base, version) = match kind {
        UpstreamKind::Azure => match (family, versions.client) {
            (Family::Responses, None) => ("/openai/v1/", None),
            (Family::Responses, Some(v)) => ("/openai/", Some(v)),
            (_, client) => ("/openai/", Some(client.unwrap_or(versions.upstream))),
        },
        UpstreamKind::AzureV1 => ("/openai/v1/", None),
        UpstreamKind::Openai => ("/v1/", None),
        UpstreamKind::Inference => return None,
    };
    let mut out = String::with_capacity(64);
    out.push_str(base);
    out.push_str(family.root());
    for s in segments {
        out.push('/');
        out.push_str(&encode_component(s));
    }
    let kept = kept_query(client_query);
    let mut sep = '?';
    if let Some(v) = version {
        out.push_str("?api-version=");
        out.push_str(&encode_component(v));
        sep = '&';
    }
    if !kept.is_empty() {
        out.push(sep);
        out.push_str(&kept);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    const UPSTREAM_ONLY: Versions<'static> = Versions {
        upstream: "2024-10-21",
        client: None,
    };
    const DATED: Versions<'static> = Versions {
        upstream: "2024-10-21",
        client: Some("2025-04-01-preview"),
    };

    #[test]
    fn paths_per_kind() {
        let content = segs(&["file-1", "content"]);
        let cases = [
            (
                UpstreamKind::Azure,
                UPSTREAM_ONLY,
                Family::Files,
                "/openai/files/file-1/content?api-version=2024-10-21",
            ),
            (
                UpstreamKind::Azure,
                DATED,
                Family::Files,
                "/openai/files/file-1/content?api-version=2025-04-01-preview",
            ),
            (
                UpstreamKind::AzureV1,
                DATED,
                Family::Files,
                "/openai/v1/files/file-1/content",
            ),
            (
                UpstreamKind::Openai,
                DATED,
                Family::Files,
                "/v1/files/file-1/content",
            ),
            (
                UpstreamKind::Azure,
                UPSTREAM_ONLY,
                Family::Responses,
                "/openai/v1/responses/file-1/content",
            ),
            (
                UpstreamKind::Azure,
                DATED,
                Family::Responses,
                "/openai/responses/file-1/content?api-version=2025-04-01-preview",
            ),
            (
                UpstreamKind::AzureV1,
                DATED,
                Family::Responses,
                "/openai/v1/responses/file-1/content",
            ),
            (
                UpstreamKind::Openai,
                UPSTREAM_ONLY,
                Family::Responses,
                "/v1/responses/file-1/content",
            ),
        ];
        for (kind, versions, family, want) in cases {
            assert_eq!(
                upstream_path(kind, versions, family, &content, None).as_deref(),
                Some(want),
                "{kind:?} {versions:?} {family:?}"
            );
        }
        assert_eq!(
            upstream_path(UpstreamKind::Inference, DATED, Family::Files, &[], None),
            None
        );
        assert_eq!(
            upstream_path(
                UpstreamKind::Azure,
                UPSTREAM_ONLY,
                Family::Batches,
                &[],
                None
            )
            .as_deref(),
            Some("/openai/batches?api-version=2024-10-21")
        );
    }

    #[test]
    fn queries_keep_the_clients_parameters_but_its_version_and_key() {
        let q = Some("limit=2&api-version=2025-04-01-preview&after=f%201&API-KEY=secret&order=asc");
        assert_eq!(kept_query(q), "limit=2&after=f%201&order=asc");
        assert_eq!(
            upstream_path(UpstreamKind::Azure, DATED, Family::Files, &[], q).as_deref(),
            Some("/openai/files?api-version=2025-04-01-preview&limit=2&after=f%201&order=asc")
        );
        assert_eq!(
            upstream_path(UpstreamKind::Openai, DATED, Family::Batches, &[], q).as_deref(),
            Some("/v1/batches?limit=2&after=f%201&order=asc")
        );
        assert_eq!(
            upstream_path(
                UpstreamKind::AzureV1,
                DATED,
                Family::Batches,
                &[],
                Some("api-version=v1")
            )
            .as_deref(),
            Some("/openai/v1/batches")
        );
    }

    #[test]
    fn segments_are_decoded_checked_and_reencoded() {
        let s = segments("/v1/files/file-1/content", Face::OpenAi, Family::Files).unwrap();
        assert_eq!(s, segs(&["file-1", "content"]));
        assert_eq!(
            segments("/openai/v1/batches", Face::AzureV1, Family::Batches).unwrap(),
            Vec::<String>::new()
        );
        let s = segments(
            "/openai/fine_tuning/jobs/ft%2F..%20x",
            Face::AzureDated,
            Family::FineTuning,
        )
        .unwrap();
        assert_eq!(s, segs(&["jobs", "ft/.. x"]));
        assert_eq!(
            upstream_path(
                UpstreamKind::Openai,
                UPSTREAM_ONLY,
                Family::FineTuning,
                &s,
                None
            )
            .as_deref(),
            Some("/v1/fine_tuning/jobs/ft%2F..%20x")
        );
        for bad in [
            "/v1/fine_tuning/jobs/..",
            "/v1/fine_tuning/jobs/%2e%2E/x",
            "/v1/fine_tuning/jobs/./x",
            "/v1/fine_tuning/jobs//x",
            "/v1/fine_tuning/jobs/",
            "/v1/fine_tuning/jobs/%zz",
            "/v1/fine_tuning/jobs/%ff",
            "/v1/fine_tuning/jobs/a%0Ab",
            "/v1/fine_tuningx",
        ] {
            let err = segments(bad, Face::OpenAi, Family::FineTuning).unwrap_err();
            assert_eq!(err.code(), "invalid_path", "{bad}");
        }
        let long = format!("/v1/files/{}", "a".repeat(MAX_SEGMENT + 1));
        assert!(segments(&long, Face::OpenAi, Family::Files).is_err());
    }
}
