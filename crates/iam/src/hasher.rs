//! The password worker: Argon2id hashing and verification (about 19 MiB of
//! memory and tens of milliseconds of CPU each) run on a few threads of
//! their own, never on tokio's shared blocking pool, so a flood of console
//! sign-ins cannot take the threads that metadata reads (listings) use, nor
//! the reverse.
//!
//! At most [`THREADS`] jobs run at once, so password work never holds more
//! than `THREADS` × 19 MiB. A sign-in waits at most [`SIGNIN_WAIT`] for a free
//! slot, then gives up without hashing ([`Busy`]); administrative
//! password changes wait as long as it takes. The counters
//! ([`PasswordStats`]) let tests and operators check the bound.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

/// How many password jobs run at once (one thread each).
pub const THREADS: usize = 2;
/// How long a sign-in waits for a free slot before it is refused.
pub const SIGNIN_WAIT: Duration = Duration::from_millis(500);

/// What the password worker has done so far (since this [`crate::Iam`] was made).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PasswordStats {
    /// The most jobs to run at once (the bound).
    pub limit: usize,
    /// The most jobs seen running at once.
    pub peak: usize,
    /// Jobs run (each one Argon2id hash or verification).
    pub jobs: u64,
    /// Sign-ins refused because no slot freed up in time (nothing hashed).
    pub refused: u64,
}

/// No slot freed up within the wait; nothing was hashed.
#[derive(Debug)]
pub(crate) struct Busy;

/// Argon2's working memory: each password thread keeps its own and reuses
/// it for every job, so memory stays at one block array per thread instead
/// of whatever the allocator keeps of a fresh 19 MiB per job.
pub(crate) type Scratch = Vec<argon2::Block>;

type Job = Box<dyn FnOnce(&mut Scratch) + Send>;

#[derive(Default)]
struct Counters {
    running: AtomicUsize,
    peak: AtomicUsize,
    jobs: AtomicU64,
    refused: AtomicU64,
}

/// The worker threads (started on first use) and the slots.
pub(crate) struct Hasher {
    slots: Arc<Semaphore>,
    threads: usize,
    sender: OnceLock<Option<Mutex<mpsc::Sender<Job>>>>,
    counters: Arc<Counters>,
}

impl Hasher {
    pub fn new(threads: usize) -> Self {
        let threads = threads.max(1);
        Hasher { slots: Arc::new(Semaphore::new(threads)), threads, sender: OnceLock::new(), counters: Arc::default() }
    }

    pub fn stats(&self) -> PasswordStats {
        let c = &self.counters;
        PasswordStats {
            limit: self.threads,
            peak: c.peak.load(Ordering::Relaxed),
            jobs: c.jobs.load(Ordering::Relaxed),
            refused: c.refused.load(Ordering::Relaxed),
        }
    }

    /// The job queue, starting the threads the first time. `None` when not
    /// one thread could be started (jobs then go to tokio's blocking pool,
    /// still bounded by the slots).
    fn queue(&self) -> Option<&Mutex<mpsc::Sender<Job>>> {
        self.sender
            .get_or_init(|| {
                let (tx, rx) = mpsc::channel::<Job>();
                let rx = Arc::new(Mutex::new(rx));
                let mut started = 0;
                for i in 0..self.threads {
                    let rx = rx.clone();
                    let spawned =
                        std::thread::Builder::new().name(format!("coffer-password-{i}")).spawn(move || worker(&rx));
                    match spawned {
                        Ok(_) => started += 1,
                        Err(e) => tracing::error!(error = %e, "cannot start a password worker thread"),
                    }
                }
                // The threads end when the sender (this hasher) is dropped.
                (started > 0).then(|| Mutex::new(tx))
            })
            .as_ref()
    }

    /// Runs `f` on a password thread once a slot is free, waiting at most
    /// `wait` for it ([`Busy`] then, and `f` never runs). A sign-in's path.
    pub async fn run_within<T, F>(&self, wait: Duration, f: F) -> Result<T, Busy>
    where
        T: Send + 'static,
        F: FnOnce(&mut Scratch) -> T + Send + 'static,
    {
        match tokio::time::timeout(wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(self.execute(Some(permit), f).await),
            // The slots are never closed; a timeout is the only way here.
            Ok(Err(_)) | Err(_) => {
                self.counters.refused.fetch_add(1, Ordering::Relaxed);
                Err(Busy)
            }
        }
    }

