"""Versioning and object lock with real clients: the aws CLI v2 (`s3api`
round trips of versioning and object lock), boto3 (versions, delete
markers, paging, a restore by copy), rclone `--s3-versions` listing old
versions, and a restic repository on an object-lock bucket that a stolen
key's `restic forget --prune` cannot destroy: its deletes become delete
markers, and removing those markers gives the repository back whole."""

from __future__ import annotations

import datetime
import json
import os
import random
import time

import pytest
from botocore.exceptions import ClientError

from coffer_e2e import (
    aws_cli,
    boto3_client,
    create_project,
    create_user,
    error_code,
    require_tool,
    run,
    tree_digests,
    unique_bucket,
    rclone_runner,
)

AWS = "/usr/bin/aws"


@pytest.fixture(scope="module")
def aws(coffer, tmp_path_factory):
    binary = require_tool(AWS, "Debian package awscli (aws CLI v2)")
    return aws_cli(coffer, binary, tmp_path_factory.mktemp("awscli-versions"),
                   chunk_mb=8, global_args=("--no-cli-pager",))


def future(seconds: int) -> str:
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def all_versions(s3, bucket: str) -> list[dict]:
    out = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, MaxKeys=7):
        out += [dict(v, Marker=False) for v in page.get("Versions", [])]
        out += [dict(m, Marker=True) for m in page.get("DeleteMarkers", [])]
    return out


def purge(s3, bucket: str) -> None:
    """Removes every version and marker (with the bypass), then the bucket."""
    for v in all_versions(s3, bucket):
        try:
            s3.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"],
                             BypassGovernanceRetention=True)
        except ClientError:
            pass
    try:
        s3.delete_bucket(Bucket=bucket)
    except ClientError:
        pass


