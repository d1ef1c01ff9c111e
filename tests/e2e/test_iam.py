"""The AWS IAM query API as a project's root user manages its users with it.

Every test runs twice: once with the aws CLI v2 (`aws iam ...
--endpoint-url`, Debian's /usr/bin/aws) and once with boto3's IAM client.
Each test gets a project of its own (made by the operator through the admin
API) and acts with that project's root key. The keys the IAM API hands out
are then used with boto3's S3 client: a key works at once for what its user's
policies allow, and stops working at the very next request once deactivated
or deleted.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from botocore.exceptions import ClientError

from coffer_e2e import (
    PRESET_ARNS,
    Key,
    admin,
    admin_try,
    aws_cli,
    boto3_client,
    boto3_iam_client,
    create_project,
    empty_and_delete_bucket,
    error_code,
    http_status,
    require_tool,
    unique_bucket,
)

AWS = "/usr/bin/aws"

# IAM's HTTP status for each error code the tests expect.
STATUS = {
    "AccessDenied": 403,
    "DeleteConflict": 409,
    "EntityAlreadyExists": 409,
    "InvalidClientTokenId": 403,
    "MalformedPolicyDocument": 400,
    "NoSuchEntity": 404,
    "SignatureDoesNotMatch": 403,
}


def _kebab(name: str) -> str:
    """CreateAccessKey -> create-access-key (CLI command and option names)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def _snake(name: str) -> str:
    return _kebab(name).replace("-", "_")


class Boto3Iam:
    """IAM calls through boto3: `drv("CreateUser", UserName="x")` -> response dict."""

    name = "boto3"

    def __init__(self, key: Key, tmp_path):
        self.key = key
        self.client = key.iam()

    def __call__(self, op: str, **params):
        resp = getattr(self.client, _snake(op))(**params)
        resp.pop("ResponseMetadata", None)
        return resp

    def expect_error(self, code: str, op: str, **params) -> str:
        """The call must fail with `code` (a botocore ClientError); gives its message."""
        with pytest.raises(ClientError) as exc:
            getattr(self.client, _snake(op))(**params)
        assert error_code(exc.value) == code, exc.value.response
        assert http_status(exc.value) == STATUS[code], exc.value.response
        return exc.value.response["Error"].get("Message", "")

    def with_key(self, key: Key, tmp_path) -> "Boto3Iam":
        return Boto3Iam(key, tmp_path)


class AwsCliIam:
    """IAM calls through `aws iam OP --param value ...` (aws CLI v2)."""

    name = "awscli"

    def __init__(self, key: Key, tmp_path):
        binary = require_tool(AWS, "Debian package awscli (aws CLI v2)")
        home = tmp_path / f"aws-{key.access_key}"
        home.mkdir(parents=True, exist_ok=True)
        self.key = key
        self.aws = aws_cli(key.server, binary, home, global_args=("--no-cli-pager",),
                           access_key=key.access_key, secret_key=key.secret_key)

    def _args(self, op: str, params: dict) -> list:
        args = ["iam", _kebab(op)]
        for k, v in params.items():
            args += [f"--{_kebab(k)}", str(v)]
        return args

    def __call__(self, op: str, **params):
        out = self.aws(*self._args(op, params)).stdout_text
        return json.loads(out) if out.strip() else {}

    def expect_error(self, code: str, op: str, **params) -> str:
        """The command must fail, naming `code`; gives its stderr."""
        proc = self.aws(*self._args(op, params), check=False)
        assert proc.returncode != 0, (op, params, proc.stdout_text)
        assert f"An error occurred ({code}) when calling the {op} operation" in proc.stderr_text, \
            proc.stderr_text
        return proc.stderr_text

    def with_key(self, key: Key, tmp_path) -> "AwsCliIam":
        return AwsCliIam(key, tmp_path)


def _cleanup_project(server, project: str) -> None:
    """Deletes a project's buckets (emptied first) and the project itself."""
    try:
        buckets = admin(server, "GET", "/buckets", query={"project": project})
        s3 = boto3_client(server)  # the operator may do everything
        for b in buckets:
            empty_and_delete_bucket(s3, b["name"])
        status, body = admin_try(server, "DELETE", f"/projects/{project}")
        if status >= 300:
            print(f"cleanup: deleting project {project}: {status} {body}")
    except Exception as e:  # cleanup must not mask the test's own result
        print(f"cleanup of project {project} failed: {e!r}")


