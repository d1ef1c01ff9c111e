"""HTTPS (`coffer server --tls-cert/--tls-key`) with real clients.

The certificate comes from `coffer cert generate` and is trusted explicitly
(boto3 `verify=cert.pem`, urllib ssl context, aws `--ca-bundle`).

Over HTTPS boto3 (>= 1.36, default `request_checksum_calculation =
when_supported`) does not sign the payload: it sends PutObject/UploadPart
bodies aws-chunked with `x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER`
and the CRC32 in an `x-amz-checksum-crc32` *trailer*. The tests check from
the actual request headers that this path is really taken, and that the
checksum the server stored comes back with ChecksumMode=ENABLED.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import ssl
import struct
import urllib.error
import zlib

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from coffer_e2e import (
    SERVERS,
    MiB,
    CofferServer,
    boto3_client,
    error_code,
    generate_cert,
    http_request,
    http_status,
    make_random_file,
    random_bytes,
    require_tool,
    run,
    sha256_bytes,
    sha256_file,
    unique_bucket,
)

TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"


# ---------------------------------------------------------------------------
# local checksum implementations (no awscrt needed)
# ---------------------------------------------------------------------------


def _reflected_table(poly: int, width: int) -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c & ((1 << width) - 1))
    return table


_CRC32C_TABLE = _reflected_table(0x82F63B78, 32)
_CRC64NVME_TABLE = _reflected_table(0x9A6C9329AC4BC9B5, 64)


def crc32c(data: bytes) -> int:
    c = 0xFFFFFFFF
    t = _CRC32C_TABLE
    for b in data:
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def crc64nvme(data: bytes) -> int:
    c = 0xFFFFFFFFFFFFFFFF
    t = _CRC64NVME_TABLE
    for b in data:
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFFFFFFFFFF


# Standard check values ("123456789") so a wrong local implementation
# cannot make the server look wrong.
assert crc32c(b"123456789") == 0xE3069283
assert crc64nvme(b"123456789") == 0xAE8B14860A799888


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def checksum_b64(algorithm: str, data: bytes) -> str:
    """The S3 wire form (base64 of the big-endian digest) of a checksum."""
    if algorithm == "CRC32":
        return b64(struct.pack(">I", zlib.crc32(data) & 0xFFFFFFFF))
    if algorithm == "CRC32C":
        return b64(struct.pack(">I", crc32c(data)))
    if algorithm == "CRC64NVME":
        return b64(struct.pack(">Q", crc64nvme(data)))
    if algorithm == "SHA1":
        return b64(hashlib.sha1(data).digest())
    if algorithm == "SHA256":
        return b64(hashlib.sha256(data).digest())
    raise ValueError(algorithm)


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("coffer-tls")
    cert, key = generate_cert(base / "tls", names=("localhost", "127.0.0.1"))
    server = CofferServer(data_dir=base / "data", log_path=base / "server.log",
                          tls_cert=cert, tls_key=key)
    SERVERS.append(server)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        SERVERS.remove(server)


class Capture:
    """Records the headers of every request a boto3 client sends."""

    def __init__(self, client):
        self.requests = []
        client.meta.events.register("before-send.s3.*", self)

    def __call__(self, request, **kwargs):
        headers = {k.lower(): (v.decode() if isinstance(v, bytes) else v)
                   for k, v in request.headers.items()}
        self.requests.append((kwargs.get("event_name", ""), request.method,
                              request.url, headers))

    def of(self, op: str):
        return [r for r in self.requests if r[0].endswith("." + op)]


@pytest.fixture
def s3s(tls_server):
    """boto3 over HTTPS, default checksum settings, verify=cert.pem."""
    client = boto3_client(tls_server)
    assert client.meta.endpoint_url.startswith("https://")
    return client


@pytest.fixture
def tls_bucket(s3s):
    name = unique_bucket("tls")
    s3s.create_bucket(Bucket=name)
    yield name
    from coffer_e2e import empty_and_delete_bucket
    try:
        empty_and_delete_bucket(s3s, name)
    except Exception as e:
        print(f"cleanup of bucket {name} failed: {e!r}")


# ---------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------


def test_plain_http_is_not_served_and_untrusted_cert_is_refused(tls_server):
    # The HTTPS port does not answer plain HTTP requests successfully.
    url = f"http://127.0.0.1:{tls_server.port}/_coffer/health/live"
    try:
        status, _, _ = http_request(url, timeout=10)
    except (urllib.error.URLError, OSError, http.client.HTTPException):
        status = None
    assert status != 200
    # The self-signed cert is not trusted by the default trust store...
    with pytest.raises(urllib.error.URLError) as ei:
        http_request(f"{tls_server.endpoint}/_coffer/health/live", timeout=10,
                     context=ssl.create_default_context())
    assert isinstance(ei.value.reason, ssl.SSLCertVerificationError), ei.value
    # ...but is valid for 127.0.0.1 and localhost once trusted.
    ctx = tls_server.ssl_context()
    assert http_request(f"{tls_server.endpoint}/_coffer/health/live", context=ctx)[0] == 200
    assert http_request(f"https://localhost:{tls_server.port}/_coffer/health/live",
                        context=ctx)[0] == 200


@pytest.mark.parametrize("size", [0, 1, 70_000, 5 * MiB + 3])
def test_put_object_uses_unsigned_trailer_and_checksum_roundtrips(s3s, tls_bucket, size):
    cap = Capture(s3s)
    body = random_bytes(size)
    resp = s3s.put_object(Bucket=tls_bucket, Key="small", Body=body)
    expected = checksum_b64("CRC32", body)

    (_, method, url, headers), = cap.of("PutObject")
    assert method == "PUT" and url.startswith("https://"), url
    assert headers["x-amz-content-sha256"] == TRAILER, headers
    assert "aws-chunked" in headers.get("content-encoding", ""), headers
    assert headers.get("x-amz-trailer") == "x-amz-checksum-crc32", headers
    assert headers.get("x-amz-decoded-content-length") == str(size), headers
    assert "x-amz-checksum-crc32" not in headers  # only as a trailer
    # The server echoes the checksum it verified from the trailer.
    assert resp.get("ChecksumCRC32") == expected, resp

    got = s3s.get_object(Bucket=tls_bucket, Key="small", ChecksumMode="ENABLED")
    assert got["Body"].read() == body
    assert got.get("ChecksumCRC32") == expected, {k: v for k, v in got.items() if k != "Body"}
    assert got["ContentLength"] == size
    head = s3s.head_object(Bucket=tls_bucket, Key="small", ChecksumMode="ENABLED")
    assert head.get("ChecksumCRC32") == expected, head


@pytest.mark.parametrize("algorithm", ["SHA1", "SHA256"])
def test_put_object_other_trailer_algorithms(s3s, tls_bucket, algorithm):
    # botocore computes SHA1/SHA256 without awscrt, so these also go as
    # aws-chunked trailers.
    cap = Capture(s3s)
    body = random_bytes(123_457)
    resp = s3s.put_object(Bucket=tls_bucket, Key=f"k-{algorithm}", Body=body,
                          ChecksumAlgorithm=algorithm)
    (_, _, _, headers), = cap.of("PutObject")
    assert headers["x-amz-content-sha256"] == TRAILER, headers
    assert headers.get("x-amz-trailer") == f"x-amz-checksum-{algorithm.lower()}", headers
    expected = checksum_b64(algorithm, body)
    assert resp.get(f"Checksum{algorithm}") == expected, resp
    got = s3s.get_object(Bucket=tls_bucket, Key=f"k-{algorithm}", ChecksumMode="ENABLED")
    assert got["Body"].read() == body
    assert got.get(f"Checksum{algorithm}") == expected, {
        k: v for k, v in got.items() if k != "Body"}


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_checksum_header_verified_and_stored(s3s, tls_bucket, algorithm):
    # A precomputed checksum value goes as an x-amz-checksum-* header
    # (botocore then does not compute one itself, so no awscrt is needed).
    body = random_bytes(65_537)
    expected = checksum_b64(algorithm, body)
    cap = Capture(s3s)
    resp = s3s.put_object(Bucket=tls_bucket, Key=f"h-{algorithm}", Body=body,
                          **{f"Checksum{algorithm}": expected})
    (_, _, _, headers), = cap.of("PutObject")
    assert headers.get(f"x-amz-checksum-{algorithm.lower()}") == expected, headers
    assert resp.get(f"Checksum{algorithm}") == expected, resp
    got = s3s.get_object(Bucket=tls_bucket, Key=f"h-{algorithm}", ChecksumMode="ENABLED")
    assert got["Body"].read() == body
    assert got.get(f"Checksum{algorithm}") == expected, {
        k: v for k, v in got.items() if k != "Body"}

    # A wrong value is refused and nothing is stored.
    wrong = checksum_b64(algorithm, body + b"x")
    with pytest.raises(ClientError) as ei:
        s3s.put_object(Bucket=tls_bucket, Key=f"bad-{algorithm}", Body=body,
                       **{f"Checksum{algorithm}": wrong})
    assert http_status(ei.value) == 400, ei.value.response
    assert error_code(ei.value) in ("BadDigest", "InvalidRequest"), ei.value.response
    with pytest.raises(ClientError) as ei:
        s3s.head_object(Bucket=tls_bucket, Key=f"bad-{algorithm}")
    assert http_status(ei.value) == 404


def test_upload_file_multipart_20mb(s3s, tls_bucket, tmp_path):
    src = tmp_path / "big.bin"
    digest = make_random_file(src, 20 * MiB + 12345)
    data = src.read_bytes()
    part = 8 * MiB
    cap = Capture(s3s)
    s3s.upload_file(str(src), tls_bucket, "big.bin",
                    Config=TransferConfig(multipart_threshold=part,
                                          multipart_chunksize=part, max_concurrency=3))
    uploads = cap.of("UploadPart")
    assert len(uploads) == 3, [r[0] for r in cap.requests]
    for _, _, _, headers in uploads:
        assert headers["x-amz-content-sha256"] == TRAILER, headers
        assert headers.get("x-amz-trailer") == "x-amz-checksum-crc32", headers
    assert len(cap.of("CompleteMultipartUpload")) == 1

    parts = [data[i:i + part] for i in range(0, len(data), part)]
    got = s3s.get_object(Bucket=tls_bucket, Key="big.bin", ChecksumMode="ENABLED")
    body = got["Body"].read()
    assert sha256_bytes(body) == digest
    meta = {k: v for k, v in got.items() if k != "Body"}
    crc = got.get("ChecksumCRC32")
    assert crc, meta
    full = checksum_b64("CRC32", data)
    composite = checksum_b64(
        "CRC32", b"".join(base64.b64decode(checksum_b64("CRC32", p)) for p in parts)
    ) + f"-{len(parts)}"
    ctype = got.get("ChecksumType")
    if ctype == "FULL_OBJECT":
        assert crc == full, meta
    else:
        assert crc == composite, (meta, composite)


def test_multipart_parts_report_checksums(s3s, tls_bucket):
    key = "mpu-ck"
    bodies = [random_bytes(5 * MiB), random_bytes(1234)]
    uid = s3s.create_multipart_upload(Bucket=tls_bucket, Key=key,
                                      ChecksumAlgorithm="CRC32")["UploadId"]
    done = []
    for n, b in enumerate(bodies, start=1):
        r = s3s.upload_part(Bucket=tls_bucket, Key=key, UploadId=uid, PartNumber=n,
                            Body=b, ChecksumAlgorithm="CRC32")
        assert r.get("ChecksumCRC32") == checksum_b64("CRC32", b), r
        done.append({"PartNumber": n, "ETag": r["ETag"], "ChecksumCRC32": r["ChecksumCRC32"]})
    parts = s3s.list_parts(Bucket=tls_bucket, Key=key, UploadId=uid)["Parts"]
    assert [p.get("ChecksumCRC32") for p in parts] == [checksum_b64("CRC32", b) for b in bodies]
    s3s.complete_multipart_upload(Bucket=tls_bucket, Key=key, UploadId=uid,
                                  MultipartUpload={"Parts": done})
    got = s3s.get_object(Bucket=tls_bucket, Key=key, ChecksumMode="ENABLED")
    assert got["Body"].read() == b"".join(bodies)
    composite = checksum_b64(
        "CRC32", b"".join(base64.b64decode(checksum_b64("CRC32", b)) for b in bodies)) + "-2"
    assert got.get("ChecksumCRC32") == composite, {k: v for k, v in got.items() if k != "Body"}


def test_presigned_get_over_https(tls_server, s3s, tls_bucket):
    body = random_bytes(200_000)
    s3s.put_object(Bucket=tls_bucket, Key="dir/pre signed+ü.bin", Body=body)
    url = s3s.generate_presigned_url(
        "get_object", Params={"Bucket": tls_bucket, "Key": "dir/pre signed+ü.bin"},
        ExpiresIn=300)
    assert url.startswith("https://127.0.0.1:"), url
    status, _, got = http_request(url, context=tls_server.ssl_context())
    assert status == 200, got[:500]
    assert got == body
    sig = url.split("X-Amz-Signature=", 1)[1][:64]
    flipped = ("1" if sig[0] == "0" else "0") + sig[1:]
    tampered = url.replace(sig, flipped, 1)
    status, _, got = http_request(tampered, context=tls_server.ssl_context())
    assert status == 403, got[:500]


def test_aws_cli_cp_over_https(tls_server, s3s, tls_bucket, tmp_path):
    binary = require_tool("/usr/bin/aws", "Debian package awscli (aws CLI v2)")
    home = tmp_path / "awshome"
    home.mkdir()
    (home / "config").write_text(
        "[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n"
        "    multipart_threshold = 8MB\n    multipart_chunksize = 8MB\n")
    (home / "credentials").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    for k in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"):
        env.pop(k, None)
    env.update(AWS_ACCESS_KEY_ID=tls_server.access_key,
               AWS_SECRET_ACCESS_KEY=tls_server.secret_key,
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=str(home / "config"),
               AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"), AWS_PAGER="",
               AWS_EC2_METADATA_DISABLED="true", HOME=str(home))

    def aws(*args, check=True):
        return run([binary, "--ca-bundle", str(tls_server.tls_cert), "--endpoint-url",
                    tls_server.endpoint, "--no-cli-pager", *args], env=env, check=check)

    for name, size in (("small.bin", 100_000), ("big.bin", 20 * MiB + 1)):
        src = tmp_path / name
        digest = make_random_file(src, size)
        aws("s3", "cp", str(src), f"s3://{tls_bucket}/cli/{name}")
        dst = tmp_path / f"{name}.down"
        aws("s3", "cp", f"s3://{tls_bucket}/cli/{name}", str(dst))
        assert sha256_file(dst) == digest
        assert s3s.head_object(Bucket=tls_bucket, Key=f"cli/{name}")["ContentLength"] == size

    # Without --ca-bundle the self-signed certificate is rejected.
    proc = run([binary, "--endpoint-url", tls_server.endpoint, "--no-cli-pager",
                "s3", "ls", f"s3://{tls_bucket}"], env=env, check=False)
    assert proc.returncode != 0
    assert "SSL" in proc.stderr_text or "certificate" in proc.stderr_text, proc.stderr_text


def _raw_trailer_put(server, path: str, data: bytes, algorithm: str, value: str,
                     chunk: int = 64 * 1024):
    """A hand-made STREAMING-UNSIGNED-PAYLOAD-TRAILER PUT over TLS."""
    from test_http_raw import Signer

    trailer = f"x-amz-checksum-{algorithm.lower()}"
    headers = {
        "Host": server.host_port,
        "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(len(data)),
        "x-amz-trailer": trailer,
    }
    Signer(server.access_key, server.secret_key).sign("PUT", path, {}, headers, TRAILER)
    body = b"".join(
        f"{len(c):x}\r\n".encode() + c + b"\r\n"
        for c in (data[i:i + chunk] for i in range(0, len(data), chunk)))
    body += b"0\r\n" + f"{trailer}:{value}\r\n\r\n".encode()
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=60,
                                       context=server.ssl_context())
    conn.request("PUT", path, body=body, headers=headers)
    resp = conn.getresponse()
    out = resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    conn.close()
    return out


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_raw_trailer_checksum_verified(tls_server, s3s, tls_bucket, algorithm):
    data = random_bytes(200_001)
    good = checksum_b64(algorithm, data)
    status, headers, body = _raw_trailer_put(
        tls_server, f"/{tls_bucket}/raw-{algorithm}", data, algorithm, good)
    assert status == 200, body
    assert headers.get(f"x-amz-checksum-{algorithm.lower()}") == good, headers
    got = s3s.get_object(Bucket=tls_bucket, Key=f"raw-{algorithm}", ChecksumMode="ENABLED")
    assert got["Body"].read() == data
    assert got.get(f"Checksum{algorithm}") == good, {k: v for k, v in got.items() if k != "Body"}

    # A trailer that does not match the body is refused, nothing is stored.
    bad = checksum_b64(algorithm, data[:-1])
    status, _, body = _raw_trailer_put(
        tls_server, f"/{tls_bucket}/rawbad-{algorithm}", data, algorithm, bad)
    assert status == 400, body
    assert b"<Code>BadDigest</Code>" in body or b"<Code>InvalidRequest</Code>" in body, body
    with pytest.raises(ClientError) as ei:
        s3s.head_object(Bucket=tls_bucket, Key=f"rawbad-{algorithm}")
    assert http_status(ei.value) == 404
