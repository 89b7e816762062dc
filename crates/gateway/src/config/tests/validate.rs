use super::super::validate;
use super::*;

use Severity::{Error, Warning};

/// Validates `valid()` after `change`.
fn check(change: impl FnOnce(&mut Config)) -> Vec<Problem> {
    let mut cfg = valid();
    change(&mut cfg);
    validate(&cfg)
}

/// Asserts `change` causes exactly one problem, at `path`; returns its message.
#[track_caller]
fn only(change: impl FnOnce(&mut Config), severity: Severity, path: &str) -> String {
    let problems = check(change);
    assert_eq!(found(&problems), vec![(severity, path)], "{problems:#?}");
    problems[0].message.clone()
}

#[track_caller]
fn clean(change: impl FnOnce(&mut Config)) {
    let problems = check(change);
    assert_eq!(problems, vec![]);
}

fn upstream(name: &str) -> UpstreamConfig {
    let mut u = valid().upstreams.remove(0);
    u.name = name.to_owned();
    u
}

#[test]
fn the_base_config_is_clean() {
    assert_eq!(validate(&valid()), vec![]);
}

#[test]
fn server_host_body_limit_and_timeouts() {
    only(|c| c.server.host = " ".to_owned(), Error, "$.server.host");
    only(|c| c.server.body_limit = 0, Error, "$.server.bodyLimit");
    only(|c| c.server.workers = 1025, Error, "$.server.workers");
    for bad in [
        "chat.example.com",
        "https://chat.example.com/",
        "ftp://x",
        "https://",
    ] {
        only(
            |c| {
                c.server.cors = Some(CorsConfig {
                    allowed_origins: vec!["*".to_owned(), bad.to_owned()],
                });
            },
            Error,
            "$.server.cors.allowedOrigins[1]",
        );
    }
    clean(|c| {
        c.server.cors = Some(CorsConfig {
            allowed_origins: vec!["https://a.example:8443".to_owned(), "*".to_owned()],
        });
    });
    let u = "$.server.upstream";
    only(
        |c| c.server.upstream.connect_timeout_ms = 0,
        Error,
        &format!("{u}.connectTimeoutMs"),
    );
    only(
        |c| c.server.upstream.request_timeout_ms = 0,
        Error,
        &format!("{u}.requestTimeoutMs"),
    );
    only(
        |c| c.server.upstream.first_byte_timeout_ms = 0,
        Error,
        &format!("{u}.firstByteTimeoutMs"),
    );
    only(
        |c| c.server.upstream.idle_timeout_ms = 0,
        Error,
        &format!("{u}.idleTimeoutMs"),
    );
    let path = format!("{u}.pool.keepAliveTimeoutMs");
    only(
        |c| c.server.upstream.pool.keep_alive_timeout_ms = 0,
        Error,
        &path,
    );
}

#[test]
fn retries_and_pool() {
    let u = "$.server.upstream";
    only(
        |c| c.server.upstream.retry_base_ms = 8_001,
        Error,
        &format!("{u}.retryBaseMs"),
    );
    clean(|c| c.server.upstream.retry_base_ms = 8_000);
    let statuses = |c: &mut Config| c.server.upstream.retry_statuses = vec![429, 399, 600, 599];
    let problems = check(statuses);
    let paths = [
        (Error, "$.server.upstream.retryStatuses[1]"),
        (Error, "$.server.upstream.retryStatuses[2]"),
    ];
    assert_eq!(found(&problems), paths);
    only(
        |c| c.server.upstream.pool.connections = 0,
        Error,
        &format!("{u}.pool.connections"),
    );
    only(
        |c| c.server.upstream.pool.pipelining = 10,
        Warning,
        &format!("{u}.pool.pipelining"),
    );
}

#[test]
fn failover_policy() {
    let u = "$.server.upstream";
    only(
        |c| c.server.upstream.max_attempts = 0,
        Error,
        &format!("{u}.maxAttempts"),
    );
    only(
        |c| c.server.upstream.failover_statuses = vec![429, 200],
        Error,
        &format!("{u}.failoverStatuses[1]"),
    );
    clean(|c| c.server.upstream.failover_statuses = vec![]);
    // A cap below the default is fine: the default is capped like any cooldown.
    clean(|c| c.server.upstream.cooldown_max_ms = 5_000);
    only(
        |c| c.server.upstream.cooldown_max_ms = 0,
        Error,
        &format!("{u}.cooldownMaxMs"),
    );
    only(
        |c| c.server.upstream.breaker_open_ms = 0,
        Error,
        &format!("{u}.breakerOpenMs"),
    );
    // With the breaker off, its open time does not matter.
    clean(|c| {
        c.server.upstream.breaker_failures = 0;
        c.server.upstream.breaker_open_ms = 0;
    });
}

