//! Parsing the authentication, and the less common ways of signing.

use super::*;

// ---- Parsing -----------------------------------------------------------------

#[test]
fn anonymous_requests_parse_to_none() {
    let h = headers(&[("host", HOST)]);
    for query in ["", "prefix=a&max-keys=2", "X-Amz-Expires=10", "Signature=x"] {
        let req = request("GET", "/", query, &h);
        assert!(parse(&req).unwrap().is_none(), "{query}");
    }
}

#[test]
fn signature_version_2_is_left_to_sigv2() {
    let h = headers(&[("host", HOST), ("authorization", "AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=")]);
    assert!(parse(&request("GET", "/", "", &h)).unwrap().is_none());
    let h = headers(&[("host", HOST), ("authorization", "AWS")]);
    assert!(parse(&request("GET", "/", "", &h)).unwrap().is_none());
    let h = headers(&[("host", HOST)]);
    let q = "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1141889120&Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D";
    assert!(parse(&request("GET", "/", q, &h)).unwrap().is_none());
    // Only those: an `AWS4...` look-alike is still SigV4's to refuse.
    let h = headers(&[("host", HOST), ("authorization", "AWSX AKIAIOSFODNN7EXAMPLE:x")]);
    assert_eq!(code(parse(&request("GET", "/", "", &h))), S3ErrorCode::InvalidArgument);
    // SigV2 with a second mechanism is still refused here.
    let h = headers(&[("host", HOST), ("authorization", "AWS AKIAIOSFODNN7EXAMPLE:x")]);
    assert_eq!(code(parse(&request("GET", "/", q, &h))), S3ErrorCode::InvalidArgument);
}

#[test]
fn header_and_query_authentication_together_are_refused() {
    let h = get_object_headers();
    let e = parse(&request("GET", "/test.txt", PRESIGNED_QUERY, &h)).unwrap_err();
    assert_eq!(e.code, S3ErrorCode::InvalidArgument);
}

#[test]
fn malformed_authorization_headers() {
    let good = authorization(&get_object_headers()).to_owned();
    let cases = [
        good.replace(",Signature=", ",Sig="),
        good.replace("Credential=", "Cred="),
        good.replace("SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,", ""),
        good.replace("SignedHeaders=host;range;x-amz-content-sha256;x-amz-date", "SignedHeaders="),
        good.replace("/aws4_request", "/aws4_reques"),
        good.replace("/20130524/", "/2013052/"),
        good.replace("AKIAIOSFODNN7EXAMPLE/20130524/", "20130524/"),
        good.replace("/us-east-1/s3/", "/s3/"),
        good.replace(GET_SIG, &GET_SIG[..63]),
        good.replace(GET_SIG, &GET_SIG.replace('f', "g")),
        // Credential date other than x-amz-date's.
        good.replace("/20130524/", "/20130525/"),
        "AWS4-HMAC-SHA256".to_owned(),
        "AWS4-HMAC-SHA256 garbage".to_owned(),
    ];
    for auth in cases {
        let mut h = get_object_headers();
        h.insert("authorization", auth.parse().unwrap());
        let e = parse(&request("GET", "/test.txt", "", &h)).map(|_| ()).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::AuthorizationHeaderMalformed, "{auth}");
    }
    // Another service in the scope is caught when verifying.
    let mut h = get_object_headers();
    h.insert("authorization", good.replace("/s3/", "/iam/").parse().unwrap());
    let req = request("GET", "/test.txt", "", &h);
    assert_eq!(code(check(&req, REGION, T0)), S3ErrorCode::AuthorizationHeaderMalformed);
    // Unknown algorithms.
    let mut h = get_object_headers();
    h.insert("authorization", good.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512").parse().unwrap());
    assert_eq!(code(parse(&request("GET", "/test.txt", "", &h))), S3ErrorCode::InvalidArgument);
    // Spaces after the commas (as most SDKs send) are fine.
    let mut h = get_object_headers();
    h.insert("authorization", good.replace(",S", ", S").parse().unwrap());
    assert!(check(&request("GET", "/test.txt", "", &h), REGION, T0).is_ok());
}

