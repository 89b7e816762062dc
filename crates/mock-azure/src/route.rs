//! Which data-plane operation a path names, on which of the four faces; resource-level
//! paths (files, batches, fine-tuning, stored responses) are only split off here and
//! named by `store::route`.

use http::Method;

/// An inference operation the mock implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Chat,
    Completions,
    Embeddings,
    Images,
    Responses,
    /// `GET /info`, only on the model inference face.
    Info,
    /// The realtime WebSocket handshake (`GET …/realtime`), served by `realtime`, not here.
    Realtime,
    /// `audio/transcriptions`, multipart.
    Transcriptions,
    /// `audio/translations`, multipart.
    Translations,
    /// `audio/speech`: JSON in, audio out.
    Speech,
    /// `images/edits`, multipart.
    ImageEdits,
    /// `images/variations`, multipart; only the engine face has it (Azure has no such API).
    ImageVariations,
}

impl Op {
    fn from_suffix(suffix: &str) -> Option<Self> {
        Some(match suffix {
            "chat/completions" => Self::Chat,
            "completions" => Self::Completions,
            "embeddings" => Self::Embeddings,
            "images/generations" => Self::Images,
            "responses" => Self::Responses,
            "audio/transcriptions" => Self::Transcriptions,
            "audio/translations" => Self::Translations,
            "audio/speech" => Self::Speech,
            "images/edits" => Self::ImageEdits,
            "images/variations" => Self::ImageVariations,
            _ => return None,
        })
    }

    /// Whether the body is `multipart/form-data` rather than JSON.
    pub(crate) fn multipart(self) -> bool {
        matches!(
            self,
            Self::Transcriptions | Self::Translations | Self::ImageEdits | Self::ImageVariations
        )
    }

    /// Azure's operation id, quoted in its 429 message.
    pub(crate) fn operation_id(self) -> &'static str {
        match self {
            Self::Chat => "ChatCompletions_Create",
            Self::Completions => "Completions_Create",
            Self::Embeddings => "Embeddings_Create",
            Self::Images => "ImageGenerations_Create",
            Self::Responses => "Responses_Create",
            Self::Info => "GetModelInfo",
            Self::Transcriptions => "Transcriptions_Create",
            Self::Translations => "Translations_Create",
            Self::Speech => "Speech_Create",
            Self::ImageEdits => "ImageEdits_Create",
            Self::ImageVariations => "ImageVariations_Create",
            // No documented id; the message names the API.
            Self::Realtime => "Realtime",
        }
    }

    /// The only method the operation answers; any other is "Resource not found".
    pub(crate) fn method(self) -> Method {
        match self {
            Self::Info | Self::Realtime => Method::GET,
            _ => Method::POST,
        }
    }
}

/// Which URL family the request came in on; they differ in api-version rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Face {
    /// `/openai/deployments/{d}/…`, `/openai/responses` and the resource paths
    /// (`/openai/files`, …): `api-version` required.
    Legacy,
    /// `/openai/v1/…`: `api-version` optional (`v1`, `preview`, `latest`).
    V1,
    /// `/v1/…`, an OpenAI-compatible engine: `api-version` ignored.
    Engine,
    /// Azure AI Model Inference (WIRE-FACTS A6): `/models/{chat/completions,embeddings,info}`
    /// on a Foundry resource, the same without `/models` on serverless endpoints;
    /// `api-version` required, deployment chosen by header or body.
    Inference,
}

/// A parsed data-plane path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Route<'a> {
    pub(crate) face: Face,
    pub(crate) op: Op,
    /// Only legacy deployment paths name it; elsewhere it is the body `model`.
    pub(crate) deployment: Option<&'a str>,
}

/// Parses a raw request path; `None`: not a deployment operation (a [`resource`] path,
/// or Azure's "Resource not found").
pub(crate) fn parse(path: &str) -> Option<Route<'_>> {
    if let Some(rest) = path.strip_prefix("/openai/deployments/") {
        let (deployment, suffix) = rest.split_once('/')?;
        let op = Op::from_suffix(suffix)
            .filter(|op| !matches!(op, Op::Responses | Op::ImageVariations))?;
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
    } else if let Some(suffix) = path.strip_prefix("/v1/") {
        (Face::Engine, suffix)
    } else {
        return inference(path);
    };
    let op = Op::from_suffix(suffix)?;
    if op == Op::ImageVariations && face != Face::Engine {
        return None;
    }
    Some(Route {
        face,
        op,
        deployment: None,
    })
}

