//! `GET /info` (WIRE-FACTS A6): what model a deployment serves. Clients such as
//! LangChain's Azure AI integration call it to learn the model's kind before chatting.

use axum::response::Response;
use http::StatusCode;

use crate::fragments::json_string;

/// `{"model_name","model_type","model_provider_name"}` for deployment `name`; the type
/// is guessed from the name, the way deployments are usually called.
pub(crate) fn reply(name: &str) -> Response {
    let body = format!(
        r#"{{"model_name":{},"model_type":"{}","model_provider_name":"Mock"}}"#,
        json_string(name),
        model_type(name)
    );
    crate::errors::json(StatusCode::OK, body)
}

/// `embeddings` when the name mentions "embed" in any case, else `chat-completions`.
fn model_type(name: &str) -> &'static str {
    if name.to_ascii_lowercase().contains("embed") {
        "embeddings"
    } else {
        "chat-completions"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_from_name() {
        assert_eq!(model_type("text-EMBEDDING-3"), "embeddings");
        assert_eq!(model_type("Cohere-embed-v3"), "embeddings");
        assert_eq!(model_type("phi-4"), "chat-completions");
    }
}
