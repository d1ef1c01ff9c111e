//! Object listings with prefix, delimiter (any length), markers and limits,
//! shared by ListObjects v1 and v2 and the console.
//!
//! The metadata store does the work: [`coffer_meta::MetaStore::list_objects`]
//! takes the delimiter and returns objects and common prefixes, seeking past
//! the keys under each common prefix (`coffer_meta::listing`), so a page over
//! folders of a million keys each reads about one row per folder. This
//! module asks for one entry more than the page holds, to learn whether the
//! listing is truncated.

use crate::{Engine, EngineError};
use coffer_meta::{ListEntry, ListQuery, ListStart, ObjectSummary};

/// A listing request.
#[derive(Clone, Debug, Default)]
pub struct ListParams {
    pub prefix: String,
    pub delimiter: Option<String>,
    /// Resume after this key or common prefix (marker, start-after, or a
    /// decoded continuation token). A marker inside a common prefix skips
    /// that prefix: it was returned before.
    pub after: Option<String>,
    pub max_keys: usize,
}

/// One page of a listing.
#[derive(Clone, Debug, Default)]
pub struct ListPage {
    pub objects: Vec<ObjectSummary>,
    pub common_prefixes: Vec<String>,
    pub is_truncated: bool,
    /// The last key or common prefix returned (for NextMarker / tokens).
    pub last: Option<String>,
}

/// The common prefix `key` falls under, if any (multipart upload listings).
pub(crate) fn common_prefix<'a>(key: &'a str, prefix: &str, delimiter: Option<&str>) -> Option<&'a str> {
    let d = delimiter.filter(|d| !d.is_empty())?;
    let rest = key.get(prefix.len()..)?;
    rest.find(d).map(|i| &key[..prefix.len() + i + d.len()])
}

impl Engine {
    /// Lists objects of a bucket.
    pub async fn list_objects(&self, bucket: &str, p: &ListParams) -> Result<ListPage, EngineError> {
        let mut page = ListPage::default();
        if p.max_keys == 0 {
            // Nothing requested; S3 still says whether something is there.
            self.head_bucket(bucket).await?;
            return Ok(page);
        }
        let q = ListQuery {
            prefix: p.prefix.clone(),
            delimiter: p.delimiter.clone().filter(|d| !d.is_empty()),
            start: p.after.as_ref().map_or(ListStart::Unbounded, |m| ListStart::After(m.as_bytes().to_vec())),
            limit: p.max_keys.saturating_add(1),
        };
        let mut entries = self.meta.list_objects(bucket, &q).await?;
        if entries.len() > p.max_keys {
            entries.truncate(p.max_keys);
            page.is_truncated = true;
        }
        page.last = entries.last().map(|e| e.key().to_owned());
        for e in entries {
            match e {
                ListEntry::Object(o) => page.objects.push(o),
                ListEntry::CommonPrefix(cp) => page.common_prefixes.push(cp),
            }
        }
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_prefixes() {
        assert_eq!(common_prefix("a/b/c", "", Some("/")), Some("a/"));
        assert_eq!(common_prefix("a/b/c", "a/", Some("/")), Some("a/b/"));
        assert_eq!(common_prefix("a/b", "a/", Some("/")), None);
        assert_eq!(common_prefix("photos--2024--x", "", Some("--")), Some("photos--"));
        assert_eq!(common_prefix("abc", "", None), None);
        assert_eq!(common_prefix("abc", "", Some("")), None);
    }
}
