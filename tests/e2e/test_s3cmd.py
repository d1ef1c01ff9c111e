"""s3cmd (2.4 from PyPI, else Debian's) against coffer, path-style.

Every test runs twice: with SigV4 (`signature_v2 = False`) and with the
legacy SigV2 (`signature_v2 = True`, HMAC-SHA1 `Authorization: AWS key:sig`).
Path-style addressing comes from `host_bucket` having no `%(bucket)s` in it.
"""

from __future__ import annotations

import subprocess
import urllib.parse

import pytest

from coffer_e2e import (
    MiB,
    make_random_file,
    md5_hex,
    multipart_etag,
    http_request,
    run,
    s3cmd_runner,
    sha256_file,
    tree_digests,
    unique_bucket,
)


@pytest.fixture(scope="module", params=[False, True], ids=["sigv4", "sigv2"])
def s3cmd(coffer, tmp_path_factory, request):
    sigv2 = request.param
    home = tmp_path_factory.mktemp("s3cmd-v2" if sigv2 else "s3cmd-v4")
    return s3cmd_runner(coffer, home, sigv2=sigv2)


def test_signature_version_in_use(s3cmd, cmd_bucket, tmp_path):
    """The SigV2 variant really signs with SigV2 (and SigV4 with SigV4)."""
    src = tmp_path / "sig.txt"
    src.write_text("sig")
    out = s3cmd("--debug", "put", str(src), f"s3://{cmd_bucket}/sig.txt")
    log = out.stdout_text + out.stderr_text
    if s3cmd.sigv2:
        # s3cmd's debug log names the scheme and prints the v2 string-to-sign.
        assert "DEBUG: Using signature v2" in log, log[-4000:]
        assert "DEBUG: SignHeaders: 'PUT\\n" in log, log[-4000:]
        assert "AWS4-HMAC-SHA256" not in log, log[-4000:]
    else:
        assert "AWS4-HMAC-SHA256" in log, log[-4000:]
        assert "Using signature v2" not in log, log[-4000:]


@pytest.fixture
def cmd_bucket(s3cmd):
    name = unique_bucket("s3cmd")
    s3cmd("mb", f"s3://{name}")
    yield name
    s3cmd("del", "--recursive", "--force", f"s3://{name}", check=False)
    s3cmd("rb", f"s3://{name}", check=False)


def test_version(s3cmd):
    out = run([s3cmd.binary, "--version"], env=s3cmd.env).stdout_text
    assert out.startswith("s3cmd version 2."), out


def test_mb_ls_rb(s3cmd):
    name = unique_bucket("s3cmd-mb")
    out = s3cmd("mb", f"s3://{name}").stdout_text
    assert f"Bucket 's3://{name}/' created" in out, out
    assert f"s3://{name}" in s3cmd("ls").stdout_text
    s3cmd("rb", f"s3://{name}")
    assert f"s3://{name}" not in s3cmd("ls").stdout_text


def test_put_get_files_with_spaces(s3cmd, cmd_bucket, tmp_path):
    files = {
        "plain.bin": 1000,
        "name with spaces.txt": 5000,
        "ünïcode name.dat": 300,
        "plus+sign&amp.bin": 64 * 1024,
        "odd #?&= chars+more.txt": 777,
        "ünï cødé + mix #1?.bin": 2048,
    }
    digests = {}
    for name, size in files.items():
        digests[name] = make_random_file(tmp_path / "up" / name, size)
        s3cmd("put", str(tmp_path / "up" / name), f"s3://{cmd_bucket}/files/{name}")

    listing = s3cmd("ls", f"s3://{cmd_bucket}/files/").stdout_text
    for name, size in files.items():
        line = next((ln for ln in listing.splitlines() if ln.endswith(f"/files/{name}")), None)
        assert line is not None, f"{name!r} missing from:\n{listing}"
        assert str(size) in line.split()

    for name in files:
        out = tmp_path / "down" / name
        out.parent.mkdir(exist_ok=True)
        s3cmd("get", "--force", f"s3://{cmd_bucket}/files/{name}", str(out))
        assert sha256_file(out) == digests[name], name

    # `la` lists objects of every bucket.
    la = s3cmd("la", "--recursive").stdout_text
    assert f"s3://{cmd_bucket}/files/name with spaces.txt" in la, la


def test_info_and_du(s3cmd, cmd_bucket, tmp_path):
    # `s3cmd info` also asks for the bucket policy, CORS and the object's ACL
    # (GET ?policy, ?cors, ?acl) and accepts 404 or 501 for those; any
    # other answer (e.g. a listing or the object body, if the server ignored
    # the sub-resource) makes it fail.
    src = tmp_path / "info.txt"
    src.write_bytes(b"hello info\n" * 100)
    s3cmd("put", "--mime-type=text/plain", str(src), f"s3://{cmd_bucket}/info.txt")
    out = s3cmd("info", f"s3://{cmd_bucket}/info.txt").stdout_text
    assert "File size: 1100" in out, out
    assert "MIME type: text/plain" in out, out
    assert f"MD5 sum:   {md5_hex(src.read_bytes())}" in out, out

    make_random_file(tmp_path / "more.bin", 4000)
    s3cmd("put", str(tmp_path / "more.bin"), f"s3://{cmd_bucket}/more.bin")
    du = s3cmd("du", f"s3://{cmd_bucket}").stdout_text
    fields = du.split()
    assert fields[0] == "5100" and fields[1] == "2", du


