//! Which family a model belongs to when the config does not say: by name, the way Azure names
//! its models (WIRE-FACTS A8). Deployment names are the operator's choice, so this is only the
//! default; `models[].family` settles it.

use crate::config::ModelFamily;

/// `reasoning` for gpt-5* (but not the `-chat` variants, which take sampling parameters),
/// o1*/o3*/o4* and codex*; `None` when the name says nothing.
pub fn infer(name: &str) -> Option<ModelFamily> {
    let name = name.trim().to_ascii_lowercase();
    let reasoning = if let Some(rest) = name.strip_prefix("gpt-5") {
        !rest.contains("-chat")
    } else if let Some(rest) = name.strip_prefix('o') {
        matches!(rest.as_bytes(), [b'1' | b'3' | b'4', ..])
    } else {
        name.starts_with("codex")
    };
    reasoning.then_some(ModelFamily::Reasoning)
}

/// The family of an alias: the configured one, else the first name that says `reasoning`
/// (the alias, then each deployment), else `chat`.
pub fn resolve<'a>(
    configured: Option<ModelFamily>,
    names: impl IntoIterator<Item = &'a str>,
) -> ModelFamily {
    configured
        .or_else(|| names.into_iter().find_map(infer))
        .unwrap_or(ModelFamily::Chat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for reasoning in [
            "gpt-5",
            "GPT-5-mini",
            "gpt-5.1",
            "gpt-5.1-codex-max",
            "gpt-5-pro",
            "o1",
            "o3-mini",
            "o4-mini",
            "o3-pro",
            "codex-mini",
        ] {
            assert_eq!(
                infer(reasoning),
                Some(ModelFamily::Reasoning),
                "{reasoning}"
            );
        }
        for other in [
            "gpt-5-chat",
            "gpt-5.1-chat",
            "gpt-4o",
            "gpt-4.1-mini",
            "omni-moderation",
            "o",
            "gpt-oss-120b",
            "prod-chat",
        ] {
            assert_eq!(infer(other), None, "{other}");
        }
        assert_eq!(
            resolve(None, ["prod", "o3-mini"]),
            ModelFamily::Reasoning,
            "a deployment name can tell"
        );
        assert_eq!(
            resolve(Some(ModelFamily::Chat), ["o3"]),
            ModelFamily::Chat,
            "config wins"
        );
        assert_eq!(resolve(None, ["gpt-4o"]), ModelFamily::Chat);
    }
}
