//! Bitrot: a blob whose bytes are not the bytes written is never served as
//! if they were. Every blob's CRC-64/NVME is computed as it is written and
//! kept with the metadata that refers to it ([`coffer_meta::Segment::crc64`]).
//!
//! A read of a whole segment is checked as it streams ([`Verified`]): its
//! last chunk is held back until the blob has ended and its length and CRC
//! match, so a client never receives a complete body of rotten bytes; a
//! mismatch ends the body with [`EngineError::Corrupt`] (the connection is
//! cut, the client sees a short body and retries or fails). When the first
//! segment read is at most [`VERIFY_AHEAD`] bytes, it is read and checked
//! before the answer starts, so a small object that rotted is a clean
//! `500 InternalError`. A ranged read within a segment of at most
//! [`VERIFY_AHEAD`] bytes (for a copy, [`VERIFY_COPY`]) reads the whole
//! segment to check it, its last bytes in range held back until the check
//! passed ([`Window`]); within a larger one it is served unchecked (the
//! cost would not be bounded; the scrubber finds it). A blob that ends
//! early or cannot be read (`EIO`) counts as damaged too.

use crate::{BoxError, EngineError, EngineStats};
use bytes::{Bytes, BytesMut};
use coffer_blob::{BlobError, BlobStream};
use coffer_meta::Segment;
use coffer_types::checksum::{ChecksumAlgorithm, Checksummer};
use coffer_types::BlobId;
use futures::{Stream, StreamExt};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Segments up to this size are checked whole before their bytes are
/// served: the first one of a read before the answer's headers, and any one
/// a range reads only part of.
pub const VERIFY_AHEAD: u64 = 1 << 20;
/// A copy (CopyObject, UploadPartCopy) checks whole every segment of at
/// most this size it reads a range of, so rot is not copied into a blob
/// with a fresh, valid checksum.
pub const VERIFY_COPY: u64 = 64 << 20;

/// Whether a blob read's I/O error says the blob is damaged (it ends before
/// its recorded length, or the device cannot read it) rather than that the
/// store failed for its own reasons.
pub(crate) fn io_says_damaged(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::UnexpectedEof || e.raw_os_error() == Some(libc_eio())
}

/// `EIO` (5 on every Unix Coffer runs on).
const fn libc_eio() -> i32 {
    5
}

/// A running CRC-64/NVME.
pub(crate) struct Crc64(Checksummer);

impl Crc64 {
    pub fn new() -> Self {
        Crc64(Checksummer::new(ChecksumAlgorithm::Crc64Nvme))
    }

    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data)
    }

    /// The CRC of everything fed.
    pub fn value(self) -> u64 {
        crc_value(&self.0.finalize())
    }
}

/// A CRC-64/NVME as S3 encodes it (8 bytes, big-endian) as a number.
pub(crate) fn crc_value(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = bytes.len().min(8);
    b[8 - n..].copy_from_slice(&bytes[..n]);
    u64::from_be_bytes(b)
}

/// A blob read that does not match what was written: counted and logged.
fn rotten(stats: &EngineStats, blob: &BlobId, why: &str) -> EngineError {
    stats.corrupt_reads.fetch_add(1, Ordering::Relaxed);
    tracing::error!(blob = %blob, why, "a blob does not match its checksum: not served");
    EngineError::Corrupt(format!("blob {blob}: {why}"))
}

/// A whole segment's bytes, checked against its length and CRC as they
/// stream, the last chunk held back until both match.
pub(crate) struct Verified {
    inner: BlobStream,
    crc: Option<Crc64>,
    seen: u64,
    held: Option<Bytes>,
    want_size: u64,
    want_crc: u64,
    blob: BlobId,
    stats: Arc<EngineStats>,
    done: bool,
}

impl Verified {
    pub fn new(inner: BlobStream, seg: &Segment, want_crc: u64, stats: Arc<EngineStats>) -> Self {
        Verified {
            inner,
            crc: Some(Crc64::new()),
            seen: 0,
            held: None,
            want_size: seg.size,
            want_crc,
            blob: seg.blob.clone(),
            stats,
            done: false,
        }
    }

