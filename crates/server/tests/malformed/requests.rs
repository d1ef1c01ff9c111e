//! The seeded generator of malformed requests for `security_malformed.rs`:
//! raw HTTP/1.1 request bytes, each closing its connection (`connection:
//! close` last) so that the answer ends with the connection.

use super::common::admin::Key;
use super::common::{AK, REGION, SK};
use super::rng::{hmac, mutate, Rng};
use sha2::{Digest, Sha256};

/// One request: its bytes, whether it is left incomplete on purpose (the
/// client then half-closes, and the server may close without answering),
/// and what kind it is (for failure reports).
pub struct Req {
    pub bytes: Vec<u8>,
    pub incomplete: bool,
    pub what: &'static str,
}

const SUBRESOURCES: &[&str] = &[
    "acl",
    "cors",
    "policy",
    "policyStatus",
    "uploads",
    "uploadId",
    "partNumber",
    "versionId",
    "versions",
    "tagging",
    "lifecycle",
    "website",
    "delete",
    "location",
    "list-type",
    "max-keys",
    "continuation-token",
    "start-after",
    "prefix",
    "delimiter",
    "encoding-type",
    "marker",
    "versioning",
    "encryption",
    "object-lock",
    "retention",
    "legal-hold",
    "notification",
    "replication",
    "logging",
    "requestPayment",
    "accelerate",
    "analytics",
    "ownershipControls",
    "publicAccessBlock",
    "restore",
    "select",
    "select-type",
    "attributes",
    "torrent",
    "max-uploads",
    "upload-id-marker",
    "key-marker",
    "part-number-marker",
    "max-parts",
    "response-content-type",
    "response-content-disposition",
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "AWSAccessKeyId",
    "Signature",
    "Expires",
    "x-id",
    "fetch-owner",
];

const VALUES: &[&str] = &[
    "",
    "0",
    "-1",
    "1",
    "10001",
    "99999999999999999999",
    "2",
    "url",
    "%",
    "%zz",
    "%00",
    "%FF%FE",
    "a%2Fb",
    "..",
    "../..",
    "null",
    "true",
    "AWS4-HMAC-SHA256",
    "AKTESTROOT/20261206/us-east-1/s3/aws4_request",
    "20261206T000000Z",
    "\u{7f}",
    "%E2%82",
    "x%20y+z",
    "obj",
    "fuzzb/obj",
    "/fuzzb/obj",
    "3600",
    "604801",
    "deadbeef",
];

const HEADERS: &[&str] = &[
    "range",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "x-amz-copy-source",
    "x-amz-copy-source-range",
    "x-amz-copy-source-if-match",
    "content-md5",
    "x-amz-content-sha256",
    "x-amz-date",
    "date",
    "x-amz-acl",
    "x-amz-grant-read",
    "x-amz-grant-full-control",
    "x-amz-storage-class",
    "x-amz-server-side-encryption",
    "x-amz-tagging",
    "x-amz-object-lock-mode",
    "x-amz-object-lock-retain-until-date",
    "x-amz-checksum-crc32",
    "x-amz-checksum-sha256",
    "x-amz-checksum-algorithm",
    "x-amz-sdk-checksum-algorithm",
    "x-amz-decoded-content-length",
    "content-encoding",
    "content-type",
    "expect",
    "origin",
    "access-control-request-method",
    "access-control-request-headers",
    "host",
    "x-amz-meta-a",
    "x-amz-meta-",
    "x-amz-bucket-object-lock-enabled",
    "x-amz-metadata-directive",
    "x-amz-expected-bucket-owner",
    "x-amz-trailer",
    "x-amz-website-redirect-location",
    "x-amz-security-token",
    "authorization",
    "cache-control",
    "content-disposition",
    "x-amz-mfa",
    "x-amz-request-payer",
    "x-amz-bypass-governance-retention",
    "x-amz-object-ownership",
    "cookie",
];

