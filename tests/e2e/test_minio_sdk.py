"""The MinIO Python SDK (`minio` from PyPI) against coffer.

The SDK signs every request with SigV4 and, over plain HTTP, the payload's
real sha256. Uploads of unknown length go multipart in `part_size` pieces;
`copy_object` of a small object is a CopyObject, `compose_object` is
UploadPartCopy with byte ranges. Retries are off (a urllib3 pool without
them) so that a single 5xx fails the test.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os

import pytest
import urllib3
from minio import Minio
from minio.commonconfig import REPLACE, ComposeSource, CopySource
from minio.deleteobjects import DeleteObject
from minio.error import S3Error

from coffer_e2e import (
    MiB,
    http_request,
    make_random_file,
    md5_hex,
    multipart_etag,
    sha256_bytes,
    sha256_file,
    unique_bucket,
)

ODD_KEYS = ["with space/file name.txt", "ünïcödé/ファイル €.bin", "plus+sign/a+b=c.txt",
            "mixed dir+x/ä b+c ü.dat"]


@pytest.fixture(scope="module")
def mc(coffer) -> Minio:
    pool = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=10, read=120))
    return Minio(coffer.host_port, access_key=coffer.access_key, secret_key=coffer.secret_key,
                 secure=False, region=coffer.region, http_client=pool)


def get_bytes(mc: Minio, bucket: str, key: str, **kwargs) -> bytes:
    resp = mc.get_object(bucket, key, **kwargs)
    try:
        return resp.read()
    finally:
        resp.close()
        resp.release_conn()


class RandomStream:
    """A non-seekable reader of `size` random bytes that records its parts."""

    def __init__(self, size: int, part_size: int):
        self.left, self.part_size = size, part_size
        self.sha = hashlib.sha256()
        self.data = bytearray()

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        chunk = os.urandom(n)
        self.left -= n
        self.sha.update(chunk)
        self.data += chunk
        return chunk

    def parts(self) -> list[bytes]:
        return [bytes(self.data[i:i + self.part_size])
                for i in range(0, len(self.data), self.part_size)]


def test_bucket_lifecycle(mc):
    name = unique_bucket("minio")
    assert not mc.bucket_exists(name)
    mc.make_bucket(name)
    assert mc.bucket_exists(name)
    assert name in [b.name for b in mc.list_buckets()]
    # Re-creating one's own bucket: us-east-1 answers 200 (legacy) or
    # BucketAlreadyOwnedByYou; both are S3 behaviour (see test_boto3.py).
    try:
        mc.make_bucket(name)
    except S3Error as e:
        assert e.code == "BucketAlreadyOwnedByYou", e
    mc.put_object(name, "x", io.BytesIO(b"x"), 1)
    with pytest.raises(S3Error) as ei:
        mc.remove_bucket(name)
    assert ei.value.code == "BucketNotEmpty"
    mc.remove_object(name, "x")
    mc.remove_bucket(name)
    assert not mc.bucket_exists(name)


def test_put_small_stat_get_metadata(mc, bucket):
    body = os.urandom(10_000)
    res = mc.put_object(bucket, "small.bin", io.BytesIO(body), len(body),
                        content_type="text/x-coffer",
                        metadata={"owner": "e2e test", "x-amz-meta-purpose": "minio-sdk"})
    assert res.etag == md5_hex(body)
    st = mc.stat_object(bucket, "small.bin")
    assert st.size == len(body) and st.etag == md5_hex(body)
    assert st.content_type == "text/x-coffer"
    assert st.metadata["x-amz-meta-owner"] == "e2e test"
    assert st.metadata["x-amz-meta-purpose"] == "minio-sdk"
    assert sha256_bytes(get_bytes(mc, bucket, "small.bin")) == sha256_bytes(body)

    assert get_bytes(mc, bucket, "small.bin", offset=1234, length=100) == body[1234:1334]
    assert get_bytes(mc, bucket, "small.bin", offset=9_990) == body[9_990:]

    with pytest.raises(S3Error) as ei:
        mc.stat_object(bucket, "missing")
    assert ei.value.code == "NoSuchKey"
    with pytest.raises(S3Error) as ei:
        get_bytes(mc, bucket, "missing")
    assert ei.value.code == "NoSuchKey"


def test_put_stream_unknown_length_multipart(mc, bucket):
    part_size = 5 * MiB
    stream = RandomStream(20 * MiB, part_size)
    res = mc.put_object(bucket, "stream/20mb", stream, length=-1, part_size=part_size,
                        metadata={"kind": "stream"})
    parts = stream.parts()
    assert len(parts) == 4
    assert f'"{res.etag}"' == multipart_etag(parts)
    st = mc.stat_object(bucket, "stream/20mb")
    assert st.size == 20 * MiB and st.etag == res.etag
    assert st.metadata["x-amz-meta-kind"] == "stream"
    assert sha256_bytes(get_bytes(mc, bucket, "stream/20mb")) == stream.sha.hexdigest()
    # A range across the boundary of parts 1 and 2.
    got = get_bytes(mc, bucket, "stream/20mb", offset=part_size - 10, length=20)
    assert got == bytes(stream.data[part_size - 10:part_size + 10])


def test_fput_fget(mc, bucket, tmp_path):
    src = tmp_path / "up load.bin"
    digest = make_random_file(src, 3 * MiB + 17)
    mc.fput_object(bucket, "files/up load.bin", str(src))
    dst = tmp_path / "down" / "load.bin"
    mc.fget_object(bucket, "files/up load.bin", str(dst))
    assert sha256_file(dst) == digest


def test_list_objects(mc, bucket):
    keys = ["a/1", "a/2", "a/b/3", "a/b/c/4", "top", "z/5"]
    for k in keys:
        mc.put_object(bucket, k, io.BytesIO(k.encode()), len(k))
    for v1 in (False, True):
        everything = mc.list_objects(bucket, recursive=True, use_api_v1=v1)
        assert [(o.object_name, o.size) for o in everything] == [(k, len(k)) for k in keys]
        # The SDK yields a page's objects first, then its common prefixes.
        top = mc.list_objects(bucket, use_api_v1=v1)
        assert sorted((o.object_name, o.is_dir) for o in top) == [
            ("a/", True), ("top", False), ("z/", True)]
        under_a = mc.list_objects(bucket, prefix="a/", use_api_v1=v1)
        assert sorted(o.object_name for o in under_a) == ["a/1", "a/2", "a/b/"]
        deep = mc.list_objects(bucket, prefix="a/b/", recursive=True, use_api_v1=v1)
        assert [o.object_name for o in deep] == ["a/b/3", "a/b/c/4"]
        after = mc.list_objects(bucket, recursive=True, start_after="a/b/c/4", use_api_v1=v1)
        assert [o.object_name for o in after] == ["top", "z/5"]


def test_copy_and_compose(mc, bucket):
    body = os.urandom(50_000)
    mc.put_object(bucket, "src", io.BytesIO(body), len(body), metadata={"orig": "yes"})
    mc.copy_object(bucket, "copy-same-meta", CopySource(bucket, "src"))
    st = mc.stat_object(bucket, "copy-same-meta")
    assert st.metadata["x-amz-meta-orig"] == "yes" and st.etag == md5_hex(body)
    mc.copy_object(bucket, "copy-new-meta", CopySource(bucket, "src"),
                   metadata={"fresh": "1"}, metadata_directive=REPLACE)
    st = mc.stat_object(bucket, "copy-new-meta")
    assert st.metadata.get("x-amz-meta-fresh") == "1"
    assert "x-amz-meta-orig" not in st.metadata
    assert get_bytes(mc, bucket, "copy-new-meta") == body

    # compose_object: UploadPartCopy of whole objects and of a byte range.
    big = os.urandom(6 * MiB)
    mc.put_object(bucket, "big", io.BytesIO(big), len(big))
    sources = [ComposeSource(bucket, "big"),
               ComposeSource(bucket, "big", offset=MiB, length=5 * MiB),
               ComposeSource(bucket, "src")]
    mc.compose_object(bucket, "composed", sources)
    want = big + big[MiB:6 * MiB] + body
    st = mc.stat_object(bucket, "composed")
    assert st.size == len(want) and st.etag.endswith("-3"), st.etag
    assert sha256_bytes(get_bytes(mc, bucket, "composed")) == sha256_bytes(want)


def test_remove_object_and_objects(mc, bucket):
    keys = [f"del/{i}" for i in range(12)]
    for k in keys:
        mc.put_object(bucket, k, io.BytesIO(b"d"), 1)
    mc.remove_object(bucket, "del/0")
    errors = list(mc.remove_objects(bucket, [DeleteObject(k) for k in keys[1:8]]))
    assert errors == []
    left = [o.object_name for o in mc.list_objects(bucket, prefix="del/", recursive=True)]
    assert left == sorted(keys[8:])
    # Deleting keys that do not exist is not an error in S3.
    assert list(mc.remove_objects(bucket, [DeleteObject("del/nope")])) == []
    mc.remove_object(bucket, "del/also-nope")


def test_presigned_get_and_put(mc, bucket):
    body = os.urandom(30_000)
    mc.put_object(bucket, "pre/get me+.bin", io.BytesIO(body), len(body))
    url = mc.presigned_get_object(bucket, "pre/get me+.bin", expires=dt.timedelta(minutes=5))
    status, _, got = http_request(url)
    assert status == 200 and got == body, (status, got[:300])

    put_url = mc.presigned_put_object(bucket, "pre/put ü.bin", expires=dt.timedelta(minutes=5))
    upload = os.urandom(20_000)
    status, headers, resp = http_request(put_url, method="PUT", data=upload)
    assert status == 200, (status, resp[:500])
    assert headers["etag"] == f'"{md5_hex(upload)}"', headers
    assert get_bytes(mc, bucket, "pre/put ü.bin") == upload

    # The signature is bound to the method: the PUT URL does not read.
    status, _, resp = http_request(put_url)
    assert status == 403 and b"SignatureDoesNotMatch" in resp, (status, resp[:500])


@pytest.mark.parametrize("key", ODD_KEYS)
def test_odd_keys(mc, bucket, key):
    body = os.urandom(1000)
    mc.put_object(bucket, key, io.BytesIO(body), len(body), metadata={"k": "v"})
    assert mc.stat_object(bucket, key).size == 1000
    assert get_bytes(mc, bucket, key) == body
    listed = [o.object_name for o in mc.list_objects(bucket, recursive=True)]
    assert listed == [key]
    prefix = key.split("/")[0] + "/"
    assert [o.object_name for o in mc.list_objects(bucket, prefix=prefix)] == [key]
    url = mc.presigned_get_object(bucket, key, expires=dt.timedelta(minutes=5))
    status, _, got = http_request(url)
    assert status == 200 and got == body, (status, got[:300])
    mc.copy_object(bucket, key + " copy", CopySource(bucket, key))
    assert get_bytes(mc, bucket, key + " copy") == body
    mc.remove_object(bucket, key)
    mc.remove_object(bucket, key + " copy")
    assert list(mc.list_objects(bucket, recursive=True)) == []
