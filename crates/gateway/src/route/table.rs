//! The model table and route-override resolution.
//!
//! Override semantics (seed AOAI Foundry Proxy): `models[].routes[op]`, else
//! `models[].routes["*"]`; a value starting with `/` is a literal path (with `{deployment}` and
//! `{apiVersion}` filled in), anything else names another route key, looked up in the upstream's
//! `routes` or, for a known operation, at the kind's default path.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use tokio::time::Instant;

use super::health::{Health, HealthPolicy};
use super::pool::{Member, Pool};
use crate::call::Operation;
use crate::config::{ModelConfig, ModelType, UpstreamKind};
use crate::error::GatewayError;
use crate::policy::normalize::{self, Rules};
use crate::telemetry::{ModelStats, Stats};
use crate::upstream::{Upstream, dialect};

/// Where one alias sends one operation.
#[derive(Debug, Clone)]
enum PathChoice {
    /// A path from `routes` (the model's or the upstream's).
    Path(Arc<str>),
    /// The upstream kind's own path: an Azure-style client's api-version may replace the
    /// configured one ([`dialect::client_version_path`]).
    Default(Arc<str>),
    /// The override maps this operation to a different one; that needs body translation.
    Translate(Operation),
    /// The override maps this operation to one it cannot be translated to.
    Unsupported(Operation),
}

/// Whether the gateway can translate requests of `from` into `to` (and the answers back).
fn translatable(from: Operation, to: Operation) -> bool {
    matches!(
        (from, to),
        (Operation::ChatCompletions, Operation::Responses)
            | (Operation::Responses, Operation::ChatCompletions)
    )
}

/// One configured alias.
#[derive(Debug)]
pub struct ModelEntry {
    pub id: String,
    backend: Backend,
    pub stats: Arc<ModelStats>,
    /// `models[].modelType`, for Model Inference's `/info`.
    pub model_type: Option<ModelType>,
    /// `models[].provider`, for Model Inference's `/info`.
    pub provider: Option<String>,
    /// Normalization for the alias's family and switches.
    pub rules: Rules,
    /// Per operation: the API the model's routes translate it to.
    translate: [Option<Operation>; Operation::ALL.len()],
}

/// What is done to a request's body on its way, besides routing.
#[derive(Debug)]
pub struct Plan<'a> {
    pub rules: Cow<'a, Rules>,
    /// The upstream speaks this API instead of the client's: translate both ways.
    pub translate: Option<Operation>,
}

/// What serves an alias.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "one per configured model, built once; boxing would add a hop on the fast path"
)]
enum Backend {
    /// One deployment: no balancing and no health state, the upstream's answers pass through
    /// (the fast path).
    One {
        /// Per operation, built once: a request clones its target.
        targets: [Target; Operation::ALL.len()],
        /// Operations the model's routes send to an API they cannot be translated to.
        unsupported: [Option<Operation>; Operation::ALL.len()],
    },
    /// Several deployments behind the balancer and the failover loop.
    Pool {
        pool: Pool,
        /// Operations the model's routes send to an API they cannot be translated to.
        unsupported: [Option<Operation>; Operation::ALL.len()],
    },
}

/// The resolved destination of one request on one deployment.
#[derive(Debug, Clone)]
pub struct Target {
    pub upstream: Arc<Upstream>,
    pub deployment: Arc<str>,
    pub path: Arc<str>,
    /// `path` is the kind's default, not a configured route.
    pub kind_default: bool,
    pub stats: Arc<ModelStats>,
    /// `path` on `upstream` as a URI, parsed once when the table is built rather than per
    /// request; `None` if it does not parse (the request then reports why).
    pub uri: Option<http::Uri>,
}

impl Target {
    pub fn new(
        upstream: Arc<Upstream>,
        deployment: Arc<str>,
        path: Arc<str>,
        kind_default: bool,
        stats: Arc<ModelStats>,
    ) -> Self {
        let uri = upstream.uri(&path).ok();
        Self {
            upstream,
            deployment,
            path,
            kind_default,
            stats,
            uri,
        }
    }
}

