//! SigV2 tests: the worked examples of AWS's "Signing and Authenticating REST
//! Requests" in both directions, the presigned example, path encodings,
//! sub-resources, and every way a request is refused.

use http::HeaderMap;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::*;

mod known_answers;

const AK: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
    }
    h
}

fn request<'a>(method: &'a str, path: &'a str, query: &'a str, h: &'a HeaderMap) -> SignedRequest<'a> {
    SignedRequest { method, raw_path: path, raw_query: query, headers: h }
}

/// Parses (expecting SigV2 from [`AK`]) and verifies with `secret`.
fn check(req: &SignedRequest, secret: &str, bucket: Option<&str>, now: OffsetDateTime) -> Result<(), S3Error> {
    let auth = parse(req)?.expect("the request carries SigV2");
    assert_eq!(auth.access_key(), AK);
    auth.verify(req, secret, bucket, now)
}

fn code<T: std::fmt::Debug>(r: Result<T, S3Error>) -> S3ErrorCode {
    r.expect_err("the request must be refused").code
}

fn extra<'e>(e: &'e S3Error, name: &str) -> &'e str {
    e.extra.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str()).unwrap_or_else(|| panic!("no {name} in {e:?}"))
}

/// One worked example of the AWS documentation.
struct Example {
    method: &'static str,
    /// The path on the request line.
    path: &'static str,
    query: &'static str,
    /// The bucket when virtual-hosted (in the Host).
    bucket: Option<&'static str>,
    /// Headers without `Authorization`.
    headers: &'static [(&'static str, &'static str)],
    sts: &'static str,
    signature: &'static str,
    now: OffsetDateTime,
}

impl Example {
    fn headers(&self) -> HeaderMap {
        let mut h = headers(self.headers);
        h.insert("authorization", format!("AWS {AK}:{}", self.signature).parse().unwrap());
        h
    }

    /// The path as the client signs it: the bucket first when virtual-hosted.
    fn signed_path(&self) -> String {
        format!("{}{}", self.bucket.map(|b| format!("/{b}")).unwrap_or_default(), self.path)
    }
}

const GET_PUPPY: Example = Example {
    method: "GET",
    path: "/photos/puppy.jpg",
    query: "",
    bucket: Some("johnsmith"),
    headers: &[("host", "johnsmith.s3.amazonaws.com"), ("date", "Tue, 27 Mar 2007 19:36:42 +0000")],
    sts: "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg",
    signature: "bWq2s1WEIj+Ydj0vQ697zp+IXMU=",
    now: datetime!(2007-03-27 19:36:42 UTC),
};

const PUT_PUPPY: Example = Example {
    method: "PUT",
    path: "/photos/puppy.jpg",
    query: "",
    bucket: Some("johnsmith"),
    headers: &[
        ("content-type", "image/jpeg"),
        ("content-length", "94328"),
        ("host", "johnsmith.s3.amazonaws.com"),
        ("date", "Tue, 27 Mar 2007 21:15:45 +0000"),
    ],
    sts: "PUT\n\nimage/jpeg\nTue, 27 Mar 2007 21:15:45 +0000\n/johnsmith/photos/puppy.jpg",
    signature: "MyyxeRY7whkBe+bq8fHCL/2kKUg=",
    now: datetime!(2007-03-27 21:15:45 UTC),
};

const LIST: Example = Example {
    method: "GET",
    path: "/",
    query: "prefix=photos&max-keys=50&marker=puppy",
    bucket: Some("johnsmith"),
    headers: &[
        ("user-agent", "Mozilla/5.0"),
        ("host", "johnsmith.s3.amazonaws.com"),
        ("date", "Tue, 27 Mar 2007 19:42:41 +0000"),
    ],
    sts: "GET\n\n\nTue, 27 Mar 2007 19:42:41 +0000\n/johnsmith/",
    signature: "htDYFYduRNen8P9ZfE/s9SuKy0U=",
    now: datetime!(2007-03-27 19:42:41 UTC),
};

