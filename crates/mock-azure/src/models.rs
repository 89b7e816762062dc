//! What a deployment's model can do, guessed from its name the way WIRE-FACTS A8
//! classifies Azure's models, plus the names [`MockConfig`](crate::MockConfig) adds.
//! The guess decides which parameters Azure refuses (`validate`) and which operations
//! the deployment serves at all.

/// The operation and parameter rules one deployment follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Kind {
    /// A reasoning model: refuses `max_tokens` and non-default sampling parameters.
    pub(crate) reasoning: bool,
    /// Serves `/responses` only; chat completions get `OperationNotSupported`.
    pub(crate) responses_only: bool,
    /// Serves chat completions only; `/responses` gets `OperationNotSupported`.
    pub(crate) chat_only: bool,
}

/// The extra names from the configuration, lower-cased once.
#[derive(Debug, Default)]
pub(crate) struct Lists {
    reasoning: Vec<String>,
    responses_only: Vec<String>,
    chat_only: Vec<String>,
}

impl Lists {
    pub(crate) fn new(
        reasoning: &[String],
        responses_only: &[String],
        chat_only: &[String],
    ) -> Self {
        let lower = |names: &[String]| names.iter().map(|n| n.to_lowercase()).collect();
        Self {
            reasoning: lower(reasoning),
            responses_only: lower(responses_only),
            chat_only: lower(chat_only),
        }
    }

    /// The rules for `deployment`: its name's family, or a configured list naming it.
    pub(crate) fn kind(&self, deployment: &str) -> Kind {
        let name = deployment.to_lowercase();
        let listed = |list: &[String]| list.contains(&name);
        let chat_only = listed(&self.chat_only);
        Kind {
            reasoning: reasoning_name(&name) || listed(&self.reasoning),
            responses_only: !chat_only
                && (responses_only_name(&name) || listed(&self.responses_only)),
            chat_only,
        }
    }
}

/// `gpt-5*` except the `gpt-5-chat` / `gpt-5.1-chat` variants, and the o-series and
/// codex families (A8's suggested classifier).
fn reasoning_name(name: &str) -> bool {
    if name.starts_with("gpt-5") {
        return !(name.starts_with("gpt-5-chat") || name.starts_with("gpt-5.1-chat"));
    }
    ["o1", "o3", "o4", "codex"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

/// A8's Responses-only models: every codex, `gpt-5-pro` and `o3-pro`.
fn responses_only_name(name: &str) -> bool {
    name.contains("codex") || name.starts_with("gpt-5-pro") || name.starts_with("o3-pro")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(name: &str) -> Kind {
        Lists::default().kind(name)
    }

    #[test]
    fn names_follow_the_a8_families() {
        for name in [
            "gpt-5",
            "GPT-5-mini",
            "gpt-5.1",
            "o1",
            "o3-mini",
            "o4-mini",
            "codex-mini",
        ] {
            assert!(kind(name).reasoning, "{name}");
        }
        for name in [
            "gpt-5-chat",
            "gpt-5.1-chat-latest",
            "gpt-4o",
            "dep-gpt5",
            "mini-o1",
        ] {
            assert!(!kind(name).reasoning, "{name}");
        }
        for name in [
            "gpt-5-codex",
            "gpt-5.1-codex-mini",
            "codex-mini",
            "gpt-5-pro",
            "o3-pro",
        ] {
            assert!(kind(name).responses_only, "{name}");
        }
        for name in ["gpt-5", "o3", "gpt-4o"] {
            assert!(!kind(name).responses_only, "{name}");
        }
        assert!(!kind("gpt-4o").chat_only);
    }

    #[test]
    fn configured_names_add_and_chat_only_wins() {
        let names = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let lists = Lists::new(
            &names(&["Dep-GPT5"]),
            &names(&["resp"]),
            &names(&["gpt-5-codex"]),
        );
        assert!(lists.kind("dep-gpt5").reasoning);
        assert!(lists.kind("resp").responses_only);
        let codex = lists.kind("gpt-5-codex");
        assert!(codex.chat_only && !codex.responses_only && codex.reasoning);
    }
}
