"""`coffer master-key rotate` against a running server: the server reports
the keys it holds, takes the new key before anything is re-sealed, every
stored secret is re-sealed under it while live keys keep working, then the
old key is dropped (and kept in `master.key.retired-<id>`). Restarted with
the new key alone, every key still authenticates (they were re-sealed);
with the old key alone, the server refuses to start. With the server
stopped, the rotation is refused unless `--servers-stopped` says so (no
server reports its keys), then works too."""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import threading
import time
import urllib.parse

from coffer_e2e import (
    SERVERS,
    CofferServer,
    boto3_client,
    coffer_bin,
    create_key,
    create_project,
    create_user,
    unique_bucket,
)


def master_key_cmd(*args, timeout=120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COFFER_")}
    return subprocess.run([str(coffer_bin()), "master-key", *[str(a) for a in args]], env=env,
                          capture_output=True, text=True, timeout=timeout)


def generate_key(path) -> str:
    """A new key file (`coffer master-key generate`); gives its id."""
    r = master_key_cmd("generate", "--out", path)
    assert r.returncode == 0, r.stderr
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o600)
    return r.stdout.strip()


def key_ids(path) -> list[str]:
    r = master_key_cmd("id", "--key-file", path)
    assert r.returncode == 0, r.stderr
    return [line.split()[0] for line in r.stdout.splitlines()]


