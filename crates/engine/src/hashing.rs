//! Hashing a request body off the request's task.
//!
//! Every stored body is hashed: MD5 (the ETag), the S3 checksum (CRC64NVME
//! when none is named) and, for a signed payload, SHA-256. MD5 runs at about
//! the speed of a disk (500-650 MiB/s on one core), so hashing on the task
//! that also receives the body and hands it to the blob writer made an
//! upload cost receiving + hashing + writing instead of the slowest of them.
//!
//! [`HashPipeline`] hands the pieces (no copy: `Bytes` share the received
//! buffers) to a [`Pipe`]: a job on the blocking pool hashes them in order
//! while the request goes on receiving and writing, with at most
//! [`HASH_QUEUE`] bytes waiting (a push waits for room), and no thread held
//! while the client is slow. [`HashPipeline::finish`] waits for the job and
//! hashes what is left (less than [`HASH_STEP`]) on the request's task, so a
//! small body, every inline object among them, never leaves it.

use crate::EngineError;
use bytes::Bytes;
use coffer_blob::pipe::{Pipe, PipeError, Sink};
use coffer_types::checksum::{ChecksumAlgorithm, Checksummer};
use md5::{Digest, Md5};
use sha2::Sha256;
use std::convert::Infallible;

/// Bytes queued before a hashing job starts, and the most a job takes from
/// the queue at a time: about half a millisecond of MD5.
pub(crate) const HASH_STEP: usize = 256 << 10;
/// The most bytes waiting to be hashed per body (besides the step a job is
/// hashing): enough to ride out the pauses of a busy machine.
pub(crate) const HASH_QUEUE: usize = 1 << 20;

/// The running digests of one body.
#[derive(Clone)]
pub(crate) struct Digests {
    md5: Md5,
    sha256: Option<Sha256>,
    checksum: Checksummer,
    /// CRC-64/NVME of the bytes (kept with the blob, [`crate::bitrot`]),
    /// when `checksum` is another algorithm.
    crc64: Option<Checksummer>,
}

/// The digests of a whole body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sums {
    pub md5: [u8; 16],
    /// Present when asked for (a signed payload).
    pub sha256: Option<[u8; 32]>,
    /// The S3 checksum, `digest_len` bytes.
    pub checksum: Vec<u8>,
    /// CRC-64/NVME of the body.
    pub crc64: u64,
}

impl Digests {
    /// Digests of nothing yet: MD5, `algorithm`, and SHA-256 if `sha256`.
    pub fn new(algorithm: ChecksumAlgorithm, sha256: bool) -> Self {
        let crc64 = (algorithm != ChecksumAlgorithm::Crc64Nvme).then(|| Checksummer::new(ChecksumAlgorithm::Crc64Nvme));
        Digests { md5: Md5::new(), sha256: sha256.then(Sha256::new), checksum: Checksummer::new(algorithm), crc64 }
    }

    /// Feeds the next bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.md5.update(data);
        self.checksum.update(data);
        if let Some(c) = self.crc64.as_mut() {
            c.update(data);
        }
        if let Some(s) = self.sha256.as_mut() {
            s.update(data);
        }
    }

    /// The digests of everything fed.
    pub fn finish(self) -> Sums {
        let checksum = self.checksum.finalize();
        let crc64 = crate::bitrot::crc_value(&match self.crc64 {
            Some(c) => c.finalize(),
            None => checksum.clone(),
        });
        Sums { md5: self.md5.finalize().into(), sha256: self.sha256.map(|s| s.finalize().into()), checksum, crc64 }
    }
}

impl Sink for Digests {
    type Error = Infallible;
    fn consume(&mut self, pieces: &[Bytes]) -> Result<(), Infallible> {
        for p in pieces {
            self.update(p);
        }
        Ok(())
    }
}

/// A hashing job panicked.
fn lost(_: PipeError<Infallible>) -> EngineError {
    EngineError::Internal("hashing the body failed".into())
}

/// Digests computed beside the request (see the module's documentation).
/// Dropping it abandons the hashing.
pub(crate) struct HashPipeline(Pipe<Digests>);

