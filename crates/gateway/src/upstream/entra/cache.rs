//! One Entra ID token per (credential, scope), kept fresh without ever stalling a request.
//!
//! - **Fast path.** A request loads the current token (an `ArcSwap`, no lock) and uses it while
//!   it is usable. Past its refresh point it also starts a refresh in the background and still
//!   uses the token it has.
//! - **Single flight.** At most one mint runs per source. Whoever needs a token while one is
//!   running subscribes to that mint's outcome instead of starting another.
//! - **Only without a usable token does a request wait**, and then for that one shared mint.
//! - **Failures back off.** A failed mint is remembered for a growing pause (1 s doubling to
//!   60 s); requests in that pause fail at once with the same error instead of queueing on an
//!   identity provider that just said no.
//! - **Proactive refresh.** A task on the identity runtime wakes at each token's refresh point,
//!   so an idle gateway holds a fresh token too; it ends when the source is dropped.
//! - **Rejection.** After an upstream 401 the token that was sent is dropped and a new one
//!   minted, unless another request already replaced it.

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwapOption;
use http::HeaderValue;
use tokio::sync::watch;
use tokio::time::Instant;

use super::mint::{MintError, Minted, Spec};
use super::transport::TokenTransport;

/// A mint may take this long, whatever the credential does inside.
const MINT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a caller without a request deadline (verification, the refresh task) waits.
const MINT_WAIT: Duration = Duration::from_secs(35);
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Refresh this long before expiry at most (half the lifetime for short-lived tokens).
const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(600);
/// Stop sending a token this long before it expires at most (a tenth of its lifetime for
/// short-lived ones), so it does not expire in flight.
const MAX_EXPIRY_SKEW: Duration = Duration::from_secs(30);

/// A token ready to send.
#[derive(Debug)]
pub struct Token {
    /// `Bearer …`, marked sensitive.
    pub header: HeaderValue,
    pub expires_at: SystemTime,
    refresh_at: Instant,
    usable_until: Instant,
}

impl Token {
    fn new(minted: &Minted) -> Result<Self, MintError> {
        let mut header = HeaderValue::from_str(&format!("Bearer {}", minted.secret.secret()))
            .map_err(|_| {
                MintError::new(
                    "the identity provider returned a token that is not a valid header value"
                        .to_owned(),
                )
            })?;
        header.set_sensitive(true);
        let now = Instant::now();
        let lifetime = minted
            .expires_at
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        if lifetime.is_zero() {
            return Err(MintError::new(
                "the identity provider returned a token that has already expired".to_owned(),
            ));
        }
        let refresh_margin = (lifetime / 2).min(MAX_REFRESH_MARGIN);
        let skew = (lifetime / 10).min(MAX_EXPIRY_SKEW);
        Ok(Self {
            header,
            expires_at: minted.expires_at,
            refresh_at: now + lifetime.saturating_sub(refresh_margin),
            usable_until: now + lifetime.saturating_sub(skew),
        })
    }

    fn usable(&self, now: Instant) -> bool {
        now < self.usable_until
    }
}

pub type Outcome = Result<Arc<Token>, Arc<MintError>>;

#[derive(Debug, Default)]
struct Flight {
    running: Option<watch::Receiver<Option<Outcome>>>,
    /// The last failure and when the next mint may start.
    failed: Option<(Instant, Arc<MintError>)>,
    failures: u32,
}

/// The token cache of one credential and scope.
#[derive(Debug)]
pub struct TokenSource {
    spec: Spec,
    transport: Arc<TokenTransport>,
    runtime: tokio::runtime::Handle,
    current: ArcSwapOption<Token>,
    flight: Mutex<Flight>,
}

enum Kick {
    Running(watch::Receiver<Option<Outcome>>),
    Failed(Arc<MintError>),
}

impl TokenSource {
    /// A new source; its refresh task starts at once on `runtime`, so the first token is on
    /// its way before the first request needs it.
    pub fn start(
        spec: Spec,
        transport: Arc<TokenTransport>,
        runtime: tokio::runtime::Handle,
    ) -> Arc<Self> {
        let source = Arc::new(Self {
            spec,
            transport,
            runtime: runtime.clone(),
            current: ArcSwapOption::empty(),
            flight: Mutex::new(Flight::default()),
        });
        runtime.spawn(keep_fresh(Arc::downgrade(&source)));
        source
    }

    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// A usable token, waiting (until `deadline`) only when there is none.
    pub async fn token(self: &Arc<Self>, deadline: Instant) -> Outcome {
        let now = Instant::now();
        if let Some(token) = self.current.load_full()
            && token.usable(now)
        {
            if now >= token.refresh_at {
                // Background refresh; this request goes on with the token it has.
                let _ = self.kick(false);
            }
            return Ok(token);
        }
        match self.kick(false) {
            Kick::Failed(err) => Err(err),
            Kick::Running(rx) => wait(rx, deadline).await,
        }
    }

