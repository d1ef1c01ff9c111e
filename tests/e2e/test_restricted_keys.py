"""Keys with restricted policies, used by s3cmd and rclone.

One project owns a bucket with known objects; its users have the presets
`read-object-only` (read objects; no listing at all, not even of buckets)
and `write-only` (upload; no reads, listings or deletes). A second project's
root key must see nothing of the first project's bucket. s3cmd runs with
SigV4 and with SigV2 (`signature_v2 = True`), as in test_s3cmd.py; rclone
is configured through RCLONE_CONFIG_COFFER_* as in test_rclone.py.

Refusals must be real refusals: a non-zero exit, `AccessDenied` in the
client's output, and (checked with the owner's key) nothing changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from coffer_e2e import (
    MiB,
    Key,
    admin,
    aws_cli,
    boto3_client,
    create_project,
    create_user,
    empty_and_delete_bucket,
    http_request,
    make_random_file,
    random_bytes,
    rclone_runner,
    require_tool,
    s3cmd_runner,
    sha256_bytes,
    sha256_file,
    unique_bucket,
)


@dataclass
class Setup:
    owner: Key          # the owning project's root key
    reader: Key         # read-object-only
    writer: Key         # write-only
    outsider: Key       # another project's root key
    bucket: str         # the owner's bucket
    outsider_bucket: str
    known: bytes        # the contents of `KNOWN_KEY`


KNOWN_KEY = "data/known.bin"


@pytest.fixture(scope="module")
def setup(coffer):
    owner = create_project(coffer, "restricted")
    outsider = create_project(coffer, "outsider")
    reader = create_user(coffer, owner.project, "reader", preset="read-object-only")
    writer = create_user(coffer, owner.project, "writer", preset="write-only")
    bucket = unique_bucket("restricted")
    outsider_bucket = unique_bucket("outsider")
    known = random_bytes(300_000)
    s3 = owner.s3()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=KNOWN_KEY, Body=known)
    s3.put_object(Bucket=bucket, Key="hello.txt", Body=b"hello\n")
    outsider.s3().create_bucket(Bucket=outsider_bucket)
    yield Setup(owner, reader, writer, outsider, bucket, outsider_bucket, known)
    operator = boto3_client(coffer)
    for key, b in ((owner, bucket), (outsider, outsider_bucket)):
        try:
            empty_and_delete_bucket(operator, b)
            admin(coffer, "DELETE", f"/projects/{key.project}")
        except Exception as e:  # cleanup must not mask the tests' results
            print(f"cleanup of {key.project} failed: {e!r}")


def _owner_keys(setup: Setup) -> list[str]:
    """The bucket's keys, listed with the owner's key."""
    listed = setup.owner.s3().list_objects_v2(Bucket=setup.bucket)
    return [o["Key"] for o in listed.get("Contents", [])]


# `s3cmd get` starts with a HEAD request; a refused HEAD has no body, so
# s3cmd can only report its status.
HEAD_403 = "S3 error: 403"


def _refused(proc, what: str = "AccessDenied") -> str:
    out = proc.stdout_text + proc.stderr_text
    assert proc.returncode != 0, out[-3000:]
    assert what in out, out[-3000:]
    return out


# ---------------------------------------------------------------------------
# s3cmd
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module", params=[False, True], ids=["sigv4", "sigv2"])
def sigv2(request):
    return request.param


def _s3cmd(coffer, tmp_path, key: Key, sigv2: bool):
    return s3cmd_runner(coffer, tmp_path / f"s3cmd-{key.access_key}", sigv2=sigv2,
                        access_key=key.access_key, secret_key=key.secret_key)


def test_s3cmd_read_object_only(coffer, setup, sigv2, tmp_path):
    s3cmd = _s3cmd(coffer, tmp_path, setup.reader, sigv2)
    bucket = setup.bucket

    # Reading a known object works, byte for byte.
    dst = tmp_path / "known.bin"
    s3cmd("get", f"s3://{bucket}/{KNOWN_KEY}", str(dst))
    assert sha256_file(dst) == sha256_bytes(setup.known)
    s3cmd("get", "--force", f"s3://{bucket}/hello.txt", str(tmp_path / "hello.txt"))
    assert (tmp_path / "hello.txt").read_bytes() == b"hello\n"

    # Writing is refused, and nothing is stored.
    src = tmp_path / "upload.bin"
    make_random_file(src, 10_000)
    _refused(s3cmd("put", str(src), f"s3://{bucket}/uploaded.bin", check=False))
    _refused(s3cmd("put", str(src), f"s3://{bucket}/{KNOWN_KEY}", check=False))
    _refused(s3cmd("del", f"s3://{bucket}/hello.txt", check=False))
    keys = _owner_keys(setup)
    assert "uploaded.bin" not in keys and "hello.txt" in keys, keys
    assert setup.owner.s3().get_object(Bucket=bucket, Key=KNOWN_KEY)["Body"].read() == setup.known

    # No listing at all: not the bucket's objects, not the buckets.
    _refused(s3cmd("ls", f"s3://{bucket}", check=False))
    _refused(s3cmd("ls", f"s3://{bucket}/data/", check=False))
    _refused(s3cmd("ls", check=False))
    # Without ListBucket a missing key is 403, not 404: nothing to probe.
    # (s3cmd get starts with a HEAD, whose 403 has no body to name a code.)
    out = _refused(s3cmd("get", f"s3://{bucket}/no-such-key", str(tmp_path / "x"), check=False),
                   HEAD_403)
    assert "404" not in out, out


def test_s3cmd_write_only(coffer, setup, sigv2, tmp_path):
    s3cmd = _s3cmd(coffer, tmp_path, setup.writer, sigv2)
    bucket = setup.bucket
    key = f"drop/{'v2' if sigv2 else 'v4'}/upload.bin"

    src = tmp_path / "upload.bin"
    digest = make_random_file(src, 50_000)
    s3cmd("put", str(src), f"s3://{bucket}/{key}")
    got = setup.owner.s3().get_object(Bucket=bucket, Key=key)["Body"].read()
    assert sha256_bytes(got) == digest

    # Multipart uploads are writes too.
    big = tmp_path / "big.bin"
    big_digest = make_random_file(big, 11 * MiB)
    s3cmd("put", "--multipart-chunk-size-mb=5", str(big), f"s3://{bucket}/{key}.big")
    got = setup.owner.s3().get_object(Bucket=bucket, Key=f"{key}.big")["Body"].read()
    assert sha256_bytes(got) == big_digest

    # Reading, listing and deleting are refused.
    _refused(s3cmd("get", f"s3://{bucket}/{key}", str(tmp_path / "back.bin"), check=False),
             HEAD_403)
    _refused(s3cmd("get", f"s3://{bucket}/{KNOWN_KEY}", str(tmp_path / "known.bin"),
                   check=False), HEAD_403)
    assert not (tmp_path / "back.bin").exists() and not (tmp_path / "known.bin").exists()
    _refused(s3cmd("ls", f"s3://{bucket}", check=False))
    _refused(s3cmd("ls", check=False))
    _refused(s3cmd("del", f"s3://{bucket}/{key}", check=False))
    assert key in _owner_keys(setup)
    setup.owner.s3().delete_objects(Bucket=bucket, Delete={"Objects": [
        {"Key": key}, {"Key": f"{key}.big"}]})


def test_s3cmd_other_project(coffer, setup, sigv2, tmp_path):
    s3cmd = _s3cmd(coffer, tmp_path, setup.outsider, sigv2)
    bucket = setup.bucket

    _refused(s3cmd("ls", f"s3://{bucket}", check=False))
    _refused(s3cmd("get", f"s3://{bucket}/hello.txt", str(tmp_path / "x"), check=False),
             HEAD_403)
    src = tmp_path / "intrusion.txt"
    src.write_text("not yours")
    _refused(s3cmd("put", str(src), f"s3://{bucket}/intrusion.txt", check=False))
    assert "intrusion.txt" not in _owner_keys(setup)

    # Listing the buckets shows only the project's own.
    listing = s3cmd("ls").stdout_text
    names = [line.split("s3://", 1)[1].rstrip("/") for line in listing.splitlines()
             if "s3://" in line]
    assert names == [setup.outsider_bucket], listing


def test_s3cmd_signurl_follows_the_signers_policy(coffer, setup, sigv2, tmp_path):
    """A presigned URL carries the rights of the key that signed it."""
    url = _s3cmd(coffer, tmp_path, setup.reader, sigv2)(
        "signurl", f"s3://{setup.bucket}/hello.txt", "+600").stdout_text.strip()
    status, _, body = http_request(url)
    assert (status, body) == (200, b"hello\n"), (url, status, body[:300])
    url = _s3cmd(coffer, tmp_path, setup.writer, sigv2)(
        "signurl", f"s3://{setup.bucket}/hello.txt", "+600").stdout_text.strip()
    status, _, body = http_request(url)
    assert status == 403 and b"<Code>AccessDenied</Code>" in body, (url, status, body[:300])


def test_bucket_policy_and_canned_acl_open_a_bucket(coffer, setup, sigv2, tmp_path):
    """The owner grants (aws CLI put-bucket-policy, s3cmd --acl-public); the
    outsider's s3cmd and anonymous HTTP get exactly what was granted."""
    binary = require_tool("/usr/bin/aws", "Debian package awscli (aws CLI v2)")
    owner_aws = aws_cli(coffer, binary, tmp_path / "aws-owner", global_args=("--no-cli-pager",),
                        access_key=setup.owner.access_key, secret_key=setup.owner.secret_key)
    owner = _s3cmd(coffer, tmp_path, setup.owner, sigv2)
    outsider = _s3cmd(coffer, tmp_path, setup.outsider, sigv2)
    bucket = unique_bucket("granted")
    owner("mb", f"s3://{bucket}")
    try:
        for key in ("shared/s.txt", "private/p.txt", "public/pub.txt"):
            src = tmp_path / "obj.txt"
            src.write_text(key)
            owner("put", str(src), f"s3://{bucket}/{key}")
        policy = {"Version": "2012-10-17", "Statement": [
            {"Sid": "OutsiderReadsShared", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{setup.outsider.project}:root"},
             "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/shared/*"},
            {"Sid": "OutsiderLists", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{setup.outsider.project}:root"},
             "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"},
            {"Sid": "PublicReadsPublic", "Effect": "Allow", "Principal": "*",
             "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/public/*"}]}
        owner_aws("s3api", "put-bucket-policy", "--bucket", bucket, "--policy", json.dumps(policy))
        got = owner_aws.json("s3api", "get-bucket-policy", "--bucket", bucket)
        assert json.loads(got["Policy"]) == policy, got

        listing = outsider("ls", "--recursive", f"s3://{bucket}").stdout_text
        assert sorted(ln.split(f"s3://{bucket}/", 1)[1] for ln in listing.splitlines()
                      if "s3://" in ln) == ["private/p.txt", "public/pub.txt", "shared/s.txt"]
        outsider("get", f"s3://{bucket}/shared/s.txt", str(tmp_path / "s.txt"))
        assert (tmp_path / "s.txt").read_text() == "shared/s.txt"
        _refused(outsider("get", f"s3://{bucket}/private/p.txt", str(tmp_path / "p.txt"),
                          check=False), HEAD_403)
        src = tmp_path / "intrusion.txt"
        src.write_text("x")
        _refused(outsider("put", str(src), f"s3://{bucket}/shared/intrusion.txt", check=False))
        # The outsider may not read or change the policy itself.
        _refused(outsider("delpolicy", f"s3://{bucket}", check=False))

        base = f"{coffer.endpoint}/{bucket}"
        assert http_request(f"{base}/public/pub.txt")[::2] == (200, b"public/pub.txt")
        assert http_request(f"{base}/shared/s.txt")[0] == 403
        assert http_request(f"{base}?list-type=2")[0] == 403

        # New buckets have ACLs disabled (BucketOwnerEnforced, as on S3):
        # the owner turns them on, then a canned ACL opens one object to everybody.
        refused = owner("setacl", "--acl-public", f"s3://{bucket}/private/p.txt", check=False)
        assert refused.returncode != 0, refused.stdout_text
        assert http_request(f"{base}/private/p.txt")[0] == 403
        owner_aws("s3api", "put-bucket-ownership-controls", "--bucket", bucket,
                  "--ownership-controls", "Rules=[{ObjectOwnership=BucketOwnerPreferred}]")
        owner("setacl", "--acl-public", f"s3://{bucket}/private/p.txt")
        assert http_request(f"{base}/private/p.txt")[::2] == (200, b"private/p.txt")
        owner("setacl", "--acl-private", f"s3://{bucket}/private/p.txt")
        assert http_request(f"{base}/private/p.txt")[0] == 403

        # Without the policy, the grants are gone at once.
        owner_aws("s3api", "delete-bucket-policy", "--bucket", bucket)
        _refused(outsider("get", f"s3://{bucket}/shared/s.txt", str(tmp_path / "s2.txt"),
                          check=False), HEAD_403)
        _refused(outsider("ls", f"s3://{bucket}", check=False))
        assert http_request(f"{base}/public/pub.txt")[0] == 403
    finally:
        owner("del", "--recursive", "--force", f"s3://{bucket}", check=False)
        owner("rb", f"s3://{bucket}", check=False)


