//! Entra ID toward upstreams: every credential kind against mock-azure's identity provider
//! (HTTPS, with a CA made for this test run and trusted through `SSL_CERT_FILE`) and its
//! managed-identity endpoints, in front of a data plane that only accepts the tokens that
//! provider issued.

use std::path::{Path, PathBuf};
use std::time::Duration;

use mock_azure::{
    EntraApp, EntraConfig, EntraServer, MockConfig, MockServer, TestCa, TokenAuthority,
    TokenEndpoint,
};
use serde_json::{Value, json};

use crate::common::*;

const TENANT: &str = "7b795fb9-09d3-42f4-a494-38864f99ba3c";
const SP_CLIENT: &str = "sp-client";
const SP_SECRET: &str = "sp-secret-Value~123";
const WI_CLIENT: &str = "wi-client";
const USER_IDENTITY: &str = "5e29463d-71da-4fe0-8e69-999b57db23b0";
const IDENTITY_HEADER: &str = "identity-header-6d1e";
const AUDIENCE: &str = "https://cognitiveservices.azure.com";

/// The identity provider, the data plane that trusts it, and the CA file the gateway trusts.
struct Entra {
    idp: EntraServer,
    data: MockServer,
    ca_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Entra {
    async fn start() -> Entra {
        Self::with(|_| {}).await
    }

    async fn with(tweak: impl FnOnce(&mut EntraConfig)) -> Entra {
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::generate().unwrap();
        let ca_file = dir.path().join("ca.pem");
        ca.write_ca_pem(&ca_file).unwrap();
        let authority = TokenAuthority::new();
        let mut cfg = EntraConfig {
            authority: authority.clone(),
            apps: vec![
                EntraApp {
                    tenant: TENANT.to_owned(),
                    client_id: SP_CLIENT.to_owned(),
                    secret: Some(SP_SECRET.to_owned()),
                },
                EntraApp {
                    tenant: TENANT.to_owned(),
                    client_id: WI_CLIENT.to_owned(),
                    secret: None,
                },
            ],
            identity_header: IDENTITY_HEADER.to_owned(),
            user_identities: vec![USER_IDENTITY.to_owned()],
            ..EntraConfig::default()
        };
        tweak(&mut cfg);
        let idp = EntraServer::start(cfg, &ca).await.unwrap();
        let data = MockServer::start(MockConfig {
            entra: Some(authority),
            ..MockConfig::default()
        })
        .await
        .unwrap();
        Entra {
            idp,
            data,
            ca_file,
            _dir: dir,
        }
    }

    fn ca(&self) -> &str {
        self.ca_file.to_str().unwrap()
    }

    /// A config whose upstreams are `(name, auth)` on the data plane, model `m-{name}` on each.
    fn config(&self, upstreams: &[(&str, Value)]) -> Value {
        let mut cfg = config(&self.data.base_url());
        cfg["upstreams"] = upstreams
            .iter()
            .map(|(name, auth)| {
                json!({"name": name, "baseUrl": format!("{}/", self.data.base_url()),
                       "kind": "azure-v1", "auth": auth})
            })
            .collect();
        cfg["models"] = upstreams
            .iter()
            .map(|(name, _)| json!({"id": format!("m-{name}"), "upstream": name, "targetModel": format!("dep-{name}")}))
            .collect();
        cfg
    }

    fn sp(&self, secret: &str) -> Value {
        json!({"mode": "servicePrincipal", "tenantId": TENANT, "clientId": SP_CLIENT,
               "clientSecret": secret, "authorityHost": self.idp.authority_host()})
    }

    fn sts_requests(&self) -> Vec<mock_azure::TokenRequest> {
        self.idp
            .requests()
            .into_iter()
            .filter(|r| r.endpoint == TokenEndpoint::Sts)
            .collect()
    }

    /// Every Bearer token the data plane received, in order.
    fn tokens_seen(&self) -> Vec<String> {
        self.data
            .requests()
            .iter()
            .filter_map(|r| r.header("authorization").map(str::to_owned))
            .collect()
    }
}

async fn chat(gw: &Gateway, model: &str) -> reqwest::Response {
    post(gw, "/v1/chat/completions", &chat_body(model)).await
}

async fn verify_auth(gw: &Gateway) -> (Value, String) {
    let resp = client()
        .post(gw.url("/admin/api/verify-auth"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    (serde_json::from_str(&text).unwrap(), text)
}

fn check<'a>(report: &'a Value, upstream: &str) -> &'a Value {
    report["upstreams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == upstream)
        .unwrap_or_else(|| panic!("no {upstream} in {report}"))
}

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Waits until the log contains `needle` (startup logging runs in the background).
async fn log_until(gw: &Gateway, needle: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let text = gw.log_text();
        if text.contains(needle) || tokio::time::Instant::now() > deadline {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn service_principal_tokens_are_cached_verified_and_logged() {
    let e = Entra::start().await;
    let mut foundry = e.sp(SP_SECRET);
    foundry["scope"] = json!("https://ai.azure.com/.default");
    let cfg = e.config(&[("azure", e.sp(SP_SECRET)), ("foundry", foundry)]);
    let gw = Gateway::start_logged(&cfg, &[("SSL_CERT_FILE", e.ca())]).await;

    for _ in 0..3 {
        assert_eq!(chat(&gw, "m-azure").await.status(), 200);
    }
    assert_eq!(chat(&gw, "m-foundry").await.status(), 200);
    let seen = e.tokens_seen();
    assert_eq!(seen.len(), 4);
    assert!(seen.iter().all(|t| t.starts_with("Bearer ey")), "{seen:?}");
    assert!(
        e.data
            .requests()
            .iter()
            .all(|r| r.header("api-key").is_none())
    );
    // One token per (credential, scope): the three azure calls shared one.
    assert!(seen[0] == seen[1] && seen[1] == seen[2]);
    assert_ne!(seen[2], seen[3]);
    let sts = e.sts_requests();
    let scopes: Vec<&str> = sts.iter().map(|r| r.scope_or_resource.as_str()).collect();
    assert_eq!(sts.len(), 2, "{sts:?}");
    assert!(scopes.contains(&"https://cognitiveservices.azure.com/.default"));
    assert!(scopes.contains(&"https://ai.azure.com/.default"));
    assert!(sts.iter().all(|r| r.ok && r.grant == "client_secret"));

    let log = log_until(&gw, "upstream=foundry").await;
    assert!(log.contains("Entra ID token obtained"), "{log}");
    assert!(log.contains("upstream=azure"), "{log}");
    assert!(!log.contains(SP_SECRET), "{log}");
    assert!(!log.contains("eyJ"), "{log}");

    let (report, text) = verify_auth(&gw).await;
    assert_eq!(report["ok"], true, "{report}");
    let azure = check(&report, "azure");
    assert_eq!(azure["status"], "ok");
    assert_eq!(azure["credential"], "servicePrincipal");
    assert_eq!(
        azure["scope"],
        "https://cognitiveservices.azure.com/.default"
    );
    let expires = azure["expiresInSeconds"].as_u64().unwrap();
    assert!((3500..=3600).contains(&expires), "{azure}");
    assert!(
        azure["expiresAt"].as_str().unwrap().ends_with('Z'),
        "{azure}"
    );
    assert!(!text.contains("eyJ") && !text.contains(SP_SECRET), "{text}");
    // Verification really asked the identity provider again, once per credential.
    assert_eq!(e.sts_requests().len(), 4);
}

#[tokio::test]
async fn managed_identity_through_the_app_service_endpoint() {
    let e = Entra::start().await;
    let cfg = e.config(&[
        ("system", json!({"mode": "managedIdentity"})),
        (
            "user",
            json!({"mode": "managedIdentity", "managedIdentityClientId": USER_IDENTITY}),
        ),
    ]);
    let endpoint = e.idp.identity_endpoint();
    let gw = Gateway::start_with_env(
        &cfg,
        &[
            ("IDENTITY_ENDPOINT", &endpoint),
            ("IDENTITY_HEADER", IDENTITY_HEADER),
        ],
    )
    .await;
    assert_eq!(chat(&gw, "m-system").await.status(), 200);
    assert_eq!(chat(&gw, "m-user").await.status(), 200);
    let msi: Vec<_> = e
        .idp
        .requests()
        .into_iter()
        .filter(|r| r.endpoint == TokenEndpoint::AppService && r.ok)
        .collect();
    let ids: Vec<Option<&str>> = msi.iter().map(|r| r.client_id.as_deref()).collect();
    assert!(ids.contains(&None), "{msi:?}");
    assert!(ids.contains(&Some(USER_IDENTITY)), "{msi:?}");
    assert!(
        msi.iter().all(|r| r.scope_or_resource == AUDIENCE),
        "{msi:?}"
    );
    assert_eq!(e.tokens_seen().len(), 2);
}

#[tokio::test]
async fn managed_identity_through_imds() {
    let e = Entra::start().await;
    let cfg = e.config(&[("vm", json!({"mode": "managedIdentity"}))]);
    let imds = e.idp.imds_host();
    let gw = Gateway::start_with_env(&cfg, &[("AZURE_POD_IDENTITY_AUTHORITY_HOST", &imds)]).await;
    assert_eq!(chat(&gw, "m-vm").await.status(), 200);
    let imds_requests: Vec<_> = e
        .idp
        .requests()
        .into_iter()
        .filter(|r| r.endpoint == TokenEndpoint::Imds)
        .collect();
    assert!(!imds_requests.is_empty() && imds_requests.iter().all(|r| r.ok));
    assert_eq!(imds_requests[0].scope_or_resource, AUDIENCE);
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[tokio::test]
async fn workload_identity_follows_a_rotated_token_file() {
    let e = Entra::with(|c| c.token_lifetime = Duration::from_secs(4)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("azure-identity-token");
    write(&file, "assertion-one\n");
    e.idp.set_federated_assertion(WI_CLIENT, "assertion-one");
    let mut auth = json!({"mode": "workloadIdentity"});
    auth["authorityHost"] = json!(e.idp.authority_host());
    let cfg = e.config(&[("aks", auth)]);
    let gw = Gateway::start_with_env(
        &cfg,
        &[
            ("SSL_CERT_FILE", e.ca()),
            ("AZURE_TENANT_ID", TENANT),
            ("AZURE_CLIENT_ID", WI_CLIENT),
            ("AZURE_FEDERATED_TOKEN_FILE", file.to_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(chat(&gw, "m-aks").await.status(), 200);

    // The kubelet rotates the projected token; the old assertion stops working.
    write(&file, "assertion-two\n");
    e.idp.set_federated_assertion(WI_CLIENT, "assertion-two");
    // Past the first token's refresh point (half its 4 s life) and then some.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(chat(&gw, "m-aks").await.status(), 200);
    let seen = e.tokens_seen();
    assert_eq!(seen.len(), 2);
    assert_ne!(
        seen[0], seen[1],
        "the second call used a token minted after rotation"
    );
    let sts = e.sts_requests();
    assert!(
        sts.iter().all(|r| r.grant == "client_assertion" && r.ok),
        "{sts:?}"
    );
    assert!(sts.len() >= 2, "{sts:?}");
}

#[tokio::test]
async fn azure_cli_login_is_used() {
    let e = Entra::start().await;
    let bin = tempfile::tempdir().unwrap();
    let token = e
        .idp
        .authority()
        .mint("cli-user", TENANT, AUDIENCE, Duration::from_secs(3600));
    let args_file = bin.path().join("args");
    // A stand-in for `az`: records its arguments and prints what `az account
    // get-access-token -o json` prints.
    let script = format!(
        "#!/bin/sh\necho \"$@\" >> '{}'\ncat <<'EOF'\n{{\"accessToken\":\"{}\",\"expiresOn\":\"2030-01-01 00:00:00.000000\",\"expires_on\":{},\"subscription\":\"sub\",\"tenant\":\"{TENANT}\",\"tokenType\":\"Bearer\"}}\nEOF\n",
        args_file.display(),
        token.access_token,
        token.expires_on
    );
    let az = bin.path().join("az");
    write(&az, &script);
    let executable = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755);
    std::fs::set_permissions(&az, executable).unwrap();
    let cfg = e.config(&[("laptop", json!({"mode": "azureCli"}))]);
    // `az` is found on PATH; the script itself needs `cat`.
    let path = format!("{}:/usr/bin:/bin", bin.path().display());
    let gw = Gateway::start_with_env(&cfg, &[("PATH", &path)]).await;
    assert_eq!(chat(&gw, "m-laptop").await.status(), 200);
    assert_eq!(
        e.tokens_seen(),
        vec![format!("Bearer {}", token.access_token)]
    );
    let args = std::fs::read_to_string(&args_file).unwrap();
    assert!(
        args.contains(
            "account get-access-token -o json --scope https://cognitiveservices.azure.com/.default"
        ),
        "{args}"
    );
}

#[tokio::test]
async fn the_default_chain_takes_the_first_that_works_and_reports_every_step() {
    let e = Entra::start().await;
    let empty = tempfile::tempdir().unwrap();
    let mut auth = json!({"mode": "default"});
    auth["authorityHost"] = json!(e.idp.authority_host());
    let cfg = e.config(&[("chain", auth)]);
    let path = empty.path().to_str().unwrap();

    // The environment's service principal comes first.
    let gw = Gateway::start_with_env(
        &cfg,
        &[
            ("SSL_CERT_FILE", e.ca()),
            ("PATH", path),
            ("AZURE_TENANT_ID", TENANT),
            ("AZURE_CLIENT_ID", SP_CLIENT),
            ("AZURE_CLIENT_SECRET", SP_SECRET),
        ],
    )
    .await;
    assert_eq!(chat(&gw, "m-chain").await.status(), 200);
    assert_eq!(e.sts_requests()[0].grant, "client_secret");
    drop(gw);

    // Nothing configured anywhere: every step says why it did not work.
    let gw = Gateway::start_with_env(&cfg, &[("SSL_CERT_FILE", e.ca()), ("PATH", path)]).await;
    let resp = chat(&gw, "m-chain").await;
    assert_eq!(resp.status(), 502);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "upstream_auth_failed");
    let (report, _) = verify_auth(&gw).await;
    let error = check(&report, "chain")["error"]
        .as_str()
        .unwrap()
        .to_owned();
    for step in [
        "environment service principal: not configured",
        "workload identity: not configured",
        "managed identity:",
        "Azure CLI:",
    ] {
        assert!(error.contains(step), "{step} missing from {error}");
    }
}

#[tokio::test]
async fn short_lived_tokens_are_refreshed_under_load_without_a_failed_or_waiting_request() {
    const LIFETIME: Duration = Duration::from_secs(6);
    // Every token answer takes this long: a request that waited for a mint would show it.
    const IDP_DELAY: Duration = Duration::from_millis(1500);
    let e = Entra::with(|c| c.token_lifetime = LIFETIME).await;
    let cfg = e.config(&[("azure", e.sp(SP_SECRET))]);
    let gw = Gateway::start_with_env(&cfg, &[("SSL_CERT_FILE", e.ca())]).await;
    assert_eq!(chat(&gw, "m-azure").await.status(), 200);
    e.idp.set_delay(IDP_DELAY);

    // Long enough for at least two refreshes (each due at half a token's life).
    let end = tokio::time::Instant::now() + Duration::from_secs(12);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let url = gw.url("/v1/chat/completions");
        tasks.push(tokio::spawn(async move {
            let c = client();
            let mut results = Vec::new();
            while tokio::time::Instant::now() < end {
                let started = tokio::time::Instant::now();
                let status = c
                    .post(&url)
                    .bearer_auth(CLIENT_KEY)
                    .json(&chat_body("m-azure"))
                    .send()
                    .await
                    .unwrap()
                    .status();
                results.push((status.as_u16(), started.elapsed()));
            }
            results
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let failed: Vec<_> = all.iter().filter(|(s, _)| *s != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of {} failed: {failed:?}",
        failed.len(),
        all.len()
    );
    let slowest = all.iter().map(|(_, d)| *d).max().unwrap();
    assert!(
        slowest < IDP_DELAY,
        "a request waited {slowest:?}, as long as a token mint"
    );
    assert_eq!(
        e.idp.authority().rejected_count(),
        0,
        "no expired token was ever sent"
    );
    // Several refreshes happened, one at a time: far fewer mints than requests.
    let distinct: std::collections::HashSet<String> = e.tokens_seen().into_iter().collect();
    let mints = e.sts_requests().len();
    assert!(
        distinct.len() >= 3,
        "only {} tokens over 10 s",
        distinct.len()
    );
    assert!(mints <= 10, "{mints} mints for {} requests", all.len());
    assert!(all.len() > 100, "only {} requests", all.len());
}

#[tokio::test]
async fn a_refused_token_is_replaced_and_the_request_sent_once_more() {
    let e = Entra::start().await;
    let mut wrong_audience = e.sp(SP_SECRET);
    wrong_audience["scope"] = json!("https://management.azure.com/.default");
    let mut cfg = e.config(&[("azure", e.sp(SP_SECRET)), ("arm", wrong_audience)]);
    cfg["resources"] = json!({"upstream": "azure"});
    let gw = Gateway::start_with_env(&cfg, &[("SSL_CERT_FILE", e.ca())]).await;
    assert_eq!(chat(&gw, "m-azure").await.status(), 200);
    let before = e.sts_requests().len();

    // The data plane stops accepting the token the gateway holds (as after a key roll).
    e.idp.authority().revoke_all();
    let resp = chat(&gw, "m-azure").await;
    assert_eq!(resp.status(), 200);
    let seen = e.tokens_seen();
    let n = seen.len();
    assert_eq!(n, 3, "one refused attempt and one retry");
    assert_eq!(
        seen[0], seen[1],
        "the refused attempt carried the old token"
    );
    assert_ne!(seen[1], seen[2], "the retry carried a new one");
    assert_eq!(e.idp.authority().rejected_count(), 1);
    assert!(e.sts_requests().len() > before);

    // The same for the resource APIs (files, batches, …).
    e.idp.authority().revoke_all();
    let files = client()
        .get(gw.url("/v1/files"))
        .bearer_auth(CLIENT_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(files.status(), 200);
    assert_eq!(e.idp.authority().rejected_count(), 2);
    let seen = e.tokens_seen();
    assert_eq!(seen.len(), 5);
    assert_ne!(seen[3], seen[4]);

    // And for a realtime handshake.
    e.idp.authority().revoke_all();
    let mut ws = crate::realtime::open(&gw, "/v1/realtime?model=m-azure").await;
    assert_eq!(
        crate::realtime::event(&mut ws).await["type"],
        "session.created"
    );
    assert_eq!(e.idp.authority().rejected_count(), 3);

    // A token the upstream never accepts: one retry, then Azure's own 401 reaches the client.
    let resp = chat(&gw, "m-arm").await;
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "401", "{body}");
    let arm: Vec<_> = e
        .data
        .requests()
        .into_iter()
        .filter(|r| r.deployment.as_deref() == Some("dep-arm"))
        .collect();
    assert_eq!(arm.len(), 2, "sent once, then once more with a new token");
}

#[tokio::test]
async fn a_wrong_secret_is_a_clear_502_with_a_redacted_log() {
    const WRONG: &str = "wrong-secret-Value~987";
    let e = Entra::start().await;
    let cfg = e.config(&[("azure", e.sp(WRONG))]);
    let gw = Gateway::start_logged(&cfg, &[("SSL_CERT_FILE", e.ca())]).await;
    let resp = chat(&gw, "m-azure").await;
    assert_eq!(resp.status(), 502);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "upstream_auth_failed", "{body}");
    assert_eq!(body["error"]["type"], "upstream_error");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("`azure`") && message.contains("servicePrincipal"),
        "{message}"
    );
    assert!(
        e.data.requests().is_empty(),
        "nothing unauthenticated left the gateway"
    );

    // Within the back-off, requests fail at once without asking the provider again.
    let asked = e.sts_requests().len();
    assert_eq!(chat(&gw, "m-azure").await.status(), 502);
    assert_eq!(e.sts_requests().len(), asked);
    assert!(
        e.sts_requests()
            .iter()
            .all(|r| r.error_code.as_deref() == Some("AADSTS7000215"))
    );

    // Both lines come from the identity runtime, in the background.
    log_until(&gw, "Entra ID token mint failed").await;
    let log = log_until(&gw, "Entra ID token NOT obtained").await;
    assert!(log.contains("Entra ID token mint failed"), "{log}");
    assert!(log.contains("Entra ID token NOT obtained"), "{log}");
    assert!(log.contains("AADSTS7000215"), "{log}");
    assert!(!log.contains(WRONG), "{log}");

    let (report, text) = verify_auth(&gw).await;
    assert_eq!(report["ok"], false);
    let azure = check(&report, "azure");
    assert_eq!(azure["status"], "failed");
    assert_eq!(azure["errorCode"], "AADSTS7000215");
    assert!(
        azure["error"]
            .as_str()
            .unwrap()
            .contains("Invalid client secret"),
        "{azure}"
    );
    assert!(azure.get("expiresAt").is_none());
    assert!(!text.contains(WRONG), "{text}");
}

#[tokio::test]
async fn an_identity_endpoint_that_is_down_fails_fast_and_the_pool_fails_over() {
    let e = Entra::start().await;
    let mut cfg = e.config(&[
        ("msi", json!({"mode": "managedIdentity"})),
        ("keyed", json!({"mode": "apiKey", "apiKey": "k"})),
    ]);
    // The keyed upstream is a plain mock that takes keys.
    let keyed = mock().await;
    cfg["upstreams"][1]["baseUrl"] = json!(format!("{}/", keyed.base_url()));
    cfg["models"] = json!([
        {"id": "m-msi", "upstream": "msi", "targetModel": "dep-msi"},
        {"id": "pooled", "deployments": [
            {"upstream": "msi", "targetModel": "dep-msi", "priority": 0},
            {"upstream": "keyed", "targetModel": "dep-keyed", "priority": 1}
        ]}
    ]);
    let endpoint = format!("http://127.0.0.1:{}/msi/token", closed_port());
    let gw = Gateway::start_with_env(
        &cfg,
        &[
            ("IDENTITY_ENDPOINT", &endpoint),
            ("IDENTITY_HEADER", IDENTITY_HEADER),
        ],
    )
    .await;
    let started = tokio::time::Instant::now();
    let resp = chat(&gw, "m-msi").await;
    assert_eq!(resp.status(), 502);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "upstream_auth_failed");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("managedIdentity")
    );

    let resp = chat(&gw, "pooled").await;
    assert_eq!(
        resp.status(),
        200,
        "the pool moved on to the keyed deployment"
    );
    assert_eq!(keyed.requests().len(), 1);
    assert!(e.data.requests().is_empty());

    let (report, _) = verify_auth(&gw).await;
    let msi = check(&report, "msi");
    assert_eq!(msi["status"], "failed");
    let error = msi["error"].as_str().unwrap();
    assert!(error.contains("ManagedIdentityCredential"), "{error}");
    assert!(!error.contains(IDENTITY_HEADER), "{error}");
    assert_eq!(check(&report, "keyed")["status"], "static");
}