@pytest.fixture
def tenant(coffer):
    """A fresh project and its root key."""
    key = create_project(coffer, "iam")
    yield key
    _cleanup_project(coffer, key.project)


@pytest.fixture
def other_tenant(coffer):
    """A second project, for isolation checks."""
    key = create_project(coffer, "iam-other")
    yield key
    _cleanup_project(coffer, key.project)


@pytest.fixture(params=["awscli", "boto3"])
def iam(request, tenant, tmp_path):
    """The tenant root's IAM client: aws CLI v2 or boto3."""
    cls = AwsCliIam if request.param == "awscli" else Boto3Iam
    return cls(tenant, tmp_path)


def _s3_of(server, access_key: dict):
    """A boto3 S3 client using an IAM `AccessKey` answer."""
    return boto3_client(server, access_key=access_key["AccessKeyId"],
                        secret_key=access_key["SecretAccessKey"])


def _s3_code(call, *args, **kw) -> str:
    """Runs a boto3 S3 call that must fail; gives its error code."""
    with pytest.raises(ClientError) as exc:
        call(*args, **kw)
    return error_code(exc.value)


def test_user_lifecycle(iam, tenant):
    project = tenant.project
    user = iam("CreateUser", UserName="alice")["User"]
    assert user["UserName"] == "alice"
    assert user["Arn"] == f"arn:aws:iam::{project}:user/alice"
    assert user["Path"] == "/"
    assert re.fullmatch(r"AIDA[A-Z2-7]{17}", user["UserId"]), user
    assert iam("GetUser", UserName="alice")["User"]["UserId"] == user["UserId"]
    # Without UserName: the caller, the project's root.
    assert iam("GetUser")["User"]["Arn"] == f"arn:aws:iam::{project}:root"

    iam("CreateUser", UserName="bob")
    # The root user is not an IAM user: ListUsers leaves it out.
    names = [u["UserName"] for u in iam("ListUsers")["Users"]]
    assert sorted(names) == ["alice", "bob"]

    created = iam("CreateAccessKey", UserName="alice")["AccessKey"]
    assert created["UserName"] == "alice" and created["Status"] == "Active"
    assert len(created["SecretAccessKey"]) >= 40, created
    listed = iam("ListAccessKeys", UserName="alice")["AccessKeyMetadata"]
    assert [(k["AccessKeyId"], k["Status"]) for k in listed] == [(created["AccessKeyId"], "Active")]
    assert all("SecretAccessKey" not in k for k in listed), listed

    iam("AttachUserPolicy", UserName="alice", PolicyArn=PRESET_ARNS["read-only"])
    attached = iam("ListAttachedUserPolicies", UserName="alice")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [PRESET_ARNS["read-only"]]
    managed = {p["Arn"]: p for p in iam("ListPolicies")["Policies"]}
    assert set(PRESET_ARNS.values()) <= set(managed), managed
    assert managed[PRESET_ARNS["read-only"]]["AttachmentCount"] == 1
    assert managed[PRESET_ARNS["write-only"]]["AttachmentCount"] == 0

    doc = {"Version": "2012-10-17", "Statement": [
        {"Sid": "NoLogs", "Effect": "Deny", "Action": "s3:*",
         "Resource": "arn:aws:s3:::logs/*"}]}
    iam("PutUserPolicy", UserName="alice", PolicyName="no-logs", PolicyDocument=json.dumps(doc))
    assert iam("ListUserPolicies", UserName="alice")["PolicyNames"] == ["no-logs"]
    got = iam("GetUserPolicy", UserName="alice", PolicyName="no-logs")
    assert got["UserName"] == "alice" and got["PolicyName"] == "no-logs"
    # Both clients URL-decode and parse the returned document.
    assert got["PolicyDocument"] == doc

    # A user with keys or policies is not deleted; each obstacle in turn.
    iam.expect_error("DeleteConflict", "DeleteUser", UserName="alice")
    iam("DeleteAccessKey", UserName="alice", AccessKeyId=created["AccessKeyId"])
    assert iam("ListAccessKeys", UserName="alice")["AccessKeyMetadata"] == []
    iam.expect_error("DeleteConflict", "DeleteUser", UserName="alice")
    iam("DetachUserPolicy", UserName="alice", PolicyArn=PRESET_ARNS["read-only"])
    assert iam("ListAttachedUserPolicies", UserName="alice")["AttachedPolicies"] == []
    iam.expect_error("DeleteConflict", "DeleteUser", UserName="alice")
    iam("DeleteUserPolicy", UserName="alice", PolicyName="no-logs")
    assert iam("ListUserPolicies", UserName="alice")["PolicyNames"] == []
    iam("DeleteUser", UserName="alice")

    iam.expect_error("NoSuchEntity", "GetUser", UserName="alice")
    assert [u["UserName"] for u in iam("ListUsers")["Users"]] == ["bob"]
    iam("DeleteUser", UserName="bob")
    assert iam("ListUsers")["Users"] == []


