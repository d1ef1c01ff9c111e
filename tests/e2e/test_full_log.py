"""A server whose log cannot be written keeps serving.

When the disk holding the log fills up, every log line fails to be written.
tracing-subscriber then reports the failure with `eprintln!`, which panics
when stderr cannot be written either; in the metadata writer thread that
panic ended every later write (a CI run lost its server that way when the
machine's disk filled). Here the server's stdout and stderr are /dev/full,
where every write fails with ENOSPC, and boto3 must still be able to create,
write, list, read and delete, including a multipart upload.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request

import boto3
import pytest
from botocore.config import Config

from coffer_e2e import REGION, ROOT_ACCESS_KEY, ROOT_SECRET_KEY, coffer_bin, free_port


def test_server_serves_with_an_unwritable_log(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this machine: the test needs a file whose writes fail with ENOSPC")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COFFER_")}
    env.update(COFFER_ROOT_ACCESS_KEY=ROOT_ACCESS_KEY, COFFER_ROOT_SECRET_KEY=ROOT_SECRET_KEY,
               COFFER_LOG="debug")
    with open("/dev/full", "wb") as full:
        proc = subprocess.Popen(
            [str(coffer_bin()), "server", "--data-dir", str(tmp_path / "data"),
             "--listen", f"127.0.0.1:{port}", "--region", REGION, "--no-console"],
            env=env, stdin=subprocess.DEVNULL, stdout=full, stderr=full)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, f"the server exited with {proc.returncode}"
            try:
                with urllib.request.urlopen(f"{url}/_coffer/health/ready", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.1)
        s3 = boto3.client("s3", endpoint_url=url, region_name=REGION,
                          aws_access_key_id=ROOT_ACCESS_KEY, aws_secret_access_key=ROOT_SECRET_KEY,
                          config=Config(retries={"max_attempts": 1}))
        s3.create_bucket(Bucket="quiet")
        for i in range(50):
            s3.put_object(Bucket="quiet", Key=f"k{i}", Body=b"x" * i)
        assert s3.list_objects_v2(Bucket="quiet")["KeyCount"] == 50
        assert s3.get_object(Bucket="quiet", Key="k7")["Body"].read() == b"x" * 7
        up = s3.create_multipart_upload(Bucket="quiet", Key="big")["UploadId"]
        etag = s3.upload_part(Bucket="quiet", Key="big", UploadId=up, PartNumber=1,
                              Body=b"p" * 1000)["ETag"]
        s3.complete_multipart_upload(Bucket="quiet", Key="big", UploadId=up,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
        # An error path (which logs at error level) answers like any other.
        try:
            s3.get_object(Bucket="quiet", Key="missing")
            raise AssertionError("a missing key was found")
        except s3.exceptions.NoSuchKey:
            pass
        s3.delete_object(Bucket="quiet", Key="k0")
        assert s3.list_objects_v2(Bucket="quiet")["KeyCount"] == 50  # 49 + big
        assert proc.poll() is None, "the server died"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
