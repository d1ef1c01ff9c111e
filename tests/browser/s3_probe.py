"""boto3 as a customer would use it, for the browser test (objects.test.mjs):
`s3_probe.py list|uploads ENDPOINT REGION ACCESS_KEY SECRET_KEY BUCKET` prints
one JSON line: {"ok": true, "keys": [...]} (object keys, or the keys of
unfinished multipart uploads), or {"ok": false, "code": "<S3 error code>"}."""

import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def main() -> None:
    command, endpoint, region, access_key, secret_key, bucket = sys.argv[1:7]
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=region,
                      aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                      config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))
    try:
        if command == "list":
            keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        elif command == "uploads":
            keys = [u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
        else:
            raise SystemExit(f"unknown command {command}")
        print(json.dumps({"ok": True, "keys": keys}))
    except ClientError as e:
        print(json.dumps({"ok": False, "code": e.response["Error"]["Code"]}))


if __name__ == "__main__":
    main()
