"""`coffer backup` while the server takes writes, and `coffer restore` into
a new data directory: every object acknowledged before the backup began
reads back whole from a server started on the restored directory, and the
writers never stopped while the backup ran."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import threading
import time

from coffer_e2e import SERVERS, CofferServer, boto3_client, coffer_bin

SIZE = 100 * 1024  # above the inline limit: the objects are blobs


def _body(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest() * (SIZE // 32)


def test_backup_under_load_restores_every_acknowledged_object(tmp_path):
    server = CofferServer(data_dir=tmp_path / "data", log_path=tmp_path / "server.log")
    SERVERS.append(server)
    server.start()
    restored = None
    try:
        s3 = boto3_client(server)
        s3.create_bucket(Bucket="kept")
        acked: list[tuple[float, str]] = []
        errors: list[Exception] = []
        stop = threading.Event()

        def writer(i):
            client = boto3_client(server)
            n = 0
            while not stop.is_set():
                key = f"w{i}/{n:05d}"
                try:
                    client.put_object(Bucket="kept", Key=key, Body=_body(key))
                except Exception as e:  # noqa: BLE001 - any failure fails the test
                    errors.append(e)
                    return
                acked.append((time.monotonic(), key))
                n += 1

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        began = time.monotonic()
        before = {k for _, k in list(acked)}
        out = tmp_path / "meta.backup"
        r = subprocess.run([str(coffer_bin()), "backup", "--data-dir", str(server.data_dir), "--out", str(out)],
                           capture_output=True, text=True, timeout=120)
        ended = time.monotonic()
        assert r.returncode == 0, r.stderr
        assert "backup written" in r.stdout, r.stdout
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(timeout=60)
        assert not errors, errors
        during = [k for at, k in acked if began <= at <= ended + 0.5]
        assert before and len(acked) > len(before), "the writers kept going"
        assert during, "no write was acknowledged while the backup ran"
        # A second backup to the same file is refused, the first left alone.
        again = subprocess.run([str(coffer_bin()), "backup", "--data-dir", str(server.data_dir), "--out", str(out)],
                               capture_output=True, text=True, timeout=60)
        assert again.returncode != 0 and "never overwrites" in again.stderr, again.stderr
        assert server.stop() == 0

        # Restore into a new directory; blobs and the master key are copied apart.
        new = tmp_path / "restored"
        r = subprocess.run([str(coffer_bin()), "restore", "--from", str(out), "--data-dir", str(new)],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        shutil.copytree(server.data_dir / "blobs", new / "blobs")
        shutil.copy2(server.data_dir / "master.key", new / "master.key")
        again = subprocess.run([str(coffer_bin()), "restore", "--from", str(out), "--data-dir", str(new)],
                               capture_output=True, text=True, timeout=60)
        assert again.returncode != 0 and "without metadata" in again.stderr, again.stderr

        # Restored without its master key: refused, not served with every secret unreadable.
        keyless = tmp_path / "keyless"
        r = subprocess.run([str(coffer_bin()), "restore", "--from", str(out), "--data-dir", str(keyless)],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        env = {**__import__("os").environ, "COFFER_ROOT_ACCESS_KEY": server.access_key,
               "COFFER_ROOT_SECRET_KEY": server.secret_key}
        start = subprocess.run([str(coffer_bin()), "server", "--data-dir", str(keyless), "--listen", "127.0.0.1:0",
                                "--console-listen", "127.0.0.1:0"], env=env, capture_output=True, text=True,
                               timeout=60)
        assert start.returncode != 0 and "master key" in start.stderr, start.stderr
        assert not (keyless / "master.key").exists(), "the wrong new key was taken back"

        restored = CofferServer(data_dir=new, log_path=tmp_path / "restored.log")
        SERVERS.append(restored)
        restored.start()
        s3 = boto3_client(restored)
        listed = set()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="kept"):
            listed |= {o["Key"] for o in page.get("Contents", [])}
        assert before <= listed, sorted(before - listed)[:5]
        for key in sorted(before):
            assert s3.get_object(Bucket="kept", Key=key)["Body"].read() == _body(key), key
        # Whatever else the snapshot holds is whole too.
        for key in sorted(listed - before)[:50]:
            assert s3.get_object(Bucket="kept", Key=key)["Body"].read() == _body(key), key
    finally:
        server.kill()
        SERVERS.remove(server)
        if restored is not None:
            restored.kill()
            SERVERS.remove(restored)
