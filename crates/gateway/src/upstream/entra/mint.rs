//! Minting one Entra ID token with `azure_identity`, for each credential kind.
//!
//! A fresh crate credential is built for every mint. The crate keeps its own token cache
//! (returning a cached token until five minutes before expiry); [`super::cache`] is the
//! gateway's cache, and a forced refresh after an upstream 401 must really ask the identity
//! provider again. Building a credential is cheap (no I/O), and a fresh workload identity
//! credential re-reads the projected token file, so a rotated file is always picked up.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::{ClientOptions, RetryOptions, Transport};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, ClientAssertionCredentialOptions,
    ClientSecretCredential, ClientSecretCredentialOptions, ManagedIdentityCredential,
    ManagedIdentityCredentialOptions, UserAssignedId, WorkloadIdentityCredential,
    WorkloadIdentityCredentialOptions,
};

use super::redact::redact;
use super::transport::TokenTransport;
use crate::config::{AuthConfig, AuthMode};

/// How long one step of the default chain may take when it would probe IMDS, which does not
/// answer at all off Azure (the other SDKs probe it with a similarly short timeout).
const IMDS_PROBE: Duration = Duration::from_secs(3);

/// A token as the cache keeps it.
#[derive(Debug, Clone)]
pub struct Minted {
    pub secret: Secret,
    pub expires_at: SystemTime,
}

/// Why no token came: the identity provider's or tool's text, secrets removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintError {
    pub message: String,
    /// The first `AADSTS…` code in the message, when the identity provider sent one.
    pub code: Option<String>,
}

impl MintError {
    pub fn new(message: String) -> Self {
        let code = aadsts_code(&message);
        Self { message, code }
    }
}

impl std::fmt::Display for MintError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn aadsts_code(text: &str) -> Option<String> {
    let at = text.find("AADSTS")?;
    let digits: String = text[at + 6..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (!digits.is_empty()).then(|| format!("AADSTS{digits}"))
}

/// The steps of the `default` chain, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Environment,
    Workload,
    Managed,
    Cli,
}

const CHAIN: [Step; 4] = [Step::Environment, Step::Workload, Step::Managed, Step::Cli];

impl Step {
    fn name(self) -> &'static str {
        match self {
            Self::Environment => "environment service principal",
            Self::Workload => "workload identity",
            Self::Managed => "managed identity",
            Self::Cli => "Azure CLI",
        }
    }
}

/// One credential's settings, resolved from its `auth` block.
#[derive(Debug)]
pub struct Spec {
    pub mode: AuthMode,
    tenant_id: String,
    client_id: String,
    client_secret: String,
    managed_identity_client_id: String,
    federated_token_file: String,
    authority_host: String,
    pub scope: String,
    /// The default chain's step that worked last, tried first next time.
    chosen: Mutex<Option<Step>>,
}

impl Spec {
    pub fn new(auth: &AuthConfig) -> Self {
        Self {
            mode: auth.mode,
            tenant_id: auth.tenant_id.trim().to_owned(),
            client_id: auth.client_id.trim().to_owned(),
            client_secret: auth.client_secret.clone(),
            managed_identity_client_id: auth.managed_identity_client_id.trim().to_owned(),
            federated_token_file: auth.federated_token_file.trim().to_owned(),
            authority_host: auth.authority_host.trim().to_owned(),
            scope: auth.scope.trim().to_owned(),
            chosen: Mutex::new(None),
        }
    }

    /// What identifies this credential, for the cache key (the secret is hashed by the caller).
    pub fn identity(&self) -> [&str; 8] {
        [
            self.mode.as_str(),
            &self.tenant_id,
            &self.client_id,
            &self.client_secret,
            &self.managed_identity_client_id,
            &self.federated_token_file,
            &self.authority_host,
            &self.scope,
        ]
    }

    /// A one-line description for logs and the admin API (never the secret).
    pub fn describe(&self) -> String {
        let mut parts = vec![self.mode.as_str().to_owned()];
        let mut add = |k: &str, v: &str| {
            if !v.is_empty() {
                parts.push(format!("{k}={v}"));
            }
        };
        add("tenant", &self.tenant_id);
        add("client", &self.client_id);
        add("identity", &self.managed_identity_client_id);
        add("authority", &self.authority_host);
        add("scope", &self.scope);
        parts.join(" ")
    }

    /// Values that must never appear in a log line or an error message.
    fn secrets(&self) -> Vec<String> {
        let mut secrets = vec![self.client_secret.clone()];
        for var in ["AZURE_CLIENT_SECRET", "IDENTITY_HEADER", "MSI_SECRET"] {
            if let Ok(v) = std::env::var(var) {
                secrets.push(v);
            }
        }
        secrets
    }

