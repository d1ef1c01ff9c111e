"""restic (Debian package, 0.14) against coffer.

restic talks S3 through minio-go: path-style SigV4, pack files uploaded
with Content-MD5 and aws-chunked signed streaming
(STREAMING-AWS4-HMAC-SHA256-PAYLOAD), ListObjectsV2, HEAD, range GETs and
DELETE. One
repository in a fresh bucket takes two backups of a generated tree (the
second after changing it); the tests read both back byte for byte, run
`check --read-data`, and finally `forget --prune` (which repacks and deletes
pack files) followed by another check.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil

import pytest

from coffer_e2e import (
    MiB,
    boto3_client,
    empty_and_delete_bucket,
    make_random_file,
    require_tool,
    run,
    tree_digests,
    unique_bucket,
)

PASSWORD = "coffer e2e restic password"


def _make_tree(root, rng: random.Random) -> None:
    """~400 files: mostly small, a few MB-sized, empty ones, odd names, nested."""
    dirs = ["", "docs", "docs/archive 2023", "photos/ünïcödé", "photos/ünïcödé/raw",
            "deep/a/b/c/d/e", "spaced dir/inner dir", "日本語/テキスト"]
    for i in range(400):
        name = rng.choice(["file-{}.bin", "file {} copy.txt", "naïve-{}.dat", "数据{}.json"])
        make_random_file(root / rng.choice(dirs) / name.format(i), rng.randint(0, 40_000))
    for i in range(5):
        make_random_file(root / "big" / f"large {i}.bin", rng.randint(1, 3) * MiB + rng.randint(0, 99_999))
    make_random_file(root / "empty dir" / "zero.bin", 0)


def _modify_tree(root, rng: random.Random) -> None:
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.parent.name != "big")
    picked = rng.sample(files, 40)
    for p in picked[:30]:
        make_random_file(p, rng.randint(1, 50_000))  # rewritten
    for p in picked[30:]:
        p.unlink()
    with open(root / "big" / "large 0.bin", "ab") as f:
        f.write(os.urandom(MiB))  # grown
    for i in range(20):
        make_random_file(root / "added later" / f"new {i}.bin", rng.randint(0, 100_000))


@pytest.fixture(scope="module")
def restic(coffer, tmp_path_factory):
    """Runs `restic ARGS` against a new repository in a fresh bucket.

    `restic.sources` holds (snapshot id, {path: sha256}) of the two backups.
    """
    binary = require_tool("restic", "Debian package restic")
    s3 = boto3_client(coffer)
    bucket = unique_bucket("restic")
    s3.create_bucket(Bucket=bucket)
    home = tmp_path_factory.mktemp("restic")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RESTIC_", "AWS_"))}
    env.update(
        HOME=str(home),
        RESTIC_REPOSITORY=f"s3:{coffer.endpoint}/{bucket}",
        RESTIC_PASSWORD=PASSWORD,
        RESTIC_CACHE_DIR=str(home / "cache"),
        # restic's smallest packs: more pack files for prune to repack.
        RESTIC_PACK_SIZE="4",
        AWS_ACCESS_KEY_ID=coffer.access_key,
        AWS_SECRET_ACCESS_KEY=coffer.secret_key,
    )

    def restic_run(*args):
        return run([binary, *args], env=env, cwd=str(home), timeout=300)

    def restic_json(*args):
        return json.loads(restic_run("--json", *args).stdout_text)

    restic_run.json = restic_json

    restic_run("init")
    rng = random.Random(20240)
    src = home / "src"
    _make_tree(src, rng)
    restic_run.sources = []
    for round_ in range(2):
        if round_:
            _modify_tree(src, rng)
        # A relative path: the snapshot's tree starts at `src/`.
        out = restic_run("backup", "--host", "e2e", "src").stdout_text
        snap = next(line.split()[1] for line in out.splitlines()
                    if line.startswith("snapshot ") and line.endswith(" saved"))
        restic_run.sources.append((snap, tree_digests(src)))
    yield restic_run
    try:
        empty_and_delete_bucket(s3, bucket)
    except Exception as e:  # cleanup must not mask the tests' own results
        print(f"cleanup of bucket {bucket} failed: {e!r}")


def test_snapshots(restic):
    (first, digests1), (second, digests2) = restic.sources
    assert len(digests1) > 400 and digests1 != digests2
    snaps = restic.json("snapshots")
    assert [s["short_id"] for s in snaps] == [first, second]
    assert all(s["hostname"] == "e2e" and s["paths"][0].endswith("/src") for s in snaps)
    assert snaps[1]["parent"] == snaps[0]["id"]


def test_check_read_data(restic):
    out = restic("check", "--read-data").stdout_text
    assert "no errors were found" in out, out


def test_restore_both_snapshots(restic, tmp_path):
    for snap, digests in restic.sources:
        target = tmp_path / snap
        restic("restore", snap, "--target", str(target))
        assert tree_digests(target / "src") == digests, f"snapshot {snap} differs"
        assert (target / "src" / "empty dir" / "zero.bin").stat().st_size == 0
        shutil.rmtree(target)


def test_forget_prune_then_check(restic, tmp_path):
    """Runs last: drops the first snapshot and prunes its data."""
    (first, _), (second, digests2) = restic.sources
    out = restic("forget", "--keep-last", "1", "--prune", "--max-unused", "0").stdout_text
    assert "remove 1 snapshots" in out, out
    # The rewritten and deleted files' old blobs go; their packs are repacked.
    pruned = re.search(r"total prune:\s+(\d+) blobs", out)
    assert pruned and int(pruned.group(1)) > 0, out
    assert re.search(r"removing \d+ old packs", out) and out.rstrip().endswith("done"), out
    assert [s["short_id"] for s in restic.json("snapshots")] == [second]
    out = restic("check", "--read-data").stdout_text
    assert "no errors were found" in out, out
    target = tmp_path / "after-prune"
    restic("restore", "latest", "--target", str(target))
    assert tree_digests(target / "src") == digests2