const FETCH_ACL: Example = Example {
    method: "GET",
    path: "/",
    query: "acl",
    bucket: Some("johnsmith"),
    headers: &[("host", "johnsmith.s3.amazonaws.com"), ("date", "Tue, 27 Mar 2007 19:44:46 +0000")],
    sts: "GET\n\n\nTue, 27 Mar 2007 19:44:46 +0000\n/johnsmith/?acl",
    signature: "c2WLPFtWHVgbEmeEG93a4cG37dM=",
    now: datetime!(2007-03-27 19:44:46 UTC),
};

/// The documentation signs this one with the `x-amz-date` value on the date
/// line and without it among the `x-amz-*` headers (see [`delete_with_x_amz_date`]).
const DELETE: Example = Example {
    method: "DELETE",
    path: "/johnsmith/photos/puppy.jpg",
    query: "",
    bucket: None,
    headers: &[
        ("user-agent", "dotnet"),
        ("host", "s3.amazonaws.com"),
        ("date", "Tue, 27 Mar 2007 21:20:27 +0000"),
        ("x-amz-date", "Tue, 27 Mar 2007 21:20:26 +0000"),
    ],
    sts: "DELETE\n\n\nTue, 27 Mar 2007 21:20:26 +0000\n/johnsmith/photos/puppy.jpg",
    signature: "lx3byBScXR6KzyMaifNkardMwNk=",
    now: datetime!(2007-03-27 21:20:26 UTC),
};

const UPLOAD: Example = Example {
    method: "PUT",
    path: "/db-backup.dat.gz",
    query: "",
    bucket: Some("static.johnsmith.net"),
    headers: &[
        ("user-agent", "curl/7.15.5"),
        ("host", "static.johnsmith.net:8080"),
        ("date", "Tue, 27 Mar 2007 21:06:08 +0000"),
        ("x-amz-acl", "public-read"),
        ("content-type", "application/x-download"),
        ("content-md5", "4gJE4saaMU4BqNR0kLY+lw=="),
        ("X-Amz-Meta-ReviewedBy", "joe@johnsmith.net"),
        ("X-Amz-Meta-ReviewedBy", "jane@johnsmith.net"),
        ("X-Amz-Meta-FileChecksum", "0x02661779"),
        ("X-Amz-Meta-ChecksumAlgorithm", "crc32"),
        ("content-disposition", "attachment; filename=database.dat"),
        ("content-encoding", "gzip"),
        ("content-length", "5913339"),
    ],
    sts: "PUT\n4gJE4saaMU4BqNR0kLY+lw==\napplication/x-download\nTue, 27 Mar 2007 21:06:08 +0000\n\
          x-amz-acl:public-read\nx-amz-meta-checksumalgorithm:crc32\nx-amz-meta-filechecksum:0x02661779\n\
          x-amz-meta-reviewedby:joe@johnsmith.net,jane@johnsmith.net\n/static.johnsmith.net/db-backup.dat.gz",
    signature: "ilyl83RwaSoYIEdixDQcA4OnAnc=",
    now: datetime!(2007-03-27 21:06:08 UTC),
};

const LIST_ALL_BUCKETS: Example = Example {
    method: "GET",
    path: "/",
    query: "",
    bucket: None,
    headers: &[("host", "s3.amazonaws.com"), ("date", "Wed, 28 Mar 2007 01:29:59 +0000")],
    sts: "GET\n\n\nWed, 28 Mar 2007 01:29:59 +0000\n/",
    signature: "qGdzdERIC03wnaRNKh6OqZehG9s=",
    now: datetime!(2007-03-28 01:29:59 UTC),
};

/// Percent-encodings of mixed case, signed exactly as sent.
const UNICODE_KEYS: Example = Example {
    method: "GET",
    path: "/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re",
    query: "",
    bucket: None,
    headers: &[("host", "s3.amazonaws.com"), ("date", "Wed, 28 Mar 2007 01:49:49 +0000")],
    sts: "GET\n\n\nWed, 28 Mar 2007 01:49:49 +0000\n/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re",
    signature: "DNEZGsoieTZ92F3bUfSPQcbGmlM=",
    now: datetime!(2007-03-28 01:49:49 UTC),
};