def keys_in(path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def console_sign_in(port: int, access_key: str, secret_key: str) -> str:
    """The session cookie of an operator sign-in on the console."""
    form = urllib.parse.urlencode({"kind": "operator", "access_key": access_key, "secret_key": secret_key})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/signin", body=form, headers={"Content-Type": "application/x-www-form-urlencoded"})
        r = conn.getresponse()
        r.read()
        assert r.status == 303, r.status
        cookie = r.getheader("Set-Cookie") or ""
        assert cookie.startswith("coffer_session="), cookie
        return cookie.split(";", 1)[0].split("=", 1)[1]
    finally:
        conn.close()


def console_get(port: int, cookie: str) -> tuple[int, str | None]:
    """GET /buckets with the session cookie: (status, Location); 200 while
    the session opens, a redirect to the sign-in page once it does not."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/buckets", headers={"Cookie": f"coffer_session={cookie}"})
        r = conn.getresponse()
        r.read()
        return r.status, r.getheader("Location")
    finally:
        conn.close()


def console_status(port: int, cookie: str) -> int:
    return console_get(port, cookie)[0]


def servers_on(data_dir) -> list[str]:
    """`coffer master-key servers`: the keys each running server reports,
    one line per server."""
    r = master_key_cmd("servers", "--data-dir", data_dir)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def authenticates(server, key) -> bool:
    try:
        boto3_client(server, access_key=key.access_key, secret_key=key.secret_key).list_buckets()
        return True
    except Exception:  # noqa: BLE001 - any refusal counts
        return False


class LiveTraffic:
    """Threads doing PUT/GET (a project key) and ListBuckets (the operator
    key) in a loop; every failure is kept."""

    def __init__(self, server, key, bucket):
        self.server, self.key, self.bucket = server, key, bucket
        self.stop = threading.Event()
        self.errors: list = []
        self.done = 0
        self.threads = [threading.Thread(target=self._objects), threading.Thread(target=self._operator)]

    def _objects(self):
        s3 = boto3_client(self.server, access_key=self.key.access_key, secret_key=self.key.secret_key)
        n = 0
        while not self.stop.is_set():
            body = f"body {n}".encode() * 50
            try:
                s3.put_object(Bucket=self.bucket, Key=f"live/{n % 20}", Body=body)
                got = s3.get_object(Bucket=self.bucket, Key=f"live/{n % 20}")["Body"].read()
                assert got == body
            except Exception as e:  # noqa: BLE001 - any failure fails the test
                self.errors.append(e)
            n += 1
            self.done += 1

    def _operator(self):
        s3 = boto3_client(self.server)
        while not self.stop.is_set():
            try:
                s3.list_buckets()
            except Exception as e:  # noqa: BLE001
                self.errors.append(e)
            self.done += 1
            time.sleep(0.02)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)


def test_rotation_while_serving_keeps_every_key_working(tmp_path):
    server = CofferServer(data_dir=tmp_path / "data", log_path=tmp_path / "server.log")
    SERVERS.append(server)
    try:
        server.start()
        cport = urllib.parse.urlsplit(server.console_endpoint()).port
        key_file = server.data_dir / "master.key"
        old_key = keys_in(key_file)
        assert len(old_key) == 1
        [old_id] = key_ids(key_file)
        root = create_project(server, "rotate")
        user = create_user(server, root.project, "alice", preset="full-access")
        bucket = unique_bucket("rotate")
        root.s3().create_bucket(Bucket=bucket)
        cookie = console_sign_in(cport, server.access_key, server.secret_key)
        assert console_status(cport, cookie) == 200
        new_file = tmp_path / "new.key"
        new_id = generate_key(new_file)
        assert new_id != old_id and len(new_id) == 8
        [reported] = servers_on(server.data_dir)
        assert f"keys {old_id}," in reported, reported

        with LiveTraffic(server, user, bucket) as live:
            time.sleep(1)
            rotate = subprocess.Popen(
                [str(coffer_bin()), "master-key", "rotate", "--new-key-file", str(new_file),
                 "--data-dir", str(server.data_dir)],
                env={k: v for k, v in os.environ.items() if not k.startswith("COFFER_")},
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            # Made while the rotation runs (the server seals under whichever
            # key it holds first at that moment).
            time.sleep(1)
            during = create_key(server, root.project)
            assert console_status(cport, cookie) == 200, "both keys open while rotating"
            out, err = rotate.communicate(timeout=120)
            assert rotate.returncode == 0, err
            assert f"sealed under {new_id}" in out, out
            assert "dropped" in out and old_id in out, out
            # The server takes the file with the new key alone; traffic goes on.
            time.sleep(2.5)
            after = create_key(server, root.project)
            time.sleep(0.5)
        assert not live.errors, live.errors[:5]
        assert live.done > 20, live.done

        assert "running servers on the new key: 1" in out, out
        assert keys_in(key_file) == keys_in(new_file), "the file holds only the new key"
        assert key_ids(key_file) == [new_id]
        assert oct(key_file.stat().st_mode & 0o777) == oct(0o600)
        # The old key is kept beside it, for metadata backups from before.
        retired = server.data_dir / f"master.key.retired-{old_id}"
        assert key_ids(retired) == [old_id] and keys_in(retired) == old_key
        assert oct(retired.stat().st_mode & 0o777) == oct(0o600)
        assert f"keys {new_id}," in servers_on(server.data_dir)[0]
        for k in (root, user, during, after):
            assert authenticates(server, k), k.access_key
        # The session sealed under the dropped key has ended (back to the
        # sign-in page); a new one works.
        assert console_get(cport, cookie) == (303, "/signin")
        assert console_status(cport, console_sign_in(cport, server.access_key, server.secret_key)) == 200
        log = server.log_path.read_text(errors="replace")
        assert "master keys reloaded" in log and new_id in log
        for secret in (old_key[0], keys_in(new_file)[0]):
            assert secret not in log, "a key in the log"

        # Restarted with the new key alone: the old keys were re-sealed.
        assert server.stop() == 0
        assert servers_on(server.data_dir) == [], "a stopped server's report is removed"
        server.start()
        for k in (root, user, during, after):
            assert authenticates(server, k), k.access_key
        assert root.s3().get_object(Bucket=bucket, Key="live/0")["Body"].read().startswith(b"body")
        assert server.stop() == 0

        # With the old key alone, nothing opens: the server refuses to start.
        old_dir = tmp_path / "old-key"
        shutil.copytree(server.data_dir, old_dir)
        (old_dir / "master.key").write_text(old_key[0] + "\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("COFFER_")}
        env.update(COFFER_ROOT_ACCESS_KEY=server.access_key, COFFER_ROOT_SECRET_KEY=server.secret_key)
        start = subprocess.run([str(coffer_bin()), "server", "--data-dir", str(old_dir), "--listen", "127.0.0.1:0",
                                "--console-listen", "127.0.0.1:0"], env=env, capture_output=True, text=True,
                               timeout=60)
        assert start.returncode != 0, start.stderr
        assert "master key" in start.stderr and old_id in start.stderr, start.stderr
    finally:
        server.kill()
        SERVERS.remove(server)


def test_rotation_with_the_server_stopped(tmp_path):
    key_file = tmp_path / "keys" / "coffer.key"
    key_file.parent.mkdir()
    server = CofferServer(data_dir=tmp_path / "data", log_path=tmp_path / "server.log",
                          extra_args=["--master-key-file", str(key_file)])
    SERVERS.append(server)
    try:
        server.start()
        [old_id] = key_ids(key_file)
        root = create_project(server, "offline")
        user = create_user(server, root.project, "bob", preset="read-only")
        assert server.stop() == 0

        new_file = tmp_path / "new.key"
        new_id = generate_key(new_file)
        # The same key again is refused; a file of two keys is not a new key.
        r = master_key_cmd("rotate", "--new-key-file", key_file, "--master-key-file", key_file,
                           "--data-dir", server.data_dir)
        assert r.returncode != 0 and "nothing to rotate" in r.stderr, r.stderr
        # No server reports its keys: refused (not the servers' metadata?)
        # unless told none runs.
        rotate = ["rotate", "--new-key-file", new_file, "--master-key-file", key_file, "--data-dir", server.data_dir]
        refused = master_key_cmd(*rotate, "--keep-old")
        assert refused.returncode != 0, refused.stdout
        assert "no running server" in refused.stderr and "--servers-stopped" in refused.stderr, refused.stderr
        assert key_ids(key_file) == [old_id], "nothing changed"
        keep = master_key_cmd(*rotate, "--servers-stopped", "--keep-old")
        assert keep.returncode == 0, keep.stderr
        assert key_ids(key_file) == [new_id, old_id], "--keep-old: new first, old kept"

        # A server on the two keys serves every key; then finish the rotation.
        server.start()
        for k in (root, user):
            assert authenticates(server, k), k.access_key
        assert server.stop() == 0
        assert master_key_cmd(*rotate).returncode != 0, "still refused without --servers-stopped"
        done = master_key_cmd(*rotate, "--servers-stopped")
        assert done.returncode == 0, done.stderr
        assert "finished" in done.stdout and "dropped" in done.stdout, done.stdout
        assert key_ids(key_file) == [new_id]
        assert key_ids(key_file.parent / f"coffer.key.retired-{old_id}") == [old_id]

        server.start()
        for k in (root, user):
            assert authenticates(server, k), k.access_key
    finally:
        server.kill()
        SERVERS.remove(server)
