//! Managed identity over plain HTTP on 127.0.0.1: the App Service endpoint
//! (`x-identity-header`, system vs user-assigned, string `expires_on`) and the IMDS stand-in
//! (`Metadata: true`, string `expires_in`/`expires_on`/`not_before`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail loudly on purpose"
)]

use std::time::{SystemTime, UNIX_EPOCH};

use mock_azure::{EntraConfig, EntraServer, TestCa, TokenAuthority, TokenEndpoint};
use serde_json::{Value, json};

const HEADER: &str = "identity-header-s3cret";
const UAMI: &str = "5e29463d-71da-4fe0-8e69-999b57db23b0";
const RESOURCE: &str = "https://cognitiveservices.azure.com";

async fn start(system_identity: bool) -> (EntraServer, TokenAuthority) {
    let ca = TestCa::generate().unwrap();
    let authority = TokenAuthority::new();
    let config = EntraConfig {
        authority: authority.clone(),
        identity_header: HEADER.to_owned(),
        system_identity,
        user_identities: vec![UAMI.to_owned()],
        ..EntraConfig::default()
    };
    (EntraServer::start(config, &ca).await.unwrap(), authority)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn get(url: String, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut request = client().get(url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn app_service_url(entra: &EntraServer, extra: &str) -> String {
    format!(
        "{}?api-version=2019-08-01&resource=https%3A%2F%2Fcognitiveservices.azure.com{extra}",
        entra.identity_endpoint()
    )
}

#[tokio::test]
async fn app_service_requires_the_identity_header() {
    let (entra, authority) = start(true).await;
    assert!(entra.identity_endpoint().starts_with("http://127.0.0.1:"));
    assert!(entra.identity_endpoint().ends_with("/msi/token"));
    for headers in [vec![], vec![("x-identity-header", "wrong")]] {
        let (status, body) = get(app_service_url(&entra, ""), &headers).await;
        assert_eq!(status, 401);
        assert_eq!(body["statusCode"], 401);
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("X-IDENTITY-HEADER")
        );
        assert_eq!(body["correlationId"].as_str().unwrap().len(), 36);
    }
    assert_eq!(authority.issued_count(), 0);
    let codes: Vec<_> = entra.requests().into_iter().map(|r| r.error_code).collect();
    assert_eq!(codes, vec![Some("UnauthorizedRequest".to_owned()); 2]);
}

#[tokio::test]
async fn app_service_system_and_user_assigned_identities() {
    let (entra, authority) = start(true).await;
    let header = [("x-identity-header", HEADER), ("metadata", "true")];

    let (status, system) = get(app_service_url(&entra, ""), &header).await;
    assert_eq!(status, 200, "{system}");
    assert_eq!(system["token_type"], "Bearer");
    assert_eq!(system["resource"], RESOURCE);
    let expires_on: u64 = system["expires_on"].as_str().unwrap().parse().unwrap();
    assert!((now() + 3590..=now() + 3600).contains(&expires_on));
    let system_id = system["client_id"].as_str().unwrap().to_owned();
    assert_ne!(system_id, UAMI);
    let token = system["access_token"].as_str().unwrap();
    let claims = authority.verify(token, &[RESOURCE.to_owned()]).unwrap();
    assert_eq!(claims.subject, system_id);
    assert_eq!(claims.expires_on, expires_on);

    let (status, user) = get(
        app_service_url(&entra, &format!("&client_id={UAMI}")),
        &header,
    )
    .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(user["client_id"], UAMI);
    assert!(user["expires_on"].is_string());
    let claims = authority
        .verify(
            user["access_token"].as_str().unwrap(),
            &[RESOURCE.to_owned()],
        )
        .unwrap();
    assert_eq!(claims.subject, UAMI);

    let (status, unknown) = get(app_service_url(&entra, "&client_id=nobody"), &header).await;
    assert_eq!(status, 400);
    assert_eq!(unknown["statusCode"], 400);
    assert_eq!(
        unknown["message"],
        "No User Assigned or Delegated Managed Identity found for specified \
         ClientId/ResourceId/PrincipalId."
    );

    let log = entra.requests();
    assert_eq!(log.len(), 3);
    assert!(log.iter().all(|r| r.endpoint == TokenEndpoint::AppService));
    assert!(log.iter().all(|r| r.grant == "managed_identity"));
    assert!(log.iter().all(|r| r.scope_or_resource == RESOURCE));
    let clients: Vec<_> = log.iter().map(|r| (r.client_id.clone(), r.ok)).collect();
    assert_eq!(
        clients,
        vec![
            (None, true),
            (Some(UAMI.to_owned()), true),
            (Some("nobody".to_owned()), false)
        ]
    );
}

#[tokio::test]
async fn app_service_without_a_system_identity() {
    let (entra, _) = start(false).await;
    let header = [("x-identity-header", HEADER)];
    let (status, body) = get(app_service_url(&entra, ""), &header).await;
    assert_eq!(status, 400);
    assert_eq!(body["statusCode"], 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Managed Identity found")
    );
    let (status, _) = get(
        app_service_url(&entra, &format!("&client_id={UAMI}")),
        &header,
    )
    .await;
    assert_eq!(status, 200);
}

fn imds_url(entra: &EntraServer, extra: &str) -> String {
    format!(
        "{}/metadata/identity/oauth2/token?api-version=2019-08-01\
         &resource=https%3A%2F%2Fcognitiveservices.azure.com{extra}",
        entra.imds_host()
    )
}

#[tokio::test]
async fn imds_requires_the_metadata_header_and_answers_strings() {
    let (entra, authority) = start(true).await;
    assert!(entra.imds_host().starts_with("http://127.0.0.1:"));
    for headers in [vec![], vec![("metadata", "false")]] {
        let (status, body) = get(imds_url(&entra, ""), &headers).await;
        assert_eq!(status, 400);
        assert_eq!(
            body,
            json!({"error": "invalid_request", "error_description": "Required metadata header not specified"})
        );
    }

    let metadata = [("Metadata", "true")];
    let (status, body) = get(imds_url(&entra, ""), &metadata).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["refresh_token"], "");
    assert_eq!(body["expires_in"], "3600");
    assert_eq!(body["resource"], RESOURCE);
    assert_eq!(body["token_type"], "Bearer");
    let expires_on: u64 = body["expires_on"].as_str().unwrap().parse().unwrap();
    let not_before: u64 = body["not_before"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires_on - not_before, 3600);
    assert!((now() + 3590..=now() + 3600).contains(&expires_on));
    assert!(
        authority
            .verify(
                body["access_token"].as_str().unwrap(),
                &[RESOURCE.to_owned()]
            )
            .is_ok()
    );

    let (status, user) = get(imds_url(&entra, &format!("&client_id={UAMI}")), &metadata).await;
    assert_eq!(status, 200);
    let claims = authority
        .verify(
            user["access_token"].as_str().unwrap(),
            &[RESOURCE.to_owned()],
        )
        .unwrap();
    assert_eq!(claims.subject, UAMI);

    let (status, body) = get(imds_url(&entra, "&client_id=nobody"), &metadata).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"error": "invalid_request", "error_description": "Identity not found"})
    );

    let log = entra.requests();
    assert!(log.iter().all(|r| r.endpoint == TokenEndpoint::Imds));
    let oks: Vec<bool> = log.iter().map(|r| r.ok).collect();
    assert_eq!(oks, [false, false, true, true, false]);
}
