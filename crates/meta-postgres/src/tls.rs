//! TLS to PostgreSQL on rustls.
//!
//! With `sslmode=require` in the connection string the connection is
//! encrypted **and** the server's certificate is verified (its chain against
//! [`PgTls::ca_file`] or, without one, the system's roots; its name against
//! the host connected to). This is stricter than libpq's `require` (which
//! does not verify) on purpose: an unverified TLS connection carries the
//! password to whoever answers. With `sslmode=disable` or `prefer` (the
//! default) no TLS is attempted. Unix-socket connections never use TLS.

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};

/// Where the roots that PostgreSQL's certificate must chain to come from.
#[derive(Clone, Debug, Default)]
pub struct PgTls {
    /// A PEM file of CA certificates; `None`: the system's roots.
    pub ca_file: Option<PathBuf>,
}

/// The system's CA bundle on Debian and derivatives (the `ca-certificates` package).
const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Why the TLS settings could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("reading CA certificates from {0}: {1}")]
    Read(PathBuf, String),
    #[error("no CA certificate in {0}")]
    Empty(PathBuf),
    #[error("a CA certificate in {0} is unusable: {1}")]
    Bad(PathBuf, rustls::Error),
}

impl PgTls {
    /// A connector that verifies against the configured roots.
    pub fn connector(&self) -> Result<RustlsMakeConnect, TlsSetupError> {
        let path = self.ca_file.clone().unwrap_or_else(|| PathBuf::from(SYSTEM_ROOTS));
        let mut roots = rustls::RootCertStore::empty();
        for cert in read_certs(&path)? {
            roots.add(cert).map_err(|e| TlsSetupError::Bad(path.clone(), e))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsSetupError::Bad(path.clone(), e))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(RustlsMakeConnect(Arc::new(config)))
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| TlsSetupError::Read(path.to_owned(), e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsSetupError::Read(path.to_owned(), e.to_string()))?;
    if certs.is_empty() {
        return Err(TlsSetupError::Empty(path.to_owned()));
    }
    Ok(certs)
}

/// Makes a verifying TLS connector for each host tokio-postgres connects to.
#[derive(Clone)]
pub struct RustlsMakeConnect(Arc<rustls::ClientConfig>);

impl<S> MakeTlsConnect<S> for RustlsMakeConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnect, io::Error> {
        let name = ServerName::try_from(domain.to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{domain:?} as a TLS name: {e}")))?;
        Ok(RustlsConnect { config: self.0.clone(), name })
    }
}

/// One TLS handshake with one host.
pub struct RustlsConnect {
    config: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
}

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let tls = tokio_rustls::TlsConnector::from(self.config).connect(self.name, stream).await?;
            Ok(RustlsStream(tls))
        })
    }
}

/// An established TLS connection to PostgreSQL.
pub struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> tokio_postgres::tls::TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        // SCRAM without channel binding; the certificate check above is what
        // keeps a man in the middle out.
        ChannelBinding::none()
    }
}
