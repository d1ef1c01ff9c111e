"""Three gateways on one PostgreSQL and one shared blob directory.

Run by `scripts/cluster-test` inside `scripts/with-postgres`, which starts a
throwaway PostgreSQL and exports its URL and a stop/start control. Real
clients (boto3, the aws CLI, rclone) go round-robin through three `coffer`
gateways while one gateway is SIGKILLed and restarted and PostgreSQL is
restarted; afterwards every acknowledged write is read back byte for byte
from every gateway, and the blob directory holds exactly the blobs the
metadata references. Then changes made through one gateway (a deleted key,
a bucket policy) must hold on the others within 1 s, and racing PUTs across
gateways must never pass a quota.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from coffer_e2e import (  # noqa: E402
    CofferServer,
    admin,
    aws_cli,
    boto3_client,
    create_project,
    create_user,
    error_code,
    http_request,
    require_tool,
    rclone_runner,
    unique_bucket,
)

PG_URI = os.environ.get("COFFER_TEST_POSTGRES_URI")
PG_URL = os.environ.get("COFFER_TEST_POSTGRES_URL")
PG_CTL = os.environ.get("COFFER_TEST_POSTGRES_CTL")
# COFFER_CLUSTER_BLOBS=rados (inside scripts/with-ceph): blobs in the test
# cluster's RADOS pool instead of a shared directory.
RADOS = os.environ.get("COFFER_CLUSTER_BLOBS") == "rados"
CEPH_CONF = os.environ.get("COFFER_TEST_CEPH_CONF")
CEPH_POOL = os.environ.get("COFFER_TEST_CEPH_POOL")

pytestmark = pytest.mark.skipif(
    not PG_URI, reason="needs a PostgreSQL: run through scripts/cluster-test (scripts/with-postgres)")

RECLAIM_SECS = 6
GC_GRACE_SECS = 2
# Objects of these sizes: inline in the metadata, one blob, several parts.
SIZES = (700, 90 * 1024, 1024 * 1024 + 3)


def md5(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


class Cluster:
    def __init__(self, base: Path):
        self.base = base
        self.blobs = base / "shared-blobs"
        self.blobs.mkdir(parents=True)
        key = base / "master.key"
        key.write_text(__import__("base64").b64encode(os.urandom(32)).decode())
        key.chmod(0o600)
        if RADOS:
            assert CEPH_CONF and CEPH_POOL, "COFFER_CLUSTER_BLOBS=rados runs inside scripts/with-ceph"
            blobs = f"rados://{CEPH_POOL}?conf={CEPH_CONF}&timeout_secs=10"
        else:
            blobs = f"fs://{self.blobs}"
        args = ["--meta", PG_URI, "--blobs", blobs, "--master-key-file", str(key),
                "--gc-grace-secs", str(GC_GRACE_SECS), "--reclaim-min-age-secs", str(RECLAIM_SECS),
                "--orphan-sweep-secs", "2", "--meter-interval-secs", "1", "--meta-pool-size", "8"]
        self.gws = [CofferServer(data_dir=base / f"gw{i}", log_path=base / f"gw{i}.log", extra_args=list(args))
                    for i in range(3)]
        # The third gateway reaches PostgreSQL over TCP with verified TLS.
        tls_uri, ca = os.environ.get("COFFER_TEST_POSTGRES_TLS_URI"), os.environ.get("COFFER_TEST_POSTGRES_CA")
        if tls_uri and ca:
            third = self.gws[2].extra_args
            third[third.index("--meta") + 1] = tls_uri
            third += ["--meta-ca-file", ca]

    def start(self):
        for g in self.gws:
            g.start()

    def stop(self):
        for g in self.gws:
            g.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("cluster"))
    c.start()
    yield c
    c.stop()
    for g in c.gws:
        print(f"gateway log: {g.log_path}")


def psql(sql: str) -> list[str]:
    out = subprocess.run(["psql", PG_URL, "-At", "-c", sql], check=True, capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line]


def ready(gw: CofferServer) -> int:
    status, _, _ = http_request(f"{gw.endpoint}/_coffer/health/ready", timeout=3)
    return status


def retrying_client(gw: CofferServer, key, **kw):
    """A client as applications run it: retries on (standard mode)."""
    from botocore.config import Config
    import boto3

    return boto3.session.Session().client(
        "s3", endpoint_url=gw.endpoint, aws_access_key_id=key.access_key, aws_secret_access_key=key.secret_key,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard", "max_attempts": 4},
                      connect_timeout=5, read_timeout=30, **kw))


class Ledger:
    """What clients were told: every acknowledged write, every attempt."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked: dict[str, str] = {}       # key -> md5 of the last acknowledged body
        self.deleted: set[str] = set()         # acknowledged deletes
        self.attempted: dict[str, set] = {}    # key -> md5s of every body sent
        self.errors: list[str] = []

    def attempt(self, key, digest):
        with self.lock:
            self.attempted.setdefault(key, set()).add(digest)

    def ack(self, key, digest):
        with self.lock:
            self.acked[key] = digest
            self.deleted.discard(key)

    def ack_delete(self, key):
        with self.lock:
            self.acked.pop(key, None)
            self.deleted.add(key)

    def error(self, what):
        with self.lock:
            self.errors.append(what)


