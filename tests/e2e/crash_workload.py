"""The SIGKILL test's workload and its model of allowed outcomes.

Writer threads (see test_crash.py) each own their keys: a key is only ever
written by one thread, one request at a time, so after a kill the set of
states a key may be in is exact: its last acknowledged state, or the state
the one unacknowledged request in flight would have produced.

* put_worker: PutObject of new keys (1 KiB-1 MiB, mostly small), overwrites
  and deletes of keys it wrote before, and CopyObject of one of its
  acknowledged objects to a new key (the copy's body must be the source's).
* mpu_worker: multipart uploads of 2-3 parts, then Complete (sometimes
  followed by a CopyObject of the result) or Abort. An upload that was not
  being completed must never become an object; an acknowledged Abort's
  upload must never be listed again.
"""

from __future__ import annotations

import os
import random
import threading
from dataclasses import dataclass, field

from coffer_e2e import MiB, md5_hex, multipart_etag, sha256_bytes

BUCKET = "crash-durability"
ABSENT = None  # the state of a key that does not exist


@dataclass
class KeyHistory:
    kind: str  # "put" (Put/Copy/DeleteObject) or "mpu"
    # State after each attempted write, in order: sha256 of the body, or
    # ABSENT for a delete. Only the last attempt can be unacknowledged,
    # because a writer thread stops at its first failure.
    attempts: list = field(default_factory=list)
    etags: list = field(default_factory=list)
    ops: list = field(default_factory=list)  # "put", "overwrite", "delete", "copy", "mpu"
    acked: int = -1  # index of the last acknowledged attempt
    # Multipart only: how far the upload got ("create", "parts", "completing",
    # "completed", "aborting", "aborted").
    mpu_stage: str = ""
    upload_id: str = ""

    def allowed_states(self) -> set:
        states = {self.attempts[self.acked] if self.acked >= 0 else ABSENT}
        for j in range(self.acked + 1, len(self.attempts)):
            if self.kind == "mpu" and self.mpu_stage != "completing":
                continue  # Complete never sent: must not become an object
            states.add(self.attempts[j])
        return states

    def in_flight(self) -> bool:
        """Whether the last attempt was sent but never acknowledged."""
        if self.acked >= len(self.attempts) - 1:
            return False
        return self.kind == "put" or self.mpu_stage == "completing"


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.keys: dict[str, KeyHistory] = {}
        self.killed = threading.Event()
        self.unexpected: list[str] = []
        self.aborted: set[str] = set()  # upload ids whose Abort was acknowledged
        self.aborting: dict[str, str] = {}  # upload id -> key: Abort in flight at the kill
        self.stats = {"put_acked": 0, "overwrite_acked": 0, "delete_acked": 0, "copy_acked": 0,
                      "mpu_acked": 0, "abort_acked": 0, "failed_after_kill": 0}

    def attempt(self, key: str, kind: str, op: str, state, etag=None) -> int:
        with self.lock:
            h = self.keys.setdefault(key, KeyHistory(kind=kind))
            h.attempts.append(state)
            h.etags.append(etag)
            h.ops.append(op)
            return len(h.attempts) - 1

    def ack(self, key: str, idx: int, stat: str) -> None:
        with self.lock:
            self.keys[key].acked = idx
            self.stats[stat] += 1

    def bad(self, text: str) -> None:
        with self.lock:
            self.unexpected.append(text)

    def failed(self, key: str, what: str, exc: BaseException) -> None:
        # The kill flag is set before the SIGKILL is sent, so an error seen
        # while it is clear cannot have been caused by the kill.
        with self.lock:
            if self.killed.is_set():
                self.stats["failed_after_kill"] += 1
            else:
                self.unexpected.append(f"{what} {key!r} failed before the kill: {exc!r}")


def small_size(rng: random.Random) -> int:
    """1 KiB-1 MiB, log-uniform: mostly small bodies, some inline, some not."""
    return int(1024 * 1024 ** rng.random())


