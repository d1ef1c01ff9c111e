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
    }
}
