"""Protocol-level checks with a small SigV4 signer written for these tests.

None of the real clients in this suite sends STREAMING-AWS4-HMAC-SHA256-PAYLOAD
(aws-chunked with per-chunk signatures, what the Java/.NET SDKs send for
streams) or UNSIGNED-PAYLOAD in a header-signed request over HTTP, and the
connection handling after an early error response is hidden by client
retries, so these are exercised here directly over http.client/sockets.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import socket
import time
import urllib.parse

import pytest

from coffer_e2e import md5_hex, random_bytes, sha256_bytes

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


class Signer:
    def __init__(self, access_key: str, secret_key: str, region: str = "us-east-1",
                 now: dt.datetime | None = None):
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.now = now or dt.datetime.now(dt.timezone.utc)
        self.amz_date = self.now.strftime("%Y%m%dT%H%M%SZ")
        self.date = self.now.strftime("%Y%m%d")
        self.scope = f"{self.date}/{region}/s3/aws4_request"
        k = _hmac(("AWS4" + secret_key).encode(), self.date)
        k = _hmac(k, region)
        k = _hmac(k, "s3")
        self.key = _hmac(k, "aws4_request")

    def sign(self, method: str, path: str, query: dict, headers: dict, payload_hash: str) -> str:
        """Adds x-amz-date/x-amz-content-sha256, returns the seed signature."""
        headers["x-amz-date"] = self.amz_date
        headers["x-amz-content-sha256"] = payload_hash
        canon_uri = urllib.parse.quote(path, safe="/~")
        canon_query = "&".join(
            f"{urllib.parse.quote(k, safe='~')}={urllib.parse.quote(v, safe='~')}"
            for k, v in sorted(query.items()))
        names = sorted(h.lower() for h in headers)
        lower = {k.lower(): " ".join(str(v).split()) for k, v in headers.items()}
        canon_headers = "".join(f"{n}:{lower[n]}\n" for n in names)
        signed = ";".join(names)
        creq = "\n".join([method, canon_uri, canon_query, canon_headers, signed, payload_hash])
        sts = "\n".join(["AWS4-HMAC-SHA256", self.amz_date, self.scope,
                         hashlib.sha256(creq.encode()).hexdigest()])
        sig = hmac.new(self.key, sts.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.access_key}/{self.scope}, "
            f"SignedHeaders={signed}, Signature={sig}")
        return sig

    def chunk_signature(self, prev: str, data: bytes) -> str:
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", self.amz_date, self.scope, prev,
                         EMPTY_SHA256, hashlib.sha256(data).hexdigest()])
        return hmac.new(self.key, sts.encode(), hashlib.sha256).hexdigest()


def send(server, method, path, query=None, headers=None, body=b""):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    url = urllib.parse.quote(path, safe="/~")
    if query:
        url += "?" + urllib.parse.urlencode(query)
    conn.request(method, url, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data


def signed(server, method, path, query=None, body=b"", payload_hash=None, headers=None):
    query = query or {}
    headers = dict(headers or {})
    headers["Host"] = server.host_port
    Signer(server.access_key, server.secret_key).sign(
        method, path, query, headers, payload_hash or sha256_bytes(body))
    return send(server, method, path, query, headers, body)


def streaming_body(signer: Signer, seed: str, data: bytes, chunk: int,
                   tamper_chunk: int | None = None, tamper_data: bool = False) -> bytes:
    out, prev = [], seed
    chunks = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]
    for i, c in enumerate(chunks):
        sig = signer.chunk_signature(prev, c)
        prev = sig
        if tamper_chunk == i:
            if tamper_data:
                c = bytes([c[0] ^ 0xFF]) + c[1:]
            else:
                sig = ("0" if sig[0] != "0" else "1") + sig[1:]
        out.append(f"{len(c):x};chunk-signature={sig}\r\n".encode() + c + b"\r\n")
    return b"".join(out)


def streaming_put(server, path, data, chunk=64 * 1024, query=None, **tamper):
    signer = Signer(server.access_key, server.secret_key)
    encoded_len = len(streaming_body(signer, "0" * 64, data, chunk))
    headers = {
        "Host": server.host_port,
        "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(len(data)),
        "Content-Length": str(encoded_len),
    }
    seed = signer.sign("PUT", path, query or {}, headers, STREAMING)
    body = streaming_body(signer, seed, data, chunk, **tamper)
    assert len(body) == encoded_len
    return send(server, "PUT", path, query, headers, body)


@pytest.fixture
def raw_bucket(coffer, s3, bucket):
    return bucket


def test_streaming_sigv4_put(coffer, s3, raw_bucket):
    data = random_bytes(200_000 + 17)
    status, headers, body = streaming_put(coffer, f"/{raw_bucket}/streamed.bin", data)
    assert status == 200, body
    assert headers.get("etag") == f'"{md5_hex(data)}"'
    got = s3.get_object(Bucket=raw_bucket, Key="streamed.bin")
    assert got["Body"].read() == data
    assert got["ContentLength"] == len(data)
    # aws-chunked is a transfer detail, not the object's Content-Encoding.
    assert got.get("ContentEncoding") in (None, ""), got.get("ContentEncoding")


def test_streaming_sigv4_exact_chunk_multiple_and_empty(coffer, s3, raw_bucket):
    data = random_bytes(8192 * 3)
    status, _, body = streaming_put(coffer, f"/{raw_bucket}/exact", data, chunk=8192)
    assert status == 200, body
    assert s3.get_object(Bucket=raw_bucket, Key="exact")["Body"].read() == data
    status, _, body = streaming_put(coffer, f"/{raw_bucket}/empty", b"", chunk=8192)
    assert status == 200, body
    assert s3.head_object(Bucket=raw_bucket, Key="empty")["ContentLength"] == 0


@pytest.mark.parametrize("tamper_data", [False, True], ids=["bad-signature", "bad-data"])
def test_streaming_sigv4_tampered_chunk_rejected(coffer, s3, raw_bucket, tamper_data):
    data = random_bytes(300_000)
    status, _, body = streaming_put(coffer, f"/{raw_bucket}/tampered", data,
                                    tamper_chunk=2, tamper_data=tamper_data)
    assert status == 403, (status, body)
    assert b"<Code>SignatureDoesNotMatch</Code>" in body, body
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=raw_bucket).get("Contents", [])]
    assert "tampered" not in keys


def test_streaming_sigv4_upload_part(coffer, s3, raw_bucket):
    uid = s3.create_multipart_upload(Bucket=raw_bucket, Key="mp")["UploadId"]
    p1, p2 = random_bytes(5 * 1024 * 1024), random_bytes(1000)
    etags = []
    for n, p in ((1, p1), (2, p2)):
        status, headers, body = streaming_put(
            coffer, f"/{raw_bucket}/mp", p, chunk=1024 * 1024,
            query={"partNumber": str(n), "uploadId": uid})
        assert status == 200, body
        etags.append(headers["etag"])
    assert etags == [f'"{md5_hex(p1)}"', f'"{md5_hex(p2)}"']
    s3.complete_multipart_upload(
        Bucket=raw_bucket, Key="mp", UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]})
    assert s3.get_object(Bucket=raw_bucket, Key="mp")["Body"].read() == p1 + p2


def test_unsigned_payload_header_auth(coffer, s3, raw_bucket):
    data = random_bytes(10_000)
    status, _, body = signed(coffer, "PUT", f"/{raw_bucket}/unsigned", body=data,
                             payload_hash="UNSIGNED-PAYLOAD")
    assert status == 200, body
    assert s3.get_object(Bucket=raw_bucket, Key="unsigned")["Body"].read() == data


def test_payload_hash_mismatch(coffer, s3, raw_bucket):
    status, _, body = signed(coffer, "PUT", f"/{raw_bucket}/mismatch", body=b"actual body",
                             payload_hash=sha256_bytes(b"another body"))
    assert status == 400, body
    assert b"<Code>XAmzContentSHA256Mismatch</Code>" in body, body
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=raw_bucket).get("Contents", [])]
    assert "mismatch" not in keys


def test_signed_get_with_query_and_skewed_clock(coffer, s3, raw_bucket):
    s3.put_object(Bucket=raw_bucket, Key="a/b", Body=b"x")
    status, _, body = signed(coffer, "GET", f"/{raw_bucket}",
                             query={"list-type": "2", "prefix": "a/", "delimiter": "/"})
    assert status == 200 and b"<Prefix>a/</Prefix>" in body, body

    # A request dated 20 minutes ago is outside the 15-minute window (its
    # credential scope dated that day too, also just after midnight).
    signer = Signer(coffer.access_key, coffer.secret_key,
                    now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=20))
    headers = {"Host": coffer.host_port}
    signer.sign("GET", f"/{raw_bucket}", {}, headers, EMPTY_SHA256)
    status, _, body = send(coffer, "GET", f"/{raw_bucket}", None, headers)
    assert status == 403, body
    assert b"<Code>RequestTimeTooSkewed</Code>" in body, body


def test_connection_usable_after_rejected_expect_100_continue(coffer, raw_bucket):
    """An early error to an `Expect: 100-continue` PUT must leave the
    connection either usable or explicitly closed (`Connection: close`).

    boto3 sends `Expect: 100-continue` on every PutObject/UploadPart and keeps
    connections alive; if the server answers 403 without reading the body and
    then silently drops the connection, the client's *next* request on that
    pooled connection fails with "Connection was closed before we received a
    valid response".
    """
    with socket.create_connection(("127.0.0.1", coffer.port), timeout=10) as so:
        so.sendall((
            f"PUT /{raw_bucket}/k HTTP/1.1\r\nHost: {coffer.host_port}\r\n"
            "Authorization: AWS4-HMAC-SHA256 Credential=AKIDUNKNOWN0000000000/20260101/"
            "us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature="
            + "0" * 64 + "\r\n"
            "x-amz-date: 20260101T000000Z\r\nx-amz-content-sha256: UNSIGNED-PAYLOAD\r\n"
            "Content-Length: 100000\r\nExpect: 100-continue\r\n\r\n").encode())
        first = _read_response(so)
        assert first is not None, "no response to the rejected PUT"
        head, _ = first
        if head.startswith(b"HTTP/1.1 100"):
            # The server asked for the body before judging: send it.
            so.sendall(b"x" * 100000)
            first = _read_response(so)
            assert first is not None, "connection closed after 100 Continue"
            head, _ = first
        assert head.startswith(b"HTTP/1.1 4"), head
        if b"\r\nconnection: close" in head.lower():
            return  # explicitly closed: the client will not reuse it
        # Not announced as closing: like boto3, do not send the body, reuse.
        so.sendall(f"GET /_coffer/health/live HTTP/1.1\r\nHost: {coffer.host_port}\r\n\r\n".encode())
        second = _read_response(so)
        assert second is not None, (
            "server closed a keep-alive connection after an early error response to an "
            "`Expect: 100-continue` request without sending `Connection: close`; "
            f"first response was:\n{head.decode(errors='replace')}")
        assert second[0].startswith(b"HTTP/1.1 200"), second[0]


def _read_response(so):
    """Read one HTTP/1.1 response with Content-Length; None if closed first."""
    buf = b""
    deadline = time.monotonic() + 10
    while b"\r\n\r\n" not in buf:
        if time.monotonic() > deadline:
            raise TimeoutError(buf)
        try:
            chunk = so.recv(65536)
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    if head.startswith(b"HTTP/1.1 100"):
        return head, rest
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = so.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head, rest
