//! The idle timer on every response: a client that stops reading (a zero
//! TCP window, or a tiny receive buffer and no reads) must not hold its
//! connection, and its slot under the connection limit, forever.
//!
//! hyper has no write timeout, and while a response write is stuck it reads
//! no next request, so the head-read timer never starts either.
//! [`WriteGuard`] wraps each accepted socket (under TLS, so TLS records are
//! covered too): while a write, flush or shutdown is pending, the [`Pace`]
//! clock runs; a wait longer than the idle time, or a client that reads
//! slower on average than [`crate::pace::MIN_RATE`] beyond the first idle
//! period, fails the write with an [`io::Error`] of kind `TimedOut`. hyper
//! then drops the connection. Reads pass through untouched: request heads
//! and bodies have their own timers.

use crate::pace::{Pace, MIN_RATE};
use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A socket whose writes time out when the peer stops reading.
pub(crate) struct WriteGuard<S> {
    inner: S,
    pace: Pace,
    sleep: Pin<Box<tokio::time::Sleep>>,
    failed: bool,
}

impl<S> WriteGuard<S> {
    pub(crate) fn new(inner: S, idle: Duration) -> Self {
        WriteGuard { inner, pace: Pace::new(idle), sleep: Box::pin(tokio::time::sleep(idle)), failed: false }
    }

    fn timed_out(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "the client read nothing for {} s, or less than {MIN_RATE} bytes a second",
                self.pace.idle().as_secs_f64()
            ),
        )
    }

    /// Runs one write-side poll under the clock; `moved` tells how many
    /// bytes a success moved.
    fn guarded<T>(
        &mut self,
        cx: &mut Context<'_>,
        op: impl FnOnce(Pin<&mut S>, &mut Context<'_>) -> Poll<io::Result<T>>,
        moved: impl FnOnce(&T) -> u64,
    ) -> Poll<io::Result<T>>
    where
        S: Unpin,
    {
        if self.failed {
            return Poll::Ready(Err(self.timed_out()));
        }
        match op(Pin::new(&mut self.inner), cx) {
            Poll::Ready(r) => {
                let n = r.as_ref().map_or(0, moved);
                self.pace.progressed(n);
                Poll::Ready(r)
            }
            Poll::Pending => {
                if !self.pace.is_waiting() {
                    let deadline = self.pace.start_wait();
                    self.sleep.as_mut().reset(deadline);
                }
                match self.sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        self.failed = true;
                        Poll::Ready(Err(self.timed_out()))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteGuard<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteGuard<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().guarded(cx, |s, cx| s.poll_write(cx, buf), |n| *n as u64)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().guarded(cx, |s, cx| s.poll_write_vectored(cx, bufs), |n| *n as u64)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().guarded(cx, |s, cx| s.poll_flush(cx), |_| 0)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().guarded(cx, |s, cx| s.poll_shutdown(cx), |_| 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt as _;

    #[tokio::test(start_paused = true)]
    async fn a_peer_that_stops_reading_fails_the_write_after_the_idle_time() {
        // A pipe with a 1 KiB buffer whose far end is never read.
        let (near, _far) = tokio::io::duplex(1024);
        let mut w = WriteGuard::new(near, Duration::from_secs(5));
        let started = tokio::time::Instant::now();
        let e = w.write_all(&[0u8; 4096]).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(5));
        assert_eq!(w.write(b"x").await.unwrap_err().kind(), io::ErrorKind::TimedOut, "and stays failed");
    }

    #[tokio::test(start_paused = true)]
    async fn a_reader_that_keeps_up_is_never_cut_off() {
        let (near, mut far) = tokio::io::duplex(1024);
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 512];
            let mut total = 0;
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                match tokio::io::AsyncReadExt::read(&mut far, &mut buf).await {
                    Ok(0) | Err(_) => return total,
                    Ok(n) => total += n,
                }
            }
        });
        let mut w = WriteGuard::new(near, Duration::from_secs(1));
        // 5 KiB/s for 20 s: slow, but above the floor.
        w.write_all(&vec![7u8; 100 * 1024]).await.unwrap();
        w.shutdown().await.unwrap();
        drop(w);
        assert_eq!(reader.await.unwrap(), 100 * 1024);
    }

    #[tokio::test(start_paused = true)]
    async fn a_drip_reader_falls_behind_the_minimum_rate() {
        // Reads 16 bytes just inside the idle time, again and again.
        let (near, mut far) = tokio::io::duplex(16);
        tokio::spawn(async move {
            let mut buf = [0u8; 16];
            loop {
                tokio::time::sleep(Duration::from_millis(900)).await;
                if tokio::io::AsyncReadExt::read(&mut far, &mut buf).await.unwrap_or(0) == 0 {
                    return;
                }
            }
        });
        let mut w = WriteGuard::new(near, Duration::from_secs(1));
        let started = tokio::time::Instant::now();
        let e = w.write_all(&vec![7u8; 64 * 1024]).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        // 16 bytes per 0.9 s earn 1/64 s each: the allowance runs out after
        // about idle / (0.9 - 1/64) waits, a few seconds, not the 1 h the
        // whole body would take.
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    }
}
