#!/usr/bin/env python3
"""Prints SigV2 known-answer vectors made by the real client signers.

The vectors in crates/s3-proto/src/sigv2/tests.rs (`botocore_*`, `s3cmd_*`)
were pasted from this script's output. It runs the signing code of the
installed botocore (boto3 with `Config(signature_version='s3')`) and s3cmd
2.4 with fixed keys and a fixed clock, captures each request just before it
would be sent (nothing is sent), and prints method, path, query, the headers
the server sees and the `Authorization` value.

    tests/e2e/.venv/bin/python scripts/sigv2-known-answers.py
"""

import time

import boto3
import botocore.auth
from botocore.config import Config

AK = "AKIAIOSFODNN7EXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DATE = "Tue, 02 Jan 2024 03:04:05 GMT"
# 2024-01-02 03:04:05 UTC
STRUCT = time.struct_time((2024, 1, 2, 3, 4, 5, 1, 2, 0))


class Captured(Exception):
    pass


def show(client_name, op, method, url, headers):
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    keep = {}
    for k, v in headers.items():
        lk = k.lower()
        if lk in ("host", "date", "content-md5", "content-type", "authorization") or lk.startswith("x-amz-"):
            keep[lk] = v.decode() if isinstance(v, bytes) else v
    if "host" not in keep:
        keep["host"] = parts.netloc
    print(f"--- {client_name} {op}")
    print(f"method: {method}")
    print(f"path: {parts.path}")
    print(f"query: {parts.query}")
    for k in sorted(keep):
        print(f"header: {k}: {keep[k]}")


def botocore_vectors(style, endpoint):
    botocore.auth.HmacV1Auth._get_date = lambda self: DATE
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=AK,
        aws_secret_access_key=SK,
        region_name="us-east-1",
        config=Config(signature_version="s3", s3={"addressing_style": style}, retries={"max_attempts": 1}),
    )
    current = {}

    def before_send(request, **kwargs):
        show(f"botocore-{style}", current["op"], request.method, request.url, request.headers)
        raise Captured()

    s3.meta.events.register("before-send.s3", before_send)
    calls = [
        ("CreateBucket", lambda: s3.create_bucket(Bucket="bkt")),
        ("ListObjects", lambda: s3.list_objects(Bucket="bkt")),
        ("GetBucketLocation", lambda: s3.get_bucket_location(Bucket="bkt")),
        ("GetBucketAcl", lambda: s3.get_bucket_acl(Bucket="bkt")),
        ("PutObject", lambda: s3.put_object(Bucket="bkt", Key="dir/a b+c.txt", Body=b"hello",
                                            ContentType="text/plain")),
        ("GetObject", lambda: s3.get_object(Bucket="bkt", Key="dir/a b+c.txt",
                                            ResponseContentDisposition='attachment; filename="x.txt"')),
        ("UploadPart", lambda: s3.upload_part(Bucket="bkt", Key="big", UploadId="0123abcd", PartNumber=2,
                                              Body=b"part")),
        ("DeleteObject", lambda: s3.delete_object(Bucket="bkt", Key="dir/a b+c.txt")),
        ("DeleteObjects", lambda: s3.delete_objects(Bucket="bkt", Delete={"Objects": [{"Key": "a"}]})),
        ("GetBucketAccelerateConfiguration", lambda: s3.get_bucket_accelerate_configuration(Bucket="bkt")),
        ("GetBucketEncryption", lambda: s3.get_bucket_encryption(Bucket="bkt")),
    ]
    for op, call in calls:
        current["op"] = op
        try:
            call()
        except Captured:
            pass


def s3cmd_vectors(host_bucket):
    import S3.S3
    from S3.Config import Config as S3Config
    from S3.S3Uri import S3Uri

    S3.S3.time.gmtime = lambda *a: STRUCT
    cfg = S3Config()
    cfg.access_key = AK
    cfg.secret_key = SK
    cfg.host_base = "s3.test:9000"
    cfg.host_bucket = host_bucket
    cfg.signature_v2 = True
    cfg.use_https = False
    s3 = S3.S3.S3(cfg)
    style = "path" if "%(bucket)s" not in host_bucket else "virtual"
    cases = [
        ("BUCKET_CREATE", "s3://bkt", None, None),
        ("BUCKET_LIST", "s3://bkt", None, {"prefix": "dir/"}),
        ("BUCKET_LIST", "s3://bkt", None, {"location": None}),
        ("OBJECT_PUT", "s3://bkt/dir/a b+c.txt", {"content-type": "text/plain", "x-amz-meta-k": "v"}, None),
        ("OBJECT_PUT", "s3://bkt/big", None, {"partNumber": "2", "uploadId": "0123abcd"}),
        ("OBJECT_DELETE", "s3://bkt/dir/a b+c.txt", None, None),
    ]
    for op, uri, headers, params in cases:
        req = s3.create_request(op, uri=S3Uri(uri), headers=headers, uri_params=params)
        method, resource, hdrs = req.get_triplet()
        path = s3.format_uri(resource)
        path, _, query = path.partition("?")
        hdrs = dict(hdrs)
        hdrs["host"] = s3.get_hostname(resource["bucket"])
        show(f"s3cmd-{style}", op, method, f"http://{hdrs['host']}{path}?{query}", hdrs)


if __name__ == "__main__":
    botocore_vectors("path", "http://s3.test:9000")
    botocore_vectors("virtual", "http://s3.test:9000")
    s3cmd_vectors("s3.test:9000")
    s3cmd_vectors("%(bucket)s.s3.test:9000")
