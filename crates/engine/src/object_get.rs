//! GetObject and HeadObject: conditions, ranges, and streaming the data.

use crate::{Body, Engine, EngineError};
use bytes::Bytes;
use coffer_meta::{ObjectData, ObjectRecord, Segment};
use coffer_types::{ByteRange, ETag, RangeError, ResolvedRange, UnixMillis};
use futures::{StreamExt, TryStreamExt};

/// HTTP conditional-request headers, parsed.
#[derive(Clone, Debug, Default)]
pub struct Conditions {
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
    /// Unix seconds.
    pub if_modified_since: Option<i64>,
    /// Unix seconds.
    pub if_unmodified_since: Option<i64>,
}

impl Conditions {
    /// Evaluates the conditions against an object (RFC 9110 order, as S3 does):
    /// `PreconditionFailed` or `NotModified` when they say so.
    pub fn check(&self, etag: &str, last_modified: UnixMillis) -> Result<(), EngineError> {
        let not_modified = || EngineError::NotModified { etag: etag.to_owned(), last_modified };
        let etag = ETag::from_stored(etag);
        let modified = last_modified / 1000;
        match (&self.if_match, self.if_unmodified_since) {
            (Some(m), _) if !etag.matches_header(m) => return Err(EngineError::PreconditionFailed),
            (None, Some(t)) if modified > t => return Err(EngineError::PreconditionFailed),
            _ => {}
        }
        match (&self.if_none_match, self.if_modified_since) {
            (Some(m), _) if etag.matches_header(m) => Err(not_modified()),
            (None, Some(t)) if modified <= t => Err(not_modified()),
            _ => Ok(()),
        }
    }
}

/// A GetObject or HeadObject request.
#[derive(Clone, Debug, Default)]
pub struct GetInput {
    pub bucket: String,
    pub key: String,
    pub range: Option<ByteRange>,
    pub conditions: Conditions,
    /// HEAD: no body stream is opened.
    pub head: bool,
    /// `?partNumber=N`: only that part of a multipart object (part 1 of any
    /// other object is the whole object).
    pub part_number: Option<u32>,
    /// What authorizing the read decided on, if it looked at the object:
    /// another version found is `ChangedSinceAuthorized`, before anything
    /// of it (conditions included) is answered.
    pub pin: Option<crate::ReadPin>,
    /// `?versionId=`: that version instead of the current one.
    pub version: Option<String>,
}

/// The object found, the range served, and the bytes.
pub struct GetOutput {
    pub object: ObjectRecord,
    /// `Some` when a Range was requested and applied (206).
    pub range: Option<ResolvedRange>,
    /// The bytes of the range (or the whole object); empty for HEAD.
    pub body: Body,
    /// The object's part count, when a part of a multipart object was asked for.
    pub parts_count: Option<usize>,
    /// `x-amz-version-id` (none in an unversioned bucket).
    pub version_id: Option<String>,
}

impl Engine {
    /// Looks up an object, evaluates conditions and range, opens its data.
    pub async fn get_object(&self, input: GetInput) -> Result<GetOutput, EngineError> {
        let (object, version_id) = self.read_version(&input.bucket, &input.key, input.version.as_deref()).await?;
        if let Some(pin) = &input.pin {
            pin.check(&object.meta)?;
        }
        input.conditions.check(&object.etag, object.last_modified)?;
        let (part_range, parts_count) = match input.part_number {
            None => (None, None),
            Some(n) => part_range(&object, n)?,
        };
        let range = match input.range.map(|r| r.resolve(object.size)) {
            _ if part_range.is_some() => part_range,
            None => None,
            Some(Ok(r)) => Some(r),
            Some(Err(RangeError::Unsatisfiable)) => return Err(EngineError::InvalidRange(object.size)),
            // A malformed range is ignored, as HTTP and S3 do.
            Some(Err(RangeError::Malformed)) => None,
        };
        let (start, len) = range.map(|r| (r.start, r.len)).unwrap_or((0, object.size));
        let body = if input.head {
            futures::stream::empty().boxed()
        } else {
            self.open_data(&object.data, start, len, crate::bitrot::VERIFY_AHEAD).await?
        };
        Ok(GetOutput { object, range, body, parts_count, version_id })
    }

    /// Streams `len` bytes from `start` of an object's data. The first blob is
    /// opened before returning, so a missing blob fails before any header is
    /// sent. A range of a segment of at most `bound` bytes is checked against
    /// the segment's CRC ([`crate::bitrot::VERIFY_AHEAD`] for a GET,
    /// [`crate::bitrot::VERIFY_COPY`] for a copy).
    pub(crate) async fn open_data(
        &self,
        data: &ObjectData,
        start: u64,
        len: u64,
        bound: u64,
    ) -> Result<Body, EngineError> {
        match data {
            ObjectData::Inline(bytes) => {
                let end = (start + len).min(bytes.len() as u64) as usize;
                let slice: Bytes = bytes.slice((start as usize).min(end)..end);
                Ok(futures::stream::once(async move { Ok(slice) }).boxed())
            }
            ObjectData::Segments(segs) => {
                let mut iter = pieces(segs, start, len).into_iter();
                let Some(first) = iter.next() else {
                    return Ok(futures::stream::empty().boxed());
                };
                let first = self.read_piece(first, true, bound).await?;
                let engine = self.clone();
                let rest =
                    futures::stream::iter(iter)
                        .then(move |p| {
                            let engine = engine.clone();
                            async move {
                                engine.read_piece(p, false, bound).await.map_err(|e| Box::new(e) as crate::BoxError)
                            }
                        })
                        .try_flatten();
                let body = first.chain(rest);
                Ok(match self.cfg.max_read {
                    Some(max) => crate::read_deadline::ReadDeadline::new(body.boxed(), max).boxed(),
                    None => body.boxed(),
                })
            }
        }
    }

