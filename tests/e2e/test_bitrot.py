"""Bitrot: a byte flipped in a stored blob is never served as the object.
A small object answers 500 InternalError before any byte; a large one's body
never completes (the client sees a short body). The background scrubber and
`coffer scrub` name the rotten and the missing blobs, and the metrics count
both the refused reads and the scrubber's findings."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from botocore.exceptions import ClientError

from coffer_e2e import SERVERS, CofferServer, boto3_client, coffer_bin, free_port, http_request
from prometheus_client.openmetrics.parser import text_string_to_metric_families

SMALL = 200 * 1024  # a blob, checked whole before the answer starts
LARGE = 3 * 1024 * 1024 + 5  # checked as it streams


@pytest.fixture
def server(tmp_path):
    mport = free_port()
    s = CofferServer(data_dir=tmp_path / "data", log_path=tmp_path / "server.log",
                     extra_args=["--metrics-listen", f"127.0.0.1:{mport}",
                                 "--scrub-interval-secs", "1", "--scrub-rate-mib", "0"])
    s.metrics_url = f"http://127.0.0.1:{mport}/metrics"
    SERVERS.append(s)
    s.start()
    yield s
    s.kill()
    SERVERS.remove(s)


def metric(server, name):
    status, _, body = http_request(server.metrics_url)
    assert status == 200, body
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            if s.name == name:
                return s.value
    return 0


def wait_for(server, name, at_least, timeout=30):
    deadline = time.monotonic() + timeout
    while metric(server, name) < at_least:
        assert time.monotonic() < deadline, f"{name} stayed below {at_least}"
        time.sleep(0.2)


def blob_files(server):
    return {p.name: p for p in (server.data_dir / "blobs" / "v1").glob("*/*") if p.is_file()}


def flip(path, at):
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def scrub(server):
    r = subprocess.run([str(coffer_bin()), "scrub", "--data-dir", str(server.data_dir), "--json"],
                       capture_output=True, text=True, timeout=120)
    return r.returncode, json.loads(r.stdout) if r.stdout.strip() else None, r.stderr


def test_rotten_blobs_are_refused_and_found(server):
    s3 = boto3_client(server)
    s3.create_bucket(Bucket="rot")
    small, large, kept = b"s" * SMALL, bytes(range(256)) * (LARGE // 256) + b"tail!", b"k" * SMALL
    before = set(blob_files(server))
    s3.put_object(Bucket="rot", Key="small", Body=small)
    small_blob = (set(blob_files(server)) - before).pop()
    s3.put_object(Bucket="rot", Key="large", Body=large)
    large_blob = (set(blob_files(server)) - before - {small_blob}).pop()
    s3.put_object(Bucket="rot", Key="kept", Body=kept)
    assert s3.get_object(Bucket="rot", Key="large")["Body"].read() == large
    # The background scrubber passes over healthy blobs without a finding.
    wait_for(server, "coffer_scrub_blobs_total", 3)
    assert metric(server, "coffer_scrub_corrupt_blobs_total") == 0
    code, report, err = scrub(server)
    assert code == 0 and report["blobs"] == 3 and report["corrupt"] == 0, (report, err)

    files = blob_files(server)
    flip(files[small_blob], SMALL // 2)
    flip(files[large_blob], LARGE - 1)

    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="rot", Key="small")["Body"].read()
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert e.value.response["Error"]["Code"] == "InternalError"
    # The large body starts, but never completes: botocore sees it short.
    got = None
    with pytest.raises(Exception):  # noqa: B017 - IncompleteReadError or a urllib3 protocol error
        got = s3.get_object(Bucket="rot", Key="large")["Body"].read()
    assert got is None
    assert s3.get_object(Bucket="rot", Key="kept")["Body"].read() == kept, "other objects are unharmed"
    wait_for(server, "coffer_corrupt_reads_total", 2)

    # `coffer scrub` beside the running server names both, and exits 1.
    code, report, err = scrub(server)
    assert code == 1, err
    assert (report["corrupt"], report["missing"], report["blobs"]) == (2, 0, 3), report
    assert sorted(report["corrupt_blobs"]) == sorted([small_blob, large_blob])
    # The background scrubber finds them too.
    wait_for(server, "coffer_scrub_corrupt_blobs_total", 2)

    # A blob gone from the disk is missing; an object deleted through S3 is not.
    files[small_blob].unlink()
    s3.delete_object(Bucket="rot", Key="large")
    code, report, _ = scrub(server)
    assert code == 1 and (report["missing"], report["corrupt"]) == (1, 0), report
    assert report["missing_blobs"] == [small_blob]
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="rot", Key="small")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
