"""aws CLI v1 (`awscli` from PyPI) against coffer.

awscli v1 pins an exact botocore, which rarely matches the one the newest
boto3 wants, so scripts/install-test-deps puts it in a venv of its own,
tests/e2e/.venv-awscli1, and these tests call its `aws` by absolute path.
Its botocore is recent (flexible checksums: CRC32 on every upload, sent as
a header over plain HTTP). The CLI is driven exactly like the v2 one in
test_awscli.py (coffer_e2e.aws_cli).
"""

from __future__ import annotations

import json
import math
import re

import pytest

from coffer_e2e import (
    REPO_ROOT,
    MiB,
    aws_cli,
    http_request,
    make_random_file,
    require_tool,
    run,
    sha256_file,
    tree_digests,
    unique_bucket,
)

AWS_V1 = str(REPO_ROOT / "tests" / "e2e" / ".venv-awscli1" / "bin" / "aws")
CHUNK_MB = 8


@pytest.fixture(scope="module")
def aws(coffer, tmp_path_factory):
    """Returns a function running the v1 `aws ARGS` against the server."""
    binary = require_tool(AWS_V1, "aws CLI v1 in its own venv: run scripts/install-test-deps")
    return aws_cli(coffer, binary, tmp_path_factory.mktemp("awscli1"), chunk_mb=CHUNK_MB)


@pytest.fixture
def cli_bucket(aws):
    name = unique_bucket("cli1")
    aws("s3", "mb", f"s3://{name}")
    yield name
    aws("s3", "rb", f"s3://{name}", "--force", check=False)


def test_version_is_v1(aws):
    out = run([aws.binary, "--version"], env=aws.env)
    text = out.stdout_text + out.stderr_text
    assert text.startswith("aws-cli/1."), text


def test_mb_cp_ls_rm_rb(aws, tmp_path):
    name = unique_bucket("cli1-mb")
    assert f"make_bucket: {name}" in aws("s3", "mb", f"s3://{name}").stdout_text
    listing = aws("s3", "ls").stdout_text
    assert any(line.split()[-1] == name for line in listing.splitlines()), listing

    src = tmp_path / "a file ü.txt"
    digest = make_random_file(src, 54_321)
    aws("s3", "cp", str(src), f"s3://{name}/dir/a file ü.txt")
    out = aws("s3", "ls", f"s3://{name}/dir/").stdout_text
    assert "54321 a file ü.txt" in out, out
    back = tmp_path / "back"
    aws("s3", "cp", f"s3://{name}/dir/a file ü.txt", str(back))
    assert sha256_file(back) == digest

    failed = aws("s3", "rb", f"s3://{name}", check=False)
    assert failed.returncode != 0 and "BucketNotEmpty" in failed.stderr_text, failed.stderr_text
    out = aws("s3", "rm", f"s3://{name}/dir/a file ü.txt").stdout_text
    assert out.startswith("delete: s3://"), out
    assert f"remove_bucket: {name}" in aws("s3", "rb", f"s3://{name}").stdout_text
    gone = aws("s3api", "head-bucket", "--bucket", name, check=False)
    assert gone.returncode != 0 and "404" in gone.stderr_text


def test_sync_up_down_delete(aws, cli_bucket, tmp_path):
    src = tmp_path / "src"
    for i in range(30):
        make_random_file(src / f"d{i % 3}" / f"f {i:02d}.bin", 100 * i)
    make_random_file(src / "größe" / "naïve.txt", 42)
    digests = tree_digests(src)

    out = aws("s3", "sync", str(src), f"s3://{cli_bucket}/t").stdout_text
    assert out.count("upload:") == len(digests), out
    assert "upload:" not in aws("s3", "sync", str(src), f"s3://{cli_bucket}/t").stdout_text

    dst = tmp_path / "dst"
    aws("s3", "sync", f"s3://{cli_bucket}/t", str(dst))
    assert tree_digests(dst) == digests

    (src / "d0" / "f 00.bin").unlink()
    out = aws("s3", "sync", "--delete", str(src), f"s3://{cli_bucket}/t").stdout_text
    assert out.count("delete:") == 1 and "t/d0/f 00.bin" in out, out
    out = aws("s3", "rm", "--recursive", f"s3://{cli_bucket}/t/").stdout_text
    assert out.count("delete:") == len(digests) - 1, out
    assert "Contents" not in aws.json("s3api", "list-objects-v2", "--bucket", cli_bucket)


