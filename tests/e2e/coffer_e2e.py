"""Shared helpers for Coffer's end-to-end tests.

These tests drive the real `coffer` binary over loopback with real S3
clients (aws CLI v2, boto3, s3cmd, rclone). Nothing here talks to any
address other than 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

# Fixed root credentials handed to every server the tests start.
ROOT_ACCESS_KEY = "COFFERE2EROOTACCESS01"
ROOT_SECRET_KEY = "coffer/e2e+root-secret-key-0123456789abcdef"
REGION = "us-east-1"

MiB = 1024 * 1024

# Every server started by the tests; a failing test's report shows their logs.
SERVERS: list = []


# ---------------------------------------------------------------------------
# data helpers
# ---------------------------------------------------------------------------


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def sha256_file(path: os.PathLike | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            h.update(chunk)
    return h.hexdigest()


def random_bytes(n: int) -> bytes:
    return os.urandom(n)


def make_random_file(path: os.PathLike | str, size: int) -> str:
    """Write `size` random bytes to `path` (creating parents); return sha256."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    remaining = size
    with open(path, "wb") as f:
        while remaining > 0:
            chunk = os.urandom(min(remaining, 4 * MiB))
            h.update(chunk)
            f.write(chunk)
            remaining -= len(chunk)
    return h.hexdigest()


def tree_digests(root: os.PathLike | str) -> dict[str, str]:
    """Map of relative posix path -> sha256 for every file below root."""
    root = Path(root)
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            out[p.relative_to(root).as_posix()] = sha256_file(p)
    return out


def multipart_etag(parts: list[bytes]) -> str:
    """The S3 multipart ETag: md5 of the concatenated binary part md5s, -N."""
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts))
    return f'"{digest.hexdigest()}-{len(parts)}"'


