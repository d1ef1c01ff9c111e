"""boto3 (latest from PyPI) against the real coffer binary: multipart uploads
(parts, ETags, errors, abort, listing, UploadPartCopy, the managed transfer)
and presigned URLs. test_boto3.py covers buckets, objects, listing, deleting
and authentication; its module docstring explains boto3's checksum defaults.
"""

from __future__ import annotations

import http.client
import urllib.parse

from boto3.s3.transfer import TransferConfig

from coffer_e2e import (
    MiB,
    http_request,
    http_status,
    make_random_file,
    md5_hex,
    multipart_etag,
    random_bytes,
    sha256_bytes,
    sha256_file,
)
from test_boto3 import expect_error

# ---------------------------------------------------------------------------
# multipart
# ---------------------------------------------------------------------------


def test_multipart_upload(s3, bucket):
    parts = [random_bytes(5 * MiB) for _ in range(3)] + [random_bytes(123_457)]
    mpu = s3.create_multipart_upload(Bucket=bucket, Key="mpu/big.bin",
                                     ContentType="application/x-test",
                                     Metadata={"kind": "multipart"})
    upload_id = mpu["UploadId"]
    assert upload_id

    listed = s3.list_multipart_uploads(Bucket=bucket)
    assert [(u["Key"], u["UploadId"]) for u in listed.get("Uploads", [])] == [
        ("mpu/big.bin", upload_id)]

    etags = []
    # Upload out of order; the part number decides the position.
    for n in (2, 1, 4, 3):
        r = s3.upload_part(Bucket=bucket, Key="mpu/big.bin", UploadId=upload_id,
                           PartNumber=n, Body=parts[n - 1])
        assert r["ETag"] == f'"{md5_hex(parts[n - 1])}"'
        etags.append((n, r["ETag"]))
    # Re-uploading a part replaces it.
    r = s3.upload_part(Bucket=bucket, Key="mpu/big.bin", UploadId=upload_id,
                       PartNumber=4, Body=parts[3])

    lp = s3.list_parts(Bucket=bucket, Key="mpu/big.bin", UploadId=upload_id)
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in lp["Parts"]] == [
        (i + 1, len(p), f'"{md5_hex(p)}"') for i, p in enumerate(parts)]

    # Paginated ListParts.
    lp1 = s3.list_parts(Bucket=bucket, Key="mpu/big.bin", UploadId=upload_id, MaxParts=2)
    assert [p["PartNumber"] for p in lp1["Parts"]] == [1, 2]
    assert lp1["IsTruncated"] is True
    lp2 = s3.list_parts(Bucket=bucket, Key="mpu/big.bin", UploadId=upload_id,
                        PartNumberMarker=lp1["NextPartNumberMarker"])
    assert [p["PartNumber"] for p in lp2["Parts"]] == [3, 4]

    # Not an object until completed.
    expect_error(lambda: s3.head_object(Bucket=bucket, Key="mpu/big.bin"), "404", 404)

    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="mpu/big.bin", UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in sorted(etags)]})
    assert done["ETag"].endswith('-4"'), done["ETag"]
    assert done["ETag"] == multipart_etag(parts)
    assert done["Key"] == "mpu/big.bin" and done["Bucket"] == bucket

    whole = b"".join(parts)
    got = s3.get_object(Bucket=bucket, Key="mpu/big.bin")
    assert got["ContentLength"] == len(whole)
    assert got["ETag"] == done["ETag"]
    assert got["ContentType"] == "application/x-test"
    assert got["Metadata"] == {"kind": "multipart"}
    assert sha256_bytes(got["Body"].read()) == sha256_bytes(whole)

    # A range that straddles the part boundary.
    lo, hi = 5 * MiB - 10, 5 * MiB + 9
    r = s3.get_object(Bucket=bucket, Key="mpu/big.bin", Range=f"bytes={lo}-{hi}")
    assert r["Body"].read() == whole[lo:hi + 1]

    # The upload is gone once completed.
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
    expect_error(lambda: s3.list_parts(Bucket=bucket, Key="mpu/big.bin", UploadId=upload_id),
                 "NoSuchUpload", 404)