def worker(n: int, cluster: Cluster, key, bucket: str, ledger: Ledger, stop: threading.Event):
    rng = random.Random(n)
    clients = [retrying_client(g, key) for g in cluster.gws]
    mine: list[str] = []
    i = 0
    while not stop.is_set():
        i += 1
        s3 = clients[i % 3]
        op = rng.random()
        try:
            if op < 0.65 or not mine:
                k = f"w{n}/{rng.randrange(40):03d}"  # overwrites happen
                body = os.urandom(rng.choice(SIZES))
                ledger.attempt(k, md5(body))
                s3.put_object(Bucket=bucket, Key=k, Body=body)
                ledger.ack(k, md5(body))
                if k not in mine:
                    mine.append(k)
            elif op < 0.9:
                k = rng.choice(mine)
                with ledger.lock:
                    want = ledger.acked.get(k)
                if want is not None:
                    got = md5(s3.get_object(Bucket=bucket, Key=k)["Body"].read())
                    # This worker owns the key: the last acknowledged write is what must be read.
                    assert got == want, f"{k}: read {got}, last acknowledged {want}"
            else:
                k = rng.choice(mine)
                s3.delete_object(Bucket=bucket, Key=k)
                ledger.ack_delete(k)
                mine.remove(k)
        except AssertionError:
            raise
        except Exception as e:  # a write refused or cut off: unacknowledged, checked afterwards
            ledger.error(f"{type(e).__name__}: {e}"[:200])
            time.sleep(0.05)


def multipart_worker(cluster: Cluster, key, bucket: str, ledger: Ledger, stop: threading.Event):
    """Multipart uploads with each part sent through another gateway."""
    clients = [retrying_client(g, key) for g in cluster.gws]
    n = 0
    while not stop.is_set():
        n += 1
        k = f"mp/{n:03d}"
        parts = [os.urandom(5 * 1024 * 1024), os.urandom(1234)]
        whole = b"".join(parts)
        ledger.attempt(k, md5(whole))
        try:
            up = clients[n % 3].create_multipart_upload(Bucket=bucket, Key=k)["UploadId"]
            done = []
            for i, p in enumerate(parts):
                r = clients[(n + i + 1) % 3].upload_part(Bucket=bucket, Key=k, UploadId=up, PartNumber=i + 1, Body=p)
                done.append({"PartNumber": i + 1, "ETag": r["ETag"]})
            clients[(n + 2) % 3].complete_multipart_upload(
                Bucket=bucket, Key=k, UploadId=up, MultipartUpload={"Parts": done})
            ledger.ack(k, md5(whole))
        except Exception as e:
            ledger.error(f"multipart {k}: {type(e).__name__}: {e}"[:200])
            time.sleep(0.1)


def referenced_blobs() -> set[str]:
    return set(psql("SELECT blob_id FROM segments UNION SELECT blob_id FROM parts UNION SELECT blob_id FROM gc_queue"))


def rados_names() -> list[str]:
    out = subprocess.run(["rados", "-c", CEPH_CONF, "-p", CEPH_POOL, "ls"], check=True, capture_output=True, text=True)
    return out.stdout.split()


def blob_files(root: Path) -> set[str]:
    """Committed blobs: files under v1/, or RADOS head objects (`<id>`)."""
    if RADOS:
        return {n for n in rados_names() if "." not in n}
    return {p.name for p in (root / "v1").glob("*/*") if p.is_file()}


def temp_files(root: Path) -> list[str]:
    """Data of unfinished writes: files in tmp/, or RADOS stripes (`<id>.<n>`) of no head."""
    if RADOS:
        names = rados_names()
        heads = {n for n in names if "." not in n}
        return sorted({n.split(".")[0] for n in names if "." in n} - heads)
    return [p.name for p in (root / "tmp").iterdir()]


