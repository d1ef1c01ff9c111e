//! Bucket names, validated by the S3 rules for new buckets.

use std::fmt;

/// A bucket name that satisfies the S3 naming rules (3–63 characters, lower-case
/// letters, digits, `.` and `-`, starting and ending with a letter or digit, no
/// `..`, not shaped like an IPv4 address, no reserved prefixes or suffixes).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BucketName(String);

/// Why a string is not a valid bucket name.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid bucket name: {0}")]
pub struct InvalidBucketName(pub &'static str);

impl BucketName {
    /// Validates `s` as a bucket name.
    pub fn parse(s: &str) -> Result<Self, InvalidBucketName> {
        let len = s.len();
        if !(3..=63).contains(&len) {
            return Err(InvalidBucketName("must be between 3 and 63 characters long"));
        }
        if !s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-') {
            return Err(InvalidBucketName("may contain only lower-case letters, digits, dots and hyphens"));
        }
        let first = s.as_bytes()[0];
        let last = s.as_bytes()[len - 1];
        if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
            return Err(InvalidBucketName("must begin and end with a letter or digit"));
        }
        if s.contains("..") || s.contains(".-") || s.contains("-.") {
            return Err(InvalidBucketName("must not contain adjacent periods or period-hyphen pairs"));
        }
        if s.split('.').count() == 4 && s.split('.').all(|p| p.parse::<u8>().is_ok()) {
            return Err(InvalidBucketName("must not be formatted as an IP address"));
        }
        if s.starts_with("xn--") || s.starts_with("sthree-") || s.ends_with("-s3alias") {
            return Err(InvalidBucketName("uses a reserved prefix or suffix"));
        }
        Ok(BucketName(s.to_owned()))
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BucketName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_names() {
        for n in ["abc", "my-bucket", "my.bucket.1", "a1b", &"a".repeat(63)] {
            assert!(BucketName::parse(n).is_ok(), "{n}");
        }
    }

    #[test]
    fn rejects_invalid_names() {
        for n in [
            "ab",
            &"a".repeat(64),
            "My-Bucket",
            "-abc",
            "abc-",
            "a..b",
            "a.-b",
            "192.168.5.4",
            "under_score",
            "xn--abc",
            "abc-s3alias",
            "sp ace",
        ] {
            assert!(BucketName::parse(n).is_err(), "{n}");
        }
    }
}
