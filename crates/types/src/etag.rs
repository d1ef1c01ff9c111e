//! Entity tags: the hex MD5 of a single-part object, or the multipart form.

use md5::{Digest, Md5};
use std::fmt;

/// An object's entity tag, stored and compared without the surrounding quotes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ETag(String);

impl ETag {
    /// The ETag of a single-part object: its MD5 in lower-case hex.
    pub fn from_md5(md5: &[u8; 16]) -> Self {
        ETag(hex::encode(md5))
    }

    /// The multipart ETag: MD5 over the concatenated binary part MD5s, then `-N`.
    pub fn multipart(part_md5s: &[[u8; 16]]) -> Self {
        let mut h = Md5::new();
        for m in part_md5s {
            h.update(m);
        }
        ETag(format!("{}-{}", hex::encode(h.finalize()), part_md5s.len()))
    }

    /// Wraps a stored ETag string (without quotes).
    pub fn from_stored(s: impl Into<String>) -> Self {
        ETag(s.into())
    }

    /// The unquoted value.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The quoted form used in HTTP headers and XML.
    pub fn quoted(&self) -> String {
        format!("\"{}\"", self.0)
    }

    /// The binary MD5 when this is a single-part ETag.
    pub fn md5_bytes(&self) -> Option<[u8; 16]> {
        let v = hex::decode(&self.0).ok()?;
        v.try_into().ok()
    }

    /// Whether an `If-Match`/`If-None-Match` header value matches this ETag
    /// (a comma-separated list, `*`, quoted or unquoted, weak prefix ignored).
    pub fn matches_header(&self, header: &str) -> bool {
        header.split(',').map(str::trim).any(|t| {
            let t = t.strip_prefix("W/").unwrap_or(t);
            t == "*" || t.trim_matches('"') == self.0
        })
    }
}

impl fmt::Display for ETag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_part_is_hex_md5() {
        let d: [u8; 16] = Md5::digest(b"").into();
        assert_eq!(ETag::from_md5(&d).as_str(), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(ETag::from_md5(&d).md5_bytes(), Some(d));
    }

    #[test]
    fn multipart_form() {
        let a: [u8; 16] = Md5::digest(b"a").into();
        let b: [u8; 16] = Md5::digest(b"b").into();
        let mut cat = Vec::new();
        cat.extend_from_slice(&a);
        cat.extend_from_slice(&b);
        let want = format!("{}-2", hex::encode(Md5::digest(&cat)));
        assert_eq!(ETag::multipart(&[a, b]).as_str(), want);
        assert_eq!(ETag::multipart(&[a, b]).md5_bytes(), None);
    }

    #[test]
    fn header_matching() {
        let e = ETag::from_stored("abc");
        assert!(e.matches_header("\"abc\""));
        assert!(e.matches_header("\"x\", \"abc\""));
        assert!(e.matches_header("*"));
        assert!(e.matches_header("W/\"abc\""));
        assert!(!e.matches_header("\"abd\""));
    }
}