impl HashPipeline {
    /// A pipeline feeding `digests`, with [`HASH_STEP`] and [`HASH_QUEUE`].
    pub fn new(digests: Digests) -> Self {
        HashPipeline(Pipe::new(digests, HASH_STEP, HASH_QUEUE))
    }

    /// A pipeline with other sizes (tests use small ones).
    #[cfg(test)]
    fn with_sizes(digests: Digests, step: usize, limit: usize) -> Self {
        HashPipeline(Pipe::new(digests, step, limit))
    }

    /// Queues the next piece of the body, waiting while the queue is full.
    pub async fn push(&mut self, piece: Bytes) -> Result<(), EngineError> {
        self.0.push(piece).await.map_err(lost)
    }

    /// The digests of every piece pushed.
    pub async fn finish(self) -> Result<Sums, EngineError> {
        let (mut digests, rest) = self.0.finish().await.map_err(lost)?;
        // Less than a step: cheaper here than on another thread.
        for p in &rest {
            digests.update(p);
        }
        Ok(digests.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes that are not periodic in any small length.
    fn data(len: usize) -> Vec<u8> {
        let mut x: u32 = 0x9e37_79b9;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    /// The sums computed in one go, without [`Digests`].
    fn one_shot(algorithm: ChecksumAlgorithm, sha256: bool, data: &[u8]) -> Sums {
        Sums {
            md5: Md5::digest(data).into(),
            sha256: sha256.then(|| Sha256::digest(data).into()),
            checksum: coffer_types::checksum::checksum(algorithm, data),
            crc64: crate::bitrot::crc_value(&coffer_types::checksum::checksum(ChecksumAlgorithm::Crc64Nvme, data)),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pipelined_sums_equal_the_one_shot_sums_for_odd_pieces_and_steps() {
        const MIB: usize = 1024 * 1024;
        // (body length, piece size, step, queue limit): pieces of odd sizes
        // (a byte, primes, more than the queue) against odd steps and limits
        // and the defaults.
        let cases = [
            (10_007, 1, 7, 7),
            (3 * MIB + 17, 4093, 65_537, 100_000),
            (3 * MIB + 17, 65_536, 1, 1),
            (3 * MIB + 17, 700_001, HASH_STEP, HASH_QUEUE),
            (3 * MIB + 17, 65_536, HASH_STEP, HASH_QUEUE),
            (200_003, 13, HASH_STEP, HASH_QUEUE),
            (HASH_STEP, HASH_STEP, HASH_STEP, HASH_QUEUE),
        ];
        for (len, piece, step, limit) in cases {
            let body = Bytes::from(data(len));
            for algorithm in ChecksumAlgorithm::ALL {
                for sha256 in [false, true] {
                    let mut p = HashPipeline::with_sizes(Digests::new(algorithm, sha256), step, limit);
                    for start in (0..len).step_by(piece) {
                        p.push(body.slice(start..(start + piece).min(len))).await.unwrap();
                        assert!(p.0.queued() <= limit.max(piece), "{} bytes queued, limit {limit}", p.0.queued());
                    }
                    assert_eq!(
                        p.finish().await.unwrap(),
                        one_shot(algorithm, sha256, &body),
                        "{algorithm} sha256={sha256} len={len} piece={piece} step={step} limit={limit}"
                    );
                }
            }
        }
    }

    #[tokio::test]
    async fn empty_and_tiny_bodies_hash_like_the_one_shot() {
        let p = HashPipeline::new(Digests::new(ChecksumAlgorithm::Crc64Nvme, true));
        let sums = p.finish().await.unwrap();
        assert_eq!(sums, one_shot(ChecksumAlgorithm::Crc64Nvme, true, b""));
        assert_eq!(hex::encode(sums.md5), "d41d8cd98f00b204e9800998ecf8427e");
        let mut p = HashPipeline::new(Digests::new(ChecksumAlgorithm::Crc32, false));
        p.push(Bytes::new()).await.unwrap();
        p.push(Bytes::from_static(b"hello")).await.unwrap();
        assert_eq!(p.finish().await.unwrap(), one_shot(ChecksumAlgorithm::Crc32, false, b"hello"));
    }
}