def unique_bucket(prefix: str) -> str:
    """A valid, unique bucket name (lowercase, 3-63 chars)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}".lower()


# ---------------------------------------------------------------------------
# tools
# ---------------------------------------------------------------------------


def require_tool(path_or_name: str | None, why: str) -> str:
    """Return an executable's path; if absent, skip locally but fail on CI.

    On CI (env CI=true) every tool must be installed by .ci/run, so a missing
    tool is an error there rather than a silent skip.
    """
    found = None
    if path_or_name:
        if os.path.isabs(path_or_name):
            found = path_or_name if os.access(path_or_name, os.X_OK) else None
        else:
            found = shutil.which(path_or_name)
    if found:
        return found
    msg = f"{path_or_name or why} is not installed ({why})"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(msg + "; .ci/run must install it", pytrace=False)
    pytest.skip(msg)
    raise AssertionError("unreachable")


def run(cmd: list[str], *, env=None, cwd=None, timeout=600, check=True,
        input_bytes: bytes | None = None) -> subprocess.CompletedProcess:
    """Run a client command; on failure raise with its full output."""
    proc = subprocess.run(
        cmd,
        env=env,
        cwd=cwd,
        input=input_bytes,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=timeout,
    )
    proc.stdout_text = proc.stdout.decode("utf-8", "replace")
    proc.stderr_text = proc.stderr.decode("utf-8", "replace")
    if check and proc.returncode != 0:
        raise AssertionError(
            f"command failed with exit code {proc.returncode}: {cmd!r}\n"
            f"--- stdout ---\n{proc.stdout_text[-6000:]}\n"
            f"--- stderr ---\n{proc.stderr_text[-6000:]}"
        )
    return proc


def http_request(url: str, method: str = "GET", data: bytes | None = None,
                 headers: dict | None = None, timeout: float = 60, context=None):
    """Plain urllib request. Returns (status, headers, body) even for 4xx/5xx.

    `context`: an ssl.SSLContext for https URLs (e.g. server.ssl_context()).
    """
    req = urllib.request.Request(url, data=data, method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def aws_cli(server, binary: str, home: Path, *, chunk_mb: int = 8,
            global_args: tuple = (), access_key: str | None = None,
            secret_key: str | None = None):
    """A function running `BINARY --endpoint-url ... ARGS` against `server`.

    For both aws CLIs (v2 from Debian, v1 from PyPI): a config file of its
    own under `home` (path-style, multipart threshold and chunk size
    `chunk_mb`), credentials only from the environment (the server's
    operator key unless `access_key`/`secret_key` are given), no pager, and no
    AWS_* or PYTHON* settings of the caller; `global_args` go before ARGS.
    `aws_run.json(*args)` parses the output.
    """
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    config = home / "config"
    config.write_text(
        "[default]\n"
        "region = us-east-1\n"
        "output = json\n"
        "s3 =\n"
        "    addressing_style = path\n"
        f"    multipart_threshold = {chunk_mb}MB\n"
        f"    multipart_chunksize = {chunk_mb}MB\n"
        "    max_concurrent_requests = 4\n"
    )
    (home / "credentials").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=access_key or server.access_key,
        AWS_SECRET_ACCESS_KEY=secret_key or server.secret_key,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        AWS_CONFIG_FILE=str(config),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"),
        AWS_PAGER="",
        AWS_EC2_METADATA_DISABLED="true",
        HOME=str(home),
    )
    # Each CLI runs on its own Python (Debian's /usr/bin/python3, or a venv's);
    # keep the caller's Python settings away from it.
    for k in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"):
        env.pop(k, None)

    def aws_run(*args, check=True, timeout=600, env_extra=None):
        cmd = [binary, "--endpoint-url", server.endpoint, *global_args, *args]
        return run(cmd, env={**env, **(env_extra or {})}, check=check, timeout=timeout)

    def aws_json(*args):
        out = aws_run(*args).stdout_text
        return json.loads(out) if out.strip() else {}

    aws_run.json = aws_json
    aws_run.env = env
    aws_run.binary = binary
    aws_run.endpoint = server.endpoint
    return aws_run


# ---------------------------------------------------------------------------
# the server under test
# ---------------------------------------------------------------------------


def generate_cert(out_dir: Path, names=("localhost", "127.0.0.1")) -> tuple[Path, Path]:
    """`coffer cert generate`: a self-signed cert; returns (cert.pem, key.pem)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    args = [str(coffer_bin()), "cert", "generate", "--out-dir", str(out_dir)]
    for n in names:
        args += ["--name", n]
    run(args, timeout=60)
    cert, key = out_dir / "cert.pem", out_dir / "key.pem"
    assert cert.is_file() and key.is_file(), list(out_dir.iterdir())
    assert b"BEGIN CERTIFICATE" in cert.read_bytes()
    assert b"PRIVATE KEY" in key.read_bytes()
    return cert, key


def coffer_bin() -> Path:
    p = os.environ.get("COFFER_BIN")
    path = Path(p) if p else REPO_ROOT / "target" / "debug" / "coffer"
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_tail(path: Path, max_bytes: int = 12000) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return "<no log file>"


