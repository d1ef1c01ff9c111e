"""The audit log (`--audit-log`): one JSON line per request that may change
something on the S3 endpoint, the admin and IAM APIs and the console, with
who did it and how it ended; never a secret; reopened on a real SIGHUP
after logrotate renames it. `--log-format json` for the ordinary log."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.parse

import pytest
from botocore.exceptions import ClientError

from coffer_e2e import (
    SERVERS,
    CofferServer,
    boto3_client,
    boto3_iam_client,
    coffer_cli_json,
    free_port,
    http_request,
    unique_name,
)


@pytest.fixture
def server(tmp_path):
    cport = free_port()
    s = CofferServer(data_dir=tmp_path / "data", log_path=tmp_path / "server.log", config_via_env=True,
                     extra_args=["--audit-log", str(tmp_path / "audit.log"), "--log-format", "json",
                                 "--console-listen", f"127.0.0.1:{cport}"])
    s.audit_path = tmp_path / "audit.log"
    s.console_url = f"http://127.0.0.1:{cport}"
    SERVERS.append(s)
    s.start()
    yield s
    s.kill()
    SERVERS.remove(s)


def lines(path, want, timeout=10):
    """The audit lines once `want(lines)` holds (the writer is a thread)."""
    deadline = time.monotonic() + timeout
    while True:
        text = path.read_text() if path.exists() else ""
        got = [json.loads(line) for line in text.splitlines()]
        if want(got) or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def test_changes_are_audited_with_who_and_never_a_secret(server):
    s3 = boto3_client(server)
    s3.create_bucket(Bucket="audited")
    s3.put_object(Bucket="audited", Key="dir/file.txt", Body=b"12345")
    s3.get_object(Bucket="audited", Key="dir/file.txt")["Body"].read()
    s3.delete_object(Bucket="audited", Key="dir/file.txt")
    with pytest.raises(ClientError):
        s3.put_object(Bucket="no-such-bucket-here", Key="k", Body=b"x")
    project = unique_name("audit")
    coffer_cli_json(server, "project", "create", project)
    created = coffer_cli_json(server, "credentials", "create", "--project", project)
    boto3_iam_client(server, created["access_key"], created["secret_key"]).create_user(UserName="auditee")
    form = urllib.parse.urlencode({"kind": "operator", "access_key": server.access_key, "secret_key": "nope-wrong"})
    status, _, _ = http_request(f"{server.console_url}/signin", method="POST", data=form.encode(),
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 401

    got = lines(server.audit_path, lambda g: any(l["api"] == "console" for l in g) and len(g) >= 8)
    s3_lines = [l for l in got if l["api"] == "s3"]
    ops = [l["operation"] for l in s3_lines]
    assert ops[:4] == ["CreateBucket", "PutObject", "DeleteObject", "PutObject"], ops
    assert "GetObject" not in ops, "reads are audited only with --audit-all"
    put = s3_lines[1]
    assert (put["bucket"], put["key"], put["status"], put["bytes_in"]) == ("audited", "dir/file.txt", 200, 5), put
    assert put["access_key"] == server.access_key and put["source_ip"] == "127.0.0.1", put
    assert put["request_id"] and put["duration_ms"] >= 0 and put["time"].endswith("Z"), put
    assert "Boto3" in put["user_agent"] or "boto" in put["user_agent"].lower(), put
    failed = s3_lines[3]
    assert (failed["status"], failed["error_code"]) == (404, "NoSuchBucket"), failed

    admin = [l for l in got if l["api"] == "admin"]
    assert any(l["operation"].startswith("POST ") and l["operation"].endswith("/projects") for l in admin), admin
    assert any("/keys" in l["path"] and l["status"] == 201 for l in admin), admin
    assert all(l["access_key"] == server.access_key for l in admin), admin
    iam = [l for l in got if l["api"] == "iam"]
    assert [(l["operation"], l["access_key"], l["status"]) for l in iam] == \
        [("CreateUser", created["access_key"], 200)], iam
    console = [l for l in got if l["api"] == "console"]
    assert [(l["operation"], l["status"]) for l in console] == [("POST /signin", 401)], console
    assert "principal" not in console[0], "nobody is signed in yet"

    text = server.audit_path.read_text()
    for secret in (server.secret_key, created["secret_key"], "nope-wrong"):
        assert secret not in text

    # The ordinary log is JSON too.
    for line in (server.log_path.read_text().splitlines()[-20:]):
        if line.startswith("{"):
            assert "level" in json.loads(line)


def test_sighup_reopens_after_logrotate_renames(server):
    s3 = boto3_client(server)
    s3.create_bucket(Bucket="rotated")
    assert lines(server.audit_path, lambda g: len(g) >= 1)
    os.rename(server.audit_path, str(server.audit_path) + ".1")
    server.proc.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    s3.put_object(Bucket="rotated", Key="after", Body=b"x")
    got = lines(server.audit_path, lambda g: len(g) >= 1)
    assert [l["operation"] for l in got] == ["PutObject"], got
    old = [json.loads(l) for l in open(str(server.audit_path) + ".1").read().splitlines()]
    assert [l["operation"] for l in old] == ["CreateBucket"], old
    assert server.proc.poll() is None, "SIGHUP must not stop the server"


def test_a_log_that_cannot_be_written_never_fails_a_request_and_is_counted(tmp_path):
    """An audit log on a full device (`/dev/full`: every write is ENOSPC):
    requests go on succeeding, and the lost lines are counted."""
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    mport = free_port()
    s = CofferServer(data_dir=tmp_path / "data", log_path=tmp_path / "server.log",
                     extra_args=["--audit-log", "/dev/full", "--metrics-listen", f"127.0.0.1:{mport}"])
    SERVERS.append(s)
    s.start()
    try:
        s3 = boto3_client(s)
        bucket = unique_name("full")
        s3.create_bucket(Bucket=bucket)
        for i in range(20):
            s3.put_object(Bucket=bucket, Key=f"k{i}", Body=b"x")
        assert s3.get_object(Bucket=bucket, Key="k19")["Body"].read() == b"x"

        def lost():
            status, _, body = http_request(f"http://127.0.0.1:{mport}/metrics")
            assert status == 200
            for family in text_string_to_metric_families(body.decode()):
                for sample in family.samples:
                    if sample.name == "coffer_audit_write_errors_total":
                        return sample.value
            return 0

        # The counters kept by the writer reach the metrics every 10 s.
        deadline = time.monotonic() + 30
        while lost() < 21 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert lost() >= 21, "the bucket's creation and the 20 PUTs were lost, and counted"
    finally:
        s.kill()
        SERVERS.remove(s)