# ---------------------------------------------------------------------------
# rclone
# ---------------------------------------------------------------------------


def _rclone(coffer, tmp_path, key: Key):
    return rclone_runner(coffer, tmp_path / f"rclone-{key.access_key}",
                         access_key=key.access_key, secret_key=key.secret_key)


def test_rclone_read_object_only(coffer, setup, tmp_path):
    rclone = _rclone(coffer, tmp_path, setup.reader)
    bucket = setup.bucket

    dst = tmp_path / "known.bin"
    rclone("copyto", f"coffer:{bucket}/{KNOWN_KEY}", str(dst))
    assert sha256_file(dst) == sha256_bytes(setup.known)
    # `rclone cat` lists the object's directory to find it, unless told to
    # look the object up by name (--no-traverse).
    cat = rclone("cat", "--no-traverse", f"coffer:{bucket}/{KNOWN_KEY}")
    assert sha256_bytes(cat.stdout) == sha256_bytes(setup.known)

    # Uploads are refused: through a plain copy (which first looks at the
    # destination), and as a bare PUT with every pre-check turned off.
    src_dir = tmp_path / "up"
    make_random_file(src_dir / "new.bin", 5000)
    _refused(rclone("copy", str(src_dir), f"coffer:{bucket}/up", check=False))
    _refused(rclone("copyto", "--no-check-dest", "--s3-no-check-bucket",
                    str(src_dir / "new.bin"), f"coffer:{bucket}/up/new.bin", check=False))
    assert not [k for k in _owner_keys(setup) if k.startswith("up/")]

    # No listing: not the bucket, not the buckets.
    _refused(rclone("ls", f"coffer:{bucket}", check=False))
    _refused(rclone("lsd", "coffer:", check=False))
