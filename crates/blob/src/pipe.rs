//! [`Pipe`]: blocking work over a stream of byte pieces (writing them to a
//! file, hashing them), done in order on tokio's blocking pool while the
//! async task that receives the pieces goes on receiving.
//!
//! The pieces wait in a bounded queue: [`Pipe::push`] waits while `limit`
//! bytes are queued, so memory stays bounded whatever the speeds on either
//! side. A job runs only while there is work: it starts once `step` bytes
//! are queued, takes at most `step` at a time, and ends when it finds the
//! queue empty. So no thread waits for a slow client, and a job never waits
//! for anything but the queue's lock: the blocking pool cannot fill up with
//! jobs waiting for work queued behind them. While the producer keeps ahead,
//! one job handles the whole stream; a hand-off between threads costs
//! little on its own, but much on a busy machine, so there is one per
//! stretch of work rather than one per batch.
//!
//! [`Pipe::finish`] waits for the job and returns the sink with what no job
//! took (less than a step), for the caller to finish as it likes. Dropping a
//! pipe abandons the work: the queue is emptied and a running job ends after
//! the step in hand. The file store's writer and the engine's hashing of
//! request bodies are pipes.

use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::Notify;

/// The blocking work of a [`Pipe`].
pub trait Sink: Send + 'static {
    /// Why consuming failed.
    type Error: Send + 'static;
    /// Consumes the next pieces, in order (at least one).
    fn consume(&mut self, pieces: &[Bytes]) -> Result<(), Self::Error>;
}

/// Why a [`Pipe`] stopped.
#[derive(Debug)]
pub enum PipeError<E> {
    /// The sink failed; it is dropped, and later calls answer `Lost`.
    Sink(E),
    /// The sink is gone: a job panicked, or an earlier call reported its failure.
    Lost,
}

/// Blocking work over pieces pushed in order (see the module's documentation).
pub struct Pipe<S: Sink> {
    shared: Arc<Shared<S>>,
    step: usize,
    limit: usize,
}

/// What the producer and the job share.
struct Shared<S: Sink> {
    queue: Mutex<Queue<S>>,
    /// Signalled when a job takes pieces (room in the queue) and when it ends.
    changed: Notify,
}

struct Queue<S: Sink> {
    pieces: VecDeque<Bytes>,
    /// Bytes in `pieces`.
    queued: usize,
    /// The sink, when no job holds it.
    sink: Option<S>,
    /// A job is running (and holds the sink).
    running: bool,
    /// The sink's failure, until a call reports it.
    failure: Option<S::Error>,
}

impl<S: Sink> Shared<S> {
    fn lock(&self) -> MutexGuard<'_, Queue<S>> {
        // Nothing panics while holding the lock; a poisoned queue is whole.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<S: Sink> Queue<S> {
    /// The failure to report, if the sink is gone.
    fn broken(&mut self) -> Option<PipeError<S::Error>> {
        if let Some(e) = self.failure.take() {
            return Some(PipeError::Sink(e));
        }
        (!self.running && self.sink.is_none()).then_some(PipeError::Lost)
    }
}

impl<S: Sink> Pipe<S> {
    /// A pipe into `sink`: jobs start at and take `step` bytes (at least 1);
    /// at most `limit` bytes (at least `step`) wait in the queue.
    pub fn new(sink: S, step: usize, limit: usize) -> Self {
        let queue = Queue { pieces: VecDeque::new(), queued: 0, sink: Some(sink), running: false, failure: None };
        let step = step.max(1);
        Pipe {
            shared: Arc::new(Shared { queue: Mutex::new(queue), changed: Notify::new() }),
            step,
            limit: limit.max(step),
        }
    }

    /// Queues the next piece, waiting while the queue is full; starts a job
    /// when a step's worth waits and none runs. An empty queue takes a piece
    /// of any size.
    pub async fn push(&mut self, piece: Bytes) -> Result<(), PipeError<S::Error>> {
        if piece.is_empty() {
            return Ok(());
        }
        loop {
            let room = self.shared.changed.notified();
            tokio::pin!(room);
            // Registered before the check, so a signal after it is not lost.
            room.as_mut().enable();
            {
                let mut q = self.shared.lock();
                if let Some(e) = q.broken() {
                    return Err(e);
                }
                if q.queued == 0 || q.queued + piece.len() <= self.limit {
                    q.queued += piece.len();
                    q.pieces.push_back(piece);
                    if !q.running && q.queued >= self.step {
                        if let Some(sink) = q.sink.take() {
                            q.running = true;
                            let (shared, step) = (self.shared.clone(), self.step);
                            // Detached: the job hands the sink back through the queue.
                            drop(tokio::task::spawn_blocking(move || run(&shared, sink, step)));
                        }
                    }
                    return Ok(());
                }
            }
            room.await;
        }
    }

    /// Waits until no job runs; returns the sink and the pieces no job took
    /// (less than a step), in order.
    pub async fn finish(self) -> Result<(S, Vec<Bytes>), PipeError<S::Error>> {
        loop {
            let ended = self.shared.changed.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            {
                let mut q = self.shared.lock();
                if let Some(e) = q.broken() {
                    return Err(e);
                }
                if !q.running {
                    let sink = q.sink.take().ok_or(PipeError::Lost)?;
                    q.queued = 0;
                    return Ok((sink, std::mem::take(&mut q.pieces).into()));
                }
            }
            ended.await;
        }
    }

    /// Bytes waiting in the queue.
    pub fn queued(&self) -> usize {
        self.shared.lock().queued
    }

