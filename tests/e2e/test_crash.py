"""Durability under SIGKILL.

Each round starts `coffer server` on the same persistent data dir, runs
concurrent boto3 writers (PutObject of 1 KiB-2 MiB, overwrites and deletes
of keys the same thread wrote before, and multipart uploads of 2-3 parts),
SIGKILLs the server after a random 0.3-1.5 s, restarts it and checks:

* every acknowledged write (a PUT/DELETE/Complete whose success response the
  client received) is visible, byte-identical (sha256) after the restart;
* every key that exists holds either its last acknowledged state or the
  write that was in flight at the kill (never a torn or mixed body: the
  sha256 must be one of the payloads attempted for that key);
* no multipart upload whose Complete was never sent became an object, and a
  completed upload is no longer listed as in progress;
* no key appears that was never written, and keys of earlier rounds keep
  their size and ETag.

Keys are unique per round and thread, and each key is only ever written by
one thread, one request at a time, so the set of allowed outcomes per key is
exact. Any error a client gets *before* the kill fails the test (retries are
off), as does any error while reading back.

SIGKILL ends the process but not the machine, so this checks crash
consistency of the server's write protocol (rename/commit ordering, torn
files, metadata vs blob), not fsync durability against power loss.

COFFER_CRASH_ITERATIONS (default 20) sets the number of rounds.
"""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import dataclass, field

import pytest
from botocore.exceptions import ClientError

from coffer_e2e import (
    SERVERS,
    CofferServer,
    MiB,
    boto3_client,
    md5_hex,
    multipart_etag,
    sha256_bytes,
)

ITERATIONS = int(os.environ.get("COFFER_CRASH_ITERATIONS", "20"))
PUT_THREADS = 8
MPU_THREADS = 2
BUCKET = "crash-durability"
ABSENT = None  # the state of a key that does not exist


@dataclass
class KeyHistory:
    kind: str  # "put" (PutObject/DeleteObject) or "mpu"
    # State after each attempted write, in order: sha256 of the body, or
    # ABSENT for a delete. Only the last attempt can be unacknowledged,
    # because a writer thread stops at its first failure.
    attempts: list = field(default_factory=list)
    etags: list = field(default_factory=list)
    acked: int = -1  # index of the last acknowledged attempt
    # Multipart only: how far the unfinished upload got.
    mpu_stage: str = ""
    upload_id: str = ""

    def allowed_states(self) -> set:
        states = {self.attempts[self.acked] if self.acked >= 0 else ABSENT}
        for j in range(self.acked + 1, len(self.attempts)):
            if self.kind == "mpu" and self.mpu_stage != "completing":
                continue  # Complete never sent: must not become an object
            states.add(self.attempts[j])
        return states


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.keys: dict[str, KeyHistory] = {}
        self.killed = threading.Event()
        self.unexpected: list[str] = []
        self.stats = {"put_acked": 0, "delete_acked": 0, "mpu_acked": 0, "failed_after_kill": 0}

    def attempt(self, key: str, kind: str, state, etag=None) -> int:
        with self.lock:
            h = self.keys.setdefault(key, KeyHistory(kind=kind))
            h.attempts.append(state)
            h.etags.append(etag)
            return len(h.attempts) - 1

    def ack(self, key: str, idx: int, stat: str) -> None:
        with self.lock:
            self.keys[key].acked = idx
            self.stats[stat] += 1

    def failed(self, key: str, what: str, exc: BaseException) -> None:
        # The kill flag is set before the SIGKILL is sent, so an error seen
        # while it is clear cannot have been caused by the kill.
        with self.lock:
            if self.killed.is_set():
                self.stats["failed_after_kill"] += 1
            else:
                self.unexpected.append(f"{what} {key!r} failed before the kill: {exc!r}")


def put_worker(client, rnd: int, tid: int, stop: threading.Event, rec: Recorder):
    rng = random.Random()
    mine: list[str] = []  # keys of this thread whose last write was acked and exist
    n = 0
    while not stop.is_set():
        roll = rng.random()
        if mine and roll < 0.10:
            key = mine.pop(rng.randrange(len(mine)))
            idx = rec.attempt(key, "put", ABSENT)
            try:
                client.delete_object(Bucket=BUCKET, Key=key)
            except Exception as e:  # noqa: BLE001 - any failure ends the thread
                rec.failed(key, "DeleteObject", e)
                return
            rec.ack(key, idx, "delete_acked")
            continue
        if mine and roll < 0.25:
            key = mine.pop(rng.randrange(len(mine)))  # overwrite
        else:
            key = f"r{rnd:02d}/put{tid}/{n:05d}"
            n += 1
        body = os.urandom(rng.randint(1024, 2 * MiB))
        idx = rec.attempt(key, "put", sha256_bytes(body), f'"{md5_hex(body)}"')
        try:
            resp = client.put_object(Bucket=BUCKET, Key=key, Body=body)
        except Exception as e:  # noqa: BLE001
            rec.failed(key, "PutObject", e)
            return
        if resp["ETag"] != f'"{md5_hex(body)}"':
            with rec.lock:
                rec.unexpected.append(f"PutObject {key!r}: ETag {resp['ETag']} != md5")
        rec.ack(key, idx, "put_acked")
        mine.append(key)


