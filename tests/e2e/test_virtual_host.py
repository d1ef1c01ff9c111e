"""Virtual-hosted-style requests: `coffer server --domain localhost`.

With a domain configured, `Host: BUCKET.localhost:PORT` addresses bucket
BUCKET and the path is the object key. The machine's resolver does not
resolve `*.localhost`, so for boto3 (in-process) name resolution is patched
to send any `*.localhost` to 127.0.0.1; for s3cmd (a subprocess) the bucket
host is added to /etc/hosts when running as root (restored afterwards).
"""

from __future__ import annotations

import http.client
import os
import socket

import pytest

from coffer_e2e import (
    SERVERS,
    CofferServer,
    boto3_client,
    empty_and_delete_bucket,
    make_random_file,
    python_bin_dir,
    random_bytes,
    require_tool,
    run,
    sha256_file,
    unique_bucket,
)


def _start(tmp_path_factory, **kw) -> CofferServer:
    base = tmp_path_factory.mktemp("coffer-vhost")
    server = CofferServer(data_dir=base / "data", log_path=base / "server.log", **kw)
    SERVERS.append(server)
    server.start()
    return server


@pytest.fixture(scope="module")
def vhost_server(tmp_path_factory):
    server = _start(tmp_path_factory, domains=["localhost"])
    try:
        yield server
    finally:
        server.stop()
        SERVERS.remove(server)


@pytest.fixture
def localhost_resolves(monkeypatch):
    """In this process, any `*.localhost` name resolves to 127.0.0.1."""
    real = socket.getaddrinfo
    looked_up = []

    def fake(host, *args, **kwargs):
        if isinstance(host, bytes):
            host = host.decode()
        if isinstance(host, str) and (host == "localhost" or host.endswith(".localhost")):
            looked_up.append(host)
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return looked_up


@pytest.fixture
def sent_host_headers(monkeypatch):
    """The Host header of every HTTP request this process sends."""
    hosts = []
    real = http.client.HTTPConnection.putheader

    def putheader(self, header, *values):
        if isinstance(header, bytes):
            header = header.decode()
        if header.lower() == "host":
            hosts.append(values[0].decode() if isinstance(values[0], bytes) else values[0])
        return real(self, header, *values)

    monkeypatch.setattr(http.client.HTTPConnection, "putheader", putheader)
    return hosts


def _vhost_client(server):
    return boto3_client(server, endpoint_url=f"http://localhost:{server.port}",
                        s3={"addressing_style": "virtual"})


def test_boto3_virtual_hosted_style(vhost_server, localhost_resolves, sent_host_headers):
    s3 = _vhost_client(vhost_server)
    urls = []
    s3.meta.events.register("before-send.s3.*",
                            lambda request, **kw: urls.append((kw["event_name"], request.url)))
    name = unique_bucket("vhost")
    bhost = f"{name}.localhost:{vhost_server.port}"
    try:
        s3.create_bucket(Bucket=name)
        body = random_bytes(100_000)
        s3.put_object(Bucket=name, Key="dir/a b+c.bin", Body=body)
        s3.put_object(Bucket=name, Key="dir/other.txt", Body=b"x")
        assert s3.get_object(Bucket=name, Key="dir/a b+c.bin")["Body"].read() == body
        listed = s3.list_objects_v2(Bucket=name, Prefix="dir/")
        assert [o["Key"] for o in listed["Contents"]] == ["dir/a b+c.bin", "dir/other.txt"]
        assert s3.head_object(Bucket=name, Key="dir/other.txt")["ContentLength"] == 1

        # The requests really went to BUCKET.localhost:PORT with the key as path.
        for event, url in urls:
            assert url.startswith(f"http://{bhost}/"), (event, url)
        assert any(u == f"http://{bhost}/dir/a%20b%2Bc.bin" for _, u in urls), urls
        assert sent_host_headers, "no Host header captured"
        assert set(sent_host_headers) == {bhost}, sent_host_headers
        assert f"{name}.localhost" in localhost_resolves

        # The same bucket and objects, seen path-style at 127.0.0.1.
        path_style = boto3_client(vhost_server)
        got = path_style.get_object(Bucket=name, Key="dir/a b+c.bin")["Body"].read()
        assert got == body
        assert name in [b["Name"] for b in path_style.list_buckets()["Buckets"]]
    finally:
        try:
            empty_and_delete_bucket(s3, name)
        except Exception as e:
            print(f"cleanup of bucket {name} failed: {e!r}")
    assert name not in [b["Name"] for b in boto3_client(vhost_server).list_buckets()["Buckets"]]