    /// One token for this credential's scope.
    pub async fn mint(&self, transport: &Arc<TokenTransport>) -> Result<Minted, MintError> {
        let credential = match self.mode {
            AuthMode::ServicePrincipal if !self.client_secret.is_empty() => secret_credential(
                &self.tenant_id,
                &self.client_id,
                &self.client_secret,
                self.options(transport),
            ),
            // Seed semantics: a service principal without a secret uses the default chain.
            AuthMode::ServicePrincipal | AuthMode::DefaultChain => {
                return self.chain(transport).await;
            }
            AuthMode::ManagedIdentity => {
                managed(&self.managed_identity_client_id, self.options(transport))
            }
            AuthMode::WorkloadIdentity => self.workload(transport),
            AuthMode::AzureCli => cli(&self.tenant_id),
            other => Err(format!("{} is not an Entra ID credential", other.as_str())),
        }
        .map_err(|e| self.error(e))?;
        self.token(credential.as_ref()).await
    }

    async fn token(&self, credential: &dyn TokenCredential) -> Result<Minted, MintError> {
        match credential.get_token(&[self.scope.as_str()], None).await {
            Ok(token) => Ok(Minted {
                secret: token.token,
                expires_at: system_time(token.expires_on.unix_timestamp()),
            }),
            Err(e) => Err(self.error(e.to_string())),
        }
    }

    fn error(&self, message: String) -> MintError {
        let secrets = self.secrets();
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        MintError::new(redact(message.trim(), &secrets))
    }

    fn options(&self, transport: &Arc<TokenTransport>) -> ClientOptions {
        let mut options = ClientOptions {
            transport: Some(Transport::new(Arc::clone(transport) as _)),
            // The cache retries with back-off; a retry inside the crate would hold the
            // requests waiting on this mint for its whole back-off schedule.
            retry: RetryOptions::none(),
            ..ClientOptions::default()
        };
        if !self.authority_host.is_empty() {
            let mut custom = CustomConfiguration::default();
            custom.authority_host = self.authority_host.clone();
            options.cloud = Some(Arc::new(CloudConfiguration::from(custom)));
        }
        options
    }

    /// The projected token file: from config, else the AKS webhook's variable.
    fn federated_token_file(&self) -> Option<String> {
        pick(&self.federated_token_file, "AZURE_FEDERATED_TOKEN_FILE")
    }

    /// Workload identity from config, else the AKS webhook's variables.
    fn workload(
        &self,
        transport: &Arc<TokenTransport>,
    ) -> Result<Arc<dyn TokenCredential>, String> {
        let options = WorkloadIdentityCredentialOptions {
            credential_options: ClientAssertionCredentialOptions {
                client_options: self.options(transport),
            },
            client_id: pick(&self.client_id, "AZURE_CLIENT_ID"),
            tenant_id: pick(&self.tenant_id, "AZURE_TENANT_ID"),
            token_file_path: self.federated_token_file().map(PathBuf::from),
        };
        WorkloadIdentityCredential::new(Some(options))
            .map(|c| c as Arc<dyn TokenCredential>)
            .map_err(|e| e.to_string())
    }

    /// The `default` chain: each step in order (the last one that worked first), and an error
    /// that says what every step answered when none works.
    async fn chain(&self, transport: &Arc<TokenTransport>) -> Result<Minted, MintError> {
        let chosen = self.chosen.lock().ok().and_then(|c| *c);
        let order = chosen
            .into_iter()
            .chain(CHAIN.into_iter().filter(|s| Some(*s) != chosen));
        let mut said = Vec::with_capacity(CHAIN.len());
        for step in order {
            match self.step(step, transport).await {
                Ok(minted) => {
                    if let Ok(mut c) = self.chosen.lock() {
                        *c = Some(step);
                    }
                    return Ok(minted);
                }
                Err(e) => said.push(format!("{}: {}", step.name(), e.message)),
            }
        }
        Err(MintError::new(format!(
            "no credential in the default chain worked; {}",
            said.join("; ")
        )))
    }

