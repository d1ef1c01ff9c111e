"""The `coffer` admin CLI against the real server, as the operator: projects,
users and their policies, access keys, quotas, usage and regions; and where
secrets end up on disk.

The module starts a server of its own, with two regions and
`--meter-interval-secs 1` (usage counters reach the hourly records within
a second). The CLI is configured only through COFFER_ENDPOINT,
COFFER_ACCESS_KEY and COFFER_SECRET_KEY. What the CLI sets up is checked
with boto3's S3 client using the keys the CLI printed.
"""

from __future__ import annotations

import datetime
import json
import os
import stat
import time

import pytest
from botocore.exceptions import ClientError

from coffer_e2e import (
    SERVERS,
    CofferServer,
    Key,
    admin,
    boto3_client,
    coffer_bin,
    coffer_cli,
    coffer_cli_json,
    empty_and_delete_bucket,
    error_code,
    http_status,
    run,
    unique_bucket,
    unique_name,
)

SECOND_REGION = "eu-west-9"
SECOND_REGION_HOST = "eu.coffer.test"
SECRET_NOTE = "shown only this once"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("coffer-cli")
    s = CofferServer(data_dir=base / "data", log_path=base / "server.log",
                     extra_args=["--meter-interval-secs", "1",
                                 "--region", f"{SECOND_REGION}={SECOND_REGION_HOST}"])
    SERVERS.append(s)
    s.start()
    try:
        yield s
    finally:
        s.stop()
        SERVERS.remove(s)


class Cli:
    """`coffer ARGS` as the operator (or as another key) against the module's server."""

    def __init__(self, server: CofferServer, access_key=None, secret_key=None):
        self.server = server
        self.keys = {"access_key": access_key, "secret_key": secret_key}

    def __call__(self, *args, check=True):
        return coffer_cli(self.server, *args, check=check, **self.keys)

    def json(self, *args):
        return coffer_cli_json(self.server, *args, **self.keys)

    def fails(self, *args) -> str:
        """The command must exit non-zero and say why; gives stdout + stderr."""
        proc = self(*args, check=False)
        out = proc.stdout_text + proc.stderr_text
        assert proc.returncode != 0, (args, out)
        assert out.strip(), f"{args}: failed without a message"
        return out


@pytest.fixture(scope="module")
def cli(server):
    return Cli(server)


def _table(text: str) -> dict:
    """`Field | Value` rows of an object table (single-line cells)."""
    rows = {}
    for line in text.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if len(cells) == 2 and cells[0] != "Field":
                rows[cells[0]] = cells[1]
    return rows


def _new_project(cli: Cli, prefix: str) -> tuple[str, Key]:
    """A project made with the CLI, and a root key made with the CLI."""
    name = unique_name(prefix)
    cli("project", "create", name)
    k = cli.json("credentials", "create", "--project", name)
    return name, Key(cli.server, k["access_key"], k["secret_key"], name, k["user"])


def _s3_code(call, *args, **kw) -> str:
    with pytest.raises(ClientError) as exc:
        call(*args, **kw)
    return error_code(exc.value)


def _drop_project(cli: Cli, project: str) -> None:
    """Deletes a project's buckets (emptied) and the project; never fails."""
    try:
        s3 = boto3_client(cli.server)  # the operator may do everything
        for b in admin(cli.server, "GET", "/buckets", query={"project": project}):
            empty_and_delete_bucket(s3, b["name"])
        cli("project", "delete", project, check=False)
    except Exception as e:  # cleanup must not mask the test's own result
        print(f"cleanup of project {project} failed: {e!r}")


def test_help_names_every_command_group():
    out = run([str(coffer_bin()), "--help"]).stdout_text
    for group in ("server", "project", "user", "credentials", "quota", "usage", "region",
                  "bucket"):
        assert group in out, out
    out = run([str(coffer_bin()), "credentials", "--help"]).stdout_text
    for sub in ("create", "list", "delete", "deactivate", "activate"):
        assert sub in out, out


