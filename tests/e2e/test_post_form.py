"""Browser form uploads (POST object) with the policies boto3 generates.

`generate_presigned_post` builds what a web page embeds in an HTML form: the
URL, the SigV4 policy fields and the conditions. These tests post that form
the way a browser would (multipart/form-data, the file last) and compare the
stored bytes.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
import uuid

from coffer_e2e import http_request, random_bytes, sha256_bytes


def post_form(url: str, fields: dict, filename: str, data: bytes):
    """Posts a multipart/form-data form with the file as the last part."""
    boundary = uuid.uuid4().hex
    out = bytearray()
    for k, v in fields.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n"
                f"{v}\r\n").encode()
    out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    out += data + f"\r\n--{boundary}--\r\n".encode()
    return http_request(url, "POST", bytes(out),
                        {"Content-Type": f"multipart/form-data; boundary={boundary}"})


def test_presigned_post_upload(s3, bucket):
    data = random_bytes(3 * 1024 * 1024 + 17)
    post = s3.generate_presigned_post(
        bucket, "forms/${filename}",
        Fields={"Content-Type": "text/csv", "x-amz-meta-origin": "browser"},
        Conditions=[["starts-with", "$key", "forms/"], {"Content-Type": "text/csv"},
                    {"x-amz-meta-origin": "browser"}, ["content-length-range", 1, 10 * 1024 * 1024]],
        ExpiresIn=600)
    assert post["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    status, headers, body = post_form(post["url"], post["fields"], "report 2026.csv", data)
    assert status == 204, body
    got = s3.get_object(Bucket=bucket, Key="forms/report 2026.csv")
    assert sha256_bytes(got["Body"].read()) == sha256_bytes(data)
    assert got["ContentType"] == "text/csv"
    assert got["Metadata"] == {"origin": "browser"}
    assert got["ETag"] == {k.lower(): v for k, v in headers.items()}["etag"]


def test_presigned_post_refusals(s3, bucket):
    post = s3.generate_presigned_post(
        bucket, "only-this-key",
        Conditions=[["content-length-range", 1, 100]], ExpiresIn=600)
    # Too large for the policy's range.
    status, _, body = post_form(post["url"], post["fields"], "x", b"x" * 101)
    assert status == 400 and b"<Code>EntityTooLarge</Code>" in body
    # A different key than the policy allows.
    fields = dict(post["fields"], key="another-key")
    status, _, body = post_form(post["url"], fields, "x", b"abc")
    assert status == 403 and b"<Code>AccessDenied</Code>" in body
    # A tampered policy no longer matches its signature.
    fields = dict(post["fields"], policy=post["fields"]["policy"][:-4] + "AAA=")
    status, _, body = post_form(post["url"], fields, "x", b"abc")
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_presigned_post_success_redirect(s3, bucket):
    target = "https://app.example/uploaded"
    post = s3.generate_presigned_post(
        bucket, "r.txt", Fields={"success_action_redirect": target},
        Conditions=[{"success_action_redirect": target}], ExpiresIn=600)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    boundary = uuid.uuid4().hex
    body = "".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                   for k, v in post["fields"].items())
    body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r\"\r\n\r\n"
             f"hello\r\n--{boundary}--\r\n")
    req = urllib.request.Request(post["url"], data=body.encode(), method="POST",
                                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        opener.open(req, timeout=30)
        raise AssertionError("expected a 303 redirect")
    except urllib.error.HTTPError as e:
        assert e.code == 303
        loc = urllib.parse.urlsplit(e.headers["Location"])
    etag = s3.head_object(Bucket=bucket, Key="r.txt")["ETag"]
    assert f"{loc.scheme}://{loc.netloc}{loc.path}" == target
    assert urllib.parse.parse_qs(loc.query) == {"bucket": [bucket], "key": ["r.txt"], "etag": [etag]}