const EXAMPLES: [&Example; 8] =
    [&GET_PUPPY, &PUT_PUPPY, &LIST, &FETCH_ACL, &DELETE, &UPLOAD, &LIST_ALL_BUCKETS, &UNICODE_KEYS];

// ---- The documented examples --------------------------------------------------

#[test]
fn signer_reproduces_documented_signatures() {
    for ex in EXAMPLES.iter().filter(|ex| ex.signature != DELETE.signature) {
        let h = headers(ex.headers);
        let path = ex.signed_path();
        let sts = header_string_to_sign(ex.method, &path, ex.query, &h);
        assert_eq!(String::from_utf8(sts).unwrap(), ex.sts);
        let auth = sign_header(ex.method, &path, ex.query, &h, AK, SECRET);
        assert_eq!(auth, format!("AWS {AK}:{}", ex.signature), "{}", ex.sts);
    }
    assert_eq!(signature(SECRET, DELETE.sts.as_bytes()), DELETE.signature);
}

#[test]
fn verifier_accepts_documented_requests() {
    for ex in EXAMPLES {
        let h = ex.headers();
        let req = request(ex.method, ex.path, ex.query, &h);
        let auth = parse(&req).unwrap().unwrap();
        assert!(!auth.is_presigned());
        assert_eq!(auth.access_key(), AK);
        auth.verify(&req, SECRET, ex.bucket, ex.now).unwrap_or_else(|e| panic!("{}: {e:?}", ex.sts));
    }
}

#[test]
fn flipped_signature_byte_is_refused_with_the_string_to_sign() {
    for ex in EXAMPLES.iter().filter(|ex| ex.signature != DELETE.signature) {
        let mut sig = ex.signature.to_owned().into_bytes();
        sig[3] = if sig[3] == b'A' { b'B' } else { b'A' };
        let sig = String::from_utf8(sig).unwrap();
        let mut h = headers(ex.headers);
        h.insert("authorization", format!("AWS {AK}:{sig}").parse().unwrap());
        let e = check(&request(ex.method, ex.path, ex.query, &h), SECRET, ex.bucket, ex.now).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::SignatureDoesNotMatch);
        assert_eq!(extra(&e, "StringToSign"), ex.sts);
        assert_eq!(extra(&e, "SignatureProvided"), sig);
        assert_eq!(extra(&e, "AWSAccessKeyId"), AK);
        assert_eq!(extra(&e, "StringToSignBytes").split(' ').count(), ex.sts.len());
        assert!(extra(&e, "StringToSignBytes").starts_with("47 45 54 0a") || ex.method != "GET");
    }
}

#[test]
fn wrong_secret_and_tampered_requests_are_refused() {
    for ex in EXAMPLES {
        let h = ex.headers();
        let req = request(ex.method, ex.path, ex.query, &h);
        let wrong = SECRET.replace('K', "k");
        assert_eq!(code(check(&req, &wrong, ex.bucket, ex.now)), S3ErrorCode::SignatureDoesNotMatch);
        // Another bucket, method or path.
        assert_eq!(code(check(&req, SECRET, Some("other"), ex.now)), S3ErrorCode::SignatureDoesNotMatch);
        let req = request("HEAD", ex.path, ex.query, &h);
        assert_eq!(code(check(&req, SECRET, ex.bucket, ex.now)), S3ErrorCode::SignatureDoesNotMatch);
        let path = format!("{}x", ex.path);
        let req = request(ex.method, &path, ex.query, &h);
        assert_eq!(code(check(&req, SECRET, ex.bucket, ex.now)), S3ErrorCode::SignatureDoesNotMatch);
    }
    // A signed header changed or added.
    let mut h = UPLOAD.headers();
    h.insert("content-type", "text/html".parse().unwrap());
    let req = request("PUT", UPLOAD.path, "", &h);
    assert_eq!(code(check(&req, SECRET, UPLOAD.bucket, UPLOAD.now)), S3ErrorCode::SignatureDoesNotMatch);
    let mut h = UPLOAD.headers();
    h.append("x-amz-meta-reviewedby", "mallory@example.com".parse().unwrap());
    let req = request("PUT", UPLOAD.path, "", &h);
    assert_eq!(code(check(&req, SECRET, UPLOAD.bucket, UPLOAD.now)), S3ErrorCode::SignatureDoesNotMatch);
    let mut h = GET_PUPPY.headers();
    h.insert("x-amz-acl", "public-read".parse().unwrap());
    let req = request("GET", GET_PUPPY.path, "", &h);
    assert_eq!(code(check(&req, SECRET, GET_PUPPY.bucket, GET_PUPPY.now)), S3ErrorCode::SignatureDoesNotMatch);
    // Unsigned headers may change.
    let mut h = UPLOAD.headers();
    h.insert("user-agent", "other".parse().unwrap());
    h.insert("content-length", "1".parse().unwrap());
    let req = request("PUT", UPLOAD.path, "", &h);
    check(&req, SECRET, UPLOAD.bucket, UPLOAD.now).unwrap();
    // A sub-resource added.
    let h = GET_PUPPY.headers();
    let req = request("GET", GET_PUPPY.path, "acl", &h);
    assert_eq!(code(check(&req, SECRET, GET_PUPPY.bucket, GET_PUPPY.now)), S3ErrorCode::SignatureDoesNotMatch);
}