    /// The end of the blob: the held chunk if everything matched.
    fn end(&mut self) -> Option<Result<Bytes, BoxError>> {
        self.done = true;
        let crc = self.crc.take().map(Crc64::value);
        if self.seen != self.want_size {
            let why = format!("{} bytes read, {} written", self.seen, self.want_size);
            return Some(Err(Box::new(rotten(&self.stats, &self.blob, &why))));
        }
        if crc != Some(self.want_crc) {
            return Some(Err(Box::new(rotten(&self.stats, &self.blob, "CRC-64/NVME mismatch"))));
        }
        self.held.take().map(Ok)
    }
}

impl Stream for Verified {
    type Item = Result<Bytes, BoxError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match this.inner.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                // An empty chunk must not release the held one early.
                Poll::Ready(Some(Ok(chunk))) if chunk.is_empty() => {}
                Poll::Ready(Some(Ok(chunk))) => {
                    if let Some(c) = this.crc.as_mut() {
                        c.update(&chunk);
                    }
                    this.seen += chunk.len() as u64;
                    if this.seen > this.want_size {
                        return Poll::Ready(this.end());
                    }
                    if let Some(prev) = this.held.replace(chunk) {
                        return Poll::Ready(Some(Ok(prev)));
                    }
                }
                Poll::Ready(Some(Err(BlobError::Io(e)))) if io_says_damaged(&e) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(Box::new(rotten(&this.stats, &this.blob, &e.to_string())))));
                }
                Poll::Ready(Some(Err(e))) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(Box::new(EngineError::from(e)))));
                }
                Poll::Ready(None) => return Poll::Ready(this.end()),
            }
        }
    }
}

/// Reads a whole stream of about `size` (at most [`VERIFY_AHEAD`]) bytes
/// into one buffer.
pub(crate) async fn collect(
    mut s: impl Stream<Item = Result<Bytes, BoxError>> + Unpin,
    size: u64,
) -> Result<Bytes, EngineError> {
    let mut chunks: Vec<Bytes> = Vec::new();
    while let Some(chunk) = s.next().await {
        chunks.push(chunk.map_err(unbox)?);
    }
    if chunks.len() == 1 {
        return Ok(chunks.remove(0));
    }
    let mut buf = BytesMut::with_capacity(size.min(VERIFY_AHEAD) as usize);
    for c in chunks {
        buf.extend_from_slice(&c);
    }
    Ok(buf.freeze())
}

/// Bytes `off..off + len` of a checked stream of a whole segment, the last
/// piece in range held back until the stream has ended without an error
/// (that is, until the whole segment passed its check).
pub(crate) struct Window<S> {
    inner: S,
    /// Position in the segment of the next byte `inner` yields.
    pos: u64,
    off: u64,
    end: u64,
    held: Option<Bytes>,
}

impl<S> Window<S> {
    pub fn new(inner: S, off: u64, len: u64) -> Self {
        Window { inner, pos: 0, off, end: off + len, held: None }
    }
}

impl<S: Stream<Item = Result<Bytes, BoxError>> + Unpin> Stream for Window<S> {
    type Item = Result<Bytes, BoxError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            match this.inner.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(this.held.take().map(Ok)),
                Poll::Ready(Some(Err(e))) => {
                    this.held = None;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(Some(Ok(chunk))) => {
                    let (a, b) = (this.pos, this.pos + chunk.len() as u64);
                    this.pos = b;
                    let (from, to) = (this.off.max(a), this.end.min(b));
                    if from >= to {
                        continue;
                    }
                    let piece = chunk.slice((from - a) as usize..(to - a) as usize);
                    if let Some(prev) = this.held.replace(piece) {
                        return Poll::Ready(Some(Ok(prev)));
                    }
                }
            }
        }
    }
}