def test_awscli_versioning_and_object_lock(aws):
    name = unique_bucket("cli-ver")
    aws("s3api", "create-bucket", "--bucket", name)
    aws("s3api", "put-bucket-versioning", "--bucket", name,
        "--versioning-configuration", "Status=Enabled")
    assert aws.json("s3api", "get-bucket-versioning", "--bucket", name)["Status"] == "Enabled"
    v1 = aws.json("s3api", "put-object", "--bucket", name, "--key", "k")["VersionId"]
    v2 = aws.json("s3api", "put-object", "--bucket", name, "--key", "k")["VersionId"]
    listed = aws.json("s3api", "list-object-versions", "--bucket", name)
    assert [v["VersionId"] for v in listed["Versions"]] == [v2, v1]
    marker = aws.json("s3api", "delete-object", "--bucket", name, "--key", "k")
    assert marker["DeleteMarker"] is True
    gone = aws("s3api", "head-object", "--bucket", name, "--key", "k", check=False)
    assert gone.returncode != 0
    aws("s3api", "delete-object", "--bucket", name, "--key", "k", "--version-id", marker["VersionId"])
    head = aws.json("s3api", "head-object", "--bucket", name, "--key", "k")
    assert head["VersionId"] == v2
    for v in (v1, v2):
        aws("s3api", "delete-object", "--bucket", name, "--key", "k", "--version-id", v)
    aws("s3api", "delete-bucket", "--bucket", name)

    locked = unique_bucket("cli-lock")
    aws("s3api", "create-bucket", "--bucket", locked, "--object-lock-enabled-for-bucket")
    aws("s3api", "put-object-lock-configuration", "--bucket", locked, "--object-lock-configuration",
        json.dumps({"ObjectLockEnabled": "Enabled",
                    "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}}))
    cfg = aws.json("s3api", "get-object-lock-configuration", "--bucket", locked)
    assert cfg["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]["Mode"] == "GOVERNANCE"
    v = aws.json("s3api", "put-object", "--bucket", locked, "--key", "doc")["VersionId"]
    ret = aws.json("s3api", "get-object-retention", "--bucket", locked, "--key", "doc")
    assert ret["Retention"]["Mode"] == "GOVERNANCE"
    aws("s3api", "put-object-legal-hold", "--bucket", locked, "--key", "doc",
        "--legal-hold", "Status=ON")
    held = aws.json("s3api", "get-object-legal-hold", "--bucket", locked, "--key", "doc")
    assert held["LegalHold"]["Status"] == "ON"
    refused = aws("s3api", "delete-object", "--bucket", locked, "--key", "doc", "--version-id", v,
                  "--bypass-governance-retention", check=False)
    assert refused.returncode != 0 and "AccessDenied" in refused.stderr_text, refused.stderr_text
    aws("s3api", "put-object-legal-hold", "--bucket", locked, "--key", "doc",
        "--legal-hold", "Status=OFF")
    # GOVERNANCE becomes COMPLIANCE only with the bypass.
    compliance = json.dumps({"Mode": "COMPLIANCE", "RetainUntilDate": future(3600)})
    refused = aws("s3api", "put-object-retention", "--bucket", locked, "--key", "doc", "--retention",
                  compliance, check=False)
    assert refused.returncode != 0 and "AccessDenied" in refused.stderr_text, refused.stderr_text
    aws("s3api", "put-object-retention", "--bucket", locked, "--key", "doc", "--retention",
        compliance, "--bypass-governance-retention")
    refused = aws("s3api", "delete-object", "--bucket", locked, "--key", "doc", "--version-id", v,
                  "--bypass-governance-retention", check=False)
    assert refused.returncode != 0 and "AccessDenied" in refused.stderr_text, refused.stderr_text


def test_awscli_lifecycle_round_trip(aws):
    name = unique_bucket("cli-lc")
    aws("s3api", "create-bucket", "--bucket", name)
    try:
        rules = {"Rules": [
            {"ID": "tmp", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled", "Expiration": {"Days": 7}},
            {"ID": "old versions", "Filter": {}, "Status": "Enabled",
             "NoncurrentVersionExpiration": {"NoncurrentDays": 30, "NewerNoncurrentVersions": 2}},
            {"ID": "uploads", "Filter": {"Prefix": ""}, "Status": "Enabled",
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 3}}]}
        aws("s3api", "put-bucket-lifecycle-configuration", "--bucket", name,
            "--lifecycle-configuration", json.dumps(rules))
        got = aws.json("s3api", "get-bucket-lifecycle-configuration", "--bucket", name)["Rules"]
        assert [r["ID"] for r in got] == ["tmp", "old versions", "uploads"]
        assert got[0]["Expiration"]["Days"] == 7 and got[0]["Filter"]["Prefix"] == "tmp/"
        assert got[1]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30, "NewerNoncurrentVersions": 2}
        head = aws.json("s3api", "put-object", "--bucket", name, "--key", "tmp/x")
        assert 'rule-id="tmp"' in head["Expiration"]
        transition = {"Rules": [{"ID": "cold", "Filter": {}, "Status": "Enabled",
                                 "Transitions": [{"Days": 1, "StorageClass": "GLACIER"}]}]}
        refused = aws("s3api", "put-bucket-lifecycle-configuration", "--bucket", name,
                      "--lifecycle-configuration", json.dumps(transition), check=False)
        assert refused.returncode != 0 and "NotImplemented" in refused.stderr_text, refused.stderr_text
        aws("s3api", "delete-bucket-lifecycle", "--bucket", name)
        missing = aws("s3api", "get-bucket-lifecycle-configuration", "--bucket", name, check=False)
        assert missing.returncode != 0 and "NoSuchLifecycleConfiguration" in missing.stderr_text
    finally:
        aws("s3", "rb", f"s3://{name}", "--force", check=False)


def test_boto3_versions_markers_paging_and_restore(coffer):
    s3 = boto3_client(coffer)
    b = unique_bucket("b3-ver")
    s3.create_bucket(Bucket=b)
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    try:
        ids = [s3.put_object(Bucket=b, Key=f"k{i % 3}", Body=f"body {i}".encode())["VersionId"]
               for i in range(12)]
        s3.delete_object(Bucket=b, Key="k0")
        versions = all_versions(s3, b)
        assert len(versions) == 13
        assert sum(v["IsLatest"] for v in versions) == 3
        assert {v["VersionId"] for v in versions if not v["Marker"]} == set(ids)
        with pytest.raises(ClientError) as ei:
            s3.get_object(Bucket=b, Key="k0")
        assert error_code(ei.value) == "NoSuchKey"
        # Restore the oldest k0 by copying that version on top.
        oldest = ids[0]
        r = s3.copy_object(Bucket=b, Key="k0", CopySource={"Bucket": b, "Key": "k0", "VersionId": oldest})
        assert r["CopySourceVersionId"] == oldest
        assert s3.get_object(Bucket=b, Key="k0")["Body"].read() == b"body 0"
        got = s3.get_object(Bucket=b, Key="k1", VersionId=ids[1])
        assert got["Body"].read() == b"body 1" and got["VersionId"] == ids[1]
        # DeleteObjects with versions removes them for good.
        out = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "k2", "VersionId": ids[2]}]})
        assert out["Deleted"][0]["VersionId"] == ids[2]
        with pytest.raises(ClientError) as ei:
            s3.get_object(Bucket=b, Key="k2", VersionId=ids[2])
        assert error_code(ei.value) == "NoSuchVersion"
    finally:
        purge(s3, b)


def test_rclone_lists_old_versions(coffer, tmp_path):
    rclone = rclone_runner(coffer, tmp_path / "rclone")
    s3 = boto3_client(coffer)
    b = unique_bucket("rc-ver")
    s3.create_bucket(Bucket=b)
    s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    try:
        for body in (b"first", b"second!"):
            s3.put_object(Bucket=b, Key="notes.txt", Body=body)
        plain = rclone("lsf", f"coffer:{b}").stdout_text.split()
        assert plain == ["notes.txt"], plain
        with_versions = rclone("ls", "--s3-versions", f"coffer:{b}").stdout_text.splitlines()
        names = sorted(line.split()[-1] for line in with_versions)
        assert len(names) == 2 and names[1] == "notes.txt", names
        assert names[0].startswith("notes-v") and names[0].endswith(".txt"), names
        old = rclone("cat", "--s3-versions", f"coffer:{b}/{names[0]}").stdout_text
        assert old == "first"
    finally:
        purge(s3, b)


