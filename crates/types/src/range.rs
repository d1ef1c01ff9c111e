//! HTTP byte ranges (`Range: bytes=...`), one range per request as S3 supports.

/// A parsed `Range` header before the object size is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=first-last` (inclusive).
    FromTo(u64, u64),
    /// `bytes=first-`.
    From(u64),
    /// `bytes=-n`: the last n bytes.
    Suffix(u64),
}

/// A range resolved against an object size: `start..start+len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResolvedRange {
    pub start: u64,
    pub len: u64,
}

/// Range problems.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RangeError {
    /// The header is syntactically not a single byte range; S3 then ignores it.
    #[error("malformed range")]
    Malformed,
    /// The range lies outside the object: 416 InvalidRange.
    #[error("range not satisfiable")]
    Unsatisfiable,
}

impl ByteRange {
    /// Parses a `Range` header value.
    pub fn parse(header: &str) -> Result<Self, RangeError> {
        let spec = header.trim().strip_prefix("bytes=").ok_or(RangeError::Malformed)?;
        if spec.contains(',') {
            return Err(RangeError::Malformed);
        }
        let (a, b) = spec.split_once('-').ok_or(RangeError::Malformed)?;
        let (a, b) = (a.trim(), b.trim());
        let num = |s: &str| s.parse::<u64>().map_err(|_| RangeError::Malformed);
        match (a.is_empty(), b.is_empty()) {
            (true, true) => Err(RangeError::Malformed),
            (true, false) => Ok(ByteRange::Suffix(num(b)?)),
            (false, true) => Ok(ByteRange::From(num(a)?)),
            (false, false) => {
                let (x, y) = (num(a)?, num(b)?);
                if y < x {
                    return Err(RangeError::Malformed);
                }
                Ok(ByteRange::FromTo(x, y))
            }
        }
    }

    /// Resolves against an object of `size` bytes.
    pub fn resolve(self, size: u64) -> Result<ResolvedRange, RangeError> {
        match self {
            ByteRange::FromTo(a, b) => {
                if b < a {
                    return Err(RangeError::Malformed);
                }
                if a >= size {
                    return Err(RangeError::Unsatisfiable);
                }
                let end = b.min(size - 1);
                Ok(ResolvedRange { start: a, len: end - a + 1 })
            }
            ByteRange::From(a) => {
                if a >= size {
                    return Err(RangeError::Unsatisfiable);
                }
                Ok(ResolvedRange { start: a, len: size - a })
            }
            ByteRange::Suffix(n) => {
                if n == 0 || size == 0 {
                    return Err(RangeError::Unsatisfiable);
                }
                let n = n.min(size);
                Ok(ResolvedRange { start: size - n, len: n })
            }
        }
    }
}

impl ResolvedRange {
    /// The `Content-Range` header value for an object of `size` bytes.
    pub fn content_range(&self, size: u64) -> String {
        format!("bytes {}-{}/{}", self.start, self.start + self.len - 1, size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_forms() {
        assert_eq!(ByteRange::parse("bytes=0-9"), Ok(ByteRange::FromTo(0, 9)));
        assert_eq!(ByteRange::parse("bytes=5-"), Ok(ByteRange::From(5)));
        assert_eq!(ByteRange::parse("bytes=-3"), Ok(ByteRange::Suffix(3)));
        assert_eq!(ByteRange::parse("bytes=9-0"), Err(RangeError::Malformed));
        assert_eq!(ByteRange::parse("bytes=0-1,3-4"), Err(RangeError::Malformed));
        assert_eq!(ByteRange::parse("items=0-1"), Err(RangeError::Malformed));
    }

    #[test]
    fn resolve_against_size() {
        let r = ByteRange::FromTo(2, 100).resolve(10).unwrap();
        assert_eq!((r.start, r.len), (2, 8));
        assert_eq!(r.content_range(10), "bytes 2-9/10");
        assert_eq!(ByteRange::From(10).resolve(10), Err(RangeError::Unsatisfiable));
        let s = ByteRange::Suffix(20).resolve(10).unwrap();
        assert_eq!((s.start, s.len), (0, 10));
        assert_eq!(ByteRange::Suffix(0).resolve(10), Err(RangeError::Unsatisfiable));
        assert_eq!(ByteRange::FromTo(0, 0).resolve(0), Err(RangeError::Unsatisfiable));
        // Only parse builds ranges today, but a hand-built inverted one must not underflow.
        assert_eq!(ByteRange::FromTo(5, 2).resolve(10), Err(RangeError::Malformed));
    }
}