    /// After the upstream refused `sent`: a different token, or `None` when none can be had
    /// (the caller then delivers the upstream's 401).
    pub async fn replace(
        self: &Arc<Self>,
        sent: &HeaderValue,
        deadline: Instant,
    ) -> Option<Arc<Token>> {
        if let Some(token) = self.current.load_full()
            && token.header != *sent
            && token.usable(Instant::now())
        {
            return Some(token);
        }
        // Drop the refused token only if it is still the current one.
        let refused = self.current.load_full();
        if refused.as_ref().is_some_and(|t| t.header == *sent) {
            self.current.compare_and_swap(&refused, None);
        }
        let rx = match self.kick(true) {
            Kick::Running(rx) => rx,
            Kick::Failed(_) => return None,
        };
        wait(rx, deadline).await.ok().filter(|t| t.header != *sent)
    }

    /// A fresh mint, whatever the cache holds (the admin API's verification).
    pub async fn verify(self: &Arc<Self>) -> Outcome {
        match self.kick(true) {
            Kick::Failed(err) => Err(err),
            Kick::Running(rx) => wait(rx, Instant::now() + MINT_WAIT).await,
        }
    }

    /// Joins the running mint or starts one. Without `force`, a recent failure is returned
    /// instead of minting again before its back-off ends.
    fn kick(self: &Arc<Self>, force: bool) -> Kick {
        let Ok(mut flight) = self.flight.lock() else {
            return Kick::Failed(Arc::new(MintError::new(
                "token cache lock poisoned".to_owned(),
            )));
        };
        if let Some(rx) = &flight.running {
            return Kick::Running(rx.clone());
        }
        if !force
            && let Some((until, err)) = &flight.failed
            && Instant::now() < *until
        {
            return Kick::Failed(Arc::clone(err));
        }
        let (tx, rx) = watch::channel(None);
        flight.running = Some(rx.clone());
        drop(flight);
        let source = Arc::clone(self);
        self.runtime.spawn(async move {
            let outcome = source.mint_once().await;
            source.settle(&outcome);
            let _ = tx.send(Some(outcome));
        });
        Kick::Running(rx)
    }

    async fn mint_once(&self) -> Outcome {
        let minted = match tokio::time::timeout(MINT_TIMEOUT, self.spec.mint(&self.transport)).await
        {
            Ok(result) => result,
            Err(_) => Err(MintError::new(format!(
                "no token within {} s",
                MINT_TIMEOUT.as_secs()
            ))),
        };
        minted
            .and_then(|m| Token::new(&m))
            .map(Arc::new)
            .map_err(Arc::new)
    }

    /// Records a mint's outcome: the new token, or the failure and its back-off.
    fn settle(&self, outcome: &Outcome) {
        if let Ok(token) = outcome {
            self.current.store(Some(Arc::clone(token)));
        }
        let Ok(mut flight) = self.flight.lock() else {
            return;
        };
        flight.running = None;
        match outcome {
            Ok(_) => {
                flight.failed = None;
                flight.failures = 0;
            }
            Err(err) => {
                let pause = FIRST_BACKOFF
                    .saturating_mul(2u32.saturating_pow(flight.failures.min(16)))
                    .min(MAX_BACKOFF);
                flight.failures = flight.failures.saturating_add(1);
                flight.failed = Some((Instant::now() + pause, Arc::clone(err)));
                // Once per failed mint (back-off bounds how often), with the provider's words.
                tracing::warn!(
                    credential = %self.spec.describe(),
                    error = %err,
                    retry_in_ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX),
                    "Entra ID token mint failed"
                );
            }
        }
    }

    /// When the refresh task should next act.
    fn next_wake(&self) -> Instant {
        let now = Instant::now();
        if let Ok(flight) = self.flight.lock()
            && let Some((until, _)) = &flight.failed
        {
            return (*until).max(now);
        }
        match self.current.load_full() {
            Some(token) if token.usable(now) => token.refresh_at.max(now),
            _ => now,
        }
    }
}

async fn wait(mut rx: watch::Receiver<Option<Outcome>>, deadline: Instant) -> Outcome {
    let waited = tokio::time::timeout_at(deadline, rx.wait_for(Option::is_some)).await;
    match waited {
        Ok(Ok(outcome)) => match &*outcome {
            Some(result) => result.clone(),
            None => Err(Arc::new(MintError::new(
                "token refresh ended without an answer".to_owned(),
            ))),
        },
        Ok(Err(_)) => Err(Arc::new(MintError::new(
            "token refresh was cancelled".to_owned(),
        ))),
        Err(_) => Err(Arc::new(MintError::new(
            "the request's time ran out while waiting for a token".to_owned(),
        ))),
    }
}

/// The proactive refresh loop of one source; ends once the source is dropped.
async fn keep_fresh(source: Weak<TokenSource>) {
    loop {
        let Some(strong) = source.upgrade() else {
            return;
        };
        let wake = strong.next_wake();
        drop(strong);
        tokio::time::sleep_until(wake).await;
        let Some(strong) = source.upgrade() else {
            return;
        };
        let rx = match strong.kick(false) {
            Kick::Running(rx) => rx,
            // Still backing off: `next_wake` says until when.
            Kick::Failed(_) => {
                drop(strong);
                continue;
            }
        };
        drop(strong);
        let _ = wait(rx, Instant::now() + MINT_WAIT).await;
    }
}
