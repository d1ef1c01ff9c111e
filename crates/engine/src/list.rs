//! Object listings with prefix, delimiter (any length), markers and limits,
//! shared by ListObjects v1 and v2.
//!
//! The metadata store only scans key ranges; grouping into common prefixes
//! happens here. After a common prefix is found the scan jumps past every key
//! that starts with it, so a bucket with 100k keys in one "folder" costs one
//! extra query, not 100k rows.

use crate::{Engine, EngineError};
use coffer_meta::{ListQuery, ListStart, ObjectSummary};

/// A listing request.
#[derive(Clone, Debug, Default)]
pub struct ListParams {
    pub prefix: String,
    pub delimiter: Option<String>,
    /// Resume after this key or common prefix (marker, start-after, or a
    /// decoded continuation token).
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

/// Rows fetched per metadata query.
const BATCH: usize = 1000;

/// The common prefix `key` falls under, if any.
pub(crate) fn common_prefix<'a>(key: &'a str, prefix: &str, delimiter: Option<&str>) -> Option<&'a str> {
    let d = delimiter.filter(|d| !d.is_empty())?;
    let rest = key.get(prefix.len()..)?;
    rest.find(d).map(|i| &key[..prefix.len() + i + d.len()])
}

/// The smallest byte string above every key starting with `p`.
fn past(p: &str) -> ListStart {
    let mut v = p.as_bytes().to_vec();
    while let Some(last) = v.pop() {
        if last < 0xff {
            v.push(last + 1);
            return ListStart::AtOrAfter(v);
        }
    }
    // Unreachable for UTF-8 text (it never contains 0xff); list nothing more.
    ListStart::AtOrAfter(vec![0xff; 1025])
}

impl Engine {
    /// Lists objects of a bucket.
    pub async fn list_objects(&self, bucket: &str, p: &ListParams) -> Result<ListPage, EngineError> {
        let delim = p.delimiter.as_deref().filter(|d| !d.is_empty());
        let mut page = ListPage::default();
        let mut start = match &p.after {
            None => ListStart::Unbounded,
            // A marker inside a common prefix means that prefix was returned.
            Some(m) => match common_prefix(m, &p.prefix, delim) {
                Some(cp) if m.starts_with(&p.prefix) => past(cp),
                _ => ListStart::After(m.as_bytes().to_vec()),
            },
        };
        if p.max_keys == 0 {
            // Nothing requested; S3 still says whether something is there.
            self.head_bucket(bucket).await?;
            return Ok(page);
        }
        let mut count = 0usize;
        loop {
            let q = ListQuery { prefix: p.prefix.clone(), start: start.clone(), limit: BATCH };
            let rows = self.meta.list_objects(bucket, &q).await?;
            let exhausted = rows.len() < BATCH;
            let mut resume = None;
            for row in rows {
                if let Some(cp) = common_prefix(&row.key, &p.prefix, delim) {
                    resume = Some(past(cp));
                    if page.common_prefixes.last().map(String::as_str) == Some(cp) {
                        continue;
                    }
                    if count == p.max_keys {
                        page.is_truncated = true;
                        return Ok(page);
                    }
                    page.last = Some(cp.to_owned());
                    page.common_prefixes.push(cp.to_owned());
                    count += 1;
                    continue;
                }
                if count == p.max_keys {
                    page.is_truncated = true;
                    return Ok(page);
                }
                resume = Some(ListStart::After(row.key.as_bytes().to_vec()));
                page.last = Some(row.key.clone());
                page.objects.push(row);
                count += 1;
            }
            match resume {
                Some(next) if !exhausted => start = next,
                _ => return Ok(page),
            }
        }
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