#[test]
fn dates_are_required_and_parsed() {
    let mut h = get_object_headers();
    h.insert("x-amz-date", "2013-05-24T00:00:00Z".parse().unwrap());
    assert_eq!(code(parse(&request("GET", "/test.txt", "", &h))), S3ErrorCode::AccessDenied);
    h.insert("x-amz-date", "20130532T000000Z".parse().unwrap());
    assert_eq!(code(parse(&request("GET", "/test.txt", "", &h))), S3ErrorCode::AccessDenied);
    h.remove("x-amz-date");
    assert_eq!(code(parse(&request("GET", "/test.txt", "", &h))), S3ErrorCode::AccessDenied);
    assert_eq!(parse::parse_amz_date("20130524T235960Z"), None);
    assert_eq!(parse::parse_amz_date("2013052\u{e9}T00000Z"), None);
    assert_eq!(parse::amz_date(parse::parse_amz_date("20130524T012345Z").unwrap()), "20130524T012345Z");
}

/// Signs with the `Date` header instead of `x-amz-date`, and with the path as
/// the client encoded it, the way some clients do.
fn sign_by_hand(h: &HeaderMap, names: &[&str], uri: &str, amz: &str) -> String {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let parts = CanonicalParts {
        method: "GET",
        uri,
        query: &canonical_query("", false),
        headers: h,
        signed_headers: &names,
        payload_hash: UNSIGNED_PAYLOAD,
    };
    let scope = "20130524/us-east-1/s3/aws4_request";
    let sts = string_to_sign(amz, scope, &parts.canonical_request());
    let sig = hmac_sha256(&signing_key(SECRET, "20130524", REGION, "s3"), sts.as_bytes());
    format!(
        "AWS4-HMAC-SHA256 Credential={AK}/{scope}, SignedHeaders={}, Signature={}",
        names.join(";"),
        hex::encode(sig)
    )
}

#[test]
fn the_date_header_is_a_fallback_for_x_amz_date() {
    let mut h = headers(&[
        ("host", HOST),
        ("date", "Fri, 24 May 2013 00:00:00 GMT"),
        ("x-amz-content-sha256", UNSIGNED_PAYLOAD),
    ]);
    let auth = sign_by_hand(&h, &["date", "host"], "/k", "20130524T000000Z");
    h.insert("authorization", auth.parse().unwrap());
    let req = request("GET", "/k", "", &h);
    assert!(matches!(check(&req, REGION, T0).unwrap().payload, PayloadMode::Unsigned));
    assert_eq!(code(check(&req, REGION, T0 + Duration::hours(1))), S3ErrorCode::RequestTimeTooSkewed);
}

#[test]
fn the_raw_path_is_tried_when_the_decoded_one_fails() {
    let raw = "/bucket/a%2fb%2A";
    let mut h =
        headers(&[("host", HOST), ("x-amz-date", "20130524T000000Z"), ("x-amz-content-sha256", UNSIGNED_PAYLOAD)]);
    // Signed over the path exactly as sent (our canonical form is `/bucket/a/b%2A`).
    let auth = sign_by_hand(&h, &["host", "x-amz-date"], raw, "20130524T000000Z");
    h.insert("authorization", auth.parse().unwrap());
    assert!(check(&request("GET", raw, "", &h), REGION, T0).is_ok());
    // Signed over the canonical form, also accepted.
    let auth = sign_by_hand(&h, &["host", "x-amz-date"], "/bucket/a/b%2A", "20130524T000000Z");
    h.insert("authorization", auth.parse().unwrap());
    assert!(check(&request("GET", raw, "", &h), REGION, T0).is_ok());
    // Neither.
    let auth = sign_by_hand(&h, &["host", "x-amz-date"], "/bucket/a%2Fb*", "20130524T000000Z");
    h.insert("authorization", auth.parse().unwrap());
    let e = check(&request("GET", raw, "", &h), REGION, T0).unwrap_err();
    assert_eq!(e.code, S3ErrorCode::SignatureDoesNotMatch);
    assert!(extra(&e, "CanonicalRequest").starts_with("GET\n/bucket/a/b%2A\n"));
}

