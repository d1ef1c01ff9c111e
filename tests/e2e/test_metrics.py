"""Prometheus metrics (`--metrics-listen`): scraped after known traffic and
read with the Prometheus project's own parser of the text format, the counts
must be what was sent; a scrape needs the bearer token when one is set."""

from __future__ import annotations

import urllib.parse

import pytest
from botocore.exceptions import ClientError
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from coffer_e2e import SERVERS, CofferServer, boto3_client, free_port, http_request

TOKEN = "metrics-token-0123456789abcdef"


@pytest.fixture
def server(tmp_path):
    token = tmp_path / "metrics.token"
    token.write_text(TOKEN + "\n")
    mport, cport = free_port(), free_port()
    s = CofferServer(data_dir=tmp_path / "data", log_path=tmp_path / "server.log", config_via_env=True,
                     extra_args=["--metrics-listen", f"127.0.0.1:{mport}", "--metrics-token-file", str(token),
                                 "--console-listen", f"127.0.0.1:{cport}"])
    s.metrics_url = f"http://127.0.0.1:{mport}/metrics"
    s.console_url = f"http://127.0.0.1:{cport}"
    SERVERS.append(s)
    s.start()
    yield s
    s.kill()
    SERVERS.remove(s)


def scrape(server):
    status, headers, body = http_request(server.metrics_url, headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200, body
    assert headers.get("content-type", "").startswith("application/openmetrics-text"), headers
    samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0)


def sign_in(server, secret):
    form = urllib.parse.urlencode({"kind": "operator", "access_key": server.access_key, "secret_key": secret})
    status, _, _ = http_request(f"{server.console_url}/signin", method="POST", data=form.encode(),
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    return status


def test_a_scrape_needs_the_token(server):
    for headers in [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}]:
        status, h, _ = http_request(server.metrics_url, headers=headers)
        assert status == 401 and h.get("www-authenticate") == "Bearer", (headers, status)
    assert http_request(server.metrics_url.replace("/metrics", "/other"),
                        headers={"Authorization": f"Bearer {TOKEN}"})[0] == 404


def test_counts_match_the_traffic_sent(server):
    s3 = boto3_client(server)
    s3.create_bucket(Bucket="metered")
    sizes = [1, 1000, 4096, 70_000, 5, 0, 123_456]
    for i, n in enumerate(sizes):
        s3.put_object(Bucket="metered", Key=f"k{i}", Body=b"x" * n)
    got = 0
    for i in range(5):
        got += len(s3.get_object(Bucket="metered", Key=f"k{i}")["Body"].read())
    for i in range(3):
        with pytest.raises(ClientError):
            s3.head_object(Bucket="metered", Key=f"missing{i}")
    bad = boto3_client(server, secret_key="not-the-secret-key-at-all-000000000000")
    for _ in range(2):
        with pytest.raises(ClientError):
            bad.list_buckets()
    unknown = boto3_client(server, access_key="AKUNKNOWNKEY00000000")
    with pytest.raises(ClientError):
        unknown.list_buckets()
    assert sign_in(server, "wrong-secret") == 401
    assert sign_in(server, server.secret_key) in (200, 303)  # urllib follows the redirect

    m = scrape(server)
    ok = {"status_class": "2xx"}
    assert value(m, "coffer_s3_requests_total", operation="CreateBucket", **ok) == 1
    assert value(m, "coffer_s3_requests_total", operation="PutObject", **ok) == len(sizes)
    assert value(m, "coffer_s3_requests_total", operation="GetObject", **ok) == 5
    assert value(m, "coffer_s3_requests_total", operation="HeadObject", status_class="4xx") == 3
    assert value(m, "coffer_s3_requests_total", operation="ListBuckets", status_class="4xx") == 3
    assert value(m, "coffer_s3_request_duration_seconds_count", operation="PutObject") == len(sizes)
    assert value(m, "coffer_s3_request_duration_seconds_sum", operation="PutObject") > 0
    # Bodies as received and sent (a PUT may add checksum framing, never less).
    assert value(m, "coffer_s3_received_bytes_total") >= sum(sizes)
    assert value(m, "coffer_s3_sent_bytes_total") >= got == sum(sizes[:5])
    assert value(m, "coffer_s3_requests_in_flight") == 0
    assert value(m, "coffer_s3_errors_total", code="SignatureDoesNotMatch") == 2
    assert value(m, "coffer_s3_auth_failures_total", reason="SignatureDoesNotMatch") == 2
    assert value(m, "coffer_s3_auth_failures_total", reason="InvalidAccessKeyId") == 1
    assert value(m, "coffer_s3_errors_total", code="NoSuchKey") == 3
    assert value(m, "coffer_console_sign_ins_total", outcome="failed") == 1
    assert value(m, "coffer_console_sign_ins_total", outcome="ok") == 1
    # The stores' calls, by operation.
    assert value(m, "coffer_meta_call_duration_seconds_count", op="create_bucket") == 1
    puts = sum(value(m, "coffer_meta_call_duration_seconds_count", op=op) for op in ("put_object", "put_object_as"))
    assert puts == len(sizes), m
    assert any(k[0] == "coffer_blob_call_duration_seconds_count" and v > 0 for k, v in m.items())
    assert value(m, "coffer_meta_committed_writes_total") >= value(m, "coffer_meta_commits_total") > 0
    assert ("coffer_connections_open", (("listener", "s3"),)) in m
    build = [k for k in m if k[0] == "coffer_build_info"]
    assert len(build) == 1 and m[build[0]] == 1 and dict(build[0][1])["commit"], build
    # No bucket or key is ever a label.
    assert not any("metered" in str(labels) or "k0" in str(labels) for _, labels in m)


def test_a_client_that_goes_away_is_counted_and_leaves_nothing_in_flight(server):
    import socket
    import time

    s3 = boto3_client(server)
    s3.create_bucket(Bucket="abandoned")
    url = urllib.parse.urlsplit(s3.generate_presigned_url(
        "put_object", Params={"Bucket": "abandoned", "Key": "k"}, ExpiresIn=600))
    with socket.create_connection((url.hostname, url.port)) as c:
        c.sendall(f"PUT {url.path}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\n"
                  "Content-Length: 100000\r\n\r\n".encode() + b"x" * 1000)
        time.sleep(0.5)
    # Whether the handler notices the broken body (an error answer nobody
    # reads) or is dropped unanswered (reported as ClientClosedRequest), the
    # request is counted once and nothing stays in flight.
    deadline = time.time() + 10
    while True:
        m = scrape(server)
        failed = value(m, "coffer_s3_requests_total", operation="PutObject", status_class="4xx")
        if failed or time.time() > deadline:
            break
        time.sleep(0.2)
    assert failed == 1, m
    codes = {dict(k[1])["code"]: v for k, v in m.items() if k[0] == "coffer_s3_errors_total"}
    assert sum(codes.values()) == 1, codes
    assert value(m, "coffer_s3_requests_in_flight") == 0
    assert s3.list_objects_v2(Bucket="abandoned").get("KeyCount", 0) == 0, "nothing stored"
