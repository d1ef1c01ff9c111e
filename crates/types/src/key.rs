//! Object keys: any UTF-8 string of 1 to 1024 bytes, compared bytewise.

use std::fmt;

/// The longest key S3 accepts, in bytes of UTF-8.
pub const MAX_KEY_LEN: usize = 1024;

/// A validated object key. Keys are opaque: `..`, `/` and `\` carry no meaning to
/// Coffer, which never builds a file path from a key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey(String);

/// Why a string is not a valid object key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidObjectKey {
    #[error("object key must not be empty")]
    Empty,
    #[error("object key is longer than {MAX_KEY_LEN} bytes")]
    TooLong,
}

impl ObjectKey {
    /// Validates `s` as an object key.
    pub fn parse(s: &str) -> Result<Self, InvalidObjectKey> {
        if s.is_empty() {
            return Err(InvalidObjectKey::Empty);
        }
        if s.len() > MAX_KEY_LEN {
            return Err(InvalidObjectKey::TooLong);
        }
        Ok(ObjectKey(s.to_owned()))
    }

    /// The key as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_limits() {
        assert_eq!(ObjectKey::parse(""), Err(InvalidObjectKey::Empty));
        assert!(ObjectKey::parse(&"k".repeat(1024)).is_ok());
        assert_eq!(ObjectKey::parse(&"k".repeat(1025)), Err(InvalidObjectKey::TooLong));
        // 512 two-byte characters = 1024 bytes; one more is too long.
        assert!(ObjectKey::parse(&"é".repeat(512)).is_ok());
        assert!(ObjectKey::parse(&"é".repeat(513)).is_err());
    }

    #[test]
    fn dot_dot_is_just_text() {
        assert_eq!(ObjectKey::parse("../../etc/passwd").unwrap().as_str(), "../../etc/passwd");
    }
}