def test_iam_key_works_at_once_for_what_its_policy_allows(iam, tenant, coffer):
    root_s3 = tenant.s3()
    bucket = unique_bucket("iam-ro")
    root_s3.create_bucket(Bucket=bucket)
    root_s3.put_object(Bucket=bucket, Key="a.txt", Body=b"alpha")

    iam("CreateUser", UserName="reader")
    iam("AttachUserPolicy", UserName="reader", PolicyArn=PRESET_ARNS["read-only"])
    ak = iam("CreateAccessKey", UserName="reader")["AccessKey"]
    s3 = _s3_of(coffer, ak)

    # Immediately: list and get are allowed, writes are not.
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["a.txt"]
    assert s3.get_object(Bucket=bucket, Key="a.txt")["Body"].read() == b"alpha"
    # Only the project's own buckets (the shared server holds many others).
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [bucket]
    assert _s3_code(s3.put_object, Bucket=bucket, Key="b.txt", Body=b"beta") == "AccessDenied"
    assert _s3_code(s3.delete_object, Bucket=bucket, Key="a.txt") == "AccessDenied"
    assert _s3_code(s3.create_bucket, Bucket=unique_bucket("iam-ro-new")) == "AccessDenied"
    assert root_s3.get_object(Bucket=bucket, Key="a.txt")["Body"].read() == b"alpha"
    assert "b.txt" not in [o["Key"] for o in root_s3.list_objects_v2(Bucket=bucket)["Contents"]]

    # Swapping the preset for full access takes effect on the next request.
    iam("AttachUserPolicy", UserName="reader", PolicyArn=PRESET_ARNS["full-access"])
    iam("DetachUserPolicy", UserName="reader", PolicyArn=PRESET_ARNS["read-only"])
    s3.put_object(Bucket=bucket, Key="b.txt", Body=b"beta")
    assert root_s3.get_object(Bucket=bucket, Key="b.txt")["Body"].read() == b"beta"
    iam("DetachUserPolicy", UserName="reader", PolicyArn=PRESET_ARNS["full-access"])
    assert _s3_code(s3.get_object, Bucket=bucket, Key="a.txt") == "AccessDenied"
    iam("AttachUserPolicy", UserName="reader", PolicyArn=PRESET_ARNS["read-only"])

    # The key's use is recorded (asynchronously, so wait for it a little).
    deadline = time.monotonic() + 10
    while True:
        last = iam("GetAccessKeyLastUsed", AccessKeyId=ak["AccessKeyId"])
        if "LastUsedDate" in last["AccessKeyLastUsed"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert last["UserName"] == "reader"
    assert "LastUsedDate" in last["AccessKeyLastUsed"], last
    assert last["AccessKeyLastUsed"]["ServiceName"] == "s3", last

    # Inactive: refused from the next request on; Active again: works again.
    iam("UpdateAccessKey", UserName="reader", AccessKeyId=ak["AccessKeyId"], Status="Inactive")
    assert _s3_code(s3.get_object, Bucket=bucket, Key="a.txt") == "InvalidAccessKeyId"
    assert _s3_code(s3.list_objects_v2, Bucket=bucket) == "InvalidAccessKeyId"
    listed = iam("ListAccessKeys", UserName="reader")["AccessKeyMetadata"]
    assert [k["Status"] for k in listed] == ["Inactive"]
    iam("UpdateAccessKey", UserName="reader", AccessKeyId=ak["AccessKeyId"], Status="Active")
    assert s3.get_object(Bucket=bucket, Key="a.txt")["Body"].read() == b"alpha"

    # A second key of the same user works independently of the first.
    ak2 = iam("CreateAccessKey", UserName="reader")["AccessKey"]
    assert ak2["AccessKeyId"] != ak["AccessKeyId"]
    s3_2 = _s3_of(coffer, ak2)

    # Deleted: refused from the next request on; the other key still works.
    iam("DeleteAccessKey", UserName="reader", AccessKeyId=ak["AccessKeyId"])
    assert _s3_code(s3.get_object, Bucket=bucket, Key="a.txt") == "InvalidAccessKeyId"
    assert _s3_code(s3.list_buckets) == "InvalidAccessKeyId"
    assert s3_2.get_object(Bucket=bucket, Key="a.txt")["Body"].read() == b"alpha"
    iam("DeleteAccessKey", UserName="reader", AccessKeyId=ak2["AccessKeyId"])
    assert _s3_code(s3_2.get_object, Bucket=bucket, Key="a.txt") == "InvalidAccessKeyId"


def test_key_of_root_created_through_iam(iam, tenant, coffer):
    """CreateAccessKey without UserName: a key of the caller, the root user."""
    ak = iam("CreateAccessKey")["AccessKey"]
    s3 = _s3_of(coffer, ak)
    bucket = unique_bucket("iam-rootkey")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"root data")
    assert tenant.s3().get_object(Bucket=bucket, Key="k")["Body"].read() == b"root data"
    iam("DeleteAccessKey", AccessKeyId=ak["AccessKeyId"])
    assert _s3_code(s3.get_object, Bucket=bucket, Key="k") == "InvalidAccessKeyId"


