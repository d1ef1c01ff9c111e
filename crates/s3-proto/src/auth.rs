//! Which authentication a request carries: Signature Version 4, Signature
//! Version 2, or none. Parsing only; verification is per version
//! ([`crate::sigv4::AuthRequest::verify`], [`crate::sigv2::V2Auth::verify`]).

use crate::error::S3Error;
use crate::sigv2::{self, Mechanisms, V2Auth};
use crate::sigv4::{self, AuthRequest, SignedRequest};

/// A parsed, not yet verified authentication.
#[derive(Clone, Debug)]
pub enum Auth {
    /// `AWS4-HMAC-SHA256`, header or presigned.
    V4(AuthRequest),
    /// `AWS ak:sig`, header or presigned.
    V2(V2Auth),
}

/// Ok(None) = anonymous.
///
/// More than one mechanism (an `Authorization` header, SigV4 query
/// parameters, SigV2 query parameters) is `InvalidArgument` "Only one auth
/// mechanism allowed", as on AWS, whatever the versions.
pub fn parse(req: &SignedRequest) -> Result<Option<Auth>, S3Error> {
    if Mechanisms::of(req).count() > 1 {
        return Err(sigv2::only_one_mechanism());
    }
    if let Some(v4) = sigv4::parse(req)? {
        return Ok(Some(Auth::V4(v4)));
    }
    Ok(sigv2::parse(req)?.map(Auth::V2))
}

impl Auth {
    /// The access key id the request claims.
    pub fn access_key(&self) -> &str {
        match self {
            Auth::V4(a) => a.access_key(),
            Auth::V2(a) => a.access_key(),
        }
    }

    /// Whether this came from presigned URL query parameters.
    pub fn is_presigned(&self) -> bool {
        match self {
            Auth::V4(a) => a.is_presigned(),
            Auth::V2(a) => a.is_presigned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderMap;
    use time::macros::datetime;

    use super::*;
    use crate::error::S3ErrorCode;

    const AK: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    fn req<'a>(path: &'a str, query: &'a str, h: &'a HeaderMap) -> SignedRequest<'a> {
        SignedRequest { method: "GET", raw_path: path, raw_query: query, headers: h }
    }

    fn v4_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("host", "bkt.example.com".parse().unwrap());
        let now = datetime!(2024-01-02 03:04:05 UTC);
        sigv4::sign_request("GET", "/k", "", &mut h, sigv4::UNSIGNED_PAYLOAD, AK, SECRET, "us-east-1", now);
        h
    }

    fn v2_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("host", "s3.example.com".parse().unwrap());
        h.insert("date", "Tue, 02 Jan 2024 03:04:05 GMT".parse().unwrap());
        let auth = sigv2::sign_header("GET", "/bkt/k", "", &h, AK, SECRET);
        h.insert("authorization", auth.parse().unwrap());
        h
    }

    #[test]
    fn routes_v4_v2_and_anonymous() {
        let h = v4_headers();
        let r = req("/k", "", &h);
        let auth = parse(&r).unwrap().unwrap();
        assert!(matches!(auth, Auth::V4(_)));
        assert_eq!(auth.access_key(), AK);
        assert!(!auth.is_presigned());

        let h = v2_headers();
        let r = req("/bkt/k", "", &h);
        let auth = parse(&r).unwrap().unwrap();
        assert_eq!(auth.access_key(), AK);
        let Auth::V2(v2) = auth else { panic!("expected SigV2") };
        v2.verify(&r, SECRET, None, datetime!(2024-01-02 03:04:05 UTC)).unwrap();

        let h = HeaderMap::new();
        let q = sigv2::presign_query("GET", "/bkt/k", "", AK, SECRET, 1_700_000_000);
        let r = req("/bkt/k", &q, &h);
        let auth = parse(&r).unwrap().unwrap();
        assert!(matches!(auth, Auth::V2(_)) && auth.is_presigned());

        let q = sigv4::presign_query(
            "GET",
            "/k",
            "",
            "bkt.example.com",
            AK,
            SECRET,
            "us-east-1",
            datetime!(2024-01-02 03:04:05 UTC),
            60,
        );
        let mut h = HeaderMap::new();
        h.insert("host", "bkt.example.com".parse().unwrap());
        let auth = parse(&req("/k", &q, &h)).unwrap().unwrap();
        assert!(matches!(auth, Auth::V4(_)) && auth.is_presigned());

        for query in ["", "prefix=a&max-keys=2", "acl"] {
            assert!(parse(&req("/bkt", query, &h)).unwrap().is_none(), "{query}");
        }
    }

    #[test]
    fn only_one_mechanism_is_allowed() {
        let v2_query = sigv2::presign_query("GET", "/bkt/k", "", AK, SECRET, 1_700_000_000);
        let v4_query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00";
        let both_queries = format!("{v2_query}&{v4_query}");
        let cases: [(HeaderMap, &str); 5] = [
            (v4_headers(), &v2_query),
            (v2_headers(), &v2_query),
            (v2_headers(), v4_query),
            (HeaderMap::new(), &both_queries),
            (v4_headers(), "Signature=abc"),
        ];
        for (h, q) in &cases {
            let e = parse(&req("/bkt/k", q, h)).unwrap_err();
            assert_eq!(e.code, S3ErrorCode::InvalidArgument, "{q}");
            assert!(e.message.starts_with("Only one auth mechanism allowed"), "{}", e.message);
        }
    }

    #[test]
    fn errors_of_each_version_come_through() {
        let mut h = HeaderMap::new();
        h.insert("authorization", "AWS no-colon".parse().unwrap());
        h.insert("date", "Tue, 02 Jan 2024 03:04:05 GMT".parse().unwrap());
        assert_eq!(parse(&req("/", "", &h)).unwrap_err().code, S3ErrorCode::InvalidArgument);
        h.insert("authorization", "AWS4-HMAC-SHA256 garbage".parse().unwrap());
        assert_eq!(parse(&req("/", "", &h)).unwrap_err().code, S3ErrorCode::AuthorizationHeaderMalformed);
        let e = parse(&req("/", "Signature=x", &HeaderMap::new())).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::AccessDenied);
    }
}