def mpu_worker(client, rnd: int, tid: int, stop: threading.Event, rec: Recorder):
    rng = random.Random()
    n = 0
    while not stop.is_set():
        key = f"r{rnd:02d}/mpu{tid}/{n:04d}"
        n += 1
        nparts = rng.choice([2, 3])
        parts = [os.urandom(5 * MiB) for _ in range(nparts - 1)]
        parts.append(os.urandom(rng.randint(1, 5 * MiB)))
        whole_sha = sha256_bytes(b"".join(parts))
        idx = rec.attempt(key, "mpu", whole_sha, multipart_etag(parts))
        h = rec.keys[key]
        stage = "create"
        try:
            h.mpu_stage = stage
            uid = client.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
            h.upload_id = uid
            h.mpu_stage = stage = "parts"
            done = []
            for i, p in enumerate(parts, start=1):
                r = client.upload_part(Bucket=BUCKET, Key=key, UploadId=uid,
                                       PartNumber=i, Body=p)
                done.append({"PartNumber": i, "ETag": r["ETag"]})
            h.mpu_stage = stage = "completing"
            resp = client.complete_multipart_upload(
                Bucket=BUCKET, Key=key, UploadId=uid, MultipartUpload={"Parts": done})
        except Exception as e:  # noqa: BLE001
            rec.failed(key, f"multipart ({stage})", e)
            return
        if resp["ETag"] != multipart_etag(parts):
            with rec.lock:
                rec.unexpected.append(
                    f"CompleteMultipartUpload {key!r}: ETag {resp['ETag']} != {multipart_etag(parts)}")
        h.mpu_stage = "completed"
        rec.ack(key, idx, "mpu_acked")


def list_all(client) -> dict[str, tuple[int, str]]:
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for o in page.get("Contents", []):
            assert o["Key"] not in out, f"key {o['Key']!r} listed twice"
            out[o["Key"]] = (o["Size"], o["ETag"])
    return out


def read_sha(client, key: str) -> tuple[str, int, str]:
    r = client.get_object(Bucket=BUCKET, Key=key)
    body = r["Body"].read()
    assert len(body) == r["ContentLength"], f"{key!r}: short body {len(body)} != {r['ContentLength']}"
    return sha256_bytes(body), len(body), r["ETag"]


