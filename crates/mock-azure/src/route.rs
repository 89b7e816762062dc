//! Which data-plane operation a path names, on which of the three faces.

/// An inference operation the mock implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Chat,
    Completions,
    Embeddings,
    Images,
    Responses,
}

impl Op {
    fn from_suffix(suffix: &str) -> Option<Self> {
        Some(match suffix {
            "chat/completions" => Self::Chat,
            "completions" => Self::Completions,
            "embeddings" => Self::Embeddings,
            "images/generations" => Self::Images,
            "responses" => Self::Responses,
            _ => return None,
        })
    }

    /// Azure's operation id, quoted in its 429 message.
    pub(crate) fn operation_id(self) -> &'static str {
        match self {
            Self::Chat => "ChatCompletions_Create",
            Self::Completions => "Completions_Create",
            Self::Embeddings => "Embeddings_Create",
            Self::Images => "ImageGenerations_Create",
            Self::Responses => "Responses_Create",
        }
    }
}

/// Which URL family the request came in on; they differ in api-version rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Face {
    /// `/openai/deployments/{d}/…` and `/openai/responses`: `api-version` required.
    Legacy,
    /// `/openai/v1/…`: `api-version` optional (`v1`, `preview`, `latest`).
    V1,
    /// `/v1/…`, an OpenAI-compatible engine: `api-version` ignored.
    Engine,
}

/// A parsed data-plane path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Route<'a> {
    pub(crate) face: Face,
    pub(crate) op: Op,
    /// Only legacy deployment paths name it; elsewhere it is the body `model`.
    pub(crate) deployment: Option<&'a str>,
}

/// Parses a raw request path; `None` means Azure's "Resource not found".
pub(crate) fn parse(path: &str) -> Option<Route<'_>> {
    if let Some(rest) = path.strip_prefix("/openai/deployments/") {
        let (deployment, suffix) = rest.split_once('/')?;
        let op = Op::from_suffix(suffix).filter(|op| *op != Op::Responses)?;
        if deployment.is_empty() {
            return None;
        }
        return Some(Route {
            face: Face::Legacy,
            op,
            deployment: Some(deployment),
        });
    }
    let (face, suffix) = if path == "/openai/responses" {
        (Face::Legacy, "responses")
    } else if let Some(suffix) = path.strip_prefix("/openai/v1/") {
        (Face::V1, suffix)
    } else {
        (Face::Engine, path.strip_prefix("/v1/")?)
    };
    Some(Route {
        face,
        op: Op::from_suffix(suffix)?,
        deployment: None,
    })
}

/// The raw value of query parameter `name`, if present.
pub(crate) fn query_param<'q>(query: Option<&'q str>, name: &str) -> Option<&'q str> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find_map(|(key, value)| (key == name).then_some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_paths() {
        let r = parse("/openai/deployments/gpt/chat/completions");
        assert_eq!(
            r,
            Some(Route {
                face: Face::Legacy,
                op: Op::Chat,
                deployment: Some("gpt")
            })
        );
        assert_eq!(
            parse("/openai/deployments/e/embeddings").map(|r| r.op),
            Some(Op::Embeddings)
        );
        assert_eq!(parse("/openai/deployments//chat/completions"), None);
        assert_eq!(parse("/openai/deployments/d/responses"), None);
        assert_eq!(parse("/openai/deployments/d/audio/speech"), None);
        let r = parse("/openai/responses");
        assert_eq!(
            r.map(|r| (r.face, r.op)),
            Some((Face::Legacy, Op::Responses))
        );
    }

    #[test]
    fn v1_and_engine_paths() {
        let r = parse("/openai/v1/images/generations");
        assert_eq!(r.map(|r| (r.face, r.op)), Some((Face::V1, Op::Images)));
        let r = parse("/v1/completions");
        assert_eq!(
            r.map(|r| (r.face, r.op)),
            Some((Face::Engine, Op::Completions))
        );
        assert_eq!(parse("/v1/models"), None);
        assert_eq!(parse("/openai/v1/chat/completions/"), None);
        assert_eq!(parse("/"), None);
    }

    #[test]
    fn query_params() {
        let q = Some("a=1&api-version=2024-10-21&flag");
        assert_eq!(query_param(q, "api-version"), Some("2024-10-21"));
        assert_eq!(query_param(q, "flag"), Some(""));
        assert_eq!(query_param(q, "b"), None);
        assert_eq!(query_param(None, "a"), None);
    }
}
