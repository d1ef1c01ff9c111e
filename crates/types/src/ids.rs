//! Internal identifiers: blob ids and multipart upload ids.

use rand::RngCore;
use std::fmt;

/// The internal name of a stored blob: 128 random bits, as 32 lower-case hex
/// characters. Blob paths are built only from this, never from user input.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobId(String);

/// A string that is not 32 lower-case hex characters.
#[derive(Debug, thiserror::Error)]
#[error("invalid blob id")]
pub struct InvalidBlobId;

impl BlobId {
    /// A fresh random id.
    pub fn random() -> Self {
        let mut b = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut b);
        BlobId(hex::encode(b))
    }

    /// Parses a stored id, checking its shape so it is safe in a path.
    pub fn parse(s: &str) -> Result<Self, InvalidBlobId> {
        if s.len() == 32 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(BlobId(s.to_owned()))
        } else {
            Err(InvalidBlobId)
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A multipart upload id, opaque to clients: 128 random bits in hex.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UploadId(pub String);

impl UploadId {
    /// A fresh random upload id.
    pub fn random() -> Self {
        let mut b = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut b);
        UploadId(hex::encode(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_id_shape() {
        let id = BlobId::random();
        assert!(BlobId::parse(id.as_str()).is_ok());
        assert!(BlobId::parse("../../etc/passwd00000000000000000").is_err());
        assert!(BlobId::parse("ABCDEF00000000000000000000000000").is_err());
    }
}