    /// Whether a job is running.
    pub fn running(&self) -> bool {
        self.shared.lock().running
    }
}

impl<S: Sink> Drop for Pipe<S> {
    fn drop(&mut self) {
        let mut q = self.shared.lock();
        q.pieces.clear();
        q.queued = 0;
    }
}

/// A job: consumes queued pieces, a step at a time, until it finds the
/// queue empty (then hands the sink back) or the sink fails (then drops it).
fn run<S: Sink>(shared: &Shared<S>, mut sink: S, step: usize) {
    /// Ends the job in the queue if it unwinds, so nobody waits for it.
    struct Unwinding<'a, S: Sink>(Option<&'a Shared<S>>);
    impl<S: Sink> Drop for Unwinding<'_, S> {
        fn drop(&mut self) {
            if let Some(shared) = self.0.take() {
                shared.lock().running = false;
                shared.changed.notify_waiters();
            }
        }
    }
    let mut unwinding = Unwinding(Some(shared));
    let mut batch = Vec::new();
    loop {
        {
            let mut q = shared.lock();
            if q.pieces.is_empty() {
                q.sink = Some(sink);
                q.running = false;
                break;
            }
            let mut taken = 0;
            while taken < step {
                let Some(p) = q.pieces.pop_front() else { break };
                taken += p.len();
                batch.push(p);
            }
            q.queued -= taken;
        }
        shared.changed.notify_waiters();
        let done = sink.consume(&batch);
        batch.clear();
        if let Err(e) = done {
            let mut q = shared.lock();
            q.failure = Some(e);
            q.running = false;
            q.pieces.clear();
            q.queued = 0;
            break;
        }
    }
    unwinding.0 = None;
    shared.changed.notify_waiters();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects what it consumes; fails at a given byte count; panics on a
    /// piece starting with `!`.
    struct Collect {
        got: Vec<u8>,
        fail_after: usize,
    }

    impl Sink for Collect {
        type Error = usize;
        fn consume(&mut self, pieces: &[Bytes]) -> Result<(), usize> {
            for p in pieces {
                assert!(!p.starts_with(b"!"), "asked to panic");
                self.got.extend_from_slice(p);
                if self.got.len() > self.fail_after {
                    return Err(self.got.len());
                }
            }
            Ok(())
        }
    }

    fn collect() -> Collect {
        Collect { got: Vec::new(), fail_after: usize::MAX }
    }

    fn data(len: usize) -> Bytes {
        // Letters only: a piece never starts with the `!` that makes `Collect` panic.
        (0..len).map(|i| b'a' + (i % 26) as u8).collect::<Vec<u8>>().into()
    }

    async fn drained(pipe: Pipe<Collect>) -> Vec<u8> {
        let (mut sink, rest) = pipe.finish().await.map_err(|_| "finish failed").unwrap();
        sink.consume(&rest).unwrap();
        sink.got
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pieces_arrive_in_order_and_the_queue_stays_bounded() {
        for (len, piece, step, limit) in
            [(100_003, 1, 7, 7), (1_000_003, 4093, 65_536, 200_000), (300_000, 100_000, 1, 1)]
        {
            let body = data(len);
            let mut pipe = Pipe::new(collect(), step, limit);
            for start in (0..len).step_by(piece) {
                pipe.push(body.slice(start..(start + piece).min(len))).await.map_err(|_| "push").unwrap();
                assert!(pipe.queued() <= limit.max(piece), "{} queued, limit {limit}", pipe.queued());
            }
            assert_eq!(drained(pipe).await, body, "len={len} piece={piece} step={step} limit={limit}");
        }
    }

    #[tokio::test]
    async fn less_than_a_step_is_left_to_the_caller() {
        let mut pipe = Pipe::new(collect(), 1000, 4000);
        pipe.push(data(999)).await.map_err(|_| "push").unwrap();
        assert!(!pipe.running());
        let (sink, rest) = pipe.finish().await.map_err(|_| "finish").unwrap();
        assert!(sink.got.is_empty());
        assert_eq!(rest.iter().map(Bytes::len).sum::<usize>(), 999);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_sink_is_reported_once_then_lost() {
        let mut pipe = Pipe::new(Collect { got: Vec::new(), fail_after: 10_000 }, 1000, 4000);
        let mut failed = None;
        for _ in 0..100 {
            if let Err(e) = pipe.push(data(500)).await {
                failed = Some(e);
                break;
            }
        }
        assert!(matches!(failed, Some(PipeError::Sink(n)) if n > 10_000), "{failed:?}");
        assert!(matches!(pipe.push(data(1)).await, Err(PipeError::Lost)));
        assert!(matches!(pipe.finish().await, Err(PipeError::Lost)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_job_is_reported_not_waited_for() {
        let mut pipe = Pipe::new(collect(), 10, 100);
        pipe.push(Bytes::from_static(b"!panic in the job")).await.map_err(|_| "push").unwrap();
        assert!(matches!(pipe.finish().await, Err(PipeError::Lost)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_pipe_stops_its_job() {
        let mut pipe = Pipe::new(collect(), 1000, 1_000_000);
        for _ in 0..1000 {
            pipe.push(data(1000)).await.map_err(|_| "push").unwrap();
        }
        let shared = pipe.shared.clone();
        drop(pipe);
        assert_eq!(shared.lock().queued, 0, "the queue is emptied at once");
        for _ in 0..1000 {
            if !shared.lock().running {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        panic!("the job went on after its pipe was dropped");
    }
}