def test_s3api_objects(aws, cli_bucket, tmp_path):
    body = tmp_path / "body.bin"
    digest = make_random_file(body, 5000)
    put = aws.json("s3api", "put-object", "--bucket", cli_bucket, "--key", "api/obj",
                   "--body", str(body), "--content-type", "text/x-coffer",
                   "--metadata", "owner=test,purpose=e2e")
    head = aws.json("s3api", "head-object", "--bucket", cli_bucket, "--key", "api/obj")
    assert head["ContentLength"] == 5000
    assert head["ContentType"] == "text/x-coffer"
    assert head["Metadata"] == {"owner": "test", "purpose": "e2e"}
    assert head["ETag"] == put["ETag"]

    out = tmp_path / "got.bin"
    got = aws.json("s3api", "get-object", "--bucket", cli_bucket, "--key", "api/obj", str(out))
    assert got["ContentLength"] == 5000 and got["ETag"] == put["ETag"]
    assert sha256_file(out) == digest
    part = tmp_path / "part.bin"
    got = aws.json("s3api", "get-object", "--bucket", cli_bucket, "--key", "api/obj",
                   "--range", "bytes=10-19", str(part))
    assert got["ContentRange"] == "bytes 10-19/5000"
    assert part.read_bytes() == body.read_bytes()[10:20]

    for k in ("api/a", "api/b/c", "api/b/d", "other"):
        aws("s3api", "put-object", "--bucket", cli_bucket, "--key", k)
    r = aws.json("s3api", "list-objects-v2", "--bucket", cli_bucket,
                 "--prefix", "api/", "--delimiter", "/")
    assert [o["Key"] for o in r["Contents"]] == ["api/a", "api/obj"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["api/b/"]
    r = aws.json("s3api", "list-objects-v2", "--bucket", cli_bucket, "--page-size", "2")
    assert [o["Key"] for o in r["Contents"]] == ["api/a", "api/b/c", "api/b/d", "api/obj", "other"]

    spec = json.dumps({"Objects": [{"Key": k} for k in ("api/a", "api/b/c", "api/obj")]})
    r = aws.json("s3api", "delete-objects", "--bucket", cli_bucket, "--delete", spec)
    assert sorted(d["Key"] for d in r["Deleted"]) == ["api/a", "api/b/c", "api/obj"]
    assert not r.get("Errors")
    r = aws.json("s3api", "list-objects-v2", "--bucket", cli_bucket)
    assert [o["Key"] for o in r["Contents"]] == ["api/b/d", "other"]


def test_100mb_multipart_and_server_side_copy(aws, cli_bucket, tmp_path):
    size = 100 * MiB
    parts = math.ceil(size / (CHUNK_MB * MiB))
    src = tmp_path / "big.bin"
    digest = make_random_file(src, size)
    aws("s3", "cp", str(src), f"s3://{cli_bucket}/big")
    head = aws.json("s3api", "head-object", "--bucket", cli_bucket, "--key", "big")
    assert head["ContentLength"] == size
    assert head["ETag"].endswith(f'-{parts}"'), head["ETag"]
    src.unlink()

    # Above the multipart threshold `s3 cp` copies with CreateMultipartUpload
    # + UploadPartCopy (byte ranges of the source), so the copy's ETag is a
    # multipart one too.
    out = aws("--debug", "s3", "cp", f"s3://{cli_bucket}/big", f"s3://{cli_bucket}/big-copy")
    ops = re.findall(r"OperationModel\(name=(\w+)\)", out.stderr_text)
    assert ops.count("UploadPartCopy") == parts, sorted(set(ops))
    assert "CopyObject" not in ops and "GetObject" not in ops, sorted(set(ops))
    head = aws.json("s3api", "head-object", "--bucket", cli_bucket, "--key", "big-copy")
    assert head["ContentLength"] == size
    assert head["ETag"].endswith(f'-{parts}"'), head["ETag"]

    dst = tmp_path / "copy.out"
    aws("s3", "cp", f"s3://{cli_bucket}/big-copy", str(dst))
    assert sha256_file(dst) == digest


def test_presign(aws, cli_bucket, tmp_path):
    src = tmp_path / "p.bin"
    make_random_file(src, 77_777)
    aws("s3", "cp", str(src), f"s3://{cli_bucket}/pre/signed + file.bin")
    url = aws("s3", "presign", f"s3://{cli_bucket}/pre/signed + file.bin",
              "--expires-in", "300").stdout_text.strip()
    assert url.startswith(f"{aws.endpoint}/{cli_bucket}/pre/"), url
    status, _, body = http_request(url)
    assert status == 200, body[:500]
    assert body == src.read_bytes()
    # The signature covers the key: another key with the same query fails.
    other = url.replace("signed%20%2B%20file.bin", "signed%20%2B%20file.bix")
    assert other != url, url
    status, _, body = http_request(other)
    assert status == 403 and b"SignatureDoesNotMatch" in body, (status, body[:500])