def test_traffic_through_a_killed_gateway_and_a_database_restart(cluster, tmp_path):
    assert PG_CTL, "scripts/with-postgres exports COFFER_TEST_POSTGRES_CTL"
    a, b, c = cluster.gws
    key = create_project(a, "cluster")
    bucket = unique_bucket("cluster")
    boto3_client(b, access_key=key.access_key, secret_key=key.secret_key).create_bucket(Bucket=bucket)
    ledger = Ledger()
    stop = threading.Event()
    threads = [threading.Thread(target=worker, args=(n, cluster, key, bucket, ledger, stop)) for n in range(6)]
    threads.append(threading.Thread(target=multipart_worker, args=(cluster, key, bucket, ledger, stop)))
    failures = []

    def run(t):
        try:
            t()
        except BaseException as e:  # noqa: BLE001 - reported below
            failures.append(e)

    threads = [threading.Thread(target=run, args=(t.run,)) for t in threads]
    for t in threads:
        t.start()
    outage = {}
    try:
        time.sleep(4)
        b.sigkill()  # mid-traffic: its in-flight writes are cut
        time.sleep(1)
        b.start(keep_port=True)
        time.sleep(3)
        subprocess.run([PG_CTL, "stop"], check=True, capture_output=True)
        down_at = time.monotonic()
        # While the database is away: not ready, and S3 answers 503 with Retry-After.
        statuses = {ready(g) for g in cluster.gws}
        noretry = boto3_client(a, access_key=key.access_key, secret_key=key.secret_key)
        try:
            noretry.put_object(Bucket=bucket, Key="during-outage", Body=b"x" * 100)
            outage["put"] = "200"
        except Exception as e:
            resp = getattr(e, "response", {})
            outage["put"] = (resp.get("ResponseMetadata", {}).get("HTTPStatusCode"), error_code(e),
                             resp.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("retry-after"))
        outage["ready"] = statuses
        time.sleep(max(0.0, 2 - (time.monotonic() - down_at)))
        subprocess.run([PG_CTL, "start"], check=True, capture_output=True)
        back_at = time.monotonic()
        while any(ready(g) != 200 for g in cluster.gws):
            assert time.monotonic() - back_at < 30, "the gateways did not recover by themselves"
            time.sleep(0.1)
        outage["recovered_s"] = round(time.monotonic() - back_at, 2)
        time.sleep(4)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=120)
    assert not failures, failures
    assert outage["ready"] == {503}, outage
    assert outage["put"][0] == 503 and outage["put"][1] in ("SlowDown", "ServiceUnavailable") and outage["put"][2], outage

    # Every acknowledged write, from every gateway, byte for byte.
    readers = [boto3_client(g, access_key=key.access_key, secret_key=key.secret_key) for g in cluster.gws]
    checked = lost = 0
    for k, want in sorted(ledger.acked.items()):
        for s3 in readers:
            got = md5(s3.get_object(Bucket=bucket, Key=k)["Body"].read())
            checked += 1
            if got != want:
                lost += 1
    for k in ledger.deleted:
        with pytest.raises(Exception) as e:
            readers[0].head_object(Bucket=bucket, Key=k)
        assert "404" in str(e.value), (k, e.value)
    # A write never acknowledged is either absent or whole (one of the bodies sent).
    half = []
    for k, sent in ledger.attempted.items():
        if k in ledger.acked or k in ledger.deleted:
            continue
        try:
            got = md5(readers[1].get_object(Bucket=bucket, Key=k)["Body"].read())
            if got not in sent:
                half.append(k)
        except Exception as e:
            assert "NoSuchKey" in str(e), (k, e)
    listed = set()
    for page in readers[2].get_paginator("list_objects_v2").paginate(Bucket=bucket):
        listed |= {o["Key"] for o in page.get("Contents", [])}
    unexpected = listed - set(ledger.attempted) - {"during-outage"}
    print(f"\ncluster: {len(ledger.acked)} objects acknowledged and current, {checked} reads checked on 3 gateways, "
          f"{lost} lost, {len(ledger.deleted)} deletes checked, {len(ledger.errors)} client errors "
          f"(outage {outage}); kinds: {sorted({e.split(':')[0] for e in ledger.errors})}")
    assert lost == 0 and not half and not unexpected, (lost, half, unexpected)
    assert set(ledger.acked) <= listed

    # Debris of the kill and the outage: swept, by one gateway, after the
    # reclaim age; afterwards the directory holds exactly what is referenced.
    deadline = time.monotonic() + 60
    while True:
        refs, files, tmp = referenced_blobs(), blob_files(cluster.blobs), temp_files(cluster.blobs)
        pending = psql("SELECT count(*) FROM gc_queue")[0]
        if files == refs and not tmp and pending == "0":
            break
        assert time.monotonic() < deadline, (
            f"orphans {len(files - refs)}, missing {len(refs - files)}, temp {len(tmp)}, queued {pending}")
        time.sleep(1)
    print(f"cluster: {len(files)} blobs ({'RADOS' if RADOS else 'files'}), each referenced; no temp data left")