#[test]
fn x_amz_content_sha256_values() {
    assert_eq!(ContentSha256::parse(UNSIGNED_PAYLOAD).unwrap(), ContentSha256::Unsigned);
    assert_eq!(ContentSha256::parse(STREAMING_PAYLOAD).unwrap(), ContentSha256::StreamingSigned);
    assert_eq!(
        ContentSha256::parse(PUT_BODY_SHA).unwrap(),
        ContentSha256::Sha256(super::crypto::parse_hex32(PUT_BODY_SHA).unwrap())
    );
    assert_eq!(ContentSha256::parse(STREAMING_UNSIGNED_TRAILER).unwrap(), ContentSha256::StreamingUnsignedTrailer);
    assert_eq!(ContentSha256::parse(STREAMING_PAYLOAD_TRAILER).unwrap(), ContentSha256::StreamingSignedTrailer);
    for v in ["STREAMING-AWS4-HMAC-SHA256-EVENTS", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"] {
        assert_eq!(code(ContentSha256::parse(v)), S3ErrorCode::NotImplemented);
    }
    for v in ["", "unsigned-payload", &PUT_BODY_SHA[1..], "STREAMING-PAYLOAD"] {
        assert_eq!(code(ContentSha256::parse(v)), S3ErrorCode::InvalidArgument, "{v}");
    }

    // Required for header authentication, and checked while parsing.
    let mut h = get_object_headers();
    h.remove("x-amz-content-sha256");
    let e = parse(&request("GET", "/test.txt", "", &h)).map(|_| ()).unwrap_err();
    assert_eq!(e.code, S3ErrorCode::InvalidRequest);
    assert!(e.message.contains("x-amz-content-sha256"));
    h.insert("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-EVENTS".parse().unwrap());
    assert_eq!(code(parse(&request("GET", "/test.txt", "", &h))), S3ErrorCode::NotImplemented);
    h.insert("x-amz-content-sha256", "nope".parse().unwrap());
    assert_eq!(code(parse(&request("GET", "/test.txt", "", &h))), S3ErrorCode::InvalidArgument);

    // Optional on presigned URLs, and then covered by the signature.
    let h = headers(&[("host", HOST), ("x-amz-content-sha256", PUT_BODY_SHA)]);
    let req = request("GET", "/test.txt", PRESIGNED_QUERY, &h);
    let auth = parse(&req).unwrap().unwrap();
    assert_eq!(auth.content_sha256(), ContentSha256::parse(PUT_BODY_SHA).unwrap());
    assert_eq!(code(auth.verify(&req, SECRET, REGION, T0)), S3ErrorCode::SignatureDoesNotMatch);
}

#[test]
fn signing_round_trips_with_messy_headers() {
    let mut h = headers(&[
        ("host", "127.0.0.1:9000"),
        ("x-amz-meta-a", "  spaced    out\tvalue "),
        ("x-amz-meta-b", "one"),
        ("x-amz-meta-b", "two"),
        ("content-type", "text/plain"),
    ]);
    let path = "/b/%E2%82%AC%20x";
    sign_request("POST", path, "uploads", &mut h, UNSIGNED_PAYLOAD, "ak/with/slash", "s", "coffer", T0);
    let req = request("POST", path, "uploads=", &h);
    let auth = parse(&req).unwrap().unwrap();
    assert_eq!(auth.access_key(), "ak/with/slash");
    let v = auth.verify(&req, "s", "coffer", T0).unwrap();
    assert_eq!(v.access_key, "ak/with/slash");
    assert!(matches!(v.payload, PayloadMode::Unsigned));
    // Whitespace differences inside a value do not matter, content does.
    let mut same = h.clone();
    same.insert("x-amz-meta-a", "spaced out value".parse().unwrap());
    assert!(auth.verify(&request("POST", path, "uploads", &same), "s", "coffer", T0).is_ok());
    let mut other = h.clone();
    other.insert("x-amz-meta-b", "two".parse().unwrap());
    assert_eq!(
        code(auth.verify(&request("POST", path, "uploads", &other), "s", "coffer", T0)),
        S3ErrorCode::SignatureDoesNotMatch
    );
    // Unsigned headers may be added.
    let mut more = h.clone();
    more.insert("user-agent", "x".parse().unwrap());
    assert!(auth.verify(&request("POST", path, "uploads", &more), "s", "coffer", T0).is_ok());
}
