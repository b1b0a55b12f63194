//! HTTPS for the REST API: `[api] tls_cert` and `tls_key`, PEM files read into a rustls
//! server configuration.
//!
//! A bearer token sent in clear is only as secret as the network between the client and
//! batond. With both keys set the API speaks HTTPS only (TLS 1.2 and 1.3, rustls with the ring
//! provider); one without the other, or a file that cannot be read or holds no certificate or
//! key, is a configuration error at that key's line, so batond never falls back to plain HTTP.

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::schema::Api;

/// A failed TLS check: the `[api]` key to blame and what is wrong.
pub type TlsFailure = (&'static str, String);

impl Api {
    /// The API's TLS server configuration from [`tls_cert`](Self::tls_cert) and
    /// [`tls_key`](Self::tls_key); `Ok(None)` when neither is set. Errs with the key to blame
    /// if only one is set, a file cannot be read or parsed, or the key does not suit the
    /// certificate.
    pub fn tls_config(&self) -> Result<Option<Arc<ServerConfig>>, TlsFailure> {
        let (cert, key) = match (&self.tls_cert, &self.tls_key) {
            (None, None) => return Ok(None),
            (Some(_), None) => {
                return Err((
                    "tls_cert",
                    "needs [api] tls_key too (its private key)".into(),
                ))
            }
            (None, Some(_)) => {
                return Err((
                    "tls_key",
                    "needs [api] tls_cert too (its certificate)".into(),
                ))
            }
            (Some(cert), Some(key)) => (cert, key),
        };
        let chain = read_chain(cert).map_err(|m| ("tls_cert", m))?;
        let key = read_key(key).map_err(|m| ("tls_key", m))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ("tls_cert", format!("cannot set up TLS: {e}")))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| {
                (
                    "tls_key",
                    format!("does not suit the certificate in {}: {e}", cert.display()),
                )
            })?;
        Ok(Some(Arc::new(config)))
    }
}

/// The certificates of a PEM file, leaf first.
fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let text = read(path, "certificate")?;
    let chain = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{} is not a PEM certificate file: {e}", path.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(chain)
}

/// The private key of a PEM file (PKCS#8, PKCS#1 or SEC1).
fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let text = read(path, "private key")?;
    PrivateKeyDer::from_pem_slice(&text)
        .map_err(|e| format!("{} holds no PEM private key: {e}", path.display()))
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read the {what} file {}: {e}", path.display()))
}
