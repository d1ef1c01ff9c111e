"""Fixtures for Coffer's end-to-end tests.

`coffer` is one real server process per test session (tests use their own
buckets, so they do not see each other's data). The crash test starts and
kills its own servers. On a failing test the tail of the server's log is
attached to the report.
"""

from __future__ import annotations

import os
import pytest

from coffer_e2e import (
    SERVERS,
    CofferServer,
    boto3_client,
    empty_and_delete_bucket,
    unique_bucket,
)

_LOG_SECTION = "coffer server log (tail)"


@pytest.fixture(scope="session")
def coffer(tmp_path_factory) -> CofferServer:
    """The shared server: yields a running CofferServer, killed at the end."""
    base = tmp_path_factory.mktemp("coffer")
    server = CofferServer(data_dir=base / "data", log_path=base / "server.log")
    SERVERS.append(server)
    server.start()
    try:
        yield server
    finally:
        code = server.stop()
        print(f"\ncoffer server exited with {code}; log: {server.log_path}")


@pytest.fixture
def s3(coffer):
    """A boto3 client with default checksum settings (see test_boto3.py)."""
    return boto3_client(coffer)


@pytest.fixture
def bucket(s3, request):
    """A fresh, empty bucket; emptied and deleted after the test."""
    name = unique_bucket(request.node.name.split("[")[0].replace("_", "-")[:30].strip("-"))
    s3.create_bucket(Bucket=name)
    yield name
    try:
        empty_and_delete_bucket(s3, name)
    except Exception as e:  # cleanup must not mask the test's own result
        print(f"cleanup of bucket {name} failed: {e!r}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and SERVERS:
        for server in SERVERS:
            state = "running" if server.alive() else (
                f"NOT RUNNING (exit code {server.proc.returncode})"
                if server.proc is not None else "never started")
            rep.sections.append(
                (f"{_LOG_SECTION}: {server.endpoint} {state}",
                 server.log_tail(8000)))


def pytest_report_header(config):
    from coffer_e2e import coffer_bin

    return [f"coffer binary: {coffer_bin()}",
            f"CI: {os.environ.get('CI', '')!r}"]
