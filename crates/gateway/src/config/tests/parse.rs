use serde_json::{Value, json};

use super::super::check_text;
use super::super::shape::{self, Shape};
use super::*;

const SEED_SAMPLE: &str = include_str!("../../../tests/fixtures/seed_sample_config.json");

#[test]
fn seed_sample_loads_with_only_warnings() {
    let (config, problems) = check_text(SEED_SAMPLE);
    let config = config.expect("seed sample parses");
    assert_eq!(
        found(&problems),
        vec![
            (Severity::Warning, "$.server.adminAuth.password"),
            (Severity::Warning, "$.upstreams[0].baseUrl"),
        ],
        "{problems:#?}"
    );
    let caddy = config.server.caddy.expect("caddy kept");
    assert_eq!(caddy.domain, "proxy.example.com");
    assert_eq!(caddy.transport, CaddyTransportConfig::default());
    let image = config
        .server
        .image_compression
        .expect("imageCompression kept");
    assert_eq!((image.max_size, image.format), (1600, ImageFormat::Jpeg));
    assert_eq!(
        config.models[1].routes.get("*").map(String::as_str),
        Some("responses")
    );
}

#[test]
fn every_unknown_key_is_reported_in_one_pass() {
    let text = json!({
        "extra": 1,
        "server": {"upstream": {"pool": {"pipelineing": 1}}, "caddy": {"transport": {"x": 1}}},
        "upstreams": [{"name": "a", "baseUrl": "https://a", "auth": {"mode": "apiKey", "key": "k"}}],
        "models": [{"id": "m", "upstream": "a"}, {"id": "n", "upstream": "a", "deployment": "d"}]
    })
    .to_string();
    let (config, problems) = check_text(&text);
    assert!(config.is_none());
    assert_eq!(
        found(&problems),
        vec![
            (Severity::Error, "$.server.upstream.pool.pipelineing"),
            (Severity::Error, "$.server.caddy.transport.x"),
            (Severity::Error, "$.upstreams[0].auth.key"),
            (Severity::Error, "$.models[1].deployment"),
            (Severity::Error, "$.extra"),
        ]
    );
    assert_eq!(
        problems[3].message,
        "unknown key \"deployment\"; expected one of id, upstream, targetModel, routes, \
         deployments, strategy, modelType, provider, family, normalize"
    );
}

#[test]
fn type_errors_and_missing_keys_are_reported_with_paths() {
    let text = json!({
        "server": {"port": "3000", "upstream": {"retryStatuses": [429, "500"]}},
        "apiKeys": {"id": "x"},
        "upstreams": [
            {"baseUrl": "https://a", "kind": "azur"},
            {"name": "b", "baseUrl": "https://b", "routes": {"chat/completions": 1}}
        ],
        "models": [{"id": "m", "upstream": "b", "targetModel": null}]
    })
    .to_string();
    let (config, problems) = check_text(&text);
    assert!(config.is_none());
    assert_eq!(
        found(&problems),
        vec![
            (Severity::Error, "$.server.port"),
            (Severity::Error, "$.server.upstream.retryStatuses[1]"),
            (Severity::Error, "$.apiKeys"),
            (Severity::Error, "$.upstreams[0]"),
            (Severity::Error, "$.upstreams[0].kind"),
            (
                Severity::Error,
                "$.upstreams[1].routes[\"chat/completions\"]"
            ),
        ],
        "{problems:#?}"
    );
    assert_eq!(problems[2].message, "expected an array, found an object");
    assert_eq!(problems[3].message, "missing required key \"name\"");
    assert!(
        problems[4].message.contains("unknown variant `azur`"),
        "{}",
        problems[4].message
    );
}

