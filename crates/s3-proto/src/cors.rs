//! Bucket CORS configurations: the `CORSConfiguration` document (parsed,
//! validated, rendered) and matching a browser's request against its rules.

use crate::error::{S3Error, S3ErrorCode as C};
use serde::{Deserialize, Serialize};

/// A bucket's CORS rules, in document order (the first match wins).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename = "CORSConfiguration")]
pub struct CorsConfiguration {
    #[serde(rename = "@xmlns", default, skip_deserializing)]
    pub xmlns: String,
    #[serde(rename = "CORSRule", default)]
    pub rules: Vec<CorsRule>,
}

/// One rule.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct CorsRule {
    #[serde(rename = "ID", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "AllowedHeader", default)]
    pub allowed_headers: Vec<String>,
    #[serde(rename = "AllowedMethod", default)]
    pub allowed_methods: Vec<String>,
    #[serde(rename = "AllowedOrigin", default)]
    pub allowed_origins: Vec<String>,
    #[serde(rename = "ExposeHeader", default)]
    pub expose_headers: Vec<String>,
    #[serde(rename = "MaxAgeSeconds", default, skip_serializing_if = "Option::is_none")]
    pub max_age_seconds: Option<u32>,
}

const METHODS: &[&str] = &["GET", "PUT", "POST", "DELETE", "HEAD"];
const MAX_RULES: usize = 100;

/// `pattern` with at most one `*` standing for any run of characters.
fn wildcard(pattern: &str, value: &str, ignore_case: bool) -> bool {
    let (p, v) = if ignore_case {
        (pattern.to_ascii_lowercase(), value.to_ascii_lowercase())
    } else {
        (pattern.to_owned(), value.to_owned())
    };
    match p.split_once('*') {
        None => p == v,
        Some((pre, post)) => v.len() >= pre.len() + post.len() && v.starts_with(pre) && v.ends_with(post),
    }
}

impl CorsConfiguration {
    /// Parses and validates a PutBucketCors body.
    pub fn parse(body: &[u8]) -> Result<Self, S3Error> {
        let mut cfg: CorsConfiguration = crate::xml::parse(body)?;
        if cfg.rules.is_empty() || cfg.rules.len() > MAX_RULES {
            return Err(S3Error::new(C::MalformedXML));
        }
        for r in &cfg.rules {
            if r.allowed_methods.is_empty() || r.allowed_origins.is_empty() {
                return Err(S3Error::new(C::MalformedXML));
            }
            if let Some(m) = r.allowed_methods.iter().find(|m| !METHODS.contains(&m.as_str())) {
                return Err(S3Error::with_message(
                    C::InvalidRequest,
                    format!("Found unsupported HTTP method in CORS config. Unsupported method is {m}"),
                ));
            }
            let many_stars = |v: &String| v.matches('*').count() > 1;
            if r.allowed_origins.iter().any(many_stars) || r.allowed_headers.iter().any(many_stars) {
                return Err(S3Error::with_message(
                    C::InvalidRequest,
                    "AllowedOrigin and AllowedHeader can have at most one * wildcard.",
                ));
            }
        }
        cfg.xmlns = crate::xml::NS.to_owned();
        Ok(cfg)
    }

    /// The document as stored and as GetBucketCors returns it.
    pub fn render(&self) -> Result<String, S3Error> {
        let mut c = self.clone();
        c.xmlns = crate::xml::NS.to_owned();
        crate::xml::render(&c)
    }

    /// The first rule allowing `origin` to use `method` with `headers`.
    pub fn find(&self, origin: &str, method: &str, headers: &[String]) -> Option<&CorsRule> {
        self.rules.iter().find(|r| {
            r.allowed_origins.iter().any(|o| wildcard(o, origin, false))
                && r.allowed_methods.iter().any(|m| m == method)
                && headers.iter().all(|h| r.allowed_headers.iter().any(|a| wildcard(a, h, true)))
        })
    }
}

impl CorsRule {
    /// The `Access-Control-*` response headers for a request from `origin`.
    pub fn response_headers(&self, origin: &str, preflight_headers: Option<&str>) -> Vec<(&'static str, String)> {
        let any = self.allowed_origins.iter().any(|o| o == "*");
        let mut h = vec![("access-control-allow-origin", if any { "*".to_owned() } else { origin.to_owned() })];
        if !any {
            h.push(("access-control-allow-credentials", "true".to_owned()));
        }
        h.push(("access-control-allow-methods", self.allowed_methods.join(", ")));
        if let Some(req) = preflight_headers.filter(|r| !r.trim().is_empty()) {
            h.push(("access-control-allow-headers", req.to_owned()));
        }
        if !self.expose_headers.is_empty() {
            h.push(("access-control-expose-headers", self.expose_headers.join(", ")));
        }
        if let Some(age) = self.max_age_seconds {
            h.push(("access-control-max-age", age.to_string()));
        }
        h.push(("vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method".to_owned()));
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &[u8] = br#"<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
      <CORSRule><ID>site</ID><AllowedOrigin>https://*.example.com</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedMethod>POST</AllowedMethod>
        <AllowedHeader>x-amz-*</AllowedHeader><AllowedHeader>content-type</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule>
      <CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>
    </CORSConfiguration>"#;

    #[test]
    fn parse_match_render() {
        let c = CorsConfiguration::parse(DOC).unwrap();
        assert_eq!(c.rules.len(), 2);
        let r = c.find("https://app.example.com", "PUT", &["X-Amz-Date".into(), "content-type".into()]).unwrap();
        assert_eq!(r.id.as_deref(), Some("site"));
        assert!(c.find("https://app.example.com", "PUT", &["authorization".into()]).is_none());
        assert!(c.find("https://evil.com", "PUT", &[]).is_none());
        assert!(c.find("https://evil.com", "GET", &[]).is_some(), "the * rule allows GET from anywhere");
        assert!(c.find("https://evil.com", "DELETE", &[]).is_none());
        let h = r.response_headers("https://app.example.com", Some("content-type"));
        assert!(h.contains(&("access-control-allow-origin", "https://app.example.com".into())));
        assert!(h.contains(&("access-control-max-age", "3000".into())));
        let again = CorsConfiguration::parse(c.render().unwrap().as_bytes()).unwrap();
        assert_eq!(again.rules, c.rules);
    }

    #[test]
    fn invalid_documents() {
        for bad in [
            &b"<CORSConfiguration></CORSConfiguration>"[..],
            b"<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>",
            b"nope",
        ] {
            assert_eq!(CorsConfiguration::parse(bad).unwrap_err().code, C::MalformedXML);
        }
        let m = b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod></CORSRule></CORSConfiguration>";
        assert_eq!(CorsConfiguration::parse(m).unwrap_err().code, C::InvalidRequest);
        let w = b"<CORSConfiguration><CORSRule><AllowedOrigin>*.*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>";
        assert_eq!(CorsConfiguration::parse(w).unwrap_err().code, C::InvalidRequest);
    }
}