HOME_POLICY = """{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "OwnHome",
      "Effect": "Allow",
      "Action": ["s3:GetObject", "s3:PutObject"],
      "Resource": "arn:aws:s3:::BUCKET/home/${aws:username}/*"
    },
    {
      "Sid": "ListOwnHome",
      "Effect": "Allow",
      "Action": "s3:ListBucket",
      "Resource": "arn:aws:s3:::BUCKET",
      "Condition": {"StringLike": {"s3:prefix": "home/${aws:username}/*"}}
    }
  ]
}"""


def test_inline_policy_confines_users_to_their_prefix(iam, tenant, coffer):
    root_s3 = tenant.s3()
    bucket = unique_bucket("iam-home")
    root_s3.create_bucket(Bucket=bucket)
    for key in ("home/alice/a.txt", "home/bob/b.txt", "top.txt"):
        root_s3.put_object(Bucket=bucket, Key=key, Body=key.encode())

    doc = HOME_POLICY.replace("BUCKET", bucket)
    clients = {}
    for user in ("alice", "bob"):
        iam("CreateUser", UserName=user)
        # One document for both: ${aws:username} is substituted per request.
        iam("PutUserPolicy", UserName=user, PolicyName="home", PolicyDocument=doc)
        clients[user] = _s3_of(coffer, iam("CreateAccessKey", UserName=user)["AccessKey"])
    assert iam("GetUserPolicy", UserName="alice", PolicyName="home")["PolicyDocument"] == json.loads(doc)

    alice, bob = clients["alice"], clients["bob"]
    # Allowed: list, read and write inside the own home.
    listed = alice.list_objects_v2(Bucket=bucket, Prefix="home/alice/")
    assert [o["Key"] for o in listed["Contents"]] == ["home/alice/a.txt"]
    assert alice.get_object(Bucket=bucket, Key="home/alice/a.txt")["Body"].read() == b"home/alice/a.txt"
    alice.put_object(Bucket=bucket, Key="home/alice/new.txt", Body=b"by alice")
    assert root_s3.get_object(Bucket=bucket, Key="home/alice/new.txt")["Body"].read() == b"by alice"

    # Denied: another user's home, the bucket's top, listing outside the home.
    assert _s3_code(alice.get_object, Bucket=bucket, Key="home/bob/b.txt") == "AccessDenied"
    assert _s3_code(alice.put_object, Bucket=bucket, Key="home/bob/x.txt", Body=b"x") == "AccessDenied"
    assert _s3_code(alice.get_object, Bucket=bucket, Key="top.txt") == "AccessDenied"
    assert _s3_code(alice.put_object, Bucket=bucket, Key="top2.txt", Body=b"x") == "AccessDenied"
    assert _s3_code(alice.list_objects_v2, Bucket=bucket, Prefix="home/bob/") == "AccessDenied"
    assert _s3_code(alice.list_objects_v2, Bucket=bucket) == "AccessDenied"
    assert _s3_code(alice.list_objects_v2, Bucket=bucket, Prefix="home/") == "AccessDenied"
    assert _s3_code(alice.delete_object, Bucket=bucket, Key="home/alice/a.txt") == "AccessDenied"
    keys = [o["Key"] for o in root_s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["home/alice/a.txt", "home/alice/new.txt", "home/bob/b.txt", "top.txt"]

    # The same document gives bob his own home, and only that.
    assert bob.get_object(Bucket=bucket, Key="home/bob/b.txt")["Body"].read() == b"home/bob/b.txt"
    assert [o["Key"] for o in bob.list_objects_v2(Bucket=bucket, Prefix="home/bob/")["Contents"]] \
        == ["home/bob/b.txt"]
    assert _s3_code(bob.get_object, Bucket=bucket, Key="home/alice/new.txt") == "AccessDenied"
    assert _s3_code(bob.list_objects_v2, Bucket=bucket, Prefix="home/alice/") == "AccessDenied"

    # Removing the inline policy removes the access at once.
    iam("DeleteUserPolicy", UserName="alice", PolicyName="home")
    assert _s3_code(alice.get_object, Bucket=bucket, Key="home/alice/a.txt") == "AccessDenied"


def test_iam_user_with_delegated_iam_permissions(iam, tenant, coffer, tmp_path):
    """An IAM user may call the IAM actions its policies allow, on the users they name."""
    project = tenant.project
    doc = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow",
         "Action": ["iam:CreateUser", "iam:GetUser", "iam:CreateAccessKey",
                    "iam:AttachUserPolicy"],
         "Resource": f"arn:aws:iam::{project}:user/ci-*"},
        {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}]}
    iam("CreateUser", UserName="bot")
    iam("PutUserPolicy", UserName="bot", PolicyName="manage-ci", PolicyDocument=json.dumps(doc))
    bot_key = iam("CreateAccessKey", UserName="bot")["AccessKey"]
    bot = iam.with_key(Key(coffer, bot_key["AccessKeyId"], bot_key["SecretAccessKey"]), tmp_path)

    assert bot("CreateUser", UserName="ci-build")["User"]["UserName"] == "ci-build"
    bot("AttachUserPolicy", UserName="ci-build", PolicyArn=PRESET_ARNS["read-only"])
    ci_key = bot("CreateAccessKey", UserName="ci-build")["AccessKey"]
    assert sorted(u["UserName"] for u in bot("ListUsers")["Users"]) == ["bot", "ci-build"]
    # Outside ci-*: refused, and nothing happens.
    bot.expect_error("AccessDenied", "CreateUser", UserName="intruder")
    bot.expect_error("AccessDenied", "CreateAccessKey", UserName="bot")
    bot.expect_error("AccessDenied", "DeleteUser", UserName="ci-build")
    bot.expect_error("AccessDenied", "PutUserPolicy", UserName="bot", PolicyName="more",
                     PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                         {"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    # Never the root user, whatever the policy says.
    bot.expect_error("AccessDenied", "CreateAccessKey", UserName="root")
    assert sorted(u["UserName"] for u in iam("ListUsers")["Users"]) == ["bot", "ci-build"]
    assert len(iam("ListAccessKeys", UserName="bot")["AccessKeyMetadata"]) == 1
    assert iam("ListUserPolicies", UserName="bot")["PolicyNames"] == ["manage-ci"]

    # The key the bot made works for what ci-build may do.
    bucket = unique_bucket("iam-ci")
    tenant.s3().create_bucket(Bucket=bucket)
    ci = _s3_of(coffer, ci_key)
    assert ci.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    assert _s3_code(ci.put_object, Bucket=bucket, Key="x", Body=b"x") == "AccessDenied"


def test_errors(iam, tenant, other_tenant, coffer, tmp_path):
    iam("CreateUser", UserName="alice")
    iam.expect_error("EntityAlreadyExists", "CreateUser", UserName="alice")
    iam.expect_error("NoSuchEntity", "GetUser", UserName="nobody")
    iam.expect_error("NoSuchEntity", "CreateAccessKey", UserName="nobody")
    iam.expect_error("NoSuchEntity", "AttachUserPolicy", UserName="alice",
                     PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    iam.expect_error("NoSuchEntity", "DetachUserPolicy", UserName="alice",
                     PolicyArn=PRESET_ARNS["read-only"])
    iam.expect_error("NoSuchEntity", "GetUserPolicy", UserName="alice", PolicyName="none")

    # Malformed policy documents name the problem.
    for bad in ("not json",
                json.dumps({"Version": "2012-10-17",
                            "Statement": [{"Effect": "Perhaps", "Action": "s3:GetObject",
                                           "Resource": "*"}]})):
        iam.expect_error("MalformedPolicyDocument", "PutUserPolicy", UserName="alice",
                         PolicyName="bad", PolicyDocument=bad)
    assert iam("ListUserPolicies", UserName="alice")["PolicyNames"] == []

    ak = iam("CreateAccessKey", UserName="alice")["AccessKey"]
    iam.expect_error("DeleteConflict", "DeleteUser", UserName="alice")

    # Another project's root sees nothing of this project.
    other = iam.with_key(other_tenant, tmp_path)
    other("CreateUser", UserName="carol")
    assert [u["UserName"] for u in other("ListUsers")["Users"]] == ["carol"]
    other.expect_error("NoSuchEntity", "GetUser", UserName="alice")
    other.expect_error("NoSuchEntity", "ListAccessKeys", UserName="alice")
    other.expect_error("NoSuchEntity", "DeleteUser", UserName="alice")
    other.expect_error("NoSuchEntity", "UpdateAccessKey", AccessKeyId=ak["AccessKeyId"],
                       Status="Inactive")
    other.expect_error("NoSuchEntity", "UpdateAccessKey", UserName="alice",
                       AccessKeyId=ak["AccessKeyId"], Status="Inactive")
    other.expect_error("NoSuchEntity", "DeleteAccessKey", AccessKeyId=ak["AccessKeyId"])
    other.expect_error("NoSuchEntity", "GetAccessKeyLastUsed", AccessKeyId=ak["AccessKeyId"])
    other.expect_error("NoSuchEntity", "PutUserPolicy", UserName="alice", PolicyName="p",
                       PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                           {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    # ... and none of that touched alice or her key.
    keys = iam("ListAccessKeys", UserName="alice")["AccessKeyMetadata"]
    assert [(k["AccessKeyId"], k["Status"]) for k in keys] == [(ak["AccessKeyId"], "Active")]
    assert iam("ListUserPolicies", UserName="alice")["PolicyNames"] == []
    # A key named with the wrong user of the own project is not found either.
    iam("CreateUser", UserName="dave")
    iam.expect_error("NoSuchEntity", "DeleteAccessKey", UserName="dave",
                     AccessKeyId=ak["AccessKeyId"])

    # The operator is refused: it manages projects through the admin API.
    operator = iam.with_key(Key(coffer, coffer.access_key, coffer.secret_key), tmp_path)
    operator.expect_error("AccessDenied", "ListUsers")
    operator.expect_error("AccessDenied", "CreateUser", UserName="eve")
    # An IAM user without IAM permissions is refused too.
    alice = iam.with_key(Key(coffer, ak["AccessKeyId"], ak["SecretAccessKey"]), tmp_path)
    alice.expect_error("AccessDenied", "ListUsers")
    alice.expect_error("AccessDenied", "CreateAccessKey", UserName="alice")
    # Unknown keys and wrong secrets.
    stranger = iam.with_key(Key(coffer, "CKNOSUCHKEY000000000", "x" * 40), tmp_path)
    stranger.expect_error("InvalidClientTokenId", "ListUsers")
    forger = iam.with_key(Key(coffer, tenant.access_key, "y" * 40), tmp_path)
    forger.expect_error("SignatureDoesNotMatch", "ListUsers")
    assert [u["UserName"] for u in iam("ListUsers")["Users"]] == ["alice", "dave"]


def test_operator_refused_with_boto3_client_error(coffer):
    """The operator's key on the IAM API, checked as a plain botocore ClientError."""
    client = boto3_iam_client(coffer, coffer.access_key, coffer.secret_key)
    with pytest.raises(ClientError) as exc:
        client.list_users()
    assert error_code(exc.value) == "AccessDenied"
    assert http_status(exc.value) == 403
    assert "admin API" in exc.value.response["Error"]["Message"]
