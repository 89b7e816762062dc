//! [`TestCa`]: a throw-away certificate authority and a leaf for `127.0.0.1` / `localhost`.
//!
//! `azure_identity` refuses an authority host that is not `https`, so the mock STS needs
//! TLS that a client can be told to trust. Generating the CA at run time (rcgen) keeps
//! private keys out of the repository and gives every test run its own trust root.

use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A CA and a leaf certificate for `127.0.0.1` and `localhost`, generated at run time.
#[derive(Clone)]
pub struct TestCa {
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    server: Arc<ServerConfig>,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

/// Maps an rcgen error to a message naming the step that failed.
fn err(what: &'static str) -> impl Fn(rcgen::Error) -> String {
    move |e| format!("test CA: {what}: {e}")
}

fn named(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, "mock-azure");
    name.push(DnType::CommonName, common_name);
    name
}

impl TestCa {
    /// A fresh CA (ECDSA P-256) and a leaf it signed, with a rustls server config
    /// (ring provider, h2 and http/1.1) that presents the leaf and the CA.
    pub fn generate() -> Result<TestCa, String> {
        let ca_key = KeyPair::generate().map_err(err("CA key"))?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err("CA"))?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name = named("mock-azure test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).map_err(err("CA"))?;

        let leaf_key = KeyPair::generate().map_err(err("leaf key"))?;
        let names = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
        let mut leaf_params = CertificateParams::new(names).map_err(err("leaf"))?;
        leaf_params.distinguished_name = named("127.0.0.1");
        leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let issuer = Issuer::from_params(&ca_params, &ca_key);
        let leaf_cert = leaf_params
            .signed_by(&leaf_key, &issuer)
            .map_err(err("leaf"))?;

        let ca_der = ca_cert.der().clone();
        let chain = vec![leaf_cert.der().clone(), ca_der.clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("test CA: TLS versions: {e}"))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| format!("test CA: server certificate: {e}"))?;
        server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(TestCa {
            ca_pem: ca_cert.pem(),
            ca_der,
            server: Arc::new(server),
        })
    }

    /// The CA certificate, PEM (what `SSL_CERT_FILE` or `add_root_certificate` takes).
    pub fn ca_pem(&self) -> String {
        self.ca_pem.clone()
    }

    /// The CA certificate, DER (what a rustls `RootCertStore` takes).
    pub fn ca_der(&self) -> CertificateDer<'static> {
        self.ca_der.clone()
    }

    /// Writes [`ca_pem`](Self::ca_pem) to `path`.
    pub fn write_ca_pem(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, &self.ca_pem)
    }

    /// The rustls server configuration presenting the leaf.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.server)
    }
}
