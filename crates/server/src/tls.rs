//! HTTPS: rustls with the ring provider, a certificate that reloads when its
//! PEM files change (no restart), and self-signed development certificates.

use anyhow::{anyhow, Context as _};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

/// Where the certificate chain and its private key are read from (PEM).
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn load(files: &TlsFiles) -> anyhow::Result<CertifiedKey> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .with_context(|| format!("reading certificate {}", files.cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("parsing certificate {}", files.cert.display()))?;
    if certs.is_empty() {
        return Err(anyhow!("no certificate in {}", files.cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| format!("reading private key {}", files.key.display()))?;
    let signing = provider().key_provider.load_private_key(key).map_err(|e| anyhow!("unusable private key: {e}"))?;
    Ok(CertifiedKey::new(certs, signing))
}

fn modified(files: &TlsFiles) -> Option<(SystemTime, SystemTime)> {
    let m = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    Some((m(&files.cert)?, m(&files.key)?))
}

/// Serves the current certificate; [`CertReloader::watch`] swaps it in place
/// when the files change, so new handshakes get the new certificate while
/// open connections carry on.
#[derive(Debug)]
pub struct CertReloader {
    files: TlsFiles,
    current: RwLock<Arc<CertifiedKey>>,
    stamp: RwLock<Option<(SystemTime, SystemTime)>>,
}

impl ResolvesServerCert for CertReloader {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|c| c.clone())
    }
}

impl CertReloader {
    /// Loads the files once; fails when they are missing or invalid.
    pub fn new(files: TlsFiles) -> anyhow::Result<Arc<Self>> {
        let key = load(&files)?;
        let stamp = modified(&files);
        Ok(Arc::new(CertReloader { files, current: RwLock::new(Arc::new(key)), stamp: RwLock::new(stamp) }))
    }

    /// Reloads when the files' modification times changed. A broken new pair
    /// is logged and the previous certificate stays in service.
    pub fn reload_if_changed(&self) -> bool {
        let now = modified(&self.files);
        if now.is_none() || self.stamp.read().map(|s| *s == now).unwrap_or(true) {
            return false;
        }
        match load(&self.files) {
            Ok(key) => {
                if let (Ok(mut cur), Ok(mut stamp)) = (self.current.write(), self.stamp.write()) {
                    *cur = Arc::new(key);
                    *stamp = now;
                }
                tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "TLS certificate changed but could not be loaded; keeping the previous one");
                false
            }
        }
    }

    /// Checks the files every `every` until the task is dropped.
    pub async fn watch(self: Arc<Self>, every: Duration) {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            self.reload_if_changed();
        }
    }

    /// The rustls server configuration (HTTP/1.1) using this resolver.
    pub fn server_config(self: &Arc<Self>) -> anyhow::Result<Arc<rustls::ServerConfig>> {
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| anyhow!("TLS configuration: {e}"))?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(cfg))
    }
}

/// Writes a self-signed certificate for `names` (DNS names or IP addresses)
/// to `dir/cert.pem` and `dir/key.pem` (the key readable by its owner only).
pub fn generate_self_signed(dir: &Path, names: &[String]) -> anyhow::Result<TlsFiles> {
    let names = if names.is_empty() { vec!["localhost".to_string(), "127.0.0.1".to_string()] } else { names.to_vec() };
    let cert = rcgen::generate_simple_self_signed(names).context("generating the certificate")?;
    std::fs::create_dir_all(dir)?;
    let files = TlsFiles { cert: dir.join("cert.pem"), key: dir.join("key.pem") };
    std::fs::write(&files.cert, cert.cert.pem())?;
    write_private(&files.key, cert.signing_key.serialize_pem().as_bytes())?;
    Ok(files)
}

fn write_private(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(data)?;
    f.sync_all()?;
    Ok(())
}