def test_del(s3cmd, cmd_bucket, tmp_path):
    src = tmp_path / "gone.txt"
    src.write_text("bye")
    s3cmd("put", str(src), f"s3://{cmd_bucket}/gone.txt")
    out = s3cmd("del", f"s3://{cmd_bucket}/gone.txt").stdout_text
    assert "delete: 's3://" in out, out
    assert "gone.txt" not in s3cmd("ls", f"s3://{cmd_bucket}/").stdout_text
    missing = s3cmd("get", f"s3://{cmd_bucket}/gone.txt", str(tmp_path / "x"), check=False)
    assert missing.returncode != 0


def test_sync_directory(s3cmd, cmd_bucket, tmp_path):
    src = tmp_path / "tree"
    for rel, size in {
        "top.txt": 100,
        "a/b/c/deep.bin": 20_000,
        "a/sibling file.txt": 10,
        "empty.dat": 0,
        **{f"bulk/{i:03d}.bin": 500 + i for i in range(30)},
    }.items():
        make_random_file(src / rel, size)
    digests = tree_digests(src)

    s3cmd("sync", f"{src}/", f"s3://{cmd_bucket}/mirror/")
    listing = s3cmd("ls", "--recursive", f"s3://{cmd_bucket}/mirror/").stdout_text
    remote = sorted(ln.split(f"s3://{cmd_bucket}/mirror/", 1)[1]
                    for ln in listing.splitlines() if "s3://" in ln)
    assert remote == sorted(digests)

    # Nothing to do on a second sync (s3cmd compares size and md5/ETag).
    out = s3cmd("sync", f"{src}/", f"s3://{cmd_bucket}/mirror/").stdout_text
    assert "upload:" not in out, out

    # A changed file and a deleted file.
    make_random_file(src / "top.txt", 100)
    (src / "a/sibling file.txt").unlink()
    out = s3cmd("sync", "--delete-removed", f"{src}/", f"s3://{cmd_bucket}/mirror/").stdout_text
    assert out.count("upload:") == 1 and "top.txt" in out, out
    assert "delete:" in out and "sibling file.txt" in out, out
    digests = tree_digests(src)

    dst = tmp_path / "back"
    dst.mkdir()
    s3cmd("sync", f"s3://{cmd_bucket}/mirror/", f"{dst}/")
    assert tree_digests(dst) == digests


def test_multipart_put_20mb(s3cmd, cmd_bucket, tmp_path):
    src = tmp_path / "big.bin"
    digest = make_random_file(src, 20 * MiB + 999)
    s3cmd("put", "--multipart-chunk-size-mb=5", str(src), f"s3://{cmd_bucket}/big.bin")

    info = s3cmd("info", f"s3://{cmd_bucket}/big.bin").stdout_text
    assert f"File size: {20 * MiB + 999}" in info, info

    dst = tmp_path / "big.out"
    s3cmd("get", f"s3://{cmd_bucket}/big.bin", str(dst))
    assert sha256_file(dst) == digest

    data = src.read_bytes()
    parts = [data[i:i + 5 * MiB] for i in range(0, len(data), 5 * MiB)]
    # `ls -l` shows the ETag as listed: the multipart form md5-of-md5s-N.
    ls = s3cmd("ls", "-l", f"s3://{cmd_bucket}/big.bin").stdout_text
    assert multipart_etag(parts).strip('"') in ls, ls
    # `--list-md5` reads the whole-file md5 that s3cmd stored in the
    # x-amz-meta-s3cmd-attrs metadata of the multipart upload.
    ls = s3cmd("ls", "--list-md5", f"s3://{cmd_bucket}/big.bin").stdout_text
    assert md5_hex(data) in ls, ls


def test_copy_and_move(s3cmd, cmd_bucket, tmp_path):
    src = tmp_path / "orig.bin"
    digest = make_random_file(src, 10_000)
    s3cmd("put", str(src), f"s3://{cmd_bucket}/orig.bin")
    s3cmd("cp", f"s3://{cmd_bucket}/orig.bin", f"s3://{cmd_bucket}/copy.bin")
    s3cmd("mv", f"s3://{cmd_bucket}/copy.bin", f"s3://{cmd_bucket}/moved.bin")
    listing = s3cmd("ls", f"s3://{cmd_bucket}/").stdout_text
    assert "moved.bin" in listing and "copy.bin" not in listing, listing
    s3cmd("get", f"s3://{cmd_bucket}/moved.bin", str(tmp_path / "moved.bin"))
    assert sha256_file(tmp_path / "moved.bin") == digest



def test_signurl_fetched_with_curl(s3cmd, cmd_bucket, tmp_path):
    # `s3cmd signurl` makes a SigV2 query-string presigned URL
    # (AWSAccessKeyId, Expires, Signature) whatever signature_v2 says.
    for key in ("signed.bin", "signed name + ünï #?&=.bin"):
        src = tmp_path / "signed.bin"
        digest = make_random_file(src, 100_000)
        s3cmd("put", str(src), f"s3://{cmd_bucket}/{key}")
        url = s3cmd("signurl", f"s3://{cmd_bucket}/{key}", "+600").stdout_text.strip()
        assert url.startswith("http://"), url
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        assert "Signature" in query and "Expires" in query, url
        # Fetched the way users share such links: with curl, the URL as printed.
        out = tmp_path / "fetched.bin"
        code = subprocess.run(["curl", "--silent", "--show-error", "--globoff", "--output", str(out),
                               "--write-out", "%{http_code}", url],
                              capture_output=True, text=True, timeout=60, check=True).stdout
        assert code == "200", (url, out.read_bytes()[:500])
        assert sha256_file(out) == digest

        # A tampered signature must be refused.
        bad = url.replace("Signature=", "Signature=AAAA", 1)
        status, _, body = http_request(bad)
        assert status == 403, (bad, status, body[:500])