#[test]
fn delete_with_x_amz_date() {
    // Clients put `x-amz-date` among the `x-amz-*` headers and leave the
    // date line empty; the documentation's example puts its value on the
    // date line instead. Both are accepted.
    let h = headers(DELETE.headers);
    let sts = header_string_to_sign("DELETE", DELETE.path, "", &h);
    assert_eq!(
        String::from_utf8(sts).unwrap(),
        "DELETE\n\n\n\nx-amz-date:Tue, 27 Mar 2007 21:20:26 +0000\n/johnsmith/photos/puppy.jpg"
    );
    let mut h = headers(DELETE.headers);
    let auth = sign_header("DELETE", DELETE.path, "", &h, AK, SECRET);
    assert_ne!(auth, format!("AWS {AK}:{}", DELETE.signature));
    h.insert("authorization", auth.parse().unwrap());
    check(&request("DELETE", DELETE.path, "", &h), SECRET, None, DELETE.now).unwrap();
    check(&request("DELETE", DELETE.path, "", &DELETE.headers()), SECRET, None, DELETE.now).unwrap();

    // The date is x-amz-date's, whatever `Date` says.
    let mut h = headers(&[("date", "Mon, 01 Jan 2001 00:00:00 GMT"), ("x-amz-date", "Tue, 27 Mar 2007 21:20:26 GMT")]);
    h.insert("authorization", sign_header("DELETE", DELETE.path, "", &h, AK, SECRET).parse().unwrap());
    let req = request("DELETE", DELETE.path, "", &h);
    check(&req, SECRET, None, DELETE.now).unwrap();
    assert_eq!(code(check(&req, SECRET, None, DELETE.now + Duration::hours(1))), S3ErrorCode::RequestTimeTooSkewed);
    // A changed x-amz-date breaks the signature, in both forms.
    let mut h = DELETE.headers();
    h.insert("x-amz-date", "Tue, 27 Mar 2007 21:20:25 +0000".parse().unwrap());
    let e = check(&request("DELETE", DELETE.path, "", &h), SECRET, None, DELETE.now).unwrap_err();
    assert_eq!(e.code, S3ErrorCode::SignatureDoesNotMatch);
    assert_eq!(
        extra(&e, "StringToSign"),
        "DELETE\n\n\n\nx-amz-date:Tue, 27 Mar 2007 21:20:25 +0000\n/johnsmith/photos/puppy.jpg"
    );
}

// ---- Clock -------------------------------------------------------------------