def test_multipart_entity_too_small(s3, bucket):
    mpu = s3.create_multipart_upload(Bucket=bucket, Key="small")
    uid = mpu["UploadId"]
    e1 = s3.upload_part(Bucket=bucket, Key="small", UploadId=uid, PartNumber=1,
                        Body=random_bytes(1 * MiB))["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="small", UploadId=uid, PartNumber=2,
                        Body=random_bytes(1 * MiB))["ETag"]
    expect_error(lambda: s3.complete_multipart_upload(
        Bucket=bucket, Key="small", UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                   {"PartNumber": 2, "ETag": e2}]}),
        "EntityTooSmall", 400)
    expect_error(lambda: s3.head_object(Bucket=bucket, Key="small"), "404", 404)

    # The upload survives a failed Complete; a single small part is allowed.
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="small", UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": e2}]})
    assert done["ETag"].endswith('-1"')
    assert s3.head_object(Bucket=bucket, Key="small")["ContentLength"] == 1 * MiB


def test_multipart_invalid_part_and_order(s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="bad")["UploadId"]
    p1, p2 = random_bytes(5 * MiB), random_bytes(100)
    e1 = s3.upload_part(Bucket=bucket, Key="bad", UploadId=uid, PartNumber=1, Body=p1)["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="bad", UploadId=uid, PartNumber=2, Body=p2)["ETag"]

    expect_error(lambda: s3.complete_multipart_upload(
        Bucket=bucket, Key="bad", UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                   {"PartNumber": 2, "ETag": '"00000000000000000000000000000000"'}]}),
        "InvalidPart", 400)
    expect_error(lambda: s3.complete_multipart_upload(
        Bucket=bucket, Key="bad", UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                   {"PartNumber": 3, "ETag": e2}]}),
        "InvalidPart", 400)
    expect_error(lambda: s3.complete_multipart_upload(
        Bucket=bucket, Key="bad", UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": e2},
                                   {"PartNumber": 1, "ETag": e1}]}),
        "InvalidPartOrder", 400)
    expect_error(lambda: s3.upload_part(Bucket=bucket, Key="bad", UploadId="no-such-upload",
                                        PartNumber=1, Body=b"x"),
                 "NoSuchUpload", 404)
    expect_error(lambda: s3.head_object(Bucket=bucket, Key="bad"), "404", 404)
    s3.abort_multipart_upload(Bucket=bucket, Key="bad", UploadId=uid)


def test_multipart_abort(s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="aborted")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="aborted", UploadId=uid, PartNumber=1,
                   Body=random_bytes(5 * MiB))
    assert http_status(s3.abort_multipart_upload(Bucket=bucket, Key="aborted",
                                                 UploadId=uid)) == 204
    expect_error(lambda: s3.list_parts(Bucket=bucket, Key="aborted", UploadId=uid),
                 "NoSuchUpload", 404)
    expect_error(lambda: s3.upload_part(Bucket=bucket, Key="aborted", UploadId=uid,
                                        PartNumber=2, Body=b"late"),
                 "NoSuchUpload", 404)
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
    expect_error(lambda: s3.head_object(Bucket=bucket, Key="aborted"), "404", 404)
    expect_error(lambda: s3.abort_multipart_upload(Bucket=bucket, Key="aborted", UploadId=uid),
                 "NoSuchUpload", 404)


def test_list_multipart_uploads_prefix(s3, bucket):
    ids = {}
    for k in ["a/1", "a/2", "b/1", "a/1"]:
        ids.setdefault(k, []).append(
            s3.create_multipart_upload(Bucket=bucket, Key=k)["UploadId"])
    r = s3.list_multipart_uploads(Bucket=bucket)
    got = sorted((u["Key"], u["UploadId"]) for u in r.get("Uploads", []))
    assert got == sorted((k, u) for k, us in ids.items() for u in us)
    r = s3.list_multipart_uploads(Bucket=bucket, Prefix="a/")
    assert sorted(u["Key"] for u in r.get("Uploads", [])) == ["a/1", "a/1", "a/2"]
    r = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert sorted(p["Prefix"] for p in r.get("CommonPrefixes", [])) == ["a/", "b/"]


