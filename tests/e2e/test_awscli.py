"""aws CLI v2 (Debian's /usr/bin/aws, package awscli 2.9) against coffer.

The pip-installed aws CLI v1 may come first in PATH, so the binary is
called by its absolute path and its version is checked. aws-cli 2.9 predates
the flexible-checksum defaults, so it sends neither checksum headers nor
aws-chunked trailers; over HTTP it signs the real payload sha256.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path

import pytest

from coffer_e2e import (
    MiB,
    aws_cli,
    http_request,
    make_random_file,
    require_tool,
    run,
    sha256_bytes,
    sha256_file,
    tree_digests,
    unique_bucket,
)

AWS = "/usr/bin/aws"
CHUNK_MB = 8


@pytest.fixture(scope="module")
def aws(coffer, tmp_path_factory):
    """Returns a function running `/usr/bin/aws ARGS` against the server."""
    binary = require_tool(AWS, "Debian package awscli (aws CLI v2)")
    return aws_cli(coffer, binary, tmp_path_factory.mktemp("awscli"),
                   chunk_mb=CHUNK_MB, global_args=("--no-cli-pager",))


@pytest.fixture
def cli_bucket(aws):
    name = unique_bucket("cli")
    aws("s3", "mb", f"s3://{name}")
    yield name
    aws("s3", "rb", f"s3://{name}", "--force", check=False)


def test_version_is_v2(aws):
    out = run([aws.binary, "--version"], env=aws.env)
    text = out.stdout_text + out.stderr_text
    assert text.startswith("aws-cli/2."), text


def test_mb_ls_rb(aws):
    name = unique_bucket("cli-mb")
    out = aws("s3", "mb", f"s3://{name}").stdout_text
    assert f"make_bucket: {name}" in out
    listing = aws("s3", "ls").stdout_text
    assert any(line.split()[-1] == name for line in listing.splitlines()), listing
    buckets = aws.json("s3api", "list-buckets")["Buckets"]
    assert name in [b["Name"] for b in buckets]
    aws.json("s3api", "head-bucket", "--bucket", name)

    # rb refuses a non-empty bucket, --force empties it first.
    aws("s3api", "put-object", "--bucket", name, "--key", "x")
    failed = aws("s3", "rb", f"s3://{name}", check=False)
    assert failed.returncode != 0
    assert "BucketNotEmpty" in failed.stderr_text, failed.stderr_text
    out = aws("s3", "rb", f"s3://{name}", "--force").stdout_text
    assert f"remove_bucket: {name}" in out
    listing = aws("s3", "ls").stdout_text
    assert name not in listing
    gone = aws("s3api", "head-bucket", "--bucket", name, check=False)
    assert gone.returncode != 0 and "404" in gone.stderr_text


def test_cp_small_roundtrip(aws, cli_bucket, tmp_path):
    src = tmp_path / "small file.txt"
    digest = make_random_file(src, 12_345)
    aws("s3", "cp", str(src), f"s3://{cli_bucket}/docs/small file.txt")
    out = aws("s3", "ls", f"s3://{cli_bucket}/docs/").stdout_text
    assert "12345 small file.txt" in out, out
    dst = tmp_path / "back.txt"
    aws("s3", "cp", f"s3://{cli_bucket}/docs/small file.txt", str(dst))
    assert sha256_file(dst) == digest

    # stdin/stdout streaming (`s3 cp -`).
    run([aws.binary, "--endpoint-url", aws.endpoint, "s3", "cp", "-",
         f"s3://{cli_bucket}/streamed"], env=aws.env,
        input_bytes=b"from stdin\n" * 1000)
    back = run([aws.binary, "--endpoint-url", aws.endpoint, "s3", "cp",
                f"s3://{cli_bucket}/streamed", "-"], env=aws.env)
    assert back.stdout == b"from stdin\n" * 1000


def test_cp_multipart_30mb(aws, cli_bucket, tmp_path):
    size = 30 * MiB
    src = tmp_path / "big.bin"
    digest = make_random_file(src, size)
    aws("s3", "cp", str(src), f"s3://{cli_bucket}/big/30mb.bin")

    head = aws.json("s3api", "head-object", "--bucket", cli_bucket, "--key", "big/30mb.bin")
    assert head["ContentLength"] == size
    parts = math.ceil(size / (CHUNK_MB * MiB))
    assert head["ETag"].endswith(f'-{parts}"'), head["ETag"]

    dst = tmp_path / "big.out"
    aws("s3", "cp", f"s3://{cli_bucket}/big/30mb.bin", str(dst))
    assert sha256_file(dst) == digest

    # Server-side copy of a multipart object through `s3 cp` (CopyObject;
    # the CLI switches to UploadPartCopy above its multipart threshold).
    aws("s3", "cp", f"s3://{cli_bucket}/big/30mb.bin", f"s3://{cli_bucket}/big/copy.bin")
    dst2 = tmp_path / "copy.out"
    aws("s3", "cp", f"s3://{cli_bucket}/big/copy.bin", str(dst2))
    assert sha256_file(dst2) == digest


def _make_tree(root: Path) -> dict[str, str]:
    files = {
        "a.txt": 10,
        "empty.bin": 0,
        "with space/file one.txt": 2000,
        "nested/deeper/deepest/x.bin": 70_000,
        "nested/deeper/y.bin": 1,
        "nested/z.json": 300,
        "unicodé/naïve.txt": 42,
    }
    for i in range(25):
        files[f"many/f{i:02d}.dat"] = 100 + i
    for rel, size in files.items():
        make_random_file(root / rel, size)
    return tree_digests(root)


def test_sync_nested_and_rm_recursive(aws, cli_bucket, tmp_path):
    src = tmp_path / "src"
    digests = _make_tree(src)
    out = aws("s3", "sync", str(src), f"s3://{cli_bucket}/tree").stdout_text
    assert out.count("upload:") == len(digests), out

    listing = aws("s3", "ls", "--recursive", f"s3://{cli_bucket}/tree/").stdout_text
    listed = sorted(line.split(None, 3)[3][len("tree/"):] for line in listing.splitlines() if line.strip())
    assert listed == sorted(digests)

    # A second sync uploads nothing.
    out = aws("s3", "sync", str(src), f"s3://{cli_bucket}/tree").stdout_text
    assert "upload:" not in out, out

    # Change one file (size changes): exactly that one is uploaded.
    make_random_file(src / "nested/z.json", 301)
    out = aws("s3", "sync", str(src), f"s3://{cli_bucket}/tree").stdout_text
    assert out.count("upload:") == 1 and "nested/z.json" in out, out
    digests = tree_digests(src)

    # Sync down and compare the whole tree.
    dst = tmp_path / "dst"
    aws("s3", "sync", f"s3://{cli_bucket}/tree", str(dst))
    assert tree_digests(dst) == digests

    # --delete removes remote files that are gone locally.
    (src / "a.txt").unlink()
    out = aws("s3", "sync", "--delete", str(src), f"s3://{cli_bucket}/tree").stdout_text
    assert "delete: s3://" in out and "tree/a.txt" in out, out
    gone = aws("s3api", "head-object", "--bucket", cli_bucket, "--key", "tree/a.txt", check=False)
    assert gone.returncode != 0

    # rm --recursive of part of the tree, then all of it.
    aws("s3", "rm", "--recursive", f"s3://{cli_bucket}/tree/nested")
    left = aws.json("s3api", "list-objects-v2", "--bucket", cli_bucket, "--prefix", "tree/")
    keys = [o["Key"] for o in left.get("Contents", [])]
    assert keys and not any(k.startswith("tree/nested/") for k in keys)
    out = aws("s3", "rm", "--recursive", f"s3://{cli_bucket}/tree/").stdout_text
    assert out.count("delete:") == len(keys)
    left = aws.json("s3api", "list-objects-v2", "--bucket", cli_bucket, "--prefix", "tree/")
    assert not left.get("Contents")
    shutil.rmtree(dst)


def test_s3api_put_head_get_range(aws, cli_bucket, tmp_path):
    body_path = tmp_path / "body.bin"
    make_random_file(body_path, 5000)
    body = body_path.read_bytes()
    put = aws.json("s3api", "put-object", "--bucket", cli_bucket, "--key", "api/obj",
                   "--body", str(body_path), "--content-type", "text/x-coffer",
                   "--metadata", "owner=test,purpose=e2e")
    assert put["ETag"].strip('"')

    head = aws.json("s3api", "head-object", "--bucket", cli_bucket, "--key", "api/obj")
    assert head["ContentLength"] == 5000
    assert head["ContentType"] == "text/x-coffer"
    assert head["Metadata"] == {"owner": "test", "purpose": "e2e"}
    assert head["ETag"] == put["ETag"]

    out = tmp_path / "range.out"
    got = aws.json("s3api", "get-object", "--bucket", cli_bucket, "--key", "api/obj",
                   "--range", "bytes=100-1099", str(out))
    assert got["ContentRange"] == "bytes 100-1099/5000"
    assert got["ContentLength"] == 1000
    assert out.read_bytes() == body[100:1100]

    full = tmp_path / "full.out"
    aws.json("s3api", "get-object", "--bucket", cli_bucket, "--key", "api/obj", str(full))
    assert sha256_file(full) == sha256_bytes(body)

    missing = aws("s3api", "get-object", "--bucket", cli_bucket, "--key", "api/missing",
                  str(tmp_path / "m"), check=False)
    assert missing.returncode != 0 and "NoSuchKey" in missing.stderr_text


def test_list_objects_v2_prefix_delimiter(aws, cli_bucket):
    keys = ["photos/2023/a.jpg", "photos/2023/b.jpg", "photos/2024/c.jpg",
            "photos/top.jpg", "docs/readme.md", "root.txt"]
    for k in keys:
        aws("s3api", "put-object", "--bucket", cli_bucket, "--key", k)
    r = aws.json("s3api", "list-objects-v2", "--bucket", cli_bucket,
                 "--prefix", "photos/", "--delimiter", "/")
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["photos/2023/", "photos/2024/"]
    assert [o["Key"] for o in r["Contents"]] == ["photos/top.jpg"]

    r = aws.json("s3api", "list-objects-v2", "--bucket", cli_bucket, "--delimiter", "/")
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["docs/", "photos/"]
    assert [o["Key"] for o in r["Contents"]] == ["root.txt"]

    # The CLI paginates by itself with --page-size.
    r = aws.json("s3api", "list-objects-v2", "--bucket", cli_bucket, "--page-size", "2")
    assert [o["Key"] for o in r["Contents"]] == sorted(keys)

    # `s3 ls` shows prefixes as PRE.
    out = aws("s3", "ls", f"s3://{cli_bucket}/photos/").stdout_text
    assert "PRE 2023/" in out and "PRE 2024/" in out and "top.jpg" in out, out


def test_delete_objects(aws, cli_bucket):
    for i in range(5):
        aws("s3api", "put-object", "--bucket", cli_bucket, "--key", f"d/{i}")
    spec = json.dumps({"Objects": [{"Key": f"d/{i}"} for i in range(4)], "Quiet": False})
    r = aws.json("s3api", "delete-objects", "--bucket", cli_bucket, "--delete", spec)
    assert sorted(d["Key"] for d in r["Deleted"]) == [f"d/{i}" for i in range(4)]
    assert not r.get("Errors")
    r = aws.json("s3api", "list-objects-v2", "--bucket", cli_bucket, "--prefix", "d/")
    assert [o["Key"] for o in r["Contents"]] == ["d/4"]


def test_copy_object(aws, cli_bucket, tmp_path):
    src = tmp_path / "src.bin"
    digest = make_random_file(src, 123_456)
    aws("s3", "cp", str(src), f"s3://{cli_bucket}/orig/src.bin")
    r = aws.json("s3api", "copy-object", "--bucket", cli_bucket, "--key", "copies/dst.bin",
                 "--copy-source", f"{cli_bucket}/orig/src.bin")
    assert r["CopyObjectResult"]["ETag"]
    dst = tmp_path / "dst.bin"
    aws("s3", "cp", f"s3://{cli_bucket}/copies/dst.bin", str(dst))
    assert sha256_file(dst) == digest

    # `s3 mv` = copy + delete.
    aws("s3", "mv", f"s3://{cli_bucket}/copies/dst.bin", f"s3://{cli_bucket}/moved/dst.bin")
    r = aws.json("s3api", "list-objects-v2", "--bucket", cli_bucket)
    keys = [o["Key"] for o in r["Contents"]]
    assert "moved/dst.bin" in keys and "copies/dst.bin" not in keys


def test_presign(aws, cli_bucket, tmp_path):
    src = tmp_path / "p.bin"
    make_random_file(src, 77_777)
    aws("s3", "cp", str(src), f"s3://{cli_bucket}/pre/signed file.bin")
    url = aws("s3", "presign", f"s3://{cli_bucket}/pre/signed file.bin",
              "--expires-in", "300").stdout_text.strip()
    assert url.startswith(aws.endpoint + f"/{cli_bucket}/"), url
    status, _, body = http_request(url)
    assert status == 200
    assert body == src.read_bytes()


def test_zero_byte_upload_then_connection_reuse(aws, cli_bucket, tmp_path):
    """An empty file followed by more uploads on the same connection.

    aws-cli 2.9 (its bundled botocore) sends `Expect: 100-continue` even for
    a zero-length PutObject. If the server answers that request with its
    final response straight away (no interim 100, legal HTTP), this botocore
    keeps the parsed status line on the pooled connection and applies it to
    the *next* response on that connection: the next response's status line
    is then parsed as a header ("Failed to parse headers ...
    MissingHeaderBodySeparatorDefect"), the client reads the body until the
    server closes the idle connection (a long stall), and the upload is
    reported as done with no ETag. Newer botocore does not do this, but
    Debian 12's aws CLI does, so the server has to avoid it (e.g. send
    `100 Continue` anyway, or `Connection: close`, on such responses).
    """
    src = tmp_path / "batch"
    make_random_file(src / "0-empty.bin", 0)
    for i in range(1, 6):
        make_random_file(src / f"{i}-data.bin", 1000 * i)
    config = tmp_path / "serial-config"
    config.write_text("[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n"
                      "    max_concurrent_requests = 1\n")
    t0 = time.monotonic()
    out = aws("--debug", "s3", "cp", "--recursive", str(src), f"s3://{cli_bucket}/batch/",
              env_extra={"AWS_CONFIG_FILE": str(config)})
    elapsed = time.monotonic() - t0
    bad = [ln for ln in out.stderr_text.splitlines() if "Failed to parse headers" in ln]
    assert not bad, "client mis-parsed a response after the empty upload:\n" + "\n".join(bad)[:2000]
    assert elapsed < 15, f"6 small uploads took {elapsed:.1f}s"
    r = aws.json("s3api", "list-objects-v2", "--bucket", cli_bucket, "--prefix", "batch/")
    assert sorted(o["Key"] for o in r["Contents"]) == sorted(f"batch/{p.name}" for p in src.iterdir())