#[test]
fn skewed_clocks_are_refused() {
    let h = GET_PUPPY.headers();
    let req = request("GET", GET_PUPPY.path, "", &h);
    let limit = Duration::minutes(15);
    check(&req, SECRET, GET_PUPPY.bucket, GET_PUPPY.now + limit).unwrap();
    check(&req, SECRET, GET_PUPPY.bucket, GET_PUPPY.now - limit).unwrap();
    for now in [GET_PUPPY.now + limit + Duration::seconds(1), GET_PUPPY.now - limit - Duration::seconds(1)] {
        let e = check(&req, SECRET, GET_PUPPY.bucket, now).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::RequestTimeTooSkewed);
        assert_eq!(e.status(), 403);
        assert_eq!(extra(&e, "RequestTime"), "Tue, 27 Mar 2007 19:36:42 +0000");
        assert_eq!(extra(&e, "MaxAllowedSkewMilliseconds"), "900000");
        assert!(extra(&e, "ServerTime").starts_with("2007-03-27T19:"));
    }
    // The clock is checked before the signature.
    let mut h = GET_PUPPY.headers();
    h.insert("authorization", format!("AWS {AK}:AAAA").parse().unwrap());
    let req = request("GET", GET_PUPPY.path, "", &h);
    assert_eq!(
        code(check(&req, SECRET, GET_PUPPY.bucket, GET_PUPPY.now + Duration::hours(1))),
        S3ErrorCode::RequestTimeTooSkewed
    );
}

#[test]
fn dates_are_required_and_parsed() {
    let no_date = "AWS authentication requires a valid Date or x-amz-date header";
    let auth = format!("AWS {AK}:{}", GET_PUPPY.signature);
    for pairs in [
        vec![("host", "johnsmith.s3.amazonaws.com")],
        vec![("date", "yesterday")],
        vec![("date", "Tue, 27 Mar 2007 19:36:42 GMT"), ("x-amz-date", "garbage")],
        vec![("x-amz-date", "")],
        // Before the epoch: not a request date at all (a far-future one is merely skewed).
        vec![("x-amz-date", "Tue, 07 Jul 1950 21:53:04 GMT")],
    ] {
        let mut h = headers(&pairs);
        h.insert("authorization", auth.parse().unwrap());
        let e = parse(&request("GET", "/", "", &h)).unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (S3ErrorCode::AccessDenied, no_date), "{pairs:?}");
    }
    let t = datetime!(2007-03-27 19:36:42 UTC);
    for s in [
        "Tue, 27 Mar 2007 19:36:42 +0000",
        "Tue, 27 Mar 2007 19:36:42 GMT",
        "Tue, 27 Mar 2007 21:36:42 +0200",
        "Tuesday, 27-Mar-07 19:36:42 GMT",
        "Tue Mar 27 19:36:42 2007",
        "2007-03-27T19:36:42Z",
        "20070327T193642Z",
    ] {
        assert_eq!(parse_date(s), Some(t), "{s}");
    }
    assert_eq!(parse_date("27 Mar 2007"), None);
}

// ---- Parsing -----------------------------------------------------------------

#[test]
fn other_authentication_is_not_sigv2() {
    let v4 = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
              SignedHeaders=host,Signature=00";
    for (auth, query) in [
        (None, ""),
        (None, "prefix=a&acl"),
        (Some(v4), ""),
        (Some("AWSX a:b"), ""),
        (None, "X-Amz-Algorithm=AWS4-HMAC-SHA256"),
    ] {
        let mut h = headers(&[("date", "Tue, 27 Mar 2007 19:36:42 GMT")]);
        if let Some(a) = auth {
            h.insert("authorization", a.parse().unwrap());
        }
        assert!(parse(&request("GET", "/", query, &h)).unwrap().is_none(), "{auth:?} {query}");
    }
}