/// The engine's error inside a stream's boxed one.
pub(crate) fn unbox(e: BoxError) -> EngineError {
    match e.downcast::<EngineError>() {
        Ok(e) => *e,
        Err(e) => match e.downcast::<BlobError>() {
            Ok(b) => EngineError::from(*b),
            Err(other) => EngineError::Internal(other.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(chunks: &[&'static [u8]]) -> BlobStream {
        let v: Vec<Result<Bytes, BlobError>> = chunks.iter().map(|c| Ok(Bytes::from_static(c))).collect();
        futures::stream::iter(v).boxed()
    }

    fn crc_of(data: &[u8]) -> u64 {
        let mut c = Crc64::new();
        c.update(data);
        c.value()
    }

    async fn read_all(v: Verified) -> (Vec<u8>, Option<EngineError>) {
        let mut out = Vec::new();
        let mut v = Box::pin(v);
        while let Some(item) = v.next().await {
            match item {
                Ok(b) => out.extend_from_slice(&b),
                Err(e) => return (out, Some(unbox(e))),
            }
        }
        (out, None)
    }

    fn seg(size: u64) -> Segment {
        Segment { blob: BlobId::random(), size, crc64: None }
    }

    #[test]
    fn crc_matches_the_s3_encoding() {
        let bytes = coffer_types::checksum::checksum(ChecksumAlgorithm::Crc64Nvme, b"123456789");
        // CRC-64/NVME's check value.
        assert_eq!(crc_value(&bytes), 0xae8b_1486_0a79_9888);
        assert_eq!(crc_of(b"123456789"), 0xae8b_1486_0a79_9888);
    }

    #[tokio::test]
    async fn good_bytes_pass_in_order() {
        let stats = Arc::new(EngineStats::default());
        let v = Verified::new(stream(&[b"hel", b"", b"lo"]), &seg(5), crc_of(b"hello"), stats.clone());
        let (out, err) = read_all(v).await;
        assert_eq!(out, b"hello");
        assert!(err.is_none());
        assert_eq!(stats.corrupt_reads.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn a_flipped_byte_withholds_the_last_chunk() {
        let stats = Arc::new(EngineStats::default());
        let v = Verified::new(stream(&[b"hel", b"LO"]), &seg(5), crc_of(b"hello"), stats.clone());
        let (out, err) = read_all(v).await;
        assert_eq!(out, b"hel", "the last chunk is never sent");
        assert!(matches!(err, Some(EngineError::Corrupt(_))), "{err:?}");
        assert_eq!(stats.corrupt_reads.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn a_short_or_long_blob_is_corrupt() {
        let stats = Arc::new(EngineStats::default());
        let (out, err) = read_all(Verified::new(stream(&[b"hell"]), &seg(5), crc_of(b"hello"), stats.clone())).await;
        assert!(out.is_empty() && matches!(err, Some(EngineError::Corrupt(_))));
        let (_, err) =
            read_all(Verified::new(stream(&[b"hello", b"!"]), &seg(5), crc_of(b"hello"), stats.clone())).await;
        assert!(matches!(err, Some(EngineError::Corrupt(_))));
        assert_eq!(stats.corrupt_reads.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn an_empty_last_chunk_does_not_release_the_held_one() {
        let stats = Arc::new(EngineStats::default());
        let v = Verified::new(stream(&[b"hel", b"LO", b""]), &seg(5), crc_of(b"hello"), stats);
        let (out, err) = read_all(v).await;
        assert_eq!(out, b"hel");
        assert!(matches!(err, Some(EngineError::Corrupt(_))));
    }

    #[tokio::test]
    async fn a_blob_ending_early_in_the_store_is_rotten() {
        let stats = Arc::new(EngineStats::default());
        let eof = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "short");
        let inner: BlobStream =
            futures::stream::iter(vec![Ok(Bytes::from_static(b"he")), Err(BlobError::Io(eof))]).boxed();
        let (_, err) = read_all(Verified::new(inner, &seg(5), crc_of(b"hello"), stats.clone())).await;
        assert!(matches!(err, Some(EngineError::Corrupt(_))), "{err:?}");
        assert_eq!(stats.corrupt_reads.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn a_window_holds_its_last_piece_until_the_check_passed() {
        let stats = Arc::new(EngineStats::default());
        // Bytes 2..=6 of "0123456789", in chunks that straddle the window.
        let good = Verified::new(stream(&[b"012", b"3456", b"789"]), &seg(10), crc_of(b"0123456789"), stats.clone());
        let mut w = Box::pin(Window::new(good, 2, 5));
        let mut got = Vec::new();
        while let Some(item) = w.next().await {
            got.extend_from_slice(&item.unwrap());
        }
        assert_eq!(got, b"23456");
        // The rot is after the window: its bytes in range never all go out.
        let bad = Verified::new(stream(&[b"012", b"3456", b"78X"]), &seg(10), crc_of(b"0123456789"), stats);
        let mut w = Box::pin(Window::new(bad, 2, 5));
        let mut got = Vec::new();
        let mut failed = false;
        while let Some(item) = w.next().await {
            match item {
                Ok(b) => got.extend_from_slice(&b),
                Err(e) => failed = matches!(unbox(e), EngineError::Corrupt(_)),
            }
        }
        assert!(failed && got.len() < 5, "{got:?}");
    }
}