def put_worker(client, rnd: int, tid: int, stop: threading.Event, rec: Recorder):
    rng = random.Random()
    # Keys of this thread whose last write was acknowledged and which exist:
    # key -> (sha256, md5) of the body.
    mine: dict[str, tuple[str, str]] = {}
    n = 0

    def new_key() -> str:
        nonlocal n
        n += 1
        return f"r{rnd:04d}/put{tid}/{n:05d}"

    while not stop.is_set():
        roll = rng.random()
        if mine and roll < 0.10:
            key = rng.choice(sorted(mine))
            del mine[key]
            idx = rec.attempt(key, "put", "delete", ABSENT)
            try:
                client.delete_object(Bucket=BUCKET, Key=key)
            except Exception as e:  # noqa: BLE001 - any failure ends the thread
                rec.failed(key, "DeleteObject", e)
                return
            rec.ack(key, idx, "delete_acked")
            continue
        if mine and roll < 0.22:
            # CopyObject of an acknowledged object (stable: only this thread
            # writes it, and it is not writing it now) to a new key.
            src = rng.choice(sorted(mine))
            sha, md5 = mine[src]
            key = new_key()
            idx = rec.attempt(key, "put", "copy", sha, f'"{md5}"')
            try:
                resp = client.copy_object(Bucket=BUCKET, Key=key,
                                          CopySource={"Bucket": BUCKET, "Key": src})
            except Exception as e:  # noqa: BLE001
                rec.failed(key, "CopyObject", e)
                return
            got = resp["CopyObjectResult"]["ETag"]
            if got != f'"{md5}"':
                rec.bad(f"CopyObject {src!r} -> {key!r}: ETag {got} != source md5 {md5}")
            rec.ack(key, idx, "copy_acked")
            mine[key] = (sha, md5)
            continue
        op = "put"
        if mine and roll < 0.35:
            key = rng.choice(sorted(mine))  # overwrite
            del mine[key]
            op = "overwrite"
        else:
            key = new_key()
        body = os.urandom(small_size(rng))
        sha, md5 = sha256_bytes(body), md5_hex(body)
        idx = rec.attempt(key, "put", op, sha, f'"{md5}"')
        try:
            resp = client.put_object(Bucket=BUCKET, Key=key, Body=body)
        except Exception as e:  # noqa: BLE001
            rec.failed(key, "PutObject", e)
            return
        if resp["ETag"] != f'"{md5}"':
            rec.bad(f"PutObject {key!r}: ETag {resp['ETag']} != md5")
        rec.ack(key, idx, f"{op}_acked")
        mine[key] = (sha, md5)


def mpu_worker(client, rnd: int, tid: int, stop: threading.Event, rec: Recorder):
    rng = random.Random()
    n = 0
    while not stop.is_set():
        key = f"r{rnd:04d}/mpu{tid}/{n:04d}"
        n += 1
        abort = rng.random() < 0.3
        nparts = rng.choice([2, 3])
        parts = [os.urandom(5 * MiB) for _ in range(nparts - 1)]
        parts.append(os.urandom(rng.randint(1, 2 * MiB)))
        whole = b"".join(parts)
        idx = rec.attempt(key, "mpu", "mpu", sha256_bytes(whole), multipart_etag(parts))
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
            if abort:
                h.mpu_stage = stage = "aborting"
                with rec.lock:
                    rec.aborting[uid] = key
                client.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=uid)
                with rec.lock:
                    del rec.aborting[uid]
                    rec.aborted.add(uid)
                    rec.stats["abort_acked"] += 1
                h.mpu_stage = "aborted"
                continue
            h.mpu_stage = stage = "completing"
            resp = client.complete_multipart_upload(
                Bucket=BUCKET, Key=key, UploadId=uid, MultipartUpload={"Parts": done})
        except Exception as e:  # noqa: BLE001
            rec.failed(key, f"multipart ({stage})", e)
            return
        if resp["ETag"] != multipart_etag(parts):
            rec.bad(f"CompleteMultipartUpload {key!r}: ETag {resp['ETag']} != {multipart_etag(parts)}")
        h.mpu_stage = "completed"
        rec.ack(key, idx, "mpu_acked")
        if rng.random() < 0.5 and not stop.is_set():
            # A copy of a multipart object: one part now, its ETag the MD5.
            dst = key + ".copy"
            md5 = md5_hex(whole)
            cidx = rec.attempt(dst, "put", "copy", sha256_bytes(whole), f'"{md5}"')
            try:
                resp = client.copy_object(Bucket=BUCKET, Key=dst,
                                          CopySource={"Bucket": BUCKET, "Key": key})
            except Exception as e:  # noqa: BLE001
                rec.failed(dst, "CopyObject", e)
                return
            if resp["CopyObjectResult"]["ETag"] != f'"{md5}"':
                rec.bad(f"CopyObject {key!r} -> {dst!r}: ETag {resp['CopyObjectResult']['ETag']} "
                        f"!= md5 {md5}")
            rec.ack(dst, cidx, "copy_acked")