def test_project_lifecycle(cli, server):
    name = unique_name("cli-proj")
    created = _table(cli("project", "create", name).stdout_text)
    assert created["name"] == name, created
    assert "ProjectAlreadyExists" in cli.fails("project", "create", name)
    assert "InvalidName" in cli.fails("project", "create", "Not_A_Valid_Name")

    assert name in [p["name"] for p in cli.json("project", "list")]
    values = cli("project", "list", "-f", "value").stdout_text.splitlines()
    assert any(line.split()[0] == name for line in values), values
    table = cli("project", "list").stdout_text
    assert "| name" in table and f"| {name} " in table, table

    shown = cli.json("project", "show", name)
    assert shown["name"] == name
    assert shown["quota"] == {"max_bytes": None, "max_objects": None}, shown
    assert shown["stored"] == {"bytes": 0, "objects": 0, "buckets": 0}, shown

    k = cli.json("credentials", "create", "--project", name)
    root = Key(server, k["access_key"], k["secret_key"])
    s3 = root.s3()
    bucket = unique_bucket("cli-proj")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="five", Body=b"12345")
    shown = cli.json("project", "show", name)
    assert shown["stored"] == {"bytes": 5, "objects": 1, "buckets": 1}, shown
    buckets = cli.json("bucket", "list", "--project", name)
    assert [(b["name"], b["project"], b["bytes"], b["objects"]) for b in buckets] == \
        [(bucket, name, 5, 1)], buckets
    assert bucket in cli("bucket", "list").stdout_text

    # A project that owns a bucket is not deleted.
    assert "ProjectNotEmpty" in cli.fails("project", "delete", name)
    assert name in [p["name"] for p in cli.json("project", "list")]
    assert s3.get_object(Bucket=bucket, Key="five")["Body"].read() == b"12345"

    s3.delete_object(Bucket=bucket, Key="five")
    s3.delete_bucket(Bucket=bucket)
    out = cli("project", "delete", name)
    assert out.stdout_text == "", out.stdout_text
    assert name not in [p["name"] for p in cli.json("project", "list")]
    out = cli.fails("project", "show", name)
    assert "NoSuchProject" in out and name in out, out
    # Its keys went with it.
    assert _s3_code(s3.list_buckets) == "InvalidAccessKeyId"
    assert "NoSuchProject" in cli.fails("project", "delete", name)


def test_users_and_policies(cli, server, tmp_path):
    project, root = _new_project(cli, "cli-users")
    try:
        _users_and_policies(cli, server, tmp_path, project, root)
    finally:
        _drop_project(cli, project)