    /// Runs `f` on a password thread once a slot is free, however long
    /// that takes (administrative password changes).
    pub async fn run<T, F>(&self, f: F) -> T
    where
        T: Send + 'static,
        F: FnOnce(&mut Scratch) -> T + Send + 'static,
    {
        // The slots are never closed, so this always gets one.
        let permit = self.slots.clone().acquire_owned().await.ok();
        self.execute(permit, f).await
    }

    /// Runs `f` holding `permit`; a panic in `f` is raised again here.
    async fn execute<T, F>(&self, permit: Option<OwnedSemaphorePermit>, f: F) -> T
    where
        T: Send + 'static,
        F: FnOnce(&mut Scratch) -> T + Send + 'static,
    {
        let counters = self.counters.clone();
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |scratch: &mut Scratch| {
            let running = counters.running.fetch_add(1, Ordering::SeqCst) + 1;
            counters.peak.fetch_max(running, Ordering::SeqCst);
            counters.jobs.fetch_add(1, Ordering::Relaxed);
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(scratch)));
            counters.running.fetch_sub(1, Ordering::SeqCst);
            let _ = tx.send(out);
        });
        let queued = match self.queue() {
            Some(q) => match q.lock() {
                Ok(sender) => sender.send(job).map_err(|e| e.0),
                Err(_) => Err(job),
            },
            None => Err(job),
        };
        if let Err(job) = queued {
            // No worker thread: fall back to the blocking pool (still one slot per job).
            tokio::task::spawn_blocking(move || job(&mut Scratch::new()));
        }
        let out = rx.await;
        drop(permit);
        match out {
            Ok(Ok(v)) => v,
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            // Workers catch panics and run every job they receive; a job
            // dropped unrun means the runtime is shutting down.
            Err(_) => panic!("a password job was dropped before it ran"),
        }
    }
}

fn worker(rx: &Mutex<mpsc::Receiver<Job>>) {
    let mut scratch = Scratch::new();
    loop {
        let job = match rx.lock() {
            Ok(r) => r.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(&mut scratch),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_the_bound_runs_and_late_sign_ins_are_refused_unrun() {
        let h = Arc::new(Hasher::new(2));
        let release = Arc::new(AtomicBool::new(false));
        // Two jobs that hold both slots until released.
        let mut held = Vec::new();
        for _ in 0..2 {
            let (h, release) = (h.clone(), release.clone());
            held.push(tokio::spawn(async move {
                h.run(move |_| {
                    while !release.load(Ordering::SeqCst) {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    std::thread::current().name().map(str::to_owned)
                })
                .await
            }));
        }
        while h.stats().jobs < 2 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // A sign-in finds no slot: refused, and its job never runs.
        let ran = Arc::new(AtomicBool::new(false));
        let r = {
            let ran = ran.clone();
            h.run_within(Duration::from_millis(50), move |_| ran.store(true, Ordering::SeqCst)).await
        };
        assert!(r.is_err());
        assert!(!ran.load(Ordering::SeqCst));
        assert_eq!(h.stats(), PasswordStats { limit: 2, peak: 2, jobs: 2, refused: 1 });
        release.store(true, Ordering::SeqCst);
        for t in held {
            let name = t.await.unwrap().unwrap();
            assert!(name.starts_with("coffer-password-"), "ran on {name}, not the password threads");
        }
        // Many at once: never more than the bound running.
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let h = h.clone();
                tokio::spawn(async move {
                    h.run(move |_| {
                        std::thread::sleep(Duration::from_millis(3));
                        i
                    })
                    .await
                })
            })
            .collect();
        for (i, t) in tasks.into_iter().enumerate() {
            assert_eq!(t.await.unwrap(), i);
        }
        let s = h.stats();
        assert_eq!((s.peak, s.jobs, s.refused), (2, 18, 1));
    }

    #[tokio::test]
    #[should_panic(expected = "boom")]
    async fn a_panicking_job_panics_the_caller() {
        let h = Hasher::new(1);
        h.run(|_| -> () { panic!("boom") }).await;
    }
}
