//! The single-chunk examples (GET Object, PUT Object, bucket requests) and
//! the seed signatures of the chunked upload examples (without and with a
//! trailer).

use super::*;

// ---- Example: GET Object (Range) -------------------------------------------

#[test]
fn get_object_example_is_reproduced_by_the_signer() {
    let mut h = headers(&[("host", HOST), ("range", "bytes=0-9")]);
    sign_request("GET", "/test.txt", "", &mut h, EMPTY_SHA256, AK, SECRET, REGION, T0);
    assert_eq!(
        authorization(&h),
        format!(
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature={GET_SIG}"
        )
    );
    assert_eq!(h.get("x-amz-date").unwrap(), "20130524T000000Z");
    assert_eq!(h.get("x-amz-content-sha256").unwrap(), EMPTY_SHA256);
}

#[test]
fn get_object_example_canonical_request_and_string_to_sign() {
    let h = get_object_headers();
    let names: Vec<String> =
        ["host", "range", "x-amz-content-sha256", "x-amz-date"].iter().map(|s| s.to_string()).collect();
    let parts = CanonicalParts {
        method: "GET",
        uri: "/test.txt",
        query: "",
        headers: &h,
        signed_headers: &names,
        payload_hash: EMPTY_SHA256,
    };
    let canonical = parts.canonical_request();
    assert_eq!(String::from_utf8(canonical.clone()).unwrap(), GET_CANONICAL);
    assert_eq!(
        string_to_sign("20130524T000000Z", "20130524/us-east-1/s3/aws4_request", &canonical),
        "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n\
         7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"
    );
}

#[test]
fn get_object_example_is_accepted() {
    let h = get_object_headers();
    let req = request("GET", "/test.txt", "", &h);
    let v = check(&req, REGION, T0).unwrap();
    assert_eq!(v.access_key, AK);
    match v.payload {
        PayloadMode::Sha256(hash) => assert_eq!(hex::encode(hash), EMPTY_SHA256),
        other => panic!("unexpected payload mode {other:?}"),
    }
}

