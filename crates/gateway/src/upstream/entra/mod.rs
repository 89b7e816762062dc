//! Entra ID tokens for upstreams: minting ([`mint`], with `azure_identity`), caching
//! ([`cache`]), the transport the crate uses ([`transport`]) and log redaction ([`redact`]).
//!
//! Token sources are process-wide, keyed by credential and scope: upstreams that share a
//! credential share one token, and a config reload that keeps a credential keeps its token.
//! Minting and refreshing run on one small background runtime (`gw-identity`), so a refresh
//! never borrows a worker's event loop and outlives the request that noticed it was due.

pub mod cache;
pub mod mint;
pub mod redact;
pub mod transport;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use sha2::{Digest, Sha256};

pub use cache::{Outcome, Token, TokenSource};
pub use mint::{MintError, Spec};

use crate::config::AuthConfig;
use transport::TokenTransport;

/// One exchange with an identity provider (connect to last byte).
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(15);

struct Shared {
    runtime: tokio::runtime::Handle,
    transport: Arc<TokenTransport>,
    sources: Mutex<HashMap<[u8; 32], Weak<TokenSource>>>,
}

static SHARED: OnceLock<Result<Shared, String>> = OnceLock::new();

/// The background runtime and transport, started on first use.
fn shared() -> Result<&'static Shared, String> {
    SHARED
        .get_or_init(|| {
            let tls =
                crate::upstream::client::tls_config().map_err(|e| format!("TLS setup: {e}"))?;
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::Builder::new()
                .name("gw-identity".to_owned())
                .spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build();
                    match rt {
                        Ok(rt) => {
                            let _ = tx.send(Ok(rt.handle().clone()));
                            rt.block_on(std::future::pending::<()>());
                        }
                        Err(e) => {
                            let _ = tx.send(Err(format!("cannot start the identity runtime: {e}")));
                        }
                    }
                })
                .map_err(|e| format!("cannot start the identity thread: {e}"))?;
            let runtime = rx
                .recv()
                .map_err(|_| "the identity thread stopped during startup".to_owned())??;
            // The transport's client spawns its connection tasks where it is first used: on
            // the identity runtime, since every mint runs there.
            Ok(Shared {
                runtime,
                transport: Arc::new(TokenTransport::new(&tls, EXCHANGE_TIMEOUT)),
                sources: Mutex::new(HashMap::new()),
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The token source for `auth`: the existing one for the same credential and scope, or a new
/// one whose first mint starts now.
pub fn source(auth: &AuthConfig) -> Result<Arc<TokenSource>, String> {
    let shared = shared()?;
    let spec = Spec::new(auth);
    let mut hasher = Sha256::new();
    for part in spec.identity() {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let key: [u8; 32] = hasher.finalize().into();
    let mut sources = shared
        .sources
        .lock()
        .map_err(|_| "token source registry poisoned".to_owned())?;
    sources.retain(|_, weak| weak.strong_count() > 0);
    if let Some(existing) = sources.get(&key).and_then(Weak::upgrade) {
        return Ok(existing);
    }
    let source = TokenSource::start(spec, Arc::clone(&shared.transport), shared.runtime.clone());
    sources.insert(key, Arc::downgrade(&source));
    Ok(source)
}

/// Logs, per upstream, which credential it uses and whether its first token came. Runs in
/// the background: startup does not wait for identity providers.
pub fn announce(upstreams: Vec<(String, Arc<TokenSource>)>) {
    let Ok(shared) = shared() else {
        return;
    };
    shared.runtime.spawn(async move {
        for (name, source) in upstreams {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            match source.token(deadline).await {
                Ok(token) => {
                    let expires_in = token
                        .expires_at
                        .duration_since(std::time::SystemTime::now())
                        .unwrap_or_default();
                    tracing::info!(
                        upstream = %name,
                        credential = %source.spec().describe(),
                        expires_in_s = expires_in.as_secs(),
                        "Entra ID token obtained"
                    );
                }
                Err(err) => tracing::warn!(
                    upstream = %name,
                    credential = %source.spec().describe(),
                    error = %err,
                    "Entra ID token NOT obtained; requests to this upstream will fail until it is"
                ),
            }
        }
    });
}