#[test]
fn syntax_error_is_one_problem_at_the_root_with_its_position() {
    let (config, problems) = check_text("{\n  \"server\": {\n    \"port\": 3000,\n  }\n}");
    assert!(config.is_none());
    assert_eq!(found(&problems), vec![(Severity::Error, "$")]);
    assert!(
        problems[0].message.contains("line 4 column 3"),
        "{}",
        problems[0].message
    );

    let (_, problems) = check_text("[]");
    assert_eq!(problems[0].message, "expected an object, found an array");
}

#[test]
fn problem_display_names_severity_path_and_message() {
    let problem = Problem {
        severity: Severity::Error,
        path: "$.upstreams[0].baseUrl".to_owned(),
        message: "must be an absolute http(s) URL".to_owned(),
    };
    assert_eq!(
        problem.to_string(),
        "error: $.upstreams[0].baseUrl: must be an absolute http(s) URL"
    );
}

/// Every key and variant of the schema, so the drift tests below reach every table entry.
fn full_config() -> Config {
    let auth = AuthConfig {
        mode: AuthMode::Bearer,
        tenant_id: "t".to_owned(),
        client_id: "c".to_owned(),
        client_secret: "s".to_owned(),
        managed_identity_client_id: "m".to_owned(),
        federated_token_file: "/var/run/secrets/token".to_owned(),
        authority_host: "https://login.microsoftonline.us".to_owned(),
        scope: "x/.default".to_owned(),
        api_key: "k".to_owned(),
        token: "tok".to_owned(),
    };
    let mut cfg = valid();
    cfg.server.caddy = Some(CaddyConfig::default());
    cfg.server.image_compression = Some(ImageCompressionConfig::default());
    cfg.server.cors = Some(CorsConfig {
        allowed_origins: vec!["*".to_owned()],
    });
    cfg.server.usage.path = Some("usage.db".to_owned());
    cfg.server.metrics = crate::config::MetricsConfig {
        enabled: true,
        port: Some(9464),
        host: Some("127.0.0.1".to_owned()),
        auth: Some(crate::config::MetricsAuth::Bearer),
        bearer_token: Some("scrape-token".to_owned()),
    };
    cfg.auth = auth.clone();
    cfg.upstreams[0]
        .routes
        .insert("chat/completions".to_owned(), "/c".to_owned());
    cfg.upstreams[0].auth = Some(auth);
    cfg.models[0].target_model = Some("dep".to_owned());
    // Both forms at once: the drift tests need every key; validation (not parsing) refuses it.
    cfg.models[0].deployments = vec![DeploymentConfig {
        upstream: "east".to_owned(),
        target_model: Some("dep-2".to_owned()),
        weight: 2,
        priority: 3,
    }];
    cfg.models[0].strategy = Strategy::LeastBusy;
    cfg.models[0].model_type = Some(ModelType::Embeddings);
    cfg.models[0].provider = Some("Microsoft".to_owned());
    cfg.models[0].family = Some(crate::config::ModelFamily::Reasoning);
    cfg.models[0].normalize = Some(crate::config::NormalizeConfig {
        enabled: Some(true),
        max_completion_tokens: Some(true),
        implied_logprobs: Some(false),
        reasoning_effort: Some(true),
        drop_unsupported: Some(true),
        keep_params: vec!["verbosity".to_owned()],
        reject_web_search: Some(true),
        stream_options: Some(true),
        stream_usage: Some(false),
        annotations: Some(crate::config::Annotations::Drop),
    });
    cfg.models[0]
        .routes
        .insert("*".to_owned(), "responses".to_owned());
    cfg.model_fallback = Some(ModelFallbackConfig {
        upstream: "east".to_owned(),
    });
    cfg.resources = Some(ResourcesConfig {
        upstream: "east".to_owned(),
    });
    cfg
}

fn full_value() -> Value {
    serde_json::to_value(full_config()).expect("config serializes")
}

fn typed_ok(value: &Value) -> bool {
    serde_json::from_value::<Config>(value.clone()).is_ok()
}

fn walk_problems(value: &Value) -> Vec<Problem> {
    let mut out = Vec::new();
    shape::check(value, shape::ROOT, "$", &mut out);
    out
}