@dataclass
class CofferServer:
    """One `coffer server` process on loopback."""

    data_dir: Path
    log_path: Path
    port: int = 0
    region: str = REGION
    access_key: str = ROOT_ACCESS_KEY
    secret_key: str = ROOT_SECRET_KEY
    proc: subprocess.Popen | None = None
    extra_env: dict = field(default_factory=dict)
    # Pass data dir, listen address and region as COFFER_* env vars instead
    # of command-line flags.
    config_via_env: bool = False
    # HTTPS: PEM certificate and key (`coffer cert generate`); when both are
    # set the server speaks only HTTPS on its port.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # Domains for virtual-hosted-style requests (`--domain`, repeatable).
    domains: list = field(default_factory=list)
    # More `coffer server` arguments, e.g. ["--meter-interval-secs", "1"].
    extra_args: list = field(default_factory=list)

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"

    @property
    def endpoint(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def ssl_context(self):
        """An ssl context trusting only this server's certificate (or None)."""
        if not self.tls_cert:
            return None
        import ssl

        return ssl.create_default_context(cafile=str(self.tls_cert))

    @property
    def host_port(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, ready_timeout: float = 60.0, keep_port: bool = False) -> "CofferServer":
        """Starts the server on a free port (with `keep_port`, on the port of
        its last run: a gateway restarted behind its clients)."""
        binary = coffer_bin()
        if not binary.exists():
            pytest.fail(
                f"coffer binary not found at {binary}; build it with "
                "`cargo build -p coffer` or set COFFER_BIN",
                pytrace=False,
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        last_err = ""
        for _attempt in range(3):
            if not (keep_port and self.port):
                self.port = free_port()
            env = dict(os.environ)
            env.update(
                COFFER_ROOT_ACCESS_KEY=self.access_key,
                COFFER_ROOT_SECRET_KEY=self.secret_key,
            )
            env.setdefault("RUST_LOG", "info")
            env.setdefault("RUST_BACKTRACE", "1")
            env.setdefault("NO_COLOR", "1")
            env.update(self.extra_env)
            log = open(self.log_path, "ab")
            log.write(
                f"\n===== coffer server start {time.strftime('%H:%M:%S')} "
                f"port {self.port} =====\n".encode()
            )
            log.flush()
            if self.config_via_env:
                args = [str(binary), "server"]
                env.update(COFFER_DATA_DIR=str(self.data_dir),
                           COFFER_LISTEN=self.host_port,
                           COFFER_REGION=self.region,
                           # Any free port: servers may run side by side.
                           COFFER_CONSOLE_LISTEN="127.0.0.1:0")
            else:
                args = [str(binary), "server", "--data-dir", str(self.data_dir),
                        "--listen", self.host_port, "--region", self.region,
                        "--console-listen", "127.0.0.1:0"]
                for k in ("COFFER_DATA_DIR", "COFFER_LISTEN", "COFFER_REGION",
                          "COFFER_CONSOLE_LISTEN"):
                    env.pop(k, None)
            for k in ("COFFER_TLS_CERT", "COFFER_TLS_KEY", "COFFER_DOMAINS",
                      "COFFER_PLAIN_LISTEN", "COFFER_HTTPS_ONLY"):
                if k not in self.extra_env:
                    env.pop(k, None)
            if self.tls_cert:
                args += ["--tls-cert", str(self.tls_cert), "--tls-key", str(self.tls_key)]
            for d in self.domains:
                args += ["--domain", d]
            args += [str(a) for a in self.extra_args]
            self.proc = subprocess.Popen(
                args,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=str(self.data_dir.parent),
            )
            log.close()
            ok, last_err = self._wait_ready(ready_timeout)
            if ok:
                return self
            self.kill()
            # Retry only when the port may have been taken in between.
            if "exited" not in last_err:
                break
        pytest.fail(
            f"coffer server did not become ready: {last_err}\n"
            f"--- server log tail ({self.log_path}) ---\n{log_tail(self.log_path)}",
            pytrace=False,
        )
        raise AssertionError("unreachable")

    def _wait_ready(self, timeout: float) -> tuple[bool, str]:
        deadline = time.monotonic() + timeout
        url = f"{self.endpoint}/_coffer/health/ready"
        last = "no attempt"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False, f"server exited with code {self.proc.returncode}"
            try:
                with urllib.request.urlopen(url, timeout=2,
                                            context=self.ssl_context()) as resp:
                    if resp.status == 200:
                        return True, ""
                    last = f"status {resp.status}"
            except urllib.error.HTTPError as e:
                last = f"status {e.code}"
            except (urllib.error.URLError, OSError) as e:
                last = repr(e)
            time.sleep(0.05)
        return False, f"timed out after {timeout}s waiting for {url} (last: {last})"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def sigkill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def kill(self) -> None:
        self.sigkill()

    def stop(self) -> int | None:
        """Graceful stop (SIGTERM, then SIGKILL after 10 s)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        return self.proc.returncode

    def log_tail(self, max_bytes: int = 12000) -> str:
        return log_tail(self.log_path, max_bytes)

    def console_endpoint(self, timeout: float = 10.0) -> str:
        """The web console's base URL: the servers listen on any free port
        (`--console-listen 127.0.0.1:0`) and log the address they got."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_path.read_text("utf-8", "replace")
            # The log is appended to across restarts: read the last start's part.
            text = text.rsplit("===== coffer server start", 1)[-1]
            found = re.search(r"web console listening.*?\baddr=(\S+)", text)
            if found:
                return f"{self.scheme}://{found.group(1)}"
            if time.monotonic() > deadline:
                raise AssertionError(f"no 'web console listening' line in {self.log_path}:\n"
                                     f"{self.log_tail(4000)}")
            time.sleep(0.05)


# ---------------------------------------------------------------------------
# boto3
# ---------------------------------------------------------------------------


def boto3_client(server: CofferServer, *, access_key=None, secret_key=None,
                 max_pool_connections: int = 32, **config_kwargs):
    """A boto3 S3 client for the server, path-style, SigV4, no retries.

    Retries are off so that a single 5xx from the server fails the test
    instead of being papered over.
    """
    import boto3
    from botocore.config import Config

    endpoint_url = config_kwargs.pop("endpoint_url", server.endpoint)
    verify = config_kwargs.pop("verify", str(server.tls_cert) if server.tls_cert else None)
    s3_cfg = {"addressing_style": "path"}
    s3_cfg.update(config_kwargs.pop("s3", {}))
    cfg = Config(
        signature_version=config_kwargs.pop("signature_version", "s3v4"),
        s3=s3_cfg,
        retries={"total_max_attempts": 1},
        connect_timeout=config_kwargs.pop("connect_timeout", 10),
        read_timeout=config_kwargs.pop("read_timeout", 120),
        max_pool_connections=max_pool_connections,
        **config_kwargs,
    )
    session = boto3.session.Session()
    return session.client(
        "s3",
        endpoint_url=endpoint_url,
        verify=verify,
        aws_access_key_id=access_key or server.access_key,
        aws_secret_access_key=secret_key or server.secret_key,
        region_name=server.region,
        config=cfg,
    )


def error_code(exc) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def http_status(resp_or_exc) -> int:
    resp = getattr(resp_or_exc, "response", resp_or_exc)
    return resp["ResponseMetadata"]["HTTPStatusCode"]


def python_bin_dir() -> Path:
    return Path(sys.executable).parent


def empty_and_delete_bucket(s3, name: str) -> None:
    for upload in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=name, Key=upload["Key"],
                                  UploadId=upload["UploadId"])
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=name):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
    s3.delete_bucket(Bucket=name)


