//! A fixed pool of read-only connections used from blocking threads.

use coffer_meta::MetaError;
use rusqlite::Connection;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// Read connections; at most one query per connection at a time.
pub struct Readers {
    conns: Arc<Mutex<Vec<Connection>>>,
    permits: Arc<Semaphore>,
}

impl Readers {
    pub fn new(conns: Vec<Connection>) -> Self {
        let n = conns.len();
        Readers { conns: Arc::new(Mutex::new(conns)), permits: Arc::new(Semaphore::new(n)) }
    }

    /// Runs a point lookup (one indexed row, or a few) on a free read
    /// connection right here on the async worker. Such a query takes
    /// microseconds on the page cache, less than the hand-off to a blocking
    /// thread it saves; scans go through [`Readers::run`]. Waits for a free
    /// connection like `run`.
    pub async fn point<T, F>(&self, f: F) -> Result<T, MetaError>
    where
        F: FnOnce(&Connection) -> Result<T, MetaError>,
    {
        let _permit = self.permits.acquire().await.map_err(|_| MetaError::Corrupt("reader pool closed".into()))?;
        let conn = self
            .conns
            .lock()
            .map_err(|_| MetaError::Corrupt("reader pool poisoned".into()))?
            .pop()
            .ok_or_else(|| MetaError::Corrupt("reader pool empty".into()))?;
        let res = f(&conn);
        if let Ok(mut v) = self.conns.lock() {
            v.push(conn);
        }
        res
    }

    /// Runs `f` on a free read connection in a blocking thread.
    pub async fn run<T, F>(&self, f: F) -> Result<T, MetaError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, MetaError> + Send + 'static,
    {
        let permit =
            self.permits.clone().acquire_owned().await.map_err(|_| MetaError::Corrupt("reader pool closed".into()))?;
        let conns = self.conns.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let conn = conns
                .lock()
                .map_err(|_| MetaError::Corrupt("reader pool poisoned".into()))?
                .pop()
                .ok_or_else(|| MetaError::Corrupt("reader pool empty".into()))?;
            let res = f(&conn);
            if let Ok(mut v) = conns.lock() {
                v.push(conn);
            }
            res
        })
        .await
        .map_err(|e| MetaError::Corrupt(format!("reader task failed: {e}")))?
    }
}