    /// Opens `n` bytes from `off` of one segment, checked against its CRC
    /// where the cost is bounded: whole, or a range of a segment of at most
    /// `bound` bytes ([`crate::bitrot`]). `first`: the segment starts the
    /// answer, so a small one is checked whole before returning.
    async fn read_piece(
        &self,
        (seg, off, n): (Segment, u64, u64),
        first: bool,
        bound: u64,
    ) -> Result<Body, EngineError> {
        use crate::bitrot::{collect, Verified, Window, VERIFY_AHEAD};
        let whole = off == 0 && n == seg.size;
        let crc = match seg.crc64 {
            Some(crc) if whole || seg.size <= bound => crc,
            _ => {
                let plain = self.blobs.read(&seg.blob, off, n).await?;
                return Ok(plain.map_err(|e| Box::new(e) as crate::BoxError).boxed());
            }
        };
        let inner = self.blobs.read(&seg.blob, 0, seg.size).await?;
        let checked = Verified::new(inner, &seg, crc, self.stats.clone());
        if first && seg.size <= VERIFY_AHEAD {
            let all = collect(checked, seg.size).await?;
            let part = all.slice(off as usize..(off + n) as usize);
            return Ok(futures::stream::once(async move { Ok(part) }).boxed());
        }
        Ok(if whole { checked.boxed() } else { Window::new(checked, off, n).boxed() })
    }
}

/// The byte range of part `n` and the part count, for a multipart object
/// (whose segments are its parts); part 1 of any other object is all of it.
fn part_range(o: &ObjectRecord, n: u32) -> Result<(Option<ResolvedRange>, Option<usize>), EngineError> {
    let multipart = o.etag.contains('-');
    match (&o.data, multipart) {
        (ObjectData::Segments(segs), true) => {
            let i = (n as usize).checked_sub(1).filter(|i| *i < segs.len()).ok_or(EngineError::InvalidPart(n))?;
            let start: u64 = segs[..i].iter().map(|s| s.size).sum();
            Ok((Some(ResolvedRange { start, len: segs[i].size }), Some(segs.len())))
        }
        _ if n == 1 => Ok((None, None)),
        _ => Err(EngineError::InvalidPart(n)),
    }
}

/// The (segment, offset, length) pieces covering `start..start+len` of the segments.
fn pieces(segs: &[Segment], start: u64, len: u64) -> Vec<(Segment, u64, u64)> {
    let end = start + len;
    let mut out = Vec::new();
    let mut pos = 0u64;
    for s in segs {
        let (a, b) = (pos, pos + s.size);
        pos = b;
        if b <= start || a >= end || s.size == 0 {
            continue;
        }
        let from = start.max(a) - a;
        let to = end.min(b) - a;
        out.push((s.clone(), from, to - from));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use coffer_types::BlobId;

    #[test]
    fn pieces_cover_ranges() {
        let ids: Vec<BlobId> = (0..3).map(|_| BlobId::random()).collect();
        let segs: Vec<Segment> = ids.iter().map(|b| Segment { blob: b.clone(), size: 10, crc64: None }).collect();
        let p = pieces(&segs, 5, 20);
        assert_eq!(p, vec![(segs[0].clone(), 5, 5), (segs[1].clone(), 0, 10), (segs[2].clone(), 0, 5)]);
        assert_eq!(pieces(&segs, 10, 10), vec![(segs[1].clone(), 0, 10)]);
        assert_eq!(pieces(&segs, 29, 1), vec![(segs[2].clone(), 9, 1)]);
        assert!(pieces(&segs, 0, 0).is_empty());
    }

    #[test]
    fn condition_order() {
        let c = |m: Option<&str>, n: Option<&str>, ims: Option<i64>, ius: Option<i64>| Conditions {
            if_match: m.map(Into::into),
            if_none_match: n.map(Into::into),
            if_modified_since: ims,
            if_unmodified_since: ius,
        };
        let lm = 100_000; // 100 s
        assert!(c(Some("\"e\""), None, None, None).check("e", lm).is_ok());
        assert!(matches!(c(Some("\"x\""), None, None, None).check("e", lm), Err(EngineError::PreconditionFailed)));
        // If-Match true overrides a failing If-Unmodified-Since.
        assert!(c(Some("\"e\""), None, None, Some(50)).check("e", lm).is_ok());
        assert!(matches!(c(None, None, None, Some(50)).check("e", lm), Err(EngineError::PreconditionFailed)));
        assert!(matches!(c(None, Some("\"e\""), None, None).check("e", lm), Err(EngineError::NotModified { .. })));
        assert!(c(None, Some("\"x\""), Some(200), None).check("e", lm).is_ok());
        assert!(matches!(c(None, None, Some(100), None).check("e", lm), Err(EngineError::NotModified { .. })));
        assert!(c(None, None, Some(99), None).check("e", lm).is_ok());
    }
}
