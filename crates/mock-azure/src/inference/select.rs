//! Which deployment a model inference request is for (WIRE-FACTS A6). One endpoint
//! can serve several deployments, so the name comes from the `azureml-model-deployment`
//! header, else the body's `model` (on `GET /info`, the `model` query parameter that
//! 2025-04-01 added), else the endpoint's only model. It runs before recording, so the
//! log shows the name the answer will report.

use http::request::Parts;

use crate::route::{Op, query_param};
use crate::state::Shared;

/// Routes a request on a multi-deployment endpoint; wins over the body's `model`.
const DEPLOYMENT_HEADER: &str = "azureml-model-deployment";

/// What a mock with no deployment list calls its single model.
const DEFAULT_MODEL: &str = "mock-model";

/// The only api-version whose `/info` reads the `model` query parameter.
const INFO_MODEL_VERSION: &str = "2025-04-01";

/// The chosen name, or `None` when the mock lists several (or no) deployments and the
/// request names none. Existence is checked later, so an unknown name is still recorded.
pub(crate) fn deployment(
    shared: &Shared,
    parts: &Parts,
    op: Op,
    body_model: Option<&str>,
) -> Option<String> {
    let header = parts
        .headers
        .get(DEPLOYMENT_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    let named = match op {
        Op::Info => info_model(parts.uri.query()),
        _ => body_model.filter(|m| !m.is_empty()),
    };
    if let Some(name) = header.filter(|h| !h.is_empty()).or(named) {
        return Some(name.to_owned());
    }
    match shared.deployment_list() {
        None => Some(DEFAULT_MODEL.to_owned()),
        Some(list) if list.len() == 1 => list.iter().next().cloned(),
        Some(_) => None,
    }
}

/// `model` from the query of `GET /info`, raw (deployment names need no escaping).
/// Older api-versions do not know the parameter, so it is ignored there.
fn info_model(query: Option<&str>) -> Option<&str> {
    if query_param(query, "api-version") != Some(INFO_MODEL_VERSION) {
        return None;
    }
    query_param(query, "model").filter(|m| !m.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MockConfig;

    fn parts(uri: &str, header: Option<&str>) -> Parts {
        let mut builder = http::Request::builder().uri(uri);
        if let Some(value) = header {
            builder = builder.header(DEPLOYMENT_HEADER, value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    fn shared(deployments: Option<&[&str]>) -> Shared {
        Shared::new(MockConfig {
            deployments: deployments.map(|d| d.iter().map(|s| (*s).to_owned()).collect()),
            ..MockConfig::default()
        })
    }

    #[test]
    fn header_then_body_then_sole_deployment() {
        let open = shared(None);
        let chat = "/models/chat/completions?api-version=2025-04-01";
        let p = parts(chat, Some("from-header"));
        let pick = |s: &Shared, p: &Parts, body| deployment(s, p, Op::Chat, body);
        assert_eq!(pick(&open, &p, Some("b")).as_deref(), Some("from-header"));
        let p = parts(chat, None);
        assert_eq!(pick(&open, &p, Some("b")).as_deref(), Some("b"));
        assert_eq!(pick(&open, &p, None).as_deref(), Some("mock-model"));
        assert_eq!(
            pick(&shared(Some(&["only"])), &p, None).as_deref(),
            Some("only")
        );
        assert_eq!(pick(&shared(Some(&["a", "b"])), &p, None), None);
        assert_eq!(pick(&shared(Some(&[])), &p, None), None);
        let blank = parts(chat, Some(" "));
        assert_eq!(pick(&open, &blank, None).as_deref(), Some("mock-model"));
    }

    #[test]
    fn info_reads_the_model_query_from_2025_04_01_on() {
        let open = shared(None);
        let info = |uri| deployment(&open, &parts(uri, None), Op::Info, Some("body"));
        assert_eq!(
            info("/info?api-version=2025-04-01&model=q").as_deref(),
            Some("q")
        );
        assert_eq!(
            info("/info?model=q&api-version=2024-05-01-preview").as_deref(),
            Some("mock-model")
        );
        assert_eq!(
            info("/info?api-version=2025-04-01").as_deref(),
            Some("mock-model")
        );
        let p = parts("/info?api-version=2025-04-01&model=q", Some("h"));
        assert_eq!(deployment(&open, &p, Op::Info, None).as_deref(), Some("h"));
    }
}
