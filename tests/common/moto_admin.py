"""Test helper run with the moto venv's python (boto3 comes with moto): sets up and reads back
the AWS resources of tests/aws_sinks.rs on a moto server, talking to it directly (not through
the fault-injecting proxy).

    moto_admin.py ENDPOINT setup-firehose STREAM BUCKET COMPRESSION   # DirectPut -> S3 bucket
    moto_admin.py ENDPOINT dump-s3 BUCKET OUTDIR                      # every object -> OUTDIR/N
    moto_admin.py ENDPOINT dump-logs GROUP_PREFIX OUTFILE             # every event -> NDJSON
    moto_admin.py ENDPOINT log-groups PREFIX                          # names + retention (JSON)

Credentials and region come from the environment (moto accepts anything).
"""

import json
import os
import sys

import boto3


def client(endpoint, service):
    return boto3.client(service, endpoint_url=endpoint)


def setup_firehose(endpoint, stream, bucket, compression):
    s3 = client(endpoint, "s3")
    s3.create_bucket(Bucket=bucket)
    client(endpoint, "firehose").create_delivery_stream(
        DeliveryStreamName=stream,
        DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": f"arn:aws:s3:::{bucket}",
            "Prefix": "audit/",
            "CompressionFormat": compression,
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60},
        },
    )


def dump_s3(endpoint, bucket, outdir):
    s3 = client(endpoint, "s3")
    os.makedirs(outdir, exist_ok=True)
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            with open(os.path.join(outdir, f"{count:06d}"), "wb") as f:
                f.write(body)
            count += 1
    print(count)


def dump_logs(endpoint, prefix, outfile):
    logs = client(endpoint, "logs")
    groups = []
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=prefix):
        groups += [g["logGroupName"] for g in page["logGroups"]]
    count = 0
    with open(outfile, "w") as out:
        for group in groups:
            streams = []
            for page in logs.get_paginator("describe_log_streams").paginate(logGroupName=group):
                streams += [s["logStreamName"] for s in page["logStreams"]]
            for stream in streams:
                token = None
                while True:
                    args = dict(logGroupName=group, logStreamName=stream, startFromHead=True,
                                limit=10000)
                    if token:
                        args["nextToken"] = token
                    answer = logs.get_log_events(**args)
                    for event in answer["events"]:
                        out.write(json.dumps({"group": group, "stream": stream,
                                              "timestamp": event["timestamp"],
                                              "message": event["message"]}) + "\n")
                        count += 1
                    if not answer["events"] or answer.get("nextForwardToken") in (None, token):
                        break
                    token = answer["nextForwardToken"]
    print(count)


def log_groups(endpoint, prefix):
    answer = client(endpoint, "logs").describe_log_groups(logGroupNamePrefix=prefix)
    print(json.dumps([{"name": g["logGroupName"], "retention": g.get("retentionInDays"),
                       "kms": g.get("kmsKeyId")} for g in answer["logGroups"]]))


def main():
    endpoint, command, *args = sys.argv[1:]
    {"setup-firehose": setup_firehose, "dump-s3": dump_s3, "dump-logs": dump_logs,
     "log-groups": log_groups}[command](endpoint, *args)


if __name__ == "__main__":
    main()
