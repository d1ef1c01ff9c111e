//! The request parameters of an IAM call (a form-encoded body, `+` for
//! space) and the `Marker`/`MaxItems` paging every listing shares.

use super::errors::{ApiError, Code};
use percent_encoding::percent_decode;

/// Decoded `name=value` pairs; the first of repeated names wins.
#[derive(Debug, Default)]
pub(crate) struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// Parses `a=1&b=x+y%21`. Text that is not UTF-8 once decoded is `InvalidInput`.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let mut pairs = Vec::new();
        for part in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (k, v) = match part.iter().position(|&b| b == b'=') {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &b""[..]),
            };
            pairs.push((decode(k)?, decode(v)?));
        }
        Ok(Form { pairs })
    }

    /// Every `(name, value)` pair, in body order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// A parameter, if present (empty values count as present).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A required parameter: missing or empty is a `ValidationError`.
    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name).filter(|v| !v.is_empty()).ok_or_else(|| ApiError::missing(name))
    }

    /// `MaxItems` (1..=1000, default 100) and `Marker`.
    pub fn paging(&self) -> Result<(usize, Option<&str>), ApiError> {
        let max = match self.get("MaxItems") {
            None => 100,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=1000).contains(&n) => n,
                _ => {
                    return Err(ApiError::new(
                        Code::ValidationError,
                        format!("1 validation error detected: Value '{v}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000"),
                    ))
                }
            },
        };
        Ok((max, self.get("Marker").filter(|m| !m.is_empty())))
    }
}

/// `+` is a space, then percent-decoding, then UTF-8.
fn decode(raw: &[u8]) -> Result<String, ApiError> {
    let spaced: Vec<u8> = raw.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
    let bytes: Vec<u8> = percent_decode(&spaced).collect();
    String::from_utf8(bytes).map_err(|_| ApiError::new(Code::InvalidInput, "request parameters must be UTF-8"))
}

/// One page of `items`, ordered by `key`: those from the item whose key is
/// `marker` (or the first after it) on, at most `max`, and the marker of
/// the next page (the key of its first item) when there is one.
pub(crate) fn page<T>(
    mut items: Vec<T>,
    key: impl Fn(&T) -> String,
    max: usize,
    marker: Option<&str>,
) -> (Vec<T>, Option<String>) {
    items.sort_by_key(|t| key(t));
    let start = marker.map_or(0, |m| items.iter().position(|t| key(t).as_str() >= m).unwrap_or(items.len()));
    let mut rest: Vec<T> = items.into_iter().skip(start).collect();
    let next = rest.get(max).map(&key);
    rest.truncate(max);
    (rest, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_plus_and_percent() {
        let f = Form::parse(b"Action=PutUserPolicy&PolicyDocument=%7B%22a%22%3A+1%7D&Empty=&Flag&Action=x").unwrap();
        assert_eq!(f.get("Action"), Some("PutUserPolicy"));
        assert_eq!(f.get("PolicyDocument"), Some("{\"a\": 1}"));
        assert_eq!(f.get("Empty"), Some(""));
        assert_eq!(f.get("Flag"), Some(""));
        assert!(f.required("Empty").is_err());
        let e = f.required("UserName").unwrap_err();
        assert_eq!(e.code, Code::ValidationError);
        assert!(e.message.contains("'userName'"));
        assert!(Form::parse(b"a=%FF").is_err());
    }

    #[test]
    fn paging_resumes_at_the_marker() {
        let items: Vec<String> = ["d", "a", "c", "b", "e"].iter().map(|s| s.to_string()).collect();
        let (p1, next) = page(items.clone(), |s| s.clone(), 2, None);
        assert_eq!((p1, next.as_deref()), (vec!["a".to_string(), "b".into()], Some("c")));
        let (p2, next) = page(items.clone(), |s| s.clone(), 2, Some("c"));
        assert_eq!((p2, next.as_deref()), (vec!["c".to_string(), "d".into()], Some("e")));
        let (p3, next) = page(items, |s| s.clone(), 2, Some("e"));
        assert_eq!((p3, next), (vec!["e".to_string()], None));
        let f = Form::parse(b"MaxItems=0").unwrap();
        assert!(f.paging().is_err());
    }
}