/// Where a request goes: one deployment, or a pool the failover loop picks from per attempt.
#[derive(Debug)]
pub enum Route<'a> {
    One(Target),
    Pool {
        pool: &'a Pool,
        /// The operation's [`Operation::ALL`] index into each member's targets.
        op: usize,
        stats: &'a Arc<ModelStats>,
    },
}

impl Route<'_> {
    /// The model alias's counters.
    pub fn stats(&self) -> &Arc<ModelStats> {
        match self {
            Self::One(target) => &target.stats,
            Self::Pool { stats, .. } => stats,
        }
    }
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

/// The upstream's own path for `op`: its `routes` entry, else the kind's default.
fn upstream_path(upstream: &Upstream, op: Operation, deployment: &str) -> PathChoice {
    let p = upstream.path_for(op, deployment);
    if upstream.route(op.route_key()).is_some() {
        path(p)
    } else {
        PathChoice::Default(Arc::from(p))
    }
}

fn choose(upstream: &Upstream, model: &ModelConfig, op: Operation, deployment: &str) -> PathChoice {
    let key = op.route_key();
    let Some(over) = model.routes.get(key).or_else(|| model.routes.get("*")) else {
        return upstream_path(upstream, op, deployment);
    };
    if over.starts_with('/') {
        return path(dialect::fill_template(
            over,
            deployment,
            &upstream.api_version,
        ));
    }
    if over == key {
        return upstream_path(upstream, op, deployment);
    }
    match Operation::from_route_key(over) {
        Some(other) if other != op && translatable(op, other) => PathChoice::Translate(other),
        Some(other) if other != op => PathChoice::Unsupported(other),
        _ => match upstream.route(over) {
            Some(t) => path(dialect::fill_template(t, deployment, &upstream.api_version)),
            None => upstream_path(upstream, op, deployment),
        },
    }
}

/// The path for `op` after translation settles it: a translated operation goes to the path
/// of the operation it becomes (its own override included, but never a second translation).
fn settle(upstream: &Upstream, model: &ModelConfig, op: Operation, deployment: &str) -> PathChoice {
    match choose(upstream, model, op, deployment) {
        PathChoice::Translate(other) => match choose(upstream, model, other, deployment) {
            PathChoice::Translate(_) | PathChoice::Unsupported(_) => {
                upstream_path(upstream, other, deployment)
            }
            path => path,
        },
        path => path,
    }
}

/// Per operation, the API a model's routes translate it to.
fn translations(m: &ModelConfig) -> [Option<Operation>; Operation::ALL.len()] {
    Operation::ALL.map(|op| {
        let over = m.routes.get(op.route_key()).or_else(|| m.routes.get("*"))?;
        Operation::from_route_key(over).filter(|other| *other != op && translatable(op, *other))
    })
}

/// One deployment's target per operation, and the operations its routes cannot serve.
fn targets(
    upstream: &Arc<Upstream>,
    m: &ModelConfig,
    deployment: &Arc<str>,
    stats: &Arc<ModelStats>,
) -> (
    [Target; Operation::ALL.len()],
    [Option<Operation>; Operation::ALL.len()],
) {
    let mut unsupported = [None; Operation::ALL.len()];
    let targets = Operation::ALL.map(|op| {
        let (path, kind_default) = match settle(upstream, m, op, deployment) {
            PathChoice::Path(path) => (path, false),
            PathChoice::Default(path) => (path, true),
            PathChoice::Translate(other) | PathChoice::Unsupported(other) => {
                unsupported[op_index(op)] = Some(other);
                (Arc::from(""), false)
            }
        };
        Target::new(
            Arc::clone(upstream),
            Arc::clone(deployment),
            path,
            kind_default,
            Arc::clone(stats),
        )
    });
    (targets, unsupported)
}