def test_upload_part_copy(s3, bucket):
    src = random_bytes(6 * MiB + 100)
    s3.put_object(Bucket=bucket, Key="copy-src", Body=src)
    tail = random_bytes(4096)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="assembled")["UploadId"]
    r1 = s3.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=uid, PartNumber=1,
                             CopySource={"Bucket": bucket, "Key": "copy-src"},
                             CopySourceRange=f"bytes=0-{5 * MiB - 1}")
    r2 = s3.upload_part_copy(Bucket=bucket, Key="assembled", UploadId=uid, PartNumber=2,
                             CopySource={"Bucket": bucket, "Key": "copy-src"})
    r3 = s3.upload_part(Bucket=bucket, Key="assembled", UploadId=uid, PartNumber=3, Body=tail)
    e1, e2 = r1["CopyPartResult"]["ETag"], r2["CopyPartResult"]["ETag"]
    assert e1 == f'"{md5_hex(src[:5 * MiB])}"'
    assert e2 == f'"{md5_hex(src)}"'
    s3.complete_multipart_upload(
        Bucket=bucket, Key="assembled", UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                   {"PartNumber": 2, "ETag": e2},
                                   {"PartNumber": 3, "ETag": r3["ETag"]}]})
    expected = src[:5 * MiB] + src + tail
    got = s3.get_object(Bucket=bucket, Key="assembled")["Body"].read()
    assert len(got) == len(expected)
    assert sha256_bytes(got) == sha256_bytes(expected)


def test_managed_transfer_20mb(s3, bucket, tmp_path):
    src = tmp_path / "upload.bin"
    digest = make_random_file(src, 20 * MiB + 12345)
    cfg = TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB,
                         max_concurrency=4)
    s3.upload_file(str(src), bucket, "transfer/20mb.bin", Config=cfg)
    head = s3.head_object(Bucket=bucket, Key="transfer/20mb.bin")
    assert head["ContentLength"] == 20 * MiB + 12345
    assert head["ETag"].endswith('-3"'), head["ETag"]

    dst = tmp_path / "download.bin"
    s3.download_file(bucket, "transfer/20mb.bin", str(dst), Config=cfg)
    assert sha256_file(dst) == digest

    # Below the threshold: a single PutObject.
    small = tmp_path / "small.bin"
    small_digest = make_random_file(small, 1 * MiB)
    s3.upload_file(str(small), bucket, "transfer/small.bin", Config=cfg)
    s3.download_file(bucket, "transfer/small.bin", str(tmp_path / "small.out"))
    assert sha256_file(tmp_path / "small.out") == small_digest


# ---------------------------------------------------------------------------
# presigned URLs
# ---------------------------------------------------------------------------


def test_presigned_get_and_put(s3, bucket):
    body = random_bytes(300_000)
    s3.put_object(Bucket=bucket, Key="pre/get me.bin", Body=body)

    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "pre/get me.bin"},
                                    ExpiresIn=300)
    assert "X-Amz-Signature=" in url
    status, _, data = http_request(url)
    assert status == 200
    assert sha256_bytes(data) == sha256_bytes(body)

    # A presigned GET with a Range header (not signed) still works.
    status, headers, data = http_request(url, headers={"Range": "bytes=10-19"})
    assert status == 206 and data == body[10:20]

    # Presigned PUT through http.client (urllib would add a Content-Type).
    put_body = random_bytes(50_000)
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "pre/put.bin"},
                                        ExpiresIn=300)
    u = urllib.parse.urlsplit(put_url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    conn.request("PUT", f"{u.path}?{u.query}", body=put_body)
    resp = conn.getresponse()
    resp_body = resp.read()
    conn.close()
    assert resp.status == 200, resp_body
    assert resp.getheader("ETag") == f'"{md5_hex(put_body)}"'
    assert s3.get_object(Bucket=bucket, Key="pre/put.bin")["Body"].read() == put_body

    # Same PUT through urllib, too.
    status, headers, _ = http_request(put_url, method="PUT", data=b"via urllib")
    assert status == 200
    assert s3.get_object(Bucket=bucket, Key="pre/put.bin")["Body"].read() == b"via urllib"


def test_presigned_tampered_and_expired(s3, bucket):
    s3.put_object(Bucket=bucket, Key="p", Body=b"secret")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p"},
                                    ExpiresIn=300)
    # Point the signed URL at another key: the signature no longer matches.
    s3.put_object(Bucket=bucket, Key="q", Body=b"other")
    status, _, body = http_request(url.replace(f"/{bucket}/p?", f"/{bucket}/q?"))
    assert status == 403, body
    assert b"<Code>SignatureDoesNotMatch</Code>" in body

    # Corrupt the signature itself.
    sig_start = url.index("X-Amz-Signature=") + len("X-Amz-Signature=")
    bad = url[:sig_start] + ("0" if url[sig_start] != "0" else "1") + url[sig_start + 1:]
    status, _, body = http_request(bad)
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body, body

    # Expired.
    import time
    short = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p"},
                                      ExpiresIn=1)
    time.sleep(2.5)
    status, _, body = http_request(short)
    assert status == 403, body
    assert b"<Code>AccessDenied</Code>" in body, body
