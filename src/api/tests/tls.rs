//! HTTPS: with a certificate and key the API speaks TLS only, a client that trusts the
//! certificate is served, the connection layer's JSON refusals still come back inside TLS, and
//! a plain HTTP client gets no HTTP reply.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use super::*;
use crate::config::tests::api::self_signed;

const WAIT: Duration = Duration::from_secs(10);
const STATUS: &[u8] = b"GET /v1/status HTTP/1.1\r\nHost: baton\r\nConnection: close\r\n\r\n";

/// The API over TLS on a loopback port, and a client configuration trusting its certificate.
async fn serve_tls() -> (
    std::net::SocketAddr,
    oneshot::Sender<()>,
    tokio_rustls::TlsConnector,
) {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path(), &["localhost"]);
    let api = crate::config::Api {
        tls_cert: Some(cert.clone()),
        tls_key: Some(key),
        ..Default::default()
    };
    let options = ServeOptions::from_config(&api).unwrap();
    assert!(options.tls.is_some());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (app, _backend) = app();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(serve(listener, app, options, async {
        let _ = stopped.await;
    }));
    let pem = std::fs::read(&cert).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for der in rustls::pki_types::pem::PemObject::pem_slice_iter(&pem) {
        let der: CertificateDer<'static> = der.unwrap();
        roots.add(der).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (
        addr,
        stop,
        tokio_rustls::TlsConnector::from(Arc::new(client)),
    )
}

/// Send `request` over TLS and read the reply to the close.
async fn exchange_tls(
    addr: std::net::SocketAddr,
    connector: &tokio_rustls::TlsConnector,
    request: &[u8],
) -> String {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = tokio::time::timeout(WAIT, connector.connect(name, tcp))
        .await
        .unwrap()
        .expect("the TLS handshake");
    tls.write_all(request).await.unwrap();
    let mut out = Vec::new();
    // A server closing without close_notify would be an error here; it sends one.
    tokio::time::timeout(WAIT, tls.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn with_a_certificate_the_api_speaks_https_only() {
    let (addr, stop, connector) = serve_tls().await;
    let reply = exchange_tls(addr, &connector, STATUS).await;
    assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
    assert!(reply.contains("\"asn\""), "{reply}");

    // hyper's own refusal, inside TLS, is still the API's JSON error.
    let reply = exchange_tls(addr, &connector, b"NOT HTTP AT ALL\r\n\r\n").await;
    assert!(reply.starts_with("HTTP/1.1 400 "), "{reply}");
    assert!(reply.contains("\"code\":\"malformed_request\""), "{reply}");

    // Plain HTTP: the handshake fails and no HTTP reply comes back.
    let mut plain = TcpStream::connect(addr).await.unwrap();
    plain.write_all(STATUS).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(WAIT, plain.read_to_end(&mut out))
        .await
        .expect("the server closes a plain HTTP connection");
    assert!(
        !out.starts_with(b"HTTP/"),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
    let _ = stop.send(());
}
