"""Object and bucket tagging with real clients: the aws CLI v2 (`s3api`
round trips, `s3 cp` of a large file with tags) and boto3 (2025 checksum
defaults: its PutObjectTagging carries a checksum header, its uploads
x-amz-tagging; TagCount on HEAD; TaggingDirective on copies; multipart
uploads through the transfer manager)."""

from __future__ import annotations

import io
import json

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from coffer_e2e import (
    MiB,
    aws_cli,
    error_code,
    make_random_file,
    random_bytes,
    require_tool,
    unique_bucket,
)

AWS = "/usr/bin/aws"


@pytest.fixture(scope="module")
def aws(coffer, tmp_path_factory):
    binary = require_tool(AWS, "Debian package awscli (aws CLI v2)")
    return aws_cli(coffer, binary, tmp_path_factory.mktemp("awscli-tags"),
                   chunk_mb=8, global_args=("--no-cli-pager",))


def tagset(resp) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resp["TagSet"]}


def test_awscli_object_and_bucket_tagging(aws, tmp_path):
    name = unique_bucket("cli-tags")
    aws("s3", "mb", f"s3://{name}")
    try:
        aws("s3api", "put-object", "--bucket", name, "--key", "doc.txt",
            "--tagging", "project=blue sky&owner=ops")
        got = aws.json("s3api", "get-object-tagging", "--bucket", name, "--key", "doc.txt")
        assert tagset(got) == {"project": "blue sky", "owner": "ops"}
        aws("s3api", "put-object-tagging", "--bucket", name, "--key", "doc.txt",
            "--tagging", json.dumps({"TagSet": [{"Key": "state", "Value": "final"}]}))
        got = aws.json("s3api", "get-object-tagging", "--bucket", name, "--key", "doc.txt")
        assert tagset(got) == {"state": "final"}
        aws("s3api", "delete-object-tagging", "--bucket", name, "--key", "doc.txt")
        got = aws.json("s3api", "get-object-tagging", "--bucket", name, "--key", "doc.txt")
        assert got["TagSet"] == []

        too_many = {"TagSet": [{"Key": f"k{i}", "Value": "v"} for i in range(11)]}
        failed = aws("s3api", "put-object-tagging", "--bucket", name, "--key", "doc.txt",
                     "--tagging", json.dumps(too_many), check=False)
        assert failed.returncode != 0 and "InvalidTag" in failed.stderr_text, failed.stderr_text

        # A large upload through `s3 cp` (multipart) keeps the tags it was given.
        big = tmp_path / "big.bin"
        make_random_file(big, 20 * MiB)
        aws("s3", "cp", str(big), f"s3://{name}/big.bin", "--metadata", "a=b")
        aws("s3api", "put-object-tagging", "--bucket", name, "--key", "big.bin",
            "--tagging", json.dumps({"TagSet": [{"Key": "size", "Value": "large"}]}))
        # `s3 cp` between keys copies tags with the object (CopyObject, or for
        # large objects multipart copy plus GetObjectTagging/PutObjectTagging).
        aws("s3", "cp", f"s3://{name}/big.bin", f"s3://{name}/big-copy.bin")
        got = aws.json("s3api", "get-object-tagging", "--bucket", name, "--key", "big-copy.bin")
        assert tagset(got) == {"size": "large"}

        missing = aws("s3api", "get-bucket-tagging", "--bucket", name, check=False)
        assert missing.returncode != 0 and "NoSuchTagSet" in missing.stderr_text, missing.stderr_text
        aws("s3api", "put-bucket-tagging", "--bucket", name,
            "--tagging", json.dumps({"TagSet": [{"Key": "cost-center", "Value": "42"}]}))
        got = aws.json("s3api", "get-bucket-tagging", "--bucket", name)
        assert tagset(got) == {"cost-center": "42"}
        aws("s3api", "delete-bucket-tagging", "--bucket", name)
        assert aws("s3api", "get-bucket-tagging", "--bucket", name, check=False).returncode != 0
    finally:
        aws("s3", "rb", f"s3://{name}", "--force", check=False)


def test_boto3_tagging(s3, bucket):
    s3.put_object(Bucket=bucket, Key="a", Body=b"alpha", Tagging="class=public&team=a%2Fb")
    head = s3.head_object(Bucket=bucket, Key="a")
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-tagging-count"] == "2"
    got = s3.get_object(Bucket=bucket, Key="a")
    assert got["TagCount"] == 2
    assert tagset(s3.get_object_tagging(Bucket=bucket, Key="a")) == {"class": "public", "team": "a/b"}

    # With boto3's default checksums, PutObjectTagging carries a checksum header.
    s3.put_object_tagging(Bucket=bucket, Key="a",
                          Tagging={"TagSet": [{"Key": "class", "Value": "secret"}]})
    assert tagset(s3.get_object_tagging(Bucket=bucket, Key="a")) == {"class": "secret"}

    # Copies keep the source's tags unless told to replace them.
    s3.copy_object(Bucket=bucket, Key="kept", CopySource={"Bucket": bucket, "Key": "a"})
    assert tagset(s3.get_object_tagging(Bucket=bucket, Key="kept")) == {"class": "secret"}
    s3.copy_object(Bucket=bucket, Key="replaced", CopySource={"Bucket": bucket, "Key": "a"},
                   TaggingDirective="REPLACE", Tagging="fresh=1")
    assert tagset(s3.get_object_tagging(Bucket=bucket, Key="replaced")) == {"fresh": "1"}

    # The transfer manager's multipart upload passes Tagging to CreateMultipartUpload.
    data = random_bytes(12 * MiB)
    s3.upload_fileobj(io.BytesIO(data), bucket, "mp", ExtraArgs={"Tagging": "via=multipart"},
                      Config=TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB))
    assert tagset(s3.get_object_tagging(Bucket=bucket, Key="mp")) == {"via": "multipart"}
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == data

    with pytest.raises(ClientError) as ei:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"x", Tagging="a=1&a=2")
    assert error_code(ei.value) == "InvalidTag"
    with pytest.raises(ClientError) as ei:
        s3.get_bucket_tagging(Bucket=bucket)
    assert error_code(ei.value) == "NoSuchTagSet"
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "env", "Value": "test"}]})
    assert tagset(s3.get_bucket_tagging(Bucket=bucket)) == {"env": "test"}
    s3.delete_bucket_tagging(Bucket=bucket)