# ---------------------------------------------------------------------------
# s3cmd and rclone, configured for one key
# ---------------------------------------------------------------------------


def find_s3cmd() -> str:
    """s3cmd installed next to the Python running the tests (pip's), else PATH's."""
    candidate = python_bin_dir() / "s3cmd"
    if candidate.exists():
        return str(candidate)
    return "s3cmd"


def s3cmd_runner(server: CofferServer, home: Path, *, sigv2: bool,
                 access_key: str | None = None, secret_key: str | None = None):
    """A function running `s3cmd -c CFG --no-progress ARGS` against `server`.

    Path-style (`host_bucket` has no `%(bucket)s`), SigV4 or SigV2 as
    `sigv2` says, with the operator key unless `access_key`/`secret_key`
    are given; the config file and HOME live in `home`.
    """
    binary = require_tool(find_s3cmd(), "s3cmd from requirements-test.txt or Debian")
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "s3cfg"
    cfg.write_text(
        "[default]\n"
        f"access_key = {access_key or server.access_key}\n"
        f"secret_key = {secret_key or server.secret_key}\n"
        f"host_base = {server.host_port}\n"
        f"host_bucket = {server.host_port}\n"
        "bucket_location = us-east-1\n"
        "use_https = False\n"
        f"signature_v2 = {sigv2}\n"
        "check_ssl_certificate = False\n"
        "multipart_chunk_size_mb = 15\n"
        "progress_meter = False\n"
        "guess_mime_type = True\n"
        "preserve_attrs = True\n"
    )
    env = dict(os.environ)
    env["HOME"] = str(home)

    def s3cmd_run(*args, check=True):
        return run([binary, "-c", str(cfg), "--no-progress", *args], env=env, check=check)

    s3cmd_run.binary = binary
    s3cmd_run.env = env
    s3cmd_run.sigv2 = sigv2
    return s3cmd_run


