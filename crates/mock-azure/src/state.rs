//! State shared by the handlers and the [`MockServer`](crate::MockServer) handle.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, PoisonError, RwLock};

use crate::config::{Behavior, MockConfig};
use crate::entra::TokenAuthority;
use crate::models::{Kind, Lists};
use crate::record::Recorder;
use crate::store::Store;

pub(crate) struct Shared {
    pub(crate) key: Option<String>,
    /// Entra-only auth (see [`MockConfig::entra`]).
    pub(crate) entra: Option<TokenAuthority>,
    pub(crate) token_audiences: Vec<String>,
    pub(crate) record: bool,
    deployments: Option<HashSet<String>>,
    behaviors: RwLock<HashMap<String, Behavior>>,
    /// Configured reasoning, Responses-only and chat-only names.
    models: Lists,
    pub(crate) recorder: Arc<Recorder>,
    /// Files, batches, fine-tuning jobs and responses this resource keeps.
    pub(crate) store: Store,
}

impl Shared {
    pub(crate) fn new(config: MockConfig) -> Self {
        Self {
            key: config.key,
            entra: config.entra,
            token_audiences: config.token_audiences,
            record: config.record,
            deployments: config.deployments.map(|list| list.into_iter().collect()),
            behaviors: RwLock::new(config.behaviors),
            models: Lists::new(&config.reasoning, &config.responses_only, &config.chat_only),
            recorder: Arc::default(),
            store: Store::default(),
        }
    }

    /// Whether `name` is deployed (always, when no list was configured).
    pub(crate) fn has_deployment(&self, name: &str) -> bool {
        self.deployments
            .as_ref()
            .is_none_or(|list| list.contains(name))
    }

    /// The configured deployment list, if any; the model inference face picks the
    /// sole entry when a request names no deployment.
    pub(crate) fn deployment_list(&self) -> Option<&HashSet<String>> {
        self.deployments.as_ref()
    }

    /// Which operations and parameters `deployment` takes (its name, the config lists).
    pub(crate) fn kind(&self, deployment: &str) -> Kind {
        self.models.kind(deployment)
    }

    /// The configured behaviour for `deployment`, or the default one.
    pub(crate) fn behavior(&self, deployment: &str) -> Behavior {
        let behaviors = self
            .behaviors
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        behaviors.get(deployment).cloned().unwrap_or_default()
    }

    pub(crate) fn set_behavior(&self, deployment: &str, behavior: Behavior) {
        let mut behaviors = self
            .behaviors
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        behaviors.insert(deployment.to_owned(), behavior);
    }
}
