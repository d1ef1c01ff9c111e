//! The presigned URL example and query-parameter authentication.

use super::*;

// ---- Example: presigned URL -----------------------------------------------------

#[test]
fn presigned_example_is_reproduced() {
    let q = presign_query("GET", "/test.txt", "", HOST, AK, SECRET, REGION, T0, 86400);
    assert_eq!(q, PRESIGNED_QUERY);
}

#[test]
fn presigned_example_is_accepted_until_it_expires() {
    let h = headers(&[("host", HOST)]);
    let req = request("GET", "/test.txt", PRESIGNED_QUERY, &h);
    let auth = parse(&req).unwrap().unwrap();
    assert!(auth.is_presigned());
    assert_eq!(auth.region(), REGION);
    for now in [T0, T0 - Duration::minutes(14), T0 + Duration::seconds(86400)] {
        let v = auth.verify(&req, SECRET, REGION, now).unwrap();
        assert!(matches!(v.payload, PayloadMode::Unsigned));
    }
    let e = auth.verify(&req, SECRET, REGION, T0 + Duration::seconds(86401)).unwrap_err();
    assert_eq!(e.code, S3ErrorCode::AccessDenied);
    assert_eq!(e.message, "Request has expired");
    assert_eq!(extra(&e, "Expires"), "2013-05-25T00:00:00Z");
    let e = auth.verify(&req, SECRET, REGION, T0 - Duration::minutes(16)).unwrap_err();
    assert_eq!(e.code, S3ErrorCode::AccessDenied);
    assert_eq!(e.message, "Request is not valid yet");
    assert_eq!(code(auth.verify(&req, SECRET, "eu-west-1", T0)), S3ErrorCode::AuthorizationQueryParametersError);
}

#[test]
fn presigned_example_with_one_byte_changed_is_refused() {
    let h = headers(&[("host", HOST)]);
    let tampered = PRESIGNED_QUERY.replace("d404", "d405");
    let other_expiry = PRESIGNED_QUERY.replace("86400", "86401");
    let other_host = headers(&[("host", "examplebucket.s3.amazonaws.co")]);
    for req in [
        request("GET", "/test.txt", &tampered, &h),
        request("GET", "/test.txt", &other_expiry, &h),
        request("GET", "/test.txT", PRESIGNED_QUERY, &h),
        request("PUT", "/test.txt", PRESIGNED_QUERY, &h),
        request("GET", "/test.txt", PRESIGNED_QUERY, &other_host),
    ] {
        let e = check(&req, REGION, T0).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::SignatureDoesNotMatch);
        assert!(extra(&e, "CanonicalRequest").ends_with("\nhost\nUNSIGNED-PAYLOAD"));
    }
}

#[test]
fn presigned_parameters_are_checked() {
    let h = headers(&[("host", HOST)]);
    let bad = |query: String| {
        let req = request("GET", "/test.txt", &query, &h);
        parse(&req).map(|_| ()).unwrap_err()
    };
    for expires in ["0", "604801", "-1", "soon"] {
        let e = bad(PRESIGNED_QUERY.replace("X-Amz-Expires=86400", &format!("X-Amz-Expires={expires}")));
        assert_eq!((e.code, e.status()), (S3ErrorCode::AccessDenied, 403), "{expires}");
    }
    let e = bad(PRESIGNED_QUERY.replace("&X-Amz-SignedHeaders=host", ""));
    assert_eq!(e.code, S3ErrorCode::AuthorizationQueryParametersError);
    let e = bad(PRESIGNED_QUERY.replace("20130524T000000Z", "2013-05-24"));
    assert_eq!(e.code, S3ErrorCode::AuthorizationQueryParametersError);
    let e = bad(PRESIGNED_QUERY.replace("AWS4-HMAC-SHA256&", "AWS4-HMAC-SHA1&"));
    assert_eq!(e.code, S3ErrorCode::AuthorizationQueryParametersError);
    let e = bad(PRESIGNED_QUERY.replace("%2Faws4_request", "%2Faws5_request"));
    assert_eq!(e.code, S3ErrorCode::AuthorizationQueryParametersError);
    let e = bad(format!("{PRESIGNED_QUERY}&X-Amz-Date=20130524T000000Z"));
    assert_eq!(e.code, S3ErrorCode::AuthorizationQueryParametersError);
    // The maximum is accepted.
    let q = PRESIGNED_QUERY.replace("X-Amz-Expires=86400", "X-Amz-Expires=604800");
    let req = request("GET", "/test.txt", &q, &h);
    assert!(parse(&req).unwrap().is_some());
}

#[test]
fn presign_round_trips_with_extra_parameters_and_odd_keys() {
    let path = "/bucket/dir/some%20key+%C3%BC%24.txt";
    let q = presign_query("PUT", path, "partNumber=2&uploadId=a%2Fb", "localhost:9000", AK, SECRET, "coffer", T0, 60);
    assert!(q.starts_with("partNumber=2&uploadId=a%2Fb&X-Amz-Algorithm="));
    let h = headers(&[("host", "localhost:9000")]);
    let req = request("PUT", path, &q, &h);
    let v = parse(&req).unwrap().unwrap().verify(&req, SECRET, "coffer", T0).unwrap();
    assert_eq!(v.access_key, AK);
    // Parameters the signature covers cannot be changed.
    let changed = q.replace("partNumber=2", "partNumber=3");
    let req = request("PUT", path, &changed, &h);
    let auth = parse(&req).unwrap().unwrap();
    assert_eq!(code(auth.verify(&req, SECRET, "coffer", T0)), S3ErrorCode::SignatureDoesNotMatch);
}