#[test]
fn malformed_authorization_headers() {
    for auth in
        ["AWS", "AWS ", "AWS AKIAIOSFODNN7EXAMPLE", "AWS :sig", "AWS ak:", "AWS ak:s:ig", "AWS a k:sig", "AWS ak: sig"]
    {
        let h = headers(&[("date", "Tue, 27 Mar 2007 19:36:42 GMT"), ("authorization", auth)]);
        let e = parse(&request("GET", "/", "", &h)).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::InvalidArgument, "{auth}");
        assert_eq!(e.message, "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature");
        assert_eq!(extra(&e, "ArgumentName"), "Authorization");
        assert_eq!(extra(&e, "ArgumentValue"), auth);
    }
    // Blanks around the parts are fine.
    let h = headers(&[
        ("date", "Tue, 27 Mar 2007 19:36:42 +0000"),
        ("authorization", "AWS   AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU=  "),
    ]);
    check(&request("GET", GET_PUPPY.path, "", &h), SECRET, GET_PUPPY.bucket, GET_PUPPY.now).unwrap();
    // A signature that is not base64 simply does not match.
    let h = headers(&[("date", "Tue, 27 Mar 2007 19:36:42 +0000"), ("authorization", "AWS AKIAIOSFODNN7EXAMPLE:!!")]);
    let req = request("GET", GET_PUPPY.path, "", &h);
    assert_eq!(code(check(&req, SECRET, GET_PUPPY.bucket, GET_PUPPY.now)), S3ErrorCode::SignatureDoesNotMatch);
}

#[test]
fn header_and_query_together_are_refused() {
    let h = GET_PUPPY.headers();
    for query in ["AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1&Signature=x", "Signature=x", "X-Amz-Signature=00"] {
        let e = parse(&request("GET", GET_PUPPY.path, query, &h)).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::InvalidArgument, "{query}");
    }
    let e = parse(&request("GET", "/", "AWSAccessKeyId=a&Expires=1&Signature=x&X-Amz-Credential=c", &HeaderMap::new()))
        .unwrap_err();
    assert_eq!(e.code, S3ErrorCode::InvalidArgument);
}

// ---- Presigned URLs ----------------------------------------------------------

/// The documented presigned GET of puppy.jpg, parameters in the documented order.
const PRESIGNED_QUERY: &str =
    "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620";
const PRESIGNED_EXPIRES: OffsetDateTime = datetime!(2007-03-29 03:40:20 UTC);

#[test]
fn presigned_documented_example() {
    let q = presign_query("GET", "/johnsmith/photos/puppy.jpg", "", AK, SECRET, 1_175_139_620);
    assert_eq!(q, "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D");

    let h = headers(&[("host", "johnsmith.s3.amazonaws.com")]);
    for query in [PRESIGNED_QUERY, q.as_str()] {
        let req = request("GET", "/photos/puppy.jpg", query, &h);
        let auth = parse(&req).unwrap().unwrap();
        assert!(auth.is_presigned());
        assert_eq!(auth.access_key(), AK);
        auth.verify(&req, SECRET, Some("johnsmith"), PRESIGNED_EXPIRES - Duration::days(1)).unwrap();
        auth.verify(&req, SECRET, Some("johnsmith"), PRESIGNED_EXPIRES).unwrap();
        let e = auth.verify(&req, SECRET, Some("johnsmith"), PRESIGNED_EXPIRES + Duration::seconds(1)).unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (S3ErrorCode::AccessDenied, "Request has expired"));
        assert_eq!(extra(&e, "Expires"), "2007-03-29T03:40:20Z");
        assert_eq!(extra(&e, "ServerTime"), "2007-03-29T03:40:21Z");
        let e = auth.verify(&req, "wrong", Some("johnsmith"), PRESIGNED_EXPIRES).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::SignatureDoesNotMatch);
        assert_eq!(extra(&e, "StringToSign"), "GET\n\n\n1175139620\n/johnsmith/photos/puppy.jpg");
        assert_eq!(extra(&e, "SignatureProvided"), "NpgCjnDzrM+WFzoENXmpNDUsSn8=");
    }
    // A later Expires, another method or another key breaks the signature.
    let now = PRESIGNED_EXPIRES - Duration::days(1);
    let later = PRESIGNED_QUERY.replace("1175139620", "1175139621");
    let req = request("GET", "/photos/puppy.jpg", &later, &h);
    assert_eq!(code(check(&req, SECRET, Some("johnsmith"), now)), S3ErrorCode::SignatureDoesNotMatch);
    let req = request("PUT", "/photos/puppy.jpg", PRESIGNED_QUERY, &h);
    assert_eq!(code(check(&req, SECRET, Some("johnsmith"), now)), S3ErrorCode::SignatureDoesNotMatch);
    let req = request("GET", "/photos/kitten.jpg", PRESIGNED_QUERY, &h);
    assert_eq!(code(check(&req, SECRET, Some("johnsmith"), now)), S3ErrorCode::SignatureDoesNotMatch);
    // Signed `x-amz-*` headers sent with the URL count.
    let with_acl = headers(&[("x-amz-acl", "public-read")]);
    let req = request("GET", "/photos/puppy.jpg", PRESIGNED_QUERY, &with_acl);
    assert_eq!(code(check(&req, SECRET, Some("johnsmith"), now)), S3ErrorCode::SignatureDoesNotMatch);
}

