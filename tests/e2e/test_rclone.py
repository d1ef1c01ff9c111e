"""rclone (Debian package) against coffer.

The remote `coffer:` is configured purely through RCLONE_CONFIG_COFFER_*
environment variables (provider Other, path-style), with an empty config
file so that nothing on the machine leaks in.
"""

from __future__ import annotations

import random

import pytest

from coffer_e2e import (
    MiB,
    make_random_file,
    rclone_runner,
    run,
    sha256_file,
    tree_digests,
    unique_bucket,
)


@pytest.fixture(scope="module")
def rclone(coffer, tmp_path_factory):
    return rclone_runner(coffer, tmp_path_factory.mktemp("rclone"))


@pytest.fixture
def rc_bucket(rclone):
    name = unique_bucket("rclone")
    rclone("mkdir", f"coffer:{name}")
    yield name
    rclone("purge", f"coffer:{name}", check=False)


def test_version(rclone):
    out = run([rclone.binary, "version"]).stdout_text
    assert out.startswith("rclone v1."), out


def test_lsd_shows_bucket(rclone, rc_bucket):
    out = rclone("lsd", "coffer:").stdout_text
    assert rc_bucket in out.split(), out


def test_copy_and_sync_500_files(rclone, rc_bucket, tmp_path):
    rng = random.Random(1234)
    src = tmp_path / "src"
    for i in range(500):
        sub = f"d{i % 7}/e{i % 3}" if i % 5 else ""
        make_random_file(src / sub / f"file-{i:03d}.bin", rng.randint(0, 20_000))
    digests = tree_digests(src)
    assert len(digests) == 500

    remote = f"coffer:{rc_bucket}/set"
    rclone("sync", "--transfers", "8", "--checkers", "8", str(src), remote)
    check = rclone("check", str(src), remote)
    assert "0 differences found" in check.stderr_text, check.stderr_text
    assert "500 matching files" in check.stderr_text, check.stderr_text

    size = rclone("size", remote).stdout_text
    assert "Total objects: 500" in size, size

    # Change, add and remove files; sync again; check again.
    for i in range(0, 500, 50):
        sub = f"d{i % 7}/e{i % 3}" if i % 5 else ""
        p = src / sub / f"file-{i:03d}.bin"
        if i % 100 == 0:
            p.unlink()
        else:
            make_random_file(p, 1234)
    make_random_file(src / "new" / "added.bin", 4321)
    rclone("sync", "--transfers", "8", str(src), remote)
    check = rclone("check", str(src), remote)
    assert "0 differences found" in check.stderr_text, check.stderr_text
    digests = tree_digests(src)

    # Copy everything back down and compare bytes.
    dst = tmp_path / "dst"
    rclone("copy", "--transfers", "8", remote, str(dst))
    assert tree_digests(dst) == digests

    # A deliberate difference must be reported (check is not vacuous).
    make_random_file(src / "d1" / "e1" / "only-local.bin", 10)
    bad = rclone("check", str(src), remote, check=False)
    assert bad.returncode != 0
    assert "1 differences found" in bad.stderr_text, bad.stderr_text


def test_copy_100mb(rclone, rc_bucket, tmp_path):
    up = tmp_path / "up"
    digest = make_random_file(up / "100mb.bin", 100 * MiB)
    # Multipart above 16 MiB, in 8 MiB chunks (13 parts), 4 at a time.
    rclone("copy", "--s3-upload-cutoff", "16M", "--s3-chunk-size", "8M",
           "--s3-upload-concurrency", "4", str(up), f"coffer:{rc_bucket}/big")
    out = rclone("lsl", f"coffer:{rc_bucket}/big").stdout_text
    assert str(100 * MiB) in out.split(), out

    # rclone reads the md5 of a multipart object from the metadata it stored
    # with the upload (X-Amz-Meta-Md5chksum).
    check = rclone("check", str(up), f"coffer:{rc_bucket}/big")
    assert "0 differences found" in check.stderr_text, check.stderr_text
    local_md5 = run(["md5sum", str(up / "100mb.bin")]).stdout_text.split()[0]
    remote_md5 = rclone("md5sum", f"coffer:{rc_bucket}/big/100mb.bin").stdout_text.split()[0]
    assert remote_md5 == local_md5

    dst = tmp_path / "big.out"
    rclone("copyto", f"coffer:{rc_bucket}/big/100mb.bin", str(dst))
    assert sha256_file(dst) == digest


def test_single_put_40mb_below_cutoff(rclone, rc_bucket, tmp_path):
    # Below rclone's default 200 MiB cutoff: one PutObject, ETag = md5.
    src = tmp_path / "one.bin"
    digest = make_random_file(src, 40 * MiB)
    rclone("copyto", str(src), f"coffer:{rc_bucket}/one.bin")
    local_md5 = run(["md5sum", str(src)]).stdout_text.split()[0]
    remote_md5 = rclone("md5sum", f"coffer:{rc_bucket}/one.bin").stdout_text.split()[0]
    assert remote_md5 == local_md5
    dst = tmp_path / "one.out"
    rclone("copyto", f"coffer:{rc_bucket}/one.bin", str(dst))
    assert sha256_file(dst) == digest
