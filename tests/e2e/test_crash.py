"""Durability under SIGKILL, many times over.

Each round runs concurrent boto3 writers against `coffer server` on the same
persistent data dir (crash_workload.py: PutObject of 1 KiB-1 MiB, overwrites,
deletes, CopyObject of acknowledged objects to new keys, multipart uploads
of 2-3 parts that are completed, sometimes copied, or aborted), SIGKILLs the
server after a random 0.2-0.9 s, restarts it and checks:

* every acknowledged write (a Put/Copy/Delete/Complete whose success
  response the client received) is visible, byte-identical (sha256), with
  the ETag the client was given;
* every key holds either its last acknowledged state or the write that was
  in flight at the kill (never a torn or mixed body: the sha256 must be one
  of the payloads attempted for that key; a copy's body is its source's);
* no multipart upload whose Complete was never sent became an object, a
  completed upload is no longer listed, an upload whose Abort was
  acknowledged is never listed again;
* no key appears that was never written, and keys of earlier rounds keep
  their size and ETag (a few are reread byte for byte every round);
* every orphan is reclaimed (crash_audit.py): right after the kill, the blob
  files are compared with the metadata (a copy of meta.db): a referenced
  blob without its file fails the test; unreferenced blob files and temp
  files are the kill's orphans. Once the restarted server is ready (its
  start-up recovery done), the blob files must be exactly the referenced
  ones and no temp file may be left. Every AUDIT_EVERY rounds and at the
  end, the server is stopped, started (recovery) and stopped again and
  meta.db itself is read: files == referenced blobs, empty gc_queue.

Keys are unique per round and thread, and each key is only ever written by
one thread, one request at a time, so the set of allowed outcomes per key is
exact. Any error a client gets *before* the kill fails the test (retries are
off), as does any error while reading back. The server runs with
`--gc-grace-secs 0`; older rounds' objects are deleted (all but a sample)
to keep the data dir small over 1,000 rounds.

SIGKILL ends the process but not the machine, so this checks crash
consistency of the server's write protocol (rename/commit ordering, torn
files, metadata vs blob), not fsync durability against power loss.

COFFER_CRASH_ITERATIONS (default 50) sets the number of rounds;
scripts/crash-long runs 1,000. COFFER_CRASH_TOTALS names a JSON file the
totals are written to.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time

import pytest
from botocore.exceptions import ClientError

from coffer_e2e import SERVERS, CofferServer, boto3_client, sha256_bytes
from crash_audit import blob_files, clean_audit, meta_refs
from crash_workload import ABSENT, BUCKET, Recorder, mpu_worker, put_worker

ITERATIONS = int(os.environ.get("COFFER_CRASH_ITERATIONS", "50"))
PUT_THREADS = 8
MPU_THREADS = 2
AUDIT_EVERY = 10
RETAIN_ROUNDS = 2  # rounds whose keys are all kept; older ones keep a sample
KEEP_FRACTION = 0.05


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


class Totals(dict):
    def add(self, k: str, n: int = 1) -> None:
        self[k] = self.get(k, 0) + n


def run_writers(client, rnd: int, rec: Recorder, server: CofferServer) -> None:
    stop = threading.Event()
    threads = [threading.Thread(target=put_worker, args=(client, rnd, t, stop, rec), daemon=True)
               for t in range(PUT_THREADS)]
    threads += [threading.Thread(target=mpu_worker, args=(client, rnd, t, stop, rec), daemon=True)
                for t in range(MPU_THREADS)]
    for t in threads:
        t.start()
    time.sleep(random.uniform(0.2, 0.9))
    rec.killed.set()
    server.sigkill()
    stop.set()
    for t in threads:
        t.join(timeout=90)
        assert not t.is_alive(), "a writer thread hung after the kill"
    assert not rec.unexpected, (
        f"round {rnd}: requests failed while the server was up:\n" + "\n".join(rec.unexpected[:20]))


def check_keys(client, rnd, rec, listing, settled, settled_sha, totals) -> list[str]:
    problems = []
    prefix = f"r{rnd:04d}/"
    for key in listing:  # phantom keys: only keys some thread wrote may exist
        if key.startswith(prefix) and key not in rec.keys:
            problems.append(f"{key!r} exists but was never written")
        elif not key.startswith(prefix) and key not in settled:
            problems.append(f"{key!r} from an earlier round appeared after restart")
    for key, meta in settled.items():  # earlier rounds' keys: unchanged
        if listing.get(key) != meta:
            problems.append(f"earlier key {key!r}: was {meta}, now {listing.get(key)}")
    for key in random.sample(sorted(settled_sha), min(5, len(settled_sha))):
        sha, _, _ = read_sha(client, key)
        if sha != settled_sha[key]:
            problems.append(f"earlier key {key!r}: body changed")
        totals.add("earlier_rereads")

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
                    f"{key!r} ({h.kind} {h.ops}, acked #{h.acked} of {len(h.attempts)}, stage "
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
                    f"{key!r} ({h.kind} {h.ops}, acked #{h.acked} of {len(h.attempts)}): missing "
                    "after restart although its write was acknowledged")
            state = ABSENT
        if h.acked >= 0:
            totals.add("acked_states_verified")
        if h.in_flight():
            in_flight = h.attempts[-1]
            prior = h.attempts[h.acked] if h.acked >= 0 else ABSENT
            if in_flight != prior:
                applied = state == in_flight
                totals.add(f"inflight_{h.ops[-1]}_{'applied' if applied else 'lost'}")
        if state is not ABSENT:
            settled[key] = listing[key]
            settled_sha[key] = state
    return problems


def check_uploads(client, rec, listing, totals) -> list[str]:
    """Completed uploads are gone, aborted ones too, unfinished ones are
    ours; all that remain are aborted (which must work after the crash)."""
    problems = []
    ours = {h.upload_id: key for key, h in rec.keys.items() if h.upload_id}
    completed = {h.upload_id for key, h in rec.keys.items() if h.upload_id and key in listing}
    uploads = client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
    listed = {u["UploadId"] for u in uploads}
    for uid in rec.aborting:
        totals.add("inflight_abort_" + ("lost" if uid in listed else "applied"))
    for u in uploads:
        if u["UploadId"] in completed:
            problems.append(f"completed upload {u['UploadId']} for {u['Key']!r} still listed")
        elif u["UploadId"] in rec.aborted:
            problems.append(f"aborted upload {u['UploadId']} for {u['Key']!r} listed again")
        elif u["UploadId"] not in ours:
            # A CreateMultipartUpload may commit and then lose its reply to
            # the kill: only such a key may have an upload we do not know.
            h = rec.keys.get(u["Key"])
            if h is None or h.upload_id or h.mpu_stage != "create":
                problems.append(f"unknown upload {u['UploadId']} for {u['Key']!r} listed")
            else:
                totals.add("inflight_create_applied")
    for u in uploads:
        if u["UploadId"] not in completed:
            client.abort_multipart_upload(Bucket=BUCKET, Key=u["Key"], UploadId=u["UploadId"])
    if client.list_multipart_uploads(Bucket=BUCKET).get("Uploads"):
        problems.append("uploads still listed after aborting them all")
    return problems


def retire_old_keys(client, rnd, settled, settled_sha, totals) -> None:
    """Deletes the keys of round rnd - RETAIN_ROUNDS but a sample."""
    old = f"r{rnd - RETAIN_ROUNDS:04d}/"
    doomed = [k for k in settled if k.startswith(old) and random.random() >= KEEP_FRACTION]
    for i in range(0, len(doomed), 1000):
        batch = doomed[i:i + 1000]
        resp = client.delete_objects(Bucket=BUCKET, Delete={
            "Objects": [{"Key": k} for k in batch], "Quiet": True})
        assert not resp.get("Errors"), f"DeleteObjects of old keys failed: {resp['Errors'][:5]}"
    for k in doomed:
        del settled[k]
        del settled_sha[k]
    totals.add("old_keys_deleted", len(doomed))


def audit_after_kill(data_dir, totals) -> tuple[set[str], set[str], list[str]]:
    """Blob files vs metadata right after a kill: (referenced blobs, orphan
    blobs and temp files, problems)."""
    files, tmp = blob_files(data_dir)
    referenced, queued = meta_refs(data_dir, copy=True)
    problems = []
    if referenced - files:
        problems.append(f"after the kill, {len(referenced - files)} referenced blob(s) have no file: "
                        f"{sorted(referenced - files)[:5]}")
    orphans = files - referenced - queued
    totals.add("orphan_blobs_found", len(orphans))
    totals.add("orphan_temp_files_found", len(tmp))
    totals.add("queued_blobs_at_kill", len(files & queued))
    return referenced, orphans | {f"tmp/{t}" for t in tmp}, problems


def audit_after_restart(data_dir, referenced, orphans, totals) -> list[str]:
    """The restarted server's recovery is done and nothing has written yet:
    the blob files are exactly those the metadata references."""
    files, tmp = blob_files(data_dir)
    problems = []
    left = files - referenced
    if left:
        problems.append(f"after restart, {len(left)} unreferenced blob file(s) not reclaimed: "
                        f"{sorted(left)[:5]}")
    if referenced - files:
        problems.append(f"after restart, {len(referenced - files)} referenced blob(s) have no file")
    if tmp:
        problems.append(f"after restart, temp files left: {tmp[:5]}")
    now = files | {f"tmp/{t}" for t in tmp}
    totals.add("orphans_reclaimed", len(orphans - now))
    return problems


@pytest.mark.timeout(max(900, ITERATIONS * 20))
def test_sigkill_durability(tmp_path):
    if ITERATIONS < 1:
        pytest.skip("COFFER_CRASH_ITERATIONS < 1")
    data_dir = tmp_path / "data"
    settled: dict[str, tuple[int, str]] = {}  # older rounds' keys -> (size, etag)
    settled_sha: dict[str, str] = {}
    totals = Totals(rounds=0, failures=0)
    recovery_times = []
    t_start = time.monotonic()
    server = CofferServer(data_dir=data_dir, log_path=tmp_path / "server.log",
                          extra_args=["--gc-grace-secs", "0"])
    SERVERS.append(server)
    try:
        for rnd in range(ITERATIONS):
            if not server.alive():
                server.start()
            client = boto3_client(server, connect_timeout=3, read_timeout=60,
                                  max_pool_connections=PUT_THREADS + MPU_THREADS + 2)
            if rnd == 0:
                client.create_bucket(Bucket=BUCKET)
            rec = Recorder()
            run_writers(client, rnd, rec, server)
            for k, v in rec.stats.items():
                totals.add(k, v)

            referenced, orphans, problems = audit_after_kill(data_dir, totals)
            t0 = time.monotonic()
            server.start()
            recovery_times.append(time.monotonic() - t0)
            problems += audit_after_restart(data_dir, referenced, orphans, totals)
            client = boto3_client(server, read_timeout=60)
            listing = list_all(client)
            problems += check_keys(client, rnd, rec, listing, settled, settled_sha, totals)
            problems += check_uploads(client, rec, listing, totals)
            assert not problems, f"round {rnd}:\n" + "\n".join(problems[:40])
            retire_old_keys(client, rnd, settled, settled_sha, totals)
            totals["rounds"] = rnd + 1
            if (rnd + 1) % AUDIT_EVERY == 0:
                assert server.stop() == 0, "SIGTERM should stop the server cleanly"
                server.start()  # start-up recovery, then a clean stop
                assert server.stop() == 0, "SIGTERM should stop the server cleanly"
                problems = clean_audit(data_dir)
                assert not problems, f"blob audit after round {rnd}:\n" + "\n".join(problems)
                totals.add("clean_audits")

        # Finally, reread a sample of the older objects byte for byte, then
        # audit the blob dir after this last clean restart.
        if not server.alive():
            server.start()
        client = boto3_client(server, read_timeout=60)
        assert list_all(client) == settled
        for key in random.sample(sorted(settled_sha), min(150, len(settled_sha))):
            sha, _, _ = read_sha(client, key)
            assert sha == settled_sha[key], f"{key!r} changed after later rounds"
            totals.add("earlier_rereads")
        assert server.stop() == 0, "SIGTERM should stop the server cleanly"
        server.start()
        assert server.stop() == 0, "SIGTERM should stop the server cleanly"
        problems = clean_audit(data_dir)
        assert not problems, "final blob audit:\n" + "\n".join(problems)
        totals.add("clean_audits")
    except BaseException:
        totals["failures"] += 1
        raise
    finally:
        server.kill()
        SERVERS.remove(server)
        totals["seconds"] = round(time.monotonic() - t_start, 1)
        totals["max_restart_to_ready_s"] = round(max(recovery_times, default=0), 2)
        totals["objects_kept"] = len(settled)
        print("\nCRASH TOTALS " + json.dumps(dict(sorted(totals.items()))))
        if os.environ.get("COFFER_CRASH_TOTALS"):
            with open(os.environ["COFFER_CRASH_TOTALS"], "w") as f:
                json.dump(dict(sorted(totals.items())), f, indent=1)

    # The test must have exercised something, kills included.
    assert totals["put_acked"] > 0 and totals["copy_acked"] > 0 and totals["failed_after_kill"] > 0


def test_planted_orphans_are_reclaimed_and_audited(tmp_path):
    """The audit is not blind and recovery takes every kind of debris: an
    unreferenced blob in v1/ and a temp file planted in a stopped server's
    data dir are gone after the next start; one planted after the restart
    is reported by the audit."""
    data_dir = tmp_path / "data"
    server = CofferServer(data_dir=data_dir, log_path=tmp_path / "server.log",
                          extra_args=["--gc-grace-secs", "0"])
    SERVERS.append(server)
    try:
        server.start()
        client = boto3_client(server)
        client.create_bucket(Bucket=BUCKET)
        body = os.urandom(300 * 1024)  # large enough to live in a blob file
        client.put_object(Bucket=BUCKET, Key="kept", Body=body)
        server.sigkill()
        files, _ = blob_files(data_dir)
        referenced, _ = meta_refs(data_dir, copy=True)
        assert files and files == referenced, (files, referenced)
        orphan = "0123456789abcdef0123456789abcdef"
        blobs = data_dir / "blobs"
        (blobs / "v1" / orphan[:2] / orphan).write_bytes(b"debris")
        (blobs / "tmp" / f"{'f' * 32}.tmp").write_bytes(b"half")
        server.start()
        files, tmp = blob_files(data_dir)
        assert orphan not in files and not tmp, (files, tmp)
        assert read_sha(boto3_client(server), "kept")[0] == sha256_bytes(body)
        server.stop()
        assert clean_audit(data_dir) == []
        (blobs / "v1" / orphan[:2] / orphan).write_bytes(b"debris")
        problems = clean_audit(data_dir)
        assert len(problems) == 1 and "orphans not reclaimed" in problems[0], problems
    finally:
        server.kill()
        SERVERS.remove(server)
