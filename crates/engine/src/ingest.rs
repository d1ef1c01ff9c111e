//! Taking in a request body: counting, hashing and checking it while it
//! streams into an inline buffer or a blob, and storing nothing unless every
//! check passes. The hashing runs beside the request ([`HashPipeline`]), as
//! does the blob writer's I/O, so a large body costs the slowest of
//! receiving, hashing and writing, not their sum.

use crate::hashing::{Digests, HashPipeline};
use crate::{BoxError, Engine, EngineError};
use bytes::{Bytes, BytesMut};
use coffer_meta::{ObjectData, Segment, StoredChecksum};
use coffer_types::checksum::{self, ChecksumAlgorithm};
use futures::stream::BoxStream;
use futures::StreamExt;

/// A request body as a stream of byte chunks.
pub type Body = BoxStream<'static, Result<Bytes, BoxError>>;

/// Digests the client declared for the body; each is verified.
#[derive(Clone, Debug, Default)]
pub struct BodyCheck {
    /// `Content-MD5`, decoded.
    pub md5: Option<[u8; 16]>,
    /// A signed `x-amz-content-sha256`, decoded.
    pub sha256: Option<[u8; 32]>,
    /// The S3 checksum to compute (and verify, when a value was given).
    /// Without one, CRC64NVME is computed and stored, as S3 does.
    pub checksum: Option<ChecksumCheck>,
}

/// A requested checksum algorithm and where its expected value comes from.
#[derive(Clone, Debug)]
pub struct ChecksumCheck {
    pub algorithm: ChecksumAlgorithm,
    pub expected: Option<ExpectedChecksum>,
}

/// The client's value of a checksum.
#[derive(Clone)]
pub enum ExpectedChecksum {
    /// Known before the body (an `x-amz-checksum-*` header), decoded.
    Given(Vec<u8>),
    /// Known only after the body (an aws-chunked trailer): read once the
    /// stream has ended; `None` means the trailer never came.
    AfterBody(std::sync::Arc<dyn Fn() -> Option<Vec<u8>> + Send + Sync>),
}

impl std::fmt::Debug for ExpectedChecksum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExpectedChecksum::Given(v) => write!(f, "Given({})", checksum::to_base64(v)),
            ExpectedChecksum::AfterBody(_) => f.write_str("AfterBody"),
        }
    }
}

/// A body that passed its checks and is durably stored.
pub(crate) struct Stored {
    pub data: ObjectData,
    pub size: u64,
    pub md5: [u8; 16],
    pub checksum: StoredChecksum,
}

impl Engine {
    /// Streams `body` into storage. `len` is the declared length (`None` for
    /// an HTTP-chunked body of unknown length, bounded by the largest PUT).
    /// Inline when allowed and small enough; otherwise, or as soon as the
    /// bytes outgrow the inline limit, into a new blob committed only after
    /// every check has passed.
    pub(crate) async fn ingest(
        &self,
        mut body: Body,
        len: Option<u64>,
        check: &BodyCheck,
        allow_inline: bool,
    ) -> Result<Stored, EngineError> {
        let limit = len.unwrap_or(self.cfg.max_put_size);
        let too_much = |got: u64| match len {
            Some(expected) => EngineError::IncompleteBody { expected, got },
            None => EngineError::EntityTooLarge(limit),
        };
        let algorithm = check.checksum.as_ref().map(|c| c.algorithm).unwrap_or(ChecksumAlgorithm::Crc64Nvme);
        // Hashed beside the request: the loop below only receives and hands on.
        let mut hashes = HashPipeline::new(Digests::new(algorithm, check.sha256.is_some()));
        let mut got: u64 = 0;
        let may_inline = allow_inline && len.is_none_or(|l| l <= self.cfg.inline_max);
        let mut buf = BytesMut::new();
        let mut writer = if may_inline { None } else { Some(self.blobs.create().await?) };
        while let Some(chunk) = body.next().await {
            // A copy's source failing its checksum (or its store failing)
            // is the engine's own error, not a client's short body.
            let chunk = chunk.map_err(|e| match e.downcast::<EngineError>() {
                Ok(own) => *own,
                Err(other) => match other.downcast::<coffer_blob::BlobError>() {
                    Ok(blob) => EngineError::from(*blob),
                    Err(other) => EngineError::Body(other),
                },
            })?;
            got += chunk.len() as u64;
            if got > limit {
                return Err(too_much(got));
            }
            if writer.is_none() && got > self.cfg.inline_max {
                // Outgrew the inline limit (unknown length): spill to a blob.
                let mut w = self.blobs.create().await?;
                w.write(buf.split().freeze()).await?;
                writer = Some(w);
            }
            match writer.as_mut() {
                Some(w) => w.write(chunk.clone()).await?,
                None => buf.extend_from_slice(&chunk),
            }
            hashes.push(chunk).await?;
        }
        if let Some(expected) = len {
            if got != expected {
                return Err(EngineError::IncompleteBody { expected, got });
            }
        }
        // Every check below passes before the blob is committed; an early
        // return drops the writer, which discards what it wrote.
        let sums = hashes.finish().await?;
        let md5 = sums.md5;
        if check.md5.is_some_and(|want| want != md5) {
            return Err(EngineError::BadDigest);
        }
        if check.sha256.is_some() && check.sha256 != sums.sha256 {
            return Err(EngineError::Sha256Mismatch);
        }
        let value = sums.checksum;
        if let Some(expected) = check.checksum.as_ref().and_then(|c| c.expected.as_ref()) {
            let want = match expected {
                ExpectedChecksum::Given(v) => Some(v.clone()),
                ExpectedChecksum::AfterBody(f) => f(),
            };
            match want {
                Some(w) if w == value => {}
                Some(_) => return Err(EngineError::ChecksumMismatch(algorithm)),
                None => {
                    return Err(EngineError::InvalidRequest(format!(
                        "The {} trailer is missing",
                        algorithm.header_name()
                    )))
                }
            }
        }
        let data = match writer {
            None => ObjectData::Inline(buf.freeze()),
            Some(w) => {
                ObjectData::Segments(vec![Segment { blob: w.commit().await?, size: got, crc64: Some(sums.crc64) }])
            }
        };
        let checksum = StoredChecksum {
            algorithm: algorithm.as_str().to_owned(),
            value: checksum::to_base64(&value),
            kind: "FULL_OBJECT".to_owned(),
        };
        Ok(Stored { data, size: got, md5, checksum })
    }

    /// Queues the blobs of data that was stored but then not recorded (a
    /// metadata write failed), deleting them now.
    pub(crate) async fn discard(&self, data: &ObjectData) {
        for b in data.blobs() {
            if let Err(e) = self.blobs.delete(b).await {
                tracing::warn!(blob = %b, error = %e, "could not delete unrecorded blob; the start-up scan will");
            }
        }
    }
}