const HEADER_VALUES: &[&str] = &[
    "",
    "*",
    "bytes=0-",
    "bytes=-0",
    "bytes=5-1",
    "bytes=0-0,1-1",
    "bytes=99999999999999999999-",
    "bytes=",
    "\"etag\"",
    "W/\"x\"",
    "Sun, 06 Dec 2026 08:00:00 GMT",
    "not a date",
    "/fuzzb/obj",
    "fuzzb/obj?versionId=x",
    "/fuzzb/%ff",
    "/../../etc/passwd",
    "1B2M2Y8AsgTpgAmY7PhCfg==",
    "garbage==",
    "UNSIGNED-PAYLOAD",
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    "public-read",
    "private",
    "bogus",
    "GLACIER",
    "STANDARD",
    "AES256",
    "aws:kms",
    "a=b&c",
    "GOVERNANCE",
    "-1",
    "18446744073709551616",
    "100-continue",
    "aws-chunked",
    "gzip, aws-chunked",
    "multipart/form-data; boundary=",
    "application/xml",
    "x-amz-checksum-crc32",
    "http://evil.example",
    "PUT",
    "x-amz-date, content-type",
    "AAAAAA==",
    "true",
    "COPY",
    "REPLACE",
];

fn escape_path(r: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        "fuzzb",
        "obj",
        "..",
        ".",
        "%2e%2e",
        "%2E",
        "%2F",
        "%00",
        "%ff",
        "%",
        "%zz",
        "%e2%82%ac",
        "a b",
        "~",
        "_coffer",
        "health",
        "admin",
        "v1",
        "//",
        "\\",
        "?",
        "#",
        "*",
        "é",
        "%25",
        "+",
        ";",
        "fuzzb-missing",
        "AKTESTROOT",
    ];
    let mut p = String::new();
    for _ in 0..1 + r.below(5) {
        p.push('/');
        p.push_str(r.word(PIECES));
        if r.one_in(4) {
            p.push_str(r.word(PIECES));
        }
    }
    if r.one_in(20) {
        p = format!("/fuzzb/{}", "a".repeat(1 + r.below(3000)));
    }
    if r.one_in(30) {
        p = r.some_token(1, 40); // no leading slash at all
    }
    p
}

fn query(r: &mut Rng) -> String {
    let mut q = Vec::new();
    for _ in 0..r.below(4) {
        let k = if r.one_in(8) { r.some_token(1, 10) } else { r.pick(SUBRESOURCES).to_string() };
        match r.below(4) {
            0 => q.push(k),
            1 => q.push(format!("{k}=")),
            2 => q.push(format!("{k}={}", r.some_token(1, 20))),
            _ => q.push(format!("{k}={}", r.pick(VALUES))),
        }
    }
    q.join("&")
}

/// One random header line (without CRLF); names never `connection`,
/// `content-length` or `transfer-encoding`, which the generator sets itself.
fn header(r: &mut Rng) -> String {
    let name = if r.one_in(6) { r.some_token(1, 20).replace(':', "-") } else { r.pick(HEADERS).to_string() };
    let value = match r.below(10) {
        0 => r.some_token(0, 100),
        1 => "v".repeat(4096 + r.below(70_000)),
        2 => String::from_utf8_lossy(&r.some_bytes(1, 20)).replace(['\r', '\n'], " "),
        _ => r.pick(HEADER_VALUES).to_string(),
    };
    format!("{name}: {value}")
}

pub struct Gen {
    pub rng: Rng,
    host: String,
    /// A project root's key, for IAM calls.
    root: Key,
    /// A multipart upload of `/fuzzb/mp` in progress (set by the test).
    pub upload: String,
}

impl Gen {
    pub fn new(seed: u64, host: String, root: Key) -> Self {
        Gen { rng: Rng(seed), host, root, upload: String::new() }
    }

