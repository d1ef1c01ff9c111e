"""The `coffer server` command itself: env configuration, region, restarts."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from coffer_e2e import (
    SERVERS,
    CofferServer,
    boto3_client,
    error_code,
    http_request,
    random_bytes,
    sha256_bytes,
)


@pytest.fixture
def own_server(tmp_path):
    servers = []

    def make(**kw):
        s = CofferServer(data_dir=tmp_path / "data", log_path=tmp_path / "server.log", **kw)
        servers.append(s)
        SERVERS.append(s)
        return s

    yield make
    for s in servers:
        s.kill()
        SERVERS.remove(s)


def test_env_configuration_and_region(own_server, tmp_path):
    server = own_server(region="eu-central-1", config_via_env=True).start()
    assert (tmp_path / "data").is_dir()
    assert http_request(f"{server.endpoint}/_coffer/health/live")[0] == 200

    s3 = boto3_client(server)  # signs for eu-central-1
    s3.create_bucket(Bucket="regional",
                     CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    loc = s3.get_bucket_location(Bucket="regional")["LocationConstraint"]
    assert loc == "eu-central-1"



def test_request_signed_for_other_region_is_refused(own_server):
    # AWS S3 answers 400 AuthorizationHeaderMalformed ("the region
    # 'us-east-1' is wrong; expecting 'eu-central-1'") with a <Region> element
    # when the credential scope names another region than the endpoint's.
    # boto3 follows that hint (its S3 region redirector re-signs for the named
    # region), so the refusal is checked with a raw request signed for the
    # wrong region, and the redirect with boto3.
    from test_http_raw import Signer, send
    server = own_server(region="eu-central-1").start()
    boto3_client(server).create_bucket(
        Bucket="regional", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    headers = {"Host": server.host_port}
    Signer(server.access_key, server.secret_key, region="us-east-1").sign(
        "GET", "/regional", {"list-type": "2"}, headers, sha256_bytes(b""))
    status, _, body = send(server, "GET", "/regional", {"list-type": "2"}, headers)
    assert status == 400, body
    assert b"<Code>AuthorizationHeaderMalformed</Code>" in body, body
    assert b"<Region>eu-central-1</Region>" in body, body
    server.region = "us-east-1"
    wrong = boto3_client(server)
    server.region = "eu-central-1"
    assert wrong.list_objects_v2(Bucket="regional")["KeyCount"] == 0


def test_data_survives_graceful_restart(own_server):
    server = own_server().start()
    s3 = boto3_client(server)
    s3.create_bucket(Bucket="persist")
    body = random_bytes(3 * 1024 * 1024 + 5)
    s3.put_object(Bucket="persist", Key="k", Body=body, Metadata={"m": "1"})
    uid = s3.create_multipart_upload(Bucket="persist", Key="mpu")["UploadId"]
    s3.upload_part(Bucket="persist", Key="mpu", UploadId=uid, PartNumber=1, Body=b"part")

    assert server.stop() == 0, "SIGTERM should shut the server down cleanly (exit 0)"
    server.start()
    s3 = boto3_client(server)
    got = s3.get_object(Bucket="persist", Key="k")
    assert sha256_bytes(got["Body"].read()) == sha256_bytes(body)
    assert got["Metadata"] == {"m": "1"}
    uploads = s3.list_multipart_uploads(Bucket="persist").get("Uploads", [])
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("mpu", uid)]
    parts = s3.list_parts(Bucket="persist", Key="mpu", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, 4)]


def test_second_server_on_same_port_fails_cleanly(own_server, tmp_path):
    import subprocess

    from coffer_e2e import coffer_bin

    server = own_server().start()
    proc = subprocess.run(
        [str(coffer_bin()), "server", "--data-dir", str(tmp_path / "other"),
         "--listen", server.host_port],
        env={"COFFER_ROOT_ACCESS_KEY": server.access_key,
             "COFFER_ROOT_SECRET_KEY": server.secret_key, "PATH": "/usr/bin:/bin"},
        capture_output=True, timeout=30)
    assert proc.returncode != 0
    assert server.alive()


def test_second_server_on_same_data_dir_is_refused_and_harms_nothing(own_server, tmp_path):
    """Two servers on one data directory: the second one's start-up recovery
    took the first one's in-flight blobs and queued garbage for debris of a
    crash, before it failed to bind. It must stop before touching anything."""
    import subprocess

    from coffer_e2e import coffer_bin, free_port

    server = own_server().start()
    s3 = boto3_client(server)
    s3.create_bucket(Bucket="locked")
    s3.put_object(Bucket="locked", Key="k", Body=b"kept")
    proc = subprocess.run(
        [str(coffer_bin()), "server", "--data-dir", str(server.data_dir),
         "--listen", f"127.0.0.1:{free_port()}"],
        env={"COFFER_ROOT_ACCESS_KEY": server.access_key,
             "COFFER_ROOT_SECRET_KEY": server.secret_key, "PATH": "/usr/bin:/bin"},
        capture_output=True, timeout=30)
    assert proc.returncode != 0
    assert b"another coffer server is using the data directory" in proc.stderr, proc.stderr
    assert server.alive()
    assert s3.get_object(Bucket="locked", Key="k")["Body"].read() == b"kept"