@pytest.mark.timeout(600)
def test_sigkill_durability(tmp_path):
    if ITERATIONS < 1:
        pytest.skip("COFFER_CRASH_ITERATIONS < 1")
    data_dir = tmp_path / "data"
    log_path = tmp_path / "server.log"
    settled: dict[str, tuple[int, str]] = {}  # older rounds' keys -> (size, etag)
    settled_sha: dict[str, str] = {}
    totals = {"put_acked": 0, "delete_acked": 0, "mpu_acked": 0, "failed_after_kill": 0,
              "inflight_applied": 0, "inflight_not_applied": 0}
    recovery_times = []
    t_start = time.monotonic()

    server = CofferServer(data_dir=data_dir, log_path=log_path)
    SERVERS.append(server)
    try:
        for rnd in range(ITERATIONS):
            server.start()
            client = boto3_client(server, connect_timeout=3, read_timeout=60,
                                  max_pool_connections=PUT_THREADS + MPU_THREADS + 2)
            if rnd == 0:
                client.create_bucket(Bucket=BUCKET)
            else:
                client.head_bucket(Bucket=BUCKET)

            rec = Recorder()
            stop = threading.Event()
            threads = [threading.Thread(target=put_worker, args=(client, rnd, t, stop, rec), daemon=True)
                       for t in range(PUT_THREADS)]
            threads += [threading.Thread(target=mpu_worker, args=(client, rnd, t, stop, rec), daemon=True)
                        for t in range(MPU_THREADS)]
            for t in threads:
                t.start()
            time.sleep(random.uniform(0.3, 1.5))
            rec.killed.set()
            server.sigkill()
            stop.set()
            for t in threads:
                t.join(timeout=90)
                assert not t.is_alive(), "a writer thread hung after the kill"
            assert not rec.unexpected, (
                f"round {rnd}: requests failed while the server was up:\n" + "\n".join(rec.unexpected[:20]))
            for k in ("put_acked", "delete_acked", "mpu_acked", "failed_after_kill"):
                totals[k] += rec.stats[k]

            t0 = time.monotonic()
            server.start()
            recovery_times.append(time.monotonic() - t0)
            client = boto3_client(server, read_timeout=60)
            client.head_bucket(Bucket=BUCKET)
            listing = list_all(client)

            problems = []
            prefix = f"r{rnd:02d}/"
            # Phantom keys: only keys some thread wrote may exist.
            for key in listing:
                if key.startswith(prefix) and key not in rec.keys:
                    problems.append(f"{key!r} exists but was never written")
                elif not key.startswith(prefix) and key not in settled:
                    problems.append(f"{key!r} from an earlier round appeared after restart")
            # Earlier rounds' keys: unchanged.
            for key, meta in settled.items():
                if listing.get(key) != meta:
                    problems.append(f"earlier key {key!r}: was {meta}, now {listing.get(key)}")

            for key, h in rec.keys.items():
                allowed = h.allowed_states()
                if key in listing:
                    try:
                        sha, size, etag = read_sha(client, key)
                    except ClientError as e:
                        problems.append(f"{key!r} listed but GET failed: {e.response.get('Error')}")
                        continue
                    except Exception as e:  # noqa: BLE001 - e.g. a body cut short
                        problems.append(f"{key!r} listed but reading it failed: {e!r}")
                        continue
                    if listing[key][0] != size:
                        problems.append(f"{key!r}: listed size {listing[key][0]} != body {size}")
                    if sha not in allowed:
                        problems.append(
                            f"{key!r} ({h.kind}, acked #{h.acked} of {len(h.attempts)}, stage "
                            f"{h.mpu_stage or '-'}): body sha256 {sha[:16]} (size {size}) is not an "
                            "allowed state (torn, stale or never-completed write)")
                        continue
                    j = max(i for i, s in enumerate(h.attempts) if s == sha)
                    if h.etags[j] and etag != h.etags[j]:
                        problems.append(f"{key!r}: ETag {etag} != expected {h.etags[j]}")
                    state = sha
                else:
                    try:
                        client.head_object(Bucket=BUCKET, Key=key)
                        problems.append(f"{key!r} not listed but HEAD finds it")
                    except ClientError as e:
                        if e.response["Error"]["Code"] not in ("404", "NoSuchKey"):
                            problems.append(f"{key!r}: HEAD error {e.response.get('Error')}")
                    if ABSENT not in allowed:
                        problems.append(
                            f"{key!r} ({h.kind}, acked #{h.acked} of {len(h.attempts)}): missing after "
                            "restart although its write was acknowledged")
                    state = ABSENT
                if h.acked < len(h.attempts) - 1 and (h.kind == "put" or h.mpu_stage == "completing"):
                    in_flight = h.attempts[-1]
                    prior = h.attempts[h.acked] if h.acked >= 0 else ABSENT
                    if in_flight != prior:
                        totals["inflight_applied" if state == in_flight else "inflight_not_applied"] += 1
                if state is not ABSENT:
                    settled[key] = listing[key]
                    settled_sha[key] = state

            # Multipart uploads: completed ones are gone, unfinished ones
            # are ours, and aborting them works after the crash.
            ours = {h.upload_id: key for key, h in rec.keys.items() if h.upload_id}
            completed = {h.upload_id for key, h in rec.keys.items()
                         if h.upload_id and key in listing}
            uploads = client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
            for u in uploads:
                if u["UploadId"] in completed:
                    problems.append(f"completed upload {u['UploadId']} for {u['Key']!r} still listed")
                elif u["UploadId"] not in ours:
                    # A CreateMultipartUpload may commit and then lose its
                    # reply to the kill: the client never learned the id.
                    # Only such a key may have an upload we do not know.
                    h = rec.keys.get(u["Key"])
                    if h is None or h.upload_id or h.mpu_stage != "create":
                        problems.append(f"unknown upload {u['UploadId']} for {u['Key']!r} listed")
                    else:
                        client.abort_multipart_upload(Bucket=BUCKET, Key=u["Key"], UploadId=u["UploadId"])
            for u in uploads:
                if u["UploadId"] not in completed:
                    client.abort_multipart_upload(Bucket=BUCKET, Key=u["Key"], UploadId=u["UploadId"])
            assert not client.list_multipart_uploads(Bucket=BUCKET).get("Uploads"), \
                "uploads still listed after aborting them all"

            assert not problems, f"round {rnd}:\n" + "\n".join(problems[:40])
            server.stop()

        # Finally, reread a sample of the older objects byte for byte.
        server.start()
        client = boto3_client(server, read_timeout=60)
        assert list_all(client) == settled
        sample = random.sample(sorted(settled_sha), min(150, len(settled_sha)))
        for key in sample:
            sha, _, _ = read_sha(client, key)
            assert sha == settled_sha[key], f"{key!r} changed after later rounds"
        server.stop()
    finally:
        server.kill()
        SERVERS.remove(server)

    elapsed = time.monotonic() - t_start
    print(f"\ncrash test: {ITERATIONS} rounds in {elapsed:.1f}s; {totals}; "
          f"{len(settled)} objects; max restart-to-ready {max(recovery_times):.2f}s")
    # The test must have exercised something.
    assert totals["put_acked"] > 0 and totals["failed_after_kill"] > 0
