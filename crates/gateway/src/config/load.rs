//! Finding, reading and parsing the configuration, then env overrides and validation.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::schema::Config;
use super::{ConfigError, ConfigSource, Loaded, Problem, Severity, env, shape, validate};

/// Used when neither `--config` nor `CONFIG_PATH` names a file.
const DEFAULT_PATH: &str = "./config/config.json";

/// Resolve, read, parse, apply env overrides, validate. `explicit` = `--config FILE`.
///
/// Order: `explicit` (must exist), else `CONFIG_PATH`, else `./config/config.json`; when that
/// file is missing and `AZURE_OPENAI_ENDPOINT` is set, the config is built from the environment.
pub fn load(
    explicit: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded, ConfigError> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => {
            env::var(env, "CONFIG_PATH").map_or_else(|| PathBuf::from(DEFAULT_PATH), PathBuf::from)
        }
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound && explicit.is_none() => {
            return if env::var(env, env::ENDPOINT).is_some() {
                let (config, problems) = env::env_only(env);
                finish(
                    config,
                    ConfigSource::Env,
                    problems,
                    "environment".to_owned(),
                )
            } else {
                Err(ConfigError::NotFound { path })
            };
        }
        Err(source) => return Err(ConfigError::Io { path, source }),
    };

    let source_name = path.display().to_string();
    let (parsed, mut problems) = parse(&text);
    let Some(mut config) = parsed else {
        return Err(ConfigError::Invalid {
            source_name,
            problems,
        });
    };
    if env::var(env, env::ENDPOINT).is_some() {
        problems.push(Problem {
            severity: Severity::Warning,
            path: format!("env:{}", env::ENDPOINT),
            message: format!("ignored: the config file {source_name} is used instead"),
        });
    }
    problems.extend(env::apply_overrides(&mut config, env));
    problems.extend(validate(&config));
    finish(config, ConfigSource::File(path), problems, source_name)
}

/// Splits problems into refusal (any error) or a loaded config with its warnings.
fn finish(
    config: Config,
    source: ConfigSource,
    problems: Vec<Problem>,
    source_name: String,
) -> Result<Loaded, ConfigError> {
    if problems.iter().any(Problem::is_error) {
        return Err(ConfigError::Invalid {
            source_name,
            problems,
        });
    }
    Ok(Loaded {
        config,
        source,
        warnings: problems,
    })
}

/// Parse + validate text (no env); every problem, errors and warnings.
///
/// The config is `Some` whenever the text matches the schema, even if validation found errors.
pub fn check_text(text: &str) -> (Option<Config>, Vec<Problem>) {
    let (config, mut problems) = parse(text);
    if let Some(cfg) = &config {
        problems.extend(validate(cfg));
    }
    (config, problems)
}

/// Text → typed config, reporting every structural problem rather than serde's first.
pub(super) fn parse(text: &str) -> (Option<Config>, Vec<Problem>) {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return (None, vec![root_error(format!("invalid JSON: {e}"))]),
    };
    let mut problems = Vec::new();
    shape::check(&value, shape::ROOT, "$", &mut problems);
    if !problems.is_empty() {
        return (None, problems);
    }
    // The walk found nothing; the typed parse is still the authority should the two disagree.
    match serde_path_to_error::deserialize::<_, Config>(&value) {
        Ok(config) => (Some(config), problems),
        Err(e) => {
            let path = format!("${}", shape::path_suffix(e.path()));
            let message = e.into_inner().to_string();
            (
                None,
                vec![Problem {
                    severity: Severity::Error,
                    path,
                    message,
                }],
            )
        }
    }
}

fn root_error(message: String) -> Problem {
    Problem {
        severity: Severity::Error,
        path: "$".to_owned(),
        message,
    }
}