def test_other_tools_through_other_gateways(cluster, tmp_path):
    """aws CLI multipart upload through one gateway, rclone sync through
    another, each read back through the third."""
    a, b, c = cluster.gws
    key = create_project(a, "tools")
    bucket = unique_bucket("tools")
    boto3_client(a, access_key=key.access_key, secret_key=key.secret_key).create_bucket(Bucket=bucket)
    aws = aws_cli(b, require_tool("aws", "aws CLI v2"), tmp_path / "aws", chunk_mb=5,
                  access_key=key.access_key, secret_key=key.secret_key)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(12 * 1024 * 1024 + 17))
    aws("s3", "cp", str(big), f"s3://{bucket}/big.bin")
    got = boto3_client(c, access_key=key.access_key, secret_key=key.secret_key).get_object(
        Bucket=bucket, Key="big.bin")["Body"].read()
    assert md5(got) == md5(big.read_bytes())
    src = tmp_path / "tree"
    for i in range(12):
        (src / f"d{i % 3}").mkdir(parents=True, exist_ok=True)
        (src / f"d{i % 3}" / f"f{i}").write_bytes(os.urandom(1000 * i + 1))
    rclone = rclone_runner(c, tmp_path / "rclone", access_key=key.access_key, secret_key=key.secret_key)
    rclone("copy", str(src), f"coffer:{bucket}/tree")
    s3a = boto3_client(a, access_key=key.access_key, secret_key=key.secret_key)
    for p in src.rglob("f*"):
        rel = p.relative_to(src).as_posix()
        assert s3a.get_object(Bucket=bucket, Key=f"tree/{rel}")["Body"].read() == p.read_bytes(), rel


def until_refused(fn, timeout=5.0) -> float:
    """Seconds until `fn()` returns True (polled every 20 ms)."""
    t0 = time.monotonic()
    while not fn():
        assert time.monotonic() - t0 < timeout
        time.sleep(0.02)
    return time.monotonic() - t0


def test_a_deleted_key_is_refused_on_every_gateway_within_a_second(cluster):
    a, b, c = cluster.gws
    key = create_project(a, "revoke")
    clients = [boto3_client(g, access_key=key.access_key, secret_key=key.secret_key) for g in (b, c)]
    for s3 in clients:
        s3.list_buckets()  # works, and any per-gateway state is warm
    admin(a, "DELETE", f"/keys/{key.access_key}")

    def refused(s3):
        try:
            s3.list_buckets()
            return False
        except Exception as e:
            return error_code(e) == "InvalidAccessKeyId"

    waits = [until_refused(lambda s3=s3: refused(s3)) for s3 in clients]
    print(f"\nkey deleted on A, refused on B and C after {waits} s")
    assert all(w <= 1.0 for w in waits), waits


def test_a_bucket_policy_set_on_one_gateway_holds_on_another_within_a_second(cluster):
    a, b, _ = cluster.gws
    key = create_project(a, "policy")
    bucket = unique_bucket("policy")
    s3a = boto3_client(a, access_key=key.access_key, secret_key=key.secret_key)
    s3a.create_bucket(Bucket=bucket)
    s3a.put_object(Bucket=bucket, Key="doc.txt", Body=b"public now")
    url = f"{b.endpoint}/{bucket}/doc.txt"
    assert http_request(url)[0] == 403
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                      "Resource": f"arn:aws:s3:::{bucket}/*"}]}
    s3a.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    opened = until_refused(lambda: http_request(url)[0] == 200)
    s3a.delete_bucket_policy(Bucket=bucket)
    closed = until_refused(lambda: http_request(url)[0] == 403)
    print(f"\npolicy set on A: anonymous read allowed on B after {opened:.3f} s, refused {closed:.3f} s after removal")
    assert opened <= 1.0 and closed <= 1.0, (opened, closed)


