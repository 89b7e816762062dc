//! `POST /admin/api/verify-auth`: mints a fresh token for every Entra ID upstream and reports,
//! per upstream, whether it worked — with the token's expiry, or the identity provider's error
//! (its `AADSTS…` code when there is one). Never the token. Upstreams sharing a credential are
//! checked once. A fresh token replaces the cached one, so a fix shows up at once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use azure_core::time::{OffsetDateTime, to_rfc3339};
use futures_util::future::join_all;
use serde::Serialize;

use crate::config::Config;
use crate::state::Runtime;
use crate::upstream::entra::{Outcome, TokenSource};

#[derive(Debug, Serialize)]
pub struct VerifyView {
    /// Every Entra ID credential produced a token.
    pub ok: bool,
    pub upstreams: Vec<UpstreamCheck>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpstreamCheck {
    pub name: String,
    /// The `auth.mode` in force.
    pub credential: &'static str,
    /// `ok`, `failed`, or `static` (a key or fixed token: nothing to mint).
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
}

fn mode_of(config: &Config, name: &str) -> &'static str {
    config
        .upstreams
        .iter()
        .find(|u| u.name == name)
        .map_or(config.auth.mode, |u| {
            u.auth.as_ref().unwrap_or(&config.auth).mode
        })
        .as_str()
}

fn static_detail(mode: &str) -> &'static str {
    match mode {
        "passthrough" => "the client's own key is forwarded; checked by the upstream on use",
        "none" => "no credential is sent",
        _ => "a configured key or token; checked by the upstream on use",
    }
}

pub async fn verify(rt: &Runtime) -> VerifyView {
    // One fresh mint per distinct source.
    let mut distinct: Vec<Arc<TokenSource>> = Vec::new();
    for u in &rt.upstreams {
        if let Some(s) = u.credential.entra()
            && !distinct.iter().any(|d| Arc::ptr_eq(d, s))
        {
            distinct.push(Arc::clone(s));
        }
    }
    let outcomes = join_all(distinct.iter().map(|s| s.verify())).await;
    let results: HashMap<*const TokenSource, Outcome> =
        distinct.iter().map(Arc::as_ptr).zip(outcomes).collect();
    let mut ok = true;
    let upstreams = rt
        .upstreams
        .iter()
        .map(|u| {
            let credential = mode_of(&rt.config, &u.name);
            let Some(source) = u.credential.entra() else {
                return UpstreamCheck {
                    name: u.name.to_string(),
                    credential,
                    status: "static",
                    detail: Some(static_detail(credential).to_owned()),
                    ..UpstreamCheck::default()
                };
            };
            let mut check = UpstreamCheck {
                name: u.name.to_string(),
                credential,
                status: "ok",
                scope: Some(source.spec().scope.clone()),
                detail: Some(source.spec().describe()),
                ..UpstreamCheck::default()
            };
            match results.get(&Arc::as_ptr(source)) {
                Some(Ok(token)) => {
                    check.expires_at = Some(to_rfc3339(&OffsetDateTime::from(token.expires_at)));
                    check.expires_in_seconds = Some(
                        token
                            .expires_at
                            .duration_since(SystemTime::now())
                            .unwrap_or_default()
                            .as_secs(),
                    );
                }
                Some(Err(err)) => {
                    ok = false;
                    check.status = "failed";
                    check.error = Some(err.message.clone());
                    check.error_code = err.code.clone();
                }
                None => {
                    ok = false;
                    check.status = "failed";
                    check.error = Some("not checked".to_owned());
                }
            }
            check
        })
        .collect();
    VerifyView { ok, upstreams }
}
