"""Graceful shutdown with real SIGTERM: uploads running when the signal
arrives finish and are acknowledged, new connections are refused, usage
counters are flushed after the last request (they are counted), the process
exits 0; a request still running when `--shutdown-grace-secs` runs out is cut
off and stores nothing. After a restart every acknowledged object reads back
whole, and nothing unacknowledged is half there."""

from __future__ import annotations

import hashlib
import http.client
import signal
import socket
import threading
import time
import urllib.parse

from coffer_e2e import SERVERS, CofferServer, Key, boto3_client, coffer_cli, coffer_cli_json, unique_name

SIZE = 3 * 1024 * 1024


def slow_put(client, bucket: str, key: str, data: bytes, delay: float) -> int:
    """PUTs `data` through a presigned URL, 64 KiB every `delay` s, over one
    connection: the upload is on the wire the whole time (an SDK would read
    and hash a slow body before sending it). Returns the status."""
    url = urllib.parse.urlsplit(client.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=600))
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        conn.putrequest("PUT", f"{url.path}?{url.query}", skip_accept_encoding=True)
        conn.putheader("Content-Length", str(len(data)))
        conn.endheaders()
        for i in range(0, len(data), 64 * 1024):
            conn.send(data[i:i + 64 * 1024])
            time.sleep(delay)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def _server(tmp_path, grace):
    s = CofferServer(data_dir=tmp_path / "data", log_path=tmp_path / "server.log",
                     extra_args=["--meter-interval-secs", "3600", "--shutdown-grace-secs", str(grace)])
    SERVERS.append(s)
    return s


def _project(server):
    name = unique_name("shutdown")
    coffer_cli(server, "project", "create", name)
    k = coffer_cli_json(server, "credentials", "create", "--project", name)
    return name, Key(server, k["access_key"], k["secret_key"], name, k["user"])


def test_sigterm_lets_uploads_finish_and_flushes_usage(tmp_path):
    server = _server(tmp_path, grace=60).start()
    try:
        project, root = _project(server)
        s3 = root.s3()
        s3.create_bucket(Bucket="drain")
        acked: dict[str, str] = {}
        sent: dict[str, str] = {}
        lock = threading.Lock()
        signalled = threading.Event()
        after_signal = []

        def uploader(i):
            client = root.s3()
            n = 0
            while True:
                key = f"t{i}-{n}"
                data = hashlib.sha256(key.encode()).digest() * (SIZE // 32)
                with lock:
                    sent[key] = hashlib.sha256(data).hexdigest()
                try:
                    # About 1.5 s per upload.
                    if slow_put(client, "drain", key, data, 0.03) != 200:
                        return
                except OSError:
                    return
                with lock:
                    acked[key] = sent[key]
                    if signalled.is_set():
                        after_signal.append(key)
                n += 1
                if signalled.is_set():
                    return

        threads = [threading.Thread(target=uploader, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        time.sleep(2.2)
        signalled.set()
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        # New connections are refused while the others drain.
        with socket.socket() as probe:
            probe.settimeout(2)
            refused = probe.connect_ex(("127.0.0.1", server.port)) != 0
        for t in threads:
            t.join(timeout=60)
        assert server.proc.wait(timeout=60) == 0
        assert refused, "a new connection was accepted after SIGTERM"
        assert after_signal, "no upload in flight at SIGTERM was let finish"
    finally:
        server.kill()

    server.start()
    try:
        s3 = root.s3()
        listed = {o["Key"] for o in s3.list_objects_v2(Bucket="drain").get("Contents", [])}
        for key, digest in acked.items():
            body = s3.get_object(Bucket="drain", Key=key)["Body"].read()
            assert hashlib.sha256(body).hexdigest() == digest, key
        for key in listed - set(acked):
            # Stored but not acknowledged (the answer was lost): whole, never half.
            body = s3.get_object(Bucket="drain", Key=key)["Body"].read()
            assert hashlib.sha256(body).hexdigest() == sent[key], key
        # The usage of every request, the drained ones included, was flushed
        # at shutdown (the interval is an hour).
        usage = coffer_cli_json(server, "usage", "show", "--project", project)
        assert usage["totals"]["requests"]["put"] >= len(acked), usage
        assert usage["totals"]["bytes_in"] >= len(acked) * SIZE, usage
    finally:
        server.kill()
        SERVERS.remove(server)


def test_a_request_past_the_grace_is_cut_off_and_stores_nothing(tmp_path):
    server = _server(tmp_path, grace=2).start()
    try:
        s3 = boto3_client(server)
        s3.create_bucket(Bucket="cut")
        # An upload that would take ~10 s: still running when the grace ends.
        data = b"z" * SIZE
        failed = []

        def slow():
            try:
                failed.append(slow_put(boto3_client(server), "cut", "slow", data, 0.2))
            except OSError as e:  # cut off
                failed.append(e)

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(1)
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=30) == 0
        took = time.monotonic() - started
        assert 1.5 <= took < 15, took
        t.join(timeout=60)
        assert failed and failed[0] != 200, f"the upload cut off at shutdown was acknowledged: {failed}"
    finally:
        server.kill()

    server.start()
    try:
        s3 = boto3_client(server)
        assert s3.list_objects_v2(Bucket="cut").get("KeyCount", 0) == 0
    finally:
        server.kill()
        SERVERS.remove(server)