/// Splits a resource-level path (no deployment) into its face and the rest, e.g.
/// `/openai/files/file-1` → (Legacy, `files/file-1`); `store::route` names the operation.
pub(crate) fn resource(path: &str) -> Option<(Face, &str)> {
    let (face, rest) = if let Some(rest) = path.strip_prefix("/openai/v1/") {
        (Face::V1, rest)
    } else if let Some(rest) = path.strip_prefix("/v1/") {
        (Face::Engine, rest)
    } else {
        (Face::Legacy, path.strip_prefix("/openai/")?)
    };
    let first = rest.split('/').next().unwrap_or(rest);
    matches!(first, "files" | "batches" | "fine_tuning" | "responses").then_some((face, rest))
}

/// The model inference routes, with or without the `/models` prefix. They share
/// no path with the other faces, so the bare form cannot shadow them.
fn inference(path: &str) -> Option<Route<'static>> {
    let bare = path
        .strip_prefix("/models")
        .filter(|rest| rest.starts_with('/'))
        .unwrap_or(path);
    let op = match bare {
        "/chat/completions" => Op::Chat,
        "/embeddings" => Op::Embeddings,
        "/info" => Op::Info,
        _ => return None,
    };
    Some(Route {
        face: Face::Inference,
        op,
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
        assert_eq!(
            parse("/openai/deployments/d/audio/speech").map(|r| r.op),
            Some(Op::Speech)
        );
        assert_eq!(parse("/openai/deployments/d/audio/unknown"), None);
        assert_eq!(parse("/openai/deployments/d/images/variations"), None);
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
        assert_eq!(
            parse("/v1/images/variations").map(|r| r.op),
            Some(Op::ImageVariations)
        );
        assert_eq!(parse("/openai/v1/images/variations"), None);
        assert!(parse("/openai/v1/audio/transcriptions").is_some_and(|r| r.op.multipart()));
        assert_eq!(parse("/openai/v1/chat/completions/"), None);
        assert_eq!(parse("/"), None);
    }

    #[test]
    fn inference_paths() {
        for (path, op) in [
            ("/models/chat/completions", Op::Chat),
            ("/chat/completions", Op::Chat),
            ("/models/embeddings", Op::Embeddings),
            ("/embeddings", Op::Embeddings),
            ("/models/info", Op::Info),
            ("/info", Op::Info),
        ] {
            assert_eq!(
                parse(path).map(|r| (r.face, r.op, r.deployment)),
                Some((Face::Inference, op, None)),
                "{path}"
            );
        }
        for path in [
            "/models",
            "/models/",
            "/modelsinfo",
            "/models/models/info",
            "/models/completions",
            "/completions",
            "/images/generations",
            "/models/images/embeddings",
            "/openai/deployments/d/info",
            "/v1/info",
        ] {
            assert_eq!(parse(path), None, "{path}");
        }
        assert_eq!(Op::Info.method(), Method::GET);
        assert_eq!(Op::Chat.method(), Method::POST);
    }

    #[test]
    fn resource_paths() {
        assert_eq!(
            resource("/openai/files/file-1"),
            Some((Face::Legacy, "files/file-1"))
        );
        assert_eq!(resource("/openai/v1/batches"), Some((Face::V1, "batches")));
        assert_eq!(
            resource("/v1/fine_tuning/jobs"),
            Some((Face::Engine, "fine_tuning/jobs"))
        );
        assert_eq!(
            resource("/v1/responses/resp_1"),
            Some((Face::Engine, "responses/resp_1"))
        );
        for path in [
            "/openai/deployments/d/files",
            "/files",
            "/openai/models",
            "/v1/filesx",
        ] {
            assert_eq!(resource(path), None, "{path}");
        }
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