/// The fast-path backend: one upstream and deployment.
fn single(
    m: &ModelConfig,
    upstream: &str,
    target_model: Option<&str>,
    upstreams: &HashMap<String, Arc<Upstream>>,
    stats: &Arc<ModelStats>,
) -> Result<Backend, String> {
    let upstream = upstreams
        .get(upstream)
        .ok_or_else(|| format!("model `{}`: unknown upstream `{upstream}`", m.id))?;
    let deployment: Arc<str> = Arc::from(target_model.unwrap_or(&m.id));
    let (targets, unsupported) = targets(upstream, m, &deployment, stats);
    Ok(Backend::One {
        targets,
        unsupported,
    })
}

/// Builds a model's pool: one member per `deployments[]` entry, each with its own paths.
fn pool(
    m: &ModelConfig,
    upstreams: &HashMap<String, Arc<Upstream>>,
    stats: &Arc<ModelStats>,
    health: HealthPolicy,
    epoch: Instant,
) -> Result<Backend, String> {
    let mut unsupported = [None; Operation::ALL.len()];
    let mut members = Vec::with_capacity(m.deployments.len());
    for d in &m.deployments {
        let upstream = upstreams
            .get(&d.upstream)
            .ok_or_else(|| format!("model `{}`: unknown upstream `{}`", m.id, d.upstream))?;
        let deployment: Arc<str> = Arc::from(d.target_model.as_deref().unwrap_or(&m.id));
        let (targets, refused) = targets(upstream, m, &deployment, stats);
        for (slot, op) in unsupported.iter_mut().zip(refused) {
            *slot = slot.or(op);
        }
        members.push(Member {
            targets,
            weight: d.weight,
            priority: d.priority,
            health: Arc::new(Health::new(health, epoch)),
        });
    }
    let pool = Pool::new(m.strategy, members).map_err(|e| format!("model `{}`: {e}", m.id))?;
    Ok(Backend::Pool { pool, unsupported })
}

fn not_supported(entry: &ModelEntry, op: Operation, other: Operation) -> GatewayError {
    GatewayError::NotSupported(format!(
        "Model `{}` routes {} to {}; the gateway translates only between chat/completions \
         and responses.",
        entry.id,
        op.route_key(),
        other.route_key()
    ))
}

/// The alias's family (configured, else guessed from the alias and its deployments' names)
/// and its normalization switches.
fn rules_for(m: &ModelConfig, upstreams: &HashMap<String, Arc<Upstream>>) -> Rules {
    let deployments: Vec<(&str, Option<&str>)> = match (&m.upstream, m.deployments.as_slice()) {
        (_, [_, ..]) => m
            .deployments
            .iter()
            .map(|d| (d.upstream.as_str(), d.target_model.as_deref()))
            .collect(),
        (Some(upstream), []) => vec![(upstream.as_str(), m.target_model.as_deref())],
        (None, []) => Vec::new(),
    };
    let names =
        std::iter::once(m.id.as_str()).chain(deployments.iter().filter_map(|(_, name)| *name));
    let family = normalize::resolve_family(m.family, names);
    let kinds: Vec<UpstreamKind> = deployments
        .iter()
        .filter_map(|(u, _)| upstreams.get(*u).map(|u| u.kind))
        .collect();
    Rules::new(m.normalize.as_ref(), family, &kinds)
}

impl ModelEntry {
    /// The pool behind this alias, when it has one (for the admin API).
    pub fn pool(&self) -> Option<&Pool> {
        match &self.backend {
            Backend::Pool { pool, .. } => Some(pool),
            Backend::One { .. } => None,
        }
    }
}