    async fn step(&self, step: Step, transport: &Arc<TokenTransport>) -> Result<Minted, MintError> {
        let env = |var: &str| pick("", var);
        let credential: Arc<dyn TokenCredential> = match step {
            Step::Environment => {
                let (Some(tenant), Some(client), Some(secret)) = (
                    env("AZURE_TENANT_ID"),
                    env("AZURE_CLIENT_ID"),
                    env("AZURE_CLIENT_SECRET"),
                ) else {
                    return Err(MintError::new(
                        "not configured (AZURE_TENANT_ID, AZURE_CLIENT_ID and \
                         AZURE_CLIENT_SECRET are not all set)"
                            .to_owned(),
                    ));
                };
                secret_credential(&tenant, &client, &secret, self.options(transport))
                    .map_err(|e| self.error(e))?
            }
            Step::Workload => {
                if self.federated_token_file().is_none() {
                    return Err(MintError::new(
                        "not configured (AZURE_FEDERATED_TOKEN_FILE is not set)".to_owned(),
                    ));
                }
                self.workload(transport).map_err(|e| self.error(e))?
            }
            Step::Managed => {
                // As in the other SDKs' default chains, AZURE_CLIENT_ID picks a user-assigned
                // identity.
                let id =
                    pick(&self.managed_identity_client_id, "AZURE_CLIENT_ID").unwrap_or_default();
                let credential =
                    managed(&id, self.options(transport)).map_err(|e| self.error(e))?;
                let probing = env("IDENTITY_ENDPOINT").is_none() && env("MSI_ENDPOINT").is_none();
                if probing {
                    return match tokio::time::timeout(IMDS_PROBE, self.token(credential.as_ref()))
                        .await
                    {
                        Ok(result) => result,
                        Err(_) => Err(MintError::new(format!(
                            "no managed identity endpoint (IMDS did not answer within {} s)",
                            IMDS_PROBE.as_secs()
                        ))),
                    };
                }
                credential
            }
            Step::Cli => cli(&self.tenant_id).map_err(|e| self.error(e))?,
        };
        self.token(credential.as_ref()).await
    }
}

fn secret_credential(
    tenant: &str,
    client: &str,
    secret: &str,
    client_options: ClientOptions,
) -> Result<Arc<dyn TokenCredential>, String> {
    ClientSecretCredential::new(
        tenant,
        client.to_owned(),
        Secret::new(secret.to_owned()),
        Some(ClientSecretCredentialOptions { client_options }),
    )
    .map(|c| c as Arc<dyn TokenCredential>)
    .map_err(|e| e.to_string())
}

/// `own` when set, else the environment variable `var` when set.
fn pick(own: &str, var: &str) -> Option<String> {
    Some(own.to_owned())
        .filter(|v| !v.is_empty())
        .or_else(|| std::env::var(var).ok().filter(|v| !v.trim().is_empty()))
}

fn managed(
    client_id: &str,
    client_options: ClientOptions,
) -> Result<Arc<dyn TokenCredential>, String> {
    let options = ManagedIdentityCredentialOptions {
        user_assigned_id: (!client_id.is_empty())
            .then(|| UserAssignedId::ClientId(client_id.to_owned())),
        client_options,
    };
    ManagedIdentityCredential::new(Some(options))
        .map(|c| c as Arc<dyn TokenCredential>)
        .map_err(|e| e.to_string())
}

fn cli(tenant: &str) -> Result<Arc<dyn TokenCredential>, String> {
    let options = AzureCliCredentialOptions {
        tenant_id: (!tenant.is_empty()).then(|| tenant.to_owned()),
        ..AzureCliCredentialOptions::default()
    };
    AzureCliCredential::new(Some(options))
        .map(|c| c as Arc<dyn TokenCredential>)
        .map_err(|e| e.to_string())
}

fn system_time(unix: i64) -> SystemTime {
    match u64::try_from(unix) {
        Ok(secs) => SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
        Err(_) => SystemTime::UNIX_EPOCH,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aadsts_codes_are_found() {
        let e = MintError::new(
            "ClientSecretCredential authentication failed. AADSTS7000215: Invalid client secret."
                .to_owned(),
        );
        assert_eq!(e.code.as_deref(), Some("AADSTS7000215"));
        assert_eq!(MintError::new("connection refused".to_owned()).code, None);
        assert_eq!(MintError::new("AADSTS: x".to_owned()).code, None);
    }

    #[test]
    fn descriptions_never_carry_the_secret() {
        let spec = Spec::new(&AuthConfig {
            mode: AuthMode::ServicePrincipal,
            tenant_id: "t1".to_owned(),
            client_id: "c1".to_owned(),
            client_secret: "very-secret".to_owned(),
            ..AuthConfig::default()
        });
        let text = spec.describe();
        assert_eq!(
            text,
            "servicePrincipal tenant=t1 client=c1 scope=https://cognitiveservices.azure.com/.default"
        );
        let err = spec.error("echo: client_secret=very-secret".to_owned());
        assert!(!err.message.contains("very-secret"), "{}", err.message);
    }
}