fn pool(deployments: &[(&str, Option<&str>, u32)]) -> impl FnOnce(&mut Config) {
    let deployments: Vec<DeploymentConfig> = deployments
        .iter()
        .map(|(upstream, target, weight)| DeploymentConfig {
            upstream: (*upstream).to_owned(),
            target_model: target.map(str::to_owned),
            weight: *weight,
            priority: 1,
        })
        .collect();
    move |c: &mut Config| {
        c.upstreams.push(upstream("west"));
        c.models[0].upstream = None;
        c.models[0].deployments = deployments;
    }
}

#[test]
fn model_pools() {
    clean(pool(&[
        ("east", None, 1),
        ("west", Some("gpt-4o-paygo"), 3),
    ]));
    // The same name on two resources is two deployments.
    clean(pool(&[("east", None, 1), ("west", None, 1)]));
    only(
        pool(&[("east", None, 1), ("nowhere", None, 1)]),
        Error,
        "$.models[0].deployments[1].upstream",
    );
    only(
        pool(&[("east", Some("d"), 1), ("east", Some("d"), 2)]),
        Error,
        "$.models[0].deployments[1]",
    );
    only(
        pool(&[("east", Some(" "), 1)]),
        Error,
        "$.models[0].deployments[0].targetModel",
    );
    only(
        pool(&[("east", None, 0)]),
        Error,
        "$.models[0].deployments[0].weight",
    );
    only(
        pool(&[("east", None, 1_000_001)]),
        Error,
        "$.models[0].deployments[0].weight",
    );
    let both = |c: &mut Config| {
        pool(&[("east", None, 1)])(c);
        c.models[0].upstream = Some("east".to_owned());
    };
    only(both, Error, "$.models[0].upstream");
    let target = |c: &mut Config| {
        pool(&[("east", None, 1)])(c);
        c.models[0].target_model = Some("x".to_owned());
    };
    only(target, Error, "$.models[0].targetModel");
    only(|c| c.models[0].upstream = None, Error, "$.models[0]");
    only(
        |c| c.models[0].strategy = Strategy::LeastBusy,
        Warning,
        "$.models[0].strategy",
    );
    let many: Vec<(&str, Option<&str>, u32)> = (0..65)
        .map(|i| ("east", Some(["a", "b"][i % 2]), 1))
        .collect();
    let problems = check(pool(&many));
    assert!(
        has(&problems, Error, "$.models[0].deployments"),
        "{problems:#?}"
    );
    // A route key defined by one pool member's upstream is a route key for the model.
    clean(|c| {
        pool(&[("east", None, 1), ("west", None, 1)])(c);
        c.upstreams[1]
            .routes
            .insert("audio/speech".to_owned(), "/a".to_owned());
        c.models[0]
            .routes
            .insert("embeddings".to_owned(), "audio/speech".to_owned());
    });
}

#[test]
fn admin_password() {
    let path = "$.server.adminAuth.password";
    let password =
        |p: &'static str| move |c: &mut Config| c.server.admin_auth.password = p.to_owned();
    let message = only(password(""), Warning, path);
    assert_eq!(message, "admin API disabled until a password is set");
    for weak in ["admin", "change-me", "short7!"] {
        only(password(weak), Warning, path);
    }
    clean(password("eight-ch"));
    clean(|c| {
        c.server.admin_auth.enabled = false;
        c.server.admin_auth.password.clear();
    });
}

