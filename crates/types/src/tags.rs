//! Tag sets of objects and buckets, with S3's limits: at most 10 tags on an
//! object and 50 on a bucket, keys of 1–128 characters and values of up to
//! 256, unique keys, none under the reserved `aws:` prefix, and only
//! letters, digits, white space and `+ - = . _ : / @`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most tags an object carries.
pub const MAX_OBJECT_TAGS: usize = 10;
/// The most tags a bucket carries.
pub const MAX_BUCKET_TAGS: usize = 50;
/// The longest tag key, in characters.
pub const MAX_TAG_KEY: usize = 128;
/// The longest tag value, in characters.
pub const MAX_TAG_VALUE: usize = 256;

/// Why a tag set is refused (S3 answers `400 InvalidTag` with this message).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    #[error("Object tags cannot be greater than {0}")]
    TooMany(usize),
    #[error("The TagKey you have provided is too long, max {MAX_TAG_KEY}")]
    KeyTooLong,
    #[error("The TagValue you have provided is too long, max {MAX_TAG_VALUE}")]
    ValueTooLong,
    #[error("The TagKey you have provided is invalid")]
    InvalidKey,
    #[error("The TagValue you have provided is invalid")]
    InvalidValue,
    #[error("Cannot provide multiple Tags with the same key")]
    DuplicateKey,
    #[error("Your TagKey cannot be prefixed with aws:")]
    Reserved,
    #[error("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.")]
    BadEncoding,
}

/// A set of tags: unique keys, in key order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TagSet(BTreeMap<String, String>);

fn allowed(c: char) -> bool {
    c.is_alphanumeric() || c.is_whitespace() || "+-=._:/@".contains(c)
}

impl TagSet {
    /// Builds a set from pairs in the order given, checking every limit;
    /// `max` is [`MAX_OBJECT_TAGS`] or [`MAX_BUCKET_TAGS`].
    pub fn from_pairs<I>(pairs: I, max: usize) -> Result<TagSet, TagError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut map = BTreeMap::new();
        for (k, v) in pairs {
            if k.is_empty() || !k.chars().all(allowed) {
                return Err(TagError::InvalidKey);
            }
            if k.chars().count() > MAX_TAG_KEY {
                return Err(TagError::KeyTooLong);
            }
            if v.chars().count() > MAX_TAG_VALUE {
                return Err(TagError::ValueTooLong);
            }
            if !v.chars().all(allowed) {
                return Err(TagError::InvalidValue);
            }
            if k.as_bytes().get(..4).is_some_and(|p| p.eq_ignore_ascii_case(b"aws:")) {
                return Err(TagError::Reserved);
            }
            if map.insert(k, v).is_some() {
                return Err(TagError::DuplicateKey);
            }
            if map.len() > max {
                return Err(TagError::TooMany(max));
            }
        }
        Ok(TagSet(map))
    }

    /// Parses the `x-amz-tagging` header: URL-encoded query parameters
    /// (`k1=v1&k2=v2`, `+` is a space as in forms) of an object's tags.
    pub fn parse_header(s: &str) -> Result<TagSet, TagError> {
        TagSet::parse_query(s, MAX_OBJECT_TAGS)
    }

    /// [`TagSet::parse_header`] with `max` tags (a bucket's stored tags).
    pub fn parse_query(s: &str, max: usize) -> Result<TagSet, TagError> {
        let decode = |p: &str| {
            percent_encoding::percent_decode_str(&p.replace('+', " "))
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| TagError::BadEncoding)
        };
        let mut pairs = Vec::new();
        for part in s.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            pairs.push((decode(k)?, decode(v)?));
        }
        TagSet::from_pairs(pairs, max)
    }

    /// The set in the `x-amz-tagging` form ([`TagSet::parse_query`] reads it back).
    pub fn to_query(&self) -> String {
        use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
        let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
        self.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
    }

    /// The tags, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// A tag's value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(n: usize) -> Vec<(String, String)> {
        (0..n).map(|i| (format!("k{i}"), format!("v{i}"))).collect()
    }

    #[test]
    fn limits() {
        assert_eq!(TagSet::from_pairs(pairs(10), MAX_OBJECT_TAGS).unwrap().len(), 10);
        assert_eq!(TagSet::from_pairs(pairs(11), MAX_OBJECT_TAGS), Err(TagError::TooMany(10)));
        assert_eq!(TagSet::from_pairs(pairs(50), MAX_BUCKET_TAGS).unwrap().len(), 50);
        assert_eq!(TagSet::from_pairs(pairs(51), MAX_BUCKET_TAGS), Err(TagError::TooMany(50)));
        let k128 = "k".repeat(128);
        let v256 = "é".repeat(256);
        assert!(TagSet::from_pairs([(k128.clone(), v256.clone())], 10).is_ok());
        assert_eq!(TagSet::from_pairs([(format!("{k128}k"), "v".into())], 10), Err(TagError::KeyTooLong));
        assert_eq!(TagSet::from_pairs([("k".into(), format!("{v256}v"))], 10), Err(TagError::ValueTooLong));
        assert_eq!(TagSet::from_pairs([(String::new(), "v".into())], 10), Err(TagError::InvalidKey));
        assert_eq!(TagSet::from_pairs([("a<b".into(), "v".into())], 10), Err(TagError::InvalidKey));
        assert_eq!(TagSet::from_pairs([("a".into(), "v&".into())], 10), Err(TagError::InvalidValue));
        assert_eq!(TagSet::from_pairs([("AWS:x".into(), "v".into())], 10), Err(TagError::Reserved));
        let dup = [("a".to_string(), "1".to_string()), ("a".to_string(), "2".to_string())];
        assert_eq!(TagSet::from_pairs(dup, 10), Err(TagError::DuplicateKey));
        assert!(TagSet::from_pairs([("a b+c-d=e.f_g:h/i@j".into(), String::new())], 10).is_ok());
        // Multi-byte characters near the reserved prefix's length.
        assert!(TagSet::from_pairs([("é/ü".into(), "v".into()), ("awsé".into(), "v".into())], 10).is_ok());
    }

    #[test]
    fn header_form() {
        let t = TagSet::parse_header("Project=Blue%20Sky&empty=&flag&a+b=c%2Fd").unwrap();
        assert_eq!(t.get("Project"), Some("Blue Sky"));
        assert_eq!((t.get("empty"), t.get("flag")), (Some(""), Some("")));
        assert_eq!(t.get("a b"), Some("c/d"));
        assert_eq!(TagSet::parse_header("a=1&a=2"), Err(TagError::DuplicateKey));
        assert_eq!(TagSet::parse_header("a=%FF"), Err(TagError::BadEncoding));
        assert!(TagSet::parse_header("").unwrap().is_empty());
        assert_eq!(TagSet::parse_query(&t.to_query(), MAX_OBJECT_TAGS).unwrap(), t);
    }
}
