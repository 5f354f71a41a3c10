"""S3-compatible server for ScanBridgeUploadTests: moto's server (moto[server]) in-process.

Prints {"port", "access_key", "secret_key", "bucket"} once ready: an IAM user with S3 rights and
a bucket exist, and from then on every request must carry a valid SigV4 signature of that user.
Parts other than the last must be at least 6 MiB. Reads commands on stdin, answers one JSON line each:
  get KEY        -> {"key", "size", "sha256"} of the stored object (or {"error"})
  multipart      -> {"in_progress": N} unfinished multipart uploads in the bucket
"""
import hashlib
import logging
import os

# Parts other than the last must be at least 6 MiB here (S3 says 5 MiB), so that a test can
# make CompleteMultipartUpload fail with 5 MiB parts and check the upload is aborted.
os.environ["S3_UPLOAD_PART_MIN_SIZE"] = str(6 << 20)

import boto3
from moto import settings
from moto.server import ThreadedMotoServer

from common import exit_with_parent, report

logging.disable(logging.CRITICAL)
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
host, port = server.get_host_and_port()
endpoint = f"http://127.0.0.1:{port}"
region = "us-east-1"
admin = dict(endpoint_url=endpoint, region_name=region, aws_access_key_id="admin", aws_secret_access_key="admin")

iam = boto3.client("iam", **admin)
iam.create_user(UserName="scanbridge")
iam.put_user_policy(UserName="scanbridge", PolicyName="s3",
                    PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}')
key = iam.create_access_key(UserName="scanbridge")["AccessKey"]
bucket = "scans"
boto3.client("s3", **admin).create_bucket(Bucket=bucket)
# From here on moto checks every request's signature against the IAM user's secret.
settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
s3 = boto3.client("s3", endpoint_url=endpoint, region_name=region,
                  aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])


def command(line):
    verb, _, argument = line.partition(" ")
    if verb == "get":
        try:
            body = s3.get_object(Bucket=bucket, Key=argument)["Body"].read()
            report(key=argument, size=len(body), sha256=hashlib.sha256(body).hexdigest())
        except Exception as error:
            report(key=argument, error=str(error))
    elif verb == "multipart":
        uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        report(in_progress=len(uploads))
    else:
        report(error=f"unknown command {verb}")


report(port=port, access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"], bucket=bucket, region=region)
exit_with_parent(command)
import threading  # noqa: E402
threading.Event().wait()