    /// Assembles a request: the request line, `headers`, a `content-length`
    /// (given, or the body's), `connection: close`, then the body.
    fn assemble(&self, line: &str, headers: &[String], content_length: Option<String>, body: &[u8]) -> Vec<u8> {
        let mut head = format!("{line}\r\n");
        if !headers.iter().any(|h| h.to_ascii_lowercase().starts_with("host:")) {
            head.push_str(&format!("host: {}\r\n", self.host));
        }
        for h in headers {
            head.push_str(h);
            head.push_str("\r\n");
        }
        if let Some(cl) = content_length.or_else(|| (!body.is_empty()).then(|| body.len().to_string())) {
            head.push_str(&format!("content-length: {cl}\r\n"));
        }
        head.push_str("connection: close\r\n\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(body);
        out
    }

    /// A SigV4-signed request (for service `s3` with `sign_request`), extra
    /// headers signed too.
    fn signed(
        &self,
        method: &str,
        path: &str,
        query: &str,
        extra: &[(String, String)],
        body: &[u8],
        payload: Option<&str>,
    ) -> Vec<u8> {
        let mut h = http::HeaderMap::new();
        h.insert("host", self.host.parse().expect("a host header"));
        for (k, v) in extra {
            if let (Ok(k), Ok(v)) = (http::HeaderName::from_bytes(k.as_bytes()), http::HeaderValue::from_str(v)) {
                h.insert(k, v);
            }
        }
        let payload = payload.map_or_else(|| hex::encode(Sha256::digest(body)), str::to_owned);
        let now = time::OffsetDateTime::now_utc();
        coffer_s3_proto::sigv4::sign_request(method, path, query, &mut h, &payload, AK, SK, REGION, now);
        let line = format!("{method} {path}{}{query} HTTP/1.1", if query.is_empty() { "" } else { "?" });
        let headers: Vec<String> =
            h.iter().map(|(k, v)| format!("{k}: {}", String::from_utf8_lossy(v.as_bytes()))).collect();
        self.assemble(&line, &headers, None, body)
    }

    pub fn request(&mut self) -> Req {
        let kind = self.rng.below(13);
        let r = &mut self.rng;
        match kind {
            0 => {
                let method = match r.below(3) {
                    0 => r
                        .pick(&["GETT", "CONNECT", "TRACE", "PROPFIND", "get", "PATCH", "M-SEARCH", "BREW"])
                        .to_string(),
                    1 => r.some_token(1, 30).replace(['/', ':'], "x"),
                    _ => String::from_utf8_lossy(&r.some_bytes(1, 12)).replace(['\r', '\n', ' '], "_"),
                };
                let path = escape_path(r);
                let line = format!("{method} {path} HTTP/1.1");
                Req { bytes: self.assemble(&line, &[], None, b""), incomplete: false, what: "garbage method" }
            }
            1 => {
                let method = r.pick(&["GET", "HEAD", "PUT", "DELETE", "POST", "OPTIONS"]).to_string();
                let (path, q) = (escape_path(r), query(r));
                let line = format!("{method} {path}{}{q} HTTP/1.1", if q.is_empty() { "" } else { "?" });
                Req { bytes: self.assemble(&line, &[], None, b""), incomplete: false, what: "escaped path" }
            }
            2 => {
                let method = *r.pick(&["GET", "HEAD", "PUT", "DELETE", "POST"]);
                let path = r.pick(&["/fuzzb", "/fuzzb/obj", "/fuzzb/new", "/", "/nob/x"]).to_string();
                let q = query(r);
                let signed = r.one_in(2);
                let bytes = if signed {
                    self.signed(method, &path, &q, &[], b"", None)
                } else {
                    let line = format!("{method} {path}{}{q} HTTP/1.1", if q.is_empty() { "" } else { "?" });
                    self.assemble(&line, &[], None, b"")
                };
                Req { bytes, incomplete: false, what: if signed { "signed sub-resources" } else { "sub-resources" } }
            }
            3 => {
                let method = *r.pick(&["GET", "HEAD", "PUT", "DELETE", "POST", "OPTIONS"]);
                let path = r.pick(&["/fuzzb", "/fuzzb/obj", "/fuzzb/new", "/"]).to_string();
                let n = if r.one_in(20) { 200 + r.below(200) } else { 1 + r.below(12) };
                let headers: Vec<String> = (0..n).map(|_| header(r)).collect();
                let body = if method == "PUT" || method == "POST" { r.some_bytes(0, 64) } else { Vec::new() };
                let bytes = if r.one_in(2) {
                    let extra: Vec<(String, String)> = headers
                        .iter()
                        .filter_map(|h| h.split_once(": ").map(|(k, v)| (k.to_owned(), v.to_owned())))
                        .filter(|(k, _)| !k.eq_ignore_ascii_case("host") && !k.eq_ignore_ascii_case("authorization"))
                        .collect();
                    let payload = extra.iter().find(|(k, _)| k == "x-amz-content-sha256").map(|(_, v)| v.clone());
                    let extra: Vec<_> = extra.into_iter().filter(|(k, _)| k != "x-amz-content-sha256").collect();
                    self.signed(method, &path, "", &extra, &body, payload.as_deref())
                } else {
                    self.assemble(&format!("{method} {path} HTTP/1.1"), &headers, None, &body)
                };
                // The body is complete: no header the generator picks
                // (`expect`, `x-amz-decoded-content-length`, ...) may leave
                // the server waiting for more.
                Req { bytes, incomplete: false, what: "random headers" }
            }
            4 => {
                let body = r.some_bytes(0, 200);
                let (cl, incomplete) = match r.below(6) {
                    0 => ((body.len() + 1 + r.below(1000)).to_string(), true),
                    1 => (body.len().saturating_sub(1 + r.below(10)).to_string(), false),
                    2 => (r.pick(&["abc", "-1", "99999999999999999999", "1e3", " 5", "0x10", ""]).to_string(), true),
                    3 => (format!("{}\r\ncontent-length: {}", body.len(), body.len() + 7), true),
                    4 => (format!("{}, {}", body.len(), body.len()), true),
                    _ => ("18446744073709551615".to_owned(), true),
                };
                let path = r.pick(&["/fuzzb/cl", "/fuzzb?delete", "/", "/_coffer/admin/v1/projects", "/fuzzb/obj?acl"]);
                let line = format!("{} {path} HTTP/1.1", r.pick(&["PUT", "POST"]));
                Req { bytes: self.assemble(&line, &[], Some(cl), &body), incomplete, what: "wrong content-length" }
            }
            5 => self.chunked(),
            6 => self.broken_auth(),
            7 | 8 => self.signed_document(),
            9 => self.post_form(),
            10 => self.iam(),
            11 => self.multipart(),
            _ => self.admin(),
        }
    }

    fn chunked(&mut self) -> Req {
        let r = &mut self.rng;
        let mode = *r.pick(&[
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        ]);
        let data = r.some_bytes(0, 100);
        let mut body = format!("{:x};chunk-signature={}\r\n", data.len(), "0".repeat(64)).into_bytes();
        body.extend_from_slice(&data);
        body.extend_from_slice(b"\r\n0;chunk-signature=");
        body.extend_from_slice("f".repeat(64).as_bytes());
        body.extend_from_slice(b"\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n");
        let body = mutate(r, &body);
        let decoded = if r.one_in(4) { r.token(3) } else { (data.len() + r.below(3)).to_string() };
        let mut extra = vec![
            ("content-encoding".to_owned(), "aws-chunked".to_owned()),
            ("x-amz-decoded-content-length".to_owned(), decoded),
        ];
        if mode.ends_with("TRAILER") {
            extra.push(("x-amz-trailer".to_owned(), r.pick(&["x-amz-checksum-crc32", "x-amz-bogus", ""]).to_string()));
        }
        let key = format!("/fuzzb/chunked{}", r.below(4));
        let mut bytes = self.signed("PUT", &key, "", &extra, &body, Some(mode));
        // Sometimes announce more than is sent.
        let incomplete = self.rng.one_in(3);
        if incomplete {
            let cut = self.rng.below(body.len() + 1);
            bytes.truncate(bytes.len() - body.len() + cut);
        }
        Req { bytes, incomplete, what: "aws-chunked garbage" }
    }

    /// Part uploads (maybe copies), listings, completions and aborts of a
    /// real upload, with random part numbers, headers and documents.
    fn multipart(&mut self) -> Req {
        let r = &mut self.rng;
        let id = self.upload.clone();
        let part = if r.one_in(2) { (1 + r.below(3)).to_string() } else { r.word(VALUES).to_owned() };
        let (method, q, body, mut extra) = match r.below(6) {
            0 | 1 => ("PUT", format!("partNumber={part}&uploadId={id}"), r.some_bytes(0, 300), Vec::new()),
            2 => {
                let source = r.word(&[
                    "/fuzzb/obj",
                    "fuzzb/obj",
                    "/fuzzb/mp",
                    "/nob/x",
                    "/fuzzb/obj?versionId=null",
                    "%2Ffuzzb%2Fobj",
                ]);
                let mut h = vec![("x-amz-copy-source".to_owned(), source.to_owned())];
                if r.one_in(2) {
                    h.push(("x-amz-copy-source-range".to_owned(), r.word(HEADER_VALUES).to_owned()));
                }
                ("PUT", format!("partNumber={part}&uploadId={id}"), Vec::new(), h)
            }
            3 => {
                let doc = format!(
                    "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"{}\"</ETag></Part><Part><PartNumber>{part}</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>",
                    "0".repeat(32)
                );
                ("POST", format!("uploadId={id}"), mutate(r, doc.as_bytes()), Vec::new())
            }
            4 => (
                "GET",
                format!("uploadId={id}&max-parts={part}&part-number-marker={}", r.word(VALUES)),
                Vec::new(),
                Vec::new(),
            ),
            _ if r.one_in(10) => ("DELETE", format!("uploadId={id}"), Vec::new(), Vec::new()),
            _ => ("GET", format!("uploads&max-uploads={part}&key-marker={}", r.word(VALUES)), Vec::new(), Vec::new()),
        };
        if r.one_in(3) {
            if let Some((k, v)) = header(r).split_once(": ") {
                if !k.eq_ignore_ascii_case("host")
                    && !k.eq_ignore_ascii_case("authorization")
                    && k != "x-amz-content-sha256"
                {
                    extra.push((k.to_owned(), v.to_owned()));
                }
            }
        }
        let path = if method == "GET" && q.starts_with("uploads") { "/fuzzb" } else { "/fuzzb/mp" };
        Req { bytes: self.signed(method, path, &q, &extra, &body, None), incomplete: false, what: "multipart" }
    }

    fn broken_auth(&mut self) -> Req {
        let r = &mut self.rng;
        let good = "AWS4-HMAC-SHA256 Credential=AKTESTROOT/20261206/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let v2 = "AWS AKTESTROOT:frJIUN8DYpKDtOLCwo//yllqDzg=";
        let base = if r.one_in(2) { good } else { v2 };
        let auth = String::from_utf8_lossy(&mutate(r, base.as_bytes())).replace(['\r', '\n'], "");
        let path = *r.pick(&["/fuzzb/obj", "/fuzzb", "/", "/_coffer/admin/v1/projects"]);
        let (q, headers) = if r.one_in(3) {
            // A presigned URL, mutated.
            let presigned = if r.one_in(2) {
                "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKTESTROOT%2F20261206%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261206T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=00"
            } else {
                "AWSAccessKeyId=AKTESTROOT&Expires=1900000000&Signature=abc%3D"
            };
            (String::from_utf8_lossy(&mutate(r, presigned.as_bytes())).replace(['\r', '\n', ' ', '#'], ""), vec![])
        } else {
            let date = if r.one_in(2) { "x-amz-date: 20261206T000000Z".to_owned() } else { header(r) };
            (String::new(), vec![format!("authorization: {auth}"), date])
        };
        let line = format!(
            "{} {path}{}{q} HTTP/1.1",
            r.pick(&["GET", "PUT", "DELETE", "HEAD"]),
            if q.is_empty() { "" } else { "?" }
        );
        Req { bytes: self.assemble(&line, &headers, None, b""), incomplete: false, what: "broken authorization" }
    }

    fn signed_document(&mut self) -> Req {
        const DOCS: &[(&str, &str, &str)] = &[
            ("PUT", "/fuzzb", "cors"),
            ("PUT", "/fuzzb", "acl"),
            ("PUT", "/fuzzb/obj", "acl"),
            ("PUT", "/fuzzb", "policy"),
            ("POST", "/fuzzb", "delete"),
            ("PUT", "/fuzzb-new", ""),
            ("POST", "/fuzzb/obj", "uploadId=nope"),
            ("PUT", "/fuzzb", "tagging"),
            ("PUT", "/fuzzb", "lifecycle"),
            ("PUT", "/fuzzb", "versioning"),
            ("PUT", "/fuzzb", "website"),
            ("PUT", "/fuzzb", "encryption"),
            ("PUT", "/fuzzb/obj", "tagging"),
            ("PUT", "/fuzzb", "object-lock"),
        ];
        const SEEDS: &[&str] = &[
            r#"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedHeader>*</AllowedHeader><MaxAgeSeconds>10</MaxAgeSeconds></CORSRule></CORSConfiguration>"#,
            r#"<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>x</ID></Owner><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>"#,
            r#"<Delete><Quiet>true</Quiet><Object><Key>gone</Key><VersionId>null</VersionId></Object><Object><Key>obj2</Key></Object></Delete>"#,
            r#"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"e"</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part></CompleteMultipartUpload>"#,
            r#"<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>"#,
            r#"<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>"#,
            r#"<LifecycleConfiguration><Rule><ID>r</ID><Status>Enabled</Status><Filter><Prefix>p</Prefix></Filter><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>"#,
            r#"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"#,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::fuzzb/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}"#,
        ];
        let r = &mut self.rng;
        let (method, path, q) = *r.pick(DOCS);
        let seed = r.pick(SEEDS).as_bytes();
        let body = if r.one_in(10) { r.some_bytes(0, 300) } else { mutate(r, seed) };
        let mut extra = Vec::new();
        if r.one_in(2) {
            use base64::Engine as _;
            let md5 = md5::Md5::digest(&body);
            extra.push(("content-md5".to_owned(), base64::engine::general_purpose::STANDARD.encode(md5)));
        }
        Req { bytes: self.signed(method, path, q, &extra, &body, None), incomplete: false, what: "signed document" }
    }

    fn post_form(&mut self) -> Req {
        let r = &mut self.rng;
        let policy = "eyJleHBpcmF0aW9uIjoiMjAzMC0wMS0wMVQwMDowMDowMFoiLCJjb25kaXRpb25zIjpbeyJidWNrZXQiOiJmdXp6YiJ9XX0=";
        let form = format!(
            "--B0\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nup/${{filename}}\r\n\
             --B0\r\nContent-Disposition: form-data; name=\"policy\"\r\n\r\n{policy}\r\n\
             --B0\r\nContent-Disposition: form-data; name=\"x-amz-algorithm\"\r\n\r\nAWS4-HMAC-SHA256\r\n\
             --B0\r\nContent-Disposition: form-data; name=\"x-amz-credential\"\r\n\r\nAKTESTROOT/20261206/us-east-1/s3/aws4_request\r\n\
             --B0\r\nContent-Disposition: form-data; name=\"x-amz-date\"\r\n\r\n20261206T000000Z\r\n\
             --B0\r\nContent-Disposition: form-data; name=\"x-amz-signature\"\r\n\r\n{}\r\n\
             --B0\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--B0--\r\n",
            "0".repeat(64)
        );
        let body = mutate(r, form.as_bytes());
        let ct = *r.pick(&[
            "multipart/form-data; boundary=B0",
            "multipart/form-data",
            "multipart/form-data; boundary=\"B0\"",
            "text/plain",
            "multipart/form-data; boundary=",
        ]);
        let line = "POST /fuzzb HTTP/1.1";
        Req {
            bytes: self.assemble(line, &[format!("content-type: {ct}")], None, &body),
            incomplete: false,
            what: "POST form",
        }
    }

    /// A mutated IAM query API call, signed for `iam` by the project root.
    fn iam(&mut self) -> Req {
        const SEEDS: &[&str] = &[
            "Action=CreateUser&UserName=u1&Version=2010-05-08",
            "Action=CreateUser&UserName=u2&Path=%2Fteam%2F",
            "Action=PutUserPolicy&UserName=u1&PolicyName=p&PolicyDocument=%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3A*%22%2C%22Resource%22%3A%22*%22%7D%5D%7D",
            "Action=ListUsers&MaxItems=5&Marker=u",
            "Action=CreateAccessKey&UserName=u1",
            "Action=AttachUserPolicy&UserName=u1&PolicyArn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FAmazonS3ReadOnlyAccess",
            "Action=GetUser&UserName=u1",
            "Action=ListAccessKeys&UserName=u1",
            "Action=GetUserPolicy&UserName=u1&PolicyName=p",
            "Action=DeleteUserPolicy&UserName=u1&PolicyName=nope",
        ];
        let r = &mut self.rng;
        let seed = r.pick(SEEDS).as_bytes();
        let body = if r.one_in(8) { r.some_bytes(0, 200) } else { mutate(r, seed) };
        let now = time::OffsetDateTime::now_utc();
        let amz = format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute(),
            now.second()
        );
        let ct = "application/x-www-form-urlencoded; charset=utf-8";
        let canonical = format!(
            "POST\n/\n\ncontent-type:{ct}\nhost:{}\nx-amz-date:{amz}\n\ncontent-type;host;x-amz-date\n{}",
            self.host,
            hex::encode(Sha256::digest(&body))
        );
        let scope = format!("{}/{REGION}/iam/aws4_request", &amz[..8]);
        let sts = format!("AWS4-HMAC-SHA256\n{amz}\n{scope}\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
        let key = coffer_s3_proto::sigv4::signing_key(&self.root.sk, &amz[..8], REGION, "iam");
        let sig = hex::encode(hmac(&key, sts.as_bytes()));
        let headers = vec![
            format!("content-type: {ct}"),
            format!("x-amz-date: {amz}"),
            format!(
                "authorization: AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders=content-type;host;x-amz-date, Signature={sig}",
                self.root.ak
            ),
        ];
        Req { bytes: self.assemble("POST / HTTP/1.1", &headers, None, &body), incomplete: false, what: "IAM body" }
    }

    /// A mutated admin API call, signed by the operator.
    fn admin(&mut self) -> Req {
        const CALLS: &[(&str, &str, &str)] = &[
            ("POST", "/projects", r#"{"name":"p1"}"#),
            ("POST", "/projects/fz/users", r#"{"name":"u1","path":"/a/"}"#),
            ("PUT", "/projects/fz/users/u1/policy", r#"{"preset":"read-only"}"#),
            (
                "PUT",
                "/projects/fz/users/u1/policy",
                r#"{"document":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*"],"Resource":"arn:aws:s3:::fuzzb/${aws:username}/*","Condition":{"StringLike":{"s3:prefix":["a/*"]}}}]}}"#,
            ),
            ("PUT", "/projects/fz/users/u1/password", r#"{"password":"correct horse battery"}"#),
            ("POST", "/projects/fz/keys", r#"{"user":"u1","region":"us-east-1","expires":"2030-01-01T00:00:00Z"}"#),
            ("PATCH", "/keys/AKNOSUCHKEY", r#"{"status":"Inactive"}"#),
            ("PUT", "/projects/fz/quota", r#"{"max_bytes":1000000000,"max_objects":null}"#),
            ("PUT", "/buckets/fuzzb/quota", r#"{"max_bytes":null,"max_objects":100000}"#),
            ("GET", "/usage?project=fz&from=2026-01-01&to=garbage", ""),
            ("GET", "/projects/fz/keys?user=%ff", ""),
            ("GET", "/buckets?project=fz", ""),
        ];
        let r = &mut self.rng;
        let (method, path, seed) = *r.pick(CALLS);
        let body = if seed.is_empty() && r.one_in(2) { Vec::new() } else { mutate(r, seed.as_bytes()) };
        let (path, q) = path.split_once('?').unwrap_or((path, ""));
        let path = if r.one_in(6) {
            String::from_utf8_lossy(&mutate(r, path.as_bytes())).replace(['\r', '\n', ' ', '?', '#'], "")
        } else {
            path.to_owned()
        };
        let full = format!("/_coffer/admin/v1{path}");
        let extra = vec![("content-type".to_owned(), "application/json".to_owned())];
        Req { bytes: self.signed(method, &full, q, &extra, &body, None), incomplete: false, what: "admin body" }
    }
}