#[test]
fn malformed_presigned_parameters() {
    let h = HeaderMap::new();
    let required = "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters";
    for query in [
        "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620",
        "Signature=x&Expires=1175139620",
        "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=x",
        "AWSAccessKeyId=&Signature=x&Expires=1175139620",
        "Signature=x",
    ] {
        let e = parse(&request("GET", "/", query, &h)).unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (S3ErrorCode::AccessDenied, required), "{query}");
    }
    let e = parse(&request("GET", "/", "AWSAccessKeyId=a&Signature=x&Expires=soon", &h)).unwrap_err();
    assert_eq!(e.code, S3ErrorCode::AccessDenied);
    assert_eq!(e.message, "Invalid date (should be seconds since epoch): soon");
    let e = parse(&request("GET", "/", "AWSAccessKeyId=a&Signature=x&Expires=1&Expires=2", &h)).unwrap_err();
    assert_eq!(e.code, S3ErrorCode::InvalidArgument);
    // A negative Expires is a date long past.
    let req = request("GET", "/", "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=x&Expires=-5", &h);
    let e = check(&req, SECRET, None, PRESIGNED_EXPIRES).unwrap_err();
    assert_eq!((e.code, e.message.as_str()), (S3ErrorCode::AccessDenied, "Request has expired"));
}

// ---- Path encodings and sub-resources ----------------------------------------

#[test]
fn keys_with_spaces_and_plus() {
    let now = datetime!(2024-05-06 07:08:09 UTC);
    let date = "Mon, 06 May 2024 07:08:09 GMT";
    // s3cmd: virtual-hosted, the key encoded with %20 for ' ' and %2B for
    // '+', and signed exactly as sent.
    let sent = "/photos/my%20puppy%2B1.jpg";
    let mut h = headers(&[("host", "johnsmith.s3.amazonaws.com"), ("date", date)]);
    let auth = sign_header("GET", &format!("/johnsmith{sent}"), "", &h, AK, SECRET);
    h.insert("authorization", auth.parse().unwrap());
    check(&request("GET", sent, "", &h), SECRET, Some("johnsmith"), now).unwrap();
    // Another key is another resource.
    let req = request("GET", "/photos/my%20puppy%201.jpg", "", &h);
    assert_eq!(code(check(&req, SECRET, Some("johnsmith"), now)), S3ErrorCode::SignatureDoesNotMatch);
    // Sent with a raw '+' (or a proxy's other encoding) but signed the AWS
    // way: accepted on the second try.
    for other in ["/photos/my%20puppy+1.jpg", "/photos/my%20pupp%79%2b1.jpg"] {
        check(&request("GET", other, "", &h), SECRET, Some("johnsmith"), now)
            .unwrap_or_else(|e| panic!("{other}: {e:?}"));
    }
    // Signed over the decoded key: neither form matches, and the error shows the path as sent.
    let mut h = headers(&[("date", date)]);
    let auth = sign_header("GET", "/johnsmith/photos/my puppy+1.jpg", "", &h, AK, SECRET);
    h.insert("authorization", auth.parse().unwrap());
    let e = check(&request("GET", sent, "", &h), SECRET, Some("johnsmith"), now).unwrap_err();
    assert_eq!(e.code, S3ErrorCode::SignatureDoesNotMatch);
    assert!(extra(&e, "StringToSign").ends_with("\n/johnsmith/photos/my%20puppy%2B1.jpg"));

    // A presigned URL (path-style, as `aws s3 presign` of CLI v1 signs it).
    let sent = "/bkt/a%20b%2Bc.txt";
    let q = presign_query("GET", sent, "", AK, SECRET, now.unix_timestamp() + 60);
    let h = HeaderMap::new();
    check(&request("GET", sent, &q, &h), SECRET, None, now).unwrap();
    check(&request("GET", "/bkt/a%20b+c.txt", &q, &h), SECRET, None, now).unwrap();
    let req = request("GET", "/bkt/a+b+c.txt", &q, &h);
    assert_eq!(code(check(&req, SECRET, None, now)), S3ErrorCode::SignatureDoesNotMatch);
}

