//! A mock Entra ID identity provider and managed-identity endpoints (WIRE-FACTS A4), so
//! the gateway's token code (`azure_identity`) can be tested end to end on loopback.
//!
//! [`EntraServer`] runs two listeners on `127.0.0.1`:
//! - HTTPS (the [`TestCa`] leaf): the STS, `POST /{tenant}/oauth2/v2.0/token`, client
//!   credentials with a secret or a federated assertion (workload identity) — `sts`;
//! - plain HTTP: App Service / Container Apps `GET /msi/token` (`IDENTITY_ENDPOINT`) and an
//!   IMDS stand-in `GET /metadata/identity/oauth2/token` — `msi`.
//!
//! Every token comes from one [`TokenAuthority`] that the data plane
//! ([`MockConfig::entra`](crate::MockConfig::entra)) also holds, so what the mock accepts
//! is exactly what it issued, and tests can revoke or expire tokens at will.
//!
//! Files: `ca` (TLS material), `tokens` (the registry), `sts`, `msi` (the endpoints),
//! `serve` (the accept loops).

mod ca;
mod msi;
mod serve;
mod sts;
mod tokens;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

pub use ca::TestCa;
pub use tokens::{IssuedToken, TokenAuthority, TokenClaims, TokenReject};

/// An app registration the STS knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntraApp {
    pub tenant: String,
    pub client_id: String,
    /// `Some`: a service principal with this client secret. `None`: a workload-identity
    /// app that authenticates only with a federated assertion
    /// ([`EntraServer::set_federated_assertion`]).
    pub secret: Option<String>,
}

/// What the identity provider knows and how it answers.
#[derive(Clone, Debug)]
pub struct EntraConfig {
    /// Where issued tokens are registered; give the same one to the data plane.
    pub authority: TokenAuthority,
    /// Service principals (secret) and workload-identity apps (no secret).
    pub apps: Vec<EntraApp>,
    /// Lifetime of issued tokens (`expires_in`); default 3600 s.
    pub token_lifetime: Duration,
    /// The App Service `IDENTITY_HEADER` value `/msi/token` requires.
    pub identity_header: String,
    /// Managed identity: the system-assigned identity is enabled.
    pub system_identity: bool,
    /// Managed identity: client ids of the user-assigned identities.
    pub user_identities: Vec<String>,
    /// The tenant managed-identity tokens are issued in.
    pub identity_tenant: String,
}

impl Default for EntraConfig {
    fn default() -> Self {
        Self {
            authority: TokenAuthority::new(),
            apps: Vec::new(),
            token_lifetime: Duration::from_secs(3600),
            identity_header: "mock-identity-header".to_owned(),
            system_identity: true,
            user_identities: Vec::new(),
            identity_tenant: "00000000-0000-0000-0000-000000000001".to_owned(),
        }
    }
}

/// Which endpoint a token request reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenEndpoint {
    /// `POST /{tenant}/oauth2/v2.0/token` (HTTPS).
    Sts,
    /// `GET /msi/token` (App Service / Container Apps).
    AppService,
    /// `GET /metadata/identity/oauth2/token` (the IMDS stand-in).
    Imds,
}

/// One token request as the mock saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRequest {
    pub endpoint: TokenEndpoint,
    /// The `client_id` form field (STS) or query parameter (managed identity).
    pub client_id: Option<String>,
    /// `scope` (STS) or `resource` (managed identity), as sent; empty when absent.
    pub scope_or_resource: String,
    /// `"client_secret"`, `"client_assertion"`, `"managed_identity"`, or `"none"` for an STS
    /// request that carried neither credential.
    pub grant: String,
    pub ok: bool,
    /// STS: the AADSTS code (`"AADSTS7000215"`); managed identity: the JSON error code.
    pub error_code: Option<String>,
}