#[test]
fn get_object_example_with_one_byte_changed_is_refused() {
    // In the signature.
    let mut h = get_object_headers();
    tamper_signature(&mut h);
    let req = request("GET", "/test.txt", "", &h);
    let e = check(&req, REGION, T0).unwrap_err();
    assert_eq!(e.code, S3ErrorCode::SignatureDoesNotMatch);
    assert_eq!(e.status(), 403);
    // The details carry what we computed, so a client can compare.
    assert_eq!(extra(&e, "CanonicalRequest"), GET_CANONICAL);
    assert!(extra(&e, "StringToSign").ends_with("7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"));
    assert_eq!(extra(&e, "AWSAccessKeyId"), AK);
    assert!(extra(&e, "StringToSignBytes").starts_with("41 57 53 34"));

    // In a signed header, the path, the method, the query.
    let h = get_object_headers();
    let mut changed = h.clone();
    changed.insert("range", "bytes=0-8".parse().unwrap());
    let req = request("GET", "/test.txt", "", &changed);
    assert_eq!(code(check(&req, REGION, T0)), S3ErrorCode::SignatureDoesNotMatch);
    let req = request("GET", "/test.tx", "", &h);
    assert_eq!(code(check(&req, REGION, T0)), S3ErrorCode::SignatureDoesNotMatch);
    let req = request("PUT", "/test.txt", "", &h);
    assert_eq!(code(check(&req, REGION, T0)), S3ErrorCode::SignatureDoesNotMatch);
    let req = request("GET", "/test.txt", "a", &h);
    assert_eq!(code(check(&req, REGION, T0)), S3ErrorCode::SignatureDoesNotMatch);

    // The wrong secret.
    let req = request("GET", "/test.txt", "", &h);
    let auth = parse(&req).unwrap().unwrap();
    assert_eq!(
        code(auth.verify(&req, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ", REGION, T0)),
        S3ErrorCode::SignatureDoesNotMatch
    );
}

#[test]
fn get_object_example_with_a_shifted_clock_is_too_skewed() {
    let h = get_object_headers();
    let req = request("GET", "/test.txt", "", &h);
    for shift in [Duration::minutes(16), Duration::minutes(-16), Duration::days(3)] {
        let e = check(&req, REGION, T0 + shift).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::RequestTimeTooSkewed, "shift {shift}");
        assert_eq!(e.status(), 403);
        assert_eq!(extra(&e, "RequestTime"), "20130524T000000Z");
        assert_eq!(extra(&e, "MaxAllowedSkewMilliseconds"), "900000");
    }
    let e = check(&req, REGION, T0 + Duration::minutes(16)).unwrap_err();
    assert_eq!(extra(&e, "ServerTime"), "2013-05-24T00:16:00Z");
    // Within the allowed skew both ways.
    assert!(check(&req, REGION, T0 + Duration::minutes(15)).is_ok());
    assert!(check(&req, REGION, T0 - Duration::minutes(14)).is_ok());
}

#[test]
fn get_object_example_in_another_region_is_malformed() {
    let h = get_object_headers();
    let req = request("GET", "/test.txt", "", &h);
    let e = check(&req, "eu-west-1", T0).unwrap_err();
    assert_eq!(e.code, S3ErrorCode::AuthorizationHeaderMalformed);
    assert_eq!(e.status(), 400);
    assert_eq!(
        e.message,
        "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'"
    );
    assert_eq!(extra(&e, "Region"), "eu-west-1");
}

// ---- Example: PUT Object -----------------------------------------------------

#[test]
fn put_object_example_both_directions() {
    assert_eq!(sha256_hex(b"Welcome to Amazon S3."), PUT_BODY_SHA);
    // The key `test$file.text` signs the same whether the client sent `$` or `%24`.
    for path in ["/test%24file.text", "/test$file.text"] {
        let mut h = headers(&[
            ("host", HOST),
            ("date", "Fri, 24 May 2013 00:00:00 GMT"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ]);
        sign_request("PUT", path, "", &mut h, PUT_BODY_SHA, AK, SECRET, REGION, T0);
        assert_eq!(
            authorization(&h),
            format!(
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
                 SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,\
                 Signature={PUT_SIG}"
            )
        );
        let req = request("PUT", path, "", &h);
        match check(&req, REGION, T0).unwrap().payload {
            PayloadMode::Sha256(hash) => assert_eq!(hex::encode(hash), PUT_BODY_SHA),
            other => panic!("unexpected payload mode {other:?}"),
        }
        let mut changed = h.clone();
        changed.insert("x-amz-storage-class", "STANDARD".parse().unwrap());
        let req = request("PUT", path, "", &changed);
        assert_eq!(code(check(&req, REGION, T0)), S3ErrorCode::SignatureDoesNotMatch);
    }
}

// ---- Examples: GET Bucket Lifecycle, GET Bucket (List Objects) ----------------

#[test]
fn bucket_examples_both_directions() {
    let cases = [
        ("lifecycle", "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
        ("max-keys=2&prefix=J", "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
        // The same query in another order signs the same.
        ("prefix=J&max-keys=2", "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
    ];
    for (query, sig) in cases {
        let mut h = headers(&[("host", HOST)]);
        sign_request("GET", "/", query, &mut h, EMPTY_SHA256, AK, SECRET, REGION, T0);
        assert!(
            authorization(&h).ends_with(&format!("SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature={sig}"))
        );
        let req = request("GET", "/", query, &h);
        assert!(check(&req, REGION, T0).is_ok(), "{query}");
        // An empty path is `/`.
        let req = request("GET", "", query, &h);
        assert!(check(&req, REGION, T0).is_ok(), "{query}");
        let req = request("GET", "/", "max-keys=3&prefix=J", &h);
        assert_eq!(code(check(&req, REGION, T0)), S3ErrorCode::SignatureDoesNotMatch);
    }
}

// ---- Example: chunked upload (seed signature) ------------------------------------

const CHUNKED_SEED: &str = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";

fn chunked_headers() -> HeaderMap {
    headers(&[
        ("host", "s3.amazonaws.com"),
        ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ("content-encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", "66560"),
        ("content-length", "66824"),
    ])
}

#[test]
fn chunked_example_seed_signature_both_directions() {
    let mut h = chunked_headers();
    let path = "/examplebucket/chunkObject.txt";
    sign_request("PUT", path, "", &mut h, STREAMING_PAYLOAD, AK, SECRET, REGION, T0);
    assert_eq!(
        authorization(&h),
        format!(
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
             SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;\
             x-amz-decoded-content-length;x-amz-storage-class,Signature={CHUNKED_SEED}"
        )
    );
    let client = chunk_signer_for(&h, SECRET).unwrap();
    assert_eq!(hex::encode(client.previous_signature()), CHUNKED_SEED);

    let req = request("PUT", path, "", &h);
    let v = check(&req, REGION, T0).unwrap();
    let PayloadMode::StreamingSigned(mut server) = v.payload else {
        panic!("expected a streaming payload");
    };
    assert_eq!(hex::encode(server.previous_signature()), CHUNKED_SEED);
    // The server's signer yields the documented first chunk signature.
    let first = server.sign_chunk(&super::crypto::sha256(&[b'a'; 65536]));
    assert_eq!(hex::encode(first), "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648");
}

// ---- Example: chunked upload with a trailing checksum (seed signature) --------

const TRAILER_SEED: &str = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e";

#[test]
fn trailer_example_seed_signature_both_directions() {
    let mut h = headers(&[
        ("host", "s3.amazonaws.com"),
        ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ("content-encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", "66560"),
        ("x-amz-trailer", "x-amz-checksum-crc32c"),
    ]);
    let path = "/examplebucket/chunkObject.txt";
    sign_request("PUT", path, "", &mut h, STREAMING_PAYLOAD_TRAILER, AK, SECRET, REGION, T0);
    assert_eq!(
        authorization(&h),
        format!(
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
             SignedHeaders=content-encoding;host;x-amz-content-sha256;x-amz-date;\
             x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer,Signature={TRAILER_SEED}"
        )
    );
    let req = request("PUT", path, "", &h);
    let v = check(&req, REGION, T0).unwrap();
    let PayloadMode::StreamingSignedTrailer(mut server) = v.payload else {
        panic!("expected a signed trailer payload, got {:?}", v.payload);
    };
    assert_eq!(hex::encode(server.previous_signature()), TRAILER_SEED);
    // The documented chunk signatures, then the trailer signature.
    for (len, sig) in [
        (65536, "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2"),
        (1024, "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7"),
        (0, "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992"),
    ] {
        assert_eq!(hex::encode(server.sign_chunk(&super::crypto::sha256(&vec![b'a'; len]))), sig);
    }
    let trailer = server.sign_trailer(&super::crypto::sha256(b"x-amz-checksum-crc32c:sOO8/Q==\n"));
    assert_eq!(hex::encode(trailer), "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435");

    // The unsigned trailer variant verifies without a signer.
    let mut h = headers(&[("host", "s3.amazonaws.com"), ("x-amz-trailer", "x-amz-checksum-crc32")]);
    sign_request("PUT", path, "", &mut h, STREAMING_UNSIGNED_TRAILER, AK, SECRET, REGION, T0);
    let v = check(&request("PUT", path, "", &h), REGION, T0).unwrap();
    assert!(matches!(v.payload, PayloadMode::StreamingUnsignedTrailer), "{:?}", v.payload);
    // Its x-amz-content-sha256 is signed like any other header.
    h.insert("x-amz-content-sha256", STREAMING_PAYLOAD_TRAILER.parse().unwrap());
    assert_eq!(code(check(&request("PUT", path, "", &h), REGION, T0)), S3ErrorCode::SignatureDoesNotMatch);
}
