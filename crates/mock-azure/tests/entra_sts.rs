//! The mock Entra STS over real HTTPS on 127.0.0.1: CA-verified TLS, client-secret and
//! federated-assertion issuance, Entra's AADSTS error bodies, lifetime and delay knobs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly on purpose"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use mock_azure::{
    EntraApp, EntraConfig, EntraServer, TestCa, TokenAuthority, TokenEndpoint, TokenRequest,
};
use serde_json::Value;

const TENANT: &str = "11111111-2222-3333-4444-555555555555";
const SP: &str = "sp-client";
const SECRET: &str = "sp-secret-value";
const WI: &str = "wi-client";
const COG_SCOPE: &str = "https://cognitiveservices.azure.com/.default";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

type Https = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// An HTTPS client whose only trust root is `roots` (ring provider).
fn https_client(roots: rustls::RootCertStore) -> Https {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only()
        .enable_http1()
        .build();
    Client::builder(TokioExecutor::new()).build(https)
}

fn trusting(ca: &TestCa) -> Https {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.ca_der()).unwrap();
    https_client(roots)
}

struct Setup {
    ca: TestCa,
    authority: TokenAuthority,
    entra: EntraServer,
}

async fn setup() -> Setup {
    let ca = TestCa::generate().unwrap();
    let authority = TokenAuthority::new();
    let config = EntraConfig {
        authority: authority.clone(),
        apps: vec![
            EntraApp {
                tenant: TENANT.to_owned(),
                client_id: SP.to_owned(),
                secret: Some(SECRET.to_owned()),
            },
            EntraApp {
                tenant: TENANT.to_owned(),
                client_id: WI.to_owned(),
                secret: None,
            },
        ],
        ..EntraConfig::default()
    };
    let entra = EntraServer::start(config, &ca).await.unwrap();
    Setup {
        ca,
        authority,
        entra,
    }
}

/// POSTs `fields` form-urlencoded to `{authority}/{tenant}/oauth2/v2.0/token`.
async fn token_request(
    client: &Https,
    entra: &EntraServer,
    tenant: &str,
    fields: &[(&str, &str)],
) -> (u16, Value) {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let request = http::Request::post(format!(
        "{}/{tenant}/oauth2/v2.0/token",
        entra.authority_host()
    ))
    .header("content-type", "application/x-www-form-urlencoded")
    .body(Full::new(Bytes::from(body)))
    .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

fn secret_fields(secret: &str) -> Vec<(&'static str, String)> {
    vec![
        ("client_id", SP.to_owned()),
        ("client_secret", secret.to_owned()),
        ("grant_type", "client_credentials".to_owned()),
        ("scope", COG_SCOPE.to_owned()),
    ]
}

fn borrowed<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Checks Entra's error body: fields, codes, and the description's trailer line.
fn assert_aad_error(body: &Value, error: &str, code: u32, message_start: &str) {
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body["error_codes"], serde_json::json!([code]));
    assert_eq!(
        body["error_uri"],
        format!("https://login.microsoftonline.com/error?code={code}")
    );
    let description = body["error_description"].as_str().unwrap();
    let prefix = format!("AADSTS{code}: {message_start}");
    assert!(description.starts_with(&prefix), "{description}");
    let trailer = format!(
        " \r\nTrace ID: {} Correlation ID: {} Timestamp: {}",
        body["trace_id"].as_str().unwrap(),
        body["correlation_id"].as_str().unwrap(),
        body["timestamp"].as_str().unwrap()
    );
    assert!(description.ends_with(&trailer), "{description}");
    let timestamp = body["timestamp"].as_str().unwrap();
    assert_eq!(timestamp.len(), "2025-04-04 21:10:04Z".len(), "{timestamp}");
    assert!(timestamp.ends_with('Z') && timestamp.as_bytes()[10] == b' ');
    assert_eq!(body["trace_id"].as_str().unwrap().len(), 36);
}

