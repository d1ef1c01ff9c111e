"""boto3 with Signature Version 2 (`Config(signature_version='s3')`).

Issue #11 item 12: botocore's `HmacV1Auth` sends a path-style bucket request
as `/bucket` (`/bucket?location`) but signs `/bucket/`, so CreateBucket,
ListObjects and GetBucketLocation failed with SignatureDoesNotMatch while
object requests worked. Each test runs the whole bucket and object cycle
path-style and virtual-hosted (`--domain localhost`, `*.localhost` resolved
to 127.0.0.1 in this process), and checks that SigV2 still refuses what its
signature does not cover.
"""

from __future__ import annotations

import socket
import urllib.request

import pytest
from botocore.exceptions import ClientError

from coffer_e2e import (
    SERVERS,
    CofferServer,
    boto3_client,
    empty_and_delete_bucket,
    error_code,
    random_bytes,
    unique_bucket,
)


@pytest.fixture(scope="module")
def v2_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("coffer-sigv2")
    server = CofferServer(data_dir=base / "data", log_path=base / "server.log", domains=["localhost"])
    SERVERS.append(server)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        SERVERS.remove(server)


@pytest.fixture
def localhost_resolves(monkeypatch):
    """In this process, any `*.localhost` name resolves to 127.0.0.1."""
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if isinstance(host, bytes):
            host = host.decode()
        if isinstance(host, str) and (host == "localhost" or host.endswith(".localhost")):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


def _text(v):
    return v.decode() if isinstance(v, bytes) else v


def _client(server, style):
    endpoint = server.endpoint if style == "path" else f"http://localhost:{server.port}"
    return boto3_client(server, endpoint_url=endpoint, signature_version="s3",
                        s3={"addressing_style": style})


@pytest.mark.parametrize("style", ["path", "virtual"])
def test_bucket_and_object_cycle(v2_server, localhost_resolves, style):
    s3 = _client(v2_server, style)
    sent = []
    s3.meta.events.register("before-send.s3.*",
                            lambda request, **kw: sent.append(_text(request.headers.get("Authorization"))))
    name = unique_bucket(f"sigv2-{style}")
    try:
        assert s3.create_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert s3.list_objects(Bucket=name).get("Contents", []) == []
        assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] in (None, v2_server.region)
        body = random_bytes(50_000)
        s3.put_object(Bucket=name, Key="dir/a b+c.bin", Body=body, Metadata={"who": "sigv2"})
        got = s3.get_object(Bucket=name, Key="dir/a b+c.bin")
        assert got["Body"].read() == body
        assert got["Metadata"] == {"who": "sigv2"}
        listed = s3.list_objects(Bucket=name, Prefix="dir/")
        assert [o["Key"] for o in listed["Contents"]] == ["dir/a b+c.bin"]
        assert s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert s3.get_bucket_acl(Bucket=name)["Grants"]
        s3.delete_object(Bucket=name, Key="dir/a b+c.bin")
        assert s3.list_objects(Bucket=name).get("Contents", []) == []
        s3.delete_bucket(Bucket=name)
        assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    finally:
        try:
            empty_and_delete_bucket(boto3_client(v2_server), name)
        except ClientError:
            pass
    # Every request really was SigV2.
    assert sent and all(a and a.startswith("AWS ") and ":" in a for a in sent), sent


def test_presigned_sigv2_url_refuses_an_appended_sub_resource(v2_server):
    s3 = _client(v2_server, "path")
    name = unique_bucket("sigv2-pre")
    s3.create_bucket(Bucket=name)
    try:
        s3.put_object(Bucket=name, Key="k", Body=b"shared")
        url = s3.generate_presigned_url("get_object", Params={"Bucket": name, "Key": "k"}, ExpiresIn=300)
        assert "AWSAccessKeyId=" in url and "Signature=" in url
        with urllib.request.urlopen(url) as r:
            assert r.read() == b"shared"
        for sub in ("acl", "tagging", "attributes", "retention"):
            with pytest.raises(urllib.request.HTTPError) as ei:
                urllib.request.urlopen(f"{url}&{sub}")
            assert ei.value.code == 403, sub
            assert b"<Code>SignatureDoesNotMatch</Code>" in ei.value.read(), sub
        # Unsigned sub-resources are refused for header-signed requests too:
        # botocore does not sign `encryption`, so GetBucketEncryption cannot
        # be told apart from a ListObjects signature and is refused.
        with pytest.raises(ClientError) as ei:
            s3.get_bucket_encryption(Bucket=name)
        assert error_code(ei.value) == "SignatureDoesNotMatch"
    finally:
        empty_and_delete_bucket(boto3_client(v2_server), name)