def rclone_runner(server: CofferServer, home: Path, *, access_key: str | None = None,
                  secret_key: str | None = None):
    """A function running `rclone ARGS` with the remote `coffer:` on `server`.

    The remote is configured only through RCLONE_CONFIG_COFFER_* (provider
    Other, path-style), with an empty config file; no RCLONE_* or AWS_* of
    the caller leak in. One low-level retry, one retry: a refusal fails fast.
    """
    binary = require_tool("rclone", "Debian package rclone")
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    conf = home / "rclone.conf"
    conf.write_text("")
    # aws-sdk-go, for one, refuses to start when AWS_CA_BUNDLE is set
    # together with rclone's own transport.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RCLONE_", "AWS_"))}
    env.update(
        HOME=str(home),
        RCLONE_CONFIG=str(conf),
        RCLONE_CONFIG_COFFER_TYPE="s3",
        RCLONE_CONFIG_COFFER_PROVIDER="Other",
        RCLONE_CONFIG_COFFER_ENV_AUTH="false",
        RCLONE_CONFIG_COFFER_ACCESS_KEY_ID=access_key or server.access_key,
        RCLONE_CONFIG_COFFER_SECRET_ACCESS_KEY=secret_key or server.secret_key,
        RCLONE_CONFIG_COFFER_ENDPOINT=server.endpoint,
        RCLONE_CONFIG_COFFER_REGION="us-east-1",
        RCLONE_CONFIG_COFFER_FORCE_PATH_STYLE="true",
    )

    def rclone_run(*args, check=True):
        return run([binary, "--low-level-retries", "1", "--retries", "1", *args],
                   env=env, check=check)

    rclone_run.binary = binary
    rclone_run.env = env
    return rclone_run


# ---------------------------------------------------------------------------
# projects, users and keys: the admin API, the IAM API, the `coffer` CLI
# ---------------------------------------------------------------------------

ADMIN_BASE = "/_coffer/admin/v1"

# The presets and the ARNs under which the IAM API attaches them.
PRESET_ARNS = {
    "full-access": "arn:aws:iam::aws:policy/AmazonS3FullAccess",
    "read-only": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
    "read-object-only": "arn:aws:iam::coffer:policy/S3ReadObjectOnly",
    "write-only": "arn:aws:iam::coffer:policy/S3WriteOnly",
}


def unique_name(prefix: str) -> str:
    """A unique project or user name (lowercase letters, digits, '-')."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}".lower()


def sigv4_headers(server: CofferServer, method: str, url: str, body: bytes, *,
                  access_key: str, secret_key: str, service: str = "s3",
                  region: str | None = None, headers: dict | None = None) -> dict:
    """The headers of `method url` signed with SigV4 (botocore's signer,
    `x-amz-content-sha256` = the body's SHA-256). `url`'s path and query must
    already be percent-encoded the SigV4 way."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    S3SigV4Auth(Credentials(access_key, secret_key), service,
                region or server.region).add_auth(req)
    return dict(req.headers.items())


class AdminError(AssertionError):
    """An admin API call answered with an error status."""

    def __init__(self, method: str, path: str, status: int, body):
        self.status = status
        self.body = body
        self.code = (body or {}).get("error", {}).get("code", "") if isinstance(body, dict) else ""
        super().__init__(f"admin {method} {path}: {status} {body!r}")