def test_domains_from_env(tmp_path_factory, localhost_resolves, sent_host_headers):
    server = _start(tmp_path_factory, extra_env={"COFFER_DOMAINS": "localhost"})
    try:
        s3 = _vhost_client(server)
        name = unique_bucket("vhenv")
        s3.create_bucket(Bucket=name)
        s3.put_object(Bucket=name, Key="k", Body=b"env domains")
        assert boto3_client(server).get_object(Bucket=name, Key="k")["Body"].read() == b"env domains"
        assert f"{name}.localhost:{server.port}" in sent_host_headers
    finally:
        server.stop()
        SERVERS.remove(server)


def test_without_domain_host_is_not_a_bucket(coffer, localhost_resolves, sent_host_headers):
    # The shared server has no --domain: a bucket-in-host request is then
    # path-style, so `PUT /` to BUCKET.localhost is not a CreateBucket of BUCKET.
    from botocore.exceptions import ClientError

    s3 = _vhost_client(coffer)
    name = unique_bucket("novhost")
    try:
        s3.create_bucket(Bucket=name)
        created = True
    except ClientError:
        created = False
    names = [b["Name"] for b in boto3_client(coffer).list_buckets()["Buckets"]]
    assert not created or name not in names, (created, names)


def test_s3cmd_virtual_hosted_style(vhost_server, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to add BUCKET.localhost to /etc/hosts for the s3cmd subprocess")
    cand = python_bin_dir() / "s3cmd"
    binary = require_tool(str(cand) if cand.exists() else "s3cmd", "s3cmd")
    name = unique_bucket("vhs3cmd")
    port = vhost_server.port
    cfg = tmp_path / "s3cfg"
    cfg.write_text(
        "[default]\n"
        f"access_key = {vhost_server.access_key}\n"
        f"secret_key = {vhost_server.secret_key}\n"
        f"host_base = localhost:{port}\n"
        f"host_bucket = %(bucket)s.localhost:{port}\n"
        "bucket_location = us-east-1\n"
        "use_https = False\n"
        "signature_v2 = False\n"
        "progress_meter = False\n"
    )
    env = dict(os.environ, HOME=str(tmp_path))

    def s3cmd(*args, check=True):
        return run([binary, "-c", str(cfg), "--no-progress", *args], env=env, check=check)

    hosts = "/etc/hosts"
    with open(hosts, "rb") as f:
        original = f.read()
    try:
        with open(hosts, "ab") as f:  # in place: /etc/hosts may be a bind mount
            f.write(f"\n127.0.0.1 {name}.localhost\n".encode())
        s3cmd("mb", f"s3://{name}")
        src = tmp_path / "up.bin"
        digest = make_random_file(src, 300_000)
        out = s3cmd("--debug", "put", str(src), f"s3://{name}/dir/up file.bin")
        log = out.stdout_text + out.stderr_text
        assert f"{name}.localhost:{port}" in log, log[-3000:]
        listing = s3cmd("ls", f"s3://{name}/dir/").stdout_text
        assert f"s3://{name}/dir/up file.bin" in listing, listing
        dst = tmp_path / "down.bin"
        s3cmd("get", f"s3://{name}/dir/up file.bin", str(dst))
        assert sha256_file(dst) == digest
        # Cross-check path-style through boto3 at 127.0.0.1.
        s3 = boto3_client(vhost_server)
        assert s3.head_object(Bucket=name, Key="dir/up file.bin")["ContentLength"] == 300_000
        s3cmd("del", f"s3://{name}/dir/up file.bin")
        s3cmd("rb", f"s3://{name}")
        assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    finally:
        with open(hosts, "wb") as f:
            f.write(original)