#[test]
fn client_keys() {
    only(
        |c| c.api_keys[0].id = String::new(),
        Error,
        "$.apiKeys[0].id",
    );
    only(
        |c| c.api_keys[0].key = " ".to_owned(),
        Error,
        "$.apiKeys[0].key",
    );
    let mut second = valid().api_keys.remove(0);
    second.key = "sk-other".to_owned();
    only(|c| c.api_keys.push(second), Error, "$.apiKeys[1].id");
    let mut same_key = valid().api_keys.remove(0);
    same_key.id = "team-b".to_owned();
    let message = only(|c| c.api_keys.push(same_key), Error, "$.apiKeys[1].key");
    assert!(
        !message.contains("sk-team-a"),
        "a key leaked into: {message}"
    );
}

#[test]
fn passthrough_excludes_client_keys_and_keys_are_required_otherwise() {
    let passthrough = || AuthConfig {
        mode: AuthMode::Passthrough,
        ..Default::default()
    };
    only(|c| c.auth = passthrough(), Error, "$.apiKeys");
    clean(|c| {
        c.auth = passthrough();
        c.api_keys.clear();
    });
    // An override to passthrough on one upstream is enough to forbid client keys.
    only(
        |c| c.upstreams[0].auth = Some(passthrough()),
        Error,
        "$.apiKeys",
    );
    let message = only(|c| c.api_keys.clear(), Error, "$.apiKeys");
    assert_eq!(
        message,
        "no client keys: configure apiKeys, or use auth.mode passthrough"
    );
    // Mixed: one passthrough upstream and one keyed upstream can never both hold.
    let problems = check(|c| {
        c.api_keys.clear();
        c.upstreams.push(UpstreamConfig {
            auth: Some(passthrough()),
            ..upstream("west")
        });
    });
    assert_eq!(found(&problems), vec![(Error, "$.apiKeys")]);
}

#[test]
fn credentials_per_mode() {
    only(|c| c.auth.api_key.clear(), Error, "$.auth.apiKey");
    let bearer = AuthConfig {
        mode: AuthMode::Bearer,
        ..Default::default()
    };
    only(|c| c.auth = bearer.clone(), Error, "$.auth.token");
    only(
        |c| c.upstreams[0].auth = Some(bearer),
        Error,
        "$.upstreams[0].auth.token",
    );
    clean(|c| {
        c.auth = AuthConfig {
            mode: AuthMode::None,
            ..Default::default()
        }
    });
    clean(|c| {
        c.upstreams[0].auth = Some(AuthConfig {
            mode: AuthMode::AzureCli,
            ..Default::default()
        })
    });
    let problems = check(|c| {
        c.auth = AuthConfig {
            mode: AuthMode::ManagedIdentity,
            scope: String::new(),
            ..Default::default()
        }
    });
    assert_eq!(found(&problems), vec![(Error, "$.auth.scope")]);
}

#[test]
fn entra_scope_and_authority_are_checked() {
    let entra = |scope: &str, authority: &str| AuthConfig {
        mode: AuthMode::DefaultChain,
        scope: scope.to_owned(),
        authority_host: authority.to_owned(),
        ..Default::default()
    };
    clean(|c| {
        c.auth = entra(
            "https://ai.azure.com/.default",
            "https://login.microsoftonline.us",
        )
    });
    for bad in ["https://ai.azure.com", "a/.default b/.default"] {
        let message = only(|c| c.auth = entra(bad, ""), Error, "$.auth.scope");
        assert!(!message.is_empty());
    }
    for bad in ["http://127.0.0.1:1", "login.microsoftonline.us"] {
        let message = only(
            |c| c.auth = entra("https://ai.azure.com/.default", bad),
            Error,
            "$.auth.authorityHost",
        );
        assert!(message.contains("https://"), "{message}");
    }
}

#[test]
fn the_global_credential_counts_only_when_an_upstream_uses_it() {
    let own = AuthConfig {
        api_key: "k".to_owned(),
        ..Default::default()
    };
    clean(|c| {
        c.auth = AuthConfig {
            mode: AuthMode::WorkloadIdentity,
            ..Default::default()
        };
        c.upstreams[0].auth = Some(own.clone());
    });
    clean(|c| {
        c.auth.api_key.clear();
        c.upstreams[0].auth = Some(own);
    });
}