def admin_try(server: CofferServer, method: str, path: str, body=None, *,
              query: dict | None = None, access_key: str | None = None,
              secret_key: str | None = None):
    """One signed admin API call (operator key unless given).

    `path` is relative to /_coffer/admin/v1 and unencoded; `body` is JSON.
    Returns (status, parsed JSON body or None)."""
    encoded = "/".join(urllib.parse.quote(seg, safe="") for seg in path.split("/"))
    url = f"{server.endpoint}{ADMIN_BASE}{encoded}"
    if query:
        url += "?" + urllib.parse.urlencode(
            {k: v for k, v in query.items() if v is not None}, quote_via=urllib.parse.quote)
    data = b"" if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if body is not None else {}
    headers = sigv4_headers(server, method, url, data,
                            access_key=access_key or server.access_key,
                            secret_key=secret_key or server.secret_key,
                            headers=headers)
    status, _, raw = http_request(url, method=method, data=data if data else None,
                                  headers=headers, context=server.ssl_context())
    parsed = None
    if raw:
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
    return status, parsed


def admin(server: CofferServer, method: str, path: str, body=None, **kw):
    """`admin_try` that must succeed (2xx); gives the JSON answer."""
    status, parsed = admin_try(server, method, path, body, **kw)
    if status >= 300:
        raise AdminError(method, path, status, parsed)
    return parsed


@dataclass
class Key:
    """An access key pair, with clients that use it."""

    server: CofferServer
    access_key: str
    secret_key: str
    project: str = ""
    user: str = ""

    def s3(self, **kw):
        return boto3_client(self.server, access_key=self.access_key,
                            secret_key=self.secret_key, **kw)

    def iam(self):
        return boto3_iam_client(self.server, self.access_key, self.secret_key)


def create_key(server: CofferServer, project: str, user: str | None = None,
               region: str | None = None) -> Key:
    """A new key (through the admin API, as the operator) of `user`, or of
    the project's root user."""
    body = {}
    if user:
        body["user"] = user
    if region:
        body["region"] = region
    k = admin(server, "POST", f"/projects/{project}/keys", body)
    assert k["secret_key"] and k["access_key"], k
    return Key(server, k["access_key"], k["secret_key"], k["project"], k["user"])


def create_project(server: CofferServer, prefix: str = "proj") -> Key:
    """A new project (uniquely named after `prefix`) and a key of its root user."""
    name = unique_name(prefix)
    admin(server, "POST", "/projects", {"name": name})
    return create_key(server, name)


def create_user(server: CofferServer, project: str, name: str, *,
                preset: str | None = None, document: dict | None = None) -> Key:
    """A new user of `project` with a preset or a policy document, and a key of it."""
    admin(server, "POST", f"/projects/{project}/users", {"name": name})
    if preset is not None:
        admin(server, "PUT", f"/projects/{project}/users/{name}/policy", {"preset": preset})
    if document is not None:
        admin(server, "PUT", f"/projects/{project}/users/{name}/policy", {"document": document})
    return create_key(server, project, name)


def boto3_iam_client(server: CofferServer, access_key: str, secret_key: str):
    """boto3's IAM client on the server's endpoint, no retries."""
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "iam",
        endpoint_url=server.endpoint,
        verify=str(server.tls_cert) if server.tls_cert else None,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=10, read_timeout=60),
    )


def coffer_cli(server: CofferServer, *args, check: bool = True,
               access_key: str | None = None, secret_key: str | None = None,
               timeout: float = 60, input_bytes: bytes | None = None
               ) -> subprocess.CompletedProcess:
    """`coffer ARGS` (the admin CLI) against `server`, configured only through
    COFFER_ENDPOINT / COFFER_ACCESS_KEY / COFFER_SECRET_KEY (the operator
    key unless given); `input_bytes` is its standard input."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COFFER_")}
    env.update(
        COFFER_ENDPOINT=server.endpoint,
        COFFER_ACCESS_KEY=access_key or server.access_key,
        COFFER_SECRET_KEY=secret_key or server.secret_key,
        NO_COLOR="1",
    )
    if server.tls_cert:
        env["COFFER_CA_CERT"] = str(server.tls_cert)
    return run([str(coffer_bin()), *[str(a) for a in args]], env=env, check=check,
               timeout=timeout, input_bytes=input_bytes)


def coffer_cli_json(server: CofferServer, *args, **kw):
    """`coffer ARGS -f json`, parsed."""
    out = coffer_cli(server, *args, "-f", "json", **kw).stdout_text
    return json.loads(out)
