//! The schema's key tables, and a walk that checks a JSON value against them.
//!
//! serde stops at the first error; `check-config` must report every problem. So the value is
//! walked here first: every unknown key, missing required key and mistyped field is reported
//! with its JSON path. Leaves are checked by deserializing them into the exact Rust type the
//! schema uses, so their messages (ranges, enum variants) match serde's. A test keeps these
//! tables and `schema.rs` in step.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::normalize::{Annotations, ModelFamily};
use super::schema::{AuthMode, ImageFormat, KeyStatus, ModelType, Strategy, UpstreamKind};
use super::{Problem, Severity};

/// What a JSON value must look like.
#[derive(Clone, Copy)]
pub(super) enum Shape {
    /// A scalar (or string map, or number list) checked by deserializing into its schema type.
    Leaf(LeafCheck),
    Object(&'static [Field]),
    List(&'static Shape),
    /// `null` or the inner shape (an `Option<…>` field).
    Nullable(&'static Shape),
}

/// Deserializes a leaf into its schema type; `Err` holds a sub-path and serde's message.
pub(super) type LeafCheck = fn(&Value) -> Result<(), (String, String)>;

/// A key of an object.
pub(super) struct Field {
    pub name: &'static str,
    pub required: bool,
    pub shape: Shape,
}

const fn opt(name: &'static str, shape: Shape) -> Field {
    Field {
        name,
        required: false,
        shape,
    }
}

const fn req(name: &'static str, shape: Shape) -> Field {
    Field {
        name,
        required: true,
        shape,
    }
}

fn leaf<T: DeserializeOwned>(value: &Value) -> Result<(), (String, String)> {
    serde_path_to_error::deserialize::<_, T>(value)
        .map(drop)
        .map_err(|e| (path_suffix(e.path()), e.into_inner().to_string()))
}

const BOOL: Shape = Shape::Leaf(leaf::<bool>);
const STRING: Shape = Shape::Leaf(leaf::<String>);
const U16: Shape = Shape::Leaf(leaf::<u16>);
const U32: Shape = Shape::Leaf(leaf::<u32>);
const U64: Shape = Shape::Leaf(leaf::<u64>);
const F64: Shape = Shape::Leaf(leaf::<f64>);
const STATUSES: Shape = Shape::Leaf(leaf::<Vec<u16>>);
const ROUTES: Shape = Shape::Leaf(leaf::<BTreeMap<String, String>>);
const NULLABLE_STRING: Shape = Shape::Leaf(leaf::<Option<String>>);
const STRING_LIST: Shape = Shape::Leaf(leaf::<Vec<String>>);

/// The root of the configuration file.
pub(super) const ROOT: Shape = Shape::Object(&[
    opt("server", Shape::Object(SERVER)),
    opt("auth", Shape::Object(AUTH)),
    opt("apiKeys", Shape::List(&Shape::Object(API_KEY))),
    opt("upstreams", Shape::List(&Shape::Object(UPSTREAM))),
    opt("models", Shape::List(&Shape::Object(MODEL))),
    opt(
        "modelFallback",
        Shape::Nullable(&Shape::Object(MODEL_FALLBACK)),
    ),
    opt("resources", Shape::Nullable(&Shape::Object(RESOURCES))),
]);

const SERVER: &[Field] = &[
    opt("host", STRING),
    opt("port", U16),
    opt("adminPath", STRING),
    opt("adminAuth", Shape::Object(ADMIN_AUTH)),
    opt("bodyLimit", U64),
    opt("maxUploadBytes", U64),
    opt("workers", U32),
    opt("upstream", Shape::Object(UPSTREAM_POLICY)),
    opt("caddy", Shape::Nullable(&Shape::Object(CADDY))),
    opt(
        "imageCompression",
        Shape::Nullable(&Shape::Object(IMAGE_COMPRESSION)),
    ),
    opt("cors", Shape::Nullable(&Shape::Object(CORS))),
    opt("dataDir", STRING),
    opt("usage", Shape::Object(USAGE)),
    opt("metrics", Shape::Object(METRICS)),
];

const USAGE: &[Field] = &[
    opt("enabled", BOOL),
    opt("retentionDays", U32),
    opt("path", NULLABLE_STRING),
];

const METRICS: &[Field] = &[
    opt("enabled", BOOL),
    opt("port", Shape::Leaf(leaf::<Option<u16>>)),
    opt("host", NULLABLE_STRING),
    opt(
        "auth",
        Shape::Leaf(leaf::<Option<super::observe::MetricsAuth>>),
    ),
    opt("bearerToken", NULLABLE_STRING),
];

const CORS: &[Field] = &[opt("allowedOrigins", STRING_LIST)];

const ADMIN_AUTH: &[Field] = &[
    opt("enabled", BOOL),
    opt("username", STRING),
    opt("password", STRING),
];

const UPSTREAM_POLICY: &[Field] = &[
    opt("connectTimeoutMs", U64),
    opt("requestTimeoutMs", U64),
    opt("firstByteTimeoutMs", U64),
    opt("idleTimeoutMs", U64),
    opt("maxRetries", U32),
    opt("retryBaseMs", U64),
    opt("retryMaxMs", U64),
    opt("retryStatuses", STATUSES),
    opt("maxAttempts", U32),
    opt("failoverStatuses", STATUSES),
    opt("cooldownDefaultMs", U64),
    opt("cooldownMaxMs", U64),
    opt("breakerFailures", U32),
    opt("breakerOpenMs", U64),
    opt("pool", Shape::Object(POOL)),
];

const POOL: &[Field] = &[
    opt("connections", U32),
    opt("keepAliveTimeoutMs", U64),
    opt("keepAliveMaxTimeoutMs", U64),
    opt("headersTimeoutMs", U64),
    opt("bodyTimeoutMs", U64),
    opt("pipelining", U32),
];

const CADDY: &[Field] = &[
    opt("enabled", BOOL),
    opt("domain", STRING),
    opt("email", STRING),
    opt("httpsPort", U16),
    opt("upstreamHost", STRING),
    opt("upstreamPort", U16),
    opt("transport", Shape::Object(CADDY_TRANSPORT)),
];

const CADDY_TRANSPORT: &[Field] = &[
    opt("dialTimeoutMs", U64),
    opt("responseHeaderTimeoutMs", U64),
    opt("keepAliveTimeoutMs", U64),
];

const IMAGE_COMPRESSION: &[Field] = &[
    opt("enabled", BOOL),
    opt("maxSize", U32),
    opt("quality", F64),
    opt("format", Shape::Leaf(leaf::<ImageFormat>)),
    opt("minBytes", U64),
];

const AUTH: &[Field] = &[
    opt("mode", Shape::Leaf(leaf::<AuthMode>)),
    opt("tenantId", STRING),
    opt("clientId", STRING),
    opt("clientSecret", STRING),
    opt("managedIdentityClientId", STRING),
    opt("federatedTokenFile", STRING),
    opt("authorityHost", STRING),
    opt("scope", STRING),
    opt("apiKey", STRING),
    opt("token", STRING),
];

const API_KEY: &[Field] = &[
    req("id", STRING),
    req("key", STRING),
    opt("status", Shape::Leaf(leaf::<KeyStatus>)),
];

const UPSTREAM: &[Field] = &[
    req("name", STRING),
    req("baseUrl", STRING),
    opt("kind", Shape::Leaf(leaf::<UpstreamKind>)),
    opt("apiVersion", STRING),
    opt("routes", ROUTES),
    opt("auth", Shape::Nullable(&Shape::Object(AUTH))),
];

const MODEL: &[Field] = &[
    req("id", STRING),
    opt("upstream", NULLABLE_STRING),
    opt("targetModel", NULLABLE_STRING),
    opt("routes", ROUTES),
    opt("deployments", Shape::List(&Shape::Object(DEPLOYMENT))),
    opt("strategy", Shape::Leaf(leaf::<Strategy>)),
    opt(
        "modelType",
        Shape::Nullable(&Shape::Leaf(leaf::<ModelType>)),
    ),
    opt("provider", NULLABLE_STRING),
    opt("family", Shape::Nullable(&Shape::Leaf(leaf::<ModelFamily>))),
    opt("normalize", Shape::Nullable(&Shape::Object(NORMALIZE))),
];

const NORMALIZE: &[Field] = &[
    opt("enabled", Shape::Nullable(&BOOL)),
    opt("maxCompletionTokens", Shape::Nullable(&BOOL)),
    opt("impliedLogprobs", Shape::Nullable(&BOOL)),
    opt("reasoningEffort", Shape::Nullable(&BOOL)),
    opt("dropUnsupported", Shape::Nullable(&BOOL)),
    opt("keepParams", STRING_LIST),
    opt("rejectWebSearch", Shape::Nullable(&BOOL)),
    opt("streamOptions", Shape::Nullable(&BOOL)),
    opt("streamUsage", Shape::Nullable(&BOOL)),
    opt(
        "annotations",
        Shape::Nullable(&Shape::Leaf(leaf::<Annotations>)),
    ),
];

const DEPLOYMENT: &[Field] = &[
    req("upstream", STRING),
    opt("targetModel", NULLABLE_STRING),
    opt("weight", U32),
    opt("priority", U32),
];

const MODEL_FALLBACK: &[Field] = &[req("upstream", STRING)];

const RESOURCES: &[Field] = &[req("upstream", STRING)];

/// Reports every structural problem of `value` (unknown keys, missing keys, wrong types).
pub(super) fn check(value: &Value, shape: Shape, path: &str, out: &mut Vec<Problem>) {
    match shape {
        Shape::Leaf(check_leaf) => {
            if let Err((suffix, message)) = check_leaf(value) {
                out.push(error(format!("{path}{suffix}"), message));
            }
        }
        Shape::Nullable(inner) => {
            if !value.is_null() {
                check(value, *inner, path, out);
            }
        }
        Shape::List(item) => match value {
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    check(v, *item, &format!("{path}[{i}]"), out);
                }
            }
            other => out.push(error(path.to_owned(), expected("an array", other))),
        },
        Shape::Object(fields) => match value {
            Value::Object(map) => check_object(map, fields, path, out),
            other => out.push(error(path.to_owned(), expected("an object", other))),
        },
    }
}

fn check_object(
    map: &serde_json::Map<String, Value>,
    fields: &[Field],
    path: &str,
    out: &mut Vec<Problem>,
) {
    for field in fields.iter().filter(|f| f.required) {
        if !map.contains_key(field.name) {
            out.push(error(
                path.to_owned(),
                format!("missing required key \"{}\"", field.name),
            ));
        }
    }
    // Schema order, then unknown keys: stable output whatever the map's key order.
    for field in fields {
        if let Some(v) = map.get(field.name) {
            check(v, field.shape, &join_key(path, field.name), out);
        }
    }
    for key in map
        .keys()
        .filter(|k| !fields.iter().any(|f| f.name == k.as_str()))
    {
        let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
        let message = format!(
            "unknown key \"{key}\"; expected one of {}",
            names.join(", ")
        );
        out.push(error(join_key(path, key), message));
    }
}

fn error(path: String, message: String) -> Problem {
    Problem {
        severity: Severity::Error,
        path,
        message,
    }
}

fn expected(what: &str, found: &Value) -> String {
    let kind = match found {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    format!("expected {what}, found {kind}")
}

/// `$.a` for identifier-like keys, `$["chat/completions"]` otherwise, so paths stay unambiguous.
pub(super) fn join_key(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !key.starts_with(|c: char| c.is_ascii_digit());
    if plain {
        format!("{path}.{key}")
    } else {
        format!("{path}[{}]", Value::String(key.to_owned()))
    }
}

/// Renders a serde_path_to_error path as a JSON-path suffix (empty for the value itself).
pub(super) fn path_suffix(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => {
                let _ = write!(out, "[{index}]");
            }
            Segment::Map { key } | Segment::Enum { variant: key } => {
                out = join_key(&out, key);
            }
            Segment::Unknown => {}
        }
    }
    out
}