#[tokio::test]
async fn client_secret_token_over_ca_verified_https() {
    let s = setup().await;
    assert!(s.entra.authority_host().starts_with("https://127.0.0.1:"));
    let fields = secret_fields(SECRET);
    let (status, body) =
        token_request(&trusting(&s.ca), &s.entra, TENANT, &borrowed(&fields)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["ext_expires_in"], 3600);
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(token.split('.').count(), 3);
    let audiences = vec!["https://cognitiveservices.azure.com".to_owned()];
    let claims = s.authority.verify(token, &audiences).unwrap();
    assert_eq!(claims.subject, SP);
    assert_eq!(claims.tenant, TENANT);
    assert_eq!(claims.audience, "https://cognitiveservices.azure.com");
    assert_eq!(s.authority.issued_count(), 1);
    assert_eq!(
        s.entra.requests(),
        vec![TokenRequest {
            endpoint: TokenEndpoint::Sts,
            client_id: Some(SP.to_owned()),
            scope_or_resource: COG_SCOPE.to_owned(),
            grant: "client_secret".to_owned(),
            ok: true,
            error_code: None,
        }]
    );
    // The PEM form is the same CA, written where SSL_CERT_FILE can point.
    let dir = std::env::temp_dir().join(format!("entra-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ca.pem");
    s.ca.write_ca_pem(&path).unwrap();
    let pem = std::fs::read_to_string(&path).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(pem, s.ca.ca_pem());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_test_ca_is_refused() {
    let s = setup().await;
    let other = TestCa::generate().unwrap();
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(borrowed(&secret_fields(SECRET)))
        .finish();
    let request = http::Request::post(format!(
        "{}/{TENANT}/oauth2/v2.0/token",
        s.entra.authority_host()
    ))
    .body(Full::new(Bytes::from(body)))
    .unwrap();
    let error = trusting(&other).request(request).await.unwrap_err();
    let chain = format!("{:?}", error);
    assert!(
        chain.contains("UnknownIssuer") || chain.contains("BadSignature"),
        "{chain}"
    );
    assert!(s.entra.requests().is_empty());
}

#[tokio::test]
async fn every_aadsts_error_has_entras_body() {
    let s = setup().await;
    let client = trusting(&s.ca);
    let bad_grant = [
        ("grant_type", "password"),
        ("client_id", SP),
        ("scope", COG_SCOPE),
    ];
    let (status, body) = token_request(&client, &s.entra, TENANT, &bad_grant).await;
    assert_eq!(status, 400);
    assert_aad_error(
        &body,
        "unsupported_grant_type",
        70003,
        "The app requested an unsupported grant type 'password'.",
    );

    let mut no_default = secret_fields(SECRET);
    no_default[3].1 = "https://cognitiveservices.azure.com".to_owned();
    let (status, body) = token_request(&client, &s.entra, TENANT, &borrowed(&no_default)).await;
    assert_eq!(status, 400);
    assert_aad_error(
        &body,
        "invalid_scope",
        1002012,
        "The provided value for scope https://cognitiveservices.azure.com is not valid.",
    );

    let mut two_scopes = secret_fields(SECRET);
    two_scopes[3].1 = format!("{COG_SCOPE} https://ai.azure.com/.default");
    let (status, body) = token_request(&client, &s.entra, TENANT, &borrowed(&two_scopes)).await;
    assert_eq!(status, 400);
    assert_aad_error(
        &body,
        "invalid_scope",
        70011,
        "The provided request must include a 'scope' input parameter.",
    );

    let fields = secret_fields(SECRET);
    let (status, body) = token_request(
        &client,
        &s.entra,
        "no-such-tenant.example",
        &borrowed(&fields),
    )
    .await;
    assert_eq!(status, 400);
    assert_aad_error(
        &body,
        "invalid_request",
        90002,
        "Tenant 'no-such-tenant.example' not found.",
    );

    let mut unknown_client = secret_fields(SECRET);
    unknown_client[0].1 = "ghost".to_owned();
    let (status, body) = token_request(&client, &s.entra, TENANT, &borrowed(&unknown_client)).await;
    assert_eq!(status, 400);
    assert_aad_error(
        &body,
        "unauthorized_client",
        700016,
        &format!("Application with identifier 'ghost' was not found in the directory '{TENANT}'."),
    );

    let wrong_secret = secret_fields("not-the-secret");
    let (status, body) = token_request(&client, &s.entra, TENANT, &borrowed(&wrong_secret)).await;
    assert_eq!(status, 401);
    assert_aad_error(
        &body,
        "invalid_client",
        7000215,
        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID",
    );

    let no_credential = [
        ("grant_type", "client_credentials"),
        ("client_id", SP),
        ("scope", COG_SCOPE),
    ];
    let (status, body) = token_request(&client, &s.entra, TENANT, &no_credential).await;
    assert_eq!(status, 401);
    assert_aad_error(
        &body,
        "invalid_client",
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    );

    let codes: Vec<Option<String>> = s
        .entra
        .requests()
        .into_iter()
        .map(|r| r.error_code)
        .collect();
    let expected = [
        "AADSTS70003",
        "AADSTS1002012",
        "AADSTS70011",
        "AADSTS90002",
        "AADSTS700016",
        "AADSTS7000215",
        "AADSTS7000218",
    ];
    assert_eq!(codes, expected.map(|c| Some(c.to_owned())).to_vec());
    assert_eq!(s.authority.issued_count(), 0);
}

fn assertion_fields(assertion: &str) -> Vec<(&'static str, String)> {
    vec![
        ("client_assertion", assertion.to_owned()),
        ("client_assertion_type", JWT_BEARER.to_owned()),
        ("client_id", WI.to_owned()),
        ("grant_type", "client_credentials".to_owned()),
        ("scope", "https://ai.azure.com/.default".to_owned()),
    ]
}

#[tokio::test]
async fn federated_assertion_is_checked_and_rotates() {
    let s = setup().await;
    let client = trusting(&s.ca);
    let assert_refused = |status: u16, body: &Value| {
        assert_eq!(status, 400);
        assert_aad_error(
            body,
            "invalid_client",
            70021,
            "No matching federated identity record found for presented assertion.",
        );
    };
    // Nothing configured yet.
    let (status, body) = token_request(
        &client,
        &s.entra,
        TENANT,
        &borrowed(&assertion_fields("jwt-one\n")),
    )
    .await;
    assert_refused(status, &body);

    s.entra.set_federated_assertion(WI, "jwt-one");
    // The file's trailing newline is sent verbatim and tolerated.
    let (status, body) = token_request(
        &client,
        &s.entra,
        TENANT,
        &borrowed(&assertion_fields("jwt-one\n")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap();
    let claims = s
        .authority
        .verify(token, &["https://ai.azure.com".to_owned()])
        .unwrap();
    assert_eq!(
        (claims.subject.as_str(), claims.tenant.as_str()),
        (WI, TENANT)
    );

    let (status, body) = token_request(
        &client,
        &s.entra,
        TENANT,
        &borrowed(&assertion_fields("jwt-two")),
    )
    .await;
    assert_refused(status, &body);

    s.entra.set_federated_assertion(WI, "jwt-two\n");
    let (status, _) = token_request(
        &client,
        &s.entra,
        TENANT,
        &borrowed(&assertion_fields("jwt-two")),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = token_request(
        &client,
        &s.entra,
        TENANT,
        &borrowed(&assertion_fields("jwt-one\n")),
    )
    .await;
    assert_refused(status, &body);

    // A workload-identity app has no secret.
    let mut secret = secret_fields("anything");
    secret[0].1 = WI.to_owned();
    let (status, body) = token_request(&client, &s.entra, TENANT, &borrowed(&secret)).await;
    assert_eq!(status, 401);
    assert_eq!(body["error_codes"], serde_json::json!([7000215]));

    // The assertion type is required.
    let mut untyped = assertion_fields("jwt-two");
    untyped.remove(1);
    let (status, body) = token_request(&client, &s.entra, TENANT, &borrowed(&untyped)).await;
    assert_eq!(status, 400);
    assert_aad_error(
        &body,
        "invalid_request",
        900144,
        "The request body must contain the following parameter: 'client_assertion_type'.",
    );

    let log: Vec<(String, bool)> = s
        .entra
        .requests()
        .into_iter()
        .map(|r| (r.grant, r.ok))
        .collect();
    let grants = [
        "client_assertion",
        "client_assertion",
        "client_assertion",
        "client_assertion",
        "client_assertion",
        "client_secret",
        "client_assertion",
    ];
    let oks = [false, true, false, true, false, false, false];
    let expected: Vec<(String, bool)> = grants
        .iter()
        .zip(oks)
        .map(|(g, ok)| ((*g).to_owned(), ok))
        .collect();
    assert_eq!(log, expected);
}

#[tokio::test]
async fn lifetime_and_delay_knobs() {
    let s = setup().await;
    let client = trusting(&s.ca);
    s.entra.set_token_lifetime(Duration::from_secs(120));
    s.entra.set_delay(Duration::from_millis(300));
    let started = Instant::now();
    let (status, body) =
        token_request(&client, &s.entra, TENANT, &borrowed(&secret_fields(SECRET))).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(status, 200);
    assert_eq!(body["expires_in"], 120);
    assert_eq!(body["ext_expires_in"], 120);

    // Errors are delayed too.
    let started = Instant::now();
    let (status, _) = token_request(
        &client,
        &s.entra,
        TENANT,
        &borrowed(&secret_fields("wrong")),
    )
    .await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(status, 401);

    s.entra.set_delay(Duration::ZERO);
    let started = Instant::now();
    let (status, _) =
        token_request(&client, &s.entra, TENANT, &borrowed(&secret_fields(SECRET))).await;
    assert!(started.elapsed() < Duration::from_millis(300));
    assert_eq!(status, 200);
}

#[tokio::test]
async fn dropping_the_server_closes_the_token_endpoint() {
    let s = setup().await;
    let host = s.entra.authority_host();
    let addr = host.trim_start_matches("https://").to_owned();
    drop(s.entra);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(tokio::net::TcpStream::connect(&addr).await.is_err());
}