#[test]
fn sub_resources_are_signed() {
    let now = datetime!(2024-05-06 07:08:09 UTC);
    let mut h = headers(&[("date", "Mon, 06 May 2024 07:08:09 GMT"), ("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")]);
    let query = "uploadId=VXBsb2FkIElE&partNumber=2";
    let sts = header_string_to_sign("PUT", "/bkt/big.bin", query, &h);
    assert_eq!(
        String::from_utf8(sts).unwrap(),
        "PUT\n1B2M2Y8AsgTpgAmY7PhCfg==\n\nMon, 06 May 2024 07:08:09 GMT\n\
         /bkt/big.bin?partNumber=2&uploadId=VXBsb2FkIElE"
    );
    h.insert("authorization", sign_header("PUT", "/bkt/big.bin", query, &h, AK, SECRET).parse().unwrap());
    check(&request("PUT", "/bkt/big.bin", query, &h), SECRET, None, now).unwrap();
    // The order of the parameters on the wire does not matter.
    check(&request("PUT", "/bkt/big.bin", "partNumber=2&uploadId=VXBsb2FkIElE", &h), SECRET, None, now).unwrap();
    let req = request("PUT", "/bkt/big.bin", "uploadId=VXBsb2FkIElE&partNumber=3", &h);
    assert_eq!(code(check(&req, SECRET, None, now)), S3ErrorCode::SignatureDoesNotMatch);
    let req = request("PUT", "/bkt/big.bin", "partNumber=2", &h);
    assert_eq!(code(check(&req, SECRET, None, now)), S3ErrorCode::SignatureDoesNotMatch);

    // Multi-object delete: `?delete`, and other parameters are not signed.
    let mut h = headers(&[("date", "Mon, 06 May 2024 07:08:09 GMT"), ("content-type", "application/xml")]);
    let sts = header_string_to_sign("POST", "/bkt", "delete", &h);
    assert!(String::from_utf8(sts).unwrap().ends_with("\napplication/xml\nMon, 06 May 2024 07:08:09 GMT\n/bkt?delete"));
    h.insert("authorization", sign_header("POST", "/bkt", "delete", &h, AK, SECRET).parse().unwrap());
    check(&request("POST", "/bkt", "delete", &h), SECRET, None, now).unwrap();
    check(&request("POST", "/bkt", "delete=&x-id=DeleteObjects", &h), SECRET, None, now).unwrap();
    let req = request("POST", "/bkt", "", &h);
    assert_eq!(code(check(&req, SECRET, None, now)), S3ErrorCode::SignatureDoesNotMatch);

    // Response overrides are signed decoded.
    let q = "response-content-disposition=attachment%3B%20filename%3D%22a.txt%22&versionId=3";
    let mut h = headers(&[("date", "Mon, 06 May 2024 07:08:09 GMT")]);
    let sts = header_string_to_sign("GET", "/bkt/a.txt", q, &h);
    assert!(String::from_utf8(sts)
        .unwrap()
        .ends_with("/bkt/a.txt?response-content-disposition=attachment; filename=\"a.txt\"&versionId=3"));
    h.insert("authorization", sign_header("GET", "/bkt/a.txt", q, &h, AK, SECRET).parse().unwrap());
    check(&request("GET", "/bkt/a.txt", q, &h), SECRET, None, now).unwrap();
    let other = q.replace("a.txt%22", "b.txt%22");
    let req = request("GET", "/bkt/a.txt", &other, &h);
    assert_eq!(code(check(&req, SECRET, None, now)), S3ErrorCode::SignatureDoesNotMatch);
}