def test_restic_on_an_object_lock_bucket_survives_a_stolen_key(coffer, tmp_path):
    binary = require_tool("restic", "Debian package restic")
    owner = create_project(coffer, "backup")
    s3 = owner.s3()
    bucket = unique_bucket("restic-lock")
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
    # The key restic runs with can do everything but bypass the lock, as a
    # backup host's key should; a thief who takes it has no more.
    thief = create_user(coffer, owner.project, "backup-host", document={
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:BypassGovernanceRetention", "Resource": "*"}]})
    home = tmp_path / "restic"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RESTIC_", "AWS_"))}
    env.update(HOME=str(home), RESTIC_REPOSITORY=f"s3:{coffer.endpoint}/{bucket}",
               RESTIC_PASSWORD="locked repo", RESTIC_CACHE_DIR=str(home / "cache"),
               AWS_ACCESS_KEY_ID=thief.access_key, AWS_SECRET_ACCESS_KEY=thief.secret_key)
    home.mkdir()

    def restic(*args, check=True):
        return run([binary, *args], env=env, cwd=str(home), timeout=300, check=check)

    rng = random.Random(7)
    src = home / "src"
    src.mkdir()
    for i in range(20):
        (src / f"f{i}.bin").write_bytes(rng.randbytes(rng.randrange(1, 200_000)))
    digests = tree_digests(src)
    restic("init")
    restic("backup", "--host", "e2e", "src")
    # The attack: forget every snapshot and prune the data.
    restic("forget", "--keep-last", "1", "--prune")
    snap = json.loads(restic("--json", "snapshots").stdout_text)[0]["short_id"]
    restic("forget", snap, "--prune")
    assert json.loads(restic("--json", "snapshots").stdout_text) == []
    # Every delete only put a marker on top; the owner removes the markers.
    markers = [v for v in all_versions(s3, bucket) if v["Marker"]]
    assert markers, "the prune deleted files"
    for m in markers:
        s3.delete_object(Bucket=bucket, Key=m["Key"], VersionId=m["VersionId"])
    # The attack's own lock files came back with everything else: stale
    # (their processes are gone), removed as restic advises.
    restic("unlock")
    restic("check", "--read-data")
    snaps = json.loads(restic("--json", "snapshots").stdout_text)
    assert snaps, "the forgotten snapshots are back"
    target = home / "restored"
    restic("restore", snaps[0]["short_id"], "--target", str(target))
    assert tree_digests(target / "src") == digests


def test_duplicity_backs_up_to_and_restores_from_a_versioned_bucket(coffer, tmp_path):
    binary = require_tool("duplicity", "Debian packages duplicity and python3-boto3")
    s3 = boto3_client(coffer)
    bucket = unique_bucket("dup-ver")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PASSPHRASE"))}
    env.update(HOME=str(tmp_path), PASSPHRASE="duplicity e2e",
               AWS_ACCESS_KEY_ID=coffer.access_key, AWS_SECRET_ACCESS_KEY=coffer.secret_key)
    url = f"boto3+s3://{bucket}/backup"
    common = ["--s3-endpoint-url", coffer.endpoint, "--s3-region-name", "us-east-1",
              "--archive-dir", str(tmp_path / "cache")]

    def duplicity(*args):
        return run([binary, *args, *common], env=env, cwd=str(tmp_path), timeout=300)

    rng = random.Random(11)
    src = tmp_path / "src"
    src.mkdir()
    for i in range(12):
        (src / f"f{i}.bin").write_bytes(rng.randbytes(rng.randrange(1, 300_000)))
    first = tree_digests(src)
    try:
        duplicity("full", str(src), url)
        time.sleep(3)  # the incremental's time, to the second, is after the full's
        (src / "f0.bin").write_bytes(b"changed")
        (src / "new.txt").write_text("added in the second backup")
        duplicity("incremental", str(src), url)
        second = tree_digests(src)
        latest = tmp_path / "latest"
        duplicity("restore", url, str(latest))
        assert tree_digests(latest) == second
        # The first backup's state, from the full backup alone.
        chain = s3.list_objects_v2(Bucket=bucket, Prefix="backup/")["Contents"]
        assert any(".manifest" in o["Key"] for o in chain)
        full_time = min(o["LastModified"] for o in chain)
        older = tmp_path / "older"
        stamp = (full_time + datetime.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        duplicity("restore", "-t", stamp, url, str(older))
        assert tree_digests(older) == first
        assert all(v["IsLatest"] for v in s3.list_object_versions(Bucket=bucket)["Versions"])
    finally:
        purge(s3, bucket)