impl ModelTable {
    /// Builds the table; `upstreams` is looked up by name (validation guarantees it exists).
    /// A model with several deployments gets a pool whose health follows `health`.
    pub fn build(
        models: &[ModelConfig],
        upstreams: &HashMap<String, Arc<Upstream>>,
        fallback: Option<&str>,
        stats: Arc<Stats>,
        health: HealthPolicy,
    ) -> Result<Self, String> {
        let mut by_id = HashMap::with_capacity(models.len());
        let mut ordered = Vec::with_capacity(models.len());
        let epoch = Instant::now();
        for m in models {
            let model_stats = stats.model(&m.id);
            let backend = match (m.deployments.as_slice(), &m.upstream) {
                ([_, _, ..], _) => pool(m, upstreams, &model_stats, health, epoch)?,
                // One deployment, in either form: the fast path.
                ([one], _) => single(
                    m,
                    &one.upstream,
                    one.target_model.as_deref(),
                    upstreams,
                    &model_stats,
                )?,
                ([], Some(name)) => {
                    single(m, name, m.target_model.as_deref(), upstreams, &model_stats)?
                }
                ([], None) => return Err(format!("model `{}` has no upstream", m.id)),
            };
            let entry = Arc::new(ModelEntry {
                id: m.id.clone(),
                rules: rules_for(m, upstreams),
                translate: translations(m),
                backend,
                stats: model_stats,
                model_type: m.model_type,
                provider: m.provider.clone(),
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
    pub fn resolve(&self, op: Operation, alias: &str) -> Result<Route<'_>, GatewayError> {
        self.resolve_with_plan(op, alias).map(|(route, _)| route)
    }

    /// Resolves `alias` for `op`, with what must be done to the body on the way.
    pub fn resolve_with_plan(
        &self,
        op: Operation,
        alias: &str,
    ) -> Result<(Route<'_>, Plan<'_>), GatewayError> {
        if let Some(entry) = self.get(alias) {
            let i = op_index(op);
            let plan = Plan {
                rules: Cow::Borrowed(&entry.rules),
                translate: entry.translate[i],
            };
            let route = match &entry.backend {
                Backend::One {
                    targets,
                    unsupported,
                } => match unsupported[i] {
                    Some(other) => return Err(not_supported(entry, op, other)),
                    None => Route::One(targets[i].clone()),
                },
                Backend::Pool { pool, unsupported } => match unsupported[i] {
                    Some(other) => return Err(not_supported(entry, op, other)),
                    None => Route::Pool {
                        pool,
                        op: i,
                        stats: &entry.stats,
                    },
                },
            };
            return Ok((route, plan));
        }
        let Some(upstream) = &self.fallback else {
            return Err(GatewayError::ModelNotFound(alias.to_owned()));
        };
        let route = Route::One(Target::new(
            Arc::clone(upstream),
            Arc::from(alias),
            upstream.path_for(op, alias).into(),
            upstream.route(op.route_key()).is_none(),
            self.stats.model(alias),
        ));
        let plan = Plan {
            rules: Cow::Owned(Rules::for_unlisted(alias, upstream.kind)),
            translate: None,
        };
        Ok((route, plan))
    }
}

/// A target on a throwaway upstream, for unit tests of the balancer.
#[cfg(test)]
pub(crate) fn test_target(deployment: &str) -> Target {
    test_target_on("test", deployment)
}

/// A target on a throwaway upstream named `upstream`.
#[cfg(test)]
pub(crate) fn test_target_on(upstream: &str, deployment: &str) -> Target {
    use crate::config::UpstreamConfig;
    use crate::upstream::client::{self, ClientSettings};
    let cfg = UpstreamConfig {
        name: upstream.to_owned(),
        base_url: "http://127.0.0.1:9".to_owned(),
        kind: Default::default(),
        api_version: "v".to_owned(),
        routes: Default::default(),
        auth: None,
    };
    let settings = ClientSettings {
        connect_timeout: std::time::Duration::from_secs(1),
        pool_idle_timeout: std::time::Duration::from_secs(1),
        pool_max_idle_per_host: 1,
    };
    let tls = client::tls_config().unwrap();
    let upstream = Upstream::new(&cfg, crate::upstream::Credential::None, settings, &tls).unwrap();
    Target::new(
        Arc::new(upstream),
        Arc::from(deployment),
        Arc::from("/"),
        false,
        Arc::default(),
    )
}
