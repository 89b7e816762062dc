//! Configuration: the schema, loading (file or environment), and validation.
//!
//! Loading never stops at the first mistake: every problem is collected with its JSON path (or
//! `env:NAME` for a variable), so an operator fixes a file in one pass. Errors refuse the config;
//! warnings are reported and the config is used.

mod env;
mod load;
pub mod normalize;
pub mod observe;
pub mod schema;
mod shape;
mod validate;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::PathBuf;

pub use load::{check_text, load};
pub use normalize::{Annotations, ModelFamily, NormalizeConfig};
pub use observe::{MetricsAuth, MetricsConfig, UsageConfig};
pub use schema::*;
pub use validate::validate;

/// Whether a problem refuses the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One finding about a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    /// A JSON path (`$.upstreams[0].baseUrl`, `$` for the root) or `env:VAR_NAME`.
    pub path: String,
    pub message: String,
}

impl Problem {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{level}: {}: {}", self.path, self.message)
    }
}

/// Where the running configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    File(PathBuf),
    /// Env-only mode: no file, built from `AZURE_OPENAI_*` variables.
    Env,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no configuration: {} does not exist. Pass --config FILE, set CONFIG_PATH to a config \
         file, or set AZURE_OPENAI_ENDPOINT (with AZURE_OPENAI_MODEL_MAPPER, \
         AZURE_OPENAI_API_KEY, GATEWAY_API_KEYS, …) to run from environment variables only",
        path.display()
    )]
    NotFound { path: PathBuf },
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{source_name}: invalid configuration:{}", list(problems))]
    Invalid {
        source_name: String,
        problems: Vec<Problem>,
    },
}

/// One problem per line, each indented under the headline.
fn list(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("\n  {p}")).collect()
}

/// A configuration ready to run, with the warnings found on the way.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub source: ConfigSource,
    pub warnings: Vec<Problem>,
}