def _users_and_policies(cli, server, tmp_path, project, root):
    created = _table(cli("user", "create", "--project", project, "alice").stdout_text)
    assert created["name"] == "alice", created
    assert "UserAlreadyExists" in cli.fails("user", "create", "--project", project, "alice")
    assert "InvalidName" in cli.fails("user", "create", "--project", project, "no spaces")
    cli("user", "create", "--project", project, "bob")
    users = {u["name"]: u for u in cli.json("user", "list", "--project", project)}
    assert {"alice", "bob"} <= set(users), users
    assert users["alice"]["root"] is False and users["alice"]["presets"] == []
    assert all(u["root"] == (n == "root") for n, u in users.items()), users

    bucket = unique_bucket("cli-users")
    root_s3 = root.s3()
    root_s3.create_bucket(Bucket=bucket)
    root_s3.put_object(Bucket=bucket, Key="public/p.txt", Body=b"public")
    root_s3.put_object(Bucket=bucket, Key="private/q.txt", Body=b"private")

    # A preset.
    out = cli.json("user", "policy", "set", "--project", project, "alice", "--preset", "read-only")
    assert out["presets"] == ["read-only"], out
    assert cli.json("user", "policy", "show", "--project", project, "alice") == \
        {"presets": ["read-only"], "inline": {}}
    table = cli("user", "policy", "show", "--project", project, "alice").stdout_text
    assert _table(table)["presets"] == "read-only", table
    k = cli.json("credentials", "create", "--project", project, "--user", "alice")
    assert k["user"] == "alice" and k["project"] == project, k
    alice = Key(server, k["access_key"], k["secret_key"]).s3()
    assert alice.get_object(Bucket=bucket, Key="private/q.txt")["Body"].read() == b"private"
    assert len(alice.list_objects_v2(Bucket=bucket)["Contents"]) == 2
    assert _s3_code(alice.put_object, Bucket=bucket, Key="x", Body=b"x") == "AccessDenied"

    # A document from a file replaces the preset.
    doc = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{bucket}/public/*"}]}
    policy_file = tmp_path / "policy.json"
    policy_file.write_text(json.dumps(doc))
    out = cli.json("user", "policy", "set", "--project", project, "alice", "--file", str(policy_file))
    assert out["presets"] == [] and list(out["inline"].values()) == [doc], out
    shown = cli.json("user", "policy", "show", "--project", project, "alice")
    assert shown == out, shown
    assert alice.get_object(Bucket=bucket, Key="public/p.txt")["Body"].read() == b"public"
    assert _s3_code(alice.get_object, Bucket=bucket, Key="private/q.txt") == "AccessDenied"
    assert _s3_code(alice.list_objects_v2, Bucket=bucket) == "AccessDenied"
    value = cli("user", "policy", "show", "--project", project, "alice", "-f", "value").stdout_text
    assert json.loads(value.splitlines()[-1]) == doc, value

    # Bad input is refused and changes nothing.
    assert "UnknownPreset" in cli.fails("user", "policy", "set", "--project", project, "alice",
                                        "--preset", "everything")
    (tmp_path / "not.json").write_text("{not json")
    assert "not.json" in cli.fails("user", "policy", "set", "--project", project, "alice",
                                   "--file", str(tmp_path / "not.json"))
    (tmp_path / "bad.json").write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Perhaps", "Action": "s3:GetObject", "Resource": "*"}]}))
    assert "MalformedPolicy" in cli.fails("user", "policy", "set", "--project", project, "alice",
                                          "--file", str(tmp_path / "bad.json"))
    cli.fails("user", "policy", "set", "--project", project, "alice")  # neither given
    assert cli.json("user", "policy", "show", "--project", project, "alice") == shown
    assert "NoSuchUser" in cli.fails("user", "policy", "show", "--project", project, "nobody")

    # Deleting a user deletes its keys: refused at the next request.
    out = cli("user", "delete", "--project", project, "alice")
    assert out.stdout_text == ""
    assert _s3_code(alice.get_object, Bucket=bucket, Key="public/p.txt") == "InvalidAccessKeyId"
    assert "alice" not in [u["name"] for u in cli.json("user", "list", "--project", project)]
    assert "NoSuchUser" in cli.fails("user", "delete", "--project", project, "alice")
    assert cli.json("credentials", "list", "--project", project, "--user", "bob") == []


def test_credentials(cli, server):
    project = unique_name("cli-keys")
    cli("project", "create", project)
    try:
        _credentials(cli, server, project)
    finally:
        _drop_project(cli, project)


def _credentials(cli, server, project):
    # Table: the secret, and a warning that it is shown only once.
    out = cli("credentials", "create", "--project", project).stdout_text
    t = _table(out)
    assert t["project"] == project and t["user"] == "root" and t["region"] == "us-east-1", out
    assert t["status"] == "Active", out
    assert len(t["access_key"]) == 20 and len(t["secret_key"]) >= 40, out
    assert SECRET_NOTE in out, out
    k1 = Key(server, t["access_key"], t["secret_key"])
    bucket = unique_bucket("cli-keys")
    k1.s3().create_bucket(Bucket=bucket)

    # JSON: the five keys at least.
    j = cli.json("credentials", "create", "--project", project)
    assert {"access_key", "secret_key", "project", "user", "region"} <= set(j), j
    assert (j["project"], j["user"], j["region"]) == (project, "root", "us-east-1"), j
    k2 = Key(server, j["access_key"], j["secret_key"])
    assert bucket in [b["Name"] for b in k2.s3().list_buckets()["Buckets"]]

    # Value: one value per line, in the table's order.
    lines = cli("credentials", "create", "--project", project, "-f", "value").stdout_text.splitlines()
    assert lines[2:5] == [project, "root", "us-east-1"], lines
    k3 = Key(server, lines[0], lines[1])
    assert bucket in [b["Name"] for b in k3.s3().list_buckets()["Buckets"]]
    secrets = [k1.secret_key, k2.secret_key, k3.secret_key]
    assert len(set(secrets)) == 3

    # Listings never show a secret.
    for fmt in ("table", "json", "value"):
        out = cli("credentials", "list", "--project", project, "-f", fmt).stdout_text
        for key in (k1, k2, k3):
            assert key.access_key in out, out
            assert key.secret_key not in out, out
    listed = cli.json("credentials", "list", "--project", project)
    assert sorted(k["access_key"] for k in listed) == sorted(k.access_key for k in (k1, k2, k3))
    assert all("secret_key" not in k and k["status"] == "Active" for k in listed), listed
    assert len(cli.json("credentials", "list", "--project", project, "--user", "root")) == 3
    shown = cli.json("credentials", "show", k1.access_key)
    assert shown["access_key"] == k1.access_key and "secret_key" not in shown, shown
    assert k1.secret_key not in cli("credentials", "show", k1.access_key).stdout_text

    # Deactivate / activate: effective at the next request of the same client.
    s3 = k1.s3()
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    cli("credentials", "deactivate", k1.access_key)
    assert _s3_code(s3.list_objects_v2, Bucket=bucket) == "InvalidAccessKeyId"
    status = {k["access_key"]: k["status"] for k in cli.json("credentials", "list", "--project", project)}
    assert status[k1.access_key] == "Inactive" and status[k2.access_key] == "Active", status
    assert k2.s3().list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    cli("credentials", "activate", k1.access_key)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0

    # Delete: refused at the next request; gone from the list.
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    assert cli("credentials", "delete", k1.access_key).stdout_text == ""
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k")
    assert (error_code(exc.value), http_status(exc.value)) == ("InvalidAccessKeyId", 403)
    assert k1.access_key not in [k["access_key"] for k in cli.json("credentials", "list",
                                                                    "--project", project)]
    assert "NoSuchKey" in cli.fails("credentials", "delete", k1.access_key)
    assert "NoSuchKey" in cli.fails("credentials", "show", k1.access_key)
    assert k2.s3().get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"

    # An expiry: the key works until then, and not after.
    expires_at = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) \
        + datetime.timedelta(seconds=6)
    j = cli.json("credentials", "create", "--project", project,
                 "--expires", expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert j["expires"].startswith(expires_at.strftime("%Y-%m-%dT%H:%M:%S")), j
    short = Key(server, j["access_key"], j["secret_key"]).s3()
    assert short.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    left = (expires_at - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    assert left > 0, "the expiry passed before the key could be tried; the machine is too slow"
    time.sleep(left + 1.0)
    assert _s3_code(short.get_object, Bucket=bucket, Key="k") == "InvalidAccessKeyId"

    # Errors name the problem.
    assert "UnknownRegion" in cli.fails("credentials", "create", "--project", project,
                                        "--region", "nowhere-1")
    assert "NoSuchUser" in cli.fails("credentials", "create", "--project", project,
                                     "--user", "nobody")
    k2.s3().delete_object(Bucket=bucket, Key="k")


def test_key_of_a_region_works_only_there(cli, server):
    project, _ = _new_project(cli, "cli-region")
    try:
        regions = cli.json("region", "list")
        assert [(r["name"], r["default"]) for r in regions] == \
            [("us-east-1", True), (SECOND_REGION, False)], regions
        assert regions[1]["hosts"] == [SECOND_REGION_HOST], regions
        table = cli("region", "list").stdout_text
        assert "us-east-1" in table and SECOND_REGION in table and SECOND_REGION_HOST in table
        assert cli("region", "list", "-f", "value").stdout_text.splitlines()[0].split()[0] == \
            "us-east-1"

        k = cli.json("credentials", "create", "--project", project, "--region", SECOND_REGION)
        assert k["region"] == SECOND_REGION, k
        server.region = SECOND_REGION
        try:
            eu = boto3_client(server, access_key=k["access_key"], secret_key=k["secret_key"])
        finally:
            server.region = "us-east-1"
        us = boto3_client(server, access_key=k["access_key"], secret_key=k["secret_key"])
        assert "Buckets" in eu.list_buckets()
        # Signed for the default region, the same key does not exist.
        assert _s3_code(us.list_buckets) == "InvalidAccessKeyId"
    finally:
        _drop_project(cli, project)


def test_quota(cli, server):
    project, root = _new_project(cli, "cli-quota")
    try:
        _quota(cli, server, project, root)
    finally:
        _drop_project(cli, project)


def _quota(cli, server, project, root):
    s3 = root.s3()
    bucket = unique_bucket("cli-quota")
    s3.create_bucket(Bucket=bucket)
    assert cli.json("quota", "show", "--project", project) == {"max_bytes": None, "max_objects": None}

    out = cli("quota", "set", "--project", project, "--max-bytes", "1K").stdout_text
    assert _table(out)["max_bytes"] == "1 KiB" and _table(out)["max_objects"] == "none", out
    assert cli.json("quota", "show", "--project", project) == {"max_bytes": 1024, "max_objects": None}

    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="two-kib", Body=os.urandom(2048))
    assert (error_code(exc.value), http_status(exc.value)) == ("QuotaExceeded", 403)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    s3.put_object(Bucket=bucket, Key="half", Body=os.urandom(512))
    assert _s3_code(s3.put_object, Bucket=bucket, Key="more", Body=os.urandom(600)) == "QuotaExceeded"
    assert cli.json("project", "show", project)["stored"]["bytes"] == 512

    # Setting one limit keeps the other.
    cli("quota", "set", "--project", project, "--max-objects", "10")
    assert cli.json("quota", "show", "--project", project) == {"max_bytes": 1024, "max_objects": 10}
    cli("quota", "set", "--project", project, "--max-bytes", "none")
    assert cli.json("quota", "show", "--project", project) == {"max_bytes": None, "max_objects": 10}
    s3.put_object(Bucket=bucket, Key="two-kib", Body=os.urandom(2048))
    cli("quota", "set", "--project", project, "--max-bytes", "10G", "--max-objects", "none")
    assert cli.json("quota", "show", "--project", project) == \
        {"max_bytes": 10 * 1024 ** 3, "max_objects": None}
    assert cli("quota", "show", "--project", project, "-f", "value").stdout_text.split() == \
        [str(10 * 1024 ** 3), "none"]

    # A bucket quota on objects: new keys refused, overwrites allowed.
    cli("quota", "set", "--bucket", bucket, "--max-objects", "2")
    assert cli.json("quota", "show", "--bucket", bucket) == {"max_bytes": None, "max_objects": 2}
    assert _s3_code(s3.put_object, Bucket=bucket, Key="third", Body=b"3") == "QuotaExceeded"
    s3.put_object(Bucket=bucket, Key="half", Body=b"smaller now")
    cli("quota", "set", "--bucket", bucket, "--max-objects", "none")
    s3.put_object(Bucket=bucket, Key="third", Body=b"3")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 3

    # Errors.
    assert "NoSuchProject" in cli.fails("quota", "show", "--project", "no-such-project-x")
    assert "NoSuchProject" in cli.fails("quota", "set", "--project", "no-such-project-x",
                                        "--max-bytes", "1G")
    cli.fails("quota", "set", "--project", project)  # no limit given
    cli.fails("quota", "set", "--project", project, "--bucket", bucket, "--max-bytes", "1")
    assert "invalid size" in cli.fails("quota", "set", "--project", project, "--max-bytes", "lots")
    assert cli.json("quota", "show", "--project", project) == \
        {"max_bytes": 10 * 1024 ** 3, "max_objects": None}


def test_usage(cli, server):
    project, root = _new_project(cli, "cli-usage")
    other, _ = _new_project(cli, "cli-usage-idle")
    try:
        _usage(cli, server, project, root, other)
    finally:
        _drop_project(cli, project)
        _drop_project(cli, other)


def _usage(cli, server, project, root, other):
    s3 = root.s3()
    bucket = unique_bucket("cli-usage")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a", Body=os.urandom(1000))
    s3.put_object(Bucket=bucket, Key="b", Body=os.urandom(3000))
    for _ in range(3):
        assert len(s3.get_object(Bucket=bucket, Key="b")["Body"].read()) == 3000
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 2
    s3.delete_object(Bucket=bucket, Key="a")

    # Flushed every second: wait for the counters to arrive.
    deadline = time.monotonic() + 15
    while True:
        u = cli.json("usage", "show", "--project", project)
        t = u["totals"]
        # Counters and stored bytes are written one after the other in each
        # flush: wait until both have arrived.
        if (t["requests"]["delete"] >= 1 and t["byte_hours"] > 0) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert t["requests"]["get"] == 3, u
    assert t["requests"]["put"] == 2, u
    assert t["requests"]["list"] == 1, u
    assert t["requests"]["delete"] == 1, u
    assert t["bytes_in"] == 4000, u
    assert t["bytes_out"] >= 9000, u
    assert t["byte_hours"] > 0, u
    assert u["hours"], u
    assert all(h["bucket"] == bucket for h in u["hours"]), u
    # The stored-bytes meter has seen the delete by the next flush.
    deadline = time.monotonic() + 10
    while u["hours"][-1]["bytes"] != 3000 and time.monotonic() < deadline:
        time.sleep(0.5)
        u = cli.json("usage", "show", "--project", project)
    assert (u["hours"][-1]["bytes"], u["hours"][-1]["objects"]) == (3000, 1), u

    # The same through --bucket, in the table and value formats.
    by_bucket = cli.json("usage", "show", "--project", project, "--bucket", bucket)
    assert by_bucket["totals"]["requests"] == u["totals"]["requests"], by_bucket
    assert cli.json("usage", "show", "--project", project, "--bucket", "no-such-bucket-x")["hours"] == []
    table = cli("usage", "show", "--project", project).stdout_text
    assert "| total" in table and bucket in table, table
    for col in ("requests", "get", "put", "list", "bytes_in", "bytes_out"):
        assert col in table.splitlines()[1], table
    rows = cli("usage", "show", "--project", project, "-f", "value").stdout_text.splitlines()
    assert rows and all(r.split()[1] == bucket for r in rows), rows

    # A window in the past holds nothing; another project has nothing.
    old = cli.json("usage", "show", "--project", project, "--from", "2001-01-01", "--to", "2001-01-02")
    assert old["hours"] == [] and old["totals"]["requests"]["get"] == 0, old
    idle = cli.json("usage", "show", "--project", other)
    assert idle["hours"] == [] and idle["totals"]["bytes_in"] == 0, idle
    assert "NoSuchProject" in cli.fails("usage", "show", "--project", "no-such-project-x")
    s3.delete_object(Bucket=bucket, Key="b")


def test_errors_exit_non_zero_with_a_message(cli, server):
    missing = "no-such-project-x"
    for args in (("project", "show", missing),
                 ("project", "delete", missing),
                 ("user", "list", "--project", missing),
                 ("user", "create", "--project", missing, "alice"),
                 ("credentials", "create", "--project", missing),
                 ("credentials", "list", "--project", missing)):
        out = cli.fails(*args)
        assert "NoSuchProject" in out, (args, out)
    # Usage errors are clap's, before any request.
    assert "--project" in cli.fails("user", "list")
    cli.fails("project", "frobnicate")

    # A wrong secret, an unknown key, no key at all, nobody listening.
    out = Cli(server, server.access_key, "wrong-secret-0123456789").fails("project", "list")
    assert "SignatureDoesNotMatch" in out, out
    out = Cli(server, "CKNOSUCHKEY000000000", "x" * 40).fails("project", "list")
    assert "InvalidAccessKeyId" in out, out
    dead = CofferServer(data_dir=server.data_dir, log_path=server.log_path, port=1)
    out = Cli(dead).fails("project", "list")
    assert "127.0.0.1:1" in out or "onnect" in out, out


def test_project_root_key_with_the_cli(cli, server):
    """A project's root key may read its own project but not create projects."""
    project, root = _new_project(cli, "cli-root")
    other, _ = _new_project(cli, "cli-root-other")
    try:
        as_root = Cli(server, root.access_key, root.secret_key)
        assert [p["name"] for p in as_root.json("project", "list")] == [project]
        assert as_root.json("project", "show", project)["name"] == project
        assert "AccessDenied" in as_root.fails("project", "create", unique_name("cli-root-new"))
        assert "AccessDenied" in as_root.fails("project", "show", other)
        assert "AccessDenied" in as_root.fails("quota", "set", "--project", project,
                                               "--max-bytes", "1T")
        as_root("user", "create", "--project", project, "carol")
        assert "carol" in [u["name"] for u in as_root.json("user", "list", "--project", project)]
    finally:
        _drop_project(cli, project)
        _drop_project(cli, other)


def test_secrets_are_not_stored_in_clear(cli, server):
    project, root = _new_project(cli, "cli-sealed")
    try:
        cli("user", "create", "--project", project, "sealed")
        k = cli.json("credentials", "create", "--project", project, "--user", "sealed")
        # The key really is stored (so the search below can find things).
        assert k["access_key"] in [x["access_key"] for x in
                                   cli.json("credentials", "list", "--project", project)]
        found_id = False
        for path in sorted(server.data_dir.rglob("*")):
            if not path.is_file():
                continue
            data = path.read_bytes()
            found_id = found_id or k["access_key"].encode() in data
            for secret in (k["secret_key"], root.secret_key, server.secret_key):
                assert secret.encode() not in data, f"a secret in clear in {path}"
        assert found_id, "the key id should be in the metadata files"
        assert (server.data_dir / "meta.db").is_file()

        master = server.data_dir / "master.key"
        assert master.is_file()
        mode = stat.S_IMODE(master.stat().st_mode)
        assert mode == 0o600, oct(mode)
    finally:
        _drop_project(cli, project)


def test_master_key_file_keeps_keys_working_across_restarts(tmp_path):
    """--master-key-file: created 0600 where told (not in the data dir), and
    the keys sealed with it still work after a restart."""
    key_file = tmp_path / "secret-dir" / "coffer-master.key"
    key_file.parent.mkdir()
    s = CofferServer(data_dir=tmp_path / "data", log_path=tmp_path / "server.log",
                     extra_args=["--master-key-file", str(key_file)])
    SERVERS.append(s)
    try:
        s.start()
        assert key_file.is_file()
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert not (tmp_path / "data" / "master.key").exists()
        c = Cli(s)
        project, root = _new_project(c, "restart")
        bucket = unique_bucket("restart")
        root.s3().create_bucket(Bucket=bucket)
        root.s3().put_object(Bucket=bucket, Key="k", Body=b"sealed")
        assert s.stop() == 0
        s.start()
        assert root.s3().get_object(Bucket=bucket, Key="k")["Body"].read() == b"sealed"
        assert c.json("project", "show", project)["stored"]["objects"] == 1
    finally:
        s.kill()
        SERVERS.remove(s)


def test_master_key_from_environment(tmp_path):
    """COFFER_MASTER_KEY (base64 of 32 bytes): no key file is written."""
    import base64

    s = CofferServer(data_dir=tmp_path / "data", log_path=tmp_path / "server.log",
                     extra_env={"COFFER_MASTER_KEY": base64.b64encode(os.urandom(32)).decode()})
    SERVERS.append(s)
    try:
        s.start()
        c = Cli(s)
        project, root = _new_project(c, "envkey")
        assert "Buckets" in root.s3().list_buckets()
        assert not (tmp_path / "data" / "master.key").exists()
        assert s.stop() == 0
        s.start()
        assert "Buckets" in root.s3().list_buckets()
    finally:
        s.kill()
        SERVERS.remove(s)
