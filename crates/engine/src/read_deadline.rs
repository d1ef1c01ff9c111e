//! Reads that end before their blobs may be collected.
//!
//! A blob an overwrite or delete drops is queued for collection and deleted
//! `gc_grace` later; a read that began before the drop resolved its blob ids
//! then and may still be reading them. [`ReadDeadline`] fails a read's
//! stream once it has run for `max_read` (less than the grace), checking
//! before every pull from the blob store, so no blob is read after its
//! deletion could have begun: the client sees a cut-off body (and retries)
//! rather than a blob vanishing mid-read on a store that does not keep
//! unlinked data readable (RADOS, some shared filesystems).

use crate::BoxError;
use bytes::Bytes;
use futures::Stream;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Instant;

/// A body stream that fails once its deadline has passed.
pub(crate) struct ReadDeadline<S> {
    inner: S,
    deadline: Instant,
    done: bool,
}

impl<S> ReadDeadline<S> {
    pub(crate) fn new(inner: S, max: Duration) -> Self {
        ReadDeadline { inner, deadline: Instant::now() + max, done: false }
    }
}

/// The error a read that ran too long ends with.
#[derive(Debug, thiserror::Error)]
#[error("the read ran longer than {0:?}, the longest a read may take before the blobs it reads can be collected")]
pub struct ReadTooLong(pub Duration);

impl<S> Stream for ReadDeadline<S>
where
    S: Stream<Item = Result<Bytes, BoxError>> + Unpin,
{
    type Item = Result<Bytes, BoxError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let now = Instant::now();
        if now >= self.deadline {
            self.done = true;
            let overrun = now - self.deadline;
            tracing::warn!(?overrun, "a read outlasted its bound and was cut off");
            return Poll::Ready(Some(Err(Box::new(ReadTooLong(self.deadline.elapsed())))));
        }
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[tokio::test(start_paused = true)]
    async fn a_read_is_cut_off_at_its_deadline_and_not_before() {
        let chunks = futures::stream::iter((0..10).map(|i| Ok::<_, BoxError>(Bytes::from(vec![i as u8; 4]))));
        let mut s = ReadDeadline::new(chunks, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(s.next().await.unwrap().is_ok());
            tokio::time::advance(Duration::from_secs(19)).await;
        }
        tokio::time::advance(Duration::from_secs(4)).await;
        let e = s.next().await.unwrap().unwrap_err();
        assert!(e.to_string().contains("longest a read may take"), "{e}");
        assert!(s.next().await.is_none(), "nothing after the error");
    }
}