def test_a_user_policy_changed_on_one_gateway_holds_on_the_others_within_a_second(cluster):
    """Gateways keep resolved keys (with their user's policies) for 500 ms."""
    a, b, c = cluster.gws
    root = create_project(a, "userpol")
    bucket = unique_bucket("userpol")
    boto3_client(a, access_key=root.access_key, secret_key=root.secret_key).create_bucket(Bucket=bucket)
    user = create_user(a, root.project, "writer", preset="read-only")
    clients = [boto3_client(g, access_key=user.access_key, secret_key=user.secret_key) for g in (b, c)]

    def put_allowed(s3) -> bool:
        try:
            s3.put_object(Bucket=bucket, Key="k", Body=b"x")
            return True
        except Exception as e:
            assert error_code(e) == "AccessDenied", e
            return False

    for s3 in clients:
        assert not put_allowed(s3)  # refused, and the key is resolved (cached) on B and C
    admin(a, "PUT", f"/projects/{root.project}/users/writer/policy", {"preset": "full-access"})
    granted = [until_refused(lambda s3=s3: put_allowed(s3)) for s3 in clients]
    admin(a, "PUT", f"/projects/{root.project}/users/writer/policy", {"preset": "read-only"})
    revoked = [until_refused(lambda s3=s3: not put_allowed(s3)) for s3 in clients]
    print(f"\nuser policy changed on A: PUT allowed on B, C after {granted} s, refused again after {revoked} s")
    assert all(w <= 1.0 for w in granted + revoked), (granted, revoked)


def test_twenty_puts_racing_across_gateways_never_pass_a_five_object_quota(cluster):
    a = cluster.gws[0]
    key = create_project(a, "quota")
    admin(a, "PUT", f"/projects/{key.project}/quota", {"max_objects": 5})
    bucket = unique_bucket("quota")
    boto3_client(a, access_key=key.access_key, secret_key=key.secret_key).create_bucket(Bucket=bucket)
    clients = [boto3_client(g, access_key=key.access_key, secret_key=key.secret_key) for g in cluster.gws]
    barrier = threading.Barrier(20)

    def put(i):
        body = os.urandom(SIZES[i % 3])
        barrier.wait()
        try:
            clients[i % 3].put_object(Bucket=bucket, Key=f"q{i:02d}", Body=io.BytesIO(body))
            return "ok"
        except Exception as e:
            return error_code(e)

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(put, range(20)))
    stored = clients[1].list_objects_v2(Bucket=bucket).get("KeyCount", 0)
    print(f"\nquota race: {results.count('ok')} stored, refusals {sorted(set(results) - {'ok'})}")
    assert results.count("ok") == 5 and stored == 5, (results, stored)
    assert set(results) == {"ok", "QuotaExceeded"}, results


def test_racing_completions_of_one_upload_make_one_object(cluster):
    key = create_project(cluster.gws[0], "mpu")
    bucket = unique_bucket("mpu")
    clients = [boto3_client(g, access_key=key.access_key, secret_key=key.secret_key) for g in cluster.gws]
    clients[0].create_bucket(Bucket=bucket)
    up = clients[0].create_multipart_upload(Bucket=bucket, Key="one")["UploadId"]
    parts = [os.urandom(5 * 1024 * 1024), os.urandom(77)]
    done = []
    for i, p in enumerate(parts):
        r = clients[i + 1].upload_part(Bucket=bucket, Key="one", UploadId=up, PartNumber=i + 1, Body=p)
        done.append({"PartNumber": i + 1, "ETag": r["ETag"]})
    barrier = threading.Barrier(6)

    def complete(i):
        barrier.wait()
        try:
            clients[i % 3].complete_multipart_upload(Bucket=bucket, Key="one", UploadId=up,
                                                     MultipartUpload={"Parts": done})
            return "ok"
        except Exception as e:
            return error_code(e)

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(complete, range(6)))
    # One completion wins; a loser that finds the object its parts make
    # answers as the winner did (a retried completion is a success, as on
    # AWS), the others NoSuchUpload. Either way the object is made once.
    assert "ok" in results and set(results) <= {"ok", "NoSuchUpload"}, results
    assert clients[2].get_object(Bucket=bucket, Key="one")["Body"].read() == b"".join(parts)
    [row] = [b for b in admin(cluster.gws[1], "GET", "/buckets", query={"project": key.project})
             if b["name"] == bucket]
    print(f"\nracing completions: {results}; bucket accounting {row}")
    assert row["objects"] == 1 and row["bytes"] == sum(map(len, parts)), row
    assert clients[1].list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
