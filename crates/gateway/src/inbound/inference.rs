//! The Azure AI Model Inference dialect (Foundry's `/models` endpoint, serverless endpoints),
//! for clients such as `azure-ai-inference`: `POST /chat/completions`, `POST /embeddings` and
//! `GET /info`, each also under `/models` (WIRE-FACTS A6).
//!
//! Any upstream kind can serve it, so Azure-style clients can reach vLLM, TGI or SGLang. The
//! rules are the service's: `api-version` must be `2025-04-01` or `2024-05-01-preview`;
//! `extra-parameters` (default `error`) is applied by the gateway
//! ([`crate::policy::extra_params`]); `azureml-model-deployment` picks the model alias ahead of
//! the body's `model`; and `model` may be left out when the gateway serves a single model.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, Request, Uri};
use serde::Serialize;

use super::query_param;
use super::shapes::{self, Dialect};
use crate::call::{ClientApiVersion, Operation};
use crate::config::{INFERENCE_API_VERSIONS, ModelType};
use crate::error::GatewayError;
use crate::proxy::{self, Inbound};
use crate::route::ModelEntry;
use crate::state::AppState;
use crate::upstream::headers::AZUREML_MODEL_DEPLOYMENT;

pub fn router() -> Router<Arc<AppState>> {
    let mut router = Router::new();
    for prefix in ["", "/models"] {
        router = router
            .route(&format!("{prefix}/chat/completions"), post(chat))
            .route(&format!("{prefix}/embeddings"), post(embeddings))
            .route(&format!("{prefix}/info"), get(info));
    }
    router
}

fn version(query: Option<&str>) -> Result<ClientApiVersion, GatewayError> {
    match query_param(query, "api-version") {
        None | Some("") => Err(shapes::inference_api_version_missing()),
        Some(v) if INFERENCE_API_VERSIONS.contains(&v) => Ok(ClientApiVersion::Inference(v.into())),
        Some(_) => Err(shapes::inference_api_version_unsupported()),
    }
}

/// The deployment a client picked with `azureml-model-deployment`.
fn deployment_header(headers: &HeaderMap) -> Option<String> {
    headers
        .get(AZUREML_MODEL_DEPLOYMENT)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

async fn forward(app: Arc<AppState>, op: Operation, req: Request<Body>) -> Response {
    let (api_version, rejected) = match version(req.uri().query()) {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(e)),
    };
    let inbound = Inbound {
        op,
        dialect: Dialect::Inference,
        alias: deployment_header(req.headers()),
        api_version,
        rejected,
    };
    proxy::forward_from(app, inbound, req).await
}

async fn chat(State(app): State<Arc<AppState>>, req: Request<Body>) -> Response {
    forward(app, Operation::ChatCompletions, req).await
}

async fn embeddings(State(app): State<Arc<AppState>>, req: Request<Body>) -> Response {
    forward(app, Operation::Embeddings, req).await
}

#[derive(Serialize)]
struct Info<'a> {
    model_name: &'a str,
    model_type: ModelType,
    model_provider_name: &'a str,
}

/// `model_type` when the config does not say: from the alias, the way model names read.
fn guess_type(id: &str) -> ModelType {
    let id = id.to_ascii_lowercase();
    if id.contains("embed") {
        ModelType::Embeddings
    } else if ["dall-e", "gpt-image", "flux", "stable-diffusion"]
        .iter()
        .any(|p| id.contains(p))
    {
        ModelType::ImageGeneration
    } else if id.starts_with("tts") || id.contains("-tts") {
        ModelType::AudioGeneration
    } else {
        ModelType::ChatCompletions
    }
}

/// `model_provider_name` when the config does not say, by family prefix.
fn guess_provider(id: &str) -> &'static str {
    const FAMILIES: [(&str, &str); 14] = [
        ("gpt", "OpenAI"),
        ("o1", "OpenAI"),
        ("o3", "OpenAI"),
        ("o4", "OpenAI"),
        ("text-embedding", "OpenAI"),
        ("dall-e", "OpenAI"),
        ("phi", "Microsoft"),
        ("mai-", "Microsoft"),
        ("llama", "Meta"),
        ("meta-", "Meta"),
        ("mistral", "Mistral AI"),
        ("deepseek", "DeepSeek"),
        ("cohere", "Cohere"),
        ("grok", "xAI"),
    ];
    let id = id.to_ascii_lowercase();
    FAMILIES
        .iter()
        .find(|(prefix, _)| id.starts_with(prefix))
        .map_or("Unknown", |(_, provider)| provider)
}

/// The alias `/info` describes: the `model` query parameter (2025-04-01), the deployment
/// header, or the only model.
fn info_entry<'a>(
    models: &'a crate::route::ModelTable,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<&'a Arc<ModelEntry>, GatewayError> {
    let named = uri
        .query()
        .and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, v)| k == "model" && !v.is_empty())
                .map(|(_, v)| v.into_owned())
        })
        .or_else(|| deployment_header(headers));
    match (named, models.models()) {
        (Some(name), _) => models.get(&name).ok_or(GatewayError::ModelNotFound(name)),
        (None, [only]) => Ok(only),
        (None, _) => Err(shapes::inference_model_required()),
    }
}

/// `GET /info?api-version=…`: what the gateway serves under that alias.
async fn info(State(app): State<Arc<AppState>>, uri: Uri, headers: HeaderMap) -> Response {
    let rt = app.runtime.load();
    let result = rt
        .keys
        .authenticate(&headers)
        .and_then(|_| version(uri.query()))
        .and_then(|_| info_entry(&rt.models, &uri, &headers));
    match result {
        Ok(entry) => Json(Info {
            model_name: &entry.id,
            model_type: entry.model_type.unwrap_or_else(|| guess_type(&entry.id)),
            model_provider_name: entry
                .provider
                .as_deref()
                .unwrap_or_else(|| guess_provider(&entry.id)),
        })
        .into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert!(matches!(
            version(Some("api-version=2025-04-01")),
            Ok(ClientApiVersion::Inference(v)) if &*v == "2025-04-01"
        ));
        assert!(version(Some("api-version=2024-05-01-preview")).is_ok());
        assert_eq!(version(None).unwrap_err().code(), "missing_api_version");
        assert_eq!(
            version(Some("api-version=2024-10-21")).unwrap_err().code(),
            "unsupported_api_version"
        );
    }

    #[test]
    fn guesses() {
        assert_eq!(guess_type("text-embedding-3-small"), ModelType::Embeddings);
        assert_eq!(guess_type("Phi-4"), ModelType::ChatCompletions);
        assert_eq!(guess_type("dall-e-3"), ModelType::ImageGeneration);
        assert_eq!(guess_provider("Phi-4"), "Microsoft");
        assert_eq!(guess_provider("DeepSeek-R1"), "DeepSeek");
        assert_eq!(guess_provider("gpt-4o"), "OpenAI");
        assert_eq!(guess_provider("my-model"), "Unknown");
    }
}