/// Every node below the root: (JSON pointer, JSON path, its shape, its object's field info).
struct Node {
    pointer: String,
    path: String,
    shape: Shape,
    /// `(parent pointer, key, required)` when the node is an object member.
    member: Option<(String, &'static str, bool)>,
}

fn nodes(value: &Value, shape: Shape, pointer: &str, path: &str, out: &mut Vec<Node>) {
    match shape {
        Shape::Leaf(_) => {}
        Shape::Nullable(inner) => {
            assert!(
                !value.is_null(),
                "{path}: full_config() must set every optional section"
            );
            nodes(value, *inner, pointer, path, out);
        }
        Shape::List(item) => {
            let first = value
                .get(0)
                .unwrap_or_else(|| panic!("{path}: needs one element"));
            let (p, jp) = (format!("{pointer}/0"), format!("{path}[0]"));
            out.push(Node {
                pointer: p.clone(),
                path: jp.clone(),
                shape: *item,
                member: None,
            });
            nodes(first, *item, &p, &jp, out);
        }
        Shape::Object(fields) => {
            for f in fields {
                let child = value.get(f.name).unwrap_or_else(|| {
                    panic!("{path}: table key \"{}\" is not in the schema", f.name)
                });
                let (p, jp) = (
                    format!("{pointer}/{}", f.name),
                    format!("{path}.{}", f.name),
                );
                let member = Some((pointer.to_owned(), f.name, f.required));
                out.push(Node {
                    pointer: p.clone(),
                    path: jp.clone(),
                    shape: f.shape,
                    member,
                });
                nodes(child, f.shape, &p, &jp, out);
            }
        }
    }
}

#[test]
fn key_tables_match_the_schema() {
    let full = full_value();
    // Every key the schema serializes is in the tables…
    assert_eq!(walk_problems(&full), vec![]);
    // …and every table key is in the schema (nodes() panics otherwise).
    let mut all = Vec::new();
    nodes(&full, shape::ROOT, "", "$", &mut all);
    assert!(all.len() > 60, "walked only {} nodes", all.len());

    // Required in the tables exactly when serde requires it.
    for node in &all {
        let Some((parent, key, required)) = &node.member else {
            continue;
        };
        let mut v = full.clone();
        v.pointer_mut(parent)
            .and_then(Value::as_object_mut)
            .expect("parent object")
            .remove(*key);
        assert_eq!(
            typed_ok(&v),
            !required,
            "{}: required flag disagrees with serde",
            node.path
        );
        assert_eq!(walk_problems(&v).is_empty(), !required, "{}", node.path);
    }
}

#[test]
fn walk_and_typed_parse_agree_on_every_node() {
    let full = full_value();
    let mut all = Vec::new();
    nodes(&full, shape::ROOT, "", "$", &mut all);
    let probes = [
        json!(70000),
        json!(5_000_000_000u64),
        json!(-1),
        json!(0.5),
        json!("x"),
        json!(true),
        json!(null),
        json!({}),
        json!({"zz": 1}),
        json!(["x"]),
    ];
    for node in &all {
        for probe in &probes {
            // serde also reads a struct from an array of its fields; the walk rightly refuses.
            let is_struct = match node.shape {
                Shape::Nullable(inner) => matches!(inner, Shape::Object(_)),
                shape => matches!(shape, Shape::Object(_)),
            };
            if is_struct && probe.is_array() {
                continue;
            }
            let mut v = full.clone();
            *v.pointer_mut(&node.pointer).expect("node exists") = probe.clone();
            let walk = walk_problems(&v);
            assert_eq!(
                walk.is_empty(),
                typed_ok(&v),
                "{} = {probe}: {walk:?}",
                node.path
            );
            for p in &walk {
                assert!(
                    p.path.starts_with(&node.path),
                    "{} = {probe}: {p}",
                    node.path
                );
            }
        }
    }
}
