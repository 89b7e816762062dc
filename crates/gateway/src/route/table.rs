//! The model table and route-override resolution.
//!
//! Override semantics (seed AOAI Foundry Proxy): `models[].routes[op]`, else
//! `models[].routes["*"]`; a value starting with `/` is a literal path (with `{deployment}` and
//! `{apiVersion}` filled in), anything else names another route key, looked up in the upstream's
//! `routes` or, for a known operation, at the kind's default path.

use std::collections::HashMap;
use std::sync::Arc;

use crate::call::Operation;
use crate::config::ModelConfig;
use crate::error::GatewayError;
use crate::telemetry::{ModelStats, Stats};
use crate::upstream::{Upstream, dialect};

/// Where one alias sends one operation.
#[derive(Debug, Clone)]
enum PathChoice {
    Path(Arc<str>),
    /// The override maps this operation to a different one; that needs body translation.
    Translate(Operation),
}

/// One configured alias.
#[derive(Debug)]
pub struct ModelEntry {
    pub id: String,
    pub upstream: Arc<Upstream>,
    pub deployment: Arc<str>,
    paths: [PathChoice; Operation::ALL.len()],
    pub stats: Arc<ModelStats>,
}

/// The resolved destination of one request.
#[derive(Debug, Clone)]
pub struct Target {
    pub upstream: Arc<Upstream>,
    pub deployment: Arc<str>,
    pub path: Arc<str>,
    pub stats: Arc<ModelStats>,
}

#[derive(Debug)]
pub struct ModelTable {
    /// Lower-cased alias → entry: aliases match case-insensitively (Azure deployment names do).
    by_id: HashMap<String, Arc<ModelEntry>>,
    /// In config order, for `/v1/models`.
    ordered: Vec<Arc<ModelEntry>>,
    fallback: Option<Arc<Upstream>>,
    stats: Arc<Stats>,
}

fn op_index(op: Operation) -> usize {
    Operation::ALL.iter().position(|o| *o == op).unwrap_or(0)
}

/// A resolved path, shared by every request that takes it.
fn path(p: String) -> PathChoice {
    PathChoice::Path(Arc::from(p))
}

fn choose(upstream: &Upstream, model: &ModelConfig, op: Operation, deployment: &str) -> PathChoice {
    let key = op.route_key();
    let Some(over) = model.routes.get(key).or_else(|| model.routes.get("*")) else {
        return path(upstream.path_for(op, deployment));
    };
    if over.starts_with('/') {
        return path(dialect::fill_template(
            over,
            deployment,
            &upstream.api_version,
        ));
    }
    if over == key {
        return path(upstream.path_for(op, deployment));
    }
    match Operation::from_route_key(over) {
        Some(other) if other != op => PathChoice::Translate(other),
        _ => match upstream.route(over) {
            Some(t) => path(dialect::fill_template(t, deployment, &upstream.api_version)),
            None => path(upstream.path_for(op, deployment)),
        },
    }
}

impl ModelTable {
    /// Builds the table; `upstreams` is looked up by name (validation guarantees it exists).
    pub fn build(
        models: &[ModelConfig],
        upstreams: &HashMap<String, Arc<Upstream>>,
        fallback: Option<&str>,
        stats: Arc<Stats>,
    ) -> Result<Self, String> {
        let mut by_id = HashMap::with_capacity(models.len());
        let mut ordered = Vec::with_capacity(models.len());
        for m in models {
            let upstream = upstreams
                .get(&m.upstream)
                .ok_or_else(|| format!("model `{}`: unknown upstream `{}`", m.id, m.upstream))?;
            let deployment = m.target_model.clone().unwrap_or_else(|| m.id.clone());
            let paths = Operation::ALL.map(|op| choose(upstream, m, op, &deployment));
            let entry = Arc::new(ModelEntry {
                id: m.id.clone(),
                upstream: Arc::clone(upstream),
                deployment: Arc::from(deployment),
                paths,
                stats: stats.model(&m.id),
            });
            if by_id
                .insert(m.id.to_ascii_lowercase(), Arc::clone(&entry))
                .is_some()
            {
                return Err(format!("model `{}` is configured twice", m.id));
            }
            ordered.push(entry);
        }
        let fallback = match fallback {
            Some(name) => {
                Some(Arc::clone(upstreams.get(name).ok_or_else(|| {
                    format!("modelFallback: unknown upstream `{name}`")
                })?))
            }
            None => None,
        };
        Ok(Self {
            by_id,
            ordered,
            fallback,
            stats,
        })
    }

    pub fn models(&self) -> &[Arc<ModelEntry>] {
        &self.ordered
    }

    pub fn get(&self, alias: &str) -> Option<&Arc<ModelEntry>> {
        match self.by_id.get(alias) {
            Some(e) => Some(e),
            None => self.by_id.get(&alias.to_ascii_lowercase()),
        }
    }

    /// Resolves `alias` for `op`.
    pub fn resolve(&self, op: Operation, alias: &str) -> Result<Target, GatewayError> {
        if let Some(entry) = self.get(alias) {
            return match &entry.paths[op_index(op)] {
                PathChoice::Path(path) => Ok(Target {
                    upstream: Arc::clone(&entry.upstream),
                    deployment: Arc::clone(&entry.deployment),
                    path: Arc::clone(path),
                    stats: Arc::clone(&entry.stats),
                }),
                PathChoice::Translate(other) => Err(GatewayError::NotSupported(format!(
                    "Model `{}` routes {} to {}, which needs request translation between the two \
                     APIs; that is not available in this build.",
                    entry.id,
                    op.route_key(),
                    other.route_key()
                ))),
            };
        }
        let Some(upstream) = &self.fallback else {
            return Err(GatewayError::ModelNotFound(alias.to_owned()));
        };
        Ok(Target {
            upstream: Arc::clone(upstream),
            deployment: Arc::from(alias),
            path: upstream.path_for(op, alias).into(),
            stats: self.stats.model(alias),
        })
    }
}
