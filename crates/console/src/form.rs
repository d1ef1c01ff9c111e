//! `application/x-www-form-urlencoded` bodies and query strings.

/// Decoded `name=value` pairs, in order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    /// Decodes `a=1&b=x+y&c=%3C`; malformed escapes are kept as written.
    pub fn parse(raw: &[u8]) -> Form {
        Form(
            raw.split(|&b| b == b'&')
                .filter(|p| !p.is_empty())
                .map(|pair| {
                    let mut it = pair.splitn(2, |&b| b == b'=');
                    let name = decode(it.next().unwrap_or_default());
                    let value = decode(it.next().unwrap_or_default());
                    (name, value)
                })
                .collect(),
        )
    }

    /// The first value named `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Every value named `name`, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The first value named `name`, trimmed, or "".
    pub fn text(&self, name: &str) -> &str {
        self.get(name).map_or("", str::trim)
    }
}

fn decode(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < s.len() => match (hex(s[i + 1]), hex(s[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-encodes `s` for a query-string value (everything but the
/// unreserved characters of RFC 3986).
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A console path with a query built from `pairs` (empty values left out).
pub(crate) fn href(path: &str, pairs: &[(&str, &str)]) -> String {
    let q: Vec<String> =
        pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", encode(v))).collect();
    if q.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", q.join("&"))
    }
}

/// Whether the request's body is a URL-encoded form.
pub(crate) fn is_urlencoded(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_pairs() {
        let f = Form::parse(b"a=1&b=x+y&c=%3Cscript%3E&d&e=%zz&f=%4&g=caf%C3%A9&a=2");
        assert_eq!(f.get("a"), Some("1"));
        assert_eq!(f.get("b"), Some("x y"));
        assert_eq!(f.get("c"), Some("<script>"));
        assert_eq!(f.get("d"), Some(""));
        assert_eq!(f.get("e"), Some("%zz"));
        assert_eq!(f.get("f"), Some("%4"));
        assert_eq!(f.get("g"), Some("café"));
        assert_eq!(f.get("h"), None);
        assert_eq!(f.all("a").collect::<Vec<_>>(), ["1", "2"]);
    }

    #[test]
    fn encodes_round_trip() {
        let key = "a b/c&d=e?f%g+h/é<x>";
        let h = href("/buckets/b", &[("prefix", key), ("after", "")]);
        assert_eq!(h, "/buckets/b?prefix=a%20b%2Fc%26d%3De%3Ff%25g%2Bh%2F%C3%A9%3Cx%3E");
        let q = Form::parse(h.split_once('?').map(|(_, q)| q).unwrap_or_default().as_bytes());
        assert_eq!(q.get("prefix"), Some(key));
        assert_eq!(href("/x", &[("a", "")]), "/x");
    }
}
