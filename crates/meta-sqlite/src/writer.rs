//! The writer thread and its group commit.
//!
//! Mutations are queued as jobs. The thread takes every job waiting (up to
//! [`MAX_BATCH`]), runs each in its own savepoint inside one `BEGIN IMMEDIATE`
//! transaction, commits once, and only then answers each caller. A job whose
//! savepoint failed is rolled back alone; a failed `COMMIT` fails the batch.

use coffer_meta::MetaError;
use rusqlite::Connection;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// How many jobs and commits the writer has done: jobs per commit is the
/// group-commit factor.
#[derive(Debug, Default)]
pub struct WriterStats {
    pub jobs: AtomicU64,
    pub commits: AtomicU64,
}

/// Most jobs applied in one transaction.
const MAX_BATCH: usize = 512;
/// Queue depth before callers wait (back-pressure).
const QUEUE: usize = 4096;

trait Job: Send {
    fn run(&mut self, conn: &Connection);
    fn finish(self: Box<Self>, commit: Result<(), &rusqlite::Error>);
}

struct TypedJob<T, F> {
    f: Option<F>,
    result: Option<Result<T, MetaError>>,
    reply: oneshot::Sender<Result<T, MetaError>>,
}

impl<T: Send, F: FnOnce(&Connection) -> Result<T, MetaError> + Send> Job for TypedJob<T, F> {
    fn run(&mut self, conn: &Connection) {
        let Some(f) = self.f.take() else { return };
        let res = match conn.execute_batch("SAVEPOINT job") {
            Err(e) => Err(super::sql_err(e)),
            Ok(()) => {
                let r = f(conn);
                let end = if r.is_ok() { "RELEASE job" } else { "ROLLBACK TO job; RELEASE job" };
                match conn.execute_batch(end) {
                    Ok(()) => r,
                    Err(e) => Err(super::sql_err(e)),
                }
            }
        };
        self.result = Some(res);
    }

    fn finish(self: Box<Self>, commit: Result<(), &rusqlite::Error>) {
        let res = match (commit, self.result) {
            (_, None) => Err(MetaError::Corrupt("job was not run".into())),
            (Ok(()), Some(r)) => r,
            (Err(_), Some(Err(e))) => Err(e),
            (Err(e), Some(Ok(_))) => Err(super::sql_err(clone_err(e))),
        };
        let _ = self.reply.send(res);
    }
}

fn clone_err(e: &rusqlite::Error) -> rusqlite::Error {
    match e {
        rusqlite::Error::SqliteFailure(f, m) => rusqlite::Error::SqliteFailure(*f, m.clone()),
        other => rusqlite::Error::InvalidParameterName(other.to_string()),
    }
}

/// Handle to the writer thread.
pub struct Writer {
    tx: mpsc::Sender<Box<dyn Job>>,
    pub stats: Arc<WriterStats>,
}

impl Writer {
    /// Starts the thread that owns `conn`.
    pub fn start(conn: Connection) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let stats = Arc::new(WriterStats::default());
        let s = stats.clone();
        std::thread::Builder::new()
            .name("coffer-sqlite-writer".into())
            .spawn(move || run_loop(conn, rx, &s))
            .expect("spawning the SQLite writer thread");
        Writer { tx, stats }
    }

    /// Runs `f` in the next batch and returns its result once durable.
    pub async fn run<T, F>(&self, f: F) -> Result<T, MetaError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, MetaError> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let job: Box<dyn Job> = Box::new(TypedJob { f: Some(f), result: None, reply });
        self.tx.send(job).await.map_err(|_| MetaError::Corrupt("SQLite writer thread has stopped".into()))?;
        rx.await.map_err(|_| MetaError::Corrupt("SQLite writer dropped a job".into()))?
    }
}

fn run_loop(conn: Connection, mut rx: mpsc::Receiver<Box<dyn Job>>, stats: &WriterStats) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        // A panic in a job must not end the thread (every later write would
        // fail): the batch is rolled back and failed, and the thread goes on.
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            conn.execute_batch("BEGIN IMMEDIATE").and_then(|()| {
                for job in batch.iter_mut() {
                    job.run(&conn);
                }
                conn.execute_batch("COMMIT")
            })
        }));
        let commit = ran.unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(panic = %what, jobs = batch.len(), "metadata writer job panicked; batch failed");
            Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_INTERNAL),
                Some(format!("metadata writer job panicked: {what}")),
            ))
        });
        stats.jobs.fetch_add(batch.len() as u64, Ordering::Relaxed);
        stats.commits.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = &commit {
            tracing::error!(error = %e, jobs = batch.len(), "metadata batch commit failed");
            let _ = conn.execute_batch("ROLLBACK");
        }
        for job in batch.drain(..) {
            job.finish(commit.as_ref().map(|_| ()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_job_fails_alone_and_the_writer_goes_on() {
        let w = Writer::start(Connection::open_in_memory().unwrap());
        w.run(|c| c.execute_batch("CREATE TABLE t (x INTEGER)").map_err(super::super::sql_err)).await.unwrap();
        let r: Result<(), MetaError> = w.run(|_| panic!("boom")).await;
        assert!(r.is_err());
        let n = w
            .run(|c| {
                c.execute("INSERT INTO t VALUES (1)", []).map_err(super::super::sql_err)?;
                c.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0)).map_err(super::super::sql_err)
            })
            .await
            .unwrap();
        assert_eq!(n, 1);
    }
}
