"""A SigV4-signed S3 client on one kept-alive HTTP connection, for timing.

Each request is signed (botocore's `S3SigV4Auth`) before the clock starts;
the clock runs from sending the request to the last byte of the answer, so
what is measured is the server (and loopback), not Python's signing or XML
parsing.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import time
import urllib.parse

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ADMIN_BASE = "/_coffer/admin/v1"


def quote(s: str) -> str:
    """Percent-encoding as SigV4 wants it (unreserved characters kept)."""
    return urllib.parse.quote(s, safe="-_.~")


class Answer:
    def __init__(self, status: int, headers, body: bytes, seconds: float):
        self.status, self.headers, self.body, self.seconds = status, headers, body, seconds

    def ok(self) -> "Answer":
        if not 200 <= self.status < 300:
            raise RuntimeError(f"HTTP {self.status}: {self.body[:500]!r}")
        return self


class S3Http:
    def __init__(self, endpoint: str, access_key: str, secret_key: str, region: str = "us-east-1"):
        u = urllib.parse.urlparse(endpoint)
        self.host, self.port = u.hostname, u.port
        self.creds = Credentials(access_key, secret_key)
        self.region = region
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)

    def request(self, method: str, path: str, query: dict | None = None, body: bytes = b"",
                headers: dict | None = None) -> Answer:
        """One signed request; `path` unencoded (each segment is encoded)."""
        target = "/".join(quote(seg) for seg in path.split("/"))
        if query:
            target += "?" + "&".join(f"{quote(k)}={quote(str(v))}" for k, v in sorted(query.items()))
        req = AWSRequest(method=method, url=f"http://{self.host}:{self.port}{target}", data=body,
                         headers=dict(headers or {}))
        S3SigV4Auth(self.creds, "s3", self.region).add_auth(req)
        signed = dict(req.headers.items())
        start = time.perf_counter()
        try:
            self.conn.request(method, target, body=body or None, headers=signed)
            resp = self.conn.getresponse()
            data = resp.read()
        except (http.client.HTTPException, OSError):
            # A dropped keep-alive connection: reconnect once, untimed retry.
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
            start = time.perf_counter()
            self.conn.request(method, target, body=body or None, headers=signed)
            resp = self.conn.getresponse()
            data = resp.read()
        seconds = time.perf_counter() - start
        return Answer(resp.status, resp.headers, data, seconds)

    def admin(self, method: str, path: str, doc: dict | None = None) -> dict:
        """An operator call of the admin JSON API."""
        body = b"" if doc is None else json.dumps(doc).encode()
        hdrs = {"Content-Type": "application/json", "x-amz-content-sha256": hashlib.sha256(body).hexdigest()}
        a = self.request(method, ADMIN_BASE + path, body=body, headers=hdrs).ok()
        return json.loads(a.body) if a.body else {}