/// State shared by both listeners and the [`EntraServer`] handle.
pub(crate) struct EntraState {
    pub(crate) authority: TokenAuthority,
    pub(crate) apps: Vec<EntraApp>,
    pub(crate) identity_header: String,
    pub(crate) system_identity: bool,
    /// The client id reported for the system-assigned identity.
    pub(crate) system_client_id: String,
    pub(crate) user_identities: Vec<String>,
    pub(crate) identity_tenant: String,
    lifetime: Mutex<Duration>,
    delay: Mutex<Duration>,
    /// Federated assertion accepted per client id (already trimmed).
    assertions: Mutex<HashMap<String, String>>,
    requests: Mutex<Vec<TokenRequest>>,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl EntraState {
    pub(crate) fn lifetime(&self) -> Duration {
        *locked(&self.lifetime)
    }

    /// Sleeps the configured answer delay.
    pub(crate) async fn delay(&self) {
        let delay = *locked(&self.delay);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }

    /// Whether `assertion` is the one currently accepted for `client_id`.
    pub(crate) fn assertion_matches(&self, client_id: &str, assertion: &str) -> bool {
        locked(&self.assertions)
            .get(client_id)
            .is_some_and(|want| want == assertion.trim_end())
    }

    pub(crate) fn record(&self, request: TokenRequest) {
        locked(&self.requests).push(request);
    }
}

/// The running identity provider. Dropping it (or [`shutdown`](Self::shutdown)) closes
/// both listeners and their connections.
pub struct EntraServer {
    sts_addr: SocketAddr,
    msi_addr: SocketAddr,
    state: Arc<EntraState>,
    tasks: Vec<JoinHandle<()>>,
}

impl EntraServer {
    /// Starts the HTTPS STS and the plain-HTTP managed-identity listener on `127.0.0.1`
    /// with ephemeral ports; the STS presents `ca`'s leaf.
    pub async fn start(config: EntraConfig, ca: &TestCa) -> std::io::Result<EntraServer> {
        let sts_listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let msi_listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let (sts_addr, msi_addr) = (sts_listener.local_addr()?, msi_listener.local_addr()?);
        let state = Arc::new(EntraState {
            authority: config.authority,
            apps: config.apps,
            identity_header: config.identity_header,
            system_identity: config.system_identity,
            system_client_id: crate::ids::uuid(),
            user_identities: config.user_identities,
            identity_tenant: config.identity_tenant,
            lifetime: Mutex::new(config.token_lifetime),
            delay: Mutex::new(Duration::ZERO),
            assertions: Mutex::default(),
            requests: Mutex::default(),
        });
        let sts = Router::new()
            .route("/{tenant}/oauth2/v2.0/token", post(sts::token))
            .with_state(Arc::clone(&state));
        let msi = Router::new()
            .route("/msi/token", get(msi::app_service))
            .route("/MSI/token", get(msi::app_service))
            .route("/metadata/identity/oauth2/token", get(msi::imds))
            .with_state(Arc::clone(&state));
        let tls = TlsAcceptor::from(ca.server_config());
        let tasks = vec![
            serve::spawn(sts_listener, Some(tls), sts),
            serve::spawn(msi_listener, None, msi),
        ];
        Ok(EntraServer {
            sts_addr,
            msi_addr,
            state,
            tasks,
        })
    }

    /// `https://127.0.0.1:PORT`: the authority host for `azure_identity`
    /// (`AZURE_AUTHORITY_HOST` or a custom cloud).
    pub fn authority_host(&self) -> String {
        format!("https://{}", self.sts_addr)
    }

    /// `http://127.0.0.1:PORT2/msi/token`: App Service / Container Apps `IDENTITY_ENDPOINT`.
    pub fn identity_endpoint(&self) -> String {
        format!("http://{}/msi/token", self.msi_addr)
    }

    /// `http://127.0.0.1:PORT2`: stands in for IMDS (`169.254.169.254`) and serves
    /// `/metadata/identity/oauth2/token`.
    pub fn imds_host(&self) -> String {
        format!("http://{}", self.msi_addr)
    }

    /// The registry this server issues into.
    pub fn authority(&self) -> &TokenAuthority {
        &self.state.authority
    }

    /// Lifetime of tokens issued from now on.
    pub fn set_token_lifetime(&self, d: Duration) {
        *locked(&self.state.lifetime) = d;
    }

    /// Workload identity: the client assertion accepted for `client_id` from now on
    /// (call again to rotate; the previous one is refused afterwards). Trailing
    /// whitespace is ignored on both sides, since clients send the token file verbatim.
    pub fn set_federated_assertion(&self, client_id: &str, assertion: &str) {
        locked(&self.state.assertions)
            .insert(client_id.to_owned(), assertion.trim_end().to_owned());
    }

    /// Delays every token answer (success or error) by `d`.
    pub fn set_delay(&self, d: Duration) {
        *locked(&self.state.delay) = d;
    }

    /// Every token request seen, in order.
    pub fn requests(&self) -> Vec<TokenRequest> {
        locked(&self.state.requests).clone()
    }

    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for EntraServer {
    fn drop(&mut self) {
        // Aborting an accept loop drops its listener and its set of connection tasks.
        for task in &self.tasks {
            task.abort();
        }
    }
}