#[test]
fn service_principal_needs_all_three_or_none() {
    let sp = |tenant: &str, client: &str, secret: &str| AuthConfig {
        mode: AuthMode::ServicePrincipal,
        tenant_id: tenant.to_owned(),
        client_id: client.to_owned(),
        client_secret: secret.to_owned(),
        ..Default::default()
    };
    clean(|c| c.auth = sp("", "", ""));
    clean(|c| c.auth = sp("t", "c", "s"));
    let problems = check(|c| c.auth = sp("t", "", ""));
    assert_eq!(
        found(&problems),
        vec![(Error, "$.auth.clientId"), (Error, "$.auth.clientSecret")]
    );
}

#[test]
fn upstream_names_and_api_version() {
    let problems = check(|c| c.upstreams.clear());
    assert!(has(&problems, Error, "$.upstreams"));
    only(
        |c| c.upstreams.push(upstream(" ")),
        Error,
        "$.upstreams[1].name",
    );
    only(
        |c| c.upstreams.push(upstream("east")),
        Error,
        "$.upstreams[1].name",
    );
    only(
        |c| c.upstreams[0].api_version.clear(),
        Error,
        "$.upstreams[0].apiVersion",
    );
    clean(|c| {
        c.upstreams[0].kind = UpstreamKind::Openai;
        c.upstreams[0].api_version.clear();
    });
    // Model Inference has its own versions; the Azure OpenAI default stands for "the default".
    clean(|c| c.upstreams[0].kind = UpstreamKind::Inference);
    clean(|c| {
        c.upstreams[0].kind = UpstreamKind::Inference;
        c.upstreams[0].api_version = "2024-05-01-preview".to_owned();
    });
    only(
        |c| {
            c.upstreams[0].kind = UpstreamKind::Inference;
            c.upstreams[0].api_version = "2025-04-01-preview".to_owned();
        },
        Error,
        "$.upstreams[0].apiVersion",
    );
}

#[test]
fn resources_upstream_must_exist_and_have_the_apis() {
    let resources = |name: &str| {
        Some(ResourcesConfig {
            upstream: name.to_owned(),
        })
    };
    clean(|c| c.resources = resources("east"));
    let message = only(
        |c| c.resources = resources("west"),
        Error,
        "$.resources.upstream",
    );
    assert!(message.contains("no upstream named \"west\""), "{message}");
    for kind in [UpstreamKind::AzureV1, UpstreamKind::Openai] {
        clean(|c| {
            c.upstreams[0].kind = kind;
            c.resources = resources("east");
        });
    }
    let message = only(
        |c| {
            c.upstreams[0].kind = UpstreamKind::Inference;
            c.resources = resources("east");
        },
        Error,
        "$.resources.upstream",
    );
    assert!(message.contains("kind inference"), "{message}");
    only(
        |c| c.server.max_upload_bytes = 0,
        Error,
        "$.server.maxUploadBytes",
    );
}

#[test]
fn upstream_base_url() {
    for bad in [
        "east.openai.azure.com",
        "/openai",
        "ftp://east",
        "http://",
        "https://e/?a=1",
        "https://e/#x",
    ] {
        only(
            |c| c.upstreams[0].base_url = bad.to_owned(),
            Error,
            "$.upstreams[0].baseUrl",
        );
    }
    clean(|c| c.upstreams[0].base_url = "http://127.0.0.1:8000/prefix/".to_owned());
    let placeholder = "https://Your-Resource-Name.openai.azure.com/".to_owned();
    only(
        |c| c.upstreams[0].base_url = placeholder,
        Warning,
        "$.upstreams[0].baseUrl",
    );
}

#[test]
fn upstream_routes() {
    let route = |key: &str, value: &str| {
        let (key, value) = (key.to_owned(), value.to_owned());
        move |c: &mut Config| {
            c.upstreams[0].routes.insert(key, value);
        }
    };
    clean(route("chat/completions", "/openai/v1/chat/completions"));
    only(
        route("chat/completions", "openai/v1"),
        Error,
        "$.upstreams[0].routes[\"chat/completions\"]",
    );
    only(route("", "/x"), Error, "$.upstreams[0].routes[\"\"]");
}

