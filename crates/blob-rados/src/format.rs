//! The on-RADOS format (version 1): object names and the head.
//!
//! A blob `<id>` (32 lower-case hex digits) is:
//! - stripes `<id>.<n>` (`n` decimal from 0, no leading zeros): the blob's
//!   bytes `n × stripe .. (n + 1) × stripe`, every stripe full but the last.
//!   Stripe 0 always exists (empty for an empty blob): the writer creates it
//!   first, so even a writer that crashed before its first byte leaves
//!   something for `clean_temp` to find. The stripes of a blob are always a
//!   prefix `0..=k` (written in order, removed last-first, stripe 0 last).
//! - the head `<id>`, written last, exclusively (only if it does not exist):
//!   one line `coffer-rados-blob 1 <length> <stripe size>\n`. A blob exists
//!   exactly when its head does and is not empty.
//! - an empty head is a tombstone: `clean_temp` creates it (exclusively,
//!   so a late commit of the same blob fails) before removing an abandoned
//!   writer's stripes, and removes it on a later pass.
//!
//! A head of another version is refused ([`coffer_blob::BlobError::Format`]);
//! a new version gets a new number on the head line.

use coffer_blob::BlobError;
use coffer_types::BlobId;

/// The head line's first word.
const MAGIC: &str = "coffer-rados-blob";
/// The format this code writes and reads.
pub const VERSION: u32 = 1;
/// A head is never longer than this (magic, version and two u64s).
pub const HEAD_MAX: usize = 128;

/// What a head says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    pub len: u64,
    pub stripe: u64,
}

impl Head {
    pub fn encode(&self) -> String {
        format!("{MAGIC} {VERSION} {} {}\n", self.len, self.stripe)
    }

    pub fn decode(bytes: &[u8]) -> Result<Head, BlobError> {
        let bad = || BlobError::Format(format!("RADOS blob head {:?}", String::from_utf8_lossy(bytes)));
        let text = std::str::from_utf8(bytes).map_err(|_| bad())?;
        let words: Vec<&str> = text.split_ascii_whitespace().collect();
        match words.as_slice() {
            [MAGIC, version, len, stripe] => {
                if *version != VERSION.to_string() {
                    return Err(BlobError::Format(format!(
                        "RADOS blob head version {version} (this build reads {VERSION})"
                    )));
                }
                let len: u64 = len.parse().map_err(|_| bad())?;
                let stripe: u64 = stripe.parse().map_err(|_| bad())?;
                if stripe == 0 {
                    return Err(bad());
                }
                Ok(Head { len, stripe })
            }
            _ => Err(bad()),
        }
    }

    /// How many stripe objects the blob has (at least one).
    pub fn stripes(&self) -> u64 {
        self.len.div_ceil(self.stripe).max(1)
    }
}

/// The head object's name.
pub fn head_name(id: &BlobId) -> String {
    id.as_str().to_owned()
}

/// Stripe `n`'s object name.
pub fn stripe_name(id: &BlobId, n: u64) -> String {
    format!("{}.{n}", id.as_str())
}

/// What an object of the pool is.
#[derive(Debug, PartialEq, Eq)]
pub enum Name {
    Head(BlobId),
    Stripe(BlobId, u64),
}

/// Parses an object name; `None` for objects that are not ours.
pub fn parse_name(name: &str) -> Option<Name> {
    match name.split_once('.') {
        None => BlobId::parse(name).ok().map(Name::Head),
        Some((id, n)) => {
            let id = BlobId::parse(id).ok()?;
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || (n.len() > 1 && n.starts_with('0')) {
                return None;
            }
            Some(Name::Stripe(id, n.parse().ok()?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_round_trip_and_refusals() {
        let h = Head { len: 20 << 20, stripe: 4 << 20 };
        assert_eq!(h.encode(), "coffer-rados-blob 1 20971520 4194304\n");
        assert_eq!(Head::decode(h.encode().as_bytes()).unwrap(), h);
        assert!(h.encode().len() <= HEAD_MAX);
        assert!(
            matches!(Head::decode(b"coffer-rados-blob 2 1 1\n"), Err(BlobError::Format(m)) if m.contains("version 2"))
        );
        for bad in [&b""[..], b"coffer-rados-blob 1 5", b"coffer-rados-blob 1 5 0", b"other 1 5 5", b"\xff"] {
            assert!(matches!(Head::decode(bad), Err(BlobError::Format(_))), "{bad:?}");
        }
    }

    #[test]
    fn stripe_counts() {
        let s = |len| Head { len, stripe: 4 }.stripes();
        assert_eq!([s(0), s(1), s(4), s(5), s(8), s(9)], [1, 1, 1, 2, 2, 3]);
    }

    #[test]
    fn names() {
        let id = BlobId::parse("0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(parse_name(&head_name(&id)), Some(Name::Head(id.clone())));
        assert_eq!(parse_name(&stripe_name(&id, 0)), Some(Name::Stripe(id.clone(), 0)));
        assert_eq!(parse_name(&stripe_name(&id, 12)), Some(Name::Stripe(id.clone(), 12)));
        for other in [
            "with-ceph-probe",
            "0123456789abcdef0123456789abcdef.",
            "0123456789abcdef0123456789abcdef.01",
            "0123456789abcdef0123456789abcdef.x",
            "0123.1",
        ] {
            assert_eq!(parse_name(other), None, "{other}");
        }
    }
}