#[test]
fn model_ids_and_references() {
    let problems = check(|c| c.models.clear());
    assert_eq!(found(&problems), vec![(Error, "$.models")]);
    clean(|c| {
        c.models.clear();
        c.model_fallback = Some(ModelFallbackConfig {
            upstream: "east".to_owned(),
        });
    });
    only(|c| c.models[0].id.clear(), Error, "$.models[0].id");
    only(
        |c| c.models[0].id = "gpt 4o".to_owned(),
        Error,
        "$.models[0].id",
    );
    let mut twin = valid().models.remove(0);
    twin.id = "GPT-4o".to_owned();
    only(|c| c.models.push(twin), Error, "$.models[1].id");
    only(
        |c| c.models[0].upstream = Some("west".to_owned()),
        Error,
        "$.models[0].upstream",
    );
    only(
        |c| c.models[0].target_model = Some(" ".to_owned()),
        Error,
        "$.models[0].targetModel",
    );
    clean(|c| c.models[0].target_model = Some("gpt-4o-2024-11-20".to_owned()));
    let fallback = Some(ModelFallbackConfig {
        upstream: "west".to_owned(),
    });
    only(
        |c| c.model_fallback = fallback,
        Error,
        "$.modelFallback.upstream",
    );
}

#[test]
fn model_routes() {
    let route = |key: &str, value: &str| {
        let (key, value) = (key.to_owned(), value.to_owned());
        move |c: &mut Config| {
            c.upstreams[0]
                .routes
                .insert("audio/speech".to_owned(), "/a".to_owned());
            c.models[0].routes.insert(key, value);
        }
    };
    clean(route("*", "responses"));
    clean(route(
        "chat/completions",
        "/openai/deployments/{deployment}/chat/completions",
    ));
    clean(route("embeddings", "audio/speech"));
    clean(route("audio/speech", "/x"));
    only(
        route("chat/completion", "responses"),
        Error,
        "$.models[0].routes[\"chat/completion\"]",
    );
    only(route("*", "response"), Error, "$.models[0].routes[\"*\"]");
}

#[test]
fn caddy_and_image_compression() {
    clean(|c| c.server.caddy = Some(CaddyConfig::default()));
    let problems = check(|c| {
        c.server.caddy = Some(CaddyConfig {
            enabled: true,
            ..Default::default()
        })
    });
    assert_eq!(
        found(&problems),
        vec![
            (Error, "$.server.caddy.domain"),
            (Error, "$.server.caddy.email")
        ]
    );
    let image = |quality: f64, max_size: u32| {
        move |c: &mut Config| {
            let ic = ImageCompressionConfig {
                quality,
                max_size,
                ..Default::default()
            };
            c.server.image_compression = Some(ic);
        }
    };
    clean(image(1.0, 1600));
    only(image(0.0, 1600), Error, "$.server.imageCompression.quality");
    only(
        image(1.01, 1600),
        Error,
        "$.server.imageCompression.quality",
    );
    only(image(0.85, 0), Error, "$.server.imageCompression.maxSize");
    clean(image(0.85, 16_383));
    only(
        image(0.85, 16_384),
        Error,
        "$.server.imageCompression.maxSize",
    );
    // A threshold no image in a bodyLimit-sized body can pass is a warning, unless turned off.
    let min_bytes = |min_bytes: u64, enabled: bool| {
        move |c: &mut Config| {
            c.server.body_limit = 4_000;
            c.server.image_compression = Some(ImageCompressionConfig {
                min_bytes,
                enabled,
                ..Default::default()
            });
        }
    };
    clean(min_bytes(2_999, true));
    only(
        min_bytes(3_000, true),
        Warning,
        "$.server.imageCompression.minBytes",
    );
    clean(min_bytes(3_000, false));
}

#[test]
fn observability_settings() {
    assert_eq!(valid().server.metrics.auth_mode(), MetricsAuth::Admin);
    only(
        |c| c.server.data_dir = " ".into(),
        Error,
        "$.server.dataDir",
    );
    only(
        |c| c.server.metrics.auth = Some(MetricsAuth::Bearer),
        Error,
        "$.server.metrics.bearerToken",
    );
    only(
        |c| c.server.metrics.port = Some(c.server.port),
        Error,
        "$.server.metrics.port",
    );
    clean(|c| {
        c.server.metrics.port = Some(9464);
        c.server.metrics.auth = Some(MetricsAuth::Bearer);
        c.server.metrics.bearer_token = Some("t".into());
    });
    let mut separate = valid();
    separate.server.metrics.port = Some(9464);
    assert_eq!(separate.server.metrics.auth_mode(), MetricsAuth::None);
}
